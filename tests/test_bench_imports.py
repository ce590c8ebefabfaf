"""The benchmark scripts (not run by the suite: they take minutes) still name real code, and
their ``--help`` answers without loading torch or JAX."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "bench"
SRC = Path(__file__).parent.parent / "src"
SCRIPTS = sorted(BENCH.glob("*.py"))
LOCAL = {script.stem for script in SCRIPTS}  # the scripts' shared helpers, e.g. jax_baseline
WITH_FLAGS = [script for script in SCRIPTS if "argparse" in script.read_text(encoding="utf-8")]
# the scripts that load torch (and JAX) only once their flags are read
LIGHT = {"bench_doctor.py", "bench_fit_time.py", "bench_many_models.py", "bench_quality.py"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_nnfit_or_local_import_of_a_benchmark_resolves(script, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))  # as when the script runs: its folder comes first
    tree = ast.parse(script.read_text(encoding="utf-8"))
    imports = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and ((node.module or "").startswith("nnfit") or node.module in LOCAL)
    ]
    for node in imports:
        module = importlib.import_module(node.module)
        for alias in node.names:
            assert hasattr(module, alias.name), f"{script.name}: {node.module}.{alias.name}"


# runs a script with --help in a fresh interpreter, then names the heavy modules it loaded
HELP = """
import runpy, sys
sys.argv = [sys.argv[1], "--help"]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    print("loaded:", *sorted({name.split(".")[0] for name in sys.modules} & {"torch", "jax"}))
"""


@pytest.mark.parametrize("script", WITH_FLAGS, ids=lambda p: p.name)
def test_a_benchmark_answers_help(script):
    """--help answers (for the light scripts: before torch or JAX loads)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(BENCH)])}
    done = subprocess.run(
        [sys.executable, "-c", HELP, str(script)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
    if script.name in LIGHT:
        assert done.stdout.rstrip().endswith("loaded:")

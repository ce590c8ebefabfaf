"""Usage errors, --help, ``nnfit examples``, ``predict`` and ``show`` answer before torch loads.

Each command runs through ``main`` in a fresh interpreter, which reports what it imported: a
heavy import before the answer is what made a mistyped flag cost seconds.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnfit
from nnfit.regressor import Regressor
from nnfit.runs.runfolder import save_run

SRC = Path(nnfit.__file__).parent.parent

# In a fresh interpreter: run each argv through main, note the exit status and heavy modules.
PROBE = """
import contextlib, io, json, sys
from nnfit.cli.main import main
report = []
for argv in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            status = main(argv)
        except SystemExit as exit_:
            status = exit_.code
    heavy = ("torch", "matplotlib", "fastapi", "uvicorn", "optuna", "ray")
    heavy = [name for name in heavy if name in sys.modules]
    report.append({"argv": argv, "status": status, "heavy": heavy})
print(json.dumps(report))
"""


def probe(argvs, cwd):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argvs)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small finished run folder."""
    folder = tmp_path_factory.mktemp("startup") / "run"
    x = np.linspace(-1, 1, 30)
    regressor = Regressor(hidden=(4,), steps=10, seed=0).fit(x, x**2)
    return save_run(
        folder,
        regressor,
        history=regressor.history_,
        settings={"preset": "data", "model": {}, "train": {"seed": 0}},
        data={"source": "test", "sha256": "0", "rows": 30},
        picture=False,
    )


def assert_light(report, status):
    """Every command exited with ``status`` and imported none of the heavy modules (torch,
    matplotlib, the web server's, Optuna)."""
    for entry in report:
        assert entry["status"] == status, entry
        assert entry["heavy"] == [], entry  # the first heavy one is named here


def test_help_of_every_command_and_examples_are_light(tmp_path):
    commands = ["demo", "fit", "predict", "show", "export", "examples", "sweep", "race"]
    commands += ["doctor", "serve"]
    argvs = [["--help"], *([name, "--help"] for name in commands), ["examples"]]
    assert_light(probe(argvs, tmp_path), 0)


def test_bad_flag_values_are_refused_before_torch_loads(tmp_path):
    argvs = [
        ["demo", "--lr", "-1"],
        ["fit", "--example", "pressure", "--lr", "-1"],
        ["fit", "--steps", "abc"],
        ["demo", "--activation", "foo"],
        ["demo", "--members", "0"],
        ["demo", "--save", "fit.txt"],
        ["fit", "--function", "sin(", "--no-window"],
        ["fit"],
        ["fit", "--example", "nosuch"],
        ["demo", "--hidden", "100000,100000", "--no-window"],  # beyond memory
        ["fit", "--example", "cars", "--members", "10000000", "--no-window"],
        ["demo", "--member-lr", "0.1,-1"],
        ["demo", "--threads", "0"],
        ["sweep", "--example", "pressure", "--lr", "0.1,-1"],
        ["sweep", "--example", "pressure", "--device", "cpu"],
        ["sweep", "--example", "pressure", "--lr", "log:0..1:3"],
        ["sweep", "--lr", "0.1,0.2"],
        ["sweep", "nosuch.csv", "--lr", "0.1,0.2"],
        ["sweep", "--example", "pressure", "--lr", "0.1,0.2", "--trials", "3"],
        ["sweep", "--example", "pressure", "--storage", "sqlite:///s.db", "--study", "s"],
        ["sweep", "--example", "pressure", "--trials", "2", "--storage", "x", "--study", "s"],
        [
            "sweep",
            "--example",
            "pressure",
            "--trials",
            "0",
            "--storage",
            "sqlite:///s.db",
            "--study",
            "s",
        ],
        ["sweep", "--example", "pressure", "--lr", "0.1,0.2", "--address", "auto"],
        ["sweep", "--example", "pressure", "--backend", "ray", "--storage", "sqlite:///s.db"],
        ["sweep", "--example", "pressure", "--backend", "ray", "--cpus-per-trial", "0"],
        ["sweep", "--example", "pressure", "--backend", "ray", "--sampler", "grid"],
        ["sweep", "--example", "pressure", "--backend", "ray", "--trials", "0"],
        ["race", "--lr", "0.1"],
        ["race", "--lr", "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1,2"],
        ["race", "--optimizer", "sgd,nosuch"],
        ["race", "--members", "2"],
        ["doctor", "--seeds", "0"],
        ["doctor", "--members", "2"],
        ["doctor", "--optimizer", "lbfgs"],
        ["doctor", "--hidden", "100000", "--seeds", "100000"],  # beyond memory
        ["doctor", "--out", "missing/report.json"],
        ["serve", "--port", "70000"],
        ["serve", "--port", "abc"],
    ]
    assert_light(probe(argvs, tmp_path), 2)


def test_missing_files_and_folders_are_refused_before_torch_loads(tmp_path, run):
    argvs = [
        ["fit", "nosuch.csv"],
        ["fit", "nosuch.toml"],
        ["predict", "nosuch", "--x", "1"],
        ["predict", str(run), "nosuch.csv"],
        ["show", "nosuch"],
        ["export", "nosuch", "--formula"],
        ["fit", "--resume", "nosuch"],
        ["fit", "--resume", str(run)],  # a finished run: nothing to resume
    ]
    assert_light(probe(argvs, tmp_path), 2)


def test_run_folder_usage_errors_are_refused_before_torch_loads(tmp_path, run):
    argvs = [
        ["predict", str(run), "--x", "a"],
        ["predict", str(run)],
        ["export", str(run)],
        ["show", str(run), "--animate", "replay.txt"],
    ]
    assert_light(probe(argvs, tmp_path), 2)


def test_predict_and_show_run_without_torch(tmp_path, run):
    argvs = [
        ["predict", str(run), "--x", "0.5"],
        ["predict", str(run), "--x", "0.5", "--x", "7", "--std"],  # spread and warning too
        ["show", str(run), "--no-window"],
    ]
    assert_light(probe(argvs, tmp_path), 0)

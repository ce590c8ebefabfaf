"""Hostile names in exports: nothing nnfit writes into generated code can run as code."""

from __future__ import annotations

import ast
import subprocess
import sys

import numpy as np
import pytest
import torch

import nnfit.export.python
from nnfit.cli import main
from nnfit.core.model import MLP
from nnfit.errors import NNFitError
from nnfit.export.python import docstring_text, export_python, python_source

PWN = '__import__("os").system("touch PWNED")'
HOSTILE_NAMES = [
    f'm""";{PWN};"""x.py',
    f"m''';{PWN};'''x.py",
    f'm"""\n{PWN}\n"""x.py',
    "back\\slash.py",
    "ends with a backslash\\.py",
    'ends with a quote".py',
    "new\nline.py",
    "carriage\rreturn.py",
    "tab\there.py",
    "\x1b[2Jescape.py",
    "ünïcödé_名前.py",
    "{braces} and %s.py",
    "class.py",
    "-dash.py",
]

IMPORT_AND_PREDICT = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(repr(module.predict([0.5, -0.25]).tolist()))
print(ascii(module.__doc__))
"""


@pytest.fixture(scope="module")
def model() -> MLP:
    model = MLP(1, (6, 5), 1, activation="tanh", seed=0)
    model.set_scaler(torch.linspace(0, 10, 20).unsqueeze(1), torch.linspace(-3, 3, 20).unsqueeze(1))
    return model


def expected(model: MLP) -> list[float]:
    with torch.no_grad():
        return model(torch.tensor([[0.5], [-0.25]])).double().numpy()[:, 0].tolist()


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_file_name_never_runs_and_predict_still_works(tmp_path, model, name):
    path = export_python(model, tmp_path / name)
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_AND_PREDICT, path.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "PWNED").exists()
    lines = out.stdout.splitlines()
    np.testing.assert_allclose(ast.literal_eval(lines[0]), expected(model), rtol=1e-5)
    doc = ast.literal_eval(lines[1])
    assert f"`python {name} 0.5`" in doc  # the docstring reads as intended, name and all
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert ast.get_docstring(tree, clean=False) == doc
    assert [type(node).__name__ for node in tree.body[:3]] == ["Expr", "Import", "Import"]
    script = subprocess.run(
        [sys.executable, f"./{path.name}", "0.5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert script.returncode == 0 and float(script.stdout) == pytest.approx(expected(model)[0])
    assert not (tmp_path / "PWNED").exists()


def test_the_usage_example_names_the_module_only_when_it_can_be_imported(model):
    assert "    from my_model import predict\n" in python_source(model, module="my_model")
    for module in ("class", "my-model", "2model", 'm""";x'):
        source = python_source(model, module=module, filename=f"{module}.py")
        assert "    from model import predict  # saved as model.py\n" in source


def test_the_cli_export_with_a_hostile_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert (
        main(["fit", "--function", "x**2", "--steps", "5", "--out", "run", "--no-window", "-q"])
        == 0
    )
    name = f'm""";{PWN};"""x.py'
    assert main(["export", "run", "--python", name]) == 0
    capsys.readouterr()
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_AND_PREDICT, name], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    "text",
    ['"""', "'''", "\\", 'a"', "a\\", "\\N{BULLET}", "\x00\x7f\x85", "\u2028\ud800", "é名", "\r\n"],
)
def test_docstring_text_reads_back_as_itself(text):
    escaped = docstring_text(text)
    assert escaped.isascii() and escaped.isprintable()
    assert ast.literal_eval(f'"""{escaped}"""') == text


def test_a_docstring_that_is_not_the_intended_one_is_refused(tmp_path, model, monkeypatch):
    # a regression: names written unescaped
    monkeypatch.setattr(nnfit.export.python, "docstring_text", lambda text: str(text))
    with pytest.raises(NNFitError, match="generated Python module"):
        export_python(model, tmp_path / f'm""";{PWN};"""x.py')
    assert list(tmp_path.iterdir()) == []

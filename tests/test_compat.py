"""Run folders written by the previous version (commit ad297f0, before #11's layout) still work.

The folders under ``fixtures/runs_ad297f0`` are exactly what that version wrote (recipe and the
old code's own predictions in ``predictions.json``); they are never rewritten by hand, since the
hashes in ``run.json`` would refuse any edit.
"""

import csv
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nnfit
from nnfit.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "runs_ad297f0"
OLD = json.loads((FIXTURES / "predictions.json").read_text())["runs"]
RUNS = sorted(OLD)


@pytest.fixture
def folder(request, tmp_path):
    """A copy of one old run folder, so that no command can write into the fixtures."""
    copy = tmp_path / request.param
    shutil.copytree(FIXTURES / request.param, copy)
    return copy


def test_both_kinds_of_run_are_kept():
    assert RUNS == ["cars", "lesson"]
    members = {
        name: json.loads((FIXTURES / name / "run.json").read_text())["model"]["members"]
        for name in RUNS
    }
    assert members == {"cars": 20, "lesson": 1}  # an ensemble and a single model


@pytest.mark.parametrize("folder", RUNS, indirect=True)
def test_old_run_predicts_exactly_as_before(folder):
    old = OLD[folder.name]
    y_pred = nnfit.load(folder).predict(np.array(old["x"]))
    assert y_pred.tolist() == old["y_pred"]


@pytest.mark.parametrize("folder", RUNS, indirect=True)
def test_predict_command_prints_what_the_old_version_printed(capsys, folder):
    """The same rows and numbers; predictions now in float32's own digits (#13), so the
    text is compared as the float32 values it stands for."""
    old = OLD[folder.name]
    argv = ["predict", str(folder)] + [arg for x in old["x"] for arg in ("--x", repr(x))]
    assert main(argv) == 0
    out = capsys.readouterr().out
    rows, old_rows = (list(csv.reader(text.splitlines())) for text in (out, old["predict_stdout"]))
    assert rows[0] == old_rows[0] and [r[0] for r in rows] == [r[0] for r in old_rows]
    assert [np.float32(r[1]) for r in rows[1:]] == [np.float32(r[1]) for r in old_rows[1:]]
    assert [np.float32(row[1]) for row in rows[1:]] == [np.float32(v) for v in old["y_pred"]]


@pytest.mark.parametrize("folder", RUNS, indirect=True)
def test_old_run_knows_no_training_range_so_predicts_without_a_warning(capsys, folder):
    old = OLD[folder.name]
    far = [[1e6] * len(old["x"][0])] if isinstance(old["x"][0], list) else [1e6]
    model = nnfit.load(folder)
    assert model.x_min_ is None and model.x_max_ is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y_pred, y_std = model.predict(np.array(far), return_std=True)
    assert np.shape(y_pred) == np.shape(y_std) and np.isfinite(y_std).all()
    argv = ["predict", str(folder), "--std", "--x", ",".join(["1e6"] * model.n_inputs_)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    header = next(csv.reader(out.splitlines()))
    assert err == "" and len(header) == model.n_inputs_ + 2 * model.n_outputs_


@pytest.mark.parametrize("folder", RUNS, indirect=True)
def test_old_history_loads_unchanged(folder):
    old = OLD[folder.name]
    snapshots = nnfit.load(folder).history_.snapshots
    assert [s.step for s in snapshots] == old["history_steps"]
    assert [s.loss for s in snapshots] == old["history_loss"]


@pytest.mark.parametrize("folder", RUNS, indirect=True)
def test_show_summarises_and_replays_old_history(capsys, folder, tmp_path):
    gif = tmp_path / "replay.gif"
    assert main(["show", str(folder), "--no-window", "--animate", str(gif)]) == 0
    out = capsys.readouterr().out
    assert "(complete, step" in out and "nnfit 0.1.0" in out and "fit.png" in out
    with Image.open(gif) as image:
        assert image.n_frames == len(OLD[folder.name]["history_steps"])  # one frame a snapshot

"""Stopping at a target R² (``target_r2``): the first snapshot that reaches it ends the run."""

import numpy as np
import pytest

import nnfit
from nnfit.checks import FieldError, SettingsError
from nnfit.cli.main import main
from nnfit.core.train_config import TrainConfig


def r2_of(loss, y):
    return 1 - loss / float(np.var(np.asarray(y)))


def test_training_stops_at_the_first_snapshot_whose_r2_reaches_the_target():
    x, y = nnfit.make_data(seed=0)
    config = TrainConfig(lr=0.5, steps=2000, every=1, target_r2=0.8)
    history = nnfit.train(nnfit.MLP(1, 10, 1, seed=0), (x, y), config)
    assert history.stop_reason == "target" and history.final.step < 2000
    reached = [s for s in history.snapshots if not s.final and r2_of(s.loss, y) >= 0.8]
    before = [s for s in history.snapshots if s.step < reached[0].step]
    assert all(r2_of(s.loss, y) < 0.8 for s in before)
    assert history.final.step == reached[0].step  # not one step more
    assert nnfit.diagnose(history).message.endswith("R² reached its target.")
    free = nnfit.train(nnfit.MLP(1, 10, 1, seed=0), (x, y), TrainConfig(lr=0.5, steps=200))
    assert free.stop_reason == "done"  # unset: never


def test_with_validation_data_the_validation_r2_decides(tmp_path):
    code = main(
        [
            "fit",
            "--function",
            "quadratic",
            "--target-r2",
            "0.9",
            "--steps",
            "3000",
            "--val",
            "0.3",
            "--no-window",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    assert code == 0
    model = nnfit.load(tmp_path / "run")
    assert model.history_.stop_reason == "target"
    assert model.metrics_["val"]["r2"] >= 0.9 > 0  # held-out rows, the data's units
    assert model.history_.final.step < 3000


def test_target_r2_is_checked_in_one_line(capsys):
    with pytest.raises(FieldError, match="target_r2 must be a finite number above 0 and below 1"):
        TrainConfig(target_r2=1.0)
    with pytest.raises(SettingsError, match="needs loss mse"):
        TrainConfig(target_r2=0.9, loss="huber")
    assert main(["fit", "--function", "x", "--target-r2", "0.9", "--loss", "l1"]) == 2
    assert capsys.readouterr().err.strip() == (
        "nnfit: error: --target-r2 needs --loss mse (R² compares squared errors); unset one of them"
    )


def test_the_estimator_takes_target_r2():
    x, y = nnfit.make_data(seed=1)
    model = nnfit.Regressor(target_r2=0.85, steps=3000, members=1, val=0.2).fit(x, y)
    assert model.history_.stop_reason == "target"

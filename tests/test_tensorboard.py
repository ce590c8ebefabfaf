import dataclasses
import sys

import numpy as np
import pytest

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import nnfit
from nnfit.regressor import Regressor
from nnfit.views.tensorboard import TensorBoardLog


def read_log(log_dir):
    """Everything TensorBoard would show for log_dir (all images kept, not a sample)."""
    log = EventAccumulator(str(log_dir), size_guidance={"images": 0, "scalars": 0})
    log.Reload()
    return log


def scalars(log, tag):
    events = log.Scalars(tag)
    return [e.step for e in events], np.array([e.value for e in events])


def test_the_lesson_logs_its_losses_dead_units_and_picture(tmp_path):
    x, y = nnfit.make_data(seed=0)
    history = nnfit.train(nnfit.MLP(1, 10, 1, seed=0), (x, y), callbacks=[TensorBoardLog(tmp_path)])
    log = read_log(tmp_path)
    steps, losses = scalars(log, "loss/train")
    assert steps == history.steps.tolist()
    np.testing.assert_allclose(losses, history.losses, rtol=1e-6)  # stored as float32
    _, dead = scalars(log, "units/dead")
    assert dead.tolist() == [sum(s.dead) for s in history.snapshots]
    assert "loss/val" not in log.Tags()["scalars"]  # no validation set, no validation curve
    (picture,) = log.Images("fit")
    assert (picture.step, picture.width, picture.height) == (100, 800, 400)


def test_every_image_adds_pictures_during_training(tmp_path):
    x, y = nnfit.make_data(seed=0)
    nnfit.train(
        nnfit.MLP(1, 10, 1, seed=0), (x, y), callbacks=[TensorBoardLog(tmp_path, every_image=50)]
    )
    assert [image.step for image in read_log(tmp_path).Images("fit")] == [0, 50, 100]


def test_early_stop_keeps_the_steps_in_order(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 40)
    y = x**2 + 0.3 * rng.standard_normal(40)
    settings = {"hidden": (32,), "steps": 400, "every": 10, "lr": 0.05, "patience": 50}
    regressor = Regressor(**settings).fit(x, y, callbacks=[TensorBoardLog(tmp_path)])
    history = regressor.history_
    assert history.stop_reason == "early_stop" and history.best_step < history.steps[-2]
    log = read_log(tmp_path)
    steps, _ = scalars(log, "loss/train")
    assert steps == history.steps[:-1].tolist()  # the final snapshot went back to best_step
    val_steps, val_losses = scalars(log, "loss/val")
    assert val_steps == steps
    np.testing.assert_allclose(val_losses, [s.val_loss for s in history.snapshots[:-1]], 1e-6)
    assert [image.step for image in log.Images("fit")] == [steps[-1]]


def test_metrics_in_the_settings_are_logged_at_the_end(tmp_path, lesson_history):
    metrics = {"train": {"rmse": 0.1, "mae": 0.08, "r2": 0.9}, "val": {"rmse": 0.2, "r2": 0.8}}
    history = dataclasses.replace(lesson_history, settings={"metrics": metrics})
    log_run(TensorBoardLog(tmp_path), history)
    log = read_log(tmp_path)
    for part, values in metrics.items():
        for name, value in values.items():
            steps, logged = scalars(log, f"metrics/{part}_{name}")
            assert steps == [100] and logged == pytest.approx([value])


def test_log_metrics_after_training(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 50)
    board = TensorBoardLog(tmp_path)
    regressor = Regressor(hidden=(8,), steps=60, every=20).fit(x, x**2, callbacks=[board])
    board.log_metrics(regressor.metrics_)
    steps, r2 = scalars(read_log(tmp_path), "metrics/val_r2")
    assert steps == [regressor.history_.steps.max()]
    assert r2 == pytest.approx([regressor.metrics_["val"]["r2"]])


def test_missing_tensorboard_gives_the_install_hint(monkeypatch, tmp_path):
    names = {"tensorboard", "torch.utils.tensorboard"}
    names |= {name for name in sys.modules if name.startswith(tuple(names))}
    for name in sorted(names):
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: import fails
    x, y = nnfit.make_data(seed=0)
    with pytest.raises(nnfit.UsageError, match=r"pip install 'nnfit\[tensorboard\]'"):
        nnfit.train(nnfit.MLP(1, 10, 1, seed=0), (x, y), callbacks=[TensorBoardLog(tmp_path)])


@pytest.mark.parametrize("every_image", [0, 2.5, True])
def test_every_image_must_be_a_whole_number(tmp_path, every_image):
    with pytest.raises(nnfit.UsageError, match="every_image"):
        TensorBoardLog(tmp_path, every_image=every_image)


def test_a_file_is_not_a_log_folder(tmp_path):
    (tmp_path / "runs").write_text("")
    with pytest.raises(nnfit.UsageError, match="give a folder"):
        TensorBoardLog(tmp_path / "runs")


def log_run(board, history):
    """Replay a finished history into a subscriber, as ``train`` would call it."""
    board.on_train_begin(history)
    for snapshot in history.snapshots:
        board.on_snapshot(snapshot)
    board.on_train_end(history)

import math
import threading

import numpy as np
import pytest
import torch

import nnfit
from nnfit.core.callbacks import Callback, Collect
from nnfit.core.diagnostics import Hint
from nnfit.core.traindata import prepare
from nnfit.core.training import OPTIMIZERS, TrainConfig, train
from nnfit.core.trainstate import Control

DEAD_SEED = 8  # with this seed the lesson's run ends with 8 of 10 ReLU units dead


def lesson_loop(seed: int, steps: int = 100, lr: float = 0.5) -> list[float]:
    """The lesson's own plain loop: the reference nnfit's loop must match bit for bit."""
    x, y = nnfit.make_data(seed=seed)
    net = nnfit.MLP(1, 10, 1, seed=seed).layers
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss_func = torch.nn.MSELoss()
    losses = []
    for _ in range(steps):
        prediction = net(x)
        loss = loss_func(prediction, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_matches_the_lessons_plain_loop_bit_for_bit():
    x, y = nnfit.make_data(seed=0)
    history = train(nnfit.MLP(1, 10, 1, seed=0), (x, y), TrainConfig(every=1))
    reference = lesson_loop(0)
    assert history.losses[:-1].tolist() == reference


def test_seeded_lesson_run_fits_well(lesson_history):
    assert lesson_history.final.loss < 0.01
    assert nnfit.diagnose(lesson_history).kind == "ok"


def test_snapshots_every_5_steps_plus_final(lesson_history):
    assert lesson_history.steps.tolist() == [*range(0, 100, 5), 100]
    assert lesson_history.final.final and not lesson_history.snapshots[0].final
    # the lesson's x is an even grid already, so the fit is drawn at x itself, as the lesson does
    np.testing.assert_array_equal(lesson_history.x_grid, lesson_history.x)
    assert lesson_history.final.y_pred.shape == (100, 1)


def test_snapshot_predictions_are_the_model_on_the_grid(lesson_history):
    x, y = nnfit.make_data(seed=0, points=60, noise="gaussian")
    rng = np.random.default_rng(0).permutation(60)  # unsorted x gets a 200-point line
    model = nnfit.MLP(1, 10, 1, seed=0)
    history = train(model, (x[rng], y[rng]), TrainConfig(steps=10))
    assert history.x_grid.shape == (200, 1)
    with torch.no_grad():
        expected = model(torch.from_numpy(history.x_grid).float()).numpy()
    np.testing.assert_allclose(history.final.y_pred, expected, rtol=1e-6)


def test_snapshots_are_immutable(lesson_history):
    snapshot = lesson_history.snapshots[3]
    with pytest.raises(ValueError):
        snapshot.y_pred[0, 0] = 1.0
    with pytest.raises(AttributeError):
        snapshot.loss = 0.0


def test_same_seed_identical_losses():
    runs = []
    for _ in range(2):
        x, y = nnfit.make_data(seed=5)
        runs.append(train(nnfit.MLP(1, 10, 1, seed=5), (x, y)).losses)
    np.testing.assert_array_equal(runs[0], runs[1])


def test_dead_seed_is_reported_as_dead_units():
    x, y = nnfit.make_data(seed=DEAD_SEED)
    history = train(nnfit.MLP(1, 10, 1, seed=DEAD_SEED), prepare(x, y, noise_floor=0.2**2 / 12))
    assert sum(history.final.dead) > 5
    assert history.final.loss > 0.05
    diagnosis = nnfit.diagnose(history)
    assert diagnosis.kind == "dead_units"
    assert [hint.field for hint in diagnosis.hints] == ["seed", "preset", "lr"]
    assert "another seed, preset morvan-2018" in diagnosis.message  # the core names fields


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_lowers_the_loss(optimizer):
    x, y = nnfit.make_data(seed=0)
    lr = {"sgd": 0.5, "momentum": 0.1, "nesterov": 0.1, "lbfgs": 0.5}.get(optimizer, 0.02)
    history = train(
        nnfit.MLP(1, 16, 1, seed=1), (x, y), TrainConfig(optimizer=optimizer, lr=lr, steps=60)
    )
    assert history.final.loss < 0.5 * history.snapshots[0].loss


@pytest.mark.parametrize("loss", ["mse", "l1", "huber"])
def test_every_loss_trains(loss):
    x, y = nnfit.make_data(seed=0)
    history = train(nnfit.MLP(1, 10, 1, seed=0), (x, y), TrainConfig(loss=loss, steps=50))
    assert history.final.loss < history.snapshots[0].loss


def test_minibatches_and_their_seed():
    x, y = nnfit.make_data(seed=0, points=200)
    a = train(nnfit.MLP(1, 10, 1, seed=0), (x, y), TrainConfig(batch_size=32, lr=0.1, steps=80))
    b = train(nnfit.MLP(1, 10, 1, seed=0), (x, y), TrainConfig(batch_size=32, lr=0.1, steps=80))
    c = train(
        nnfit.MLP(1, 10, 1, seed=0), (x, y), TrainConfig(batch_size=32, lr=0.1, steps=80, seed=9)
    )
    np.testing.assert_array_equal(a.losses, b.losses)
    assert not np.array_equal(a.losses, c.losses)
    assert a.final.loss < a.snapshots[0].loss


def test_divergence_stops_and_keeps_the_last_finite_weights():
    x, y = nnfit.make_data(seed=0)
    model = nnfit.MLP(1, 10, 1, seed=0)
    history = train(model, (x, y), TrainConfig(lr=1e6, steps=100))
    assert history.stop_reason == "diverged"
    assert history.diverged_at is not None and history.diverged_at < 100
    assert all(torch.isfinite(p).all() for p in model.parameters())
    # the last weights kept before the bad step (a copy is taken every `every` steps)
    assert history.diverged_at - 5 <= history.final.step < history.diverged_at
    assert np.isfinite(history.final.loss)
    diagnosis = nnfit.diagnose(history)
    assert f"step {history.diverged_at}" in diagnosis.message and "--" not in diagnosis.message
    assert diagnosis.hints == (Hint("lr", "lower", 1e6 / 4),)


def test_callbacks_hear_begin_every_snapshot_and_end():
    events = []

    class Spy(Callback):
        def on_train_begin(self, history):
            events.append(("begin", len(history.snapshots)))

        def on_snapshot(self, snapshot):
            events.append(("snapshot", snapshot.step))

        def on_train_end(self, history):
            events.append(("end", len(history.snapshots)))

    x, y = nnfit.make_data(seed=0)
    collect = Collect()
    train(
        nnfit.MLP(1, 10, 1, seed=0),
        (x, y),
        TrainConfig(steps=20, every=10),
        callbacks=[Spy(), collect],
    )
    assert events == [("begin", 0), ("snapshot", 0), ("snapshot", 10), ("snapshot", 20), ("end", 3)]
    assert [s.step for s in collect.snapshots] == [0, 10, 20]


def test_stop_event_ends_training_cleanly():
    stop = threading.Event()

    class StopAt(Callback):
        def on_snapshot(self, snapshot):
            if snapshot.step == 30:
                stop.set()

    x, y = nnfit.make_data(seed=0)
    history = train(
        nnfit.MLP(1, 10, 1, seed=0), (x, y), callbacks=[StopAt()], control=Control(stop=stop)
    )
    assert history.stop_reason == "interrupted"
    assert history.final.step == 31  # the step in progress finishes
    assert nnfit.diagnose(history).kind == "interrupted"


def test_keyboard_interrupt_keeps_the_partly_trained_model():
    class CtrlC(Callback):
        def on_snapshot(self, snapshot):
            if snapshot.step == 50 and not snapshot.final:
                raise KeyboardInterrupt

    x, y = nnfit.make_data(seed=0)
    history = train(nnfit.MLP(1, 10, 1, seed=0), (x, y), callbacks=[CtrlC()])
    assert history.stop_reason == "interrupted"
    assert history.final.final and history.final.step == 50


def test_validation_loss_and_early_stopping_restore_the_best_weights():
    x, y = nnfit.make_data(seed=0, points=60, noise="gaussian", noise_level=0.3)
    xv, yv = nnfit.make_data(seed=1, points=60, noise="gaussian", noise_level=0.3)
    model = nnfit.MLP(1, 64, 1, seed=0)
    history = train(
        model,
        prepare(x, y, x_val=xv, y_val=yv),
        TrainConfig(optimizer="adam", lr=0.05, steps=2000, every=10, patience=100),
    )
    assert all(s.val_loss is not None for s in history.snapshots)
    assert history.stop_reason == "early_stop"
    best = min(s.val_loss for s in history.snapshots[:-1])
    assert history.final.val_loss == pytest.approx(best, rel=1e-6)
    assert history.final.step == history.best_step


def test_cuda_asked_for_and_absent_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    x, y = nnfit.make_data(seed=0)
    with pytest.raises(nnfit.UsageError, match=r"^device cuda: .*use device cpu"):
        train(nnfit.MLP(1, 10, 1), (x, y), TrainConfig(device="cuda"))
    history = train(nnfit.MLP(1, 10, 1), (x, y), TrainConfig(device="auto", steps=5))
    assert math.isfinite(history.final.loss)


@pytest.mark.parametrize(
    "fields, name",
    [
        ({"optimizer": "sgdd"}, "optimizer"),
        ({"loss": "mae"}, "loss"),
        ({"device": "tpu"}, "device"),
        ({"lr": 0.0}, "lr"),
        ({"lr": float("inf")}, "lr"),
        ({"steps": 0}, "steps"),
        ({"every": 0}, "every"),
        ({"batch_size": 0}, "batch_size"),
        ({"seed": -1}, "seed"),
        ({"steps": 1.5}, "steps"),
    ],
)
def test_bad_train_settings_name_the_field(fields, name):
    with pytest.raises(nnfit.UsageError, match=f"^{name} "):
        TrainConfig(**fields)


def test_mismatched_or_bad_data_is_refused():
    model = nnfit.MLP(1, 10, 1)
    with pytest.raises(nnfit.DataError, match="rows"):
        train(model, ([1.0, 2.0, 3.0], [1.0, 2.0]))
    with pytest.raises(nnfit.DataError, match="x row 2, column 1: a missing or infinite value"):
        train(model, ([1.0, float("nan")], [1.0, 2.0]))
    with pytest.raises(nnfit.DataError, match="input"):
        train(model, (np.zeros((3, 2)), np.zeros(3)))


def test_lists_and_arrays_are_accepted():
    xs = np.linspace(-1, 1, 30)
    history = train(
        nnfit.MLP(1, 10, 1, seed=0), (xs.tolist(), (xs**2).tolist()), TrainConfig(steps=10)
    )
    assert len(history.snapshots) == 3


def test_data_is_a_pair_or_prepared_data():
    x, y = nnfit.make_data(seed=0)
    config = TrainConfig(steps=10)
    pair = train(nnfit.MLP(1, 10, 1, seed=0), (x, y), config)
    prepared = train(nnfit.MLP(1, 10, 1, seed=0), prepare(x, y), config)
    np.testing.assert_array_equal(pair.losses, prepared.losses)
    with pytest.raises(nnfit.UsageError, match=r"an \(x, y\) pair"):
        train(nnfit.MLP(1, 10, 1), x)


def test_prepared_data_is_frozen_and_samples_big_sets():
    x = np.linspace(-1, 1, 20_000)
    data = prepare(x, x**2, x_val=x, y_val=x**2, seed=3)
    assert data.x_val.shape == (10_000, 1) and data.eval_rows.shape == (10_000,)
    assert data.plot_rows.shape == (5_000,)
    with pytest.raises(AttributeError):
        data.seed = 4


def test_checkpoints_come_every_few_steps_and_on_stop():
    x, y = nnfit.make_data(seed=0)
    states = []
    train(
        nnfit.MLP(1, 10, 1, seed=0),
        (x, y),
        TrainConfig(steps=30),
        control=Control(checkpoint=states.append, checkpoint_every=10),
    )
    assert [state.step for state in states] == [10, 20]

"""Ensembles: several networks trained at once as one batched computation, cross-validated."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nnfit
from nnfit.core.diagnostics import dead_fraction
from nnfit.core.members import Members, auto_members, held_out_mean, holdout, standard_error
from nnfit.core.metrics import regression_metrics
from nnfit.core.model import MLP
from nnfit.core.model_config import MAX_MEMBERS
from nnfit.core.traindata import prepare
from nnfit.core.training import TrainConfig, train
from nnfit.data.dataset import split
from nnfit.regressor import Regressor


def curve(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-2, 2, n))
    return x, np.sin(2 * x) + 0.1 * rng.standard_normal(n)


@pytest.mark.parametrize(
    "n, members, val", [(100, 10, 0.2), (37, 4, 0.2), (50, 3, 0.1), (9, 10, 0.2), (40, 7, 0.3)]
)
def test_each_member_holds_out_its_val_share(n, members, val):
    mask = holdout(n, members, val, seed=1)
    assert mask.shape == (members, n)
    assert abs(mask.sum(axis=1) - val * n).max() <= 1
    assert (~mask).sum(axis=1).min() >= 2  # every member trains on something
    blocks = int(1 / val + 1e-9)
    for start in range(0, members, blocks):  # a permutation's blocks never overlap
        assert mask[start : start + blocks].sum(axis=0).max() <= 1


def test_holdout_of_one_member_is_the_validation_split():
    _, val_rows = split(83, 0.2, seed=5)
    np.testing.assert_array_equal(np.flatnonzero(holdout(83, 1, 0.2, seed=5)[0]), val_rows)


def test_twenty_members_are_five_fold_cross_validation_four_times():
    mask = holdout(95, 20, 0.2, seed=0)
    for start in range(0, 20, 5):
        np.testing.assert_array_equal(mask[start : start + 5].sum(axis=0), np.ones(95))
    np.testing.assert_array_equal(mask.sum(axis=0), np.full(95, 4))
    # fresh permutations: the repeats hold out different blocks, so members differ
    assert len({tuple(np.flatnonzero(m)) for m in mask}) == 20


@pytest.mark.parametrize("n, val", [(2, 0.2), (40, 0.0)])
def test_holdout_is_empty_when_nothing_can_be_held_out(n, val):
    assert not holdout(n, 10, val, seed=0).any()


def test_members_layer_is_one_linear_per_member():
    layer = Members(3, 4, 5)
    x = torch.randn(7, 4)
    out = layer(x)
    assert out.shape == (3, 7, 5)
    for k in range(3):
        expected = torch.nn.functional.linear(x, layer.weight[k], layer.bias[k])
        torch.testing.assert_close(out[k], expected)
    bound = 1 / 4**0.5  # nn.Linear's initial range
    assert layer.weight.abs().max() <= bound and layer.bias.abs().max() <= bound


def test_an_ensemble_predicts_its_members_average():
    model = MLP(2, (6, 5), 3, activation="tanh", seed=1, members=4)
    x = torch.randn(11, 2)
    with torch.no_grad():
        expected = torch.stack([model.member(k)(x) for k in range(4)]).mean(dim=0)
        torch.testing.assert_close(model(x), expected)


def test_members_are_seeded_differ_and_start_as_the_mean():
    a, b = MLP(1, 8, 1, seed=3, members=5), MLP(1, 8, 1, seed=3, members=5)
    torch.testing.assert_close(a.layers[0].weight, b.layers[0].weight, rtol=0, atol=0)
    weights = a.layers[0].weight
    assert not torch.equal(weights[0], weights[1])
    a.set_scaler(np.arange(10.0)[:, None], 5 + np.arange(10.0)[:, None])
    with torch.no_grad():
        np.testing.assert_allclose(a(torch.randn(4, 1)).numpy(), 9.5)  # y's mean


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_batched_training_equals_training_each_member_alone(optimizer):
    x, y = curve(40)
    ensemble = MLP(1, (8, 8), 1, activation="tanh", seed=2, members=3)
    ensemble.set_scaler(x[:, None], y[:, None])
    alone = [ensemble.member(k) for k in range(3)]
    held = holdout(40, 3, 0.2, seed=0)
    config = TrainConfig(optimizer=optimizer, lr=0.05, steps=60, every=10)
    train(ensemble, prepare(x, y, holdout=held), config)
    for k, net in enumerate(alone):
        rows = ~held[k]
        train(net, (x[rows], y[rows]), config)
        with torch.no_grad():
            x_test = torch.linspace(-2, 2, 50).unsqueeze(1)
            # Adam divides by sqrt(v): float32 rounding of a batched and a single matmul
            # differ by ~1e-7 and grow to ~3e-5 over 60 steps on some CPUs
            torch.testing.assert_close(
                ensemble.member(k)(x_test), net(x_test), rtol=1e-4, atol=1e-4
            )


def test_validation_loss_pools_each_held_out_row_from_its_own_member():
    x, y = curve(50)
    model = MLP(1, (8,), 1, activation="tanh", seed=0, members=5)
    held = holdout(50, 5, 0.2, seed=0)
    history = train(
        model, prepare(x, y, holdout=held), TrainConfig(optimizer="adam", lr=0.01, steps=40)
    )
    with torch.no_grad():
        each = model.layers(torch.tensor(x, dtype=torch.float32).unsqueeze(1))[..., 0].numpy()
    member, row = np.nonzero(held)
    expected = np.mean((each[member, row] - y[row]) ** 2)
    assert history.final.val_loss == pytest.approx(expected, rel=1e-5)
    train_losses = [np.mean((each[k, ~held[k]] - y[~held[k]]) ** 2) for k in range(5)]
    assert history.final.loss == pytest.approx(np.mean(train_losses), rel=1e-5)
    assert history.members == 5


def test_early_stopping_keeps_the_members_at_the_best_pooled_step():
    x, y = curve(60)
    model = MLP(1, (32, 32), 1, activation="tanh", seed=0, members=4)
    history = train(
        model,
        prepare(x, y, holdout=holdout(60, 4, 0.2, seed=0)),
        TrainConfig(optimizer="adam", lr=0.03, steps=600, every=10, patience=100),
    )
    val = [s.val_loss for s in history.snapshots if not s.final]
    assert history.stop_reason == "early_stop"
    assert history.final.val_loss == pytest.approx(min(val), rel=1e-6)
    assert history.best_step == history.snapshots[int(np.argmin(val))].step


def test_holdout_and_a_validation_set_are_exclusive():
    model = MLP(1, 4, 1, members=2)
    with pytest.raises(nnfit.UsageError, match="not both"):
        train(
            model,
            prepare([1, 2, 3], [1, 2, 3], x_val=[1], y_val=[1], holdout=np.zeros((2, 3), bool)),
        )
    with pytest.raises(nnfit.DataError, match=r"\(members, rows\) = \(2, 3\)"):
        train(model, prepare([1, 2, 3], [1, 2, 3], holdout=np.zeros((3, 3), bool)))


@pytest.mark.parametrize(
    "n, expected", [(10, 20), (100, 20), (200, 10), (400, 5), (1000, 2), (1001, 1)]
)
def test_auto_members_shrink_as_rows_grow(n, expected):
    assert auto_members("auto", n) == expected
    assert auto_members(3, n) == 3


@pytest.mark.parametrize("members", [0, MAX_MEMBERS + 1, 2.5, True, "many"])
def test_bad_member_counts_are_refused(members):
    with pytest.raises(nnfit.UsageError, match=r"^members "):
        Regressor(members=members).fit([1, 2, 3, 4], [1, 2, 3, 4])


def test_regressor_reports_cross_validated_errors():
    x, y = curve(80)
    model = Regressor(steps=200, every=10, hidden=(16,), members=8).fit(x, y)
    assert model.model_.members == 8 and model.predict(x).shape == (80,)
    held = holdout(80, 8, 0.2, seed=0)  # rows held out by one or two members
    with torch.no_grad():
        each = (
            model.model_.unscale_y(
                model.model_.layers(
                    model.model_.scale_x(torch.tensor(x, dtype=torch.float32)[:, None])
                )
            )[..., 0]
            .double()
            .numpy()
        )
    rows = held.any(axis=0)
    assert (held.sum(axis=0) == 2).any()
    cross_validated = (each * held).sum(axis=0)[rows] / held.sum(axis=0)[rows]
    expected = regression_metrics(y[rows], cross_validated)
    assert model.metrics_["val"]["rmse"] == pytest.approx(expected["rmse"], rel=1e-5)
    assert model.metrics_["train"]["rmse"] < model.metrics_["val"]["rmse"]


def test_auto_uses_one_network_on_big_data():
    x, y = curve(1500)
    model = Regressor(steps=20, every=10, hidden=(8,)).fit(x, y)
    assert model.model_.members == 1 and len(model.history_.x_val) == 300


def test_dead_units_are_counted_over_every_member():
    model = MLP(1, (4,), 1, activation="relu", seed=0, members=3)
    with torch.no_grad():
        model.layers[0].bias[1].fill_(-100.0)  # member 1: every unit off on this data
    history = train(model, (np.linspace(-1, 1, 20), np.zeros(20)), TrainConfig(steps=1))
    dead, units = dead_fraction(history)
    assert units == 12 and dead >= 4


def test_member_losses_average_each_members_own_rows():
    from nnfit.core.members import member_losses

    each = torch.tensor([[[1.0], [3.0]], [[5.0], [7.0]]])  # (members 2, rows 2, outputs 1)
    weights = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    assert member_losses(each, weights).tolist() == [2.0, 7.0]


def test_held_out_mean_pools_the_members_that_held_each_row_out():
    from nnfit.core.members import held_out_mean

    values = torch.tensor([[1.0, 2.0, 3.0], [5.0, 6.0, 7.0]])  # (members, rows)
    held = torch.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    means, rows = held_out_mean(values, held)
    assert means.tolist() == [3.0, 3.0] and rows.tolist() == [True, False, True]


def test_held_out_mean_averages_each_row_over_its_holders():
    values = torch.tensor([[1.0, 2.0, 3.0], [5.0, 6.0, 7.0]])  # (members, rows)
    held = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])  # row 2 held by nobody
    means, rows = held_out_mean(values, held)
    assert means.tolist() == [3.0, 6.0] and rows.tolist() == [True, True, False]


def test_held_out_mean_keeps_trailing_dimensions():
    values = torch.arange(12.0).reshape(2, 3, 2)  # (members, rows, outputs)
    held = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    means, rows = held_out_mean(values, held)
    assert means.shape == (3, 2) and rows.all()
    assert means[2].tolist() == ((values[0, 2] + values[1, 2]) / 2).tolist()


def test_standard_error_is_std_over_sqrt_n_and_zero_for_one_row():
    losses = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert standard_error(losses) == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2)
    assert standard_error(torch.tensor([5.0])) == 0.0


def test_a_thousand_members_train_as_one_batched_run():
    x, y = curve(40)
    model = MLP(1, 8, 1, activation="tanh", members=1_000, seed=0)
    history = train(model, (x, y), TrainConfig(optimizer="adam", lr=0.01, steps=30, every=10))
    assert history.stop_reason == "done" and len(history.snapshots) == 4
    # the last snapshot's loss is the members' mean, each member's own loss recomputed here
    with torch.no_grad():
        x_t, y_t = torch.tensor(x).reshape(-1, 1), torch.tensor(y).reshape(-1, 1)
        y_pred, _ = model.hidden_outputs(x_t.float())
        own = ((y_pred - y_t.float()) ** 2).mean(dim=(1, 2))
    assert history.final.loss == pytest.approx(float(own.mean()), rel=1e-4)


def test_members_beyond_memory_are_refused_up_front_with_a_suggestion():
    with pytest.raises(nnfit.UsageError, match=r"hidden.*members|members.*hidden") as error:
        MLP(1, (4000, 4000), 1, members=50_000)
    assert "fewer" in str(error.value) and "\n" not in str(error.value)


def test_activations_of_a_step_beyond_memory_are_refused_before_training(monkeypatch):
    monkeypatch.setattr("nnfit.memory.available_bytes", lambda: 50_000_000)
    model = MLP(1, 10, 1, members=20_000)  # 1.2 MB of weights: fine; a step on 100 rows: not
    with pytest.raises(nnfit.UsageError, match="rows at once") as error:
        train(model, curve(100), TrainConfig(steps=1))
    assert "fewer" in str(error.value)


def test_a_member_seeded_on_its_own_is_the_same_network_in_any_ensemble():
    together = MLP(2, (5, 3), 1, members=3, seed=[7, 8, 9])
    elsewhere = MLP(2, (5, 3), 1, members=2, seed=[1, 8])
    for mine, theirs in zip(together.member_layers(1), elsewhere.member_layers(1), strict=True):
        assert torch.equal(mine[0], theirs[0]) and torch.equal(mine[1], theirs[1])
    assert not torch.equal(together.member_layers(0)[0][0], together.member_layers(1)[0][0])
    with pytest.raises(nnfit.UsageError, match="one seed per member"):
        MLP(1, 4, 1, members=3, seed=[1, 2])

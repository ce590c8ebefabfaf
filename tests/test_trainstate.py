"""What training carries between steps (core/trainstate.py): batches, keeper, best, flatten.

Early stopping's two rules are in test_stopping.py; damaged checkpoints on disk in
test_hostile_runfolder.py.
"""

import math

import numpy as np
import pytest
import torch

import nnfit
from nnfit.core.history import Snapshot
from nnfit.core.trainstate import AUTO_BATCH, AUTO_SIZE, Batches, Best, Keeper, flatten, unflatten


def rows(n, k=1):
    return torch.arange(float(n * k)).reshape(n, k)


def draws(batches, count):
    return [batches.next()[0][:, 0].tolist() for _ in range(count)]


def test_full_batch_is_the_whole_set_every_time():
    x, y = rows(10), rows(10)
    for size in (None, 10, 50):
        batches = Batches(x, y, size, seed=0)
        bx, by, weights = batches.next()
        assert bx is x and by is y and weights is None and batches.full


def test_large_data_trains_on_automatic_minibatches():
    batches = Batches(rows(AUTO_BATCH + 1), rows(AUTO_BATCH + 1), None, seed=0)
    assert not batches.full and batches.next()[0].shape == (AUTO_SIZE, 1)


def test_an_epoch_visits_each_row_once_and_drops_the_remainder():
    batches = Batches(rows(10), rows(10), 3, seed=0)
    epoch = [v for batch in draws(batches, 3) for v in batch]
    assert len(set(epoch)) == 9 and set(epoch) <= set(range(10))
    assert batches.position == 9
    batches.next()  # 1 row left: a new shuffle
    assert batches.position == 3


def test_the_seed_fixes_the_order():
    first = draws(Batches(rows(20), rows(20), 4, seed=1), 10)
    assert first == draws(Batches(rows(20), rows(20), 4, seed=1), 10)
    assert first != draws(Batches(rows(20), rows(20), 4, seed=2), 10)


def test_rows_keep_their_targets_and_weights():
    x = rows(8)
    weights = torch.stack([x[:, 0], -x[:, 0]])  # (members, n)
    bx, by, bw = Batches(x, x * 10, 3, seed=0, weights=weights).next()
    assert torch.equal(by, bx * 10)
    assert torch.equal(bw, torch.stack([bx[:, 0], -bx[:, 0]]))


def test_batches_resume_from_their_state_through_flatten():
    x = rows(11)
    batches = Batches(x, x, 4, seed=0)
    draws(batches, 5)  # mid-epoch
    layout, tensors = flatten(batches.state())
    resumed = Batches(x, x, 4, seed=99)
    resumed.load(unflatten(layout, tensors))
    assert draws(resumed, 7) == draws(batches, 7)


def test_keeper_restores_the_weights_it_kept():
    model = nnfit.MLP(1, 4, 1, seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    keeper = Keeper(model)
    keeper.keep(7)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(math.nan)
    keeper.restore()
    assert keeper.step == 7
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))


def test_keeper_state_loads_into_another_models_keeper():
    model, other = nnfit.MLP(1, 4, 1, seed=0), nnfit.MLP(1, 4, 1, seed=1)
    keeper = Keeper(model)
    keeper.keep(3)
    again = Keeper(other)
    again.load(unflatten(*flatten(keeper.state())))
    again.restore()
    assert again.step == 3
    assert all(
        torch.equal(p, q) for p, q in zip(other.parameters(), model.parameters(), strict=True)
    )


def test_best_without_validation_loss_never_stops_or_restores():
    model = nnfit.MLP(1, 3, 1, seed=0)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    best = Best(model, patience=1)
    for step in range(5):
        assert not best.should_stop(Snapshot(step, 0.1, np.zeros((1, 1))))
    assert best.restore() is None
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())


def test_best_state_before_any_improvement_round_trips():
    best = Best(nnfit.MLP(1, 3, 1, seed=0), patience=5)
    layout, tensors = flatten(best.state())
    again = Best(nnfit.MLP(1, 3, 1, seed=0), patience=5)
    again.load(unflatten(layout, tensors))
    assert again.loss == math.inf and again.step is None and again.restore() is None


def test_flatten_round_trips_every_form_it_writes():
    tree = {
        "weights": torch.arange(6.0).reshape(2, 3),
        3: [1, True, None, "text", (0.1, -math.inf)],
        "nested": {"state": {0: {"step": torch.tensor(5)}}},
    }
    layout, tensors = flatten(tree)
    back = unflatten(layout, tensors)
    assert sorted(tensors) == [".nested.state.0.step", ".weights"]
    assert list(back) == ["weights", 3, "nested"]  # keys keep their type and order
    assert torch.equal(back["weights"], tree["weights"])
    assert back[3] == [1, True, None, "text", [0.1, -math.inf]]  # tuples come back as lists
    assert back["nested"]["state"][0]["step"].item() == 5


def test_flatten_keeps_floats_exact_and_nan():
    layout, tensors = flatten([0.1 + 0.2, math.nan])
    exact, nan = unflatten(layout, tensors)
    assert exact == 0.1 + 0.2 and math.isnan(nan)


def test_flatten_refuses_what_json_cannot_hold():
    with pytest.raises(TypeError, match="cannot store set"):
        flatten({"a": {1, 2}})


@pytest.mark.parametrize(
    "layout, match",
    [
        ({"code": "x"}, "unexpected entry"),
        ({"float": "1", "list": []}, "unexpected entry"),
        ([1, 2], "unexpected entry"),
        ({"float": 1.5}, "unexpected entry"),
        ({"tensor": "nowhere"}, "not in the tensors"),
        ({"dict": [["str", "a", 1]]}, r"\[key, value\] pairs"),
        ({"dict": [[["bool", True], 1]]}, "table key"),
        ({"dict": [[["int", True], 1]]}, "table key"),
        ({"dict": [[["int", "3"], 1]]}, "table key"),
        ({"float": "fast"}, "could not convert"),
    ],
)
def test_unflatten_refuses_forms_flatten_never_writes(layout, match):
    with pytest.raises(ValueError, match=match):
        unflatten(layout, {})

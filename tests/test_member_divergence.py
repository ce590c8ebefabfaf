"""An ensemble member whose loss stops being finite falls back alone; the others train on."""

import numpy as np
import pytest
import torch

from nnfit.core.diagnostics import diagnose
from nnfit.core.history import History
from nnfit.core.model import MLP
from nnfit.core.training import TrainConfig, train
from nnfit.core.trainstate import Control
from nnfit.errors import DataError

X = np.linspace(-1, 1, 40)
Y = X**2


def config(rates, **more):
    return TrainConfig(optimizer="sgd", lr=0.1, steps=60, every=10, member_lr=rates, **more)


def test_a_diverging_member_is_frozen_and_the_others_train_as_if_alone():
    together = MLP(1, 8, 1, members=3, seed=[1, 2, 3])
    history = train(together, (X, Y), config((0.05, 1e6, 0.2)))
    alone = MLP(1, 8, 1, members=2, seed=[1, 3])
    train(alone, (X, Y), config((0.05, 0.2)))

    assert history.stop_reason == "done" and list(history.diverged_members) == [1]
    assert all(np.isfinite(history.losses))
    for k, j in ((0, 0), (2, 1)):
        for mine, theirs in zip(together.member_layers(k), alone.member_layers(j), strict=True):
            torch.testing.assert_close(mine, theirs)
    assert all(torch.isfinite(p).all() for p in together.parameters())
    assert "1 of 3 members diverged" in diagnose(history).message


def test_when_every_member_diverges_the_run_diverges():
    history = train(MLP(1, 8, 1, members=2, seed=0), (X, Y), config((1e6, 1e7)))
    assert history.stop_reason == "diverged" and history.diverged_at is not None


def test_a_frozen_member_stays_frozen_after_resume():
    def run(control=None):
        model = MLP(1, 8, 1, members=3, seed=[1, 2, 3])
        return model, train(model, (X, Y), config((0.05, 1e6, 0.2)), control=control)

    whole_model, whole = run()
    states = []
    run(Control(checkpoint=states.append, checkpoint_every=40))
    assert states[0].keeper["frozen"] == [[1, whole.diverged_members[1]]]
    resumed_model, resumed = run(Control(resume=states[0]))

    assert resumed.diverged_members == whole.diverged_members
    np.testing.assert_array_equal(resumed.losses, whole.losses)
    for a, b in zip(resumed_model.parameters(), whole_model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_the_history_keeps_which_members_diverged_and_refuses_forged_ones():
    history = train(MLP(1, 8, 1, members=3, seed=[1, 2, 3]), (X, Y), config((0.05, 1e6, 0.2)))
    data = history.to_dict()
    assert History.from_dict(data).diverged_members == history.diverged_members
    for forged in ([[3, 5]], [[1, 5], [1, 6]], [["1", 5]], [[1]], [[0, 5], [1, 5], [2, 5]]):
        with pytest.raises(DataError, match="diverged_members"):
            History.from_dict({**data, "diverged_members": forged})

"""The fused, flat optimiser updates against torch's own optimisers, the reference."""

import pytest
import torch

from nnfit.core.fused import BUFFERS, FUSED, FusedUpdate, flatten_parameters, member_scale
from nnfit.core.model import MLP
from nnfit.core.optim import make_optimizer, make_schedule
from nnfit.core.training import TrainConfig, train


def gradients(params, step):
    """Made-up gradients, different every step and parameter."""
    generator = torch.Generator().manual_seed(step)
    return [torch.randn(p.shape, generator=generator) for p in params]


def ensemble(seed=0):
    model = MLP(2, (6, 5), 3, activation="tanh", members=4, seed=seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1)
    return model


@pytest.mark.parametrize("name", FUSED)
@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_updates_equal_torchs_and_its_state_dict(name, schedule):
    torch_model, fused_model = ensemble(), ensemble()
    reference = make_optimizer(name, torch_model.parameters(), 0.05)
    torch_schedule = make_schedule(schedule, reference, 10)
    params = list(fused_model.parameters())
    optimizer = make_optimizer(name, params, 0.05)
    fused_schedule = make_schedule(schedule, optimizer, 10)
    flat, grad = flatten_parameters(params)
    update = FusedUpdate(optimizer, name, params, flat, grad)

    for step in range(6):
        for p, g in zip(torch_model.parameters(), gradients(params, step), strict=True):
            p.grad = g
        reference.step()
        grad.copy_(torch.cat([g.reshape(-1) for g in gradients(params, step)]))
        update.step()
        for s in (torch_schedule, fused_schedule):
            if s is not None:
                s.step()

    for mine, theirs in zip(params, torch_model.parameters(), strict=True):
        torch.testing.assert_close(mine, theirs)
        assert mine.data_ptr() != theirs.data_ptr()
    ours, torchs = optimizer.state_dict(), reference.state_dict()
    assert ours["param_groups"] == torchs["param_groups"]
    assert ours["state"].keys() == torchs["state"].keys()
    for k, entry in torchs["state"].items():
        assert ours["state"][k].keys() == entry.keys()
        for key, value in entry.items():
            torch.testing.assert_close(ours["state"][k][key], value)


def test_parameters_become_views_of_one_buffer_with_their_values():
    model = ensemble()
    before = [p.detach().clone() for p in model.parameters()]
    flat, _ = flatten_parameters(list(model.parameters()))
    assert flat.numel() == sum(p.numel() for p in before)
    with torch.no_grad():
        flat.zero_()
    for p, old in zip(model.parameters(), before, strict=True):
        assert p.shape == old.shape and not p.any()  # a view: zeroing the buffer reached it
        assert p.grad is not None and p.grad.shape == old.shape


@pytest.mark.parametrize("name", ["adam", "momentum"])
def test_loading_a_state_continues_exactly(name):
    models = [ensemble(), ensemble()]
    runs = []
    for model in models:
        params = list(model.parameters())
        optimizer = make_optimizer(name, params, 0.05)
        update = FusedUpdate(optimizer, name, params, *flatten_parameters(params))
        runs.append((params, optimizer, update))
    (params_a, opt_a, upd_a), (params_b, opt_b, upd_b) = runs
    for step in range(3):
        upd_a.grad.copy_(torch.cat([g.reshape(-1) for g in gradients(params_a, step)]))
        upd_a.step()
    models[1].load_state_dict(models[0].state_dict())
    opt_b.load_state_dict(opt_a.state_dict())
    upd_b.bind()
    for step in range(3, 5):
        for upd, params in ((upd_a, params_a), (upd_b, params_b)):
            upd.grad.copy_(torch.cat([g.reshape(-1) for g in gradients(params, step)]))
            upd.step()
    for a, b in zip(params_a, params_b, strict=True):
        assert torch.equal(a, b)
    assert set(opt_b.state[params_b[0]]) >= set(BUFFERS[name])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_each_member_trains_with_its_own_learning_rate(optimizer):
    x = torch.linspace(-1, 1, 30).unsqueeze(1)
    y = x**2
    rates = (0.003, 0.03, 0.3)
    config = TrainConfig(optimizer=optimizer, lr=0.1, steps=25, every=25, member_lr=rates)
    together = MLP(1, 8, 1, members=3, seed=0)
    train(together, (x, y), config)
    for k, lr in enumerate(rates):  # the same member trained alone with its rate
        alone = MLP(1, 8, 1, members=3, seed=0)
        train(alone, (x, y), TrainConfig(optimizer=optimizer, lr=lr, steps=25, every=25))
        for mine, theirs in zip(together.member_layers(k), alone.member_layers(k), strict=True):
            torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-6)


def test_member_scale_spreads_one_factor_over_each_members_weights():
    model = ensemble()
    params = list(model.parameters())
    scale = member_scale(torch.tensor([1.0, 2.0, 3.0, 4.0]), params)
    parts = scale.split([p.numel() for p in params])
    views = [part.view(p.shape) for part, p in zip(parts, params, strict=True)]
    for view in views:
        for k in range(4):
            assert torch.all(view[k] == k + 1)


def test_training_and_its_checkpoints_never_import_torch_dynamo():
    """torch._dynamo costs 1.7 s to import; the fused updates and ``without_dynamo`` avoid it."""
    import subprocess
    import sys

    code = """
import sys, threading
import numpy as np
from nnfit.core.model import MLP
from nnfit.core.trainstate import Control
from nnfit.core.training import TrainConfig, train
x = np.linspace(-1, 1, 40); y = x ** 2
states = []
for members, optimizer in ((1, "sgd"), (1, "adam"), (5, "adam"), (5, "momentum")):
    config = TrainConfig(optimizer=optimizer, lr=0.01, steps=20, schedule="cosine")
    control = Control(checkpoint=states.append, checkpoint_every=10)
    train(MLP(1, 8, 1, members=members, seed=0), (x, y), config, control=control)
    resumed = MLP(1, 8, 1, members=members, seed=0)
    train(resumed, (x, y), config, control=Control(resume=states[-1]))
print("torch._dynamo" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr

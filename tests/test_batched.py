"""The hand-written batched pass against autograd, the reference it must equal."""

import numpy as np
import pytest
import torch

from nnfit.core.batched import BACKWARD, LOSSES, BatchedPass
from nnfit.core.members import objective
from nnfit.core.model import MLP
from nnfit.core.optim import make_loss
from nnfit.core.training import TrainConfig, train


def autograd_pass(model, x, y, weights, loss):
    """The loop's own way: forward, the summed member losses, loss.backward()."""
    model.zero_grad(set_to_none=True)
    y_pred, hiddens = model.hidden_outputs(x)
    value = objective(make_loss(loss), make_loss(loss, "none"), y_pred, y, weights)
    value.backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    return value.detach(), y_pred.detach(), [h.detach() for h in hiddens], grads


def assert_batched_equals_autograd(model, x, y, weights, loss):
    """The batched pass gives autograd's loss, predictions, activations and gradients."""
    value, y_pred, hiddens, grads = autograd_pass(model, x, y, weights, loss)

    total, y_pred_b, hiddens_b = BatchedPass(model, loss)(x, y, weights)

    torch.testing.assert_close(total.float(), value)
    torch.testing.assert_close(y_pred_b, y_pred)
    for mine, theirs in zip(hiddens_b, hiddens, strict=True):
        torch.testing.assert_close(mine, theirs)
    for p, grad in zip(model.parameters(), grads, strict=True):
        torch.testing.assert_close(p.grad, grad)


def random_model(activation, n_in, n_out, members=3, hidden=(5, 4)):
    model = MLP(n_in, hidden, n_out, activation=activation, members=members, seed=1)
    with torch.no_grad():  # the output layer starts at zero: give it weights to pass back
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    return model


@pytest.mark.parametrize("activation", sorted(BACKWARD))
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize(("n_in", "n_out"), [(1, 1), (2, 3)])
def test_gradients_equal_autograds(activation, loss, n_in, n_out):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(7, n_in, generator=generator)
    y = 3 * torch.randn(7, n_out, generator=generator)  # large errors: huber's both branches
    weights = (torch.rand(3, 7, generator=generator) > 0.3).float()
    model = random_model(activation, n_in, n_out)
    assert_batched_equals_autograd(model, x, y, weights, loss)


def test_a_gpu_takes_members_in_chunks_bounded_by_memory_not_cache():
    from nnfit.core.batched import CHUNK_ELEMENTS, DEVICE_CHUNK_ELEMENTS, chunk_elements

    assert chunk_elements(torch.device("cpu")) == CHUNK_ELEMENTS
    assert chunk_elements(torch.device("cuda")) == DEVICE_CHUNK_ELEMENTS > 64 * CHUNK_ELEMENTS


def test_chunks_of_members_give_the_same_gradients(monkeypatch):
    generator = torch.Generator().manual_seed(3)
    x, y = torch.randn(6, 1, generator=generator), torch.randn(6, 1, generator=generator)
    weights = (torch.rand(10, 6, generator=generator) > 0.2).float()
    model = random_model("tanh", 1, 1, members=10)
    value, _, _, grads = autograd_pass(model, x, y, weights, "mse")
    step = BatchedPass(model, "mse")
    monkeypatch.setattr("nnfit.core.batched.CHUNK_ELEMENTS", 6 * 5 * 3)  # 3 members a chunk
    assert step.chunk(6) == 3

    total, y_pred, hiddens = step(x, y, weights)

    assert y_pred is None and hiddens is None  # several chunks: the snapshot measures itself
    torch.testing.assert_close(total.float(), value)
    for p, grad in zip(model.parameters(), grads, strict=True):
        torch.testing.assert_close(p.grad, grad)


def test_one_network_is_not_an_ensemble():
    with pytest.raises(ValueError, match="ensemble"):
        BatchedPass(MLP(1, 4, 1), "mse")


def ensemble_run(compile):
    x = torch.linspace(-1, 1, 30).unsqueeze(1)
    model = MLP(1, (6, 5), 1, activation="tanh", members=4, seed=0)
    config = TrainConfig(optimizer="adam", lr=0.01, steps=20, every=5, compile=compile)
    history = train(model, (x, x**2), config)
    return model, history


def test_a_compiled_step_trains_as_the_plain_one():
    """Compiled where this machine has a compiler, else the plain step: the same numbers."""
    import warnings

    plain, plain_history = ensemble_run(compile=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled, history = ensemble_run(compile=True)
    np.testing.assert_allclose(history.losses, plain_history.losses, rtol=1e-4)
    for mine, theirs in zip(compiled.parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-5)


def test_when_torch_cannot_compile_the_plain_step_trains_silently(monkeypatch, recwarn):
    def broken(*args, **kwargs):
        def fails(*args, **kwargs):
            raise RuntimeError("no C compiler")

        return fails

    monkeypatch.setattr(torch, "compile", broken)
    _, plain_history = ensemble_run(compile=False)
    _, history = ensemble_run(compile=True)
    np.testing.assert_array_equal(history.losses, plain_history.losses)
    assert not recwarn.list


@pytest.mark.parametrize(
    "activation",
    [("relu", "gelu"), ("softplus", "tanh"), ("elu", "silu", "sigmoid"), ("leaky_relu", "relu")],
)
@pytest.mark.parametrize("loss", ["mse", "huber"])
def test_each_layers_own_activation_gives_autograds_gradients(activation, loss):
    """Mixed layers: an activation whose backward reads its output next to one that reads its
    input, in either order."""
    generator = torch.Generator().manual_seed(1)
    x, y = torch.randn(8, 2, generator=generator), 3 * torch.randn(8, 1, generator=generator)
    weights = (torch.rand(3, 8, generator=generator) > 0.3).float()
    hidden = (5, 4, 3)[: len(activation)]
    model = random_model(activation, 2, 1, hidden=hidden)
    assert_batched_equals_autograd(model, x, y, weights, loss)


def test_a_layer_without_a_batched_kernel_trains_through_autograd(monkeypatch):
    from nnfit.core import batched
    from nnfit.core.engines import Autograd, Batched, make_engine

    model = MLP(1, (4, 3), 1, activation=("tanh", "gelu"), members=3, seed=0)
    optimizer = torch.optim.Adam(model.parameters())
    assert isinstance(make_engine(model, optimizer, TrainConfig(optimizer="adam")), Batched)
    monkeypatch.delitem(batched.BACKWARD, "gelu")  # as if gelu had no batched backward
    model = MLP(1, (4, 3), 1, activation=("tanh", "gelu"), members=3, seed=0)
    optimizer = torch.optim.Adam(model.parameters())
    assert isinstance(make_engine(model, optimizer, TrainConfig(optimizer="adam")), Autograd)
    x = torch.linspace(-1, 1, 20).unsqueeze(1)
    history = train(model, (x, x**2), TrainConfig(optimizer="adam", lr=0.01, steps=5))
    assert np.isfinite(history.losses).all()


def test_a_mixed_ensemble_trains_as_its_members_would_alone():
    """The batched engine against the reference: each member trained as a single network."""
    x = torch.linspace(-1, 1, 25).unsqueeze(1)
    seeds = [4, 5, 6]
    config = TrainConfig(optimizer="adam", lr=0.01, steps=15, every=5)
    activation = ("relu", "tanh")
    ensemble = MLP(1, (6, 5), 1, activation=activation, members=3, seed=seeds, independent=True)
    train(ensemble, (x, x**2), config)
    for k, seed in enumerate(seeds):
        single = MLP(1, (6, 5), 1, activation=activation, seed=seed)
        train(single, (x, x**2), config)
        for (w, b), (ws, bs) in zip(ensemble.member_layers(k), single.member_layers(), strict=True):
            torch.testing.assert_close(w, ws, rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(b, bs, rtol=1e-4, atol=1e-5)

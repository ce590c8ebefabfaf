import pytest
import torch

import nnfit
from nnfit.core.model import ACTIVATIONS, MLP, ModelConfig


def test_lesson_architecture_prints_like_pytorch():
    text = str(MLP(1, 10, 1))
    assert "(0): Linear(in_features=1, out_features=10, bias=True)" in text
    assert "(1): ReLU()" in text
    assert "(2): Linear(in_features=10, out_features=1, bias=True)" in text


def test_any_depth_and_activation():
    model = MLP(2, (32, 16, 8), 3, activation="tanh")
    assert model(torch.zeros(4, 2)).shape == (4, 3)
    widths = [m.out_features for m in model.layers if isinstance(m, torch.nn.Linear)]
    assert widths == [32, 16, 8, 3]
    assert model.config == ModelConfig(hidden=(32, 16, 8), activation="tanh")


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_every_activation_builds(activation):
    model = MLP(1, 4, 1, activation=activation, seed=0)
    assert isinstance(model.layers[1], ACTIVATIONS[activation])


def test_seed_gives_same_weights_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b = MLP(1, 10, 1, seed=3), MLP(1, 10, 1, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    c = MLP(1, 10, 1, seed=4)
    assert not torch.equal(a.layers[0].weight, c.layers[0].weight)


def test_scaler_round_trip_and_user_units():
    x = torch.linspace(1e6, 2e6, 50).unsqueeze(1)
    y = 3e9 + 1e9 * torch.sin(x / 1e5)
    model = MLP(1, 8, 1, seed=0)
    model.set_scaler(x, y)
    xs = model.scale_x(x)
    assert abs(float(xs.mean())) < 1e-5 and abs(float(xs.std()) - 1) < 1e-4
    assert torch.allclose(model.unscale_y(model.scale_y(y)), y, rtol=1e-6)
    assert torch.allclose(model(x), model.unscale_y(model.layers(xs)))


@pytest.mark.parametrize("hidden", [(), (0,), (-3,), (2.5,), (True,)])
def test_bad_hidden_is_refused(hidden):
    with pytest.raises(nnfit.UsageError, match=r"^hidden "):
        ModelConfig(hidden=hidden)


def test_bad_activation_lists_the_choices():
    with pytest.raises(nnfit.UsageError, match="relu, tanh, sigmoid"):
        MLP(1, 10, 1, activation="swish2")

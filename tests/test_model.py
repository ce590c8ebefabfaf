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


def test_one_activation_per_layer_composes_as_written_out():
    model = MLP(2, (5, 4, 3), 1, activation=("relu", "tanh", "softplus"), seed=0)
    x = torch.randn(9, 2, generator=torch.Generator().manual_seed(0))
    (w1, b1), (w2, b2), (w3, b3), (w4, b4) = model.member_layers()
    h = torch.relu(x @ w1.T + b1)
    h = torch.tanh(h @ w2.T + b2)
    h = torch.nn.functional.softplus(h @ w3.T + b3)
    torch.testing.assert_close(model.layers(x), h @ w4.T + b4)
    assert model.activations == ("relu", "tanh", "softplus")
    assert model.config.activation == ("relu", "tanh", "softplus")


def test_an_ensemble_applies_each_layers_own_activation_to_every_member():
    model = MLP(1, (4, 3), 1, activation=("tanh", "relu"), members=3, seed=[1, 2, 3])
    x = torch.linspace(-2, 2, 11).unsqueeze(1)
    each = model.member_outputs(x, 3)  # (members, n, n_out), float64
    for k in range(3):
        single = model.member(k)
        assert single.activations == ("tanh", "relu")
        torch.testing.assert_close(each[k].float(), single.layers(x))


@pytest.mark.parametrize("activation", ["tanh", ("tanh",) * 3, ["tanh", "tanh", "tanh"]])
def test_one_name_is_every_layers_and_a_list_is_kept(activation):
    config = ModelConfig(hidden=(4, 4, 4), activation=activation)
    assert config.activations == ("tanh",) * 3
    assert config.activation == (activation if isinstance(activation, str) else ("tanh",) * 3)


def test_names_typed_as_a_comma_list_are_one_per_layer():
    assert ModelConfig(hidden=(4, 4), activation="relu, tanh").activation == ("relu", "tanh")


@pytest.mark.parametrize(
    ("hidden", "activation", "match"),
    [
        ((4,), ("relu", "tanh"), "gives 2 names for 1 hidden layer: give one per layer"),
        ((4, 4, 4), "relu,tanh", "gives 2 names for 3 hidden layers"),
        ((4, 4), ("relu", "swish2"), "'swish2', which is not one of relu, tanh"),
        ((4,), (), "an activation name, or one per hidden layer"),
        ((4,), (1,), "an activation name, or one per hidden layer"),
    ],
)
def test_a_wrong_activation_list_is_one_line_naming_the_setting(hidden, activation, match):
    with pytest.raises(nnfit.UsageError, match=r"^activation ") as caught:
        ModelConfig(hidden=hidden, activation=activation)
    assert match in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(nnfit.UsageError, match=r"^activation "):  # the model checks it too
        MLP(1, hidden, 1, activation=activation)

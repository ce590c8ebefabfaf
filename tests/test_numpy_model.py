"""The NumPy forward pass against the torch model it mirrors, and run folders read on NumPy."""

import math

import numpy as np
import pytest
import torch

from nnfit.core.model import ACTIVATIONS, MLP
from nnfit.core.numpy_model import NumpyMLP, erfc
from nnfit.regressor import Regressor
from nnfit.runs.runfolder import load, save_run
from nnfit.runs.saved import open_run


def random_model(activation, members, n_in, n_out, hidden=(7, 5), seed=0):
    """An MLP with random weights (members' output layers too) and a non-trivial scaler."""
    model = MLP(n_in, hidden, n_out, activation=activation, members=members, seed=seed)
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.from_numpy(rng.normal(0, 1.5, parameter.shape)))
    x = rng.normal(100, 30, (50, n_in))
    y = rng.normal(-5, 4, (50, n_out))
    model.set_scaler(x, y)
    return model.eval(), rng.normal(100, 60, (200, n_in))


def as_numpy(model):
    state = {name: value.numpy() for name, value in model.state_dict().items()}
    return NumpyMLP.from_state(state, activation=model.activation)


def torch_predict(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x.astype(np.float32))).numpy().astype(np.float64)


@pytest.mark.parametrize("members", [1, 3])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_every_activation_matches_torch_to_float32(activation, members):
    model, x = random_model(activation, members, n_in=2, n_out=3)
    expected = torch_predict(model, x)
    got = as_numpy(model)(x)
    assert got.shape == expected.shape == (200, 3) and got.dtype == np.float64
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6 * scale)


def test_one_network_and_one_column_keep_their_shapes():
    model, x = random_model("relu", 1, n_in=1, n_out=1, hidden=(10,))
    got = as_numpy(model)(x)
    assert got.shape == (200, 1)
    np.testing.assert_allclose(got, torch_predict(model, x), rtol=1e-5, atol=1e-6)


def test_the_scaler_is_applied():
    model, x = random_model("tanh", 1, n_in=1, n_out=1)
    plain = as_numpy(model)
    with torch.no_grad():
        model.y_mean.add_(1000.0)
    shifted = as_numpy(model)
    np.testing.assert_allclose(shifted(x) - plain(x), 1000.0, rtol=1e-5)


def test_erfc_is_float32_accurate_over_the_whole_range():
    x = np.linspace(-6, 9, 3001)
    exact = np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(erfc(x), exact, rtol=2e-7, atol=0)


@pytest.mark.parametrize("members", [1, 4])
def test_a_run_folder_on_numpy_predicts_as_the_torch_load(tmp_path, members):
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, (60, 2))
    y = np.column_stack([np.sin(x[:, 0]), x[:, 1] ** 2])
    settings = {"steps": 30, "hidden": (8,), "members": members, "seed": 0, "activation": "gelu"}
    regressor = Regressor(**settings).fit(x, y)
    folder = save_run(
        tmp_path / "run",
        regressor,
        history=regressor.history_,
        settings={"preset": "data", "model": {}, "train": {"seed": 0}},
        data={"source": "test", "sha256": "0", "rows": 60},
        picture=False,
    )
    saved = open_run(folder)
    assert saved.x_names == load(folder).x_names_ and saved.n_inputs == 2
    np.testing.assert_allclose(saved.predict(x), load(folder).predict(x), rtol=1e-5, atol=1e-6)
    assert saved.history is not None and len(saved.history.snapshots) > 0


def member_predictions(model, x):
    """(members, n, n_out): each member run as a network of its own, in float64."""
    return np.stack([torch_predict(model.member(k), x) for k in range(model.members)])


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_the_spread_matches_torch_and_the_members_to_float32(activation):
    model, x = random_model(activation, 5, n_in=2, n_out=3)
    with torch.no_grad():
        mean, std = model.predict_with_std(torch.from_numpy(x.astype(np.float32)))
    assert std.dtype == torch.float32 and std.shape == (200, 3)
    assert torch.equal(mean, model(torch.from_numpy(x.astype(np.float32))))  # forward's mean
    got_mean, got_std = as_numpy(model).predict_with_std(x)
    assert got_std.shape == (200, 3) and got_std.dtype == np.float64
    np.testing.assert_array_equal(got_mean, as_numpy(model)(x))
    scale = std.numpy().max()
    np.testing.assert_allclose(got_std, std.numpy(), rtol=1e-5, atol=1e-6 * scale)
    reference = member_predictions(model, x).std(axis=0)  # members' float32 outputs
    np.testing.assert_allclose(got_std, reference, rtol=1e-4, atol=1e-5 * scale)


def test_one_network_has_no_spread():
    model, x = random_model("relu", 1, n_in=1, n_out=2)
    with torch.no_grad():
        _, std = model.predict_with_std(torch.from_numpy(x.astype(np.float32)))
    assert torch.count_nonzero(std) == 0
    assert np.count_nonzero(as_numpy(model).predict_with_std(x)[1]) == 0


def test_a_run_folder_on_numpy_gives_the_torch_spread(tmp_path):
    x = np.linspace(-2, 2, 40)
    regressor = Regressor(steps=30, hidden=(8,), members=4, seed=0, patience=None).fit(x, np.sin(x))
    folder = save_run(
        tmp_path / "run",
        regressor,
        history=regressor.history_,
        settings={"preset": "data", "model": {}, "train": {"seed": 0}},
        data={"source": "test", "sha256": "0", "rows": 40},
        picture=False,
    )
    wide = np.linspace(-2, 2, 25)
    mean, std = open_run(folder).predict_with_std(wide[:, None])
    expected_mean, expected_std = load(folder).predict(wide, return_std=True)
    assert std.min() > 0  # members trained on different rows disagree somewhat
    np.testing.assert_allclose(mean[:, 0], expected_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(std[:, 0], expected_std, rtol=1e-5, atol=1e-6 * std.max())


@pytest.mark.parametrize("members", [1, 3])
def test_one_activation_per_layer_matches_torch(members):
    model, x = random_model(("gelu", "relu"), members, n_in=2, n_out=3)
    expected = torch_predict(model, x)
    got = as_numpy(model)(x)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6 * scale)
    assert as_numpy(model).activation == ("gelu", "relu")

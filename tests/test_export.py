"""Exported models against the PyTorch model they came from."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys

import numpy as np
import pytest
import torch

from nnfit.core.model import ACTIVATIONS, MLP
from nnfit.errors import NNFitError, UsageError
from nnfit.export import PiecewiseLinear, export_onnx, export_python, relu_formula

TOLERANCE = 1e-5


def make_model(n_in=1, hidden=(8,), n_out=1, activation="relu", seed=0, members=1) -> MLP:
    """A model with random weights and a scaler fitted to data of magnitude 1e3."""
    model = MLP(n_in, hidden, n_out, activation=activation, seed=seed, members=members)
    if members > 1:  # an ensemble's output layer starts at zero: give it weights to export
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for tensor in (model.layers[-1].weight, model.layers[-1].bias):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) - 0.5)
    generator = torch.Generator().manual_seed(seed)
    x = 1e3 + 500 * torch.randn(100, n_in, generator=generator)
    y = -2e3 + 800 * torch.randn(100, n_out, generator=generator)
    model.set_scaler(x, y)
    return model


def random_x(model: MLP, n: int, *, spread: float = 3.0, seed: int = 1) -> np.ndarray:
    """(n, n_in) float32 inputs around the data, ``spread`` standard deviations wide."""
    rng = np.random.default_rng(seed)
    x = model.x_mean.numpy() + spread * model.x_scale.numpy() * rng.standard_normal((n, model.n_in))
    return x.astype(np.float32)


def torch_predict(model: MLP, x: np.ndarray) -> np.ndarray:
    """model(x) in float64, x (n, n_in)."""
    with torch.no_grad():
        return model(torch.as_tensor(x, dtype=torch.float32)).double().numpy()


def assert_close(actual: np.ndarray, expected: np.ndarray, model: MLP) -> None:
    """Equal to 1e-5 relative, or 1e-5 of the output's scale near zero (float32 rounding)."""
    scale = np.abs(model.y_mean.numpy()) + model.y_scale.numpy()
    np.testing.assert_allclose(actual, expected, rtol=TOLERANCE, atol=TOLERANCE * scale.max())


def load_module(path):
    """Import a Python file by path."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ONNX: an export takes seconds, so one model of each kind is exported once per session.


@pytest.fixture(scope="module")
def onnx_export(tmp_path_factory):
    model = make_model(n_in=2, hidden=(8, 8), n_out=3, activation="gelu")
    path = export_onnx(model, tmp_path_factory.mktemp("onnx") / "model.onnx")
    return model, path


@pytest.mark.parametrize("activation", sorted(set(ACTIVATIONS) - {"gelu"}))  # gelu: above
def test_onnx_export_works_for_every_activation(tmp_path, activation):
    model = make_model(n_in=2, hidden=(6, 5), n_out=2, activation=activation)
    export_onnx(model, tmp_path / "model.onnx")  # the built-in check compares with torch


@pytest.mark.parametrize("activation", ["tanh", "softplus", ("softplus", "relu")])
def test_onnx_export_of_an_ensemble_is_its_average(tmp_path, activation):
    """An ensemble's members run in float64, where onnxruntime has no Softplus: the export
    writes softplus out in operators it has."""
    model = make_model(n_in=2, hidden=(6, 5), n_out=2, activation=activation, members=4)
    export_onnx(model, tmp_path / "model.onnx")  # checked against torch for 1, 7, 256 rows


def test_onnx_matches_torch_for_any_batch_size(onnx_export):
    import onnxruntime as ort

    model, path = onnx_export
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x"]
    assert [o.name for o in session.get_outputs()] == ["y"]
    for n in (1, 5, 300):
        x = random_x(model, n, spread=10.0, seed=n)
        (y,) = session.run(["y"], {"x": x})
        assert y.shape == (n, 3)
        assert_close(y, torch_predict(model, x), model)


def test_onnx_file_is_written_atomically(onnx_export):
    _, path = onnx_export
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.onnx"]


def test_onnx_check_catches_a_mismatch(onnx_export):
    from nnfit.export.onnx import check_onnx

    model, path = onnx_export
    changed = make_model(n_in=2, hidden=(8, 8), n_out=3, activation="gelu", seed=1)
    check_onnx(model, path)
    with pytest.raises(NNFitError, match="differs from PyTorch"):
        check_onnx(changed, path)


def test_onnx_failed_check_leaves_no_file(tmp_path, monkeypatch):
    import nnfit.export.onnx

    # a broken exporter stands in for a real export that onnxruntime rejects
    monkeypatch.setattr(nnfit.export.onnx, "_write_onnx", lambda model, path: path.write_text("?"))
    with pytest.raises(NNFitError, match="onnxruntime cannot load"):
        export_onnx(make_model(), tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("module", ["onnx", "onnxscript", "onnxruntime"])
def test_onnx_without_the_extra_gives_the_install_hint(tmp_path, monkeypatch, module):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(UsageError, match=r"pip install 'nnfit\[onnx\]'"):
        export_onnx(make_model(), tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_nan_weights(tmp_path):
    model = make_model()
    with torch.no_grad():
        model.layers[0].weight[0, 0] = float("nan")
    with pytest.raises(UsageError, match="NaN"):
        export_python(model, tmp_path / "model.py")
    with pytest.raises(UsageError, match="NaN"):
        export_onnx(model, tmp_path / "model.onnx")


# Standalone Python file


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_python_export_matches_torch(tmp_path, activation):
    model = make_model(n_in=2, hidden=(6, 5), n_out=2, activation=activation)
    predict = load_module(export_python(model, tmp_path / f"{activation}_model.py")).predict
    x = random_x(model, 500, spread=10.0)
    y = predict(x)
    assert y.shape == (500, 2)
    assert_close(y, torch_predict(model, x), model)
    assert predict(x[0]).shape == (2,)  # one point


def test_python_export_of_an_ensemble_averages_its_members(tmp_path):
    model = make_model(n_in=2, hidden=(6, 5), n_out=2, activation="tanh", members=3)
    module = load_module(export_python(model, tmp_path / "ensemble.py"))
    x = random_x(model, 300, spread=10.0)
    assert len(module.MEMBERS) == 3 and "x3 ensemble" in module.__doc__
    assert_close(module.predict(x), torch_predict(model, x), model)


def test_python_export_of_one_input_takes_and_gives_1d(tmp_path):
    model = make_model()
    predict = load_module(export_python(model, tmp_path / "model.py")).predict
    x = random_x(model, 20)
    assert predict(x[:, 0]).shape == (20,)
    assert predict(x).shape == (20, 1)
    assert_close(predict(x[:, 0]), torch_predict(model, x)[:, 0], model)


def test_python_export_weights_are_exact(tmp_path):
    model = make_model(hidden=(4,))
    module = load_module(export_python(model, tmp_path / "model.py"))
    weight = module.MEMBERS[0][0][0]  # member 0, layer 0: (n_from, n_to)
    np.testing.assert_array_equal(weight, model.layers[0].weight.detach().double().numpy().T)
    assert module.__doc__.startswith("A 1-4-1 relu network exported by nnfit ")


def test_python_export_needs_only_numpy_and_runs_as_a_script(tmp_path):
    model = make_model(activation="gelu")
    path = export_python(model, tmp_path / "model.py")
    imports = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imports == {"math", "numpy", "sys"}
    # -I: no PYTHONPATH, so nnfit cannot come in; torch could, and must not be imported
    code = (
        "import atexit, runpy, sys\n"
        "atexit.register(lambda: print('torch' in sys.modules))\n"
        "sys.argv = sys.argv[1:]\n"
        "runpy.run_path(sys.argv[0], run_name='__main__')\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code, str(path), "0.5", "1200"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    *lines, torch_imported = result.stdout.split()
    assert torch_imported == "False"
    printed = np.array([float(line) for line in lines])
    assert_close(printed, torch_predict(model, np.array([[0.5], [1200.0]]))[:, 0], model)


# Exact formula of a ReLU network


def check_formula(model: MLP, f: PiecewiseLinear) -> None:
    """f equals the model on 10,000 points, many far outside the data."""
    x = random_x(model, 10_000, spread=1.0, seed=2)[:, 0]
    x[:5000] *= 1e3  # around ±1e6, far beyond the data's 1e3 ± 500
    assert_close(f(x), torch_predict(model, x[:, None])[:, 0], model)
    assert list(f.breakpoints) == sorted(f.breakpoints)


def test_relu_formula_of_one_hidden_layer():
    model = make_model(hidden=(10,))
    f = relu_formula(model)
    check_formula(model, f)
    assert len(f.slopes) <= 10 + 1
    weight = model.layers[0].weight.detach().double().numpy()[:, 0]
    bias = model.layers[0].bias.detach().double().numpy()
    expected = np.sort(float(model.x_mean) - float(model.x_scale) * bias / weight)
    np.testing.assert_allclose(f.breakpoints, expected, rtol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("hidden", [(8, 8), (5, 7, 6)])
def test_relu_formula_of_deeper_networks(hidden, activation):
    model = make_model(hidden=hidden, activation=activation, seed=3)
    f = relu_formula(model)
    check_formula(model, f)
    assert f.breakpoints  # random weights leave some kinks


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_relu_formula_of_an_ensemble_is_the_members_mean(activation):
    model = make_model(hidden=(6, 5), activation=activation, seed=2, members=4)
    f = relu_formula(model)
    check_formula(model, f)
    singles = [relu_formula(model.member(k)) for k in range(4)]
    assert set(f.breakpoints) <= {b for g in singles for b in g.breakpoints}
    x = random_x(model, 200, spread=4.0)[:, 0]
    np.testing.assert_allclose(f(x), np.mean([g(x) for g in singles], axis=0), rtol=1e-9)
    assert len(f.breakpoints) >= max(len(g.breakpoints) for g in singles) > 0


def test_relu_formula_dead_units_add_no_breakpoint():
    model = make_model(hidden=(6,))
    n_before = len(relu_formula(model).breakpoints)
    with torch.no_grad():
        model.layers[0].weight[0] = 0.0  # unit 0 is constant ...
        model.layers[0].bias[0] = -1.0  # ... and off everywhere
        model.layers[2].weight[0, 1] = 0.0  # unit 1 turns on and off, but nothing reads it
    f = relu_formula(model)
    check_formula(model, f)
    assert len(f.breakpoints) == n_before - 2


def test_piecewise_linear_evaluates_and_prints():
    f = PiecewiseLinear(
        breakpoints=(-1.0, 2.0), slopes=(0.5, -1.25, 0.0), intercepts=(1.0, -0.5, 3)
    )
    np.testing.assert_array_equal(
        f(np.array([-3.0, -1.0, 0.0, 2.0, 9.0])), [-0.5, 0.75, -0.5, 3, 3]
    )
    assert str(f).splitlines() == [
        "f(x) = 0.5*x + 1       for x < -1",
        "f(x) = -1.25*x - 0.5   for -1 <= x < 2",
        "f(x) = 3               for x >= 2",
    ]
    assert str(relu_formula(make_model(hidden=(3,)))).count("\n") <= 3


@pytest.mark.parametrize(
    ("settings", "why"),
    [
        ({"activation": "tanh"}, "this one has tanh"),
        ({"n_in": 2}, "this one has 2 inputs"),
        ({"n_out": 3, "activation": "gelu"}, "this one has gelu and 3 outputs"),
    ],
)
def test_relu_formula_refuses_other_networks(settings, why):
    with pytest.raises(UsageError, match=f"--formula needs a ReLU network.*; {why}"):
        relu_formula(make_model(**settings))


# One activation per hidden layer


def test_python_export_of_one_activation_per_layer_matches_torch(tmp_path):
    model = make_model(n_in=2, hidden=(6, 5, 4), n_out=2, activation=("relu", "gelu", "tanh"))
    module = load_module(export_python(model, tmp_path / "mixed.py"))
    x = random_x(model, 500, spread=10.0)
    assert_close(module.predict(x), torch_predict(model, x), model)
    assert [f.__name__ for f in module.ACTIVATIONS] == ["relu", "gelu", "tanh"]
    assert "relu, gelu, tanh after the hidden layers in turn" in module.__doc__


@pytest.mark.parametrize(
    ("activation", "members"), [(("softplus", "relu"), 1), (("relu", "tanh"), 3)]
)
def test_onnx_export_of_one_activation_per_layer(tmp_path, activation, members):
    model = make_model(n_in=2, hidden=(6, 5), n_out=2, activation=activation, members=members)
    export_onnx(model, tmp_path / "model.onnx")  # the built-in check compares with torch


def test_relu_formula_of_relu_and_leaky_relu_layers():
    model = make_model(hidden=(6, 5), activation=("leaky_relu", "relu"), seed=4)
    check_formula(model, relu_formula(model))
    with pytest.raises(UsageError, match="this one has tanh"):
        relu_formula(make_model(hidden=(6, 5), activation=("relu", "tanh")))

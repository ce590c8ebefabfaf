"""The target transform (y_transform): when auto takes log(y), the model's log(y) arithmetic,
and every place a model goes (run folders, the NumPy model, exports) keeping it."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from nnfit.checks import FieldError
from nnfit.core.model import MLP
from nnfit.core.numpy_model import NumpyMLP
from nnfit.core.transform import DECADES, auto_y_transform
from nnfit.errors import DataError, ExtrapolationWarning, UsageError
from nnfit.export import export_python, relu_formula
from nnfit.regressor import Regressor
from nnfit.runs.runfolder import load, save_run
from nnfit.runs.saved import open_run


def growth(n=30, seed=0):
    """Exponential growth over four decades with 1% multiplicative noise."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0, 10, n))
    return x, 0.5 * np.exp(0.92 * x) * (1 + 0.01 * rng.standard_normal(n))


# When auto takes the log


def test_auto_takes_log_only_for_positive_values_spanning_the_decades():
    span = 10.0 ** np.linspace(0, DECADES, 20)  # exactly DECADES decades
    assert auto_y_transform("auto", span) == "log"
    assert auto_y_transform("auto", span[:-1]) == "none"  # a little less than that
    assert auto_y_transform("auto", np.r_[span, -1.0]) == "none"  # a value below 0
    assert auto_y_transform("auto", np.r_[span, 0.0]) == "none"
    assert auto_y_transform("auto", np.r_[span, np.nan]) == "none"
    assert auto_y_transform("none", span) == "none"
    # two outputs: log only when each of them spans the decades
    assert auto_y_transform("auto", np.c_[span, span[::-1]]) == "log"
    assert auto_y_transform("auto", np.c_[span, np.ones_like(span)]) == "none"


def test_log_refuses_values_not_above_zero_naming_the_row():
    assert auto_y_transform("log", [1.0, 2.0]) == "log"  # narrow but positive: as asked
    with pytest.raises(FieldError) as caught:
        auto_y_transform("log", [3.0, 2.0, -1.5, 0.0])
    message = caught.value.flagged()
    assert message.startswith("--y-transform needs every y above 0 for log (row 3 has -1.5")
    assert "use none or auto" in message and "\n" not in message


# The model's arithmetic


def test_a_log_model_predicts_exp_of_its_layers_in_the_log_scale():
    x, y = growth()
    model = MLP(1, (6,), 1, activation="tanh", seed=0, y_transform="log")
    model.set_scaler(x[:, None], y[:, None])
    log_y = np.log(y)
    assert math.isclose(float(model.y_mean), log_y.mean(), rel_tol=1e-6)
    assert math.isclose(float(model.y_scale), log_y.std(ddof=1), rel_tol=1e-6)
    xt = torch.tensor(x[:, None], dtype=torch.float32)
    with torch.no_grad():
        inside = model.layers((xt - model.x_mean) / model.x_scale)
        expected = torch.exp(inside * model.y_scale + model.y_mean)
        assert torch.allclose(model(xt), expected)
        yt = torch.tensor(y[:, None], dtype=torch.float32)
        assert torch.allclose(model.unscale_y(model.scale_y(yt)), yt, rtol=1e-5)


def test_an_ensembles_log_prediction_is_the_members_geometric_mean_and_spread():
    x, y = growth()
    model = Regressor(steps=40, hidden=(8,), members=4, patience=None).fit(x, y).model_
    assert model.y_transform == "log"  # auto: four decades
    xt = torch.tensor(np.linspace(0, 10, 25)[:, None], dtype=torch.float32)
    with torch.no_grad():
        each = torch.stack([model.member(k)(xt) for k in range(4)]).double()  # (4, 25, 1)
        mean, std = model.predict_with_std(xt)
    geometric = each.log().mean(dim=0).exp()
    torch.testing.assert_close(mean.double(), geometric, rtol=1e-5, atol=0)
    first_order = each.log().std(dim=0, correction=0) * geometric  # delta method
    torch.testing.assert_close(std.double(), first_order, rtol=1e-4, atol=1e-6)


def test_a_given_log_network_refuses_targets_not_above_zero():
    model = MLP(1, (4,), 1, seed=0, y_transform="log")
    with pytest.raises(FieldError, match="row 2 has 0"):
        Regressor(steps=5).fit([1.0, 2.0, 3.0], [1.0, 0.0, 2.0], model=model)
    with pytest.raises(UsageError, match="y_transform must be none or log"):
        MLP(1, (4,), 1, y_transform="exp")


def test_log_extrapolates_growth_better_than_fitting_y_itself():
    x, y = growth(n=40)
    inside = x < 9
    truth = 0.5 * np.exp(0.92 * x[~inside])
    errors = {}
    for choice in ("none", "auto"):
        model = Regressor(y_transform=choice).fit(x[inside], y[inside])
        with pytest.warns(ExtrapolationWarning):  # beyond the training range
            errors[choice] = np.abs(model.predict(x[~inside]) - truth).max()
    assert errors["auto"] < errors["none"] / 3


# Where a model goes


@pytest.fixture(scope="module")
def log_run(tmp_path_factory):
    x, y = growth()
    regressor = Regressor(steps=60, hidden=(8,), members=3, patience=None).fit(x, y)
    folder = save_run(
        tmp_path_factory.mktemp("runs") / "growth",
        regressor,
        history=regressor.history_,
        settings={"preset": "data", "model": {}, "train": {"seed": 0}},
        data={"source": "test", "sha256": "0", "rows": len(x)},
        picture=False,
    )
    return regressor, folder


def test_a_run_folder_keeps_the_transform_for_torch_and_numpy(log_run):
    regressor, folder = log_run
    info = json.loads((folder / "run.json").read_text())
    assert info["model"]["y_transform"] == "log"
    x = np.linspace(-1, 11, 30)
    with pytest.warns(ExtrapolationWarning):
        expected = regressor.predict(x)
        loaded = load(folder).predict(x)
        mean, std = open_run(folder).predict_with_std(x[:, None])
    assert load(folder).model_.y_transform == "log"
    np.testing.assert_allclose(loaded, expected, rtol=1e-6)
    np.testing.assert_allclose(mean[:, 0], expected, rtol=1e-5)
    with torch.no_grad():
        _, torch_std = regressor.model_.predict_with_std(
            torch.tensor(x[:, None], dtype=torch.float32)
        )
    np.testing.assert_allclose(std[:, 0], torch_std[:, 0].numpy(), rtol=1e-4)


def test_a_tampered_transform_is_refused_in_one_line(log_run, tmp_path):
    _, folder = log_run
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in folder.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    info = json.loads((copy / "run.json").read_text())
    info["model"]["y_transform"] = "exp"
    (copy / "run.json").write_text(json.dumps(info))
    for opener in (load, open_run):
        with pytest.raises(DataError, match=r"model\.y_transform must be none or log, got 'exp'"):
            opener(copy)


def test_an_older_run_without_the_key_fits_y_itself(tmp_path):
    x = np.linspace(1, 3, 20)
    regressor = Regressor(steps=20, hidden=(4,), members=1).fit(x, x**2)
    folder = save_run(
        tmp_path / "run",
        regressor,
        history=regressor.history_,
        settings={"preset": "data", "model": {}, "train": {"seed": 0}},
        data={"source": "test", "sha256": "0", "rows": 20},
        picture=False,
    )
    info = json.loads((folder / "run.json").read_text())
    del info["model"]["y_transform"]
    (folder / "run.json").write_text(json.dumps(info))
    np.testing.assert_allclose(load(folder).predict(x), regressor.predict(x), rtol=1e-6)


def test_the_numpy_model_matches_torch_with_log():
    x, y = growth()
    model = MLP(1, (6, 5), 1, activation="tanh", seed=3, members=3, y_transform="log")
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(0.5 * torch.randn(parameter.shape, generator=generator))
    model.set_scaler(x[:, None], y[:, None])
    state = {name: value.numpy() for name, value in model.state_dict().items()}
    numpy_model = NumpyMLP.from_state(state, activation="tanh", y_transform="log")
    xs = np.linspace(-2, 12, 50)[:, None]
    with torch.no_grad():
        mean, std = model.predict_with_std(torch.tensor(xs, dtype=torch.float32))
    got_mean, got_std = numpy_model.predict_with_std(xs)
    np.testing.assert_allclose(got_mean, mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(got_std, std.numpy(), rtol=1e-4)


def test_the_python_export_applies_exp(log_run, tmp_path):
    regressor, _ = log_run
    path = export_python(regressor.model_, tmp_path / "growth_model.py")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.Y_LOG is True
    x = np.linspace(0.1, 9.9, 40)
    np.testing.assert_allclose(module.predict(x), regressor.predict(x), rtol=1e-5)
    shown = subprocess.run(
        [sys.executable, str(path), "5"], capture_output=True, text=True, check=True
    )
    assert math.isclose(float(shown.stdout), float(regressor.predict([5.0])[0]), rel_tol=1e-5)


def test_the_formula_export_refuses_a_log_model():
    model = MLP(1, (4,), 1, activation="relu", seed=0, y_transform="log")
    with pytest.raises(UsageError, match=r"this one has log\(y\) fitted .*--y-transform none"):
        relu_formula(model)


def test_the_onnx_export_applies_exp(log_run, tmp_path):
    import onnxruntime as ort

    from nnfit.export import export_onnx

    regressor, _ = log_run
    path = export_onnx(regressor.model_, tmp_path / "growth.onnx")  # checked against torch
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.linspace(0.1, 9.9, 40, dtype=np.float32)[:, None]
    (y,) = session.run(["y"], {"x": x})
    np.testing.assert_allclose(y[:, 0], regressor.predict(x[:, 0]), rtol=1e-5)


# From the command line


def test_fit_y_transform_log_on_values_not_above_zero_exits_2_with_one_line(tmp_path, capsys):
    from nnfit.cli import main

    data = tmp_path / "flat.csv"
    data.write_text("t,y\n" + "".join(f"{t},{t - 3}\n" for t in range(10)))
    out_dir = tmp_path / "run"
    code = main(["fit", str(data), "--no-window", "--steps", "20", "--y-transform", "log",
                 "--out", str(out_dir)])  # fmt: skip
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1
    assert "--y-transform needs every y above 0 for log (row 1 has -3" in err
    assert not out_dir.exists()


def test_fit_growth_data_fits_log_by_default_and_show_says_so(tmp_path, capsys):
    from nnfit.cli import main

    x, y = growth()
    data = tmp_path / "growth.csv"
    data.write_text("t,count\n" + "".join(f"{a},{b}\n" for a, b in zip(x, y, strict=True)))
    out_dir = tmp_path / "run"
    code = main(["fit", str(data), "--no-window", "-q", "--steps", "40", "--out", str(out_dir)])
    assert code == 0
    assert json.loads((out_dir / "run.json").read_text())["model"]["y_transform"] == "log"
    capsys.readouterr()
    assert main(["show", str(out_dir)]) == 0
    assert "fitting log(y)" in capsys.readouterr().out

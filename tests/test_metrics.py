import numpy as np
import pytest

from nnfit.core.metrics import format_metrics, regression_metrics


def test_metrics_against_their_definitions():
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    y_pred = y + rng.normal(scale=0.3, size=50)
    metrics = regression_metrics(y, y_pred)
    assert metrics["rmse"] == pytest.approx(np.sqrt(np.mean((y - y_pred) ** 2)))
    assert metrics["mae"] == pytest.approx(np.mean(np.abs(y - y_pred)))
    r2 = 1 - np.sum((y - y_pred) ** 2) / np.sum((y - y.mean()) ** 2)
    assert metrics["r2"] == pytest.approx(r2)


def test_perfect_and_constant_cases():
    y = np.array([1.0, 2.0, 3.0])
    assert regression_metrics(y, y) == {"rmse": 0.0, "mae": 0.0, "r2": 1.0}
    assert np.isnan(regression_metrics(np.ones(3), np.ones(3))["r2"])


def test_several_outputs_average_r2_per_output():
    y = np.stack([np.arange(5.0), 100 * np.arange(5.0)], axis=1)
    y_pred = y.copy()
    y_pred[:, 0] += 1.0
    r2 = regression_metrics(y, y_pred)["r2"]
    assert r2 == pytest.approx((1 - 5 / 10 + 1.0) / 2)


def test_table_has_a_row_per_set():
    text = format_metrics(
        {"train": {"rmse": 1, "mae": 2, "r2": 0.5}, "val": {"rmse": 3, "mae": 4, "r2": 0.25}}
    )
    lines = text.splitlines()
    assert lines[0].split() == ["RMSE", "MAE", "R²"]
    assert lines[1].split()[0] == "train" and lines[2].split()[0] == "val"


def test_a_known_unit_is_named_under_the_errors():
    metrics = {"train": {"rmse": 1, "mae": 2, "r2": 0.5}}
    lines = format_metrics(metrics, "mm Hg").splitlines()
    assert lines[1].split() == ["(mm", "Hg)", "(mm", "Hg)"] and lines[2].split()[0] == "train"
    assert len(format_metrics(metrics).splitlines()) == 2  # unknown: no line for it

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


def test_member_rows_give_each_members_held_out_rmse_and_stopping_step():
    from nnfit.core.metrics import member_rows

    squares, counts = np.array([8.0, 27.0, 0.0]), np.array([2, 3, 0])
    rows = member_rows(3, (squares, counts), 90, {1: 40})
    assert [r["rmse"] for r in rows] == [2.0, 3.0, None]  # sqrt(8 / 2), sqrt(27 / 3), no rows
    assert [r["rows"] for r in rows] == [2, 3, 0]
    assert [r["stopped"] for r in rows] == [90, 40, 90]  # member 1 froze where it diverged
    assert [r["diverged_at"] for r in rows] == [None, 40, None]
    unheld = member_rows(2, None, 90, {})
    assert [(r["rmse"], r["rows"]) for r in unheld] == [(None, None), (None, None)]


def test_member_table_flags_a_diverged_member_and_names_the_unit():
    from nnfit.core.metrics import format_members, member_rows

    rows = member_rows(2, (np.array([4.0, 1.0]), np.array([1, 1])), 90, {1: 40})
    lines = format_members(rows, "mm Hg").splitlines()
    assert "(mm Hg)" in lines[0]
    assert lines[1].split() == ["0", "2", "1", "90"]
    assert lines[2].split()[:4] == ["1", "1", "1", "40"] and "diverged at step 40" in lines[2]


def test_member_table_lists_the_first_forty_members():
    from nnfit.core.metrics import MEMBER_ROWS_SHOWN, format_members, member_rows

    rows = member_rows(45, None, 10, {})
    lines = format_members(rows).splitlines()
    assert len(lines) == 1 + MEMBER_ROWS_SHOWN + 1 and "5 more" in lines[-1]

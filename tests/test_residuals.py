"""What the residuals still say: a cycle the fit misses, a changing spread, outliers."""

import numpy as np
import pytest

from nnfit.core.diagnostics import verdict
from nnfit.core.residuals import MAX_ROWS, MIN_ROWS, OUTLIER, SPREAD, residual_notes
from nnfit.regressor import Regressor

RNG = np.random.default_rng(0)
X = np.linspace(0, 30, 360)


def test_a_missed_cycle_is_found_with_its_period_in_x_units():
    y = 0.5 * X + np.sin(2 * np.pi * X / 1.5) + 0.1 * RNG.standard_normal(len(X))
    (note,) = residual_notes(X, y, 0.5 * X, "time")  # a fit that missed the cycle
    assert "period of about 1.5 in time" in note and "--hidden" in note


def test_clean_noise_says_nothing():
    y = 0.5 * X + 0.1 * RNG.standard_normal(len(X))
    assert residual_notes(X, y, 0.5 * X) == []


def test_a_spread_that_grows_across_x_is_named():
    noise = RNG.standard_normal(len(X)) * np.linspace(0.1, 0.1 * 3 * SPREAD, len(X))
    notes = residual_notes(X, X + noise, X, "income")
    assert any("spread grows" in n and "across income" in n for n in notes)


def test_outliers_are_counted_and_located():
    y = X + 0.1 * RNG.standard_normal(len(X))
    y[100] += 10 * OUTLIER
    notes = residual_notes(X, y, X)
    assert any(n.startswith("1 row(s) lie far") and f"x = {X[100]:.4g}" in n for n in notes)


def test_too_few_rows_say_nothing():
    x = np.arange(MIN_ROWS - 1.0)
    assert residual_notes(x, np.sin(x), np.zeros_like(x)) == []


@pytest.mark.parametrize("forged", ["text", [1, 2], None])
def test_the_fit_verdict_carries_the_notes_and_ignores_forged_ones(forged):
    y = np.sin(2 * np.pi * X / 1.5) + 0.05 * RNG.standard_normal(len(X))
    model = Regressor(hidden=(4,), steps=60, every=20, members=1).fit(X, y, x_names=["time"])
    notes = model.history_.settings["residuals"]
    assert notes and all(note in model.diagnosis_.message for note in notes)
    model.history_.settings["residuals"] = forged
    assert not any(note in verdict(model.history_).message for note in notes)


# Several inputs and outputs


def two_inputs(n=400, seed=1):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 10, n), rng.uniform(0, 20, n), rng


def test_a_cycle_along_the_second_input_is_named_by_that_input():
    a, b, rng = two_inputs()
    y = a + np.sin(2 * np.pi * b / 2.5) + 0.1 * rng.standard_normal(len(a))
    notes = residual_notes(np.c_[a, b], y, a, ["load", "hour"])  # the fit missed the cycle
    assert len(notes) == 1 and "period of about 2.5 in hour" in notes[0]


def test_a_spread_growing_with_the_fitted_values_is_named_with_several_inputs():
    a, b, rng = two_inputs()
    fit = a + b
    y = fit + rng.standard_normal(len(a)) * 0.05 * fit**1.5
    notes = residual_notes(np.c_[a, b], y, fit, ["a", "b"])
    assert any("spread grows" in n and "across the fitted values" in n for n in notes)


def test_outliers_with_several_inputs_are_located_by_row():
    a, b, rng = two_inputs()
    y = a - b + 0.1 * rng.standard_normal(len(a))
    y[[7, 250]] += 10 * OUTLIER
    notes = residual_notes(np.c_[a, b], y, a - b, ["a", "b"])
    assert any(n.startswith("2 row(s) lie far") and "rows 8, 251)" in n for n in notes)


def test_each_output_is_named_in_its_sentences():
    y = np.c_[X + 0.1 * RNG.standard_normal(len(X)), X + 0.1 * RNG.standard_normal(len(X))]
    y[100, 1] += 10 * OUTLIER
    notes = residual_notes(X, y, np.c_[X, X], "time", ["north", "south"])
    assert len(notes) == 1 and notes[0].startswith("south: 1 row(s) lie far")


def test_more_rows_than_the_sample_still_show_the_cycle():
    x = np.linspace(0, 100, MAX_ROWS + 5000)
    y = np.sin(2 * np.pi * x / 4) + 0.2 * np.random.default_rng(3).standard_normal(len(x))
    (note,) = residual_notes(x, y, np.zeros_like(x), "day")
    assert "period of about 4 in day" in note


def test_a_fit_of_two_inputs_carries_residual_notes_into_the_verdict():
    a, b, rng = two_inputs(n=300)
    y = a + np.sin(2 * np.pi * b / 4) + 0.05 * rng.standard_normal(len(a))
    model = Regressor(hidden=(2,), steps=300, every=50, members=1).fit(
        np.c_[a, b], y, x_names=["a", "hour"]
    )
    notes = model.history_.settings["residuals"]
    assert any("in hour" in note for note in notes)
    assert all(note in model.diagnosis_.message for note in notes)


def test_outliers_of_a_sample_are_named_by_the_datas_rows():
    a, b, rng = two_inputs()
    y = a - b + 0.1 * rng.standard_normal(len(a))
    y[[7, 250]] += 10 * OUTLIER
    sample = 1000 + 2 * np.arange(len(a))  # a caller's sample: every other row of a bigger set
    notes = residual_notes(np.c_[a, b], y, a - b, ["a", "b"], rows=sample)
    assert any("rows 1015, 1501)" in n for n in notes)  # 0-based 7 and 250 → data rows 1015, 1501

"""What the residuals still say: a cycle the fit misses, a changing spread, outliers."""

import numpy as np
import pytest

from nnfit.core.diagnostics import verdict
from nnfit.core.residuals import MIN_ROWS, OUTLIER, SPREAD, residual_notes
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
    noise = RNG.standard_normal(len(X)) * np.linspace(0.1, 0.1 * (SPREAD + 2), len(X))
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

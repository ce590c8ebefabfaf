"""A run for the page as plain data: numbers JSON can carry, and a finished run's summary
(why it stopped, RMSE and R² in the data's units, the diagnosis as data the page words in its
own language). Torch-free: it reads what the regressor already computed."""

from __future__ import annotations

import math
from typing import Any


def finite(value: float | None) -> float | None:
    """A number JSON can carry: None for None, nan and inf."""
    return None if value is None or not math.isfinite(value) else float(value)


def summary(regressor: Any) -> dict[str, Any]:
    """A finished run for the page: why it stopped, RMSE and R², and the diagnosis as data
    (its kind, the numbers its sentence quotes, the hints) for the page to word in its language."""
    from ..core.diagnostics import dead_fraction

    history = regressor.history_
    diagnosis = regressor.diagnosis_
    dead, units = dead_fraction(history)
    metrics = {
        name: {key: finite(value) for key, value in row.items()}
        for name, row in (regressor.metrics_ or {}).items()
    }
    return {
        "stop_reason": history.stop_reason,
        "metrics": metrics,
        "diagnosis": {
            "kind": diagnosis.kind,
            "message": diagnosis.message,
            "hints": [
                {"field": h.field, "change": h.change, "value": h.value, "unit": h.unit}
                for h in diagnosis.hints
            ],
            "loss": finite(history.final.loss),
            "floor": finite(history.noise_floor),
            "step": history.final.step,
            "dead": dead,
            "units": units,
            "diverged_at": history.diverged_at,
            "best_step": history.best_step,
        },
    }

"""The target transform: fit log(y) instead of y when y grows or decays over orders of
magnitude (torch-free: the settings table reads it).

Exponential growth is hard for tanh units: they flatten beyond the data, and in standardised
units the small values all look like zero. log(y) turns such a curve into a gentle one that a
small network fits and extrapolates well (bench/README.md: pressure's cross-validated RMSE
28.5 → 0.91 mm Hg, the Gaussian process's 0.98). On measurements with additive noise it costs a
little (cars, us_population and halley, which span 1.7 to 1.9 decades, lost 1%, 1% and 24%),
so "auto" takes the log only when the values span DECADES decades or more.
"""

from __future__ import annotations

from typing import Any

from ..checks import FieldError

Y_TRANSFORMS = {
    "none": "fit y as it is",
    "log": "fit log(y): every y must be above 0",
    "auto": "log when every y is above 0 and they span two decades or more, else none",
}
DECADES = 2.0  # auto takes the log when max(y) / min(y) >= 10**DECADES


def auto_y_transform(choice: str, y: Any) -> str:
    """The transform a model trains with for targets y: "none" or "log".

    "auto" picks log for positive y spanning DECADES decades or more; an explicit "log" on
    y that is not all above 0 is refused (FieldError naming the first such value).
    """
    import numpy as np  # (the settings table reads this module: --help loads no numpy)

    if choice == "none":
        return "none"
    values = np.asarray(y, dtype=np.float64)
    if choice == "log":
        rows = values.reshape(len(values), -1)
        bad = np.flatnonzero(~(rows > 0).all(axis=1))  # NaN is not above 0 either
        if len(bad):
            value = rows[bad[0]][~(rows[bad[0]] > 0)][0]
            raise FieldError(
                "y_transform",
                f"needs every y above 0 for log (row {bad[0] + 1} has {value:g}; use none or auto)",
                choice,
                code="log",
                params={"row": int(bad[0]) + 1, "y": f"{value:g}"},
            )
        return "log"
    if choice != "auto":
        choices = ", ".join(Y_TRANSFORMS)
        raise FieldError(
            "y_transform",
            f"must be one of {choices}",
            choice,
            code="choice",
            params={"choices": choices},
        )
    if values.size == 0 or not (values > 0).all() or not np.isfinite(values).all():
        return "none"
    spans = np.log10(values.max(axis=0)) - np.log10(values.min(axis=0))
    return "log" if float(np.min(spans)) >= DECADES else "none"

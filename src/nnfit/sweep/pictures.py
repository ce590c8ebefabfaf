"""A sweep's pictures: the fits of the best settings side by side, ranked, and the score
against each swept setting (matplotlib, loaded when drawn; no window: files only)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .results import shown_value

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .objective import SweepData
    from .results import SettingResult

PANELS = 12  # fits drawn, best first
COLUMNS = 4


def draw_fits(
    results: Sequence[SettingResult], data: SweepData, names: Sequence[str], path: Path
) -> Path:
    """Small multiples: the data and each of the best PANELS settings' fits (every seed thin,
    its best seed bold), ranked, titled with the setting and its CV RMSE. One input: the
    fit as a line over x; several: predicted against actual on a sample of rows."""
    shown = list(results[:PANELS])
    rows = max(1, math.ceil(len(shown) / COLUMNS))
    columns = min(COLUMNS, max(1, len(shown)))
    figure = _figure(3.2 * columns, 2.6 * rows)
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
    one_input = data.x.shape[1] == 1
    for panel, ax in enumerate(axes.flat):
        if panel >= len(shown):
            ax.set_visible(False)
            continue
        result = shown[panel]
        if one_input:
            ax.scatter(data.x[:, 0], data.y[:, 0], s=6, color="0.6", linewidths=0)
            for seed, fit in enumerate(result.y_grid):
                bold = seed == result.best_seed
                ax.plot(
                    data.x_grid[:, 0],
                    fit[:, 0],
                    color="tab:red" if bold else "tab:blue",
                    lw=1.6 if bold else 0.6,
                    alpha=1.0 if bold else 0.5,
                    zorder=3 if bold else 2,
                )
        else:
            actual = data.y[data.grid_rows, 0]
            ax.scatter(actual, result.y_grid[result.best_seed][:, 0], s=5, color="tab:red")
            low, high = float(actual.min()), float(actual.max())
            ax.plot([low, high], [low, high], color="0.5", lw=0.8)
        setting = ", ".join(f"{name} {shown_value(result.values[name])}" for name in names)
        ax.set_title(
            f"#{panel + 1} {setting}\nCV RMSE {result.mean:.4g} ± {result.sd:.2g}", fontsize=8
        )
        ax.tick_params(labelsize=7)
    x_label = data.x_names[0] if one_input else f"{data.y_names[0]} (actual)"
    figure.supxlabel(x_label, fontsize=9)
    figure.supylabel(data.y_names[0] if one_input else f"{data.y_names[0]} (predicted)", fontsize=9)
    figure.savefig(path, dpi=100)
    return path


def draw_scores(
    results: Sequence[SettingResult], names: Sequence[str], path: Path, unit: str = ""
) -> Path:
    """The CV RMSE (mean ± sd over seeds) of every setting against each swept setting, one
    panel per setting; the best score at each value is joined by a line."""
    figure = _figure(3.6 * max(1, len(names)), 3.2)
    axes = figure.subplots(1, max(1, len(names)), squeeze=False, sharey=True)[0]
    finite = [r for r in results if not math.isnan(r.mean)]
    for ax, name in zip(axes, names, strict=False):
        values = _ordered({_key(r.values[name]) for r in finite}, finite, name)
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        position = {v: (v if numeric else i) for i, v in enumerate(values)}
        xs = np.array([position[_key(r.values[name])] for r in finite], dtype=np.float64)
        ys = np.array([r.mean for r in finite])
        sds = np.array([r.sd for r in finite])
        ax.errorbar(xs, ys, yerr=sds, fmt="o", ms=3, color="tab:blue", alpha=0.6, elinewidth=0.6)
        best = [min(r.mean for r in finite if _key(r.values[name]) == v) for v in values]
        ax.plot([position[v] for v in values], best, color="tab:red", lw=1.2)
        if numeric and min(values) > 0 and max(values) / min(values) >= 10:
            ax.set_xscale("log")
        if numeric and len(values) <= 8:  # each value tried, labelled as typed
            ax.minorticks_off()
            ax.set_xticks(values, [_label(v) for v in values], fontsize=7)
        if not numeric:
            ax.set_xticks(range(len(values)), [_label(v) for v in values], rotation=30, fontsize=7)
        ax.set_xlabel(name)
    means = [r.mean for r in finite]
    if means and min(means) > 0 and max(means) / min(means) >= 20:  # a few failures would
        axes[0].set_yscale("log", nonpositive="clip")  # flatten the rest on a linear axis
    axes[0].set_ylabel(f"CV RMSE{f' ({unit})' if unit else ''}")
    figure.savefig(path, dpi=100)
    return path


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure  # no pyplot: no window, no backend to choose

    return Figure(figsize=(width, height), layout="constrained")


def _key(value: Any) -> Any:
    """A value as a dictionary key and sort key: widths and None as text."""
    if isinstance(value, tuple):
        return "-".join(map(str, value))
    return "none" if value is None else value


def _ordered(keys: set[Any], results: Sequence[SettingResult], name: str) -> list[Any]:
    """The values in the order the sweep tried them."""
    seen: list[Any] = []
    for result in sorted(results, key=lambda r: r.index):
        key = _key(result.values[name])
        if key in keys and key not in seen:
            seen.append(key)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in seen):
        seen.sort()
    return seen


def _label(value: Any) -> str:
    return value if isinstance(value, str) else shown_value(value)

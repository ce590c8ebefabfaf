"""Fit panels: how one output of the fit is drawn (line, heatmap, or fit against data).

Each panel makes its artists once and appends the moving ones to the figure's ``animated`` list;
``update`` only moves a snapshot's predictions into them. An ensemble's line panel also shows
the members' spread as a band of ±2 standard deviations around the mean, and the members' own
fits as thin lines when the snapshots carry them; a heatmap or a fit-against-data panel shows
the mean only (a band has no room on a heatmap's colours or on dots).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize

if TYPE_CHECKING:
    from ..core.history import History, Snapshot

# Moving artists stack above the spines and ticks (2.5), as blitting draws them over the
# background, so a full drawing (savefig) stacks them the same way.
ON_TOP = 3.0
BAND_SD = 2.0  # an ensemble's band reaches this many standard deviations either side
RACE_COLOURS = 10  # a race's variants each take one of matplotlib's 10 distinct colours
RACE_DATA = "0.6"  # a race's data dots: grey, leaving the colours to the variants


def variant_colour(index: int) -> str:
    """A race's colour for variant ``index``: C0, C1, ... (tab10)."""
    return f"C{index % RACE_COLOURS}"


def plain(name: str) -> str:
    """A column name drawn as written: a ``$`` would start matplotlib's math text (and a name
    like ``a$\\frac{$`` would fail to draw), so it is escaped."""
    return str(name).replace("$", r"\$")


class _Panel:
    """A fit panel for output k; ``has_ylim`` when its y axis shows y values that can grow."""

    has_ylim = True

    def __init__(self, ax: Any, history: History, k: int) -> None:
        self.ax, self.k = ax, k
        y = history.y[:, k]
        if history.y_val is not None:
            y = np.concatenate([y, history.y_val[:, k]])
        self.y_lo, self.y_hi = float(np.min(y)), float(np.max(y))
        self.dot_size = 16.0 if len(history.y) <= 1000 else 4.0

    def data_range(self) -> tuple[float, float]:
        """Range of the data's y values."""
        return self.y_lo, self.y_hi

    def fit_range(self, snapshot: Snapshot) -> tuple[float, float]:
        """Range of what the panel shows of ``snapshot`` and the data, reaching at most one
        data range beyond the data."""
        shown = self.shown(snapshot)
        shown = shown[np.isfinite(shown)]
        if shown.size == 0:
            return self.y_lo, self.y_hi
        span = self.y_hi - self.y_lo or 1.0
        lo = max(float(shown.min()), self.y_lo - span)
        hi = min(float(shown.max()), self.y_hi + span)
        return min(lo, self.y_lo), max(hi, self.y_hi)

    def shown(self, snapshot: Snapshot) -> np.ndarray:
        """The y values the panel draws of ``snapshot``: here its predictions, (n_grid,)."""
        return snapshot.y_pred[:, self.k]

    def update(self, snapshot: Snapshot) -> None:
        """Show the snapshot's predictions for this panel's output."""
        raise NotImplementedError

    def rmse(self, y_pred: np.ndarray) -> float:
        """RMSE of the drawn fit against the drawn dots, in y's units."""
        raise NotImplementedError


class LinePanel(_Panel):
    """One input: the data as dots and the fit as the lesson's thick red line.

    Measurements (``measured``: no known noise floor) get a thinner line under the dots, so the
    data stays visible where the fit runs through it; the dots are then redrawn over the line on
    every frame.
    """

    def __init__(
        self, ax: Any, history: History, k: int, animated: list[Any], *, measured: bool = False
    ) -> None:
        super().__init__(ax, history, k)
        x = history.x[:, 0]
        self.x, self.y = x, history.y[:, k]
        race = bool(history.variants)  # the variants take the colours; the data goes grey
        dots = ax.scatter(
            x,
            history.y[:, k],
            s=self.dot_size,
            color=RACE_DATA if race else "C0",
            label="data",
            zorder=ON_TOP + 0.5 if measured else None,
            animated=measured,
        )
        if measured:
            animated.append(dots)
        if history.x_val is not None and history.y_val is not None:
            ax.scatter(
                history.x_val[:, 0],
                history.y_val[:, k],
                s=self.dot_size,
                facecolors="none",
                edgecolors=RACE_DATA if race else "C1",
                label="validation",
            )
        self.order = np.argsort(history.x_grid[:, 0], kind="stable")  # a line needs sorted x
        x_grid = history.x_grid[self.order, 0]
        self.x_grid = x_grid
        self.band = self.member_lines = None
        if history.members > 1:  # an ensemble: its spread under the mean, made once
            self.band = ax.fill_between(
                x_grid, 0, 0, color="red", alpha=0.2, lw=0, zorder=ON_TOP - 0.2, animated=True
            )
            self.member_lines = LineCollection(
                [], colors="0.35", linewidths=0.6, alpha=0.6, zorder=ON_TOP - 0.1, animated=True
            )
            ax.add_collection(self.member_lines, autolim=False)
            animated += [self.band, self.member_lines]
            ax.text(  # says what the band is; static, so drawn once into the background
                0.02,
                0.02,
                f"band: ±{BAND_SD:g} sd of {history.members} members",
                transform=ax.transAxes,
                fontsize=8,
                color="0.35",
            )
        self.variant_lines = [  # a race: one line per variant, named in the legend
            ax.plot(
                x_grid,
                np.zeros_like(x_grid),
                color=variant_colour(v),
                lw=2.5,
                label=name,
                zorder=ON_TOP,
                animated=True,
            )[0]
            for v, name in enumerate(history.variants)
        ]
        animated += self.variant_lines
        (self.line,) = ax.plot(
            x_grid,
            np.zeros_like(x_grid),
            "r-",
            lw=2 if measured else 5,
            zorder=ON_TOP,
            visible=not race,
            animated=True,
        )
        animated.append(self.line)
        if race:
            ax.legend(loc="best", fontsize=9, framealpha=0.8)
        ax.set_xlim(*pad(min(x.min(), x_grid.min()), max(x.max(), x_grid.max()), 0.03))
        ax.set_xlabel(plain(history.x_names[0]))
        ax.set_ylabel(plain(history.y_names[k]))

    def shown(self, snapshot: Snapshot) -> np.ndarray:
        """The line, and for an ensemble its band and member lines (a race: its variants'
        lines): their y values, flat."""
        parts = [snapshot.y_pred[:, self.k]]
        if self.variant_lines and snapshot.y_members is not None:
            parts.append(snapshot.y_members[:, :, self.k].ravel())
        if self.band is not None and snapshot.y_std is not None:
            low, high = band(snapshot, self.k)
            parts += [low, high]
        if self.member_lines is not None and snapshot.y_members is not None:
            parts.append(snapshot.y_members[:, :, self.k].ravel())
        return np.concatenate(parts)

    def update(self, snapshot: Snapshot) -> None:
        self.line.set_ydata(snapshot.y_pred[self.order, self.k])
        if self.variant_lines and snapshot.y_members is not None:
            for line, fit in zip(self.variant_lines, snapshot.y_members, strict=True):
                line.set_ydata(fit[self.order, self.k])
        if self.band is not None:
            low, high = band(snapshot, self.k)
            ok = snapshot.y_std is not None and bool(
                np.isfinite(low).all() & np.isfinite(high).all()
            )
            self.band.set_visible(ok)
            if ok:  # one polygon: along the lower edge, back along the upper one
                x = self.x_grid
                edge = np.concatenate([low[self.order], high[self.order][::-1]])
                self.band.set_verts([np.column_stack([np.concatenate([x, x[::-1]]), edge])])
        if self.member_lines is not None:
            members = (
                () if snapshot.y_members is None else snapshot.y_members[:, self.order, self.k]
            )
            self.member_lines.set_segments([np.column_stack([self.x_grid, m]) for m in members])

    def rmse(self, y_pred: np.ndarray) -> float:
        """RMSE of the drawn line against the drawn dots, in y's units (the line read at each
        dot's x)."""
        fit = np.interp(self.x, self.x_grid, y_pred[self.order])
        return float(np.sqrt(np.mean((fit - self.y) ** 2)))


class MapPanel(_Panel):
    """Two inputs: the fit as a heatmap over the grid, the data as dots in the same colours."""

    has_ylim = False

    def __init__(self, ax: Any, history: History, k: int, animated: list[Any]) -> None:
        super().__init__(ax, history, k)
        self.shape = mesh_shape(history.x_grid)  # (n_x2, n_x1): rows follow the 2nd input
        assert self.shape is not None
        a = history.x_grid[: self.shape[1], 0]  # the 1st input's grid values
        b = history.x_grid[:: self.shape[1], 1]  # the 2nd input's grid values
        da, db = _step(a), _step(b)
        norm = Normalize(self.y_lo, self.y_hi if self.y_hi > self.y_lo else self.y_lo + 1)
        self.image = ax.imshow(
            np.zeros(self.shape),
            origin="lower",
            extent=(a[0] - da / 2, a[-1] + da / 2, b[0] - db / 2, b[-1] + db / 2),
            aspect="auto",
            cmap="viridis",
            norm=norm,
            interpolation="bilinear",
            zorder=ON_TOP,
            animated=True,
        )
        # the dots lie on the heatmap, so they are drawn after it on every frame
        dots = ax.scatter(
            history.x[:, 0],
            history.x[:, 1],
            c=history.y[:, k],
            cmap="viridis",
            norm=norm,
            s=self.dot_size,
            edgecolors="white",
            linewidths=0.6,
            zorder=ON_TOP + 0.1,
            animated=True,
        )
        animated += [self.image, dots]
        self.data_x, self.y = history.x, history.y[:, k]
        if history.x_val is not None and history.y_val is not None:  # hollow, a second colour
            held = ax.scatter(
                history.x_val[:, 0],
                history.x_val[:, 1],
                s=self.dot_size,
                facecolors="none",
                edgecolors="C1",
                linewidths=1.2,
                label="validation",
                zorder=ON_TOP + 0.2,
                animated=True,
            )
            animated.append(held)
        self.grid_a, self.grid_b = a, b
        self.ax.figure.colorbar(self.image, ax=ax, label=plain(history.y_names[k]))
        ax.set_xlabel(plain(history.x_names[0]))
        ax.set_ylabel(plain(history.x_names[1]))

    def update(self, snapshot: Snapshot) -> None:
        self.image.set_data(snapshot.y_pred[:, self.k].reshape(self.shape))  # (n_x2, n_x1)

    def rmse(self, y_pred: np.ndarray) -> float:
        """RMSE of the drawn heatmap, read bilinearly at each dot, against the dots."""
        fit = bilinear(y_pred.reshape(self.shape), self.grid_a, self.grid_b, self.data_x)
        return float(np.sqrt(np.mean((fit - self.y) ** 2)))


class ParityPanel(_Panel):
    """Three or more inputs: each prediction against its data value, with the line y = x."""

    def __init__(self, ax: Any, history: History, k: int, animated: list[Any]) -> None:
        super().__init__(ax, history, k)
        self.y = history.y[:, k]
        lo, hi = pad(self.y_lo, self.y_hi, 0.03)
        ax.plot([lo, hi], [lo, hi], color="0.4", ls="--", lw=1)  # where fit = data
        self.dots = ax.scatter(
            self.y,
            self.y,
            s=self.dot_size,
            color="red",
            alpha=0.6,
            zorder=ON_TOP,
            animated=True,
        )
        animated.append(self.dots)
        ax.set_xlim(lo, hi)
        ax.set_xlabel(f"{plain(history.y_names[k])} (data)")
        ax.set_ylabel(f"{plain(history.y_names[k])} (fit)")

    def update(self, snapshot: Snapshot) -> None:
        self.dots.set_offsets(np.column_stack([self.y, snapshot.y_pred[:, self.k]]))  # (n, 2)

    def rmse(self, y_pred: np.ndarray) -> float:
        """RMSE of the predictions at the data points (the grid is x) against the data."""
        return float(np.sqrt(np.mean((y_pred - self.y) ** 2)))


def band(snapshot: Snapshot, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The band of output k: the mean ∓ BAND_SD standard deviations of the members, each
    (n_grid,); the mean itself twice when the snapshot has no spread (one network)."""
    y_pred = snapshot.y_pred[:, k]
    if snapshot.y_std is None:
        return y_pred, y_pred
    reach = BAND_SD * snapshot.y_std[:, k]
    return y_pred - reach, y_pred + reach


def bilinear(values: np.ndarray, a: np.ndarray, b: np.ndarray, points: np.ndarray) -> np.ndarray:
    """values (len(b), len(a)) on the even grid a × b, read at points (n, 2) by bilinear
    interpolation (points beyond the grid take its edge)."""
    ia = np.clip((points[:, 0] - a[0]) / (_step(a) or 1.0), 0, len(a) - 1)
    ib = np.clip((points[:, 1] - b[0]) / (_step(b) or 1.0), 0, len(b) - 1)
    a0, b0 = np.minimum(ia.astype(int), len(a) - 2), np.minimum(ib.astype(int), len(b) - 2)
    ta, tb = ia - a0, ib - b0
    low = values[b0, a0] * (1 - ta) + values[b0, a0 + 1] * ta
    high = values[b0 + 1, a0] * (1 - ta) + values[b0 + 1, a0 + 1] * ta
    return low * (1 - tb) + high * tb


def mesh_shape(x_grid: np.ndarray) -> tuple[int, int] | None:
    """(rows, columns) when x_grid (n, 2) is a flattened meshgrid(indexing="xy"), else None."""
    if x_grid.ndim != 2 or x_grid.shape[1] != 2 or len(x_grid) < 4:
        return None
    same_row = x_grid[:, 1] == x_grid[0, 1]
    n_cols = len(x_grid) if same_row.all() else int(np.argmin(same_row))
    n_rows = len(x_grid) // n_cols
    if n_cols < 2 or n_rows < 2 or n_rows * n_cols != len(x_grid):
        return None
    a, b = x_grid[:, 0].reshape(n_rows, n_cols), x_grid[:, 1].reshape(n_rows, n_cols)
    if not (np.all(a == a[:1]) and np.all(b == b[:, :1])):
        return None
    return n_rows, n_cols


def _step(values: np.ndarray) -> float:
    """Spacing of an evenly spaced grid axis."""
    return float(values[-1] - values[0]) / max(1, len(values) - 1)


def pad(lo: float, hi: float, margin: float = 0.08) -> tuple[float, float]:
    """Limits with a margin around [lo, hi]; a single value gets a unit-wide window."""
    span = hi - lo
    if not span > 0:
        return lo - 0.5, hi + 0.5
    return lo - margin * span, hi + margin * span

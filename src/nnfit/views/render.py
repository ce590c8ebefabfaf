"""One figure for every view: the fit on the left, the loss curve on the right, drawn by blitting.

The figure and its artists are made once; ``draw_frame`` only moves data into them, so the live
window, the saved animation and the final picture show the same pixels. The static parts (axes,
ticks, data points) are rendered once into a background; each frame restores it and draws only the
moving artists (the red fit, an ensemble's band, the loss curve, the texts).

Axis limits follow one rule (``_spans`` and ``loss_limits``): a fit panel's y axis covers the
data and everything drawn of every snapshot the figure knows of (an ensemble's band and member
lines included), padded by MARGIN; the loss axis covers every loss. A replay knows the whole run
up front, so its limits never move; a live window knows the run so far, so its limits widen as
frames arrive (with room to spare, GROW and a decade of loss at a time, so that a creeping fit
does not redraw every frame) and on the final snapshot are exactly the replay's: the window's
last frame is the saved animation's last frame and the picture.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter

from ..errors import DataError, UsageError
from ..views.panels import (
    ON_TOP,
    LinePanel,
    MapPanel,
    ParityPanel,
    mesh_shape,
    pad,
    variant_colour,
)

Panel = LinePanel | MapPanel | ParityPanel

if TYPE_CHECKING:
    from PIL import Image

    from ..core.history import History, Snapshot

MAX_PANELS = 4  # fit panels drawn at most (one per output); more would be too small to read
MIN_PX = 100  # smallest frame side in pixels that still holds the axes and texts
MARGIN = 0.08  # free space around the fit, as a fraction of its range
GROW = 0.1  # live, while training: more space when the fit leaves the limits (fewer redraws)
HEADROOM = 5.0  # the loss axis ends this factor above the highest loss: room for the legend


def check_size(size: Any) -> tuple[int, int]:
    """Validate a (width, height) frame size in pixels."""
    ok = (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= MIN_PX for n in size)
    )
    if not ok:
        raise UsageError(
            f"size must be (width, height) in whole pixels, each at least {MIN_PX}, got {size!r}"
        )
    return int(size[0]), int(size[1])


class FitFigure:
    """The lesson's picture, made once and updated per snapshot.

    Args:
        history: the run to draw; with snapshots already in it (a replay) every axis limit is
            fixed from the whole run, otherwise (``live=True``) limits start from the data and
            widen by the same rule, with one full redraw, as frames arrive (see the module's
            docstring).
        size: (width, height) in pixels of a new figure.
        dpi: dots per inch (text sizes are in points, so this scales the text).
        figure: draw on this figure (e.g. a pyplot window) instead of a new headless one.
        live: snapshots will arrive one by one, limits are not known in advance.
        footer: a line of text under the panels (the final picture's diagnosis).

    Example:
        >>> fit = FitFigure(history)                     # doctest: +SKIP
        >>> fit.draw_frame(history.final, note="good fit")  # doctest: +SKIP
        >>> fit.frame_rgb().shape                        # doctest: +SKIP
        (400, 800, 3)
    """

    def __init__(
        self,
        history: History,
        *,
        size: tuple[int, int] = (800, 400),
        dpi: float = 100,
        figure: Figure | None = None,
        live: bool = False,
        footer: str | None = None,
    ) -> None:
        if not (isinstance(dpi, (int, float)) and math.isfinite(dpi) and dpi > 0):
            raise UsageError(f"dpi must be a number above 0, got {dpi!r}")
        if figure is None:
            width, height = check_size(size)
            # a hundredth of a pixel more, so float rounding never loses a pixel row
            figure = Figure(figsize=((width + 0.01) / dpi, (height + 0.01) / dpi), dpi=dpi)
            FigureCanvasAgg(figure)
        self.history, self.figure, self.dpi = history, figure, dpi
        # Agg here; a live window's canvas (TkAgg, QtAgg, ...) subclasses it
        self.canvas = cast(FigureCanvasAgg, figure.canvas)
        self.live = live or not history.snapshots
        self.animated: list[Any] = []  # artists drawn per frame, in drawing order
        self._background: Any = None
        self._drawn = False  # whether draw_frame has filled the moving artists yet
        self._upto: dict[int, int] = {}  # id(snapshot) → loss-curve points up to it
        # steps, losses, validation losses and (a race) each variant's losses (variants,)
        self._curve: tuple[list[int], list[float], list[float], list[np.ndarray]] = (
            [],
            [],
            [],
            [],
        )
        self._scanned = 0  # history.snapshots read into the curve so far
        self._ranged: tuple[list[Snapshot], int, int] = ([], 0, -1)  # live: list, index, step
        # of the history's snapshots read into the fit panels' ranges so far

        # measurements (no known noise floor) are drawn for reading, the lesson as the lesson
        self.measured = history.noise_floor is None
        n_out = history.y.shape[1]
        grid = figure.add_gridspec(1, min(n_out, MAX_PANELS) + 1, **self._layout(footer))
        self.panels = [
            self._make_panel(figure.add_subplot(grid[0, k]), k)
            for k in range(min(n_out, MAX_PANELS))
        ]
        self.loss_ax = figure.add_subplot(grid[0, -1])
        self._make_texts()
        self._make_loss_panel()
        self._fix_limits()
        if footer:
            figure.text(0.5, 0.01, footer, ha="center", va="bottom", fontsize=11, wrap=True)
        self.animated.sort(key=lambda artist: artist.get_zorder())  # as a full draw orders them
        self.canvas.mpl_connect("draw_event", self._on_draw)

    # ----- building (once) -----

    def _make_panel(self, ax: Any, k: int) -> Panel:
        """The fit panel for output k: a line (1 input), a heatmap (2 inputs), or fit vs data."""
        history = self.history
        n_in = history.x.shape[1]
        if n_in == 1:
            return LinePanel(ax, history, k, self.animated, measured=self.measured)
        if n_in == 2 and mesh_shape(history.x_grid) is not None:
            return MapPanel(ax, history, k, self.animated)
        if len(history.x_grid) != len(history.y):
            raise DataError(
                f"cannot draw a fit with {n_in} inputs: the history's x_grid must be its x "
                "(predictions on the data points) or, with 2 inputs, a mesh"
            )
        return ParityPanel(ax, history, k, self.animated)

    def _make_texts(self) -> None:
        """The lesson's red ``Loss=`` text and the final note, on the first fit panel; for
        measurements ``RMSE=`` in y's units and the note above the panel, off the data."""
        ax = self.panels[0].ax
        if self.measured:
            above = {"transform": ax.transAxes, "va": "bottom", "animated": True, "zorder": 5}
            self.loss_text = ax.text(0.0, 1.02, "", ha="left", color="red", fontsize=12, **above)
            self.note_text = ax.text(1.0, 1.02, "", ha="right", fontsize=10, **above)
            self.animated += [self.loss_text, self.note_text]
            return
        panel_px = ax.get_position().width * self.figure.bbox.width
        # the lesson's size 20, smaller when the panel is too narrow for "Loss=0.0123"
        # (11 characters of about 0.6 em each)
        size = min(20.0, 0.95 * panel_px * 72 / (6.6 * self.dpi))
        box = {"facecolor": "white", "alpha": 0.7, "edgecolor": "none"}
        self.loss_text = ax.text(
            0.97,
            0.04,
            "Loss=0.0000",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontdict={"size": size, "color": "red"},
            bbox=box if isinstance(self.panels[0], MapPanel) else None,
            animated=True,
            zorder=5,
        )
        self.note_text = ax.text(
            0.03,
            0.96,
            "",
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=min(13.0, size * 0.7),
            bbox={"boxstyle": "round", "facecolor": "lightyellow", "edgecolor": "0.5"},
            visible=False,
            animated=True,
            zorder=6,
        )
        self.animated += [self.loss_text, self.note_text]

    def _make_loss_panel(self) -> None:
        """Loss against step on a log scale: train, validation, and the noise floor."""
        ax, history = self.loss_ax, self.history
        ax.set_yscale("log")
        # the limits always span over a decade, so powers of ten suffice as labels; few minor
        # ticks, as each costs milliseconds to make on the first drawing
        ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        race = bool(history.variants)
        (self.loss_line,) = ax.plot(
            [],
            [],
            color="C0",
            lw=2,
            marker="o",
            markersize=4,
            markevery=[-1],
            label=None if race else "train",
            zorder=ON_TOP,
            visible=not race,
            animated=True,
        )
        self.animated.append(self.loss_line)
        self.variant_loss_lines = [  # a race: each variant's loss in its fit's colour
            ax.plot([], [], color=variant_colour(v), lw=1.8, zorder=ON_TOP, animated=True)[0]
            for v in range(len(history.variants))
        ]
        self.animated += self.variant_loss_lines
        self.val_line = None
        validated = history.x_val is not None or history.held_out  # (ensembles: cross-validated)
        if validated and not race:  # (a race's snapshots carry its variants' training losses)
            (self.val_line,) = ax.plot(
                [], [], color="C1", lw=2, label="validation", zorder=ON_TOP, animated=True
            )
            self.animated.append(self.val_line)
        floor = history.noise_floor
        if floor is not None and math.isfinite(floor) and floor > 0:
            ax.axhline(floor, color="0.35", ls="--", lw=1.2, label="noise floor")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper right", fontsize=9).set_zorder(ON_TOP - 0.1)  # under the curves
        # y given: matplotlib then skips placing the title around tick labels on each draw
        self.step_text = ax.set_title("step 0 of 0", fontsize=11, y=1.0)
        self.step_text.set_animated(True)
        self.animated.append(self.step_text)
        self._total = _planned_steps(history) if self.live else _last_step(history)

    def _fix_limits(self) -> None:
        """Set every axis limit up front: from the whole run (replay) or from the data (live)."""
        history = self.history
        # the loss axis' y limits are always set by loss_limits' rule, never autoscaled (which
        # warned of a singular range when only the noise floor's line was on it)
        self.loss_ax.set_autoscaley_on(False)
        self.loss_ax.set_xlim(0, self._total)
        snapshots = [] if self.live else history.snapshots
        self._seen = [_spans(panel, snapshots) for panel in self.panels]  # (lo, hi) per panel
        for panel, seen in zip(self.panels, self._seen):
            if panel.has_ylim:
                panel.ax.set_ylim(*pad(*seen, MARGIN))
        limits = loss_limits(history, snapshots)
        self._loss_set = limits is not None and not self.live
        if limits is not None and self._loss_set:
            self.loss_ax.set_ylim(*limits)

    def _layout(self, footer: str | None) -> dict[str, float]:
        """Margins in inches (text is sized in points), as figure fractions for the gridspec.

        Fixed margins instead of ``tight_layout``, which costs a few full draws per figure.
        """
        width, height = self.figure.get_size_inches()
        history = self.history
        maps = history.x.shape[1] == 2 and mesh_shape(history.x_grid) is not None
        n = min(history.y.shape[1], MAX_PANELS) + 1
        left, right, top, bottom = 0.75, 0.2, 0.4, 0.55
        gap = 1.25 if maps else 0.85  # room for the next panel's tick labels (and colorbars)
        if footer:
            chars_per_line = max(1.0, 0.95 * width * 72 / (11 * 0.55))
            bottom += math.ceil(len(footer) / chars_per_line) * 11 * 1.35 / 72 + 0.1
        panel = max(0.1, (width - left - right - gap * (n - 1)) / n)
        return {
            "left": left / width,
            "right": 1 - right / width,
            "top": 1 - top / height,
            "bottom": min(0.6, bottom / height),
            "wspace": gap / panel,
        }

    # ----- per frame -----

    def draw_frame(self, snapshot: Snapshot, note: str | None = None) -> None:
        """Move one snapshot into the artists; no axes are cleared and nothing new is made.

        Args:
            snapshot: the record to show; its loss curve is drawn up to it.
            note: a short text shown in a box (the diagnosis on the final frame), or None.
        """
        for panel in self.panels:
            panel.update(snapshot)
        if self.live:
            self._follow_fit_limits(snapshot)
        first = self.panels[0]
        if self.history.variants:  # a race: the legend and the loss panel say it
            self.loss_text.set_text("")
        elif self.measured:  # the drawn fit against the drawn dots, in y's units
            self.loss_text.set_text(f"RMSE={first.rmse(snapshot.y_pred[:, 0]):.4g}")
        else:
            self.loss_text.set_text(_loss_label(snapshot.loss))
        self.note_text.set_text(note or "")
        self.note_text.set_visible(bool(note))

        n = self._curve_upto(snapshot)
        steps, losses, val_losses, member_losses = self._curve
        self.loss_line.set_data(steps[:n], losses[:n])
        if self.val_line is not None:
            self.val_line.set_data(steps[:n], val_losses[:n])
        if self.variant_loss_lines:
            rows = np.array(member_losses[:n]).reshape(n, len(self.variant_loss_lines))
            for v, line in enumerate(self.variant_loss_lines):  # (n,) each; NaN: not training
                line.set_data(steps[:n], rows[:, v])
        if self.live:
            self._follow_loss_limits(snapshot)
        self.step_text.set_text(f"step {snapshot.step} of {self._total}")
        self._drawn = True

    def blit(self) -> None:
        """Restore the static background (rendering it if needed) and draw the moving artists."""
        if self._background is None:
            self.canvas.draw()  # fires draw_event, which keeps the new background
        if self._background is None:
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self.canvas.restore_region(self._background)
        for artist in self.animated:
            self.figure.draw_artist(artist)
        self.canvas.blit(self.figure.bbox)  # shows it on a GUI canvas; nothing on Agg

    def frame_rgba(self) -> np.ndarray:
        """Blit and return the canvas' pixels (height, width, 4), shared until the next draw."""
        self.blit()
        return np.asarray(self.canvas.buffer_rgba())

    def frame_image(self) -> Image.Image:
        """Blit and return the frame as a new RGB Pillow image."""
        from PIL import Image

        rgba = self.frame_rgba()
        size = (rgba.shape[1], rgba.shape[0])
        return Image.frombuffer("RGBA", size, rgba, "raw", "RGBA", 0, 1).convert("RGB")

    def frame_rgb(self) -> np.ndarray:
        """Blit and return the frame's pixels as a new (height, width, 3) uint8 array."""
        return np.array(self.frame_image())

    def render(self, snapshot: Snapshot, note: str | None = None) -> np.ndarray:
        """``draw_frame`` then ``frame_rgb``: the pixels of one frame, shape (height, width, 3)."""
        self.draw_frame(snapshot, note)
        return self.frame_rgb()

    def savefig(self, path: Any, *, format: str) -> None:
        """Write the figure as drawn by the last ``draw_frame`` (png, svg, pdf, ...)."""
        from ..io.targets import MARK

        # the mark lets a later --overwrite tell nnfit's own picture from someone else's
        key = "Software" if format == "png" else "Creator"
        self.figure.savefig(path, format=format, dpi=self.dpi, metadata={key: MARK})
        self._background = None  # the canvas buffer now holds a full drawing

    # ----- internals -----

    def _on_draw(self, event: Any) -> None:
        """After a full draw (first frame, new limits, window resize): keep the background."""
        if (event is not None and event.canvas is not self.canvas) or self.canvas.is_saving():
            return
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        if self._drawn:  # a window draws before the first frame: show no placeholder data
            for artist in self.animated:
                self.figure.draw_artist(artist)

    def _curve_upto(self, snapshot: Snapshot) -> int:
        """Number of loss-curve points to show for ``snapshot`` (it and those before it)."""
        snapshots = self.history.snapshots
        steps, losses, val_losses, member_losses = self._curve
        if len(snapshots) < self._scanned:  # a long run thinned its history (MAX_FRAMES)
            kept = {id(s) for s in snapshots}
            self._upto = {key: n for key, n in self._upto.items() if key in kept}
            last = steps[-1] if steps else -1
            newer = (i for i, s in enumerate(snapshots) if s.step > last)
            self._scanned = next(newer, len(snapshots))
        for s in snapshots[self._scanned :]:  # history grows while live
            # a final snapshot that went back to earlier weights (early stop) adds no point
            if not steps or s.step > steps[-1]:
                steps.append(s.step)
                losses.append(_finite(s.loss))
                val_losses.append(_finite(s.val_loss))
                member_losses.append(_member_losses(s, len(self.variant_loss_lines)))
            self._upto[id(s)] = len(steps)
        self._scanned = len(snapshots)
        n = self._upto.get(id(snapshot))
        if n is not None:
            return n
        return int(np.searchsorted(steps, snapshot.step, side="right"))

    def _follow_fit_limits(self, snapshot: Snapshot) -> None:
        """Live: widen the fit panels' ranges by the history's snapshots up to this one (all
        of them for the final one) and this one; widen the limits when the range leaves them,
        and set them by the replay's rule on the final one. New limits redraw the background."""
        snapshots, index, last = self._ranged
        if snapshots is not self.history.snapshots:  # the history grew a new list (thinning)
            snapshots = self.history.snapshots
            index = next((i for i, s in enumerate(snapshots) if s.step > last), len(snapshots))
        new = [snapshot]
        while index < len(snapshots) and (snapshot.final or snapshots[index].step <= snapshot.step):
            new.append(snapshots[index])
            last = max(last, snapshots[index].step)
            index += 1
        self._ranged = (snapshots, index, last)
        for k, panel in enumerate(self.panels):
            seen = self._seen[k] = _union(self._seen[k], _spans(panel, new))
            if not panel.has_ylim:
                continue
            lo, hi = panel.ax.get_ylim()
            if snapshot.final:  # exactly a replay's limits
                limits = pad(*seen, MARGIN)
            elif seen[0] < lo or seen[1] > hi:  # room to spare: a creeping fit redraws seldom
                wide = pad(*seen, MARGIN + GROW)
                limits = (wide[0] if seen[0] < lo else lo, wide[1] if seen[1] > hi else hi)
            else:
                continue
            if limits != (lo, hi):
                panel.ax.set_ylim(*limits)
                self._background = None

    def _follow_loss_limits(self, snapshot: Snapshot) -> None:
        """Live: set the loss axis from the first loss, widen it a decade at a time, and on the
        final snapshot set both loss axes exactly as a replay of the run does."""
        if snapshot.final:
            limits = loss_limits(self.history, self.history.snapshots)
            if limits is not None:
                self.loss_ax.set_ylim(*limits)
            self._total = _last_step(self.history)
            self.loss_ax.set_xlim(0, self._total)
            self._loss_set, self._background = True, None
            return
        positive = _positive([snapshot.loss, snapshot.val_loss, *_member_list(snapshot)])
        if not positive:
            return
        lo, hi = min(positive), max(positive)
        if not self._loss_set:
            floor = _positive([self.history.noise_floor])
            self.loss_ax.set_ylim(min([lo, *floor]) / 3, hi * HEADROOM)
            self._loss_set, self._background = True, None
        bottom, top = self.loss_ax.get_ylim()
        if lo < bottom or hi > top:
            self.loss_ax.set_ylim(min(bottom, lo / 10), max(top, hi * 3))
            self._background = None
        if snapshot.step > self.loss_ax.get_xlim()[1]:
            self._total = 2 * snapshot.step
            self.loss_ax.set_xlim(0, self._total)
            self._background = None


def loss_limits(history: History, snapshots: list[Snapshot]) -> tuple[float, float] | None:
    """The rule for the loss axis: every positive loss of ``snapshots`` and the noise floor,
    with room above for the legend; None when there is none."""
    values = [v for s in snapshots for v in (s.loss, s.val_loss, *_member_list(s))]
    positive = _positive([*values, history.noise_floor])
    if not positive:
        return None
    low, high = min(positive), max(positive)
    # room above the curve for the legend: a fifth of the decades shown, at least
    top = high * max(HEADROOM, (high / low) ** 0.2)
    # over a decade shown: log ticks then label only the powers of ten
    return min(low / 1.5, top / 20), top


def _spans(panel: Panel, snapshots: list[Snapshot]) -> tuple[float, float]:
    """The range of the data and what the panel draws of ``snapshots``, unpadded."""
    lo, hi = panel.data_range()
    for snapshot in snapshots:
        lo, hi = _union((lo, hi), panel.fit_range(snapshot))
    return lo, hi


def _planned_steps(history: History) -> int:
    """Steps the run means to take (from its settings), at least the last step seen."""
    planned = history.settings.get("train", {}).get("steps")
    planned = planned if isinstance(planned, int) and not isinstance(planned, bool) else 100
    return max(planned, _last_step(history))


def _last_step(history: History) -> int:
    """Largest step in the history (at least 1, so the axis has a width)."""
    return max([1, *(s.step for s in history.snapshots)])


def _loss_label(loss: float) -> str:
    """The lesson's ``Loss=0.0123``; very small or large losses in scientific notation."""
    return f"Loss={loss:.4f}" if loss == 0 or 1e-3 <= abs(loss) < 1e4 else f"Loss={loss:.3g}"


def _member_list(snapshot: Snapshot) -> list[float]:
    """A race snapshot's variants' losses as a list (none for other snapshots)."""
    return [] if snapshot.member_loss is None else [float(v) for v in snapshot.member_loss]


def _member_losses(snapshot: Snapshot, n: int) -> np.ndarray:
    """The variants' losses of a race snapshot, (n,), non-finite ones NaN (n = 0: none)."""
    if not n or snapshot.member_loss is None:
        return np.full(n, math.nan)
    values = np.asarray(snapshot.member_loss, dtype=np.float64)
    return np.where(np.isfinite(values), values, math.nan)


def _finite(value: float | None) -> float:
    return value if value is not None and math.isfinite(value) else math.nan


def _positive(values: list[float | None]) -> list[float]:
    """The finite values above 0 (the ones a log axis can show)."""
    return [v for v in values if v is not None and math.isfinite(v) and v > 0]


def _union(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    return min(a[0], b[0]), max(a[1], b[1])

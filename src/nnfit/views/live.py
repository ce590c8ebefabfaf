"""A live window that plays the run while it trains, without ever slowing the training down.

Training runs in a background thread and only puts snapshots on a queue; the main thread owns the
window (GUI toolkits want that), pumps its events and draws a queued snapshot every 1/fps seconds
by blitting, like the lesson's ``plt.pause(0.1)`` but never blocking the loop.

Example:
    >>> stop = threading.Event()
    >>> window = LiveWindow(fps=10)
    >>> control = Control(stop=stop)
    >>> history = run_live(
    ...     lambda: train(model, (x, y), callbacks=[window], control=control), window, stop=stop
    ... )  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.callbacks import Callback
from ..errors import UsageError
from ..safetext import printable

if TYPE_CHECKING:
    from ..core.history import History, Snapshot
    from ..views.render import FitFigure

NON_INTERACTIVE = ("agg", "cairo", "pdf", "pgf", "ps", "svg", "template")
TICK_S = 0.01  # how often the main thread looks at the window and the queue
MAX_LAG_S = 5.0  # frames queued beyond this much play time are skipped to catch up
_END = object()  # queued after the final snapshot


def has_display() -> bool:
    """Whether a live window can be shown here.

    False when ``MPLBACKEND`` names a non-interactive backend (Agg, inline, ...); on Linux False
    unless ``DISPLAY`` or ``WAYLAND_DISPLAY`` is set and TkAgg or QtAgg can be imported; True on
    macOS and Windows.

    Example:
        >>> has_display()  # doctest: +SKIP
        False
    """
    backend = os.environ.get("MPLBACKEND", "").strip().lower()
    if backend in NON_INTERACTIVE or backend.startswith("module://"):
        return False
    if sys.platform in ("darwin", "win32"):
        return True
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    return gui_backend() is not None


def gui_backend() -> str | None:
    """An interactive backend that works here: TkAgg or QtAgg, or ``MPLBACKEND``'s if it names one.

    TkAgg and QtAgg count only when their toolkit imports; another named backend (GTK, wx) is
    trusted as given.
    """
    wanted = os.environ.get("MPLBACKEND", "").strip()
    toolkits = {"TkAgg": ("tkinter",), "QtAgg": ("PyQt6", "PySide6", "PyQt5", "PySide2")}
    if wanted and not wanted.lower().startswith(("tk", "qt")):
        return wanted
    for name, modules in toolkits.items():
        if wanted and not wanted.lower().startswith(name[:2].lower()):
            continue
        for module in modules:
            try:
                importlib.import_module(module)
            except ImportError:
                continue
            return wanted or name
    return None


class LiveWindow(Callback):
    """Subscriber that shows the run in a matplotlib window, played by ``run_live``.

    The hooks run in the training thread and only queue snapshots; everything on screen happens in
    the main thread inside ``run_live``. Closing the window early just drops later frames.

    Args:
        fps: frames shown per second (the lesson paused 0.1 s per frame: 10).
        size: (width, height) of the window's figure in pixels.
        backend: matplotlib backend to use; default: the current one if interactive, else
            TkAgg or QtAgg.
        title: the window's title; name the run in it (``nnfit: pressure``).
    """

    def __init__(
        self,
        *,
        fps: float = 10,
        size: tuple[int, int] = (800, 400),
        backend: str | None = None,
        title: str = "nnfit",
    ) -> None:
        from ..views.render import check_size  # matplotlib loads only when a window is wanted

        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0.1 <= fps <= 120:
            raise UsageError(f"fps must be a number between 0.1 and 120, got {fps!r}")
        self.fps, self.size, self.backend = float(fps), check_size(size), backend
        self.title = printable(str(title))[:200]
        self.history: History | None = None
        self.fit: FitFigure | None = None
        self.frames_shown = 0
        self.closed = threading.Event()  # set when the window is closed (by the user or us)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._preview: Any = None  # the figure ``preview`` opened, until ``open`` reuses it

    # ----- training thread -----

    def on_train_begin(self, history: History) -> None:
        self.history = history

    def on_snapshot(self, snapshot: Snapshot) -> None:
        if not self.closed.is_set():
            self._queue.put(snapshot)

    def on_train_end(self, history: History) -> None:
        self._queue.put(_END)

    # ----- main thread -----

    @property
    def figure(self) -> Any:
        """The window's matplotlib figure, once open."""
        return None if self.fit is None else self.fit.figure

    @property
    def is_open(self) -> bool:
        """True from ``open`` until the window is closed."""
        return self.fit is not None and not self.closed.is_set()

    def preview(self, x: Any, y: Any, *, x_name: str = "x", y_name: str = "y") -> None:
        """Open the window early with the data's dots (main thread only), while torch and the
        model still load; ``open`` then draws the run into the same window."""
        import matplotlib.pyplot as plt

        from ..views.panels import plain

        figure = self._make_window()
        ax = figure.add_subplot()
        ax.scatter(x, y, s=12, color="C0", label="data")
        ax.set_xlabel(plain(x_name))
        ax.set_ylabel(plain(y_name))
        ax.set_title("loading the model…")
        self._preview = figure
        plt.show(block=False)
        figure.canvas.draw()
        figure.canvas.flush_events()
        _first_frame_shown()

    def open(self) -> None:
        """Create the window (main thread only) for the history given to ``on_train_begin``."""
        import matplotlib.pyplot as plt

        from ..views.render import FitFigure

        assert self.history is not None
        figure = self._preview
        if figure is not None:  # the preview's window: keep it, draw the run into it
            figure.clear()
            self.fit = FitFigure(self.history, figure=figure, live=True)
            self.pump()
            return
        figure = self._make_window()
        self.fit = FitFigure(self.history, figure=figure, live=True)
        plt.show(block=False)
        self.pump()

    def _make_window(self) -> Any:
        """A new figure in an interactive backend, titled ``title``, that reports being closed."""
        import matplotlib.pyplot as plt

        current = plt.get_backend()
        if current.lower() in NON_INTERACTIVE or current.startswith("module://"):
            name = self.backend or gui_backend()
            if name is None:
                raise UsageError("no window toolkit found: install tkinter or PyQt6, or use --save")
            plt.switch_backend(name)
        elif self.backend and self.backend.lower() != current.lower():
            plt.switch_backend(self.backend)
        width, height = self.size
        figure = plt.figure(figsize=(width / 100, height / 100), dpi=100)
        figure.stale_callback = None  # no automatic full redraws in interactive mode
        figure.canvas.mpl_connect("close_event", lambda event: self.closed.set())
        if figure.canvas.manager is not None:
            figure.canvas.manager.set_window_title(self.title)
        return figure

    def show_frame(self, snapshot: Snapshot) -> None:
        """Draw one snapshot (the final one with the diagnosis) and push it to the screen."""
        assert self.fit is not None
        note = None
        if snapshot.final and self.history is not None:
            from ..views.phrasing import final_note

            note = final_note(self.history)
        self.fit.draw_frame(snapshot, note)
        self.fit.blit()
        if not self.frames_shown:
            self.fit.canvas.flush_events()
            _first_frame_shown()
        self.frames_shown += 1

    def pump(self) -> None:
        """Let the GUI handle its events (redraws, resizes, the close button)."""
        if self.is_open:
            try:
                self.fit.canvas.flush_events()  # type: ignore[union-attr]
            except Exception:  # the toolkit tore the window down under us
                self.closed.set()

    def close(self) -> None:
        """Close the window, if open."""
        if self.is_open or self._preview is not None:
            import matplotlib.pyplot as plt

            plt.close(self.figure or self._preview)
        self.closed.set()

    def play(self, training: threading.Thread) -> None:
        """Show queued snapshots at ``fps`` until the final one is shown or the window closes."""
        period, due = 1 / self.fps, 0.0
        while not self.closed.is_set():
            if self.fit is None and self.history is not None:
                self.open()
            self.pump()
            if self.is_open and time.monotonic() >= due:
                item = self._next()
                if item is _END:
                    return
                if item is not None:
                    self.show_frame(item)
                    due = time.monotonic() + period
            if not training.is_alive() and self._queue.empty():
                return  # training failed (no _END) or never reported to this window
            time.sleep(TICK_S)

    def wait_closed(self) -> None:
        """Keep the window responsive until it is closed (the lesson's ``plt.show()``)."""
        while self.is_open:
            self.pump()
            time.sleep(TICK_S)

    def _next(self) -> Any:
        """The next item to show; skips ahead while more than MAX_LAG_S of frames are queued."""
        try:
            item = self._queue.get_nowait()
            while self._queue.qsize() > self.fps * MAX_LAG_S and not _is_last(item):
                item = self._queue.get_nowait()
        except queue.Empty:
            return None
        return item


def _first_frame_shown() -> None:
    """For bench/bench_first_frame.py: with NNFIT_FIRST_FRAME set, say on stderr when the
    first picture reached the screen (seconds since the epoch) and whether torch had loaded
    by then (once per process)."""
    global _first_frame_said
    if os.environ.get("NNFIT_FIRST_FRAME") and not _first_frame_said:
        _first_frame_said = True
        torch = int("torch" in sys.modules)
        print(f"nnfit-first-frame {time.time():.6f} torch={torch}", file=sys.stderr, flush=True)


_first_frame_said = False


def _is_last(item: Any) -> bool:
    return item is _END or item.final


def run_live(
    train_fn: Callable[[], History],
    window: LiveWindow,
    *,
    stop: threading.Event | None = None,
    wait: bool = True,
) -> History:
    """Train in a background thread while ``window`` plays the snapshots in this (main) thread.

    Args:
        train_fn: runs training and returns its History; ``window`` must be among its callbacks
            (if it is not, the finished run is replayed in the window).
        window: the LiveWindow subscribed to the training.
        stop: the event in the ``Control(stop=...)`` passed to ``train``; Ctrl-C sets it,
            training ends after the current step, and the partly trained History is returned.
            Without it Ctrl-C raises KeyboardInterrupt at once.
        wait: after the last frame keep the window open until it is closed.

    Returns:
        The History returned by ``train_fn``; an exception it raised is raised here.

    Example:
        >>> stop = threading.Event()
        >>> window = LiveWindow()
        >>> control = Control(stop=stop)
        >>> fit = lambda: train(model, (x, y), callbacks=[window], control=control)
        >>> history = run_live(fit, window, stop=stop)  # doctest: +SKIP
    """
    if not has_display() and window.backend is None:
        raise UsageError("no display for a live window here; save the run with --save fit.gif")
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["history"] = train_fn()
        except BaseException as error:  # handed to the main thread
            result["error"] = error

    training = threading.Thread(target=work, name="nnfit-training", daemon=True)
    training.start()
    try:
        window.play(training)
        _join(training)
        if "error" in result:
            window.close()
            raise result["error"]
        history: History = result["history"]
        if window.history is None and not window.closed.is_set():  # not subscribed: replay
            _replay(window, history)
            window.play(training)
        if wait:
            window.wait_closed()
    except KeyboardInterrupt:
        window.close()
        if stop is None:
            raise  # no way to end training cleanly: stop here
        stop.set()
        _join(training)  # a second Ctrl-C here ends it for good
        if "error" in result:
            raise result["error"] from None
        return result["history"]
    except BaseException:
        if stop is not None:
            stop.set()  # e.g. the window could not open: do not leave training running
        raise
    return history


def _join(thread: threading.Thread) -> None:
    """Wait for the thread in short steps, so Ctrl-C still reaches the main thread."""
    while thread.is_alive():
        thread.join(0.05)


def _replay(window: LiveWindow, history: History) -> None:
    """Feed a finished history to a window that was not subscribed to the training."""
    window.on_train_begin(history)
    for snapshot in history.snapshots:
        window.on_snapshot(snapshot)
    window.on_train_end(history)

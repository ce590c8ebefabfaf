"""One playground run: nnfit's own ``Regressor.fit`` in a worker thread, paced for a page.

The worker trains through the same path as ``nnfit fit`` (``load_dataset`` →
``Regressor.from_config`` → ``fit`` with callbacks, the loop of ``nnfit.core.training``); a
``Frames`` callback hands each snapshot to the run (``publish``) and then holds the training
thread: until the next frame is due (at most ``fps`` frames a second, so the lesson's 100 steps
play as an animation instead of finishing in 50 ms), while paused (``step`` lets one frame
through), and not at all once stopped. A run stops itself when no page has watched it for
``grace`` seconds, so a closed tab costs nothing. Nothing here touches the event loop: the
stream (``nnfit.web.stream``) reads ``since`` under the run's lock.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..checks import FieldError
from ..core.callbacks import Callback
from ..errors import NNFitError
from .form import DEFAULT_CAPS, Caps, Refused, check_inputs, frame_every, refusal
from .plane import coarse_mesh, short
from .report import finite, summary

if TYPE_CHECKING:
    from ..core.history import History, Snapshot
    from ..runs.config import RunConfig
    from ..sweep.space import Space

SPEEDS = (0.1, 10.0)  # the slowest and fastest speed: times the server's frame rate
MAX_CURVE = 300  # points of a fit line sent to the page (the grid is thinned to this many)
FIRST_CLIENT = 10.0  # seconds a run waits for its first page before it stops


def thinned(count: int, most: int = MAX_CURVE) -> list[int]:
    """Indices of at most about ``most`` evenly spaced items of ``count``, the last included."""
    stride = max(1, math.ceil(count / most))
    rows = list(range(0, count, stride))
    if count and rows[-1] != count - 1:
        rows.append(count - 1)
    return rows


def check_speed(speed: Any) -> float:
    """A speed from a page: a number from 0.1 to 10, or a FieldError naming ``speed``."""
    low, high = SPEEDS
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not low <= speed <= high:
        rule = f"must be a number from {low:g} to {high:g}"
        raise FieldError("speed", rule, speed, code="range", params={"low": low, "high": high})
    return float(speed)


@dataclass
class Batch:
    """What a stream sends next: the loss points after the one it sent last, the newest fit."""

    seq: int  # frames published so far: the id of the newest
    points: list[list[float | None]]  # [step, loss, val_loss] per frame after ``since``
    step: int
    fit: list[float | None] | None  # the newest fit on ``grid`` (thinned; 2 inputs: a mesh)
    std: list[float | None] | None  # an ensemble's spread there, or None
    state: str
    result: dict[str, Any] | None = None  # once finished: metrics, diagnosis, stop reason
    info: dict[str, Any] = field(default_factory=dict)  # grid, noise floor, every, inputs
    # a race: each lane's newest fit on ``grid`` (thinned); its losses are in ``points`` rows,
    # [step, leader's loss, None, lane 1's loss, lane 2's, ...] (None: that lane has ended)
    fits: list[list[float | None]] | None = None


class PlayRun:
    """A run of one session: start it, pause, step, stop; read its frames with ``since``.

    Args:
        config: the checked settings (``nnfit.web.form.build_run_config``).
        caps: the server's limits (they decide the steps between frames).
        fps: frames a second the worker plays at (the page draws each); ``set_speed`` scales it.
        grace: seconds without a watching page after which the run stops.
        paused: start paused (the first frame, step 0, is shown; ``step`` or ``play`` go on).
        data: the rows to fit, as plain values (``nnfit.web.playdata.run_data``: an upload or
            the chart's edits); None: the points ``config`` makes (``load_dataset``).
        race: race variants of one setting instead, ``{"setting": name, "values": text}``
            (``nnfit.web.racing.check_race``), from the same weights on one step clock.
    """

    def __init__(
        self,
        config: RunConfig,
        *,
        caps: Caps = DEFAULT_CAPS,
        fps: float = 25.0,
        grace: float = 0.5,
        paused: bool = False,
        data: dict[str, Any] | None = None,
        race: dict[str, Any] | None = None,
    ) -> None:
        every = frame_every(config.train.steps, caps)
        self.data = data
        self.config = replace(config, train=replace(config.train, every=every))
        self.space: Space | None = None
        if race is not None:
            from .racing import check_race

            self.space = check_race(race, self.config, caps)
        self.frame_cap = caps.frames
        self.fps, self.base_fps, self.grace = fps, fps, grace
        self.lock = threading.Condition()
        self.stop_event = threading.Event()
        self.paused, self.allowed = paused, 0  # frames a paused run may still play
        self.state = "starting"  # → running / paused → done, stopped or failed
        self.points: list[list[float | None]] = []
        self.step = 0
        self.fit: list[float | None] | None = None
        self.std: list[float | None] | None = None
        self.info: dict[str, Any] = {"every": every}
        self.rows: list[int] = []
        self.plane = False  # two inputs: the fit is a heatmap's colours (see begin_plane)
        self.result: dict[str, Any] | None = None
        self.fits: list[list[float | None]] | None = None
        # what exports draw and save (``export``): the History, its frames so far and, once
        # a single run has ended, its fitted Regressor and data
        self.history: History | None = None
        self.snapshots: list[Snapshot] = []
        self.regressor: Any = None
        self.dataset: Any = None
        self.clients = 0
        self.seen = time.monotonic() + FIRST_CLIENT - grace  # no page yet: wait for one
        # Called (from the training thread, outside the lock) whenever ``since`` would answer
        # something new: a worker process forwards the run's frames to the server with it.
        self.listener: Callable[[], None] | None = None
        self.thread = threading.Thread(target=self._work, name="nnfit-play", daemon=True)

    # -- controls (any thread) --------------------------------------------------------------

    def start(self) -> None:
        """Start training in the worker thread."""
        self.thread.start()

    def pause(self) -> None:
        """Hold the run at its next frame."""
        with self.lock:
            self.paused, self.allowed = True, 0
            self.lock.notify_all()

    def play(self) -> None:
        """Go on from a pause."""
        with self.lock:
            self.paused = False
            self.lock.notify_all()

    def step_once(self) -> None:
        """From a pause: play one more frame (``every`` training steps), then hold again."""
        with self.lock:
            self.paused = True
            self.allowed += 1
            self.lock.notify_all()

    def set_speed(self, speed: float) -> None:
        """Play at ``speed`` times the frame rate the run started with (0.1 to 10; faster than
        a page draws, the stream sends the newest fit and every loss point)."""
        with self.lock:
            self.fps = self.base_fps * check_speed(speed)
            self.lock.notify_all()

    def stop(self, *, wait: float = 0.0) -> None:
        """End training before its next step; wait up to ``wait`` seconds for the thread."""
        self.stop_event.set()
        with self.lock:
            self.lock.notify_all()
        if wait and self.thread.is_alive():
            self.thread.join(wait)

    def close(self) -> None:
        """The server has let the run go (nothing to free: the thread ends with training)."""

    @property
    def finished(self) -> bool:
        """Whether the worker has ended (done, stopped or failed)."""
        return self.state in ("done", "stopped", "failed")

    # -- watchers ----------------------------------------------------------------------------

    def attach(self) -> None:
        """A page's stream starts watching."""
        with self.lock:
            self.clients += 1
            self.seen = time.monotonic()

    def detach(self) -> None:
        """A page's stream went away; the run stops if none is back within ``grace``."""
        with self.lock:
            self.clients -= 1
            self.seen = time.monotonic()
            self.lock.notify_all()

    def abandoned(self) -> bool:
        """No page has watched for ``grace`` seconds (call with the lock held)."""
        return self.clients <= 0 and time.monotonic() - self.seen > self.grace

    def since(self, seq: int) -> Batch:
        """The frames after ``seq`` and the newest fit, for a stream (any thread)."""
        with self.lock:
            return Batch(
                seq=len(self.points),
                points=[list(p) for p in self.points[max(0, seq) :]],
                step=self.step,
                fit=self.fit,
                std=self.std,
                state=self.state,
                result=self.result,
                info=dict(self.info),
                fits=self.fits,
            )

    def export(self, kind: str) -> tuple[bytes, str, str]:
        """A download of this run (any thread): ``gif``, ``png``, ``zip`` or ``toml``, as
        (content, media type, file name); see ``nnfit.web.exports``."""
        from .exports import RunView, export

        with self.lock:
            view = RunView(
                config=self.config,
                state=self.state,
                step=self.step,
                history=self.history,
                snapshots=tuple(self.snapshots),
                regressor=self.regressor,
                dataset=self.dataset,
                race=self.space,
                frames=self.frame_cap,
                error=(self.result or {}).get("error"),
                data_source=None if self.data is None else str(self.data.get("source")),
            )
        return export(view, kind)

    # -- the worker --------------------------------------------------------------------------

    def _work(self) -> None:
        from ..data.dataset import Dataset, check_fittable, load_dataset

        try:
            if self.data is None:
                dataset = load_dataset(self.config.data, seed=self.config.train.seed)
            else:
                dataset = Dataset(**self.data)
                check_fittable(dataset)
            check_inputs(dataset.x.shape[1])  # from the data: a table's columns count too
            result = self._race(dataset) if self.space is not None else self._fit(dataset)
            state = "stopped" if self.stop_event.is_set() else "done"
        except NNFitError as error:  # with its message code: the page words it
            result, state = refusal(error), "failed"
        except Exception as error:  # a bug must not take the server down: the page says it
            result, state = {"error": f"training failed: {type(error).__name__}"}, "failed"
        with self.lock:
            self.result, self.state = result, state
            self.lock.notify_all()
        self.changed()

    def changed(self) -> None:
        """Tell the listener, if any, that the run has news for ``since``."""
        if self.listener is not None:
            self.listener()

    def _fit(self, dataset: Any) -> dict[str, Any]:
        """Train one network (``Regressor.fit``, ``Frames`` subscribed); its summary."""
        from ..core.trainstate import Control
        from ..regressor import Regressor

        regressor = Regressor.from_config(self.config)
        regressor.fit(
            dataset.x,
            dataset.y[:, 0],
            callbacks=[Frames(self)],
            noise_floor=dataset.noise_floor,
            x_names=dataset.x_names,
            y_names=dataset.y_names,
            control=Control(stop=self.stop_event),
            y_units=dataset.y_units,
        )
        result = summary(regressor)
        with self.lock:  # what exports save: the model, its data and its whole History
            self.regressor, self.dataset = regressor, dataset
            self.history = regressor.history_
            self.snapshots = list(regressor.history_.snapshots)
        return result

    def _race(self, dataset: Any) -> dict[str, Any]:
        """Train the race (nnfit's race engine, ``Frames`` subscribed); its summary."""
        from .racing import race_summary, train_race

        assert self.space is not None
        if dataset.x.shape[1] != 1:
            raise Refused(
                "a race draws data of one input x; race on a function of x, or fit this data "
                "in a plain run",
                code="race_inputs",
                setting="function",
            )
        race = train_race(self.config, self.space, dataset, Frames(self), self.stop_event)
        with self.lock:
            self.history, self.snapshots = race.history, list(race.history.snapshots)
        return race_summary(race)

    def begin(self, history: History) -> None:
        """The data and grid are known: keep the thinned grid and the noise floor (a race:
        its lanes' names and colours)."""
        if history.x_grid.shape[1] == 2:
            grid: Any = self.begin_plane(history)
        else:
            line = history.x_grid[:, 0]
            self.rows = thinned(len(line))
            grid = [float(line[i]) for i in self.rows]
        lanes: dict[str, Any] = {}
        if self.space is not None:
            from .racing import lane_info

            lanes = lane_info(list(history.variants))
        with self.lock:
            self.history = history
            self.info.update(lanes)
            self.info.update(
                grid=grid,
                noise_floor=finite(history.noise_floor),
                members=history.members,
                inputs=history.x_grid.shape[1],
            )
            self.state = "paused" if self.paused else "running"
        self.changed()

    def begin_plane(self, history: History) -> dict[str, Any]:
        """Two inputs: ``fit`` becomes the prediction on a coarse mesh of the data's box
        (rows follow x2, columns x1; see ``nnfit.web.plane``), ``grid`` that mesh's axes."""

        coarse = coarse_mesh(history.x_grid)
        if coarse is None:  # not a mesh: nothing to draw, the loss curve still plays
            self.rows = []
            return {"x1": [], "x2": []}
        self.rows, mesh = coarse
        self.plane = True
        return mesh

    def publish(self, snapshot: Snapshot) -> None:
        """Keep a snapshot's loss point and thinned fit; wakes nobody (streams poll)."""
        y_pred = snapshot.y_pred[:, 0]
        fit = [finite(y_pred[i]) for i in self.rows]
        std = None
        if snapshot.y_std is not None:
            std = [finite(snapshot.y_std[i, 0]) for i in self.rows]
        if self.plane:  # colours: 4 digits are plenty (a third of the bytes); no band
            fit, std = [short(v) for v in fit], None
        point = [snapshot.step, finite(snapshot.loss), finite(snapshot.val_loss)]
        fits = None
        if self.space is not None and snapshot.y_members is not None:  # a race: every lane
            fits = [[finite(lane[i, 0]) for i in self.rows] for lane in snapshot.y_members]
            if snapshot.member_loss is not None:  # (the clock always gives every lane's)
                point += [finite(float(loss)) for loss in snapshot.member_loss]
        with self.lock:
            self.points.append(point)
            self.snapshots.append(snapshot)
            self.step, self.fit, self.std, self.fits = snapshot.step, fit, std, fits
        self.changed()

    def hold(self, due: float) -> None:
        """Keep the training thread until the next frame is due and the run not paused; stop
        the run when no page watches any more. A change of state is told to the listener at
        once (outside the lock)."""
        while True:
            with self.lock:
                before = self.state
                go_on = self._look(due)
                news = self.state != before
            if news:
                self.changed()
            if go_on:
                return

    def _look(self, due: float) -> bool:
        """One look, the lock held: whether training may go on now (else it waited a while)."""
        if self.stop_event.is_set():
            return True
        if self.abandoned():
            self.stop_event.set()
            return True
        if self.paused and self.allowed <= 0:
            if self.state == "paused":  # said already: wait for play, step or stop
                self.lock.wait(0.1)
            self.state = "paused"
            return False
        left = due - time.monotonic()
        if left <= 0:
            if self.paused:
                self.allowed -= 1
            self.state = "paused" if self.paused and self.allowed <= 0 else "running"
            return True
        self.lock.wait(min(left, 0.1))
        return False


class Frames(Callback):
    """The callback between the training loop and the page: publish, then pace or pause."""

    def __init__(self, run: PlayRun) -> None:
        self.run = run
        self.due = 0.0

    def on_train_begin(self, history: History) -> None:
        self.run.begin(history)
        self.due = time.monotonic()

    def on_snapshot(self, snapshot: Snapshot) -> None:
        self.run.publish(snapshot)
        if not snapshot.final:
            self.due = max(self.due + 1.0 / self.run.fps, time.monotonic())  # no bursts
            self.run.hold(self.due)

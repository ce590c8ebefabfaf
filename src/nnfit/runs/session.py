"""What outlives a run: checkpoints, Ctrl-C and SIGTERM handling, and the run folder."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..io.files import OutputTaken, unique_path
from ..safetext import printable

if TYPE_CHECKING:
    from ..core.history import History
    from ..core.trainstate import TrainState
    from ..runs.config import RunConfig
    from ..runs.runner import Outputs


def wait_for_window(window: Any, outputs: Outputs, signals: RunSignals) -> None:
    """After the results: keep a live window open until it is closed (or q is pressed),
    saying so; a signal then only closes it. Nothing when there is no open window to wait
    for (or ``--no-wait``)."""
    if window is None or not outputs.wait or not window.is_open:
        return
    signals.phase = "waiting"
    say(outputs, "close the window (or press q in it) to finish")
    try:
        window.wait_closed()
    except KeyboardInterrupt:
        pass
    finally:
        window.close()


class Session:
    """The parts of a run that outlive it: checkpoints, signals and the run folder."""

    def __init__(
        self,
        config: RunConfig,
        outputs: Outputs,
        preset: str,
        dataset: Any,
        digest: str,
        regressor: Any,
        signals: RunSignals | None = None,
    ) -> None:
        self.config, self.outputs, self.preset = config, outputs, preset
        self.dataset, self.digest, self.regressor = dataset, digest, regressor
        self.signals = signals or RunSignals()
        self.state: TrainState | None = None
        self.history: History | None = None
        self.saved_to: Path | None = None  # the run folder this session wrote (and now owns)
        self.taken: Path | None = None  # --out, when another process created it first
        self.window: Any = None  # the live window, still open after the last frame

    def train(
        self, model: Any, *, live: bool, resume: TrainState | None, window: Any = None
    ) -> History:
        """Train ``model`` with every requested view; ``window``: a LiveWindow already showing
        a preview (``live`` then plays the run in it)."""
        from ..core.callbacks import Callback
        from ..core.trainstate import Control
        from ..views.logfile import JsonlLog
        from ..views.terminal import Progress

        session = self

        class Tap(Callback):  # keeps the history being written, for checkpoints
            def on_train_begin(self, history: History) -> None:
                session.history = history

        outputs, dataset = self.outputs, self.dataset
        callbacks: list = [Tap()]
        if not outputs.quiet:
            callbacks.append(Progress(self.config.train.steps))
        if outputs.log is not None:
            callbacks.append(JsonlLog(outputs.log, overwrite=outputs.overwrite))
        board = None
        if outputs.tensorboard is not None:
            from ..views.tensorboard import TensorBoardLog

            board = TensorBoardLog(outputs.tensorboard)
            callbacks.append(board)
        stop = self.signals.stop
        control = Control(
            stop=stop,
            resume=resume,
            checkpoint=self.checkpoint,
            checkpoint_every=outputs.checkpoint_every,
        )

        def fit() -> History:
            y = dataset.y[:, 0] if dataset.y.shape[1] == 1 else dataset.y  # 1-D in, 1-D out
            self.regressor.fit(
                dataset.x,
                y,
                callbacks=callbacks,
                model=model,
                noise_floor=dataset.noise_floor,
                x_names=dataset.x_names,
                y_names=dataset.y_names,
                control=control,
                y_units=dataset.y_units,
            )
            if board is not None:  # the metrics exist only once fit has measured them
                board.log_metrics(self.regressor.metrics_)
            return self.regressor.history_

        if live:
            from ..runs.config import run_name
            from ..views.live import LiveWindow, run_live

            title = f"nnfit: {run_name(self.config)}"
            window = window or LiveWindow(fps=outputs.fps, size=outputs.size, title=title)
            callbacks.append(window)
            self.signals.phase = "live"  # Ctrl-C reaches run_live as KeyboardInterrupt
            self.window = window  # the run waits for it to close after printing the results
            return run_live(fit, window, stop=stop, wait=False)
        self.signals.phase = "training"
        return fit()

    def wait_for_window(self) -> None:
        """After the results are out: keep the live window until it is closed (``--no-wait``:
        not at all). A signal now only closes it: nothing is left to save."""
        wait_for_window(self.window, self.outputs, self.signals)

    def checkpoint(self, state: TrainState) -> None:
        """Keep the newest paused state; write it to the run folder if checkpoints are on."""
        self.state = state
        every = self.outputs.checkpoint_every
        if every and state.step % every == 0 and self.history is not None:
            self._save(self.outputs.out, "checkpoint", self.history, picture=False)

    def _save(
        self,
        folder: Path | None,
        status: str,
        history: History,
        *,
        picture: bool = True,
        animation: Path | None = None,
    ) -> None:
        from ..runs.runfolder import data_record, save_run

        if folder is None:
            return
        data = data_record(self.dataset, self.digest)
        settings = {"preset": self.preset, **self.config.to_dict()}
        owned = self.saved_to is not None  # written by this session before: replace it
        target = self.saved_to or folder
        self.saved_to = save_run(
            target,
            self.regressor,
            history=history,
            settings=settings,
            data=data,
            status=status,
            state=self.state if status != "complete" else None,
            picture=picture,
            animation=animation,
            overwrite=owned or self.outputs.overwrite,
            keep=True,
        )
        if self.saved_to != target:
            self.taken = target

    def finish(self, history: History, *, animation: Path | None) -> None:
        """Save the run folder; an interrupted run is saved even without --out."""
        out = self.outputs.out
        if history.stop_reason == "interrupted":
            if out is None:
                stamp = time.strftime("%Y%m%d-%H%M%S")
                out = unique_path(Path("runs") / f"interrupted-{stamp}")
            resumable = self.state is not None and self.state.step == history.final.step
            if not resumable:
                self.state = None
            self._save(out, "interrupted" if resumable else "complete", history)
            out = self.saved_to
            how = f"; resume with: nnfit fit --resume {out}" if resumable else ""
            line = f"interrupted at step {history.final.step}: saved to {out}{how}"
            print(printable(line), file=sys.stderr)
        elif out is not None:
            self._save(out, "complete", history, animation=animation)

            out = self.saved_to
            say(self.outputs, f"run saved to {out} (load it with nnfit.load('{out}'))")
        if self.taken is not None:
            raise OutputTaken(
                f"--out {self.taken} was created by another process while this run trained; "
                f"nothing was overwritten: this run was saved to {self.saved_to} instead"
            )


class RunSignals:
    """Ctrl-C and SIGTERM through a run's phases, so a signal never costs finished work.

    - ``loading`` and ``live``: KeyboardInterrupt at once (nothing to keep yet; the live
      window turns it into a clean stop itself).
    - ``training``: the first signal sets ``stop``: the loop ends between two steps and the run
      is saved as interrupted; a second one raises KeyboardInterrupt.
    - ``saving``: the first signal is noted (``late``) and the outputs are finished; a second
      one abandons them (their temporaries are removed) with KeyboardInterrupt.
    - ``waiting``: the results are printed and saved and the live window is still open: a
      signal closes it and the run ends normally.

    Handlers are installed only in the main thread; elsewhere the block runs unchanged.
    """

    def __init__(self) -> None:
        import threading

        self.stop = threading.Event()
        self.phase = "loading"
        self.late = False  # a signal arrived while saving
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> RunSignals:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for name in ("SIGINT", "SIGTERM"):
                number = getattr(signal, name, None)
                if number is not None:
                    self.previous[number] = signal.signal(number, self._handle)
        return self

    def _handle(self, number: int, frame: Any) -> None:
        if self.phase == "training" and not self.stop.is_set():
            self.stop.set()
            return
        if self.phase == "saving" and not self.late:
            self.late = True
            print(
                "nnfit: finishing the outputs before stopping (again to abandon them)",
                file=sys.stderr,
                flush=True,
            )
            return
        raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        import signal

        for number, handler in self.previous.items():
            signal.signal(number, handler)
        self.previous.clear()


def say(outputs: Outputs, line: str) -> None:
    """A progress line on stderr, unless --quiet."""
    if not outputs.quiet:
        print(printable(line), file=sys.stderr, flush=True)

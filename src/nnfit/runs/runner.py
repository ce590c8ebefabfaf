"""One run from start to finish: settings → data → model → training → views → files.

The CLI calls ``run_command``; library users call ``run(config, outputs)`` with the same pieces.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checks import check_fps, flag
from ..errors import DataError, UsageError
from ..io.files import OutputTaken, unique_path
from ..io.targets import check_log_folder, check_output, check_run_folder, check_separate
from ..runs.config import (
    DEFAULT_PRESET,
    RunConfig,
    config_toml,
    run_name,
)
from ..safetext import printable
from ..views.formats import ANIMATION_SUFFIXES, PICTURE_SUFFIXES
from .session import say

if TYPE_CHECKING:
    from ..core.history import History
    from ..core.trainstate import TrainState
    from ..runs.session import Session

INTERRUPTED = 130  # exit status after Ctrl-C or SIGTERM, as shells report SIGINT


FILE_FLAGS = {"--save": "save", "--plot": "plot", "--log": "log", "--save-config": "save_config"}
OUTPUT_KINDS = {
    "--save": "animation",
    "--plot": "picture",
    "--log": "log",
    "--save-config": "config",
}


@dataclass(frozen=True)
class Outputs:
    """Where a run shows and saves itself; the CLI's output flags map onto these fields."""

    out: Path | None = None  # run folder (model, settings, metrics, history, pictures)
    checkpoint_every: int | None = None  # steps between resumable checkpoints in ``out``
    tensorboard: Path | None = None  # TensorBoard log folder
    save: Path | None = None  # animation file (.gif or .mp4)
    plot: Path | None = None  # final picture (.png, .svg or .pdf)
    log: Path | None = None  # metrics log (.jsonl)
    save_config: Path | None = None  # settings file (.toml)
    fps: float = 10.0  # frames per second, live and saved
    size: tuple[int, int] = (800, 400)  # frame size in pixels
    window: bool = True  # show a live window when a display exists
    wait: bool = True  # keep the window open at the end until it is closed
    quiet: bool = False  # print only errors and the result
    overwrite: bool = False  # replace existing files and run folders

    def __post_init__(self) -> None:
        check_fps(self.fps)
        allowed = {
            "save": ANIMATION_SUFFIXES,
            "plot": PICTURE_SUFFIXES,
            "save_config": (".toml",),
        }
        for name, suffixes in allowed.items():
            path = getattr(self, name)
            if path is not None and path.suffix.lower() not in suffixes:
                raise UsageError(
                    f"{flag(name)} {path}: unsupported file type; use {' or '.join(suffixes)}"
                )
        files = {option: getattr(self, name) for option, name in FILE_FLAGS.items()}
        for option, path in files.items():
            if path is not None:
                kind = OUTPUT_KINDS[option]
                check_output(path, flag=option, kind=kind, overwrite=self.overwrite)
        if self.tensorboard is not None:
            check_log_folder(self.tensorboard, flag="--tensorboard")
        if self.out is not None:
            check_run_folder(self.out, overwrite=self.overwrite)
        check_separate(
            {**files, "--tensorboard": self.tensorboard},
            None if self.out is None else ("--out", self.out),
        )
        if self.checkpoint_every is not None and self.out is None:
            raise UsageError("--checkpoint-every needs --out DIR to know where to save")


def run(
    config: RunConfig,
    outputs: Outputs | None = None,
    *,
    preset: str = DEFAULT_PRESET,
    resume: TrainState | None = None,
    data_sha256: str | None = None,
) -> History:
    """Get the data, build the model, train with every requested view, save the files.

    Args:
        config: data, model and training settings.
        outputs: where to show and save; default: a live window if there is a display,
            otherwise the animation and picture in the current folder.
        preset: the preset ``config`` was built from, recorded in saved settings.
        resume: a paused TrainState to continue from (``nnfit fit --resume``).
        data_sha256: with ``resume``, the hash the data must still have.

    Returns:
        The training History (``history.settings`` holds the config and the metrics).
    """
    from ..io.files import write_atomic
    from ..regressor import Regressor
    from ..runs.session import RunSignals, Session
    from ..views.live import has_display
    from ..views.phrasing import phrased

    outputs = outputs or Outputs()
    if config.data.synthetic:  # its size is known: refuse a network too big before torch loads
        Regressor.from_config(config).check_fits(1, 1, config.data.points)
    with RunSignals() as signals, _preview(config, outputs, resume) as window:
        dataset, digest = load_data(config, outputs, data_sha256)
        if outputs.save_config is not None:
            text = config_toml(config, preset=preset).encode()
            write_atomic(outputs.save_config, text, overwrite=outputs.overwrite)
            say(outputs, f"settings written to {outputs.save_config}")
        live = outputs.window and has_display()
        save, plot_path = outputs.save, outputs.plot
        if outputs.window and not live and save is None and plot_path is None and not outputs.out:
            stem = output_stem(config)
            save, plot_path = unique_path(Path(f"{stem}.gif")), unique_path(Path(f"{stem}.png"))
            say(
                outputs,
                f"no display found: saving the animation and final picture instead "
                f"({save}, {plot_path})",
            )
        regressor = Regressor.from_config(config)
        model = regressor.make_model(
            dataset.x.shape[1], dataset.y.shape[1], len(dataset.x), y=dataset.y
        )
        if not outputs.quiet:
            print(model)
        session = Session(config, outputs, preset, dataset, digest, regressor, signals)
        history = session.train(model, live=live, resume=resume, window=window)
        signals.phase = "saving"  # from here a signal waits until every output is written
        history.settings.update(config.to_dict())
        history.settings["metrics"] = regressor.metrics_
        history.settings["source"] = dataset.source
        print(f"final loss: {history.final.loss:.6g} (step {history.final.step})")
        if not config.data.synthetic or config.data.val > 0:
            from ..core.metrics import format_metrics

            units = dataset.y_units
            unit = printable(units[0]) if len(units) == 1 else ""
            print(format_metrics(regressor.metrics_, unit))
        print(phrased(regressor.diagnosis_))
        _save_outputs(history, session, save, plot_path)
        if not signals.late:
            session.wait_for_window()
    if signals.late:
        raise KeyboardInterrupt  # the outputs are complete; the exit status says interrupted
    return history


def output_stem(config: RunConfig) -> str:
    """What a headless run names its files after: the data (``pressure-fit``, ``data-fit`` for
    data.csv, ``stdin-fit``), or ``nnfit-demo`` for a function's data."""
    if config.data.example is None and config.data.file is None:
        return "nnfit-demo"
    name = run_name(config).split(".")[0]  # the example, "stdin", or the file's name
    name = re.sub(r"[^\w-]+", "_", name).strip("_")[:60]  # a plain file name, whatever it was
    return f"{name or 'data'}-fit"


@contextmanager
def _preview(config: RunConfig, outputs: Outputs, resume: Any) -> Iterator[Any]:
    """A live window showing the lesson's data at once, before torch loads (None where there
    is no window to show, the run resumes, or the data cannot be previewed without torch);
    closed if the run fails.

    torch is not imported in a background thread meanwhile: loading its libraries holds the
    interpreter's lock, which measured the window's first picture 2 s later, not sooner.
    """
    from ..data.preview import preview_data
    from ..views.live import LiveWindow, has_display

    data = None
    if resume is None and outputs.window and has_display():
        data = preview_data(config.data, seed=config.train.seed)
    if data is None:
        yield None
        return
    window = LiveWindow(fps=outputs.fps, size=outputs.size, title=f"nnfit: {run_name(config)}")
    window.preview(*data)
    try:
        yield window
    except BaseException:
        window.close()  # the preview must not outlive a run that failed
        raise


def load_data(config: RunConfig, outputs: Outputs, data_sha256: str | None) -> tuple[Any, str]:
    """The run's data and its hash (checked against ``data_sha256`` when resuming)."""
    from ..data.dataset import load_dataset
    from ..runs.runfolder import data_hash
    from ..views.terminal import loading_progress

    progress = None if outputs.quiet else loading_progress()
    if data_sha256 is None:
        dataset = load_dataset(config.data, seed=config.train.seed, progress=progress)
        return _said_dropped(outputs, dataset), data_hash(dataset.x, dataset.y)
    # Resuming: the data file is named by run.json, which may have been tampered with. Read
    # only a regular file, and never quote its contents in an error.
    file = config.data.file
    changed = DataError(
        f"the data {printable(file or config.data.example or 'of the run')} cannot be read as "
        "this run's data (missing, changed or not a regular file); resume needs the same data "
        "(or start a new run)"
    )
    if file is not None and (file == "-" or not os.path.isfile(file)):
        raise changed
    try:
        dataset = load_dataset(config.data, seed=config.train.seed, progress=progress)
    except DataError:
        raise changed from None
    digest = data_hash(dataset.x, dataset.y)
    if digest != data_sha256:
        raise changed
    return _said_dropped(outputs, dataset), digest


def _said_dropped(outputs: Outputs, dataset: Any) -> Any:
    if dataset.n_dropped:
        say(outputs, f"dropped {dataset.n_dropped} row(s) with missing values")
    return dataset


def _save_outputs(
    history: History, session: Session, save: Path | None, plot_path: Path | None
) -> None:
    """The animation, the picture and the run folder, after training."""
    outputs = session.outputs
    taken: list[str] = []
    if save is not None:
        from ..views.animation import animate

        def write_animation(path: Path, overwrite: bool) -> Path:
            return animate(history, path, fps=outputs.fps, size=outputs.size, overwrite=overwrite)

        save = _write_kept(write_animation, save, outputs.overwrite, "--save", taken)
        say(outputs, f"animation saved to {save}")
    if plot_path is not None:
        from ..views.plotting import plot

        def write_picture(path: Path, overwrite: bool) -> Path:
            return plot(history, path, overwrite=overwrite)

        plot_path = _write_kept(write_picture, plot_path, outputs.overwrite, "--plot", taken)
        say(outputs, f"picture saved to {plot_path}")
    session.finish(history, animation=save)
    if taken:
        raise OutputTaken(taken[0])


def _write_kept(
    write: Callable[[Path, bool], Any], path: Path, overwrite: bool, flag: str, taken: list[str]
) -> Path:
    """Write an output after training with ``write(path, overwrite)``; if another process took
    its name meanwhile, write it under a free name instead (the run is never lost) and note
    the conflict for the end."""
    try:
        return Path(write(path, overwrite))
    except OutputTaken:
        other = unique_path(path)
        write(other, False)
        taken.append(
            f"{flag} {path} was created by another process while this run trained; nothing "
            f"was overwritten: this run's file was saved as {other} instead"
        )
        return other

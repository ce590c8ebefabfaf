"""One run from start to finish: settings → data → model → training → views → files.

The CLI calls ``run_command``; library users call ``run(config, outputs)`` with the same pieces.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import (
    DATA_PRESET,
    DEFAULT_PRESET,
    RunConfig,
    build_config,
    config_toml,
    read_config,
)
from .errors import DataError, UsageError
from .files import OutputTaken, unique_path
from .safetext import printable
from .targets import check_log_folder, check_output, check_run_folder, check_separate

if TYPE_CHECKING:
    from .history import History
    from .session import Session
    from .trainstate import TrainState

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
        if not 0.1 <= self.fps <= 120:
            raise UsageError(f"--fps must be between 0.1 and 120, got {self.fps:g}")
        allowed = {
            "save": (".gif", ".mp4"),
            "plot": (".png", ".svg", ".pdf"),
            "save_config": (".toml",),
        }
        for name, suffixes in allowed.items():
            path = getattr(self, name)
            if path is not None and path.suffix.lower() not in suffixes:
                flag = "--" + name.replace("_", "-")
                raise UsageError(
                    f"{flag} {path}: unsupported file type; use {' or '.join(suffixes)}"
                )
        files = {flag: getattr(self, name) for flag, name in FILE_FLAGS.items()}
        for flag, path in files.items():
            if path is not None:
                kind = OUTPUT_KINDS[flag]
                check_output(path, flag=flag, kind=kind, overwrite=self.overwrite)
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


def run_command(args: argparse.Namespace) -> int:
    """Carry out ``nnfit demo``, ``nnfit fit [SOURCE]`` or ``nnfit examples``; exit status."""
    from .cli import overrides_from

    if args.command == "examples":
        from .datasets import format_examples

        print(format_examples())
        return 0
    overrides = overrides_from(args)
    resume = getattr(args, "resume", None)
    if resume is not None:
        return _resume(args, overrides)
    base: dict = {}
    source, preset = "flags", args.preset
    if args.command == "fit":
        has_file = args.source is not None and not args.source.lower().endswith(".toml")
        if args.source is not None and not has_file:
            base, source = read_config(args.source), str(args.source)
            file_preset = base.pop("__preset__", None)
            preset = preset or file_preset  # --preset wins over the file's, like every flag
        elif has_file:
            overrides["data"]["file"] = args.source
        elif args.example is None and args.function is None:
            raise UsageError(
                "nnfit fit needs data: a file (data.csv, - for stdin), "
                "--example NAME, --function FORMULA, or a RUN.toml"
            )
        if args.function is not None and (args.example is not None or has_file):
            raise UsageError("give data (a file or --example) or a --function, not both")
        preset = preset or DATA_PRESET
    preset = preset or DEFAULT_PRESET
    config = build_config(preset, base=base, source=source, **overrides)
    outputs = _outputs(args)
    if config.data.file == "-" and outputs.save_config is not None:
        raise UsageError("--save-config cannot repeat data read from stdin; save it to a file")
    history = run(config, outputs, preset=preset)
    gc.freeze()  # skip tearing down every object at exit: the process ends sooner
    return INTERRUPTED if history.stop_reason == "interrupted" else 0


def _outputs(args: argparse.Namespace, **changes: Any) -> Outputs:
    def path(text: str | None) -> Path | None:
        return None if text is None else Path(text)

    fields = dict(
        out=path(args.out),
        checkpoint_every=args.checkpoint_every,
        tensorboard=path(args.tensorboard),
        save=path(args.save),
        plot=path(args.plot),
        log=path(args.log),
        save_config=path(args.save_config),
        fps=10.0 if args.fps is None else args.fps,
        size=args.size or (800, 400),
        window=not args.no_window,
        wait=not args.no_wait,
        quiet=args.quiet,
        overwrite=args.overwrite,
    )
    return Outputs(**{**fields, **changes})


def _resume(args: argparse.Namespace, overrides: dict[str, dict[str, Any]]) -> int:
    """``nnfit fit --resume DIR``: the run's own settings, continued into the same folder."""
    from .runfolder import load_state, read_run

    given = sorted(
        f"{k}" for section in overrides.values() for k, v in section.items() if v is not None
    )
    if given or args.source or args.preset:
        raise UsageError(
            "--resume continues a run with its own settings; drop "
            f"{', '.join(given) or 'SOURCE/--preset'}"
        )
    folder = Path(args.resume)
    info = read_run(folder)
    state = load_state(folder)
    settings = dict(info["settings"])
    preset = settings.pop("preset", DEFAULT_PRESET)
    config = build_config(preset, base=settings, source=str(folder / "run.json"))
    outputs = _outputs(
        args, out=Path(args.out) if args.out else folder, overwrite=args.overwrite or not args.out
    )
    history = run(config, outputs, preset=preset, resume=state, data_sha256=info["data"]["sha256"])
    gc.freeze()
    return INTERRUPTED if history.stop_reason == "interrupted" else 0


def _say(outputs: Outputs, line: str) -> None:
    """A progress line on stderr, unless --quiet."""
    if not outputs.quiet:
        print(printable(line), file=sys.stderr, flush=True)


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
    from .estimator import Regressor
    from .files import write_atomic
    from .live import has_display
    from .session import RunSignals, Session

    outputs = outputs or Outputs()
    with RunSignals() as signals:
        dataset, digest = _load(config, outputs, data_sha256)
        if outputs.save_config is not None:
            text = config_toml(config, preset=preset).encode()
            write_atomic(outputs.save_config, text, overwrite=outputs.overwrite)
            _say(outputs, f"settings written to {outputs.save_config}")
        live = outputs.window and has_display()
        save, plot_path = outputs.save, outputs.plot
        if outputs.window and not live and save is None and plot_path is None and not outputs.out:
            save, plot_path = (
                unique_path(Path("nnfit-demo.gif")),
                unique_path(Path("nnfit-demo.png")),
            )
            _say(
                outputs,
                f"no display found: saving the animation and final picture instead "
                f"({save}, {plot_path})",
            )
        regressor = Regressor.from_config(config)
        model = regressor.make_model(dataset.x.shape[1], dataset.y.shape[1], len(dataset.x))
        if not outputs.quiet:
            print(model)
        session = Session(config, outputs, preset, dataset, digest, regressor, signals)
        history = session.train(model, live=live, resume=resume)
        signals.phase = "saving"  # from here a signal waits until every output is written
        history.settings.update(config.to_dict())
        history.settings["metrics"] = regressor.metrics_
        history.settings["source"] = dataset.source
        print(f"final loss: {history.final.loss:.6g} (step {history.final.step})")
        if not config.data.synthetic or config.data.val > 0:
            from .metrics import format_metrics

            print(format_metrics(regressor.metrics_))
        print(regressor.diagnosis_.message)
        _save_outputs(history, session, save, plot_path)
    if signals.late:
        raise KeyboardInterrupt  # the outputs are complete; the exit status says interrupted
    return history


def _load(config: RunConfig, outputs: Outputs, data_sha256: str | None) -> tuple[Any, str]:
    """The run's data and its hash (checked against ``data_sha256`` when resuming)."""
    from .dataset import load_dataset
    from .runfolder import data_hash
    from .terminal import loading_progress

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
        _say(outputs, f"dropped {dataset.n_dropped} row(s) with missing values")
    return dataset


def _save_outputs(
    history: History, session: Session, save: Path | None, plot_path: Path | None
) -> None:
    """The animation, the picture and the run folder, after training."""
    outputs = session.outputs
    taken: list[str] = []
    if save is not None:
        from .animation import animate

        def write_animation(path: Path, overwrite: bool) -> Path:
            return animate(history, path, fps=outputs.fps, size=outputs.size, overwrite=overwrite)

        save = _write_kept(write_animation, save, outputs.overwrite, "--save", taken)
        _say(outputs, f"animation saved to {save}")
    if plot_path is not None:
        from .plotting import plot

        def write_picture(path: Path, overwrite: bool) -> Path:
            return plot(history, path, overwrite=overwrite)

        plot_path = _write_kept(write_picture, plot_path, outputs.overwrite, "--plot", taken)
        _say(outputs, f"picture saved to {plot_path}")
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

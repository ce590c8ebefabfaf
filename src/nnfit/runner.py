"""One run from start to finish: settings → data → model → training → views → files.

The CLI calls ``run_command``; library users call ``run(config, outputs)`` with the same pieces.
"""

from __future__ import annotations

import argparse
import gc
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .config import (
    DATA_PRESET,
    DEFAULT_PRESET,
    RunConfig,
    build_config,
    config_toml,
    read_config,
)
from .errors import UsageError
from .files import check_writable, unique_path, write_atomic

if TYPE_CHECKING:
    from .history import History


@dataclass(frozen=True)
class Outputs:
    """Where a run shows and saves itself; the CLI's output flags map onto these fields."""

    save: Path | None = None  # animation file (.gif or .mp4)
    plot: Path | None = None  # final picture (.png, .svg or .pdf)
    log: Path | None = None  # metrics log (.jsonl)
    save_config: Path | None = None  # settings file (.toml)
    fps: float = 10.0  # frames per second, live and saved
    size: tuple[int, int] = (800, 400)  # frame size in pixels
    window: bool = True  # show a live window when a display exists
    wait: bool = True  # keep the window open at the end until it is closed
    quiet: bool = False  # print only errors and the result
    overwrite: bool = False  # replace existing files

    def __post_init__(self) -> None:
        if not 0.1 <= self.fps <= 120:
            raise UsageError(f"--fps must be between 0.1 and 120, got {self.fps:g}")
        checks = {
            "--save": (".gif", ".mp4"),
            "--plot": (".png", ".svg", ".pdf"),
            "--save-config": (".toml",),
        }
        for flag, allowed in checks.items():
            path = getattr(self, flag[2:].replace("-", "_"))
            if path is not None and path.suffix.lower() not in allowed:
                raise UsageError(
                    f"{flag} {path}: unsupported file type; use {' or '.join(allowed)}"
                )
        for flag in ("--save", "--plot", "--log", "--save-config"):
            path = getattr(self, flag[2:].replace("-", "_"))
            if path is not None:
                check_writable(path, overwrite=self.overwrite, flag=flag)
        paths = [p.resolve() for p in (self.save, self.plot, self.log, self.save_config) if p]
        if len(paths) != len(set(paths)):
            raise UsageError("two outputs name the same file; give each a different name")


def run_command(args: argparse.Namespace) -> int:
    """Carry out ``nnfit demo``, ``nnfit fit [SOURCE]`` or ``nnfit examples``; exit status."""
    from .cli import overrides_from

    if args.command == "examples":
        from .datasets import format_examples

        print(format_examples())
        return 0
    base: dict = {}
    source = "flags"
    preset = args.preset
    overrides = overrides_from(args)
    if args.command == "fit":
        if args.source is not None and args.source.lower().endswith(".toml"):
            base = read_config(args.source)
            source = str(args.source)
            preset = preset or base.pop("__preset__", None)
        elif args.source is not None:
            overrides["data"]["file"] = args.source
        elif args.example is None and args.function is None:
            raise UsageError(
                "nnfit fit needs data: a file (data.csv, - for stdin), "
                "--example NAME, --function FORMULA, or a RUN.toml"
            )
        preset = preset or DATA_PRESET
    preset = preset or DEFAULT_PRESET
    config = build_config(preset, base=base, source=source, **overrides)
    outputs = Outputs(
        save=_path(args.save),
        plot=_path(args.plot),
        log=_path(args.log),
        save_config=_path(args.save_config),
        fps=args.fps or 10.0,
        size=args.size or (800, 400),
        window=not args.no_window,
        wait=not args.no_wait,
        quiet=args.quiet,
        overwrite=args.overwrite,
    )
    if config.data.file == "-" and outputs.save_config is not None:
        raise UsageError("--save-config cannot repeat data read from stdin; save it to a file")
    history = run(config, outputs, preset=preset)
    gc.freeze()  # skip tearing down every object at exit: the process ends sooner
    return 130 if history.stop_reason == "interrupted" else 0


def _path(text: str | None) -> Path | None:
    return None if text is None else Path(text)


def _say(outputs: Outputs, line: str) -> None:
    if not outputs.quiet:
        print(line, file=sys.stderr, flush=True)


def run(
    config: RunConfig, outputs: Outputs | None = None, *, preset: str = DEFAULT_PRESET
) -> History:
    """Get the data, build the model, train with every requested view, save the files.

    Args:
        config: data, model and training settings.
        outputs: where to show and save; default: a live window if there is a display,
            otherwise the animation and picture in the current folder.
        preset: the preset ``config`` was built from, recorded in --save-config files.

    Returns:
        The training History (``history.settings`` holds the config and the metrics).
    """
    import threading

    from .dataset import load_dataset
    from .estimator import Regressor
    from .live import has_display
    from .logfile import JsonlLog
    from .metrics import format_metrics
    from .terminal import Progress, loading_progress

    outputs = outputs or Outputs()
    dataset = load_dataset(
        config.data, seed=config.train.seed, progress=None if outputs.quiet else loading_progress()
    )
    if dataset.n_dropped:
        _say(outputs, f"dropped {dataset.n_dropped} row(s) with missing values")
    if outputs.save_config is not None:
        write_atomic(outputs.save_config, config_toml(config, preset=preset).encode())
        _say(outputs, f"settings written to {outputs.save_config}")
    live = outputs.window and has_display()
    save, plot_path = outputs.save, outputs.plot
    if outputs.window and not live and save is None and plot_path is None:
        save, plot_path = unique_path(Path("nnfit-demo.gif")), unique_path(Path("nnfit-demo.png"))
        _say(
            outputs,
            f"no display found: saving the animation and final picture instead "
            f"({save}, {plot_path})",
        )

    regressor = Regressor.from_config(config)
    model = regressor.make_model(dataset.x.shape[1], dataset.y.shape[1])
    if not outputs.quiet:
        print(model)
    callbacks: list = []
    if not outputs.quiet:
        callbacks.append(Progress(config.train.steps))
    if outputs.log is not None:
        callbacks.append(JsonlLog(outputs.log, overwrite=outputs.overwrite))
    stop = threading.Event()

    def fit() -> History:
        regressor.fit(
            dataset.x,
            dataset.y,
            callbacks=callbacks,
            model=model,
            noise_floor=dataset.noise_floor,
            x_names=dataset.x_names,
            y_names=dataset.y_names,
            stop=stop,
        )
        return regressor.history_

    if live:
        from .live import LiveWindow, run_live

        window = LiveWindow(fps=outputs.fps, size=outputs.size)
        callbacks.append(window)
        history = run_live(fit, window, stop=stop, wait=outputs.wait)
    else:
        history = fit()
    history.settings.update(config.to_dict())
    history.settings["metrics"] = regressor.metrics_
    history.settings["source"] = dataset.source
    print(f"final loss: {history.final.loss:.6g} (step {history.final.step})")
    if not config.data.synthetic or config.data.val > 0:
        print(format_metrics(regressor.metrics_))
    print(regressor.diagnosis_.message)
    if save is not None:
        from .animation import animate

        animate(history, save, fps=outputs.fps, size=outputs.size, overwrite=outputs.overwrite)
        _say(outputs, f"animation saved to {save}")
    if plot_path is not None:
        from .plotting import plot

        plot(history, plot_path, overwrite=outputs.overwrite)
        _say(outputs, f"picture saved to {plot_path}")
    return history

"""The ``nnfit`` command: a thin adapter that parses flags, builds configs and calls the library.

Only the standard library is imported at the top, so ``nnfit --help`` is instant; torch and
matplotlib load when a command actually runs.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from ._version import __version__
from .errors import NNFitError, UsageError

PROG = "nnfit"
EPILOG = """examples:
  nnfit demo                                    the lesson: y = x² + noise, 10 ReLU units
  nnfit demo --preset morvan-2018 --save fit.gif
  nnfit fit data.csv --x temperature --y pressure
  nnfit fit --example pressure --plot fit.png
  nnfit fit --function "sin(3*x) + 0.1*x**2" --domain -3,3 --noise gaussian:0.1
  nnfit demo --save-config run.toml && nnfit fit run.toml
  nnfit fit --example pressure --out runs/p     save a run folder (model, metrics, pictures)
  nnfit predict runs/p --x 150                  use it; nnfit show / nnfit export runs/p
  nnfit fit --resume runs/p                     continue a run stopped with Ctrl-C
  nnfit examples                                list the shipped data sets"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        from .safetext import printable

        self.exit(2, f"{self.prog}: error: {printable(message)} (see {self.prog} --help)\n")


# (flag, argparse keywords) per group; each flag is a field of DataConfig, ModelConfig,
# TrainConfig or Outputs with the same name.
FLAGS: dict[str, list[tuple[tuple[str, ...], dict[str, Any]]]] = {
    "data (synthetic)": [
        (
            ("--function",),
            {
                "help": "quadratic (default), sin, cubic, abs, step, ... or a "
                "formula such as 'sin(3*x) + 0.1*x**2' (x1, x2, ... for several "
                "inputs)"
            },
        ),
        (("--points",), {"type": "whole", "help": "number of x values (100)"}),
        (
            ("--noise",),
            {
                "help": "uniform (the lesson: LEVEL*U(0,1)) or gaussian (LEVEL*N(0,1)); "
                "KIND:LEVEL sets both, e.g. gaussian:0.1"
            },
        ),
        (("--noise-level",), {"type": "number", "help": "noise scale (0.2); 0 for none"}),
        (("--domain",), {"type": "pair", "help": "x range LO,HI (-1,1)"}),
    ],
    "data (files and examples)": [
        (("--example",), {"help": "fit a shipped data set (list them: nnfit examples)"}),
        (("--x",), {"help": "input column(s): names or 1-based numbers, e.g. a or a,b"}),
        (("--y",), {"help": "output column(s), e.g. c or c,d"}),
        (("--encoding",), {"help": "text encoding of the file (default: detected)"}),
        (
            ("--drop-missing",),
            {
                "action": "store_true",
                "default": None,
                "help": "drop rows with missing values and say how many",
            },
        ),
        (
            ("--val",),
            {
                "type": "number",
                "help": "fraction of rows held out for validation, per ensemble member "
                "(fit: 0.2, demo: 0)",
            },
        ),
    ],
    "model": [
        (
            ("--hidden",),
            {"type": "widths", "help": "hidden layer widths: 10 or 32,32 (demo: 10, fit: 64,64)"},
        ),
        (
            ("--activation",),
            {
                "help": "relu, tanh, sigmoid, leaky_relu, elu, gelu, silu or "
                "softplus (demo: relu, fit: tanh)"
            },
        ),
        (
            ("--scale",),
            {
                "action": argparse.BooleanOptionalAction,
                "default": None,
                "help": "standardise x and y (demo: off, fit: on)",
            },
        ),
        (
            ("--members",),
            {
                "type": "members",
                "help": "networks trained at once and averaged, each validated on its own "
                "held-out rows, or auto (demo: 1; fit: auto = 20 up to 100 rows, 2000/rows "
                "up to 1000, then 1)",
            },
        ),
    ],
    "training": [
        (
            ("--preset",),
            {
                "help": "morvan-2017 (demo default: SGD lr 0.5, 100 steps), "
                "morvan-2018 (lr 0.2, 200 steps) or data (fit default)"
            },
        ),
        (
            ("--optimizer",),
            {
                "help": "sgd, momentum, nesterov, adam, adamw, rmsprop or lbfgs "
                "(demo: sgd, fit: adam)"
            },
        ),
        (("--lr",), {"type": "number", "help": "learning rate (demo: 0.5, fit: 0.01)"}),
        (("--steps",), {"type": "whole", "help": "optimiser steps (demo: 100, fit: 3000)"}),
        (("--loss",), {"help": "mse (default), l1 or huber"}),
        (
            ("--batch-size",),
            {
                "type": "whole",
                "help": "points per step (default: all, up to 8192; larger data: 1024)",
            },
        ),
        (
            ("--every",),
            {"type": "whole", "help": "record a frame every N steps (demo: 5, fit: 30)"},
        ),
        (
            ("--patience",),
            {
                "type": "whole",
                "help": "stop after N steps without a better "
                "validation loss, keeping the best weights (fit: 1000)",
            },
        ),
        (
            ("--restore",),
            {
                "help": "weights early stopping keeps: lowest (validation loss), or 1se, the "
                "earliest within one standard error of the lowest (default: lowest)"
            },
        ),
        (
            ("--schedule",),
            {
                "help": "learning rate schedule: constant, or cosine (decays to 0 over the steps) "
                "(demo: constant, fit: cosine)"
            },
        ),
        (
            ("--seed",),
            {"type": "whole", "help": "random seed for data, weights, split and batches (0)"},
        ),
        (("--device",), {"help": "cpu (default), cuda or auto"}),
    ],
    "output": [
        (
            ("--out",),
            {
                "metavar": "DIR",
                "help": "save the run folder: model (safetensors), "
                "settings, metrics, history and pictures (load with nnfit.load)",
            },
        ),
        (
            ("--checkpoint-every",),
            {
                "type": "whole",
                "metavar": "N",
                "help": "save a resumable checkpoint to the run folder every N steps",
            },
        ),
        (
            ("--tensorboard",),
            {
                "metavar": "DIR",
                "help": "log losses, metrics and the fit "
                "picture for TensorBoard (extra: nnfit[tensorboard])",
            },
        ),
        (("--save",), {"metavar": "FILE", "help": "save the animation: .gif or .mp4"}),
        (("--plot",), {"metavar": "FILE", "help": "save the final picture: .png, .svg or .pdf"}),
        (("--log",), {"metavar": "FILE", "help": "write metrics, one JSON line per frame"}),
        (("--save-config",), {"metavar": "FILE", "help": "write the run's settings (.toml)"}),
        (("--fps",), {"type": "number", "help": "frames per second, live and saved (10)"}),
        (("--size",), {"type": "size", "help": "frame size in pixels WxH (800x400)"}),
        (("--no-window",), {"action": "store_true", "help": "no live window"}),
        (
            ("--no-wait",),
            {"action": "store_true", "help": "close the live window when training ends"},
        ),
        (("--overwrite",), {"action": "store_true", "help": "replace existing output files"}),
        (
            ("-q", "--quiet"),
            {"action": "store_true", "help": "print nothing but errors and the result"},
        ),
    ],
}


def _add_run_flags(parser: argparse.ArgumentParser) -> None:
    """Flags shared by ``demo`` and ``fit``."""
    types = {
        "whole": _whole,
        "number": _number,
        "pair": _pair,
        "widths": _widths,
        "size": _size,
        "members": _members,
    }
    for title, flags in FLAGS.items():
        group = parser.add_argument_group(title)
        for names, keywords in flags:
            keywords = dict(keywords)
            if isinstance(keywords.get("type"), str):
                keywords["type"] = types[keywords["type"]]
            group.add_argument(*names, **keywords)


def make_parser() -> argparse.ArgumentParser:
    """The full ``nnfit`` parser (also used to document the flags)."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG,
        description="Fit a relation in data with a small neural network and watch it learn.",
        epilog=EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"nnfit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    demo = commands.add_parser(
        "demo",
        help="the lesson: fit y = x² + noise and watch it learn",
        description="Fit the lesson's noisy parabola (or another --function) and watch it "
        "learn, with the lesson's settings unless flags say otherwise.",
        epilog=EPILOG,
        formatter_class=formatter,
    )
    _add_run_flags(demo)
    fit = commands.add_parser(
        "fit",
        help="fit your data: a file, an --example, a --function, or a saved RUN.toml",
        description="Fit a relation in your data with nnfit's defaults for real data "
        "(standardised x and y, 64,64 tanh units, Adam; on small data up to 20 such networks, "
        "each stopped early on its own share of the rows, averaged; one network with a 20%% "
        "validation split above 1000 rows). SOURCE is a CSV/TSV/TXT/NPY/NPZ/Parquet file, "
        "- for CSV on stdin, or a RUN.toml written by --save-config (flags given here "
        "override it).",
        epilog=EPILOG,
        formatter_class=formatter,
    )
    fit.add_argument(
        "source", metavar="SOURCE", nargs="?", help="data file, - for stdin, or RUN.toml"
    )
    fit.add_argument(
        "--resume",
        metavar="DIR",
        help="continue an interrupted or checkpointed run folder exactly where it stopped",
    )
    _add_run_flags(fit)
    _add_model_commands(commands)
    commands.add_parser(
        "examples",
        help="list the data sets shipped with nnfit",
        description="List the data sets shipped with nnfit; fit one with nnfit fit --example NAME.",
    )
    return parser


def _add_model_commands(commands: Any) -> None:
    """``predict``, ``show`` and ``export``: use a saved run folder."""
    predict = commands.add_parser(
        "predict",
        help="predict with a saved run folder",
        description="Predict with a saved model: for each row of a data file (its input "
        "columns are matched by name to those the model was trained on), or for --x values.",
    )
    predict.add_argument("run", metavar="RUN_DIR", help="run folder written by --out")
    predict.add_argument("data", metavar="DATA", nargs="?", help="data file (- for stdin)")
    predict.add_argument(
        "--x",
        action="append",
        metavar="VALUES",
        dest="values",
        help="input values of one row, comma-separated for several inputs; repeat for more rows",
    )
    predict.add_argument(
        "--out", metavar="FILE", help="write a CSV here instead of stdout (- is stdout)"
    )
    predict.add_argument("--encoding", help="text encoding of DATA (default: detected)")
    predict.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    show = commands.add_parser(
        "show",
        help="summarise a run folder and show its picture",
        description="Print a run's architecture, data, metrics and diagnosis, show its final "
        "picture, or replay its history into an animation without retraining.",
    )
    show.add_argument("run", metavar="RUN_DIR", help="run folder written by --out")
    show.add_argument("--animate", metavar="FILE", help="replay the history into .gif or .mp4")
    show.add_argument("--fps", type=_number, help="frames per second (10)")
    show.add_argument("--size", type=_size, help="frame size in pixels WxH (800x400)")
    show.add_argument("--no-window", action="store_true", help="print the picture's path only")
    show.add_argument("--overwrite", action="store_true", help="replace an existing file")
    export = commands.add_parser(
        "export",
        help="export a run's model: ONNX, standalone NumPy, or exact formula",
        description="Export a saved model: --onnx (checked against PyTorch with onnxruntime; "
        "extra nnfit[onnx]), --python (a NumPy-only predict function), or --formula (the "
        "exact piecewise-linear function of a one-input ReLU network).",
    )
    export.add_argument("run", metavar="RUN_DIR", help="run folder written by --out")
    export.add_argument("--onnx", metavar="FILE", help="write an ONNX model (.onnx)")
    export.add_argument("--python", metavar="FILE", help="write a standalone NumPy module (.py)")
    export.add_argument(
        "--formula",
        action="store_true",
        help="print the exact piecewise-linear formula (ReLU, one input)",
    )
    export.add_argument("--overwrite", action="store_true", help="replace an existing file")


def _whole(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text.strip()):
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(text)


def _members(text: str) -> int | str:
    return "auto" if text.strip() == "auto" else _whole(text)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _widths(text: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.split(",")]
    if not all(re.fullmatch(r"\d+", p) for p in parts):
        raise argparse.ArgumentTypeError(f"expected widths like 10 or 32,32, got {text!r}")
    return tuple(int(p) for p in parts)


def _pair(text: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected LO,HI such as -1,1, got {text!r}")
    return _number(parts[0]), _number(parts[1])


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match or not (16 <= int(match[1]) <= 8000 and 16 <= int(match[2]) <= 8000):
        raise argparse.ArgumentTypeError(
            f"expected WxH in pixels (16-8000) like 800x400, got {text!r}"
        )
    return int(match[1]), int(match[2])


NEGATIVE_OK = ("--domain", "--lr", "--noise-level", "--val", "--x", "--y")


def _join_negative_values(argv: list[str]) -> list[str]:
    """Let ``--domain -3,3`` work: argparse would take "-3,3" for a flag."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in NEGATIVE_OK and re.match(r"-[\d.]", arg):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def overrides_from(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Flag values the user gave, as per-section overrides for ``build_config``."""
    noise, level = args.noise, args.noise_level
    if noise is not None and ":" in noise:
        noise, _, level_text = noise.partition(":")
        level = _number(level_text) if level is None else level
    return {
        "data": {
            "function": args.function,
            "points": args.points,
            "noise": noise,
            "noise_level": level,
            "domain": args.domain,
            "example": args.example,
            "x": args.x,
            "y": args.y,
            "encoding": args.encoding,
            "drop_missing": args.drop_missing,
            "val": args.val,
        },
        "model": {
            "hidden": args.hidden,
            "activation": args.activation,
            "scale": args.scale,
            "members": args.members,
        },
        "train": {
            "optimizer": args.optimizer,
            "lr": args.lr,
            "steps": args.steps,
            "loss": args.loss,
            "batch_size": args.batch_size,
            "every": args.every,
            "seed": args.seed,
            "device": args.device,
            "patience": args.patience,
            "schedule": args.schedule,
            "restore": args.restore,
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nnfit`` command line; returns the exit status (also ``python -m nnfit``).

    Whatever happens, the answer is an exit status and at most one line on stderr: stdout and
    stderr are guarded (a reader that leaves, ``| head -1``, costs no files), SIGTERM ends the
    command like Ctrl-C (temporary files removed), and errors from the system (a full disk,
    memory, input nested too deeply) are named in one line, never as a traceback.
    """
    from .stdio import guarded, problem

    with guarded() as (out, err), _sigterm_interrupts():
        status = _main(argv)
        out.flush()
        for stream in (out, err):
            message = problem(stream)
            if message and stream is out:
                print(f"{PROG}: error: {message}", file=sys.stderr)
                status = status or 2
    return status


def _main(argv: Sequence[str] | None) -> int:
    from .safetext import printable

    parser = make_parser()
    try:
        args = parser.parse_args(
            _join_negative_values(list(sys.argv[1:] if argv is None else argv))
        )
    except SystemExit as exit_:  # --help, --version and usage errors end here
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    try:
        os.getcwd()
    except OSError:
        print(
            f"{PROG}: error: the current folder no longer exists; cd to an existing folder",
            file=sys.stderr,
        )
        return 2
    try:
        if args.command in ("predict", "show", "export"):
            from . import commands

            return commands.run_model_command(args)
        from .runner import run_command

        return run_command(args)
    except NNFitError as error:
        message, status = str(error), error.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except argparse.ArgumentTypeError as error:
        message, status = str(error), 2
    except MemoryError:
        message, status = "out of memory; use less data, a smaller --hidden or fewer --members", 2
    except RecursionError:
        message, status = "the input is nested too deeply to read; nnfit did not write it", 2
    except OSError as error:  # from the system, not from a check of ours: still one line
        where = f"{error.filename}: " if error.filename else ""
        message, status = f"{where}{error.strerror or error}", 2
    print(f"{PROG}: error: {printable(message)}", file=sys.stderr)
    return status


class _sigterm_interrupts:
    """SIGTERM raises KeyboardInterrupt, as Ctrl-C does, so cleanup runs (main thread only)."""

    def __enter__(self) -> None:
        import signal
        import threading

        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, _interrupt)

    def __exit__(self, *exc: object) -> None:
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def _interrupt(number: int, frame: Any) -> None:
    raise KeyboardInterrupt


__all__ = ["UsageError", "main", "make_parser"]

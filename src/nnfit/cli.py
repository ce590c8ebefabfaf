"""The ``nnfit`` command: a thin adapter that parses flags, builds configs and calls the library.

Only the standard library is imported at the top, so ``nnfit --help`` is instant; torch and
matplotlib load when a command actually runs.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from ._version import __version__
from .errors import NNFitError, UsageError

PROG = "nnfit"
EPILOG = (
    "Examples:\n  nnfit demo\n  nnfit demo --preset morvan-2018 --save fit.gif\n"
    "  nnfit demo --function sin --hidden 32,32 --activation tanh --optimizer adam --lr 0.01\n"
    "  nnfit demo --save-config run.toml && nnfit fit run.toml"
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_run_flags(parser: argparse.ArgumentParser) -> None:
    """Flags shared by ``demo`` and ``fit``: every field of DataConfig, ModelConfig, TrainConfig."""
    data = parser.add_argument_group("data (synthetic)")
    data.add_argument(
        "--function",
        help="quadratic (default), sin, cubic, abs, step, ... "
        "or a formula in x such as 'sin(3*x) + 0.1*x**2'",
    )
    data.add_argument("--points", type=_whole, help="number of evenly spaced x values (100)")
    data.add_argument(
        "--noise",
        help="uniform (the lesson: LEVEL*U(0,1)) or gaussian "
        "(LEVEL*N(0,1)); KIND:LEVEL sets both, e.g. gaussian:0.1",
    )
    data.add_argument("--noise-level", type=_number, help="noise scale (0.2); 0 for none")
    data.add_argument("--domain", type=_pair, help="x range LO,HI (-1,1)")
    model = parser.add_argument_group("model")
    model.add_argument("--hidden", type=_widths, help="hidden layer widths: 10 or 32,32 (10)")
    model.add_argument(
        "--activation",
        help="relu (default), tanh, sigmoid, leaky_relu, elu, gelu, silu or softplus",
    )
    train = parser.add_argument_group("training")
    train.add_argument(
        "--preset",
        help="morvan-2017 (default: lr 0.5, 100 steps) or morvan-2018 (lr 0.2, 200 steps)",
    )
    train.add_argument(
        "--optimizer", help="sgd (default), momentum, nesterov, adam, adamw, rmsprop or lbfgs"
    )
    train.add_argument("--lr", type=_number, help="learning rate (0.5)")
    train.add_argument("--steps", type=_whole, help="optimiser steps (100)")
    train.add_argument("--loss", help="mse (default), l1 or huber")
    train.add_argument("--batch-size", type=_whole, help="points per step (default: all)")
    train.add_argument("--every", type=_whole, help="record a frame every N steps (5)")
    train.add_argument("--seed", type=_whole, help="random seed for data, weights and batches (0)")
    train.add_argument("--device", help="cpu (default), cuda or auto")
    views = parser.add_argument_group("output")
    views.add_argument("--save", metavar="FILE", help="save the animation: .gif or .mp4")
    views.add_argument("--plot", metavar="FILE", help="save the final picture: .png, .svg, .pdf")
    views.add_argument("--log", metavar="FILE", help="write metrics, one JSON line per frame")
    views.add_argument("--save-config", metavar="FILE", help="write the run's settings (TOML)")
    views.add_argument("--fps", type=_number, help="frames per second of animations (10)")
    views.add_argument("--size", type=_size, help="frame size in pixels WxH (800x400)")
    views.add_argument("--no-window", action="store_true", help="no live window")
    views.add_argument(
        "--no-wait", action="store_true", help="close the live window when training ends"
    )
    views.add_argument("--overwrite", action="store_true", help="replace existing output files")
    views.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but errors and the result"
    )


def make_parser() -> argparse.ArgumentParser:
    """The full ``nnfit`` parser (also used to document the flags)."""
    parser = _Parser(
        prog=PROG,
        description="Fit a relation in data with a small neural network and watch it learn.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"nnfit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    demo = commands.add_parser(
        "demo",
        help="the lesson: fit y = x² + noise and watch it learn",
        description="Fit the lesson's noisy parabola (or another function) and watch it learn.",
    )
    _add_run_flags(demo)
    fit = commands.add_parser(
        "fit",
        help="repeat a run from a settings file (--save-config)",
        description="Repeat a run saved with --save-config; flags given here override the file.",
    )
    fit.add_argument("config", metavar="RUN.toml", help="settings file written by --save-config")
    _add_run_flags(fit)
    return parser


def _whole(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text.strip()):
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(text)


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


def _join_negative_values(argv: list[str]) -> list[str]:
    """Let ``--domain -3,3`` work: argparse would take "-3,3" for a flag."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in ("--domain", "--lr", "--noise-level") and re.match(r"-[\d.]", arg):
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
        },
        "model": {"hidden": args.hidden, "activation": args.activation},
        "train": {
            "optimizer": args.optimizer,
            "lr": args.lr,
            "steps": args.steps,
            "loss": args.loss,
            "batch_size": args.batch_size,
            "every": args.every,
            "seed": args.seed,
            "device": args.device,
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nnfit`` command line; returns the exit status (also ``python -m nnfit``)."""
    parser = make_parser()
    try:
        args = parser.parse_args(
            _join_negative_values(list(sys.argv[1:] if argv is None else argv))
        )
    except argparse.ArgumentTypeError as error:  # raised by _number inside overrides
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    if args.command is None:
        parser.print_help()
        return 2
    try:
        from .runner import run_command

        return run_command(args)
    except NNFitError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except argparse.ArgumentTypeError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2


def _exit() -> NoReturn:  # pragma: no cover - the console-script entry point
    sys.exit(main())


__all__ = ["UsageError", "main", "make_parser"]

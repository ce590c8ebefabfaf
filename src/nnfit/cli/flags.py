"""The ``nnfit demo`` / ``nnfit fit`` flags: their table, value types and the overrides they give.

The core speaks field names; this table maps each field to its flag (``batch_size`` →
``--batch-size``), its argparse type and its help.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

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


def add_run_flags(parser: argparse.ArgumentParser) -> None:
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

"""``nnfit race``: flags → the variants (a sweep space of one seed) and the base settings →
``nnfit.race.session.race``."""

from __future__ import annotations

import argparse
import gc
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..setting_text import whole
from ..settings import table
from ..sweep.space import LAYERS, sweepable, sweepable_flags
from .flags import OUTPUT_FLAGS, add_flags, overrides_from, refuse_fit_flags
from .parser import HelpFormatter
from .sweep import add_space_flags

RACE_EXAMPLES = f"""examples:
  nnfit race --optimizer sgd,momentum,rmsprop,adam --lr 0.05
  nnfit race --preset morvan-optimizers          the lesson series' optimiser race
  nnfit race --lr 0.05,0.2,0.5 --save race.gif   the lesson's data, three learning rates
  nnfit race --example pressure --preset data --activation relu,tanh --plot race.png
  nnfit race data.csv --hidden 8,32{LAYERS}32 --optimizer adam --lr 0.01"""
KEPT_OUTPUT_FLAGS = (
    "--save",
    "--plot",
    "--fps",
    "--size",
    "--no-window",
    "--no-wait",
    "--quiet",
    "--overwrite",
)
PLAIN_SETTINGS = ("every", "threads")  # settings a race takes as one value for every variant
THREADS_HELP = "CPU threads for each variant's training (unset: 1; the variants train side by side)"


def add_race_parser(commands: Any) -> None:
    """The ``race`` subcommand: data flags as ``fit``'s, one text flag per setting that can
    vary (a sweep's), the output flags of a single run, and the rest refused in one line."""
    race = commands.add_parser(
        "race",
        help="train variants of a setting from the same weights and watch them race",
        description="Train every combination of the values given (2 to 10 variants) on the "
        "same data from the same initial weights (those of --seed), and show them on one "
        "step clock: each variant's fit in its own colour and their loss curves together. "
        "Prints each variant's final loss, the steps it took to get near the best, its time "
        "and its verdict, and the winner. The demo's data and settings are the base "
        "(--preset data for nnfit fit's).",
        epilog=RACE_EXAMPLES,
        formatter_class=HelpFormatter,
    )
    race.add_argument("source", metavar="SOURCE", nargs="?", help="data file (CSV, NPY, ...)")
    groups = add_space_flags(
        race,
        "settings to race",
        f"each one value, or several (0.01,0.1) for the variants; items may be ranges as in "
        f"nnfit sweep (log:LO..HI:N); a network of several hidden layers joins their widths "
        f"with {LAYERS}: --hidden 16,32{LAYERS}32, and so do one activation per layer: "
        f"--activation tanh,relu{LAYERS}tanh",
    )
    runs = race.add_argument_group("race")
    runs.add_argument(
        "--preset",
        metavar="NAME",
        help="the base settings (default: the demo's); morvan-optimizers also names the "
        "variants (sgd,momentum,rmsprop,adam) unless a setting is given several values",
    )
    runs.add_argument("--seed", type=whole, metavar="N", help="the seed of every variant (0)")
    plain = [(n, k) for n, k in groups["training"] if n[0].lstrip("-") in PLAIN_SETTINGS]
    plain = [(n, {**k, "help": THREADS_HELP} if n[0] == "--threads" else k) for n, k in plain]
    add_flags(runs, plain)
    output = race.add_argument_group("output")
    add_flags(output, [(n, k) for n, k in OUTPUT_FLAGS if n[-1] in KEPT_OUTPUT_FLAGS])
    refuse_fit_flags(race, KEPT_OUTPUT_FLAGS, not_a_race_flag)


def not_a_race_flag(name: str) -> str:
    """The error for a flag of ``fit`` that a race does not take."""
    if any(row.flag == name for row in table()):
        return (
            f"{name} is not a race flag; settings a race can vary: {sweepable_flags()}; "
            "and --seed, --every, --threads"
        )
    return (
        f"{name} is not a race flag: a race trains one network per variant and saves "
        "pictures (--save, --plot), not a run folder or logs"
    )


def run_race_command(args: argparse.Namespace) -> int:
    """Carry out ``nnfit race``; the exit status (130 when Ctrl-C cut it short)."""
    from ..runs.config import DEFAULT_PRESET, RACES, build_config
    from ..runs.runner import Outputs
    from ..sweep.space import from_texts

    texts = {row.name: getattr(args, row.name) for row in sweepable()}
    texts = {name: text for name, text in texts.items() if text is not None}
    preset = args.preset or DEFAULT_PRESET
    varied = [name for name, text in texts.items() if "," in text or ".." in text]
    if not varied and preset in RACES:  # the preset's own race, under the settings given
        texts = {**RACES[preset], **texts}
    overrides = overrides_from(args)  # the data flags; the raced ones are texts
    overrides["model"] = {}
    overrides["train"] = {"seed": args.seed, "every": args.every, "threads": args.threads}
    if args.source is not None:
        if args.function is not None or args.example is not None:
            raise UsageError("give data (a file or --example) or a --function, not both")
        overrides["data"]["file"] = args.source
    space = from_texts(texts, seeds=1)
    config = build_config(preset, base=None, source="flags", **overrides)
    outputs = Outputs(
        save=None if args.save is None else Path(args.save),
        plot=None if args.plot is None else Path(args.plot),
        fps=args.fps if args.fps is not None else 10.0,
        size=args.size if args.size is not None else (800, 400),
        window=not args.no_window,
        wait=not args.no_wait,
        quiet=args.quiet,
        overwrite=args.overwrite,
    )
    from ..race.lanes import check_space

    check_space(space)  # before torch loads
    from ..race.session import race

    try:
        race(config, space, outputs)
    except KeyboardInterrupt:
        return 130
    gc.freeze()  # skip tearing down every object at exit
    return 0

"""The ``nnfit`` command: a thin adapter that parses flags, builds configs and calls the library.

Only the standard library is imported at the top, so ``nnfit --help`` is instant; torch and
matplotlib load when a command actually runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from .._version import __version__
from ..errors import NNFitError, UsageError
from ..setting_text import number, size
from .doctor import add_doctor
from .flags import _join_negative_values, add_run_flags
from .parser import (
    PROG,
    HelpFormatter,
    Parser,
    command_names,
    command_parser,
    unknown,
    unknown_command,
)
from .race import add_race_parser
from .serve import add_serve
from .sweep import add_sweep_parser, unsweepable

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
  nnfit sweep --example pressure --lr 0.003,0.01,0.03 --hidden 8,16,32 --out sweeps/p
  nnfit examples                                list the shipped data sets
  nnfit doctor --seeds 1000                     how often do the lesson's settings fail?
  nnfit race --optimizer sgd,momentum,rmsprop,adam --lr 0.05   which optimiser gets there first?
  nnfit serve --open                            the playground in the browser (nnfit[web])"""
PREDICT_EXAMPLES = """examples:
  nnfit predict runs/p --x 150                  one row; --x 150 --x 200 for two
  nnfit predict runs/p --x 1.5,20               one row of a two-input model
  nnfit predict runs/p new.csv --out pred.csv   every row of a file, all its columns kept
  nnfit predict runs/p --x 400 --std            with the ensemble members' spread
  nnfit predict runs/p new.csv --format json    a list of records, one per row
  cat new.csv | nnfit predict runs/p -          CSV on stdin, predictions on stdout"""
SHOW_EXAMPLES = """examples:
  nnfit show runs/p                             summary and the final picture
  nnfit show runs/p --no-window                 summary and the picture's path only
  nnfit show runs/p --animate fit.gif           replay training, no retraining"""
EXPORT_EXAMPLES = """examples:
  nnfit export runs/p --onnx model.onnx         for onnxruntime (extra nnfit[onnx])
  nnfit export runs/p --python model.py         a NumPy-only predict(x) function
  nnfit export runs/p --formula                 exact function (ReLU, 1 input)"""


def make_parser() -> argparse.ArgumentParser:
    """The full ``nnfit`` parser (also used to document the flags)."""
    formatter = HelpFormatter
    parser = Parser(
        prog=PROG,
        description="Fit a relation in data with a small neural network and watch it learn.",
        epilog=EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"nnfit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    demo = commands.add_parser(
        "demo",
        help="the lesson: fit y = x² + noise and watch it learn",
        description="Fit the lesson's noisy parabola (or another --function) and watch it "
        "learn, with the lesson's settings unless flags say otherwise.",
        epilog=EPILOG,
        formatter_class=formatter,
    )
    add_run_flags(demo)
    fit = commands.add_parser(
        "fit",
        help="fit your data: a file, an --example, a --function, or a saved RUN.toml",
        description="Fit a relation in your data with nnfit's defaults for real data "
        "(standardised x and y, 32,32 tanh units, Adam; on small data up to 20 such networks, "
        "each stopped early on its own share of the rows, averaged; one network with a 20% "
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
        metavar="RUN",
        help="continue an interrupted or checkpointed run folder exactly where it stopped",
    )
    add_run_flags(fit)
    _add_model_commands(commands)
    add_sweep_parser(commands)
    add_race_parser(commands)
    add_doctor(commands)
    add_serve(commands)
    commands.add_parser(
        "examples",
        help="list the data sets shipped with nnfit",
        description="List the data sets shipped with nnfit; fit one with nnfit fit --example NAME.",
        formatter_class=formatter,
    )
    return parser


def _add_model_commands(commands: Any) -> None:
    """``predict``, ``show`` and ``export``: use a saved run folder."""
    predict = commands.add_parser(
        "predict",
        help="predict with a saved run folder",
        description="Predict with a saved model: for each row of a data file (its input "
        "columns are matched by name to those the model was trained on; its other columns, "
        "of any content, are copied as written before the predictions, so an id column lets "
        "the results be joined back), or for --x values. "
        "Inputs outside the range the model was trained on get a warning on stderr: the "
        "predictions there are extrapolations.",
        epilog=PREDICT_EXAMPLES,
        formatter_class=HelpFormatter,
    )
    predict.add_argument("run", metavar="RUN", help="run folder written by --out")
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
    predict.add_argument(
        "--std",
        action="store_true",
        help="add a NAME_std column after each NAME_pred: the standard deviation of the "
        "ensemble members' predictions (0 for a single network)",
    )
    predict.add_argument(
        "--encoding", metavar="CODEC", help="text encoding of DATA (default: detected)"
    )
    predict.add_argument(
        "--drop-missing",
        action="store_true",
        help="skip DATA's rows with missing values (says how many) instead of refusing them",
    )
    predict.add_argument(
        "--format",
        choices=("csv", "tsv", "json"),
        default=None,
        help="output format (default: from --out's suffix, else csv); json is a list of "
        "records, one per row",
    )
    predict.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    show = commands.add_parser(
        "show",
        help="summarise a run folder and show its picture",
        description="Print a run's architecture, data, metrics and diagnosis, show its final "
        "picture, or replay its history into an animation without retraining.",
        epilog=SHOW_EXAMPLES,
        formatter_class=HelpFormatter,
    )
    show.add_argument("run", metavar="RUN", help="run folder written by --out")
    show.add_argument("--animate", metavar="FILE", help="replay the history into .gif or .mp4")
    show.add_argument("--fps", type=number, metavar="FPS", help="frames per second (10)")
    show.add_argument("--size", type=size, metavar="WxH", help="frame size in pixels (800x400)")
    show.add_argument("--no-window", action="store_true", help="print the picture's path only")
    show.add_argument("--overwrite", action="store_true", help="replace an existing file")
    export = commands.add_parser(
        "export",
        help="export a run's model: ONNX, standalone NumPy, or exact formula",
        description="Export a saved model: --onnx (checked against PyTorch with onnxruntime; "
        "extra nnfit[onnx]), --python (a NumPy-only predict function), or --formula (the "
        "exact piecewise-linear function of a one-input ReLU network).",
        epilog=EXPORT_EXAMPLES,
        formatter_class=HelpFormatter,
    )
    export.add_argument("run", metavar="RUN", help="run folder written by --out")
    export.add_argument("--onnx", metavar="FILE", help="write an ONNX model (.onnx)")
    export.add_argument("--python", metavar="FILE", help="write a standalone NumPy module (.py)")
    export.add_argument(
        "--formula",
        action="store_true",
        help="print the exact piecewise-linear formula (ReLU, one input)",
    )
    export.add_argument("--overwrite", action="store_true", help="replace an existing file")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nnfit`` command line; returns the exit status (also ``python -m nnfit``).

    Whatever happens, the answer is an exit status and at most one line on stderr: stdout and
    stderr are guarded (a reader that leaves, ``| head -1``, costs no files), SIGTERM ends the
    command like Ctrl-C (temporary files removed), and errors from the system (a full disk,
    memory, input nested too deeply) are named in one line, never as a traceback.
    """
    from ..io.stdio import guarded, problem

    with guarded() as (out, _), _sigterm_interrupts():
        status = _main(argv)
        out.flush()
        message = problem(out)  # a closed stderr has nowhere to say anything
        if message:
            print(f"{PROG}: error: {message}", file=sys.stderr)
            status = status or 2
    return status


def _main(argv: Sequence[str] | None) -> int:
    from ..checks import FieldError, SettingsError
    from ..safetext import printable

    parser = make_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        if words and not words[0].startswith("-") and words[0] not in command_names(parser):
            parser.error(unknown_command(parser, words[0]))
        args, extra = parser.parse_known_args(_join_negative_values(words))
        if extra:  # named by the command that was given: "see nnfit fit --help"
            command = command_parser(parser, args.command)
            if args.command == "sweep":  # a flag of fit's, or none: name what can be swept
                command.error(unsweepable(extra[0].partition("=")[0]))
            command.error(unknown(command, extra))
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
        if args.command == "sweep":
            from .sweep import run_sweep_command

            return run_sweep_command(args)
        if args.command == "race":
            from .race import run_race_command

            return run_race_command(args)
        if args.command == "doctor":
            from .doctor import run_doctor

            return run_doctor(args)
        if args.command == "serve":
            from .serve import run_serve

            return run_serve(args)
        from .fit import run_command

        return run_command(args)
    except (FieldError, SettingsError) as error:  # the core names fields; the CLI names flags
        message, status = error.flagged(), error.exit_code
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

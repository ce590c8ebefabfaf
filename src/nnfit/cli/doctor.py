"""``nnfit doctor``: flags → the setting → ``runs.doctor.doctor`` → the report, text or JSON."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checks import SettingsError, flag
from ..errors import UsageError
from ..runs.config import DEFAULT_PRESET, RunConfig, build_config
from ..safetext import printable
from ..setting_text import whole
from .flags import add_run_flags, overrides_from
from .parser import HelpFormatter

if TYPE_CHECKING:
    from ..runs.doctor import Trial

DOCTOR_EXAMPLES = """examples:
  nnfit doctor                                  the lesson's settings over 1000 seeds
  nnfit doctor --preset morvan-2018             the 2018 settings
  nnfit doctor --seeds 200 --lr 0.1             fewer seeds, another rate
  nnfit doctor --hidden 32 --optimizer adam --lr 0.01
  nnfit doctor --example pressure --preset data --no-compare
  nnfit doctor --format json --out doctor.json  the report for programs"""

# Settings a doctor run decides itself: one network per seed, trained on all rows.
NOT_FOR_DOCTOR = {
    "members": "it trains one network per seed; use --seeds N",
    "val": "every seed trains on all rows",
    "patience": "every seed trains on all rows, so nothing stops early",
}


def add_doctor(commands: Any) -> None:
    """``doctor``: the demo's settings over many seeds at once."""
    doctor = commands.add_parser(
        "doctor",
        help="how often does a setting fail? many seeds trained at once",
        description="Train a setting (the lesson's unless flags say otherwise, as nnfit demo) "
        "over many seeds at once, as one batched run in which each seed is its own network "
        "trained on all rows, and judge each as a single run is judged: good fit, dead "
        "units, stalled, unfinished or diverged. Every seed trains on the same data, the data "
        "of --seed, the first seed (the first seed's network is nnfit demo --seed SEED's, to "
        "float rounding). Then a few single changes are trained over the same seeds and the "
        "one that fails least is named.",
        epilog=DOCTOR_EXAMPLES,
        formatter_class=HelpFormatter,
    )
    doctor.add_argument(
        "--seeds",
        type=whole,
        default=1000,
        metavar="N",
        help="how many seeds, from --seed on (default: 1000)",
    )
    doctor.add_argument(
        "--compare",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also train a few single changes over the same seeds and name the one that "
        "fails least (default: on)",
    )
    doctor.add_argument(
        "--format",
        choices=("text", "json"),
        default=None,
        help="report format (default: from --out's suffix, else text)",
    )
    doctor.add_argument("--out", metavar="FILE", help="write the report here instead of stdout")
    doctor.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    doctor.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    add_run_flags(doctor, outputs=False, unlisted=[*NOT_FOR_DOCTOR, "member_lr"])


def run_doctor(args: argparse.Namespace) -> int:
    """Carry out ``nnfit doctor``; exit status. Every flag is checked before torch loads."""
    from ..io.files import write_text_or_stdout
    from ..io.targets import check_output
    from ..runs.doctor import check_doctor_config

    overrides = overrides_from(args)
    for name, why in NOT_FOR_DOCTOR.items():
        section = "data" if name == "val" else "model" if name == "members" else "train"
        if overrides[section].get(name) is not None:
            raise UsageError(f"nnfit doctor takes no {flag(name)}: {why}")
    config = check_doctor_config(
        build_config(args.preset or DEFAULT_PRESET, source="flags", **overrides), args.seeds
    )
    out = None
    if args.out is not None and args.out != "-":
        out = check_output(
            Path(args.out), flag="--out", kind="doctor", overwrite=args.overwrite, stdout=True
        )
    kind = args.format or ("json" if out is not None and out.suffix.lower() == ".json" else "text")
    _check_fits(config, args.seeds)
    write_text_or_stdout(_report(config, args, kind), out, overwrite=args.overwrite)
    if out is not None:
        print(printable(f"report written to {out}"), file=sys.stderr)
    gc.freeze()  # skip tearing down every object at exit: the process ends sooner
    return 0


def _check_fits(config: RunConfig, seeds: int) -> None:
    """Refuse, before torch loads, seeds x the network too big for memory (synthetic data,
    whose size is known; a file's is checked once read)."""
    if not config.data.synthetic:
        return
    from ..core.model_config import check_size
    from ..data.formula import resolve_function

    n_in = resolve_function(config.data.function).n_inputs
    try:
        check_size(n_in, config.model.hidden, 1, members=seeds, rows=config.data.points)
    except SettingsError as error:  # the members are the seeds here: say --seeds
        names = ["seeds" if name == "members" else name for name in error.names]
        raise SettingsError(error.text.replace("{members}", "{seeds}"), *names) from None


def _report(config: RunConfig, args: argparse.Namespace, kind: str) -> str:
    from ..runs.doctor import doctor
    from ..runs.doctor_report import changes_text, report_json, report_text

    def progress(trial: Trial) -> None:
        if not args.quiet:
            print(
                f"nnfit doctor: {changes_text(trial.changes)}: {trial.failures} of "
                f"{len(trial.kinds)} seeds fail ({trial.seconds:.1f} s)",
                file=sys.stderr,
            )

    report = doctor(config, args.seeds, compare=args.compare, progress=progress)
    if kind == "json":
        return json.dumps(report_json(report), indent=2, allow_nan=False) + "\n"
    return report_text(report)

"""``nnfit sweep``: flags (or a TOML file's [sweep] table) → a search space and the base
settings → ``nnfit.sweep.runner.run_sweep``."""

from __future__ import annotations

import argparse
import gc
from pathlib import Path
from typing import Any

from ..data.synthetic import FILES, SYNTHETIC
from ..errors import UsageError
from ..setting_text import whole
from ..settings import table
from ..sweep.space import DEFAULT_SEEDS, LAYERS, sweepable, sweepable_flags
from .flags import add_flags, overrides_from, refuse_fit_flags, run_flags
from .parser import HelpFormatter

SWEEP_EXAMPLES = f"""examples:
  nnfit sweep data.csv --hidden 8,16,32 --lr 0.003,0.01,0.1 --activation relu,tanh
  nnfit sweep --example pressure --lr log:0.001..0.3:8 --hidden 16..128:x2 --out sweeps/p
  nnfit sweep --function "sin(3*x)" --hidden 16,32{LAYERS}32 --optimizer adam,sgd --seeds 10
  nnfit sweep space.toml --out sweeps/s          a [sweep] table, and [data], [model], [train]
  nnfit predict sweeps/p/best --x 150            the best setting, retrained as a run folder
  nnfit sweep --resume sweeps/p                  finish a sweep stopped with Ctrl-C
  nnfit sweep data.csv --lr log:1e-4..1 --hidden 8..256 --trials 200 \\
      --storage sqlite:///sweep.db --study s1    Optuna: start it again for more workers
  nnfit sweep --storage sqlite:///sweep.db --study s1 --report --out sweeps/s1
  nnfit sweep data.csv --lr log:1e-4..1 --hidden 8..256 --trials 100 --backend ray
  nnfit sweep data.csv --lr log:1e-4..1 --trials 500 --backend ray --address auto"""
KEPT_OUTPUT_FLAGS = ("--out", "--overwrite", "--quiet")
HIDDEN_HELP = f"hidden layer widths: 8,16 is two networks, 32{LAYERS}32 one with two layers"
SPACE_HELP = {  # where a list of the setting's values reads differently from its flag in fit
    "hidden": HIDDEN_HELP,
    "activation": f"activations: relu,tanh is two networks, relu{LAYERS}tanh one with a relu "
    "then a tanh layer",
}


def add_space_flags(parser: Any, title: str, description: str) -> dict[str, Any]:
    """The data flags of ``fit`` and one text flag (VALUES) per setting a sweep can vary, as
    ``sweep`` and ``race`` take them; returns ``run_flags()``'s groups for the rest."""
    groups = run_flags()
    for group in (SYNTHETIC, FILES):
        add_flags(parser.add_argument_group(group), groups[group])
    space = parser.add_argument_group(title, description)
    for row in sweepable():
        help_ = SPACE_HELP.get(row.name, row.help)
        space.add_argument(row.flag, metavar="VALUES", help=help_.replace("%", "%%"))
    return groups


def add_sweep_parser(commands: Any) -> None:
    """The ``sweep`` subcommand: data flags as ``fit``'s, one text flag per sweepable setting,
    and every other setting or output flag of ``fit`` refused with the list of those that can
    be swept."""
    sweep = commands.add_parser(
        "sweep",
        help="try many settings, each over several seeds, and rank them by cross-validated error",
        description="Train every combination of the settings given, each over --seeds seeds, "
        "and rank them by cross-validated RMSE in y's units: the network of seed j holds out "
        "fold j of the rows (--val 0.2: 5 folds). Settings that share an architecture train "
        "as one batched run, each network with its own learning rate, seed, early stopping "
        "and divergence; nnfit fit's defaults for real data are the base. SOURCE is a data "
        "file or a TOML file whose [sweep] table holds the settings to sweep.",
        epilog=SWEEP_EXAMPLES,
        formatter_class=HelpFormatter,
    )
    sweep.add_argument(
        "source", metavar="SOURCE", nargs="?", help="data file, or a TOML file with [sweep]"
    )
    add_space_flags(
        sweep,
        "settings to sweep",
        f"each a list (0.01,0.1) whose items may be ranges: LO..HI:N (N even steps), "
        f"log:LO..HI:N, LO..HI:xF (times F), LO..HI:+S (plus S); a network of several hidden "
        f"layers joins their widths with {LAYERS}: --hidden 16,32{LAYERS}32",
    )
    runs = sweep.add_argument_group("sweep")
    runs.add_argument(
        "--seeds",
        type=whole,
        metavar="N",
        help=f"networks per setting, each from its own seed and holding out its own fold "
        f"({DEFAULT_SEEDS})",
    )
    runs.add_argument("--seed", type=whole, metavar="N", help="the first seed (0)")
    runs.add_argument(
        "--preset", metavar="NAME", help="the base settings (default: data, as nnfit fit)"
    )
    runs.add_argument(
        "--out",
        metavar="DIR",
        help="save results.csv, results.json, pictures and the best setting retrained as a "
        "run folder (DIR/best)",
    )
    runs.add_argument("--overwrite", action="store_true", help="replace a sweep folder")
    runs.add_argument(
        "--resume",
        metavar="DIR",
        help="continue an interrupted sweep folder: its finished runs are kept, the rest train",
    )
    runs.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but errors and the table"
    )
    _add_study_flags(sweep)
    _add_ray_flags(sweep)
    refuse_fit_flags(sweep, KEPT_OUTPUT_FLAGS, unsweepable)


def _add_study_flags(sweep: Any) -> None:
    """The Optuna backend's flags: workers of a study in a shared storage."""
    from ..sweep.study import HEARTBEAT, PRUNERS, SAMPLERS

    study = sweep.add_argument_group(
        "Optuna workers (extra nnfit[sweep])",
        "sample --trials settings from the space instead of trying every combination (a "
        "range needs no count here: --lr log:1e-4..1 draws from the whole span); every "
        "process started with the same --storage and --study is a worker of one study",
    )
    study.add_argument(
        "--trials", type=whole, metavar="N", help="trials of the study, all workers together"
    )
    study.add_argument(
        "--storage",
        metavar="URL",
        help="sqlite:///sweep.db, journal:///path/sweep.log (one machine) or "
        "postgresql+psycopg://user@host/db (many)",
    )
    study.add_argument("--study", metavar="NAME", help="the study's name in the storage")
    study.add_argument(
        "--sampler", choices=SAMPLERS, help="how settings are drawn (tpe; grid: the space's values)"
    )
    study.add_argument(
        "--pruner",
        choices=PRUNERS,
        help="stop trials whose held-out loss lags the others' at the same step (median)",
    )
    study.add_argument(
        "--heartbeat",
        type=whole,
        metavar="S",
        help=f"seconds between a running trial's heartbeats ({HEARTBEAT}); a trial silent "
        "for twice that is failed and run again (database storages)",
    )
    study.add_argument(
        "--report",
        action="store_true",
        help="print the study's table and, with --out, save its folder and best model",
    )


def _add_ray_flags(sweep: Any) -> None:
    """The Ray Tune backend's flags: where the trials run and what each takes."""
    ray = sweep.add_argument_group(
        "Ray Tune (extra nnfit[ray])",
        "--backend ray runs --trials sampled settings (20) through Ray Tune: Optuna's "
        "sampler picks them, ASHA stops those that lag; a local Ray is started for the sweep "
        "(a few seconds, ~0.7 GB) unless --address names a running cluster",
    )
    ray.add_argument(
        "--backend", choices=("local", "ray"), help="where the trials run (local: this process)"
    )
    ray.add_argument("--address", metavar="ADDR", help="a running Ray cluster: auto or HOST:PORT")
    ray.add_argument("--cpus-per-trial", type=float, metavar="N", help="CPUs per trial (1)")
    ray.add_argument("--gpus-per-trial", type=float, metavar="N", help="GPUs per trial (0)")


def _ray_options(args: argparse.Namespace) -> Any:
    """The Ray sweep asked for with --backend ray, or None (refusing Ray's flags without it
    and the other backends' flags with it)."""
    from ..sweep.raytune import DEFAULT_TRIALS, RayOptions

    ray_flags = [
        f
        for f, v in (
            ("--address", args.address),
            ("--cpus-per-trial", args.cpus_per_trial),
            ("--gpus-per-trial", args.gpus_per_trial),
        )
        if v is not None
    ]
    if args.backend != "ray":
        if ray_flags:
            raise UsageError(f"{ray_flags[0]} goes with --backend ray")
        return None
    others = [
        f
        for f, v in (
            ("--storage", args.storage),
            ("--study", args.study),
            ("--pruner", args.pruner),
            ("--heartbeat", args.heartbeat),
            ("--report", args.report or None),
            ("--resume", args.resume),
        )
        if v is not None
    ]
    if others:
        raise UsageError(
            f"{others[0]} is not for --backend ray (Ray Tune keeps no study: ASHA prunes, "
            "the table is printed at the end)"
        )
    return RayOptions(
        DEFAULT_TRIALS if args.trials is None else args.trials,
        address=args.address,
        cpus_per_trial=1.0 if args.cpus_per_trial is None else args.cpus_per_trial,
        gpus_per_trial=0.0 if args.gpus_per_trial is None else args.gpus_per_trial,
        sampler=args.sampler or "tpe",
    )


def _study_place(args: argparse.Namespace) -> Any:
    """The study named by --storage and --study, or None when neither is given."""
    from ..sweep.study import HEARTBEAT, StudyPlace

    wanted = args.trials is not None or args.report
    given = args.storage is not None or args.study is not None
    if not wanted:
        extra = [
            f
            for f, v in (
                ("--sampler", args.sampler),
                ("--pruner", args.pruner),
                ("--heartbeat", args.heartbeat),
            )
            if v is not None
        ]
        if given or extra:
            raise UsageError(
                "--storage, --study, --sampler, --pruner and --heartbeat go with --trials N "
                "(a worker of an Optuna study) or --report"
            )
        return None
    if args.storage is None or args.study is None:
        raise UsageError(
            "--trials and --report need --storage URL and --study NAME, like "
            "--storage sqlite:///sweep.db --study s1"
        )
    if args.resume is not None:
        raise UsageError(
            "--resume continues a local sweep folder; a study continues when "
            "its command is started again"
        )
    heartbeat = HEARTBEAT if args.heartbeat is None else args.heartbeat
    return StudyPlace(args.storage, args.study, heartbeat)


def _report(
    args: argparse.Namespace,
    place: Any,
    overrides: dict[str, dict[str, Any]],
    texts: dict[str, str],
) -> int:
    """``nnfit sweep --storage URL --study NAME --report``."""
    from ..sweep.report import report_command
    from ..sweep.runner import SweepOutputs

    given = [k for section in overrides.values() for k, v in section.items() if v is not None]
    given = sorted([*given, *texts])
    extra = [
        f
        for f, v in (
            ("--seeds", args.seeds),
            ("--preset", args.preset),
            ("--trials", args.trials),
            ("--sampler", args.sampler),
            ("--pruner", args.pruner),
        )
        if v is not None
    ]
    if given or extra or args.source:
        drop = ", ".join([*(f"--{k.replace('_', '-')}" for k in given), *extra]) or "SOURCE"
        raise UsageError(f"--report reads the study's own settings; drop {drop}")
    outputs = SweepOutputs(
        out=None if args.out is None else Path(args.out),
        overwrite=args.overwrite,
        quiet=args.quiet,
    )
    status = report_command(place, outputs)
    gc.freeze()
    return status


def _resume(
    args: argparse.Namespace, overrides: dict[str, dict[str, Any]], texts: dict[str, str]
) -> int:
    """``nnfit sweep --resume DIR``: the sweep's own settings, continued into its folder."""
    from ..sweep.runner import SweepOutputs, run_sweep
    from ..sweep.store import read_state

    given = [k for section in overrides.values() for k, v in section.items() if v is not None]
    given = sorted([*given, *texts])
    extra = [flag for flag, value in (("--seeds", args.seeds), ("--preset", args.preset)) if value]
    if given or extra or args.source:
        drop = ", ".join([*(f"--{k.replace('_', '-')}" for k in given), *extra]) or "SOURCE"
        raise UsageError(f"--resume continues a sweep with its own settings; drop {drop}")
    folder = Path(args.resume)
    base, space, preset, digest, done = read_state(folder)
    outputs = SweepOutputs(
        out=Path(args.out) if args.out else folder,
        overwrite=args.overwrite or not args.out,
        quiet=args.quiet,
    )
    _, interrupted = run_sweep(base, space, outputs, preset=preset, resume=done, data_sha256=digest)
    gc.freeze()
    return 130 if interrupted else 0


def unsweepable(name: str) -> str:
    """The error for a flag a sweep does not take: a setting it cannot sweep, or any other."""
    setting = any(row.flag == name for row in table())
    what = "cannot be swept" if setting else "is not a sweep flag"
    return f"{name} {what}; settings that can be swept: {sweepable_flags()} (and --seeds N)"


def run_sweep_command(args: argparse.Namespace) -> int:
    """Carry out ``nnfit sweep``; the exit status (130 when Ctrl-C cut it short)."""
    from ..runs.config import DATA_PRESET, PRESET_KEY, build_config, read_config
    from ..sweep.runner import SweepOutputs, run_sweep
    from ..sweep.space import Space, from_table, from_texts

    overrides = overrides_from(args)  # the data flags; the swept ones are texts
    texts = {row.name: getattr(args, row.name) for row in sweepable()}
    texts = {name: text for name, text in texts.items() if text is not None}
    ray = _ray_options(args)
    place = None if ray is not None else _study_place(args)
    if place is not None and args.report:
        return _report(args, place, overrides, texts)
    if args.resume is not None:
        return _resume(args, overrides, texts)
    overrides["model"], overrides["train"] = {}, {"seed": args.seed}
    base: dict[str, Any] = {}
    source, preset, file_space = "flags", args.preset, None
    # a sampler draws from a range's span: LO..HI needs no count (the grid takes the counts)
    sampling = (place is not None or ray is not None) and args.sampler != "grid"
    is_toml = args.source is not None and args.source.lower().endswith(".toml")
    if is_toml:
        base, source = read_config(args.source), str(args.source)
        file_preset = base.pop(PRESET_KEY, None)
        preset = preset or file_preset
        if "sweep" in base:
            file_space = from_table(
                base.pop("sweep"), source=source, seeds=args.seeds, sampling=sampling
            )
    elif args.source is not None:
        overrides["data"]["file"] = args.source
    has_file = args.source is not None and not is_toml
    if args.function is not None and (args.example is not None or has_file):
        raise UsageError("give data (a file or --example) or a --function, not both")
    if not is_toml and not has_file and args.example is None and args.function is None:
        raise UsageError(
            "nnfit sweep needs data: a file (data.csv), --example NAME, --function FORMULA, "
            "or a TOML file with a [sweep] table"
        )
    seeds = args.seeds if args.seeds is not None else DEFAULT_SEEDS
    space = from_texts(
        texts,
        seeds=file_space.seeds if file_space and args.seeds is None else seeds,
        sampling=sampling,
    )
    if file_space is not None:  # flags win over the file's values of the same setting
        kept = tuple(d for d in file_space.dimensions if d.name not in texts)
        space = Space(kept + space.dimensions, space.seeds)
    preset = preset or DATA_PRESET
    config = build_config(preset, base=base, source=source, **overrides)
    outputs = SweepOutputs(
        out=None if args.out is None else Path(args.out),
        overwrite=args.overwrite,
        quiet=args.quiet,
    )
    if ray is not None:
        from ..sweep.raytune import run_ray

        _, interrupted = run_ray(config, space, ray, outputs, preset=preset)
    elif place is not None:
        from ..sweep.workers import StudyOptions, run_worker

        options = StudyOptions(
            place, args.trials, sampler=args.sampler or "tpe", pruner=args.pruner or "median"
        )
        _, interrupted = run_worker(config, space, options, outputs, preset=preset)
    else:
        _, interrupted = run_sweep(config, space, outputs, preset=preset)
    gc.freeze()  # skip tearing down every object at exit
    return 130 if interrupted else 0

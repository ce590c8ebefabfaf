"""``nnfit demo``, ``nnfit fit`` and ``nnfit examples``: flags → configs → ``runs.runner.run``."""

from __future__ import annotations

import argparse
import gc
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..runs.config import DATA_PRESET, DEFAULT_PRESET, build_config, read_config
from ..runs.runner import INTERRUPTED, Outputs, run
from .flags import overrides_from


def run_command(args: argparse.Namespace) -> int:
    """Carry out ``nnfit demo``, ``nnfit fit [SOURCE]`` or ``nnfit examples``; exit status."""

    if args.command == "examples":
        from ..data.datasets import format_examples

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
    from ..runs.runfolder import load_state, read_run

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

"""A whole run's settings: data, model and training, with presets and TOML files.

The CLI flags, ``--save-config`` files and (later) the web form all map onto these same fields.
"""

from __future__ import annotations

import os
import stat
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..checks import FieldError, shown
from ..core.model_config import ModelConfig
from ..core.train_config import TrainConfig
from ..data.synthetic import DataConfig
from ..errors import UsageError
from ..memory import format_bytes
from ..safetext import did_you_mean, printable
from ..settings import REAL_DATA_DEFAULTS, SECTIONS
from ..settings import table as settings_table

# The lesson, as published in 2017, and its 2018 revision (lower lr, twice the steps); and
# nnfit's defaults for real data (nnfit.settings.REAL_DATA_DEFAULTS, defended in the README).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "morvan-2017": {"train": {"lr": 0.5, "steps": 100}},
    "morvan-2018": {"train": {"lr": 0.2, "steps": 200}},
    # the lesson series' optimiser comparison (its 306_optimizer.py), raced by nnfit race:
    # 1,000 points of x**2 + N(0, 0.1); a 1-20-1 ReLU net; lr 0.01; minibatches of 32 for 12
    # epochs (31 full batches of the 1,000 rows each: 372 steps); Momentum 0.8, RMSprop's
    # alpha 0.9, Adam's betas (0.9, 0.99)
    "morvan-optimizers": {
        "data": {"points": 1000, "noise": "gaussian", "noise_level": 0.1},
        "model": {"hidden": (20,), "activation": "relu"},
        "train": {
            "lr": 0.01,
            "batch_size": 32,
            "steps": 12 * (1000 // 32),
            "every": 4,
            "momentum": 0.8,
            "rmsprop_alpha": 0.9,
            "beta1": 0.9,
            "beta2": 0.99,
        },
    },
    "data": {
        section: {
            s.name: REAL_DATA_DEFAULTS[s.name]
            for s in settings_table()
            if s.section == section and s.name in REAL_DATA_DEFAULTS
        }
        for section in SECTIONS
    },
}
# what a preset races when no setting is given several values (nnfit race --preset NAME)
RACES: dict[str, dict[str, str]] = {
    "morvan-optimizers": {"optimizer": "sgd,momentum,rmsprop,adam"},
}
DEFAULT_PRESET = "morvan-2017"  # for nnfit demo
DATA_PRESET = "data"  # for nnfit fit
PRESET_KEY = "__preset__"  # where read_config puts a file's preset
MAX_CONFIG_BYTES = 1_000_000


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run's result; same seed + same RunConfig = same losses."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Nested plain dict (None values left out, tuples as lists), ready for TOML or JSON."""
        out: dict[str, dict[str, Any]] = {}
        for name in SECTIONS:
            section = asdict(getattr(self, name))
            out[name] = {
                k: list(v) if isinstance(v, tuple) else v
                for k, v in section.items()
                if v is not None
            }
        return out


def build_config(
    preset: str = DEFAULT_PRESET,
    *,
    base: dict[str, dict[str, Any]] | None = None,
    source: str = "settings",
    **overrides: dict[str, Any],
) -> RunConfig:
    """Defaults ← preset ← ``base`` (a config file's tables) ← ``overrides`` (flags), validated.

    Args:
        preset: one of PRESETS.
        base: nested {"data": {...}, "model": {...}, "train": {...}} values, e.g. from a file.
        source: where ``base`` came from, for error messages.
        **overrides: per-section dicts of values that win over everything else.
    """
    if not isinstance(preset, str) or preset not in PRESETS:
        raise UsageError(f"--preset must be one of {', '.join(PRESETS)}, got {shown(preset)}")
    # A file's own preset was read by read_config; a --preset flag wins over it.
    tables = _check_tables({k: v for k, v in (base or {}).items() if k != PRESET_KEY}, source)
    sections = {}
    for name, cls in SECTIONS.items():
        values = dict(PRESETS[preset].get(name, {}))
        values.update({k: v for k, v in tables.get(name, {}).items() if v is not None})
        flags = {k: v for k, v in (overrides.get(name) or {}).items() if v is not None}
        values.update(flags)
        try:  # each config checks its fields' types and ranges (nnfit.checks)
            sections[name] = cls(**values)
        except FieldError as error:  # worded by key when the value came from the file
            if error.name in tables.get(name, {}) and error.name not in flags:
                raise error.in_file(source, name) from None
            raise
    return RunConfig(**sections)


def _check_tables(tables: dict[str, Any], source: str) -> dict[str, dict[str, Any]]:
    """Refuse unknown sections and keys, suggesting the nearest name."""
    source = printable(source)
    if not isinstance(tables, dict):
        raise UsageError(f"{source}: settings must be tables [data], [model] and [train]")
    for name, table in tables.items():
        if name not in SECTIONS:
            owner = [s for s, cls in SECTIONS.items() if name in {f.name for f in fields(cls)}]
            if owner and not isinstance(table, dict):  # seed = 1 above every [section]
                raise UsageError(f"{source}: {shown(name)} belongs in the [{owner[0]}] table")
            raise UsageError(
                f"{source}: unknown section [{printable(name)}]{did_you_mean(name, SECTIONS)}; "
                f"sections are: {', '.join(SECTIONS)}"
            )
        if not isinstance(table, dict):
            raise UsageError(f"{source}: [{name}] must be a table of settings")
        known = [f.name for f in fields(SECTIONS[name])]
        for key in table:
            if key not in known:
                raise UsageError(
                    f"{source}: unknown key {shown(key)} in [{name}]{did_you_mean(key, known)}; "
                    f"keys are: {', '.join(known)}"
                )
    return tables


def read_config(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Read a TOML run file into nested tables (validated later by ``build_config``).

    The file's ``preset``, checked here, comes back under the key ``"__preset__"``; a
    ``--preset`` flag wins over it (``build_config`` ignores that key).
    """
    import tomllib  # here, not at the top: nnfit --help reads the presets above

    path = Path(path)
    where = printable(path)
    if path.is_dir():
        raise UsageError(f"{where} is a folder; give a .toml file written by --save-config")
    try:
        data = tomllib.loads(_read_small(path).decode("utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{where}: cannot read: {printable(error)}") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{where}: not valid TOML: {printable(error)}") from None
    except RecursionError:
        raise UsageError(f"{where}: not valid TOML (nested too deeply)") from None
    preset = data.pop("preset", None)
    if preset is not None:
        if not isinstance(preset, str) or preset not in PRESETS:
            raise UsageError(
                f"{where}: preset must be one of {', '.join(PRESETS)}, got {shown(preset)}"
            )
        data[PRESET_KEY] = preset
    return data


def _read_small(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_CONFIG_BYTES; never waits on a FIFO."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UsageError(f"{printable(path)} is not a regular file; give a .toml file")
        raw = f.read(MAX_CONFIG_BYTES + 1)
    if len(raw) > MAX_CONFIG_BYTES:
        raise UsageError(
            f"{printable(path)} is over {format_bytes(MAX_CONFIG_BYTES)}; a run file written "
            "by --save-config is a few hundred bytes"
        )
    return raw


def config_toml(config: RunConfig, *, preset: str = DEFAULT_PRESET) -> str:
    """The run's settings as TOML text that ``nnfit fit FILE`` reads back."""
    import tomli_w

    from .._version import __version__

    header = f"# nnfit {__version__} run settings; repeat with: nnfit fit THIS_FILE\n"
    return header + tomli_w.dumps({"preset": preset, **config.to_dict()})


def with_seed(config: RunConfig, seed: int) -> RunConfig:
    """The same run with another seed."""
    return replace(config, train=replace(config.train, seed=seed))


def run_name(config: RunConfig) -> str:
    """The run in a word or two, for window titles: the example, the data file, or "demo"."""
    data = config.data
    if data.example is not None:
        return data.example
    if data.file is not None:
        return "stdin" if data.file == "-" else Path(data.file).name
    return "demo"

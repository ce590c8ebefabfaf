"""A whole run's settings: data, model and training, with presets and TOML files.

The CLI flags, ``--save-config`` files and (later) the web form all map onto these same fields.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .data import DataConfig
from .errors import UsageError
from .estimator import REAL_DATA_DEFAULTS
from .model import ModelConfig
from .training import TrainConfig

# The lesson, as published in 2017, and its 2018 revision (lower lr, twice the steps); and
# nnfit's defaults for real data (see estimator.REAL_DATA_DEFAULTS and the README).
_REAL = REAL_DATA_DEFAULTS
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "morvan-2017": {"train": {"lr": 0.5, "steps": 100}},
    "morvan-2018": {"train": {"lr": 0.2, "steps": 200}},
    "data": {
        "data": {"val": _REAL["val"]},
        "model": {k: _REAL[k] for k in ("hidden", "activation", "scale", "members")},
        "train": {
            k: _REAL[k]
            for k in ("optimizer", "lr", "steps", "every", "patience", "schedule", "restore")
        },
    },
}
DEFAULT_PRESET = "morvan-2017"  # for nnfit demo
DATA_PRESET = "data"  # for nnfit fit
SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


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
    if preset not in PRESETS:
        raise UsageError(f"--preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    layers = [PRESETS[preset], _check_tables(base or {}, source), overrides]
    sections = {}
    for name, cls in SECTIONS.items():
        values: dict[str, Any] = {}
        for layer in layers:
            values.update({k: v for k, v in (layer.get(name) or {}).items() if v is not None})
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        try:
            sections[name] = cls(**values)
        except TypeError as error:  # a value of the wrong type reached a comparison
            raise UsageError(f"{source}: bad value in [{name}]: {error}") from None
    return RunConfig(**sections)


def _check_tables(tables: dict[str, Any], source: str) -> dict[str, dict[str, Any]]:
    """Refuse unknown sections and keys, suggesting the nearest name."""
    for name, table in tables.items():
        if name not in SECTIONS:
            raise UsageError(
                f"{source}: unknown section [{name}]{_hint(name, SECTIONS)}; "
                f"sections are: {', '.join(SECTIONS)}"
            )
        if not isinstance(table, dict):
            raise UsageError(f"{source}: [{name}] must be a table of settings")
        known = [f.name for f in fields(SECTIONS[name])]
        for key in table:
            if key not in known:
                raise UsageError(
                    f"{source}: unknown key {key!r} in [{name}]{_hint(key, known)}; "
                    f"keys are: {', '.join(known)}"
                )
    return tables


def _hint(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def read_config(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Read a TOML run file into nested tables (validated later by ``build_config``)."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a .toml file written by --save-config")
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: not valid TOML: {error}") from None
    preset = data.pop("preset", None)
    if preset is not None:
        data["__preset__"] = preset
    return data


def config_toml(config: RunConfig, *, preset: str = DEFAULT_PRESET) -> str:
    """The run's settings as TOML text that ``nnfit fit FILE`` reads back."""
    import tomli_w

    from ._version import __version__

    header = f"# nnfit {__version__} run settings; repeat with: nnfit fit THIS_FILE\n"
    return header + tomli_w.dumps({"preset": preset, **config.to_dict()})


def with_seed(config: RunConfig, seed: int) -> RunConfig:
    """The same run with another seed."""
    return replace(config, train=replace(config.train, seed=seed))

"""The settings table: every setting of a run, read from the config dataclasses' fields.

Each setting is declared once, as a ``setting(...)`` field of ``DataConfig``, ``ModelConfig`` or
``TrainConfig`` next to the code that reads it. This module lists them (``table()``) for
everything generated from them: the CLI flags and their help (``nnfit.cli.flags``), TOML keys
(``nnfit.runs.config``), the estimator parameters and their docstring (``nnfit.regressor``,
``nnfit.sklearn``) and run.json's settings (``nnfit.runs.runfolder``). Torch-free, so that
``nnfit --help`` stays instant.
"""

from __future__ import annotations

import functools
import textwrap
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .checks import flag
from .core.model_config import ModelConfig
from .core.train_config import TrainConfig
from .data.synthetic import DataConfig

SECTIONS: dict[str, type] = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}
ESTIMATOR_DATA = ("val",)  # data settings that are also estimator parameters
# Other names the estimators take for a setting, default None ("not given"): scikit-learn's
ALIASES = {"random_state": "seed"}

# Defaults for real data, defended in the README ("Defaults for real data"): the "data" preset
# of ``nnfit fit`` and the defaults of ``Regressor`` and ``NNFitRegressor``.
REAL_DATA_DEFAULTS: dict[str, Any] = {
    "hidden": (32, 32),  # 64 costs 2.6x per step for the same goals met (bench/README.md)
    "activation": "tanh",
    "scale": True,
    "y_transform": "auto",  # log(y) for growth over decades: pressure within 2x the GP
    "members": "auto",  # 20 cross-validated networks up to 100 rows (auto_members)
    "optimizer": "adam",
    "lr": 0.02,  # with 2000 steps and patience 600: as accurate as 0.01, 3000 and 1000
    "steps": 2000,  # ... at less than half the steps run (bench/README.md)
    "every": 30,
    "val": 0.2,
    "patience": 600,  # at lr 0.01 it cut off late gains on smooth sets; at 0.02 they come sooner
    "schedule": "cosine",
    "restore": "lowest",  # "1se" wins noisy nile but is worse on 6 of 8 sets (bench/README)
}


@dataclass(frozen=True)
class Setting:
    """One row of the table: a config field and what its ``setting(...)`` declared."""

    section: str  # "data", "model" or "train": the TOML table and RunConfig attribute
    name: str  # the field, TOML key and estimator parameter; the flag is --name-with-dashes
    default: Any
    hint: Any  # the resolved annotation
    meta: Mapping[str, Any]

    @property
    def group(self) -> str:
        return str(self.meta["group"])

    @property
    def flag(self) -> str | None:
        """The CLI flag, or None for the data file (the command's SOURCE argument)."""
        if self.meta.get("flag_type") == "source":
            return None
        return flag(self.name)

    @property
    def choices(self) -> tuple[str, ...] | None:
        choices = self.meta.get("choices")
        return None if choices is None else tuple(choices)

    @property
    def estimator(self) -> bool:
        """Whether ``Regressor`` and ``NNFitRegressor`` take it as a parameter."""
        return self.section != "data" or self.name in ESTIMATOR_DATA

    @property
    def help(self) -> str:
        """The one-line help, its ``{choices}`` filled in: ``a, b or c``."""
        return str(self.meta["help"]).format(choices=or_list(self.choices or ()))


def or_list(words: typing.Iterable[str]) -> str:
    """``a, b or c``."""
    words = list(words)
    return " or ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


@functools.cache
def table() -> tuple[Setting, ...]:
    """Every setting, section by section in declaration order."""
    rows = []
    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for field in fields(cls):
            hint = hints[field.name]
            rows.append(Setting(section, field.name, field.default, hint, field.metadata))
    return tuple(rows)


def estimator_settings() -> tuple[Setting, ...]:
    """The settings that are ``Regressor`` / ``NNFitRegressor`` parameters: the model's, the
    training's, then ``val``."""
    rows = [s for s in table() if s.estimator]
    return tuple(sorted(rows, key=lambda s: s.section == "data"))


def estimator_defaults() -> dict[str, Any]:
    """Each estimator parameter's default: the real-data one, else the config's."""
    return {s.name: REAL_DATA_DEFAULTS.get(s.name, s.default) for s in estimator_settings()}


def estimator_parameters() -> dict[str, Any]:
    """Every estimator parameter with its default, in the constructor's order: the settings
    (``estimator_defaults``), then the ``ALIASES`` with None."""
    return {**estimator_defaults(), **dict.fromkeys(ALIASES)}


def estimator_values(sections: Mapping[str, Any]) -> dict[str, Any]:
    """Estimator parameters from nested ``{"model": {...}, "train": {...}, "data": {...}}``
    settings (a RunConfig's or run.json's): known keys only, None values left out."""
    values = {}
    for row in estimator_settings():
        table_ = sections.get(row.section)
        value = table_.get(row.name) if isinstance(table_, Mapping) else None
        if value is not None:
            values[row.name] = value
    return values


def estimator_doc(x: str = "x") -> str:
    """The ``Args:`` lines of the estimators' docstrings, one per parameter, from the table."""
    lines = []
    defaults = estimator_defaults()
    for row in estimator_settings():
        help_ = row.help.replace(" x and y", f" {x} and y")
        text = f"{row.name}: {help_} (default: {defaults[row.name]!r})."
        lines += _wrapped(text)
    for alias, name in ALIASES.items():
        lines += _wrapped(
            f"{alias}: another name for {name} (scikit-learn's); give one of the two, or the "
            f"same value to both (default: None)."
        )
    return "\n".join(lines)


def _wrapped(text: str) -> list[str]:
    return textwrap.wrap(
        text, 96, initial_indent=" " * 8, subsequent_indent=" " * 12, break_on_hyphens=False
    )


def document(cls: type, *, x: str = "x") -> type:
    """Fill the ``{settings}`` line of a class docstring with ``estimator_doc`` (a decorator)."""
    if cls.__doc__:
        cls.__doc__ = cls.__doc__.replace("        {settings}", estimator_doc(x))
    return cls

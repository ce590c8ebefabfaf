"""A sweep's search space: the settings to try, read from the settings table.

Every model and training setting of the table (``nnfit.settings.table``) can be swept, except
the few that say how to run rather than what to fit (``UNSWEEPABLE``). Each is given as text,
the way its flag is typed, parsed by the flag's own parser (``nnfit.setting_text``) and checked
by its config's own checks (``FieldError``, worded by flag at the command line):

- a list: ``0.01,0.1``, ``relu,tanh``; a hidden item with several layers joins its widths
  with ``-``: ``16,32-32,64-64-64`` is three networks (one, two and three layers), and an
  activation item with one name per layer its names: ``tanh,relu-tanh``;
- ranges of numbers (items of a list too): ``LO..HI:N`` (N evenly spaced values),
  ``log:LO..HI:N`` (N log-spaced), ``LO..HI:xF`` (LO, LO*F, ... up to HI) and ``LO..HI:+S``
  (LO, LO+S, ... up to HI); whole-number settings round to whole numbers; a range of hidden
  widths gives one-layer networks (``16..128:x2`` = 16, 32, 64, 128);
- ``none`` for a setting that may be unset (``--patience 200,none``).

A TOML file's ``[sweep]`` table holds the same: a text (``lr = "log:0.001..0.3:8"``), a list
of values (``lr = [0.01, 0.1]``, ``hidden = [16, [32, 32]]``, ``activation = ["tanh",
["relu", "tanh"]]``) or one value; ``seeds = 5``.
The space is plain data, independent of how its trials are run. Torch-free.
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..checks import FieldError, flag, shown
from ..core.model_config import check_activation
from ..errors import UsageError
from ..safetext import printable
from ..setting_text import PARSERS, activations, kind, widths
from ..settings import SECTIONS, Setting, table

# Settings that say how to run or draw, not what to fit: the sweep's members are single
# networks (members), each seed is a member (seed: --seeds), and the rest may not differ
# between the members of one batched run or do not change a network (member_lines).
UNSWEEPABLE = (
    "members",
    "seed",
    "device",
    "threads",
    "compile",
    "every",
    "member_lr",
    "restore",
    "member_lines",
)
LAYERS = "-"  # joins the widths of a multi-layer hidden item: 32-32
MAX_VALUES = 10_000  # values one setting may take
MAX_SETTINGS = 100_000  # settings a sweep may try (seeds apart)
MAX_SEEDS = 10_000
DEFAULT_SEEDS = 5  # with val 0.2: each row held out once, by one of the 5 folds


@dataclass(frozen=True)
class Dimension:
    """One swept setting: its name (the config field) and the values to try, in order."""

    name: str
    values: tuple[Any, ...]
    text: str  # as given: a list or range ("log:0.001..0.3:8"), for records and samplers


@dataclass(frozen=True)
class Space:
    """The settings to try: every combination of the dimensions' values, each ``seeds``
    times (one network per setting and seed)."""

    dimensions: tuple[Dimension, ...]
    seeds: int = DEFAULT_SEEDS

    def __post_init__(self) -> None:
        check_seeds(self.seeds)
        names = [d.name for d in self.dimensions]
        if len(set(names)) != len(names):
            raise UsageError(f"a setting is swept twice: {', '.join(names)}")
        if len(self) > MAX_SETTINGS:
            raise UsageError(
                f"the sweep has {len(self):,} settings to try; at most {MAX_SETTINGS:,}: "
                "use fewer values"
            )

    @property
    def names(self) -> tuple[str, ...]:
        """The swept settings, in the order given."""
        return tuple(d.name for d in self.dimensions)

    @property
    def varying(self) -> tuple[str, ...]:
        """The swept settings given more than one value (the others are fixed by the sweep)."""
        return tuple(d.name for d in self.dimensions if len(d.values) > 1)

    def __len__(self) -> int:
        return math.prod(len(d.values) for d in self.dimensions)

    def settings(self) -> Iterator[dict[str, Any]]:
        """Each setting to try, ``{name: value}``: the product of the values, the last
        dimension varying fastest."""
        for values in itertools.product(*(d.values for d in self.dimensions)):
            yield dict(zip(self.names, values, strict=True))


def sweepable() -> tuple[Setting, ...]:
    """The settings a sweep can vary: the model's and the training's, but UNSWEEPABLE."""
    return tuple(
        row for row in table() if row.section in ("model", "train") and row.name not in UNSWEEPABLE
    )


def sweepable_flags() -> str:
    """``--hidden, --activation, ...``: for errors."""
    return ", ".join(flag(row.name) for row in sweepable())


def setting_row(name: str) -> Setting:
    """The table's row of a sweepable setting, or a one-line error naming those there are."""
    for row in sweepable():
        if row.name == name:
            return row
    what = "cannot be swept" if any(r.name == name for r in table()) else "is not a setting"
    raise UsageError(
        f"{flag(name)} {what}; settings that can be swept: {sweepable_flags()} (and --seeds N)"
    )


def check_seeds(seeds: Any) -> int:
    """Seeds per setting: a whole number from 1 to MAX_SEEDS."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= MAX_SEEDS:
        raise UsageError(
            f"--seeds must be a whole number from 1 to {MAX_SEEDS}, got {shown(seeds)}"
        )
    return seeds


def dimension(name: str, text: str, *, sampling: bool = False) -> Dimension:
    """The values a setting's text gives (a list whose items are values or ranges), each
    checked by the setting's own config. ``sampling`` (a sampler draws from the ranges:
    ``--trials``) also takes a range without a count, ``log:LO..HI``, whose values are its ends."""
    row = setting_row(name)
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"{flag(name)} needs values to try, like {_example(row)}")
    values: list[Any] = []
    for item in text.split(","):
        values += _item_values(row, item.strip(), sampling)
    return Dimension(name, _checked(row, values), text)


def from_texts(
    texts: Mapping[str, str], *, seeds: int = DEFAULT_SEEDS, sampling: bool = False
) -> Space:
    """A space from each setting's text, as typed on the command line (``{"lr": "0.01,0.1"}``)."""
    dimensions = tuple(dimension(name, text, sampling=sampling) for name, text in texts.items())
    return Space(dimensions, seeds)


def from_table(
    values: Any, *, source: str = "sweep", seeds: int | None = None, sampling: bool = False
) -> Space:
    """A space from a TOML file's ``[sweep]`` table; ``seeds`` (a flag) wins over the table's.
    Errors name the file: ``space.toml: [sweep] lr (--lr) must be ...``."""
    where = printable(source)
    if not isinstance(values, Mapping):
        raise UsageError(f"{where}: [sweep] must be a table of settings to sweep")
    values = dict(values)
    given_seeds = values.pop("seeds", DEFAULT_SEEDS)
    try:
        dimensions = tuple(
            _table_dimension(str(name), value, sampling) for name, value in values.items()
        )
        return Space(dimensions, seeds if seeds is not None else check_seeds(given_seeds))
    except FieldError as error:
        raise error.in_file(source, "sweep") from None
    except UsageError as error:
        raise UsageError(f"{where}: [sweep] {error}") from None


def _table_dimension(name: str, value: Any, sampling: bool = False) -> Dimension:
    """One setting of a ``[sweep]`` table: a text as typed, a list of values, or one value."""
    row = setting_row(name)
    if isinstance(value, str):
        return dimension(row.name, value, sampling=sampling)
    items = value if isinstance(value, list) else [value]
    found: list[Any] = []
    for item in items:
        if isinstance(item, str):
            found += _item_values(row, item.strip(), sampling)
        else:
            found.append(_from_toml(row, item))
    return Dimension(row.name, _checked(row, found), _text(items))


def _from_toml(row: Setting, item: Any) -> Any:
    """A TOML value as the setting's value: a width is a one-layer network."""
    if row.name == "hidden" and isinstance(item, int) and not isinstance(item, bool):
        return (item,)
    return tuple(item) if isinstance(item, list) else item


def _text(items: list[Any]) -> str:
    from ..checks import typed

    return ",".join(LAYERS.join(map(str, v)) if isinstance(v, list) else typed(v) for v in items)


def _item_values(row: Setting, item: str, sampling: bool = False) -> list[Any]:
    """One item of a list: a value, ``none``, or a range of values."""
    name = row.name
    if not item:
        raise UsageError(f"{flag(name)} has an empty item; give values like {_example(row)}")
    if item.lower() == "none":
        if type(None) not in getattr(row.hint, "__args__", ()):
            raise UsageError(f"{flag(name)} cannot be none; give values like {_example(row)}")
        return [None]
    kind_ = kind(row.hint, row.meta.get("flag_type"))
    try:
        if ".." in item:
            return _range(row, item, kind_, sampling)
        if name == "hidden":
            return [widths(item, LAYERS)]
        if kind_ == "activations":
            return [activations(item, LAYERS)]
        parse = PARSERS.get(kind_) if kind_ is not None else None
        return [item if parse is None else parse(item)]
    except argparse.ArgumentTypeError as error:
        raise UsageError(f"{flag(name)}: {error}") from None


def _range(row: Setting, item: str, kind_: str | None, sampling: bool = False) -> list[Any]:
    """``[log:]LO..HI:N``, ``LO..HI:xF`` or ``LO..HI:+S`` → its values; with ``sampling``
    also ``[log:]LO..HI`` → LO and HI (a sampler draws between them)."""
    whole = kind_ in ("whole", "widths")
    if kind_ not in ("whole", "number", "widths"):
        raise UsageError(f"{flag(row.name)} {item}: ranges are for numbers; list the values")
    log = item.startswith("log:")
    span, colon, count = item.removeprefix("log:").rpartition(":")
    if sampling and not colon:  # LO..HI: its two ends, the sampler draws between them
        span, colon, count = item.removeprefix("log:"), ":", "2"
    lo_text, dots, hi_text = span.partition("..")
    forms = "a range is LO..HI:N, log:LO..HI:N, LO..HI:xF or LO..HI:+S"
    if not colon or not dots:
        raise UsageError(f"{flag(row.name)} {item}: {forms}")
    how = count[:1] if count[:1] in ("x", "+") else ""
    parse = PARSERS["number"]
    try:
        lo, hi, n = parse(lo_text), parse(hi_text), parse(count[len(how) :])
    except argparse.ArgumentTypeError as error:  # which item, and the forms it may take
        raise UsageError(f"{flag(row.name)} {item}: {error}; {forms}") from None
    problem = _range_problem(lo, hi, n, how, log)
    if problem:
        raise UsageError(f"{flag(row.name)} {item}: {problem}")
    if how == "x":
        values = _stepped(lo, hi, lambda v: v * n)
    elif how == "+":
        values = _stepped(lo, hi, lambda v: v + n)
    elif n == 1:
        values = [lo]
    elif log:
        values = [math.exp(math.log(lo) + i * math.log(hi / lo) / (n - 1)) for i in range(int(n))]
    else:
        values = [lo + i * (hi - lo) / (n - 1) for i in range(int(n))]
    values = [_round(v) for v in values]
    if whole:
        values = [round(v) for v in values]
    if row.name == "hidden":
        return [(v,) for v in values]
    return values


def _range_problem(lo: float, hi: float, n: float, how: str, log: bool) -> str | None:
    """What is wrong with a range, in words (None: nothing)."""
    if not all(math.isfinite(v) for v in (lo, hi, n)):
        return "LO, HI and the count or step must be finite numbers"
    if not lo < hi:
        return "LO must be below HI"
    if log and (how or lo <= 0):
        return "log:LO..HI:N needs LO above 0 and a count N"
    if how == "x" and n <= 1:
        return "the factor F of LO..HI:xF must be above 1"
    if how == "+" and n <= 0:
        return "the step S of LO..HI:+S must be above 0"
    if how == "x" and lo <= 0:
        return "LO..HI:xF needs LO above 0"
    if not how and (n != int(n) or n < 1):
        return "the count N must be a whole number of at least 1"
    steps = n if not how else (math.log(hi / lo) / math.log(n) if how == "x" else (hi - lo) / n)
    if steps > MAX_VALUES:
        return f"it gives more than {MAX_VALUES:,} values"
    return None


def _stepped(lo: float, hi: float, next_: Any) -> list[float]:
    """lo, next_(lo), ... while at most hi (with a little room for rounding)."""
    values: list[float] = []
    value = lo
    while value <= hi * (1 + 1e-9) + 1e-12 and len(values) <= MAX_VALUES:
        values.append(value)
        value = next_(value)
    return values


def _round(value: float) -> float:
    """A range's value without the last digits' rounding noise (0.30000000000000004 → 0.3)."""
    return float(f"{value:.12g}")


def _checked(row: Setting, values: list[Any]) -> tuple[Any, ...]:
    """The values without repeats, each checked by the setting's config (FieldError)."""
    unique: list[Any] = []
    for value in values:
        if value not in unique:
            unique.append(value)
    if len(unique) > MAX_VALUES:
        raise UsageError(f"{flag(row.name)} gives {len(unique):,} values; at most {MAX_VALUES:,}")
    config = SECTIONS[row.section]
    checked = []
    for value in unique:
        if row.name == "activation":  # the names alone: their count meets hidden's in plan
            checked.append(check_activation(value))
            continue
        made = config(**{row.name: value})  # the setting's own checks: FieldError by name
        checked.append(getattr(made, row.name))
    return tuple(checked)


def _example(row: Setting) -> str:
    """A list to try, for messages: ``0.01,0.1``, ``relu,tanh``, ``16,32-32``."""
    if row.name == "hidden":
        return f"16,32{LAYERS}32"
    if row.name == "activation":
        return f"tanh,relu{LAYERS}tanh"
    if row.choices:
        return ",".join(row.choices[:2])
    kind_ = kind(row.hint, row.meta.get("flag_type"))
    return {"whole": "100,200", "number": "0.01,0.1", "on/off": "on,off"}.get(kind_ or "", "a,b")

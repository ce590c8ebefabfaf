"""A sweep's space as Optuna distributions, and a sampled trial back as a setting.

Each swept setting keeps the text it was given (``Dimension.text``), which says what a sampler
may draw from:

- one range ``log:LO..HI:N`` or ``LO..HI:xF``: log-uniform between LO and HI;
- one range ``LO..HI:N`` or ``LO..HI:+S``: uniform between LO and HI (whole numbers for
  whole-number settings; a range of hidden widths is one layer of that many units);
- anything else (a list, a list with ranges in it, ``none``, several layers): one of the
  values, a categorical choice.

The grid sampler takes the space's own values (the N points of each range) as choices, so
``--sampler grid`` tries exactly the settings ``nnfit sweep`` would. Settings given one value
are fixed, not sampled. Optuna is passed in (imported by the caller, lazily).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .results import shown_value
from .space import Dimension, Space

CHOICE_TYPES = (type(None), bool, int, float, str)  # what Optuna stores as a choice


@dataclass(frozen=True)
class Sampled:
    """How one setting is drawn: its Optuna distribution, and how a drawn value reads back."""

    name: str
    distribution: Any  # optuna.distributions.BaseDistribution
    choices: dict[Any, Any]  # categorical: the stored choice → the setting's value
    layer: bool  # a range of hidden widths: the drawn width is one layer

    def value(self, drawn: Any) -> Any:
        """The setting's value for a value the sampler drew."""
        if self.choices:
            return self.choices[drawn]
        return (int(drawn),) if self.layer else drawn


def sampled(optuna: Any, space: Space, *, grid: bool = False) -> list[Sampled]:
    """Each swept setting with more than one value, as a distribution to sample."""
    return [
        _sampled(optuna, dimension, grid)
        for dimension in space.dimensions
        if len(dimension.values) > 1
    ]


def fixed(space: Space) -> dict[str, Any]:
    """The settings given a single value: every trial has it."""
    return {d.name: d.values[0] for d in space.dimensions if len(d.values) == 1}


def grid_space(items: list[Sampled]) -> dict[str, list[Any]]:
    """The grid sampler's search space: every choice of every setting."""
    return {item.name: list(item.choices) for item in items}


def setting(items: list[Sampled], params: dict[str, Any], space: Space) -> dict[str, Any]:
    """A trial's setting (every swept name → value) from its sampled ``params``."""
    values = fixed(space)
    for item in items:
        values[item.name] = item.value(params[item.name])
    return {name: values[name] for name in space.names}


def _sampled(optuna: Any, dimension: Dimension, grid: bool) -> Sampled:
    """One setting's distribution: a range from its text, else (or on a grid) a choice."""
    distributions = optuna.distributions
    text = dimension.text.strip()
    values = dimension.values
    one_range = ".." in text and "," not in text
    layer = all(isinstance(v, tuple) and len(v) == 1 for v in values)
    numbers = [v[0] if layer else v for v in values]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers)
    if one_range and numeric and not grid:
        low, high = min(numbers), max(numbers)
        log = text.startswith("log:") or text.rpartition(":")[2].startswith("x")
        if all(isinstance(v, int) for v in numbers):
            distribution = distributions.IntDistribution(int(low), int(high), log=log)
        else:
            distribution = distributions.FloatDistribution(float(low), float(high), log=log)
        return Sampled(dimension.name, distribution, {}, layer)
    choices = {_choice(v): v for v in values}
    return Sampled(
        dimension.name, distributions.CategoricalDistribution(list(choices)), choices, False
    )


def _choice(value: Any) -> Any:
    """A value as Optuna can store it: widths as their text (``32-32``)."""
    return value if isinstance(value, CHOICE_TYPES) else shown_value(value)


def suggest(trial: Any, item: Sampled) -> Any:
    """Ask ``trial`` for a value of ``item`` (through Optuna's public suggest API)."""
    from optuna.distributions import IntDistribution

    distribution = item.distribution
    if item.choices:
        return trial.suggest_categorical(item.name, distribution.choices)
    low, high, log = distribution.low, distribution.high, distribution.log
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(item.name, low, high, log=log)
    return trial.suggest_float(item.name, low, high, log=log)

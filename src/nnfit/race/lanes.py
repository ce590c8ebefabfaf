"""A race's variants and the lanes that train them (torch-free).

The variants are the settings of a sweep space (``nnfit.sweep.space``) with one seed each;
the sweep's plan (``nnfit.sweep.plan``) groups those that may share one batched run (they
differ only in the learning rate) into one lane; every other difference (the optimiser, the
architecture...) is a lane of its own. With ``--val`` each variant is a lane of its own, so
that every one holds out the same validation rows as its single run would.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..checks import typed
from ..errors import UsageError
from ..runs.config import RunConfig
from ..settings import table
from ..sweep.plan import Group, plan
from ..sweep.space import LAYERS, Space

MAX_VARIANTS = 10  # each variant takes one of the 10 distinct colours (views.panels)


@dataclass(frozen=True)
class Lane:
    """Variants trained as one ``train`` call: ``config`` with each variant's learning rate
    (``lrs``); ``variants`` are their indices in the race's order."""

    config: RunConfig
    variants: tuple[int, ...]
    lrs: tuple[float, ...]

    @property
    def members(self) -> int:
        return len(self.variants)


def check_space(space: Space) -> None:
    """A race needs 2 to MAX_VARIANTS variants."""
    if len(space) < 2:
        raise UsageError(
            "a race needs at least 2 variants: give a setting several values, "
            "e.g. --optimizer sgd,adam or --lr 0.01,0.1"
        )
    if len(space) > MAX_VARIANTS:
        raise UsageError(
            f"the race has {len(space)} variants; at most {MAX_VARIANTS} (one distinct colour "
            "each): give fewer values"
        )


def variant_names(space: Space) -> list[str]:
    """Each variant's name from the settings that vary: "adam", "lr 0.1", "adam, lr 0.1"."""
    choices = {row.name for row in table() if row.choices}
    names = []
    for setting in space.settings():
        parts = []
        for name in space.varying:
            value = setting[name]
            if name == "hidden":
                parts.append(f"hidden {LAYERS.join(map(str, value))}")
            elif name in choices:  # a name, or one per hidden layer: relu-tanh
                parts.append(value if isinstance(value, str) else LAYERS.join(value))
            else:
                parts.append(f"{name} {typed(value)}")
        names.append(", ".join(parts))
    return names


def make_lanes(base: RunConfig, space: Space) -> tuple[list[RunConfig], list[Lane]]:
    """Every variant's settings (in the space's order) and the lanes that train them."""
    configs, groups = plan(base, space)
    lanes = [_lane(group) for group in groups]
    if base.data.val > 0:  # one network per lane: each holds out what its single run would
        lanes = [
            Lane(configs[v], (v,), (configs[v].train.lr,)) for lane in lanes for v in lane.variants
        ]
    return configs, lanes


def _lane(group: Group) -> Lane:
    variants = tuple(trial.setting for trial in group.trials)
    return Lane(group.config, variants, group.lrs)

"""A sweep's trials and how they group into batched runs (torch-free).

A trial is one setting of the space with one seed: one network. Trials whose settings differ
only in what may differ between the members of one batched run (the learning rate, through
``member_lr``, and the seed) form a group, trained as one run; groups that differ in anything
else (the architecture, the optimiser, the steps...) run one after another. L-BFGS trains one
network at a time (its line search is not per member), so each of its trials is a group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..errors import UsageError
from ..runs.config import RunConfig
from .space import Space

MAX_GROUP = 1024  # members of one batched run; a larger group is split (members are separate)


@dataclass(frozen=True)
class Trial:
    """One network of the sweep: setting ``setting`` (its index in the space's order) with
    seed ``seed`` (0 to seeds - 1: initial weights from the base seed + seed, and fold
    ``seed`` of the k-fold split held out)."""

    setting: int
    seed: int


@dataclass(frozen=True)
class Group:
    """Trials trained as one batched run: they share ``config`` but for each one's ``lrs``."""

    config: RunConfig
    trials: tuple[Trial, ...]
    lrs: tuple[float, ...]  # each trial's learning rate

    @property
    def members(self) -> int:
        return len(self.trials)


def one_network_base(base: RunConfig) -> RunConfig:
    """The base settings every trial starts from: one network (members 1) that keeps its
    lowest held-out loss (``MemberBest`` keeps no other; 1se is for single runs)."""
    if base.train.restore != "lowest":
        raise UsageError(
            "a sweep's networks keep their lowest validation loss: set restore "
            "to lowest (1se is for single runs)"
        )
    return replace(base, model=replace(base.model, members=1))


def with_setting(base: RunConfig, setting: Mapping[str, Any]) -> RunConfig:
    """``base`` with a setting's values (model and training fields), validated again."""
    from ..settings import table

    sections: dict[str, dict[str, Any]] = {"model": {}, "train": {}}
    for row in table():
        if row.name in setting and row.section in sections:
            sections[row.section][row.name] = setting[row.name]
    return replace(
        base,
        model=replace(base.model, **sections["model"]),
        train=replace(base.train, **sections["train"]),
    )


def plan(base: RunConfig, space: Space) -> tuple[list[RunConfig], list[Group]]:
    """Every setting's RunConfig (in the space's order) and the groups that train them."""
    configs = [with_setting(base, setting) for setting in space.settings()]
    groups: dict[Any, list[tuple[Trial, float]]] = {}
    for index, config in enumerate(configs):
        shared: Any = (config.model, replace(config.train, lr=1.0))  # all but the rate
        for seed in range(space.seeds):
            key = (index, seed) if config.train.optimizer == "lbfgs" else shared  # one a run
            groups.setdefault(key, []).append((Trial(index, seed), config.train.lr))
    out = []
    for members in groups.values():
        first = configs[members[0][0].setting]
        for start in range(0, len(members), MAX_GROUP):
            part = members[start : start + MAX_GROUP]
            trials = tuple(trial for trial, _ in part)
            out.append(Group(first, trials, tuple(lr for _, lr in part)))
    return configs, out

"""Running a sweep's trials on this machine: each group as one batched training run.

Every member of a group is the network a single run with its setting and seed would train:
its initial weights are drawn from its own seed exactly as one network's are
(``MLP(independent=True)``), it holds out its own fold, trains with its own learning rate
(``member_lr``), stops early on its own held-out loss and is frozen if it diverges, without
touching the others (``TrainData.apart``). The same ``train`` loop trains one network and a
group alike; a group of one member is a plain single run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from .objective import Scores, SweepData, score
from .plan import Group

if TYPE_CHECKING:
    from ..core.callbacks import Callback
    from ..core.trainstate import Control


def train_group(
    group: Group,
    data: SweepData,
    *,
    callbacks: Sequence[Callback] = (),
    control: Control | None = None,
) -> tuple[Scores, float]:
    """Train a group's trials as one run; returns each member's scores and the seconds taken
    (KeyboardInterrupt when ``control`` stopped it before the end)."""
    from ..core.model import MLP
    from ..core.traindata import prepare
    from ..core.training import train
    from ..core.transform import auto_y_transform

    config = group.config
    members = group.members
    seeds = [data.seed + trial.seed for trial in group.trials]
    start = time.perf_counter()
    model = MLP(
        data.x.shape[1],
        config.model.hidden,
        data.y.shape[1],
        activation=config.model.activation,
        seed=seeds if members > 1 else seeds[0],
        members=members,
        y_transform=auto_y_transform(config.model.y_transform, data.y),
        independent=True,
    )
    if config.model.scale:  # one scaler for all: from every row, as an ensemble's is
        model.set_scaler(data.x, data.y)
    held = data.folds[[trial.seed for trial in group.trials]]  # (members, n)
    train_data = prepare(
        data.x,
        data.y,
        holdout=held,
        x_grid=data.x[:1],  # the run's history is never drawn: the smallest grid costs least
        x_names=data.x_names,
        y_names=data.y_names,
        seed=data.seed,
        apart=True,
    )
    lrs = group.lrs
    member_lr = lrs if members > 1 and len(set(lrs)) > 1 else None
    train_config = replace(config.train, lr=lrs[0], member_lr=member_lr, seed=data.seed)
    history = train(model, train_data, train_config, callbacks=callbacks, control=control)
    if history.stop_reason == "interrupted":  # unfinished networks score nothing
        raise KeyboardInterrupt
    scores = score(model, history, data, held)
    return scores, time.perf_counter() - start


def train_all(
    groups: Sequence[Group],
    data: SweepData,
    *,
    progress: Callable[[int, Group, float], None] | None = None,
    control: Control | None = None,
) -> list[tuple[Group, Scores, float]]:
    """Train every group, one after another; ``progress(index, group, seconds)`` after each.
    Once ``control`` says stop, the groups finished so far are returned."""
    done = []
    for index, group in enumerate(groups):
        if control is not None and control.stopped:
            break
        try:
            scores, seconds = train_group(group, data, control=control)
        except KeyboardInterrupt:  # Ctrl-C: the runs finished so far are kept
            break
        done.append((group, scores, seconds))
        if progress is not None:
            progress(index, group, seconds)
    return done

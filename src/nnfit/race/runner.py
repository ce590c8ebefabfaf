"""Training a race: every lane with ``Regressor.fit`` (so ``core.training.train``), each in its
own thread, struck together by one ``Clock``.

Every variant starts from the weights of the race's seed: a lane of one variant is exactly the
single run ``nnfit fit`` makes with that setting (the same data, scaler, batches and weights);
a lane of several (learning rates) is one batched run of independent members that all start
from that seed's weights (``MLP(..., independent=True)``), each with its own rate.
Lanes train one CPU thread each unless ``threads`` is set: they run side by side.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.diagnostics import RunFacts, facts_of, outcome, relu_units
from ..race.clock import Clock, Curves
from ..race.lanes import Lane

if TYPE_CHECKING:
    from ..core.callbacks import Callback
    from ..core.history import History
    from ..data.dataset import Dataset

JOIN_S = 0.05  # the main thread joins in steps this short, so Ctrl-C still reaches it


@dataclass(frozen=True)
class Finish:
    """One variant's result: its final loss, its verdict and the CPU seconds of its lane
    (shared among the lane's variants)."""

    name: str
    loss: float
    outcome: str  # nnfit.core.diagnostics.KINDS
    seconds: float
    curve: tuple[np.ndarray, np.ndarray]  # (steps, losses) at every frame it trained


@dataclass(frozen=True)
class Race:
    """A finished race: the History the views drew and each variant's Finish, in order."""

    history: History
    finishes: tuple[Finish, ...]


def names_in_order(lanes: Sequence[Lane], names: Sequence[str]) -> list[str]:
    """The variants' names lane by lane: the race's order (legend, colours, table)."""
    return [names[v] for lane in lanes for v in lane.variants]


def run_race(
    lanes: Sequence[Lane],
    names: Sequence[str],
    dataset: Dataset,
    *,
    callbacks: Sequence[Callback] = (),
    stop: threading.Event | None = None,
) -> Race:
    """Train every lane on ``dataset`` on one step clock; ``callbacks`` see race snapshots.

    Args:
        lanes: from ``race.lanes.make_lanes``.
        names: each variant's name, in the space's order (``variant_names``).
        dataset: the data every variant trains on.
        callbacks: the race's subscribers (a live window, a progress bar).
        stop: an event that ends every lane between two steps (Ctrl-C).

    Returns:
        The race's History and each variant's result.
    """
    stop = stop or threading.Event()
    every = lanes[0].config.train.every
    clock = Clock(names_in_order(lanes, names), [lane.members for lane in lanes], callbacks, every)
    results: list[Any] = [None] * len(lanes)
    errors: list[BaseException] = []
    # the networks are drawn here, one after another: seeding draws from torch's global
    # generator, which threads drawing at once would share
    made = [_setup(lane, dataset) for lane in lanes]

    def work(index: int) -> None:
        start = time.thread_time()
        try:
            regressor = _train_lane(*made[index], dataset, clock, index, stop)
            results[index] = (regressor, time.thread_time() - start)
        except BaseException as error:  # handed to the caller; the other lanes stop
            errors.append(error)
            stop.set()
        finally:
            clock.end(index, "done")

    threads = [
        threading.Thread(target=work, args=(i,), name=f"nnfit-lane-{i}", daemon=True)
        for i in range(len(lanes))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(JOIN_S)
    if errors:
        raise errors[0]
    assert clock.history is not None
    return Race(clock.history, tuple(_finishes(lanes, results, clock)))


def _setup(lane: Lane, dataset: Dataset) -> tuple[Any, Any]:
    """The lane's Regressor (its settings) and untrained network."""
    from ..regressor import Regressor

    config = lane.config
    train = config.train
    changes: dict[str, Any] = {"threads": train.threads or 1}
    if lane.members > 1:
        changes |= {"lr": lane.lrs[0], "member_lr": lane.lrs, "member_lines": lane.members}
    config = replace(
        config,
        model=replace(config.model, members=lane.members),
        train=replace(train, **changes),
    )
    regressor = Regressor.from_config(config)
    return regressor, _model(regressor, config, dataset, lane.members)


def _train_lane(
    regressor: Any, model: Any, dataset: Dataset, clock: Clock, index: int, stop: Any
) -> Any:
    """Fit one lane with ``Regressor.fit``; returns the fitted Regressor."""
    from ..core.trainstate import Control

    y = dataset.y[:, 0] if dataset.y.shape[1] == 1 else dataset.y  # 1-D in, 1-D out
    regressor.fit(
        dataset.x,
        y,
        callbacks=[clock.lane(index)],
        model=model,
        noise_floor=dataset.noise_floor,
        x_names=dataset.x_names,
        y_names=dataset.y_names,
        control=Control(stop=stop),
        y_units=dataset.y_units,
    )
    return regressor


def _model(regressor: Any, config: Any, dataset: Dataset, members: int) -> Any:
    """The lane's untrained network: the single run's, or ``members`` copies of it."""
    x, y = dataset.x, dataset.y
    if members == 1:
        return regressor.make_model(x.shape[1], y.shape[1], len(x), y=y)
    from ..core.model import MLP
    from ..core.transform import auto_y_transform

    regressor.check_fits(x.shape[1], y.shape[1], len(x))
    return MLP(
        x.shape[1],
        config.model.hidden,
        y.shape[1],
        activation=config.model.activation,
        seed=[config.train.seed] * members,  # every member from the race's seed
        members=members,
        y_transform=auto_y_transform(config.model.y_transform, y),
        independent=True,
    )


def _finishes(lanes: Sequence[Lane], results: list[Any], clock: Clock) -> list[Finish]:
    """Each variant's result, in the race's order."""
    history = clock.history
    assert history is not None
    final = history.final.member_loss
    assert final is not None
    out, v = [], 0
    for lane, (regressor, seconds) in zip(lanes, results, strict=True):
        lane_history = regressor.history_
        for member in range(lane.members):
            curve = clock.curves.of(v)
            kind = outcome(_facts(lane_history, regressor, member, lane.members, clock.curves, v))
            out.append(
                Finish(history.variants[v], float(final[v]), kind, seconds / lane.members, curve)
            )
            v += 1
    return out


def _facts(
    history: History, regressor: Any, member: int, members: int, curves: Curves, v: int
) -> RunFacts:
    """The facts the single-run verdict reads: a lane of one is a single run (its History); a
    member of a batched lane gets its own losses, dead units and divergence."""
    if members == 1:
        return facts_of(history)
    import torch

    from ..core.recorder import dead_per_member

    model = regressor.model_
    with torch.no_grad():
        xs = model.scale_x(torch.as_tensor(history.x, dtype=torch.float32))
        _, hiddens = model.hidden_outputs(xs)  # (members, n, width) per layer
    each = [int(dead_per_member(h)[member]) for h in hiddens]  # per hidden layer
    dead, units = relu_units(each, history.hidden, history.activation)
    reason = "diverged" if member in history.diverged_members else history.stop_reason
    return RunFacts(
        losses=curves.of(v)[1],
        noise_floor=history.noise_floor,
        stop_reason=reason,
        dead=dead,
        units=units,
    )

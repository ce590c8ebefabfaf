"""``nnfit doctor``: how often does a setting fail? Many seeds trained at once, each judged.

Every seed is one member of a batched ensemble built to start as independent single networks
(``MLP(..., seed=[...], independent=True)``) and trained on all rows (no held-out blocks), so
member k is, to float rounding, the single run whose weights come from seed ``seed + k``; the
single-run verdict's rules (``nnfit.core.diagnostics.outcome``) then judge each member.

The data: every seed trains on the same data set, the one ``--seed`` (the first seed) makes.
The batched engine shares x and y between members; the lesson's x is the same for every seed
(an even grid) but its noise is drawn from the seed, and a target per member would change
every piece of the training loop. Shared data also asks the same question of every source:
a file or an example is one data set whatever the seed, so there too the seeds vary only the
network's start, which is where the lesson's failures come from (bench/bench_doctor.py
measures the failure rate with each seed's own data for comparison: 19.7% dead against
doctor's 18.7% on the lesson's settings). So the first seed's member is ``nnfit demo --seed
SEED`` (to float rounding); member k is that run with its weights from seed ``SEED + k``.
With ``batch_size`` below the rows, every member also shares the first seed's batch order.

Candidates: the same seeds trained with one change each (the 2018 lesson's lower rate and
twice the steps, wider layers, Adam, a leaky ReLU), each one batched run, ranked by failures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..checks import MAX_SEED
from ..errors import UsageError
from ..runs.config import PRESETS, RunConfig
from ..settings import REAL_DATA_DEFAULTS

MAX_SEEDS = 100_000  # seeds in one doctor run (memory: model.check_size refuses sooner)


@dataclass(frozen=True)
class Trial:
    """One batched run over the seeds: each seed's verdict kind and final loss."""

    changes: dict[str, dict[str, Any]]  # the settings changed from the base, by section
    kinds: tuple[str, ...]  # each seed's ``outcome`` kind
    final_losses: np.ndarray  # (seeds,) each member's final training loss (loss units)
    noise_floor: float | None  # in the loss's units (None for real data): the History's
    seconds: float  # wall time of the batched run

    @property
    def failures(self) -> int:
        """Seeds whose verdict is not a good fit."""
        return sum(kind != "ok" for kind in self.kinds)

    @property
    def share(self) -> float:
        """The failures' share of the seeds."""
        return self.failures / len(self.kinds)

    def count(self, kind: str) -> int:
        """Seeds with this verdict kind."""
        return self.kinds.count(kind)


@dataclass(frozen=True)
class DoctorReport:
    """What ``doctor`` found: the setting as given and each candidate change."""

    config: RunConfig  # the setting as given (members 1, val 0: one single run per seed)
    first_seed: int
    n_seeds: int
    rows: int  # rows every seed trains on
    source: str  # the data, in words
    noise_floor: float | None  # in loss units (None for real data)
    base: Trial
    candidates: tuple[Trial, ...] = field(default=())
    stopped: bool = False  # Ctrl-C ended the comparison early: ``candidates`` are those done

    @property
    def seeds(self) -> range:
        """The seeds, in member order."""
        return range(self.first_seed, self.first_seed + self.n_seeds)

    @property
    def best(self) -> Trial | None:
        """The candidate with the fewest failures (then the lowest median final loss), if it
        fails less than the setting as given; else None."""
        ranked = sorted(self.candidates, key=lambda t: (t.failures, _median(t.final_losses)))
        return ranked[0] if ranked and ranked[0].failures < self.base.failures else None


def check_doctor_config(config: RunConfig, seeds: int) -> RunConfig:
    """The setting as one single run per seed (members 1, no held-out rows), or a UsageError
    for what a batched run over seeds cannot do (torch-free: checked before torch loads)."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= MAX_SEEDS:
        raise UsageError(f"--seeds must be a whole number from 1 to {MAX_SEEDS:,}, got {seeds!r}")
    if config.train.seed + seeds - 1 > MAX_SEED:
        raise UsageError(f"--seed {config.train.seed} plus {seeds} seeds passes {MAX_SEED}")
    if config.train.optimizer == "lbfgs":
        raise UsageError(
            "nnfit doctor trains the seeds as one batched run, which lbfgs cannot (its line "
            "search would tie the seeds together); choose another --optimizer"
        )
    if config.train.member_lr is not None:
        raise UsageError("nnfit doctor trains every seed with --lr; drop --member-lr")
    return replace(
        config,
        model=replace(config.model, members=1),
        data=replace(config.data, val=0.0),
        train=replace(config.train, patience=None),
    )


def candidates(config: RunConfig) -> list[dict[str, dict[str, Any]]]:
    """A few single changes that often cure failures, as per-section settings: the 2018
    lesson's (a rate 0.4 times as high, twice the steps), twice as wide layers, Adam at
    nnfit's rate for it, and leaky ReLUs (which cannot die) for ReLUs."""
    train, model = config.train, config.model
    changes: list[dict[str, dict[str, Any]]] = [
        {"train": {"lr": train.lr * 0.4, "steps": train.steps * 2}},
        {"model": {"hidden": tuple(2 * width for width in model.hidden)}},
    ]
    if train.optimizer != "adam":
        changes.append({"train": {"optimizer": "adam", "lr": REAL_DATA_DEFAULTS["lr"]}})
    if "relu" in model.activations:  # each ReLU layer leaky, the others as they are
        leaky = tuple("leaky_relu" if name == "relu" else name for name in model.activations)
        changes.append({"model": {"activation": leaky[0] if len(set(leaky)) == 1 else leaky}})
    return changes


def preset_of(changes: dict[str, dict[str, Any]]) -> str | None:
    """The preset whose settings these changes are, if any (``morvan-2018``)."""
    for name, sections in PRESETS.items():
        if sections == changes:
            return name
    return None


def changed(config: RunConfig, changes: dict[str, dict[str, Any]]) -> RunConfig:
    """``config`` with ``changes`` (per section) applied and validated."""
    sections = {name: replace(getattr(config, name), **values) for name, values in changes.items()}
    return replace(config, **sections)


def doctor(
    config: RunConfig,
    seeds: int = 1000,
    *,
    compare: bool = True,
    progress: Callable[[Trial], None] | None = None,
) -> DoctorReport:
    """Train ``config`` over ``seeds`` seeds at once and judge each; then each candidate.

    Args:
        config: the setting; its seed is the first seed and makes the data every seed shares.
        seeds: how many seeds (members of one batched run).
        compare: also train each of ``candidates(config)`` over the same seeds.
        progress: called with each Trial as its batched run ends.

    Returns:
        The ``DoctorReport``; ``nnfit.runs.doctor_report`` words it. Ctrl-C during the
        setting as given raises KeyboardInterrupt; during the comparison it ends it, and the
        report holds the changes tried until then (``stopped``).

    Example:
        >>> report = doctor(build_config(), seeds=100)  # doctest: +SKIP
        >>> report.base.count("dead_units")  # doctest: +SKIP
    """
    from ..data.dataset import load_dataset

    config = check_doctor_config(config, seeds)
    dataset = load_dataset(config.data, seed=config.train.seed)
    base = seed_run(config, dataset, seeds)
    if progress is not None:
        progress(base)
    tried, stopped = [], False
    for change in candidates(config) if compare else []:
        try:
            trial = replace(seed_run(changed(config, change), dataset, seeds), changes=change)
        except KeyboardInterrupt:  # the work done is kept: the report names what was tried
            stopped = True
            break
        if progress is not None:
            progress(trial)
        tried.append(trial)
    return DoctorReport(
        config=config,
        first_seed=config.train.seed,
        n_seeds=seeds,
        rows=len(dataset.x),
        source=dataset.source,
        noise_floor=base.noise_floor,
        base=base,
        candidates=tuple(tried),
        stopped=stopped,
    )


def seed_run(config: RunConfig, dataset: Any, seeds: int) -> Trial:
    """One batched run: ``seeds`` members from seeds ``config.train.seed`` on, each judged."""
    import torch

    from ..core.model import MLP
    from ..core.outcomes import MemberRecord, member_outcomes
    from ..core.recorder import sample
    from ..core.traindata import N_EVAL, rows_of
    from ..core.transform import auto_y_transform
    from ..regressor import Regressor

    start = time.perf_counter()
    first = config.train.seed
    regressor = Regressor.from_config(config)
    x, y = dataset.x, dataset.y
    model = MLP(
        x.shape[1],
        config.model.hidden,
        y.shape[1],
        activation=config.model.activation,
        seed=list(range(first, first + seeds)),
        members=seeds,
        y_transform=auto_y_transform(config.model.y_transform, y),
        independent=True,
    )
    rows = sample(len(x), N_EVAL, first + 1)  # the rows a single run's snapshots measure
    record = MemberRecord(
        model,
        rows_of(torch.from_numpy(np.asarray(x, np.float32)), rows),
        rows_of(torch.from_numpy(np.asarray(y, np.float32)), rows),
        loss=config.train.loss,
        every=config.train.every,
    )
    regressor.fit(
        x,
        y[:, 0] if y.shape[1] == 1 else y,
        model=model,
        callbacks=[record],
        noise_floor=dataset.noise_floor,
        x_names=dataset.x_names,
        y_names=dataset.y_names,
    )
    history = regressor.history_
    if history.stop_reason == "interrupted":  # Ctrl-C: no seed finished, nothing to judge
        raise KeyboardInterrupt
    kinds = tuple(member_outcomes(history, record))
    seconds = time.perf_counter() - start
    return Trial({}, kinds, record.losses[-1].copy(), history.noise_floor, seconds)


def _median(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if len(finite) else float("inf")

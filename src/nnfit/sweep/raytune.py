"""``nnfit sweep --backend ray``: the same trials through Ray Tune, on a laptop or a cluster.

Ray Tune runs the trial function of the Optuna backend (``trials.run_trial``: a sampled
setting trained over its seeds, one batched run) in its workers. Optuna's sampler picks the
settings (``OptunaSearch``, define-by-run through ``distributions.suggest``, the same
distributions as ``--storage``), ASHA stops the trials that lag (the snapshot stream's
``Pruning`` subscriber reports the held-out loss to ``tune.report`` instead of an Optuna
trial), and ``reuse_actors=True`` keeps one worker process per slot for many trials.

Without ``--address`` a local Ray is started for the sweep (2-13 s, ~0.7 GB) and shut down at
the end, also on an error or Ctrl-C; with ``--address auto|HOST:PORT`` the sweep joins a
running cluster (where nnfit must be installed on every node) and only disconnects.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..safetext import printable
from .distributions import sampled, setting, suggest
from .plan import one_network_base, with_setting
from .report import TRIAL, save_report, scored
from .results import SettingResult, rank, table
from .study import identity, import_optuna, make_sampler

if TYPE_CHECKING:
    from ..runs.config import RunConfig
    from .runner import SweepOutputs
    from .space import Space

INSTALL = "pip install 'nnfit[ray]'"
SAMPLERS = ("tpe", "random")
MAX_TRIALS = 1_000_000
DEFAULT_TRIALS = 20
CONNECT = 5  # seconds to wait for a cluster's address to answer
LOSS = "val_loss"  # ASHA's metric: the trial's mean held-out loss at a snapshot
SCORE = "cv_rmse"  # the sampler's: the trial's CV RMSE (nan before the trial ends)


def import_ray() -> Any:
    """Ray (with Tune), or a one-line install hint."""
    try:
        import ray
        from ray import tune  # noqa: F401  (ray without the [tune] extra lacks its parts)
        from ray.tune.search.optuna import OptunaSearch  # noqa: F401
    except ImportError:
        raise UsageError(f"sweeps with --backend ray need Ray Tune: {INSTALL}") from None
    import_optuna()  # the sampler, and the trial function's pruning signal
    return ray


@dataclass(frozen=True)
class RayOptions:
    """Where and how a Ray sweep runs: N trials, a cluster (None: a local Ray), resources."""

    trials: int
    address: str | None = None  # "auto", "HOST:PORT" or "ray://HOST:PORT"; None: start one
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    sampler: str = "tpe"

    def __post_init__(self) -> None:
        if isinstance(self.trials, bool) or not 1 <= self.trials <= MAX_TRIALS:
            raise UsageError(f"--trials must be a whole number from 1 to {MAX_TRIALS:,}")
        if self.address is not None and not self.address.strip():
            raise UsageError("--address needs auto or HOST:PORT, like --address 10.0.0.5:6379")
        if not (math.isfinite(self.cpus_per_trial) and self.cpus_per_trial > 0):
            raise UsageError(f"--cpus-per-trial must be above 0, got {self.cpus_per_trial:g}")
        if not (math.isfinite(self.gpus_per_trial) and self.gpus_per_trial >= 0):
            raise UsageError(f"--gpus-per-trial must be 0 or more, got {self.gpus_per_trial:g}")
        if self.sampler not in SAMPLERS:
            raise UsageError(f"--sampler with --backend ray must be one of {', '.join(SAMPLERS)}")


class TuneTrial:
    """What ``trials.Pruning`` talks to, in a Ray trial: reports go to ``tune.report``; ASHA,
    not the trial, decides to stop it (Ray ends a stopped trial's function itself)."""

    def report(self, value: float, step: int) -> None:
        """Report the snapshot's held-out loss at ``step``."""
        from ray import tune

        tune.report({LOSS: value, SCORE: math.nan, "step": step})

    def should_prune(self) -> bool:
        """Never from inside: ASHA stops the trial from the driver."""
        return False


@dataclass(frozen=True)
class Suggestions:
    """Optuna's define-by-run space: the Optuna backend's suggestions (picklable: Tune saves
    its searcher)."""

    items: list[Any]

    def __call__(self, trial: Any) -> None:
        for item in self.items:
            suggest(trial, item)


def trainable(
    params: dict[str, Any],
    *,
    base: RunConfig,
    items: list[Any],
    space: Space,
    data: Any,
    threads: int,
) -> None:
    """One Ray trial: the Optuna backend's trial function, its result as the last report."""
    import torch

    from .trials import run_trial

    torch.set_num_threads(threads)
    from ray import tune

    values = setting(items, params, space)
    config = with_setting(base, values)
    result = run_trial(TuneTrial(), config, data, space.seeds, None)
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
    tune.report(
        {
            LOSS: math.nan,
            SCORE: result.value,
            "step": config.train.steps,
            "scores": result.scores,
            "setting": plain,
            "seconds": result.seconds,
        }
    )


def run_ray(
    base: RunConfig, space: Space, options: RayOptions, outputs: SweepOutputs, *, preset: str
) -> tuple[list[SettingResult], bool]:
    """Run ``options.trials`` trials through Ray Tune, print the table (and save
    ``outputs.out``); returns the ranked results and whether Ctrl-C stopped it."""
    from .runner import load_sweep_data

    base = one_network_base(base)
    if base.data.file == "-":
        raise UsageError("a Ray sweep reads its data from a file: not from stdin")
    items = sampled(import_optuna(), space)
    if not items:
        raise UsageError(
            "--backend ray samples settings: give at least one setting several values or a "
            "range, like --lr log:1e-4..1"
        )
    ray = import_ray()
    data, digest = load_sweep_data(base, space, space.seeds, None, outputs.quiet)
    unit = data.y_units[0] if len(data.y_units) == 1 else ""
    about = identity(base.to_dict(), space, preset, digest) | {"unit": unit}
    _connect(ray, options, outputs)
    folder = tempfile.mkdtemp(prefix="nnfit-ray-")
    try:
        grid = _tune(ray, base, space, items, data, options, folder)
        results, lines = _collect(grid, space)
        interrupted = _interrupted(grid, options.trials)
    finally:
        ray.shutdown()  # a local Ray stops; a cluster's connection closes
        shutil.rmtree(folder, ignore_errors=True)
    print(table(results, (TRIAL, *space.varying), unit))
    print("\n".join(printable(line) for line in lines))
    if outputs.out is not None:
        status = "interrupted" if interrupted else "ray"
        record = {"status": status, "address": options.address or "local", "trials": len(grid)}
        save_report(outputs, results, about, space, record, source="a Ray sweep")
    if interrupted:
        print("interrupted: the finished trials are in the table", file=sys.stderr)
    return results, interrupted


def _connect(ray: Any, options: RayOptions, outputs: SweepOutputs) -> None:
    """Start a local Ray, or join the cluster at ``options.address``."""
    import logging

    quiet = {"log_to_driver": False, "logging_level": logging.ERROR, "configure_logging": True}
    if options.address is None:
        outputs.say("starting a local Ray (a few seconds)")
        ray.init(address="local", include_dashboard=False, **quiet)
        return
    _check_reachable(options.address)
    try:
        ray.init(address=options.address, **quiet)
    except (ConnectionError, ValueError, RuntimeError) as error:
        text = str(error).strip().splitlines()
        raise UsageError(
            f"--address {printable(options.address)}: no Ray cluster there "
            f"({printable(text[0] if text else type(error).__name__)})"
        ) from None


def _check_reachable(address: str) -> None:
    """Refuse a HOST:PORT nobody answers at, in seconds (Ray itself retries for minutes)."""
    import socket

    place = address.removeprefix("ray://")
    host, _, port = place.rpartition(":")
    if address == "auto" or not host or not port.isdigit():
        return  # Ray finds "auto" itself, and names what it cannot parse
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT).close()
    except OSError as error:
        raise UsageError(
            f"--address {printable(address)}: no Ray cluster answers there "
            f"({printable(error.strerror or error)}); start one with ray start --head, "
            "or leave --address out for a local Ray"
        ) from None


def _tune(
    ray: Any,
    base: RunConfig,
    space: Space,
    items: list[Any],
    data: Any,
    options: RayOptions,
    folder: str,
) -> Any:
    """Tune's run: OptunaSearch over ``items``, ASHA on the held-out loss per step."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    optuna = import_optuna()

    steps = _most_steps(base, space)
    threads = max(1, int(options.cpus_per_trial))
    function = tune.with_parameters(
        trainable, base=base, items=items, space=space, data=data, threads=threads
    )
    resources = {"cpu": options.cpus_per_trial, "gpu": options.gpus_per_trial}
    search = OptunaSearch(
        Suggestions(items),
        metric=SCORE,
        mode="min",
        sampler=make_sampler(optuna, options.sampler, None),
    )
    scheduler = ASHAScheduler(
        metric=LOSS,
        mode="min",
        time_attr="step",
        max_t=steps + 1,  # a trial ends itself, with its scores as its last report
        grace_period=max(1, steps // 10),  # as the Optuna pruners' warm-up
    )
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    tuner = tune.Tuner(
        tune.with_resources(function, resources),
        tune_config=tune.TuneConfig(
            search_alg=search,
            scheduler=scheduler,
            num_samples=options.trials,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(storage_path=folder, name="nnfit", verbose=0),
    )
    return tuner.fit()


def _most_steps(base: RunConfig, space: Space) -> int:
    """The most training steps a trial may take: ASHA's resource (steps may be swept)."""
    for dimension in space.dimensions:
        if dimension.name == "steps":
            return max(1, *(int(v) for v in dimension.values))
    return max(1, base.train.steps)


def _collect(grid: Any, space: Space) -> tuple[list[SettingResult], list[str]]:
    """The finished trials as ranked SettingResults, and a summary with the failures."""
    results, failed, stopped = [], [], 0
    for number, result in enumerate(grid):
        metrics = result.metrics or {}
        if result.error is not None:
            first = str(result.error).strip().splitlines()
            failed.append(f"  trial {number} failed: {first[-1] if first else 'error'}")
        elif isinstance(metrics.get("scores"), dict):
            seconds = float(metrics.get("seconds", 0.0))
            found = scored(number, metrics["setting"], metrics["scores"], seconds, space.names)
            if math.isfinite(found.mean):
                results.append(found)
            else:
                failed.append(f"  trial {number} failed: diverged: all {space.seeds} network(s)")
        else:
            stopped += 1
    ranked = rank(results)
    line = f"ray: {len(grid)} trial(s): {len(ranked)} complete"
    line += f", {stopped} stopped by ASHA" if stopped else ""
    line += f", {len(failed)} failed" if failed else ""
    if ranked:
        line += f"; best: trial {ranked[0].index} (CV RMSE {ranked[0].mean:.4g})"
    return ranked, [line, *failed[:5]]


def _interrupted(grid: Any, trials: int) -> bool:
    """Whether Ctrl-C ended Tune's run before every trial ran."""
    return len(grid) < trials

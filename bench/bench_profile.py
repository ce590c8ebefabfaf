"""Where a default fit's time goes: work per step × steps, per shipped example, on one thread.

For each example: the members and rows of a step, the multiply-adds of one step (forward and
backward: about 3 × rows × members × the sum over layers of fan-in × fan-out), the steps the fit
ran (early stopping ends most fits), the seconds, the time per step and the rate it reached;
with ``--compare`` also the previous defaults (64,64), lr 0.01, 3000 steps, patience 1000, and
the autograd engine, side by side.

Run: .venv/bin/python bench/bench_profile.py  [--sets cars,nile] [--compare]
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

OLD_DEFAULTS = {"hidden": (64, 64), "lr": 0.01, "steps": 3000, "patience": 1000}


def steps_run(history: Any) -> int:
    """Steps the loop ran: all of them, or up to the last snapshot before early stopping."""
    if history.stop_reason == "done":
        return int(history.settings["train"]["steps"])
    return max(s.step for s in history.snapshots if not s.final)


@contextmanager
def batched_engine() -> Any:
    """The engine as it is: the batched one for ensembles."""
    yield


@contextmanager
def autograd_engine() -> Any:
    """Train ensembles through autograd (the engine before the batched one), for comparison."""
    from nnfit.core import engines

    batched = engines.batched_fits
    engines.batched_fits = lambda model, config: False
    try:
        yield
    finally:
        engines.batched_fits = batched


def profile(name: str, x: Any, y: Any, settings: dict[str, Any], engine: Callable[[], Any]) -> str:
    from nnfit.regressor import Regressor

    with engine():
        Regressor(**settings).fit(x, y)  # warm
        start = time.perf_counter()
        model = Regressor(**settings).fit(x, y)
        seconds = time.perf_counter() - start
    net = model.model_
    rows = round(len(x) * (1 - 0.2)) if net.members > 1 else len(x)
    widths = (net.n_in, *net.hidden, net.n_out)
    macs = 3 * len(x) * net.members * sum(a * b for a, b in itertools.pairwise(widths))
    steps = steps_run(model.history_)
    per_step = seconds / max(steps, 1)
    return (
        f"| {name} | {len(x)} | {','.join(map(str, net.hidden))} | {net.members} | {rows} | "
        f"{macs / 1e6:.2f} | {steps} | {seconds:.2f} | {per_step * 1e6:.0f} | "
        f"{macs / per_step / 1e9:.2f} |"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="", help="comma-separated examples (default: all)")
    parser.add_argument("--compare", action="store_true", help="also the old defaults/engine")
    args = parser.parse_args(argv)

    import torch
    from bench_quality import load_sets

    from nnfit.data.datasets import EXAMPLES

    torch.set_num_threads(1)
    names = args.sets.split(",") if args.sets else list(EXAMPLES)
    runs: list[tuple[str, dict[str, Any], Callable[[], Any]]] = [
        ("defaults, batched engine", {}, batched_engine),
    ]
    if args.compare:
        runs += [
            ("defaults, autograd engine", {}, autograd_engine),
            ("previous defaults, autograd engine", OLD_DEFAULTS, autograd_engine),
        ]
    print(f"torch {torch.__version__}, one thread; multiply-adds of a step: forward + backward")
    for title, settings, engine in runs:
        print(f"\n{title}:\n")
        print(
            "| data set | n | hidden | members | rows a member trains on | multiply-adds per "
            "step (M) | steps run | seconds | µs per step | G multiply-adds/s |"
        )
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, x, y in load_sets(names):
            print(profile(name, x, y, settings, engine), flush=True)


if __name__ == "__main__":
    main()

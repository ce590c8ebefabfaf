"""A 100-setting sweep on the lesson's problem: nnfit sweep against its peers in one run.

The lesson's problem: 100 points of x² + 0.2 U(0, 1) (``make_data(seed=0)``), ReLU networks,
full-batch SGD, 100 steps, MSE, no scaling (``--preset morvan-2017``). The space: hidden
widths 5, 10, 20, 40, 80 × 20 learning rates log-spaced from 0.01 to 1 = 100 settings, each
scored by 5-fold cross-validation (``--seeds 5``, val 0.2): 500 networks. Side by side, best
of ``--repeat`` interleaved runs, in seconds of wall time (imports excluded):

- nnfit sweep: ``run_sweep`` (what ``nnfit sweep --preset morvan-2017 --val 0.2 --hidden
  5,10,20,40,80 --lr log:0.01..1:20 --seeds 5`` runs): 5 batched runs of 100 members;
- a Python loop of single nnfit runs: the same 500 networks one ``nnfit.train`` call each
  (the sweep's own single-run path: a group of one member, the reference the batched members
  equal in tests/test_sweep.py);
- a Python loop of ``nnfit.Regressor(...).fit`` (what a user writes by hand: one network, its
  own validation split, metrics and diagnosis per fit), on ``--loop-share`` of the networks and
  extrapolated (marked ~);
- scikit-learn: ``GridSearchCV(MLPRegressor(solver="sgd", momentum=0, alpha=0, batch_size=all
  rows, max_iter=100), cv=KFold(5, shuffle=True))`` over the same grid, ``n_jobs=1``; its loss
  is half the MSE, so each lr steps half as far: the same work per network, not the same fits.

Each row also gives the best setting found and its CV RMSE, so the work is seen to be alike.

Run: PYTHONPATH=src .venv/bin/python bench/bench_sweep.py  (prints a markdown table)
    --repeat 3          interleaved repetitions (best of)
    --loop-share 0.2    share of the networks the Regressor loop times
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import time
import warnings
from typing import Any

HIDDEN = "5,10,20,40,80"
LR = "log:0.01..1:20"
SEEDS = 5


def sweep_setup() -> tuple[Any, Any, Any]:
    """The base settings, the space and the sweep's data."""
    from nnfit.data.synthetic import make_data
    from nnfit.runs.config import build_config
    from nnfit.sweep.objective import sweep_data
    from nnfit.sweep.space import from_texts

    base = build_config("morvan-2017", data={"val": 0.2}, model={"members": 1})
    space = from_texts({"hidden": HIDDEN, "lr": LR}, seeds=SEEDS)
    x, y = make_data(seed=0)
    return base, space, sweep_data(x.numpy(), y.numpy(), seeds=SEEDS, val=0.2, seed=0)


def nnfit_sweep() -> tuple[float, str, float]:
    """Seconds, best setting and its CV RMSE of the batched sweep."""
    from nnfit.sweep.runner import SweepOutputs, run_sweep

    base, space, _ = sweep_setup()
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        results, _ = run_sweep(base, space, SweepOutputs(quiet=True), preset="morvan-2017")
    seconds = time.perf_counter() - start
    return seconds, _setting(results[0].values), results[0].mean


def single_loop() -> tuple[float, str, float]:
    """The same 500 networks, one nnfit.train call each."""
    from nnfit.sweep.batched import train_group
    from nnfit.sweep.plan import Group, plan
    from nnfit.sweep.results import collect

    base, space, data = sweep_setup()
    start = time.perf_counter()
    _, groups = plan(base, space)
    done = []
    for group in groups:
        for k, trial in enumerate(group.trials):
            single = Group(group.config, (trial,), (group.lrs[k],))
            done.append((single, *train_group(single, data)))
    results = collect(list(space.settings()), done)
    seconds = time.perf_counter() - start
    return seconds, _setting(results[0].values), results[0].mean


def regressor_loop(share: float) -> tuple[float, str, float]:
    """``Regressor(...).fit`` per network, on ``share`` of them, extrapolated."""
    import numpy as np

    from nnfit import Regressor

    _, space, data = sweep_setup()
    settings = list(space.settings())
    chosen = settings[:: max(1, round(1 / share))]
    start = time.perf_counter()
    scores = {}
    for setting in chosen:
        errors = []
        for seed in range(SEEDS):
            model = Regressor(
                hidden=setting["hidden"],
                activation="relu",
                scale=False,
                y_transform="none",
                members=1,
                optimizer="sgd",
                lr=setting["lr"],
                steps=100,
                every=5,
                patience=None,
                schedule="constant",
                val=0.2,
                seed=seed,
            )
            model.fit(data.x, data.y[:, 0])
            errors.append(model.metrics_["val"]["rmse"])
        scores[_setting(setting)] = float(np.mean(errors))
    seconds = (time.perf_counter() - start) * len(settings) / len(chosen)
    best = min(scores, key=scores.__getitem__)
    return seconds, best, scores[best]


def grid_search() -> tuple[float, str, float]:
    """scikit-learn's GridSearchCV over MLPRegressor, the same grid and 5 folds."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.neural_network import MLPRegressor

    _, space, data = sweep_setup()
    values = {d.name: d.values for d in space.dimensions}
    grid = {
        "hidden_layer_sizes": list(values["hidden"]),
        "learning_rate_init": list(values["lr"]),
    }
    net = MLPRegressor(
        solver="sgd",
        momentum=0.0,
        nesterovs_momentum=False,
        alpha=0.0,
        batch_size=len(data.x),
        max_iter=100,
        tol=0.0,
        n_iter_no_change=10**6,
        shuffle=False,
        random_state=0,
    )
    search = GridSearchCV(
        net,
        grid,
        cv=KFold(5, shuffle=True, random_state=0),
        scoring="neg_root_mean_squared_error",
        n_jobs=1,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)  # batch_size: all rows of each fold
        search.fit(data.x, data.y[:, 0])
    seconds = time.perf_counter() - start
    best = search.best_params_
    label = f"hidden {best['hidden_layer_sizes'][0]}, lr {best['learning_rate_init']:.3g}"
    return seconds, label, float(-search.best_score_)


def _setting(values: dict[str, Any]) -> str:
    return f"hidden {values['hidden'][0]}, lr {values['lr']:.3g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repetitions (3)")
    parser.add_argument(
        "--loop-share", type=float, default=0.2, help="share of networks the Regressor loop times"
    )
    args = parser.parse_args()
    import torch

    methods = {
        "nnfit sweep (5 batched runs)": nnfit_sweep,
        "loop of single nnfit runs (nnfit.train)": single_loop,
        "loop of nnfit.Regressor(...).fit": lambda: regressor_loop(args.loop_share),
        "scikit-learn GridSearchCV(MLPRegressor)": grid_search,
    }
    best: dict[str, tuple[float, str, float]] = {}
    for _ in range(args.repeat):  # interleaved: the machine's load hits every method alike
        for name, method in methods.items():
            seconds, setting, rmse = method()
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, setting, rmse)
    sweep_seconds = best["nnfit sweep (5 batched runs)"][0]
    print(
        f"100 settings x 5 folds = 500 networks; torch {torch.__version__}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, best of "
        f"{args.repeat} interleaved\n"
    )
    print("| method | seconds | nnfit sweep's speed-up | best setting | its CV RMSE |")
    print("|---|---:|---:|---|---:|")
    for name, (seconds, setting, rmse) in best.items():
        mark = "~" if "nnfit.Regressor" in name else ""
        ratio = seconds / sweep_seconds
        print(f"| {name} | {mark}{seconds:.2f} | {ratio:.1f}x | {setting} | {rmse:.4f} |")


if __name__ == "__main__":
    main()

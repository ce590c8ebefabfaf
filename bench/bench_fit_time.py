"""Fit time: nnfit's default fit of every shipped example against MLPRegressor and the GP.

Each method fits all rows of each shipped data set once per repetition, the methods taking turns
(``--repeat`` interleaved repetitions, the fastest kept: the one least disturbed by other work),
on one thread each. nnfit is ``Regressor()`` with its defaults; MLPRegressor and the Gaussian
process are the pipelines of bench_quality.py (imported from it, so both benchmarks measure the
same thing). Prints seconds per set, nnfit's median and worst, nnfit / MLPRegressor per set, and
the goals of issue 12: a median of at most 1 s, a worst of at most 2 s, at most 10×
MLPRegressor's time on every set.

Needs scikit-learn (``pip install 'nnfit[bench]'``).

Run: PYTHONPATH=src .venv/bin/python bench/bench_fit_time.py  (prints a markdown table)
    --quick              one repetition
    --sets cars,nile     only these data sets
    --repeat 5           interleaved repetitions (default 3)
    --threads 0          torch's and BLAS's own thread count instead of 1
    --synthetic          instead: time and R² of the ensemble default against one network on
                         synthetic curves (--sizes 20,100,1000)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings

import numpy as np
from bench_quality import FitPredict, gaussian_process, load_sets, markdown, mlp, nnfit_method

GOAL_MEDIAN, GOAL_WORST, GOAL_RATIO = 1.0, 2.0, 10.0  # seconds, seconds, × MLPRegressor
CURVES = {  # name: (true curve, noise std)
    "sin": (lambda x: np.sin(2 * np.pi * x), 0.1),
    "step": (lambda x: 1 / (1 + np.exp(-60 * (x - 0.5))), 0.05),
    "exp": (lambda x: np.exp(5 * x), 2.0),
    "linear": (lambda x: 2 * x + 1, 0.5),
}


def fit_seconds(method: FitPredict, x: np.ndarray, y: np.ndarray) -> float:
    """Seconds to fit all rows (and predict them, a negligible part)."""
    start = time.perf_counter()
    method(x, y, x)
    return time.perf_counter() - start


def shipped_sets(names: list[str], repeat: int) -> str:
    """The fit-time table of the shipped examples, with the goals met or missed."""
    methods: dict[str, FitPredict] = {
        "nnfit": nnfit_method({}),
        "MLPRegressor": mlp,
        "GP": gaussian_process,
    }
    tiny = np.arange(5.0)
    for method in methods.values():  # warm up: imports, the first optimiser
        method(tiny, tiny**2, tiny)
    rows = []
    for set_name, x, y in load_sets(names):
        best = dict.fromkeys(methods, float("inf"))
        for _ in range(repeat):  # interleaved, so drift hits every method alike
            for label, method in methods.items():
                best[label] = min(best[label], fit_seconds(method, x, y))
        rows.append((set_name, len(x), best))

    lines = [["data set", "n", *methods, "nnfit / MLPRegressor"]]
    ratios = []
    for set_name, n, best in rows:
        ratios.append(best["nnfit"] / best["MLPRegressor"])
        lines.append([set_name, str(n), *(f"{s:.2f}" for s in best.values()), f"{ratios[-1]:.1f}"])
    ours = [best["nnfit"] for _, _, best in rows]
    median, worst = statistics.median(ours), max(ours)
    goals = [
        ("nnfit median", f"{median:.2f} s", f"≤ {GOAL_MEDIAN:g} s", median <= GOAL_MEDIAN),
        ("nnfit worst", f"{worst:.2f} s", f"≤ {GOAL_WORST:g} s", worst <= GOAL_WORST),
        (
            "nnfit / MLPRegressor, worst set",
            f"{max(ratios):.1f}×",
            f"≤ {GOAL_RATIO:g}×",
            max(ratios) <= GOAL_RATIO,
        ),
    ]
    goal_lines = [["goal", "measured", "target", "status"]]
    goal_lines += [
        [name, value, target, "met" if ok else "missed"] for name, value, target, ok in goals
    ]
    return (
        f"seconds per fit of all rows, best of {repeat} interleaved\n\n"
        f"{markdown(lines)}\n\n{markdown(goal_lines)}"
    )


def r2(y: np.ndarray, y_pred: np.ndarray) -> float:
    return float(1 - np.sum((y - y_pred) ** 2) / np.sum((y - y.mean()) ** 2))


def synthetic(sizes: list[int]) -> str:
    """Time and test R² of ``Regressor()`` (members auto) against ``Regressor(members=1)``."""
    from nnfit.core.members import auto_members
    from nnfit.regressor import Regressor

    Regressor(steps=5).fit(np.arange(5.0), np.arange(5.0))  # warm up: imports, first optimiser
    lines = [
        [
            "n",
            "curve",
            "members",
            "seconds (auto)",
            "seconds (1)",
            "time ratio",
            "R² auto",
            "R² 1",
            "best R²",
        ]
    ]
    for n in sizes:
        for name, (f, noise) in CURVES.items():
            rng = np.random.default_rng(n)
            x = rng.uniform(0, 1, n)
            y = f(x) + noise * rng.standard_normal(n)
            x_test = rng.uniform(0, 1, 2000)
            y_test = f(x_test) + noise * rng.standard_normal(2000)
            row = []
            for members in ("auto", 1):
                start = time.perf_counter()
                model = Regressor(members=members).fit(x, y)
                row.append((time.perf_counter() - start, r2(y_test, model.predict(x_test))))
            (t_auto, r2_auto), (t_one, r2_one) = row
            lines.append(
                [
                    str(n),
                    name,
                    str(auto_members("auto", n)),
                    f"{t_auto:.1f}",
                    f"{t_one:.1f}",
                    f"{t_auto / t_one:.2f}",
                    f"{r2_auto:.3f}",
                    f"{r2_one:.3f}",
                    f"{r2(y_test, f(x_test)):.3f}",
                ]
            )
    return (
        "synthetic curves on x in [0, 1]; R² on 2,000 fresh points; best R²: the true curve's\n\n"
        + markdown(lines)
    )


def main(argv: list[str] | None = None) -> None:
    from nnfit.data.datasets import EXAMPLES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition")
    parser.add_argument("--sets", default=",".join(EXAMPLES), help="comma-separated examples")
    parser.add_argument("--repeat", type=int, help="interleaved repetitions (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="threads per method (0: default)")
    parser.add_argument("--synthetic", action="store_true", help="the synthetic-curves table")
    parser.add_argument("--sizes", default="20,100,1000", help="--synthetic's row counts")
    args = parser.parse_args(argv)

    import sklearn
    import torch
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    if args.threads:  # one thread each: fair between methods, and steady on a shared machine
        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    if args.synthetic:
        report = synthetic([int(n) for n in args.sizes.split(",")])
    else:
        report = shipped_sets(args.sets.split(","), args.repeat or (1 if args.quick else 3))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, threads per method "
        f"{torch.get_num_threads()}, Python {platform.python_version()}, "
        f"torch {torch.__version__}, scikit-learn {sklearn.__version__}"
    )
    print(report)


if __name__ == "__main__":
    main()

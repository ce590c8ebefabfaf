"""Quality benchmark: cross-validated RMSE of nnfit's default fit on the shipped real data sets
and two synthetic shapes they lack (exponential growth over three decades, a cycle on a trend).

Side by side with scikit-learn's MLPRegressor (standardised x and y, otherwise its defaults), a
smoothing spline (scipy's ``make_smoothing_spline``, smoothing chosen by GCV) and a Gaussian
process (constant × RBF + white noise, on standardised x). Every method sees the same folds
(``KFold``, shuffled, seed 0); the RMSE pools all out-of-fold predictions.

Needs scikit-learn and scipy, which nnfit itself does not:
    .venv/bin/pip install scikit-learn scipy

Run: .venv/bin/python bench/bench_quality.py  (prints a markdown table; copy it to bench/README.md)
    --quick                 5 folds instead of 10
    --sets cars,nile        only these data sets
    --methods nnfit,spline  only these methods
    --set lr=0.003          a Regressor setting other than the default (repeatable; for tuning)
    --threads 0             torch's and BLAS's own thread count instead of 1
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import time
import warnings
from collections.abc import Callable

import numpy as np

FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def growth() -> tuple[np.ndarray, np.ndarray]:
    """Smooth monotone exponential growth, as a culture or a vapour pressure grows: 25 points
    over three decades (1 to 1000) with 1% multiplicative noise, seeded."""
    rng = np.random.default_rng(1)
    x = np.sort(rng.uniform(0, 10, 25))
    return x, 10 ** (0.3 * x) * (1 + 0.01 * rng.standard_normal(25))


def periodic() -> tuple[np.ndarray, np.ndarray]:
    """A yearly cycle on a trend, as a monthly temperature or CO₂ record: 150 points over six
    cycles, noise 0.15 (the cycle's amplitude is 1), seeded."""
    rng = np.random.default_rng(2)
    x = np.sort(rng.uniform(0, 6, 150))
    return x, 0.3 * x + np.sin(2 * np.pi * x) + 0.15 * rng.standard_normal(150)


SYNTHETIC = {"growth": growth, "periodic": periodic}  # shapes the shipped sets lack


def load_sets(names: list[str]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The shipped examples and the SYNTHETIC sets as (name, x (n,), y (n,))."""
    from nnfit.data.datasets import EXAMPLES, example_path
    from nnfit.io.table import read_table, select_columns

    sets = []
    for name in names:
        if name in SYNTHETIC:
            sets.append((name, *SYNTHETIC[name]()))
            continue
        example = EXAMPLES[name]
        table = read_table(str(example_path(name)))
        x, y, _, _ = select_columns(table, example.x, example.y)
        sets.append((name, x[:, 0].astype(np.float64), y[:, 0].astype(np.float64)))
    return sets


def nnfit_method(settings: dict[str, object]) -> FitPredict:
    """nnfit's Regressor with its defaults for real data (plus any --set overrides)."""
    from nnfit.errors import ExtrapolationWarning
    from nnfit.regressor import Regressor

    def fit_predict(x: np.ndarray, y: np.ndarray, x_test: np.ndarray) -> np.ndarray:
        model = Regressor(**settings).fit(x, y)
        with warnings.catch_warnings():  # test folds beyond the training range: expected here
            warnings.simplefilter("ignore", ExtrapolationWarning)
            return model.predict(x_test)

    return fit_predict


def mlp(x: np.ndarray, y: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """scikit-learn's MLPRegressor on standardised x and y, otherwise its defaults."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        StandardScaler(),
        TransformedTargetRegressor(MLPRegressor(random_state=0), transformer=StandardScaler()),
    )
    return model.fit(x[:, None], y).predict(x_test[:, None])


def spline(x: np.ndarray, y: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """A cubic smoothing spline with GCV-chosen smoothing; repeated x become one weighted mean."""
    from scipy.interpolate import make_smoothing_spline

    # make_smoothing_spline needs strictly increasing x: average y over equal x, weighted by count
    x_unique, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    y_mean = np.bincount(inverse, weights=y) / counts
    centre, width = x_unique.mean(), x_unique.std()  # standardised x keeps the solve well scaled
    t = (x_unique - centre) / width
    curve = make_smoothing_spline(t, y_mean, w=counts.astype(float))
    # a natural spline is straight beyond the data (as R's smooth.spline predicts); scipy's
    # BSpline would carry on the end pieces' cubics instead
    t_test = (x_test - centre) / width
    edge = np.clip(t_test, t[0], t[-1])
    return curve(edge) + curve.derivative()(edge) * (t_test - edge)


def gaussian_process(x: np.ndarray, y: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """A Gaussian process, constant × RBF + white noise, on standardised x."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    kernel = ConstantKernel() * RBF() + WhiteKernel()
    model = make_pipeline(
        StandardScaler(),
        GaussianProcessRegressor(
            kernel=kernel, normalize_y=True, n_restarts_optimizer=2, random_state=0
        ),
    )
    return model.fit(x[:, None], y).predict(x_test[:, None])


def cross_validate(
    method: FitPredict, x: np.ndarray, y: np.ndarray, folds: int
) -> tuple[float, float]:
    """RMSE over all out-of-fold predictions, and the seconds the fits took."""
    from sklearn.model_selection import KFold

    y_pred = np.empty_like(y)
    start = time.perf_counter()
    for train_rows, test_rows in KFold(folds, shuffle=True, random_state=0).split(x):
        y_pred[test_rows] = method(x[train_rows], y[train_rows], x[test_rows])
    seconds = time.perf_counter() - start
    return float(np.sqrt(np.mean((y_pred - y) ** 2))), seconds


def parse_settings(pairs: list[str]) -> dict[str, object]:
    """--set name=value pairs → Regressor keyword arguments (values as Python literals)."""
    settings: dict[str, object] = {}
    for pair in pairs:
        name, _, text = pair.partition("=")
        try:
            settings[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            settings[name] = text  # a bare word such as cosine or relu
    return settings


def main(argv: list[str] | None = None) -> None:
    from nnfit.data.datasets import EXAMPLES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 folds instead of 10")
    every_set = ",".join([*EXAMPLES, *SYNTHETIC])
    parser.add_argument("--sets", default=every_set, help="comma-separated sets")
    parser.add_argument("--methods", default="nnfit,mlp,spline,gp", help="comma-separated")
    parser.add_argument("--set", action="append", default=[], help="Regressor setting name=value")
    parser.add_argument("--threads", type=int, default=1, help="threads per method (0: default)")
    args = parser.parse_args(argv)

    import torch
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    if args.threads:  # one thread each: fair between methods, and steady on a shared machine
        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    settings = parse_settings(args.set)
    all_methods: dict[str, tuple[str, FitPredict]] = {
        "nnfit": ("nnfit", nnfit_method(settings)),
        "mlp": ("MLPRegressor", mlp),
        "spline": ("spline", spline),
        "gp": ("GP", gaussian_process),
    }
    methods = [all_methods[key] for key in args.methods.split(",")]
    folds = 5 if args.quick else 10
    nnfit_method(settings)(np.arange(5.0), np.arange(5.0), np.arange(5.0))  # warm up imports

    names = [label for label, _ in methods]
    totals = dict.fromkeys(names, 0.0)
    rows = []
    for set_name, x, y in load_sets(args.sets.split(",")):
        rmse = {}
        for label, method in methods:
            rmse[label], seconds = cross_validate(method, x, y, folds)
            totals[label] += seconds
        rows.append((set_name, len(x), rmse))

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, threads per method "
        f"{torch.get_num_threads()}, Python {platform.python_version()}, torch {torch.__version__}"
    )
    print(f"{folds}-fold cross-validated RMSE (KFold shuffled, seed 0); nnfit settings {settings}")
    print()
    print(markdown(table(rows, names, totals)))


def table(
    rows: list[tuple[str, int, dict[str, float]]], names: list[str], totals: dict[str, float]
) -> list[list[str]]:
    """Header, one row per data set, then the seconds each method took; a summary row last."""
    compare = "nnfit" in names and len(names) > 1
    has_mlp = compare and "MLPRegressor" in names
    header = ["data set", "n", *names]
    header += ["nnfit / best"] if compare else []
    header += ["beats MLPRegressor"] if has_mlp else []
    lines = [header]
    within = beats = 0
    for set_name, n, rmse in rows:
        cells = [set_name, str(n), *(f"{rmse[label]:.4g}" for label in names)]
        if compare:
            ratio = rmse["nnfit"] / min(rmse.values())
            within += ratio <= 1.05
            cells.append(f"{ratio:.3f}")
        if has_mlp:
            beats += rmse["nnfit"] < rmse["MLPRegressor"]
            cells.append("yes" if rmse["nnfit"] < rmse["MLPRegressor"] else "no")
        lines.append(cells)
    summary = []
    if compare:
        summary.append(f"within 5% on {within}/{len(rows)}")
    if has_mlp:
        summary.append(f"beats on {beats}/{len(rows)}")
    seconds = [f"{totals[label]:.1f}" for label in names]
    lines.append(["total seconds", "", *seconds, *summary])
    return lines


def markdown(lines: list[list[str]]) -> str:
    """A markdown table: the first line is the header; columns after the first align right."""
    out = ["| " + " | ".join(lines[0]) + " |"]
    out.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(lines[0]))) + "|")
    out += ["| " + " | ".join(cells) + " |" for cells in lines[1:]]
    return "\n".join(out)


if __name__ == "__main__":
    main()

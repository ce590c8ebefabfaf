"""Time and test R² of one default fit, the ensemble default (members auto) against one network.

Synthetic curves on x in [0, 1] with known noise, so the best reachable R² is known: the true
curve's R² on 2,000 fresh points. For each size, ``Regressor()`` (members auto) and
``Regressor(members=1)`` fit the same data side by side, on one thread.

Run: .venv/bin/python bench/bench_fit_time.py  [--sizes 20,100,1000]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

CURVES = {  # name: (true curve, noise std)
    "sin": (lambda x: np.sin(2 * np.pi * x), 0.1),
    "step": (lambda x: 1 / (1 + np.exp(-60 * (x - 0.5))), 0.05),
    "exp": (lambda x: np.exp(5 * x), 2.0),
    "linear": (lambda x: 2 * x + 1, 0.5),
}


def r2(y: np.ndarray, y_pred: np.ndarray) -> float:
    return float(1 - np.sum((y - y_pred) ** 2) / np.sum((y - y.mean()) ** 2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,100,1000", help="comma-separated row counts")
    args = parser.parse_args(argv)

    import torch

    from nnfit.core.members import auto_members
    from nnfit.regressor import Regressor

    torch.set_num_threads(1)
    Regressor(steps=5).fit(np.arange(5.0), np.arange(5.0))  # warm up imports
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, one thread, Python "
        f"{platform.python_version()}, torch {torch.__version__}"
    )
    print()
    print(
        "| n | curve | members | seconds (auto) | seconds (1) | time ratio | R² auto | R² 1 "
        "| best R² |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
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
            print(
                f"| {n} | {name} | {auto_members('auto', n)} | {t_auto:.1f} | {t_one:.1f} | "
                f"{t_auto / t_one:.2f} | {r2_auto:.3f} | {r2_one:.3f} | "
                f"{r2(y_test, f(x_test)):.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

"""GPU check: nnfit's training paths on CUDA next to the CPU, for a lent GPU machine.

Run: XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONPATH=src:bench python bench/gpu_check.py
(prints a table; numbers go in bench/README.md). JAX rows run where JAX sees a GPU (its
preallocation off, so torch keeps its memory); a row that fails prints its error and the rest go
on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import torch

import nnfit
from nnfit.core.callbacks import Callback
from nnfit.core.trainstate import Control
from nnfit.regressor import Regressor


def lesson(device: str) -> float:
    x, y = nnfit.make_data(seed=0)
    history = nnfit.train(nnfit.MLP(1, 10, 1, seed=0), (x, y), nnfit.TrainConfig(device=device))
    return history.final.loss


def big_fit(device: str, n: int) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, n)
    y = np.sin(2 * x) + 0.3 * x + 0.1 * rng.standard_normal(n)
    start = time.perf_counter()
    model = Regressor(device=device, steps=1000, every=50, patience=None).fit(x, y)
    return time.perf_counter() - start, model.metrics_["val"]["r2"]


def resume_matches(device: str) -> bool:
    x = np.linspace(-2, 2, 200)
    y = np.sin(2 * x)
    settings = {"steps": 200, "every": 10, "hidden": (32, 32), "device": device, "batch_size": 32}
    whole = Regressor(**settings).fit(x, y)
    stop, states = threading.Event(), []

    class StopAt(Callback):
        def on_snapshot(self, snapshot):
            if snapshot.step == 100 and not snapshot.final:
                stop.set()

    Regressor(**settings).fit(
        x, y, callbacks=[StopAt()], control=Control(stop=stop, checkpoint=states.append)
    )
    resumed = Regressor(**settings).fit(x, y, control=Control(resume=states[-1]))
    return bool(np.array_equal(whole.history_.losses, resumed.history_.losses))


def many_models(device: str, members: int, steps: int = 100, *, compile: bool = False) -> float:
    """Model-steps/s of the lesson's problem on ``members`` copies (the batched engine)."""
    x, y = nnfit.make_data(seed=0)
    config = nnfit.TrainConfig(lr=0.5, steps=steps, every=steps, device=device, compile=compile)
    nnfit.train(nnfit.MLP(1, 10, 1, members=members, seed=0), (x, y), config)  # warm up
    model = nnfit.MLP(1, 10, 1, members=members, seed=0)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    nnfit.train(model, (x, y), config)
    if device == "cuda":
        torch.cuda.synchronize()
    return members * steps / (time.perf_counter() - start)


def jax_models(members: int, steps: int = 100) -> float:
    """Model-steps/s of the same problem in JAX (``jit(vmap(train))``, bench/jax_baseline.py)
    on JAX's default device, compiling excluded."""
    import jax_baseline as jb

    problem = jb.Problem("lesson", members, steps=steps)
    x, y = jb.lesson_data()
    params = jb.torch_like_init(problem)
    compiled, _ = jb.compile_train(problem, params, x, y)
    jb.run(compiled, params, x, y)  # warm up
    start = time.perf_counter()
    jb.run(compiled, params, x, y)
    return members * steps / (time.perf_counter() - start)


def row(label: str, *cells: Callable[[], str]) -> None:
    """One table row; a cell that fails shows its error instead."""
    shown = []
    for cell in cells:
        try:
            shown.append(cell())
        except Exception as error:  # a GPU check reports, it does not stop
            shown.append(f"failed: {type(error).__name__}: {str(error)[:80]}")
    print(f"| {label} | {' | '.join(shown)} |", flush=True)


def main() -> None:
    print(
        f"torch {torch.__version__}, cuda {torch.cuda.is_available()}, "
        f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU'}, "
        f"{torch.get_num_threads()} CPU threads",
        flush=True,
    )
    print("| check | cpu | cuda |")
    print("|---|---|---|")
    row("lesson final loss", lambda: f"{lesson('cpu'):.6f}", lambda: f"{lesson('cuda'):.6f}")
    row(
        "resume equals uninterrupted (minibatch 32)",
        lambda: str(resume_matches("cpu")),
        lambda: str(resume_matches("cuda")),
    )
    for members in (1_000, 8_192, 100_000, 1_000_000):
        row(
            f"lesson x {members:,} members, model-steps/s",
            lambda m=members: f"{many_models('cpu', m):,.0f}" if m <= 100_000 else "-",
            lambda m=members: f"{many_models('cuda', m):,.0f}",
        )
    for members in (8_192, 100_000, 1_000_000):
        row(
            f"lesson x {members:,} members, --compile, model-steps/s",
            lambda: "-",
            lambda m=members: f"{many_models('cuda', m, compile=True):,.0f}",
        )
    for members in (1_000, 8_192, 100_000, 1_000_000):
        row(
            f"JAX jit(vmap), lesson x {members:,}, model-steps/s (JAX's device)",
            lambda: "-",
            lambda m=members: f"{jax_models(m):,.0f}",
        )
    for n in (10_000, 1_000_000):
        row(
            f"1000 steps, {n:,} rows: seconds (val R²)",
            lambda n=n: "{:.2f} ({:.4f})".format(*big_fit("cpu", n)),
            lambda n=n: "{:.2f} ({:.4f})".format(*big_fit("cuda", n)),
        )


if __name__ == "__main__":
    main()

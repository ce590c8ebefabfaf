"""GPU check: nnfit's training paths on CUDA next to the CPU, for a lent GPU machine.

Run: PYTHONPATH=src python bench/gpu_check.py  (prints a table; numbers go in bench/README.md)
"""

from __future__ import annotations

import threading
import time

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


def many_models(device: str, members: int, steps: int = 100) -> float:
    """Model-steps/s of the lesson's problem on ``members`` copies (the batched engine)."""
    x, y = nnfit.make_data(seed=0)
    config = nnfit.TrainConfig(lr=0.5, steps=steps, every=steps, device=device)
    nnfit.train(nnfit.MLP(1, 10, 1, members=members, seed=0), (x, y), config)  # warm up
    model = nnfit.MLP(1, 10, 1, members=members, seed=0)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    nnfit.train(model, (x, y), config)
    if device == "cuda":
        torch.cuda.synchronize()
    return members * steps / (time.perf_counter() - start)


def main() -> None:
    print(
        f"torch {torch.__version__}, cuda {torch.cuda.is_available()}, "
        f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU'}"
    )
    print("| check | cpu | cuda |")
    print("|---|---|---|")
    print(f"| lesson final loss | {lesson('cpu'):.6f} | {lesson('cuda'):.6f} |")
    print(
        f"| resume equals uninterrupted (minibatch 32) | {resume_matches('cpu')} | "
        f"{resume_matches('cuda')} |"
    )
    for members in (1_000, 8_192, 100_000, 1_000_000):
        cpu = many_models("cpu", members) if members <= 100_000 else float("nan")
        print(
            f"| lesson x {members:,} members, model-steps/s | {cpu:,.0f} | "
            f"{many_models('cuda', members):,.0f} |"
        )
    for n in (10_000, 1_000_000):
        cpu_s, cpu_r2 = big_fit("cpu", n)
        gpu_s, gpu_r2 = big_fit("cuda", n)
        print(
            f"| 1000 steps, {n:,} rows: seconds (val R²) | {cpu_s:.2f} ({cpu_r2:.4f}) | "
            f"{gpu_s:.2f} ({gpu_r2:.4f}) |"
        )


if __name__ == "__main__":
    main()

"""Core speed benchmark: start-up, training step and whole-demo time, side by side with baselines.

Run: .venv/bin/python bench/bench_core.py  (prints a table; copy it to bench/README.md)
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent
ENV = {**os.environ, "MPLBACKEND": "Agg"}


def wall(cmd: list[str], repeats: int) -> float:
    """Median wall time of a command, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=ENV)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def step_times(steps: int, repeats: int) -> tuple[float, float]:
    """Seconds per step (best of interleaved runs): nnfit.train, snapshots every 5 steps, vs the
    lesson's plain loop."""
    import torch

    import nnfit

    x, y = nnfit.make_data(seed=0)

    def lesson() -> float:
        net = nnfit.MLP(1, 10, 1, seed=0).layers
        optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
        loss_func = torch.nn.MSELoss()
        start = time.perf_counter()
        for _ in range(steps):
            prediction = net(x)
            loss = loss_func(prediction, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return (time.perf_counter() - start) / steps

    def ours() -> float:
        model = nnfit.MLP(1, 10, 1, seed=0)
        start = time.perf_counter()
        nnfit.train(model, (x, y), nnfit.TrainConfig(steps=steps, every=5, lr=0.5))
        return (time.perf_counter() - start) / steps

    lesson(), ours()  # warm up: imports, allocator, first optimizer
    a, b = [], []
    for _ in range(repeats):  # interleaved, so drift hits both alike
        a.append(ours())
        b.append(lesson())
    # the fastest run of each is the one least disturbed by other work on the machine
    return min(a), min(b)


def main() -> None:
    rows = []
    help_time = wall([str(BIN / "nnfit"), "--help"], 7)
    python_time = wall([sys.executable, "-c", "pass"], 7)
    rows.append(("nnfit --help (s)", help_time, python_time, "python -c pass", "< 0.3 s"))
    ours, lesson = step_times(steps=1000, repeats=15)
    rows.append(
        (
            "train step, frames every 5 (µs)",
            ours * 1e6,
            lesson * 1e6,
            "lesson's plain loop",
            "ratio <= 1.1",
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        demo = [
            str(BIN / "nnfit"),
            "demo",
            "--no-window",
            "-q",
            "--overwrite",
            "--save",
            f"{tmp}/demo.gif",
        ]
        lesson_cmd = [sys.executable, str(HERE / "lesson_301.py"), f"{tmp}/lesson.gif"]
        demo_time, lesson_time = wall(demo, 3), wall(lesson_cmd, 3)
    rows.append(
        (
            "demo --save demo.gif, cold (s)",
            demo_time,
            lesson_time,
            "lesson script + FuncAnimation",
            "report",
        )
    )
    import torch

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, "
        f"torch {torch.__version__}, threads {torch.get_num_threads()}"
    )
    print(f"| {'measure':34} | {'nnfit':>9} | {'baseline':>9} | {'ratio':>6} | baseline | goal |")
    print(f"|{'-' * 36}|{'-' * 11}|{'-' * 11}|{'-' * 8}|---|---|")
    for name, value, base, base_name, goal in rows:
        print(
            f"| {name:34} | {value:9.3f} | {base:9.3f} | {value / base:6.2f} | {base_name} "
            f"| {goal} |"
        )


if __name__ == "__main__":
    main()

"""Threads against work size, quiet and beside a busy neighbour: the measurements behind
``nnfit.core.threads`` (its ``WORK_PER_THREAD``) and the issue's 2.5x goal under contention.

Part 1, steps: for each shape (members x rows per step x layer widths), ``nnfit.train`` runs a
block of steps on 1 thread and on 2 (or ``--threads``), quiet and while a neighbour (a separate
CPU-bound Python process, ``while True: pass``, started here and stopped by its pid) runs.
Repetitions are interleaved and the best of ``--repeat`` is kept, since other jobs share the
machine. Printed: ms per step, and the ratios 1 thread / N threads (above 1: more threads pay
off) and busy / quiet for each thread count (the goal: at most 2.5).

Part 2, whole fits: ``Regressor().fit`` with the real-data defaults on shipped examples, with
the threads rule (``threads`` unset) and with torch's default (one thread per core), quiet and
beside the neighbour. Each fit runs in a child process that gives up after ``--timeout``
seconds (torch's default on nile measured 258 s with a neighbour before the rule).

Run: .venv/bin/python bench/bench_threads.py  [--repeat 3] [--sets nile,cars] [--no-fits]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

# name: (members, rows per step, layer widths, activation, optimizer)
SHAPES = {
    "lesson 1-10-1, 100 rows": (1, 100, (1, 10, 1), "relu", "sgd"),
    "lesson x 100 members": (100, 100, (1, 10, 1), "relu", "sgd"),
    "1-64-64-1, 20 x 80 rows (default, 100 rows)": (20, 80, (1, 64, 64, 1), "tanh", "adam"),
    "1-64-64-1, 2 x 600 rows (default, 1,000 rows)": (2, 600, (1, 64, 64, 1), "tanh", "adam"),
    "1-64-64-1, 1 x 1,024-row minibatch": (1, 1024, (1, 64, 64, 1), "tanh", "adam"),
    "1-64-64-1, 1 x 8,192 rows": (1, 8192, (1, 64, 64, 1), "tanh", "adam"),
    "1-64-64-1, 100 x 1,000 rows": (100, 1000, (1, 64, 64, 1), "tanh", "adam"),
    "1-256-256-1, 1 x 8,192 rows": (1, 8192, (1, 256, 256, 1), "tanh", "adam"),
    "1-512-512-1, 1 x 8,192 rows": (1, 8192, (1, 512, 512, 1), "tanh", "adam"),
}
BLOCK_S = 0.4  # seconds one quiet single-thread block of steps aims at
GIVE_UP_S = 4.0  # a block stops early past this (a contended step can be 30x slower)

FIT_CHILD = """
import json, sys, time
import numpy as np
sys.path[:0] = [{bench!r}]
from bench_quality import load_sets
from nnfit.regressor import Regressor
threads = {threads!r}
(name, x, y), = load_sets([{name!r}])
Regressor(steps=5).fit(np.arange(5.0), np.arange(5.0))  # warm up imports
start = time.perf_counter()
Regressor(threads=threads).fit(x, y)
print(json.dumps(time.perf_counter() - start))
"""


@contextlib.contextmanager
def neighbour(busy: bool) -> Iterator[None]:
    """A CPU-bound process beside the block when ``busy``; stopped by its pid afterwards."""
    if not busy:
        yield
        return
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # let it start spinning
        yield
    finally:
        process.kill()
        process.wait()


def step_ms(shape: tuple, threads: int, steps: int) -> float:
    """Milliseconds per training step of ``shape`` on ``threads`` threads (the loop's own)."""
    import torch

    import nnfit
    from nnfit.core.history import Snapshot
    from nnfit.core.training import TrainConfig
    from nnfit.core.trainstate import Control

    members, rows, widths, activation, optimizer = shape
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(rows, widths[0], generator=generator)
    y = torch.sin(6 * x[:, :1])
    model = nnfit.MLP(widths[0], widths[1:-1], widths[-1], activation=activation, members=members)
    times: list[float] = []
    stop = threading.Event()
    every = max(1, steps // 10)  # ten timed stretches; a snapshot costs about a step

    class Clock(nnfit.Callback):
        def on_snapshot(self, snapshot: Snapshot) -> None:
            if not snapshot.final:
                times.append(time.perf_counter())
            if times[-1] - times[0] > GIVE_UP_S:
                stop.set()  # the loop ends before its next step

    config = TrainConfig(
        optimizer=optimizer, lr=0.01, steps=10 * every + 1, every=every, threads=threads
    )
    nnfit.train(model, (x, y), config, callbacks=[Clock()], control=Control(stop=stop))
    return 1000 * (times[-1] - times[0]) / (every * (len(times) - 1))


def calibrate(shape: tuple) -> int:
    """Steps that take about BLOCK_S quiet on one thread (at least 10)."""
    ms = step_ms(shape, 1, 20)
    return max(10, min(2000, int(BLOCK_S * 1000 / ms)))


def bench_steps(threads: int, repeat: int, only: str) -> None:
    from nnfit.core.threads import choose_threads, step_work

    print(f"Part 1: ms per step, best of {repeat} interleaved; 1/{threads}: speed-up of {threads}")
    print("threads; busy/quiet: slow-down beside the neighbour. rule: the threads it picks.\n")
    print(
        f"| shape | work (multiply-adds) | rule | 1 quiet | {threads} quiet | 1 busy | "
        f"{threads} busy | 1/{threads} quiet | 1/{threads} busy | busy/quiet 1 | "
        f"busy/quiet {threads} |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, shape in SHAPES.items():
        if only not in name:
            continue
        members, rows, widths = shape[:3]
        work = step_work(rows, widths, members)
        steps = calibrate(shape)
        best: dict[tuple[int, bool], float] = {}
        for _ in range(repeat):
            for busy in (False, True):
                with neighbour(busy):
                    for n in (1, threads):
                        ms = step_ms(shape, n, steps)
                        best[n, busy] = min(best.get((n, busy), ms), ms)
        q1, qn, b1, bn = best[1, False], best[threads, False], best[1, True], best[threads, True]
        print(
            f"| {name} | {work:,} | {choose_threads(work)} | {q1:.3f} | {qn:.3f} | {b1:.3f} | "
            f"{bn:.3f} | {q1 / qn:.2f} | {b1 / bn:.2f} | {b1 / q1:.2f} | {bn / qn:.2f} |",
            flush=True,
        )


def fit_seconds(name: str, threads: int | None, timeout: float) -> float:
    """Seconds of one default fit of example ``name`` in a child process (inf past timeout)."""
    bench = os.path.dirname(os.path.abspath(__file__))
    code = FIT_CHILD.format(bench=bench, name=name, threads=threads)
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:  # run() kills the child it started
        return float("inf")
    if out.returncode:
        raise SystemExit(out.stderr.strip().splitlines()[-1])
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


def seconds(value: float, timeout: float) -> str:
    """A fit's seconds, or ``> TIMEOUT`` for one that gave up."""
    return f"{value:.1f}" if math.isfinite(value) else f"> {timeout:g}"


def bench_fits(sets: list[str], threads: int, repeat: int, timeout: float) -> None:
    print(f"\nPart 2: seconds of Regressor().fit, best of {repeat}; rule: threads unset,")
    print(f"torch: threads={threads} (torch's default here); busy: beside the neighbour.\n")
    print("| set | rule quiet | rule busy | busy/quiet | torch quiet | torch busy | busy/quiet |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in sets:
        best: dict[tuple[int | None, bool], float] = {}
        for _ in range(repeat):
            for busy in (False, True):
                with neighbour(busy):
                    for n in (None, threads):
                        s = fit_seconds(name, n, timeout)
                        best[n, busy] = min(best.get((n, busy), s), s)
        cells = []
        for n in (None, threads):
            quiet, busy_s = best[n, False], best[n, True]
            ratio = busy_s / quiet
            cells += [seconds(quiet, timeout), seconds(busy_s, timeout)]
            cells.append(f"{ratio:.1f}" if math.isfinite(ratio) else "-")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repetitions")
    parser.add_argument("--threads", type=int, default=2, help="the count compared with 1")
    parser.add_argument("--sets", default="nile,cars", help="shipped examples for part 2")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per fit at most")
    parser.add_argument("--only", default="", help="part 1: the shapes whose name has this")
    parser.add_argument("--no-fits", action="store_true", help="part 1 only")
    parser.add_argument("--no-steps", action="store_true", help="part 2 only")
    args = parser.parse_args(argv)

    import torch

    from nnfit.core.threads import WORK_PER_THREAD, available_cores

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores ({available_cores()} available),"
        f" Python {platform.python_version()}, torch {torch.__version__}, torch default threads"
        f" {torch.get_num_threads()}, WORK_PER_THREAD {WORK_PER_THREAD:,}\n"
    )
    if not args.no_steps:
        bench_steps(args.threads, args.repeat, args.only)
    if not args.no_fits:
        bench_fits(args.sets.split(","), args.threads, args.repeat, args.timeout)


if __name__ == "__main__":
    main()

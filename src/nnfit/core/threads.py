"""How many CPU threads a training step uses, and setting them for one run.

The rule (measured by ``bench/bench_threads.py``, numbers in bench/README.md): a step's work is
its multiply-adds, rows per step x the sum of each layer's fan-in x fan-out x members. Each
thread beyond the first must have at least ``WORK_PER_THREAD`` of them: below that, handing work
to a second thread costs more than it saves, and when another CPU-bound process shares the cores
a thread that waits for a descheduled partner makes tiny steps many times slower (a nile fit on
torch's default 2 threads measured 258 s against 8.6 s on one). So small work runs on one
thread, and larger work on ``work // WORK_PER_THREAD`` threads, at most the cores this process
may use (``os.sched_getaffinity``). A GPU does the work itself: its runs use one CPU thread.

``torch.set_num_threads`` is process-wide: ``using_threads`` sets it for the length of a run
and puts the previous count back afterwards, also after an error or Ctrl-C, so two runs in
threads of one process would share one setting. Inter-op threads are left alone: torch allows
``torch.set_num_interop_threads`` once per process, before inter-op work starts (a second call
raises ``RuntimeError``, measured on torch 2.13), so no run could put them back; the training
loop runs no inter-op work anyway.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch

# Multiply-adds per step that each thread beyond the first needs. On the 2-core reference machine
# shared with other jobs, 2 threads measured slower than 1 at every size up to 2.2e9 (one
# 1-512-512-1 net on 8,192 rows: 0.61x quiet, 0.45x beside a neighbour), so a second thread
# starts above that; ``--threads`` overrides where a quiet many-core machine does better.
WORK_PER_THREAD = 2**31


def step_work(rows: int, widths: Sequence[int], members: int = 1) -> int:
    """Multiply-adds of one step's forward pass: rows x sum of fan-in x fan-out x members.

    ``widths`` is every layer's width, inputs to outputs: ``(1, 64, 64, 1)``.
    """
    products = sum(a * b for a, b in itertools.pairwise(widths))
    return rows * products * members


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system reports one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def choose_threads(work: int, device: str = "cpu", *, cores: int | None = None) -> int:
    """The CPU threads for steps of ``work`` multiply-adds (see ``step_work``) on ``device``.

    One thread below ``2 * WORK_PER_THREAD`` and on a GPU; above, one per ``WORK_PER_THREAD``,
    at most ``cores`` (default: ``available_cores()``).
    """
    if device != "cpu":
        return 1  # the GPU computes; the CPU only launches kernels
    cores = available_cores() if cores is None else cores
    return max(1, min(cores, work // WORK_PER_THREAD))


def set_threads(threads: int) -> int:
    """Set torch's intra-op threads (process-wide) to ``threads``; returns the previous count,
    to put back with ``set_threads(previous)``."""
    before = torch.get_num_threads()
    if threads != before:
        torch.set_num_threads(threads)
    return before


@contextmanager
def using_threads(threads: int) -> Iterator[int]:
    """Run the block on ``threads`` torch threads and put the previous count back afterwards,
    however the block ends (an error, Ctrl-C). Yields ``threads``."""
    before = set_threads(threads)
    try:
        yield threads
    finally:
        set_threads(before)

"""How many CPU threads a training step uses, and setting them for one run.

The rule (measured by ``bench/bench_threads.py``, numbers in bench/README.md): a step's work is
its multiply-adds, rows per step x the sum of each layer's fan-in x fan-out x members. Each
thread beyond the first must have at least ``WORK_PER_THREAD`` of them: below that, handing work
to a second thread costs more than it saves. And one core is always left free: when another
CPU-bound process shares the cores, a thread that waits for a descheduled partner makes every
step several times slower (a nile fit on torch's default 2 threads measured 258 s against
8.6 s on one; a step of a 1-64-64-1 net on 8,192 rows on 2 of 2 cores took 2.8x its quiet time
beside a busy process, on 1 thread 1.1x). So small work runs on one thread, and larger work on
``work // WORK_PER_THREAD`` threads, at most one fewer than the cores this process may use
(``os.sched_getaffinity``): a 2-core machine trains on one thread, a 16-core one on up to 15.
A GPU does the work itself: its runs use one CPU thread.

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

# Multiply-adds per step that each thread beyond the first needs. On the quiet 2-core reference
# machine a second thread paid off from about 200,000 (1.3x) to 2.2e9 (2.1x), and by 1.4-1.6x at
# 5-7 million, the default fits' size: a share of 4.2 million keeps the second thread for work it
# clearly speeds up (``--threads`` overrides).
WORK_PER_THREAD = 2**22
FREE_CORES = 1  # left to other processes: a busy neighbour then never stalls a step


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
    at most ``cores - FREE_CORES`` (``cores`` default: ``available_cores()``).
    """
    if device != "cpu":
        return 1  # the GPU computes; the CPU only launches kernels
    cores = available_cores() if cores is None else cores
    return max(1, min(cores - FREE_CORES, work // WORK_PER_THREAD))


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

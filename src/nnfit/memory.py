"""How much memory a request would take, checked against what this process may use.

Sizes are estimated before anything is allocated, so a forged file or an oversized setting gets
a one-line refusal instead of a hang, a MemoryError or the kernel's out-of-memory killer.
"""

from __future__ import annotations

import contextlib
import os
import resource

from .errors import NNFitError, UsageError

HEADROOM = 0.8  # refuse a request above this share of the memory that is free


def available_bytes() -> int:
    """Bytes this process can still allocate: the least of the machine's free memory, its
    cgroup's limit and its own address-space and data limits (``ulimit -v``, ``-d``)."""
    candidates = [_mem_available(), _cgroup_left()]
    status = _proc_status()
    for limit, key in ((resource.RLIMIT_AS, "VmSize"), (resource.RLIMIT_DATA, "VmData")):
        soft, _ = resource.getrlimit(limit)
        if soft != resource.RLIM_INFINITY and soft > 0:
            candidates.append(max(0, soft - status.get(key, 0)))
    known = [c for c in candidates if c is not None]
    return min(known) if known else 2**62


def check_memory(
    need: float,
    what: str,
    hint: str,
    *,
    error: type[NNFitError] = UsageError,
    names: tuple[str, ...] = (),
) -> None:
    """Raise ``error`` with one line when ``need`` bytes exceed the memory this process has.

    Args:
        need: estimated bytes, e.g. ``rows * columns * 8``.
        what: the request in the user's words, e.g. ``"{hidden} 100000,100000"``.
        hint: what to do instead, e.g. ``"use narrower {hidden} layers"``.
        error: the exception class (UsageError for settings, DataError for files).
        names: settings that ``what`` and ``hint`` mark as ``{points}``: the error is then a
            SettingsError, which names them by field and, on the command line, by flag.
    """
    free = available_bytes()
    if need > HEADROOM * free:
        text = (
            f"{what} would need about {format_bytes(need)} of memory, more than the "
            f"{format_bytes(free)} this process has free; {hint}"
        )
        if names:
            from .checks import SettingsError

            raise SettingsError(text, *names)
        raise error(text)


def give_back() -> None:
    """Return freed memory to the system: collect cycles, then ask glibc to release its free
    heap pages (it keeps them otherwise); the trim is a no-op where there is no glibc."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def few_arenas(arenas: int = 2) -> None:
    """Let glibc keep at most ``arenas`` heaps for all threads (its default is 8 per core, each
    kept once made): a process whose many short-lived threads allocate then returns to its
    size when they end. Call early, before the threads start; a no-op without glibc."""
    import ctypes

    m_arena_max = -8  # mallopt's M_ARENA_MAX
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(m_arena_max, arenas)


def format_bytes(n: float) -> str:
    """``8.4 GB``, ``512 MB``, ``3 kB`` (powers of 1000, as disks and `free -h --si` count)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{int(n)} bytes"


def _mem_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _cgroup_left() -> int | None:
    """cgroup v2's memory.max minus memory.current; None without a limit."""
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            limit = f.read().strip()
        if limit == "max":
            return None
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
            used = int(f.read().strip())
        return max(0, int(limit) - used)
    except (OSError, ValueError):
        return None


def _proc_status() -> dict[str, int]:
    """VmSize and VmData of this process in bytes (empty where /proc is absent)."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmSize", "VmData"):
                    out[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return out

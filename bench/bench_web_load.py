"""The playground under load, on loopback: many sessions training and streaming at once.

A server process (the playground's app with its run cap raised to the number of sessions, its
runs in ``--workers`` worker processes as ``nnfit serve`` has them) listens on a free 127.0.0.1
port. This process opens ``--sessions`` sessions that each start a run (the lesson by default:
100 steps, 101 frames, 4 s at 25 frames a second; ``--steps`` for longer ones, whose frames
hold more steps each) and read its Server-Sent Events for ``--seconds``, starting it again when
it ends, then close (as a closing tab does). A prober in a process of its own measures the
latency of loading the page (``GET /``) and of a control request (``POST .../pause`` then
``.../play`` on a session of its own) every 100 ms. Reported: p50 and p99 of both, frame
events per second per session, the longest gap between two events of a stream while its run
played (a stall), and the memory of the server and its worker processes before (after a short
warm-up load), at the end of the load and after every session has left. Bounded: the load
stops by itself after ``--seconds``.

Run:  python bench/bench_web_load.py [--sessions 50] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SERVER = """
import sys
from nnfit.web.server import Playground
from nnfit.web.sessions import Sessions
from nnfit.web.worker import warm_up
from nnfit.memory import few_arenas
if __name__ == "__main__":
    few_arenas()  # as nnfit serve does
    n, workers = int(sys.argv[1]), int(sys.argv[2])
    if not workers:
        warm_up()  # as nnfit serve does in the background
    sessions = Sessions(max_runs=n + 1, max_sessions=2 * n + 8, workers=workers)
    if sessions.pool is not None:
        sessions.pool.wait_ready()
    Playground(port=0, sessions=sessions, on_ready=lambda url: print(url, flush=True)).run()
"""


def family(pid: int) -> list[int]:
    """The server and every process it started (its worker processes), by parent pid."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sorted(tree)


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def rss_mb(pid: int) -> float:
    """The resident memory of the server and its worker processes, MB."""
    total = 0
    for member in family(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the server and its workers have used so far."""
    ticks = 0
    for member in family(pid):
        fields = _stat(member)
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def watch(
    client: object, until: float, stats: dict[str, list[float]], settings: dict[str, int]
) -> None:
    """One session: start a long run, read its events until ``until`` (again when it ends)."""
    session = (await client.post("/api/sessions")).json()["session"]  # type: ignore[attr-defined]
    while time.monotonic() < until:
        url = f"/api/sessions/{session}/start"
        run = (await client.post(url, json={"settings": settings})).json()  # type: ignore[attr-defined]
        if "run" not in run:
            raise SystemExit(f"start refused: {run}")
        events, last, gap = 0, None, 0.0
        stream = f"/api/sessions/{session}/runs/{run['run']}/events"
        async with client.stream("GET", stream) as answer:  # type: ignore[attr-defined]
            started = time.monotonic()
            async for line in answer.aiter_lines():
                if line.startswith("event: frame"):
                    now = time.monotonic()
                    events += 1
                    gap = max(gap, now - last) if last is not None else gap
                    last = now
                if line.startswith("event: done") or time.monotonic() > until:
                    break
        seconds = time.monotonic() - started
        if seconds >= 1.0:  # the last run, cut short by the end of the load, says little
            stats["events/s"].append(events / seconds)
            stats["gap"].append(gap)
    await client.post(f"/api/sessions/{session}/close")  # type: ignore[attr-defined]


def probe(base: str, token: str, seconds: float, settings: dict[str, int]) -> dict[str, list]:
    """Page loads and control requests, every 100 ms, while the load runs. In a process of its
    own: on the loaded client's event loop the wait for its turn would be counted as latency."""
    import httpx

    stats: dict[str, list[float]] = {"page ms": [], "control ms": []}
    headers = {"Authorization": f"token {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        session = client.post("/api/sessions").json()["session"]
        client.post(f"/api/sessions/{session}/start", json={"settings": settings, "paused": True})
        flip = ("pause", "play")
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            started = time.perf_counter()
            page = client.get("/")
            stats["page ms"].append(1000 * (time.perf_counter() - started))
            assert page.status_code == 200
            started = time.perf_counter()
            control = client.post(f"/api/sessions/{session}/{flip[0]}")
            stats["control ms"].append(1000 * (time.perf_counter() - started))
            assert control.status_code == 200, control.text
            flip = flip[::-1]
            time.sleep(0.1)
        client.post(f"/api/sessions/{session}/close")
    return stats


async def load(
    base: str, token: str, sessions: int, seconds: float, steps: int
) -> dict[str, list[float]]:
    import httpx

    stats: dict[str, list[float]] = {"events/s": [], "gap": []}
    limits = httpx.Limits(max_connections=sessions + 10)
    headers = {"Authorization": f"token {token}"}
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as prober:
        probed = prober.submit(probe, base, token, seconds, {"steps": 20_000})
        async with httpx.AsyncClient(
            base_url=base, headers=headers, limits=limits, timeout=30
        ) as c:
            until = time.monotonic() + seconds
            settings = {"steps": steps}
            await asyncio.gather(*(watch(c, until, stats, settings) for _ in range(sessions)))
        stats.update(probed.result())
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50, help="sessions training at once")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the load lasts")
    parser.add_argument("--steps", type=int, default=100, help="steps of each run (the lesson's)")
    parser.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: as nnfit serve)"
    )
    args = parser.parse_args()
    if not (1 <= args.sessions <= 200 and 1 <= args.seconds <= 120):
        parser.error("--sessions must be 1-200 and --seconds 1-120 (a bounded load)")

    from nnfit.web.server import default_workers

    workers = default_workers() if args.workers is None else args.workers
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(args.sessions), str(workers)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        url = server.stdout.readline().strip()  # type: ignore[union-attr]
        base, token = url.split("/?token=")
        # A short load first, so that "before" is a server that has served pages and runs (its
        # first requests and runs load code and caches that stay): what is left above that
        # after the big load is what the load itself kept.
        asyncio.run(load(base, token, 4, 3.0, args.steps))
        time.sleep(2.0)
        before, cpu, wall = rss_mb(server.pid), cpu_seconds(server.pid), time.perf_counter()
        stats = asyncio.run(load(base, token, args.sessions, args.seconds, args.steps))
        loaded = rss_mb(server.pid)
        cores = (cpu_seconds(server.pid) - cpu) / (time.perf_counter() - wall)
        client = (time.process_time()) / (time.perf_counter() - wall)
        time.sleep(2.0)  # every run has seen its page leave
        after = rss_mb(server.pid)
    finally:
        server.terminate()  # by its pid
        server.wait(timeout=30)
    report = {
        "sessions": args.sessions,
        "worker processes": workers,
        "seconds": args.seconds,
        "steps per run": args.steps,
        "page p50 ms": statistics.median(stats["page ms"]),
        "page p99 ms": percentile(stats["page ms"], 0.99),
        "control p50 ms": statistics.median(stats["control ms"]),
        "control p99 ms": percentile(stats["control ms"], 0.99),
        "events/s per session (median)": statistics.median(stats["events/s"]),
        "events/s per session (lowest)": min(stats["events/s"]),
        "longest gap between events, s": max(stats["gap"]),
        "server CPU, cores": cores,
        "this client's CPU, cores": client,
        "server RSS before / loaded / after, MB": f"{before:.0f} / {loaded:.0f} / {after:.0f}",
    }
    print("| measure | value |")
    print("|---|---|")
    for key, value in report.items():
        shown = f"{value:.3g}" if isinstance(value, float) else value
        print(f"| {key} | {shown} |")
    print(json.dumps({k: v for k, v in report.items() if not isinstance(v, str)}), file=sys.stderr)


if __name__ == "__main__":
    main()

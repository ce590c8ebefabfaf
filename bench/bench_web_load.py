"""The playground under load, on loopback: many sessions training and streaming at once.

A server process (the playground's app with its run cap raised to the number of sessions)
listens on a free 127.0.0.1 port. This process opens ``--sessions`` sessions that each start a
run (the lesson by default: 100 steps, 101 frames, 4 s at 25 frames a second; ``--steps``
for longer ones, whose frames hold more steps each) and read its Server-Sent Events for
``--seconds``, starting it again when it ends,
while a prober measures the latency of loading the page (``GET /``) and of a control request
(``POST .../pause`` then ``.../play`` on a session of its own) every 100 ms. Reported: p50 and
p99 of both, frame events per second per session, the longest gap between two events of a
stream while its run played (a stall), and the server's memory before, at the end of the load
and after every session has left. Bounded: the load stops by itself after ``--seconds``.

Run:  python bench/bench_web_load.py [--sessions 50] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SERVER = """
import sys
import torch
torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)  # as nnfit serve warms up
from nnfit.regressor import Regressor
from nnfit.web.server import Playground
from nnfit.web.sessions import Sessions
n = int(sys.argv[1])
Playground(port=0, sessions=Sessions(max_runs=n + 1, max_sessions=2 * n + 8),
           on_ready=lambda url: print(url, flush=True)).run()
"""


def rss_mb(pid: int) -> float:
    """The server's resident memory, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    await client.post(f"/api/sessions/{session}/reset")  # type: ignore[attr-defined]


async def probe(
    client: object, until: float, stats: dict[str, list[float]], settings: dict[str, int]
) -> None:
    """Page loads and control requests, every 100 ms, while the load runs."""
    session = (await client.post("/api/sessions")).json()["session"]  # type: ignore[attr-defined]
    await client.post(  # type: ignore[attr-defined]
        f"/api/sessions/{session}/start", json={"settings": settings, "paused": True}
    )
    flip = ("pause", "play")
    while time.monotonic() < until:
        started = time.perf_counter()
        page = await client.get("/")  # type: ignore[attr-defined]
        stats["page ms"].append(1000 * (time.perf_counter() - started))
        assert page.status_code == 200
        started = time.perf_counter()
        control = await client.post(f"/api/sessions/{session}/{flip[0]}")  # type: ignore[attr-defined]
        stats["control ms"].append(1000 * (time.perf_counter() - started))
        assert control.status_code == 200, control.text
        flip = flip[::-1]
        await asyncio.sleep(0.1)
    await client.post(f"/api/sessions/{session}/reset")  # type: ignore[attr-defined]


async def load(
    base: str, token: str, sessions: int, seconds: float, steps: int
) -> dict[str, list[float]]:
    import httpx

    stats: dict[str, list[float]] = {"events/s": [], "gap": [], "page ms": [], "control ms": []}
    limits = httpx.Limits(max_connections=sessions + 10)
    headers = {"Authorization": f"token {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as c:
        until = time.monotonic() + seconds
        settings = {"steps": steps}
        watchers = (watch(c, until, stats, settings) for _ in range(sessions))
        await asyncio.gather(probe(c, until, stats, {"steps": 20_000}), *watchers)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50, help="sessions training at once")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the load lasts")
    parser.add_argument("--steps", type=int, default=100, help="steps of each run (the lesson's)")
    args = parser.parse_args()
    if not (1 <= args.sessions <= 200 and 1 <= args.seconds <= 120):
        parser.error("--sessions must be 1-200 and --seconds 1-120 (a bounded load)")

    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(args.sessions)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        url = server.stdout.readline().strip()  # type: ignore[union-attr]
        base, token = url.split("/?token=")
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

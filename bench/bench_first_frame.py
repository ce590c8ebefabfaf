"""Seconds from the ``nnfit demo`` command to its first picture on the screen, under Xvfb.

Each run is a fresh ``python -m nnfit demo --no-wait -q`` on a virtual X screen (Xvfb, started
here on a free display and stopped by its pid). "First picture" is measured two ways:

- hook: with ``NNFIT_FIRST_FRAME=1`` the live window prints ``nnfit-first-frame <epoch> torch=0|1``
  on stderr right after the first picture was drawn and flushed to the X server;
- window: ``xwininfo -root -tree`` is polled every 50 ms until a window titled "nnfit" exists
  (it works for any nnfit version, e.g. ``--src /work/main/src`` as a baseline, but says only
  that the window was mapped, not that anything was drawn in it).

"first" is the first run after the bytecode caches of the nnfit sources were removed (Python
recompiles them; the OS file cache cannot be dropped without root, so it is not a true cold
start); "repeat" is the best and median of the runs after it. Runs of the sources compared are
interleaved.

Run:  python bench/bench_first_frame.py [--repeat 5] [--src /work/main/src ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_S = 2.5  # issue #12: the first picture within 2.5 s of the command
HERE = Path(__file__).resolve().parent.parent / "src"


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb on a free display (it picks one and writes its number); returns (process, DISPLAY)."""
    exe = shutil.which("Xvfb")
    if exe is None:
        sys.exit("Xvfb is needed: apt-get install xvfb")
    read, write = os.pipe()
    server = subprocess.Popen(
        [exe, "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        sys.exit("Xvfb did not start")
    return server, f":{number}"


def clear_bytecode(src: Path) -> None:
    """Remove the nnfit sources' __pycache__ folders, so the next run compiles them again."""
    for folder in (src / "nnfit").rglob("__pycache__"):
        shutil.rmtree(folder, ignore_errors=True)


def window_exists(display: str) -> bool:
    """Whether a window titled "nnfit" is on the screen."""
    done = subprocess.run(
        ["xwininfo", "-root", "-tree"],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        text=True,
    )
    return '"nnfit"' in done.stdout or '"nnfit:' in done.stdout  # (titled "nnfit: demo" now)


def one_run(src: Path, display: str, steps: int, workdir: Path) -> dict[str, float | None]:
    """One demo: seconds to the hook's first picture and to the window's appearance."""
    env = {**os.environ, "DISPLAY": display, "MPLBACKEND": "TkAgg", "NNFIT_FIRST_FRAME": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed nnfit has its bytecode cached
    env.pop("WAYLAND_DISPLAY", None)
    env["PYTHONPATH"] = str(src)
    command = [sys.executable, "-m", "nnfit", "demo", "--steps", str(steps), "--no-wait", "-q"]
    started = time.time()
    process = subprocess.Popen(
        command, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    window = None
    while process.poll() is None and window is None:
        if shutil.which("xwininfo") and window_exists(display):
            window = time.time() - started
        time.sleep(0.05)
    _, err = process.communicate(timeout=600)
    if process.returncode != 0:
        sys.exit(f"nnfit demo failed ({src}):\n{err[-2000:]}")
    hook, torch = None, None
    for line in err.splitlines():
        if line.startswith("nnfit-first-frame "):
            parts = line.split()
            hook, torch = float(parts[1]) - started, parts[2]
    return {"hook": hook, "window": window, "torch": torch}  # type: ignore[dict-item]


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="repeat runs after the first")
    parser.add_argument("--steps", type=int, default=50, help="demo --steps (the run's length)")
    parser.add_argument(
        "--src", type=Path, action="append", help="nnfit source folders to compare (default: here)"
    )
    args = parser.parse_args()
    sources = args.src or [HERE]
    server, display = start_xvfb()
    try:
        workdir = Path(os.environ.get("TMPDIR", "/tmp"))
        runs: dict[Path, list[dict]] = {src: [] for src in sources}
        for src in sources:
            clear_bytecode(src)
        for _ in range(1 + args.repeat):  # interleaved: each source in turn
            for src in sources:
                runs[src].append(one_run(src, display, args.steps, workdir))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"nnfit demo: command → first picture, Xvfb {display}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}; goal {GOAL_S} s"
    )
    header = "| source | measure | first run | repeat best | repeat median | best / goal |"
    print(header)
    print("|---|---|---|---|---|---|")
    for src, results in runs.items():
        for measure in ("hook", "window"):
            first = results[0][measure]
            repeat = [r[measure] for r in results[1:] if r[measure] is not None]
            best = min(repeat) if repeat else None
            median = statistics.median(repeat) if repeat else None
            ratio = "-" if best is None else f"{best / GOAL_S:.2f}×"
            print(f"| {src} | {measure} | {fmt(first)} | {fmt(best)} | {fmt(median)} | {ratio} |")
        torch = {r["torch"] for r in results if r["torch"]}
        if torch:
            print(f"  {src}: torch at the first picture: {', '.join(sorted(torch))}")


if __name__ == "__main__":
    main()

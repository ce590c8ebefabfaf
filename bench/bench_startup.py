"""Seconds from command to answer for nnfit's quick commands, next to ``python -c pass``.

``--help``, ``nnfit examples``, usage errors and missing files must answer before torch loads;
``nnfit predict RUN --x 150`` and ``nnfit show RUN`` (no picture) run on NumPy. Each command is
a fresh process (wall time of the whole process, teardown included), repeated in interleaved
rounds; the table gives the best and the median, the best against ``python -c pass`` and
against the goal (0.6 s, issue #12).

"first" is the first run after the nnfit sources' bytecode caches were removed (compiling
included); the repeats reuse the caches, as an installed nnfit does.

Run:  python bench/bench_startup.py [--repeat 7] [--src /path/to/nnfit/src ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_S = 0.6
HERE = Path(__file__).resolve().parent.parent / "src"


def commands(run: Path) -> dict[str, list[str]]:
    """Label → argv after ``python``."""
    nnfit = ["-m", "nnfit"]
    return {
        "python -c pass": ["-c", "pass"],
        "python -c 'import numpy'": ["-c", "import numpy"],
        "nnfit --help": [*nnfit, "--help"],
        "nnfit predict --help": [*nnfit, "predict", "--help"],
        "nnfit examples": [*nnfit, "examples"],
        "nnfit demo --lr -1 (usage error)": [*nnfit, "demo", "--lr", "-1"],
        "nnfit fit nosuch.csv (missing file)": [*nnfit, "fit", "nosuch.csv"],
        "nnfit predict RUN --x 150": [*nnfit, "predict", str(run), "--x", "150"],
        "nnfit show RUN --no-window": [*nnfit, "show", str(run), "--no-window"],
    }


def seconds(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Wall time of one fresh process."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *argv], env=env, cwd=cwd, capture_output=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 2):
        sys.exit(f"{argv} failed:\n{done.stderr.decode()[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="interleaved rounds after the first")
    parser.add_argument(
        "--src", type=Path, action="append", help="nnfit source folders to compare (default: here)"
    )
    args = parser.parse_args()
    sources = args.src or [HERE]
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        envs, tables = {}, {}
        for i, src in enumerate(sources):
            env = {**os.environ, "PYTHONPATH": str(src), "MPLBACKEND": "Agg"}
            env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed nnfit has its bytecode cached
            run = cwd / f"run{i}"
            fit = ["fit", "--example", "pressure", "--no-window", "-q", "--out", str(run)]
            subprocess.run(  # the run folder to use: the pressure example, saved
                [sys.executable, "-m", "nnfit", *fit], env=env, cwd=cwd, check=True
            )
            envs[src], tables[src] = env, commands(run)
            for folder in (src / "nnfit").rglob("__pycache__"):
                shutil.rmtree(folder, ignore_errors=True)
        times = {src: {label: [] for label in tables[src]} for src in sources}
        for _ in range(1 + args.repeat):  # interleaved: each command of each source in turn
            for label in tables[sources[0]]:
                for src in sources:
                    times[src][label].append(seconds(tables[src][label], envs[src], cwd))
    print(
        f"{sys.executable}; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
        f"best and median of {args.repeat} interleaved rounds"
    )
    for src in sources:
        base = min(times[src]["python -c pass"][1:])
        print(f"\nnnfit from {src}")
        print("| command | first | best | median | best − python | best / goal (0.6 s) |")
        print("|---|---|---|---|---|---|")
        for label, values in times[src].items():
            best, median = min(values[1:]), statistics.median(values[1:])
            print(
                f"| {label} | {values[0]:.3f} | {best:.3f} | {median:.3f} | {best - base:+.3f} "
                f"| {best / GOAL_S:.2f}× |"
            )


if __name__ == "__main__":
    main()

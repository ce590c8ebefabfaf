"""Seconds from command to answer for nnfit's quick commands, next to ``python -c pass``.

``--help``, ``nnfit examples``, usage errors and missing files must answer before torch loads;
``nnfit predict RUN --x 150`` and ``nnfit show RUN`` (no picture) run on NumPy. Each command is
a fresh process (wall time of the whole process, teardown included), repeated in interleaved
rounds; the table gives the best and the median, the best against ``python -c pass`` and
against the goal (0.6 s, issue #12).

"first" is the first run after the nnfit sources' bytecode caches were removed (compiling
included); the repeats reuse the caches, as an installed nnfit does.

Run:  python bench/bench_startup.py [--repeat 7] [--src /path/to/nnfit/src]
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
    parser.add_argument("--src", type=Path, default=HERE, help="nnfit source folder to time")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(args.src), "MPLBACKEND": "Agg"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed nnfit has its bytecode cached
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        run = cwd / "run"
        fit = ["fit", "--example", "pressure", "--no-window", "-q", "--out", str(run)]
        subprocess.run(  # the run folder to use: the pressure example, saved
            [sys.executable, "-m", "nnfit", *fit],
            env=env,
            cwd=cwd,
            check=True,
            capture_output=True,
        )
        table = commands(run)
        for folder in (args.src / "nnfit").rglob("__pycache__"):
            shutil.rmtree(folder, ignore_errors=True)
        times: dict[str, list[float]] = {label: [] for label in table}
        for _ in range(1 + args.repeat):
            for label, argv in table.items():
                times[label].append(seconds(argv, env, cwd))
    base = min(times["python -c pass"][1:])
    print(
        f"{sys.executable}, nnfit from {args.src}; {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}; best and median of {args.repeat} interleaved rounds"
    )
    print("| command | first | best | median | best − python | best / goal (0.6 s) |")
    print("|---|---|---|---|---|---|")
    for label, values in times.items():
        best, median = min(values[1:]), statistics.median(values[1:])
        print(
            f"| {label} | {values[0]:.3f} | {best:.3f} | {median:.3f} | {best - base:+.3f} "
            f"| {best / GOAL_S:.2f}× |"
        )


if __name__ == "__main__":
    main()

"""What a Ray sweep costs to start, and a 20-trial sweep's wall time against the Optuna backend.

Rows, best of ``--repeat`` interleaved repetitions, in seconds of wall time:

- ``ray.init`` of a local Ray (and its ``ray.shutdown``), in a fresh interpreter;
- ``nnfit sweep --backend ray --trials 20`` end to end (a local Ray started and stopped by the
  sweep; 1 CPU per trial, ``reuse_actors=True``), as a user runs it;
- the same 20 trials through the Optuna backend (``--storage sqlite:///...``, one worker), the
  comparison: same space, same trial function, no Ray.

The space: the lesson's problem (``--preset morvan-2017 --val 0.2``), hidden 4, 8 or 16,
lr log-uniform in 0.01..0.5, 300 steps, 2 seeds per trial; the random sampler. The best
setting's retraining is included in both sweeps.

Run: PYTHONPATH=src:.deps .venv/bin/python bench/bench_ray.py  (prints a markdown table)
    --repeat 3    interleaved repetitions (best of)
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPACE = [
    "--function", "quadratic", "--preset", "morvan-2017", "--val", "0.2", "--steps", "300",
    "--hidden", "4,8,16", "--lr", "log:0.01..0.5", "--seeds", "2", "--sampler", "random",
    "--trials", "20", "-q",
]  # fmt: skip
INIT = (
    "import time, ray; t = time.perf_counter(); ray.init(address='local', "
    "include_dashboard=False, log_to_driver=False); s = time.perf_counter() - t; "
    "ray.shutdown(); print(s, time.perf_counter() - t)"
)


def timed(command: list[str], env: dict[str, str]) -> float:
    """Seconds of wall time of ``command`` (which must succeed)."""
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repetitions (3)")
    args = parser.parse_args()
    env = {**os.environ, "MPLBACKEND": "Agg", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    python = sys.executable
    init, init_stop, ray_sweep, optuna_sweep = [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeat):
            done = subprocess.run(
                [python, "-c", INIT], env=env, check=True, capture_output=True, text=True
            )
            start, whole = (float(v) for v in done.stdout.split())
            init.append(start)
            init_stop.append(whole)
            command = [python, "-m", "nnfit", "sweep", *SPACE]
            ray_sweep.append(timed([*command, "--backend", "ray"], env))
            url = f"sqlite:///{Path(folder) / f'b{repeat}.db'}"
            study = ["--storage", url, "--study", "b", "--pruner", "median"]
            optuna_sweep.append(timed([*command, *study], env))
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"best of {args.repeat} interleaved")  # fmt: skip
    print("\n| what | seconds (best) | all |\n|---|---|---|")
    for name, values in (
        ("`ray.init` (local Ray)", init),
        ("`ray.init` + `ray.shutdown`", init_stop),
        ("`nnfit sweep --backend ray --trials 20` (end to end)", ray_sweep),
        ("the same 20 trials, Optuna backend on SQLite (end to end)", optuna_sweep),
    ):
        print(f"| {name} | {min(values):.1f} | {', '.join(f'{v:.1f}' for v in values)} |")


if __name__ == "__main__":
    main()

"""``nnfit doctor --seeds 1000``: seconds from command to report, and its finding checked
against a loop of single runs.

Time: ``python -m nnfit doctor --seeds N`` as a fresh process (start-up, data, the batched run
over N seeds, with ``--compare`` also one batched run per candidate change, the report), in
interleaved rounds with and without ``--no-compare``; best and median wall time.

Finding: the share of seeds each outcome takes on the lesson's settings (morvan-2017) and the
2018 ones (morvan-2018), from doctor (every seed trains on the data of the first seed) and from
a Python loop of single runs in which each seed also draws its own data, exactly as
``nnfit demo --seed S`` does (``Regressor.fit`` with that seed, its ``diagnosis_``), over
``--loop-seeds`` seeds: what sharing the data changes, and the loop's time per seed.

Run:  python bench/bench_doctor.py [--seeds 1000] [--repeat 3] [--loop-seeds 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PRESETS = ("morvan-2017", "morvan-2018")


def wall_time(argv: list[str]) -> float:
    """Seconds of one fresh ``python -m nnfit ...`` process, start to exit."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
    }
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "nnfit", *argv], env=env, capture_output=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"nnfit {' '.join(argv)} failed:\n{done.stderr.decode()[-2000:]}")
    return elapsed


def timing(seeds: int, repeat: int) -> None:
    runs = {
        f"nnfit doctor --seeds {seeds}": ["doctor", "--seeds", str(seeds), "-q"],
        f"nnfit doctor --seeds {seeds} --no-compare": [
            "doctor",
            "--seeds",
            str(seeds),
            "--no-compare",
            "-q",
        ],
    }
    times: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(repeat):  # interleaved: a busy neighbour slows every command alike
        for label, argv in runs.items():
            times[label].append(wall_time(argv))
    print(f"wall time, {repeat} interleaved rounds ({os.cpu_count()} cores)")
    for label, values in times.items():
        print(
            f"  {label:<45} best {min(values):6.2f} s   median {statistics.median(values):6.2f} s"
        )


def loop_kinds(preset: str, seeds: int) -> tuple[Counter[str], float]:
    """Each seed's verdict kind from its own single run on its own data (``nnfit demo
    --seed S``), and the seconds per seed."""
    from nnfit.data.dataset import load_dataset
    from nnfit.regressor import Regressor
    from nnfit.runs.config import build_config, with_seed

    kinds: Counter[str] = Counter()
    started = time.perf_counter()
    for seed in range(seeds):
        config = with_seed(build_config(preset), seed)
        data = load_dataset(config.data, seed=seed)
        regressor = Regressor.from_config(config)
        regressor.fit(data.x, data.y[:, 0], noise_floor=data.noise_floor)
        kinds[regressor.diagnosis_.kind] += 1
    return kinds, (time.perf_counter() - started) / seeds


def finding(seeds: int, loop_seeds: int) -> None:
    from nnfit.core.diagnostics import KINDS
    from nnfit.runs.config import build_config
    from nnfit.runs.doctor import doctor

    print(f"\nshare of seeds per outcome: doctor over {seeds} seeds (data of seed 0 shared),")
    print(f"a loop of {loop_seeds} single runs with each seed's own data (nnfit demo --seed S)")
    for preset in PRESETS:
        report = doctor(build_config(preset), seeds, compare=False)
        loop, per_seed = loop_kinds(preset, loop_seeds)
        loop_ms = per_seed * 1e3
        print(
            f"  {preset}: doctor {report.base.seconds:.2f} s in all; loop {loop_ms:.1f} ms a seed"
        )
        for kind in KINDS:
            mine, theirs = report.base.count(kind), loop[kind]
            if mine or theirs:
                print(
                    f"    {kind:<12} doctor {mine:>5} ({100 * mine / seeds:5.1f}%)   "
                    f"loop {theirs:>5} ({100 * theirs / loop_seeds:5.1f}%)"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000, help="seeds per doctor run")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument("--loop-seeds", type=int, default=300, help="single runs per preset")
    parser.add_argument("--no-finding", action="store_true", help="time only")
    args = parser.parse_args()
    timing(args.seeds, args.repeat)
    if not args.no_finding:
        finding(args.seeds, args.loop_seeds)


if __name__ == "__main__":
    main()

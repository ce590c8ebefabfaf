"""Workers of one Optuna study: wall time of W ``nnfit sweep`` processes sharing N trials, on
a SQLite file, a journal file and (with NNFIT_TEST_POSTGRES set, as scripts/with-postgres.sh
does) PostgreSQL; and the same N trials in one process.

    sh scripts/with-postgres.sh .venv/bin/python bench/bench_study.py --workers 4 --trials 40

Each trial: the lesson's parabola, 2 seeds, --steps STEPS, hidden 8..32, lr log 1e-3..0.5, TPE
sampler, --pruner (median). Wall seconds from the first start to the last exit (imports included:
each worker imports torch once). Best of --repeat interleaved repetitions.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parent.parent / "src")


def space(steps: int, pruner: str) -> list[str]:
    return [
        "--pruner", pruner,
        "--function", "quadratic", "--preset", "morvan-2017", "--val", "0.2",
        "--steps", str(steps), "--hidden", "8..32:+8", "--lr", "log:0.001..0.5:10",
        "--seeds", "2", "-q",
    ]  # fmt: skip


def run(url: str, workers: int, trials: int, steps: int, study: str, pruner: str) -> float:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, env.get("PYTHONPATH")]))
    command = [
        sys.executable,
        "-m",
        "nnfit",
        "sweep",
        *space(steps, pruner),
        "--trials",
        str(trials),
    ]
    command += ["--storage", url, "--study", study]
    start = time.perf_counter()
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(workers)
    ]
    for process in processes:
        _, err = process.communicate()
        if process.returncode:
            raise SystemExit(err.decode()[-2000:])
    return time.perf_counter() - start


def states(url: str, study: str) -> str:
    import optuna

    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        url = JournalStorage(JournalFileBackend(url.partition("://")[2]))  # type: ignore[assignment]
    trials = optuna.load_study(storage=url, study_name=study).get_trials()
    counts: dict[str, int] = {}
    for trial in trials:
        name = trial.state.name.lower()
        why = trial.user_attrs.get("not_counted") or trial.user_attrs.get("reason")
        name += f" ({why})" if why else ""
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--pruner", default="median", choices=("median", "hyperband", "none"))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="nnfit-bench-study-"))
    kinds = {
        "sqlite": lambda i: f"sqlite:///{folder / f'sweep{i}.db'}",
        "journal": lambda i: f"journal:///{folder / f'sweep{i}.log'}",
    }
    server = os.environ.get("NNFIT_TEST_POSTGRES")
    if server:
        kinds["postgresql"] = lambda i: server
    best: dict[tuple[str, int], float] = {}
    last: dict[tuple[str, int], str] = {}
    for rep in range(args.repeat):
        for kind, url_of in kinds.items():
            for workers in (1, args.workers):
                study = f"bench-{kind}-{workers}-{rep}"
                url = url_of(rep)
                seconds = run(url, workers, args.trials, args.steps, study, args.pruner)
                key = (kind, workers)
                best[key] = min(best.get(key, float("inf")), seconds)
                last[key] = states(url, study)
    print(
        f"{args.trials} trials of {args.steps} steps, 2 seeds each, pruner {args.pruner}; "
        f"best of {args.repeat}"
    )
    print(f"{'storage':<11} {'workers':>7} {'seconds':>8}  trials")
    for (kind, workers), seconds in best.items():
        print(f"{kind:<11} {workers:>7} {seconds:>8.1f}  {last[(kind, workers)]}")


if __name__ == "__main__":
    main()

"""Several ``nnfit sweep`` worker processes on one study, one of them killed mid-trial.

On PostgreSQL (a fresh database from the server ``make test`` starts: NNFIT_TEST_POSTGRES)
with 4 workers, and on a SQLite file with 2. Tiny trials: the lesson's parabola, 2 seeds.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

import nnfit  # noqa: E402

SRC = str(Path(nnfit.__file__).parent.parent)
TRIALS = 12
SPACE = [
    "--function", "quadratic", "--preset", "morvan-2017", "--val", "0.2", "--steps", "1000",
    "--hidden", "8", "--lr", "0.0001,0.0002,0.1,0.2", "--seeds", "2",
    "--sampler", "random", "--pruner", "median", "--heartbeat", "1",
]  # fmt: skip
WAIT = 240  # seconds a worker may take, at most


def start_worker(url, folder, index):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "nnfit", "sweep", *SPACE, "--trials", str(TRIALS)]
    command += ["--storage", url, "--study", "cluster"]
    out = open(folder / f"worker{index}.out", "w")  # noqa: SIM115 (closed by the test)
    err = open(folder / f"worker{index}.err", "w")  # noqa: SIM115
    return subprocess.Popen(command, cwd=folder, env=env, stdout=out, stderr=err), out, err


@contextlib.contextmanager
def workers(url, folder, count=1, first=0):
    """Worker processes ``first`` to ``first + count - 1`` of the study; whatever the test
    does, each is killed if still running and its output files closed at the end."""
    started = [start_worker(url, folder, first + i) for i in range(count)]
    try:
        yield [process for process, _, _ in started]
    finally:
        for process, out, err in started:
            if process.poll() is None:
                process.kill()
                process.wait()
            out.close()
            err.close()


def running_trial_of(study, pid):
    """The number of a trial the worker of ``pid`` is training now, or None."""
    for trial in study.get_trials(deepcopy=False):
        if trial.state.name == "RUNNING" and trial.user_attrs.get("worker", "").endswith(f":{pid}"):
            return trial.number
    return None


def pause_in_trial(study, worker):
    """Freeze ``worker`` (SIGSTOP) while it trains a trial; that trial's number. Checked after
    the freeze, so the trial cannot have finished in between."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and worker.poll() is None:
        number = running_trial_of(study, worker.pid)
        if number is not None:
            worker.send_signal(signal.SIGSTOP)
            try:
                if running_trial_of(study, worker.pid) == number:
                    return number
            except Exception:  # SQLite: frozen while it held the file's lock
                pass
            worker.send_signal(signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError("the worker never started a trial")


def wait_for_study(url, worker, folder):
    if url.startswith("sqlite"):  # give up on a lock held by a frozen worker within a second
        url = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 1}})
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and worker.poll() is None:
        try:
            return optuna.load_study(storage=url, study_name="cluster")
        except Exception:  # not there yet (KeyError), or its tables half made
            time.sleep(0.2)
    raise AssertionError(f"no study: {(folder / 'worker0.err').read_text()[-2000:]}")


def run_cluster(url, folder, count):
    """Start the workers, SIGKILL the first mid-trial, let the others finish; returns the
    killed trial's number and the survivors' printed tables."""
    with workers(url, folder, count) as started:
        victim = started[0]
        killed = pause_in_trial(wait_for_study(url, victim, folder), victim)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        for process in started[1:]:
            assert process.wait(timeout=WAIT) == 0, (folder / "worker1.err").read_text()[-2000:]
    tables = [(folder / f"worker{i}.out").read_text() for i in range(1, count)]
    return killed, tables


def check_study(url, killed, tables):
    from nnfit.sweep.study import counted

    study = optuna.load_study(storage=url, study_name="cluster")
    trials = study.get_trials()
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers))  # unique trial numbers
    kept = counted(trials)
    assert len(kept) == TRIALS  # the number asked for, the killed one's rerun in, it out
    assert {t.state.name for t in trials} <= {"COMPLETE", "PRUNED", "FAIL"}  # none left open
    lost = next(t for t in trials if t.number == killed)
    assert lost.state.name == "FAIL"  # failed by the heartbeat ...
    rerun = [t for t in trials if t.system_attrs.get("failed_trial") == killed]
    assert len(rerun) == 1 and rerun[0] in kept  # ... and run again, with the same setting
    assert rerun[0].params == lost.params and rerun[0].state.name in ("COMPLETE", "PRUNED")
    for trial in kept:
        if trial.state.name == "PRUNED":  # marked, with the curve that got it pruned
            assert trial.intermediate_values and "scores" not in trial.user_attrs
        if trial.state.name == "COMPLETE":
            assert len(trial.user_attrs["scores"]["val_rmse"]) == 2
    best = study.best_trial.number
    pruned = sum(t.state.name == "PRUNED" for t in kept)
    for table in tables:  # every worker ends on the finished study: the same best trial
        assert f"best: trial {best} " in table
        assert (f"{pruned} pruned" in table) == bool(pruned)  # and the same pruned ones
    from nnfit.cli.main import main

    return best, main


def test_workers_on_postgresql_share_a_study_and_survive_a_killed_worker(
    postgres_url, tmp_path, capsys
):
    killed, tables = run_cluster(postgres_url, tmp_path, count=4)
    best, main = check_study(postgres_url, killed, tables)
    assert main(["sweep", "--storage", postgres_url, "--study", "cluster", "--report"]) == 0
    assert f"best: trial {best} " in capsys.readouterr().out


def test_workers_on_a_sqlite_file_share_a_study_and_survive_a_killed_worker(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    killed, tables = run_cluster(url, tmp_path, count=2)
    best, main = check_study(url, killed, tables)
    assert main(["sweep", "--storage", url, "--study", "cluster", "--report"]) == 0
    assert f"best: trial {best} " in capsys.readouterr().out


def test_a_database_that_goes_away_ends_a_worker_in_one_line_with_how_to_resume(
    postgres_url, tmp_path
):
    import psycopg

    with workers(postgres_url, tmp_path) as (worker,):
        study = wait_for_study(postgres_url, worker, tmp_path)
        deadline = time.monotonic() + WAIT
        while running_trial_of(study, worker.pid) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        name = postgres_url.rpartition("/")[2]
        admin = os.environ["NNFIT_TEST_POSTGRES"].replace("+psycopg", "")
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE {name} WITH (FORCE)")
        assert worker.wait(timeout=WAIT) == 2
    said = (tmp_path / "worker0.err").read_text()
    assert "Traceback" not in said
    last = said.strip().splitlines()[-1]
    assert last.startswith("nnfit: error: the study's storage postgresql")
    assert "does not exist" in last  # the database's own words
    assert "resume with: the same nnfit sweep command (--storage " in last


def test_ctrl_c_queues_the_trial_cut_short_and_the_same_command_finishes_the_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    with workers(url, tmp_path) as (worker,):
        cut = pause_in_trial(wait_for_study(url, worker, tmp_path), worker)
        worker.send_signal(signal.SIGINT)  # handled once it runs again: between two steps
        worker.send_signal(signal.SIGCONT)
        assert worker.wait(timeout=WAIT) == 130
    said = (tmp_path / "worker0.err").read_text()
    assert "interrupted: the study keeps its finished trials (a trial cut short is queued" in said
    trials = {
        t.number: t for t in optuna.load_study(storage=url, study_name="cluster").get_trials()
    }
    assert trials[cut].user_attrs["not_counted"] == "interrupted"
    queued = [t for t in trials.values() if t.state.name == "WAITING"]
    assert [t.system_attrs["fixed_params"] for t in queued] == [trials[cut].params]
    with workers(url, tmp_path, first=1) as (again,):  # the same command goes on
        assert again.wait(timeout=WAIT) == 0
    from nnfit.sweep.study import counted

    after = optuna.load_study(storage=url, study_name="cluster").get_trials()
    assert len(counted(after)) == TRIALS
    rerun = after[queued[0].number]
    assert rerun.state.name in ("COMPLETE", "PRUNED") and rerun.params == trials[cut].params

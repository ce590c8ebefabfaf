"""nnfit sweep --trials: Optuna workers of one study (SQLite and journal files here; PostgreSQL
and several processes in test_sweep_cluster.py)."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

import nnfit  # noqa: E402
from nnfit.cli.main import main  # noqa: E402
from nnfit.data.synthetic import make_data  # noqa: E402
from nnfit.errors import UsageError  # noqa: E402
from nnfit.runs.config import build_config  # noqa: E402
from nnfit.sweep import batched  # noqa: E402
from nnfit.sweep.distributions import grid_space, sampled, setting  # noqa: E402
from nnfit.sweep.objective import sweep_data  # noqa: E402
from nnfit.sweep.space import from_texts  # noqa: E402
from nnfit.sweep.trials import StorageGone, run_trial  # noqa: E402

DATA = ["--function", "quadratic", "--preset", "morvan-2017", "--val", "0.2", "--steps", "60"]
SRC = str(Path(nnfit.__file__).parent.parent)


def sweep(*words):
    return main(["sweep", *DATA, *words])


def study_of(url, name):
    return optuna.load_study(storage=url, study_name=name)


def test_ranges_become_distributions_and_lists_choices():
    space = from_texts(
        {
            "lr": "log:0.001..0.1:5",
            "steps": "50..200:4",
            "hidden": "8..64:x2",
            "activation": "relu,tanh",
            "patience": "10,none",
            "loss": "mse",
        }
    )
    items = {item.name: item for item in sampled(optuna, space)}
    lr, steps, hidden = items["lr"].distribution, items["steps"].distribution, items["hidden"]
    assert (lr.low, lr.high, lr.log) == (0.001, 0.1, True)
    assert isinstance(steps, optuna.distributions.IntDistribution)
    assert (steps.low, steps.high, steps.log) == (50, 200, False)
    assert hidden.distribution.log and hidden.value(17) == (17,)  # one layer of 17 units
    assert items["activation"].distribution.choices == ("relu", "tanh")
    assert items["patience"].distribution.choices == (10, None)
    assert "loss" not in items  # one value: fixed, not sampled
    drawn = {"lr": 0.01, "steps": 70, "hidden": 17, "activation": "tanh", "patience": None}
    assert setting(list(items.values()), drawn, space) == {
        "lr": 0.01,
        "steps": 70,
        "hidden": (17,),
        "activation": "tanh",
        "patience": None,
        "loss": "mse",
    }


def test_the_grid_sampler_takes_the_space_s_own_values():
    space = from_texts({"hidden": "16,32-32", "lr": "log:0.01..1:3"})
    items = sampled(optuna, space, grid=True)
    assert grid_space(items) == {"hidden": ["16", "32-32"], "lr": [0.01, 0.1, 1.0]}
    assert setting(items, {"hidden": "32-32", "lr": 0.1}, space)["hidden"] == (32, 32)


def test_each_trial_scores_as_the_local_sweep_scores_its_setting(tmp_path, capsys):
    space = ["--hidden", "5,10", "--lr", "0.05,0.2", "--seeds", "2"]
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert sweep(*space, "--out", str(tmp_path / "local"), "-q") == 0
    local = json.loads((tmp_path / "local" / "results.json").read_text())["results"]
    assert sweep(*space, "--trials", "4", "--sampler", "grid", "--pruner", "none",
                 "--storage", url, "--study", "g", "-q") == 0  # fmt: skip
    trials = study_of(url, "g").get_trials()
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    assert all(t.state.name == "COMPLETE" for t in trials)
    scored = {(t.params["hidden"], t.params["lr"]): t.value for t in trials}
    for record in local:  # the same networks: same folds, seeds and weights
        key = ("-".join(map(str, record["hidden"])), record["lr"])
        assert scored[key] == pytest.approx(record["cv_rmse_mean"], rel=1e-6)
    table = capsys.readouterr().out
    assert "study g: 4 of 4 trial(s): 4 complete; best: trial" in table


def test_report_names_the_best_trial_and_saves_its_setting_retrained(tmp_path, capsys):
    url = f"journal:///{tmp_path / 'j.log'}"
    words = ["--hidden", "4..12:+4", "--lr", "log:0.03..0.3:5", "--seeds", "2"]
    assert sweep(*words, "--trials", "5", "--storage", url, "--study", "r", "-q") == 0
    capsys.readouterr()
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "j.log"))
    )
    study = optuna.load_study(storage=storage, study_name="r")
    best = study.best_trial
    out = tmp_path / "report"
    assert main(["sweep", "--storage", url, "--study", "r", "--report", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"best: trial {best.number} " in printed
    results = json.loads((out / "results.json").read_text())
    assert results["results"][0]["trial"] == best.number
    assert results["results"][0]["cv_rmse_mean"] == pytest.approx(best.value)
    toml = (out / "best.toml").read_text()
    assert f"lr = {best.user_attrs['setting']['lr']!r}" in toml
    assert (out / "best" / "model.safetensors").is_file()


def test_a_crash_or_a_divergence_fails_its_trial_with_a_reason_and_the_study_goes_on(
    tmp_path, monkeypatch, capsys
):
    real = batched.train_group

    def crashes_for_hidden_7(group, data, **kw):
        if group.config.model.hidden == (7,):
            raise RuntimeError("boom")
        return real(group, data, **kw)

    monkeypatch.setattr(batched, "train_group", crashes_for_hidden_7)
    url = f"sqlite:///{tmp_path / 's.db'}"
    words = ["--hidden", "5,7", "--lr", "0.1,1000", "--seeds", "2", "--pruner", "none"]
    assert (
        sweep(*words, "--trials", "4", "--sampler", "grid", "--storage", url, "--study", "f") == 0
    )
    trials = {(t.params["hidden"], t.params["lr"]): t for t in study_of(url, "f").get_trials()}
    assert trials[("5", 0.1)].state.name == "COMPLETE"
    assert trials[("5", 1000)].state.name == "FAIL"
    assert trials[("5", 1000)].user_attrs["reason"] == "diverged: all 2 network(s)"
    for lr in (0.1, 1000):
        assert trials[("7", lr)].state.name == "FAIL"
        assert trials[("7", lr)].user_attrs["reason"] == "RuntimeError: boom"
    err = capsys.readouterr().err
    assert "failed: RuntimeError: boom" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def parabola():
    x, y = make_data(seed=0)
    return sweep_data(x.numpy(), y.numpy(), seeds=2, val=0.2, seed=0)


class FakeTrial:
    """Records reports; prunes at ``prune_at`` or fails to report (a storage gone)."""

    def __init__(self, prune_at=None, fail_at=None):
        self.reports, self.prune_at, self.fail_at = [], prune_at, fail_at

    def report(self, value, step):
        if self.fail_at is not None and step >= self.fail_at:
            raise ConnectionError("server closed the connection")
        self.reports.append((step, value))

    def should_prune(self):
        return self.prune_at is not None and self.reports[-1][0] >= self.prune_at


def test_the_pruner_stops_the_run_at_the_snapshot_it_prunes(parabola, monkeypatch):
    config = build_config("morvan-2017", train={"steps": 100, "every": 5})
    stopped_at = []
    real = batched.train_group

    def watched(group, data, **kw):
        try:
            return real(group, data, **kw)
        finally:
            stopped_at.append(kw["control"].stopped)

    monkeypatch.setattr(batched, "train_group", watched)
    trial = FakeTrial(prune_at=20)
    with pytest.raises(optuna.TrialPruned, match="pruned at step 20"):
        run_trial(trial, config, parabola, 2, None)
    assert [step for step, _ in trial.reports] == [0, 5, 10, 15, 20]
    assert all(np.isfinite(value) for _, value in trial.reports)
    assert stopped_at == [True]  # through the run's Control, between two steps

    whole = FakeTrial()  # never pruned: every snapshot reported, then scored
    result = run_trial(whole, config, parabola, 2, None)
    assert [step for step, _ in whole.reports] == list(range(0, 100, 5))
    assert len(result.scores["val_rmse"]) == 2 and np.isfinite(result.value)


def test_ctrl_c_stops_a_trial_and_a_storage_that_fails_to_answer_is_named(parabola):
    config = build_config("morvan-2017", train={"steps": 100, "every": 5})
    with pytest.raises(StorageGone, match="server closed"):
        run_trial(FakeTrial(fail_at=10), config, parabola, 2, None)
    stop = threading.Event()
    stop.set()
    from nnfit.sweep.trials import Stopped

    with pytest.raises(Stopped):
        run_trial(FakeTrial(), config, parabola, 2, stop)


@pytest.mark.parametrize(
    ("words", "said"),
    [
        (["--trials", "3"], "--trials and --report need --storage URL and --study NAME"),
        (["--storage", "sqlite:///x.db", "--study", "s"], "go with --trials N"),
        (["--trials", "3", "--storage", "redis://h", "--study", "s"], "not a storage nnfit"),
        (["--trials", "0", "--storage", "sqlite:///x.db", "--study", "s"], "--trials must be"),
        (
            ["--trials", "2", "--storage", "postgresql://nobody@127.0.0.1:9/db", "--study", "s"],
            "the study's storage postgresql://nobody@127.0.0.1:9/db failed: ",
        ),
        (
            ["--trials", "2", "--storage", "postgresql://u:secret@127.0.0.1:9/db", "--study", "s"],
            "postgresql://u:***@127.0.0.1:9/db",
        ),
    ],
)
def test_study_flags_are_refused_in_one_line(tmp_path, monkeypatch, capsys, words, said):
    monkeypatch.chdir(tmp_path)
    assert sweep("--hidden", "4,8", *words) == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1 and "secret" not in err


def test_a_worker_with_other_settings_is_refused_and_a_missing_study_named(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 's.db'}"
    common = ["--trials", "1", "--storage", url, "--study", "s", "-q", "--seeds", "2"]
    assert sweep("--hidden", "4,8", *common) == 0
    assert sweep("--hidden", "4,16", *common) == 2
    assert "sweeps other settings or data" in capsys.readouterr().err
    assert main(["sweep", "--storage", url, "--study", "nosuch", "--report"]) == 2
    assert "no study nosuch" in capsys.readouterr().err
    missing = tmp_path / "none.db"  # a report reads a study: it creates no file
    assert main(["sweep", "--storage", f"sqlite:///{missing}", "--study", "s", "--report"]) == 2
    assert "no such file" in capsys.readouterr().err and not missing.exists()


def test_without_the_sweep_extra_a_study_is_refused_with_an_install_hint(tmp_path):
    code = (
        "import sys; sys.modules['optuna'] = None\n"
        "from nnfit.cli.main import main\n"
        "status = main(['sweep', '--example', 'pressure', '--hidden', '4,8', '--trials', '2',"
        " '--storage', 'sqlite:///s.db', '--study', 's'])\n"
        "print(status, 'torch' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.stdout.split() == ["2", "False"]
    assert "pip install 'nnfit[sweep]'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_workers_may_read_the_same_data_from_another_path_but_not_other_data():
    from nnfit.sweep.study import identity, same

    space = from_texts({"lr": "0.1,0.2"})
    here = build_config("data", data={"file": "/home/a/data.csv"}).to_dict()
    there = build_config("data", data={"file": "/mnt/b/data.csv"}).to_dict()
    assert same(identity(here, space, "data", "abc"), identity(there, space, "data", "abc"))
    assert not same(identity(here, space, "data", "abc"), identity(here, space, "data", "abd"))
    wider = from_texts({"lr": "0.1,0.3"})
    assert not same(identity(here, space, "data", "abc"), identity(here, wider, "data", "abc"))


def test_with_trials_a_range_needs_no_count_and_a_sampler_draws_from_its_span(tmp_path):
    space = from_texts({"lr": "log:0.01..0.5", "hidden": "4..12"}, sampling=True)
    items = {item.name: item.distribution for item in sampled(optuna, space)}
    assert (items["lr"].low, items["lr"].high, items["lr"].log) == (0.01, 0.5, True)
    assert (items["hidden"].low, items["hidden"].high) == (4, 12)
    url = f"sqlite:///{tmp_path / 's.db'}"
    words = ["--lr", "log:0.01..0.5", "--hidden", "4..12", "--seeds", "2", "-q"]
    assert sweep(*words, "--trials", "3", "--storage", url, "--study", "c") == 0
    trials = study_of(url, "c").get_trials()
    assert len(trials) == 3
    assert all(0.01 <= t.params["lr"] <= 0.5 and 4 <= t.params["hidden"] <= 12 for t in trials)
    with pytest.raises(UsageError, match=r"a range is LO\.\.HI:N"):  # a grid takes the counts
        from_texts({"lr": "log:0.01..0.5"})


@pytest.mark.parametrize("pruner", ["hyperband", "none"])
def test_every_pruner_runs_a_study_to_its_trials(tmp_path, pruner):
    url = f"sqlite:///{tmp_path / 's.db'}"
    words = ["--lr", "log:0.001..0.3", "--hidden", "8", "--seeds", "2", "--sampler", "random"]
    assert sweep(*words, "--pruner", pruner, "--trials", "4", "--storage", url, "--study", "p",
                 "-q") == 0  # fmt: skip
    trials = study_of(url, "p").get_trials()
    assert len(trials) == 4 and {t.state.name for t in trials} <= {"COMPLETE", "PRUNED"}
    if pruner == "none":
        assert {t.state.name for t in trials} == {"COMPLETE"}


def test_an_lbfgs_trial_reports_its_first_network_s_curve_once(parabola):
    config = build_config("morvan-2017", train={"steps": 20, "every": 5, "optimizer": "lbfgs"})
    trial = FakeTrial()
    result = run_trial(trial, config, parabola, 2, None)  # one network per run
    assert [step for step, _ in trial.reports] == [0, 5, 10, 15]
    assert len(result.scores["val_rmse"]) == 2 and None not in result.scores["val_rmse"]

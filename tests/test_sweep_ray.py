"""nnfit sweep --backend ray: option refusals without Ray running, and one slow test of a
sweep on a two-node Ray cluster on loopback (``ray.cluster_utils.Cluster``)."""

import csv
import importlib.util
import json
import os
import pickle
import sys
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

import nnfit  # noqa: E402
from nnfit.cli.main import main  # noqa: E402
from nnfit.sweep.distributions import sampled, setting  # noqa: E402
from nnfit.sweep.raytune import Suggestions  # noqa: E402
from nnfit.sweep.space import from_texts  # noqa: E402

DATA = ["--function", "quadratic", "--preset", "morvan-2017", "--val", "0.2", "--steps", "200"]
SRC = str(Path(nnfit.__file__).parent.parent)
HAS_RAY = importlib.util.find_spec("ray") is not None


def refused(capsys, *words):
    """The exit status and the one line on stderr of ``nnfit sweep DATA words``."""
    try:
        status = main(["sweep", *DATA, *words])
    except SystemExit as exit_:  # argparse's own refusals
        status = exit_.code
    lines = capsys.readouterr().err.strip().splitlines()
    return status, lines


@pytest.mark.parametrize(
    ("words", "says"),
    [
        (["--lr", "0.1,0.2", "--address", "auto"], "--address goes with --backend ray"),
        (["--lr", "0.1,0.2", "--gpus-per-trial", "1"], "--gpus-per-trial goes with --backend"),
        (["--lr", "0.1,0.2", "--backend", "ray", "--storage", "sqlite:///s.db"], "--storage"),
        (["--lr", "0.1,0.2", "--backend", "ray", "--pruner", "median"], "--pruner"),
        (["--lr", "0.1,0.2", "--backend", "ray", "--resume", "x"], "--resume"),
        (["--lr", "0.1,0.2", "--backend", "ray", "--cpus-per-trial", "0"], "above 0"),
        (["--lr", "0.1,0.2", "--backend", "ray", "--gpus-per-trial", "-1"], "0 or more"),
        (["--lr", "0.1,0.2", "--backend", "ray", "--sampler", "grid"], "tpe, random"),
        (["--lr", "0.1,0.2", "--backend", "ray", "--trials", "0"], "--trials"),
        (["--lr", "0.1", "--backend", "ray"], "at least one setting"),
        (["--lr", "0.1,0.2", "--backend", "gpu"], "invalid choice"),
    ],
)
def test_ray_options_are_refused_in_one_line(capsys, words, says):
    status, lines = refused(capsys, *words)
    assert status == 2
    assert len(lines) == 1 and says in lines[0], lines


def test_without_ray_installed_the_sweep_says_how_to_install_it(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails
    out = tmp_path / "s"
    status, lines = refused(capsys, "--lr", "0.1,0.2", "--backend", "ray", "--out", str(out))
    assert status == 2
    assert len(lines) == 1 and lines[0].endswith("need Ray Tune: pip install 'nnfit[ray]'")
    assert not out.exists()


def test_the_search_space_pickles_and_suggests_the_optuna_backends_values():
    space = from_texts({"lr": "log:0.001..0.1", "hidden": "4,8"}, seeds=2, sampling=True)
    items = sampled(optuna, space)
    define = pickle.loads(pickle.dumps(Suggestions(items)))  # Tune saves its searcher
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    define(trial)
    assert set(trial.params) == {"lr", "hidden"}
    assert 0.001 <= trial.params["lr"] <= 0.1
    assert setting(items, trial.params, space)["hidden"] in ((4,), (8,))


def test_an_address_nobody_answers_at_is_one_line(capsys, tmp_path):
    if not HAS_RAY:
        pytest.skip("Ray is not installed (pip install 'nnfit[ray]')")
    import socket

    with socket.socket() as free:  # a port of this machine that no one listens on
        free.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{free.getsockname()[1]}"
    out = tmp_path / "s"
    words = ["--lr", "0.1,0.2", "--backend", "ray", "--address", address, "--out", str(out)]
    status, lines = refused(capsys, *words)
    assert status == 2
    assert len(lines) == 1 and "no Ray cluster answers there" in lines[0], lines
    assert not out.exists()


@pytest.fixture
def cluster(monkeypatch):
    """Two Ray nodes of one CPU each on 127.0.0.1 (workers import nnfit from this checkout)."""
    if not HAS_RAY:
        if os.environ.get("CI"):
            pytest.fail("CI installs the ray extra: Ray Tune is missing")
        pytest.skip("Ray is not installed (pip install 'nnfit[ray]')")
    from ray.cluster_utils import Cluster

    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback only
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        nodes.add_node(num_cpus=1)
        nodes.wait_for_nodes()
        yield nodes
    finally:
        nodes.shutdown()


@pytest.mark.slow
def test_a_two_node_cluster_runs_a_sweep_to_the_end(cluster, tmp_path, capsys):
    import ray

    trials = 6
    out = tmp_path / "s"
    words = ["--lr", "log:0.01..0.5", "--hidden", "4,8", "--seeds", "2", "--sampler", "random"]
    words += ["--backend", "ray", "--address", cluster.address, "--trials", str(trials)]
    assert main(["sweep", *DATA, *words, "--out", str(out), "-q"]) == 0
    assert not ray.is_initialized()  # the sweep disconnected; the cluster is the fixture's
    printed = capsys.readouterr().out
    assert f"ray: {trials} trial(s):" in printed, printed
    rows = list(csv.DictReader((out / "results.csv").open()))
    about = json.loads((out / "results.json").read_text())
    assert about["status"] == "ray" and about["trials"] == trials
    assert 1 <= len(rows) <= trials, printed  # ASHA may stop some; whichever node ran them
    numbers = [int(row["trial"]) for row in rows]
    assert len(set(numbers)) == len(numbers) and all(0 <= n < trials for n in numbers)
    for row in rows:
        assert 0.01 <= float(row["lr"]) <= 0.5 and row["hidden"] in ("4", "8")
        assert float(row["cv_rmse_mean"]) >= 0 and row["seeds"] == "2"
    means = [float(row["cv_rmse_mean"]) for row in rows]
    assert means == sorted(means)  # ranked
    assert (out / "best.toml").is_file() and (out / "best").is_dir()

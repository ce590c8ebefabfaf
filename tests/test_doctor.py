"""``nnfit doctor``: each seed a member of one batched run, judged as its single run is."""

import json
from collections import Counter

import numpy as np
import pytest
import torch

from nnfit.cli.main import main
from nnfit.core.diagnostics import diagnose
from nnfit.core.model import MLP
from nnfit.core.outcomes import MemberRecord, member_outcomes
from nnfit.core.traindata import prepare
from nnfit.core.training import TrainConfig, train
from nnfit.data.dataset import load_dataset
from nnfit.data.synthetic import make_data
from nnfit.runs.config import build_config
from nnfit.runs.doctor import (
    DoctorReport,
    Trial,
    candidates,
    check_doctor_config,
    doctor,
    preset_of,
    seed_run,
)
from nnfit.runs.doctor_report import labels, report_json, report_text

FLOOR = 0.2**2 / 12  # the lesson's noise floor: U(0, 0.2) noise


def single_runs(config, seeds):
    """The reference: one plain single run per seed, on the data of the first seed."""
    x, y = make_data(config.data, seed=seeds[0])
    runs = []
    for seed in seeds:
        model = MLP(1, config.model.hidden, 1, activation=config.model.activation, seed=seed)
        data = prepare(x, y, noise_floor=FLOOR)
        runs.append((model, train(model, data, config.train)))
    return runs


def test_independent_members_start_as_their_single_networks():
    ensemble = MLP(1, (6, 4), 1, members=3, seed=[5, 6, 7], independent=True)
    for k, seed in enumerate((5, 6, 7)):
        single = MLP(1, (6, 4), 1, seed=seed)
        for mine, theirs in zip(ensemble.member_layers(k), single.member_layers(), strict=True):
            assert all(torch.equal(a, b) for a, b in zip(mine, theirs, strict=True))
    default = MLP(1, (6, 4), 1, members=3, seed=[5, 6, 7])  # an ensemble still starts flat
    assert not default.member_layers(0)[-1][0].any()


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.5), ("adam", 0.02), ("momentum", 0.1)])
def test_each_member_is_its_single_run(optimizer, lr):
    config = check_doctor_config(build_config(train={"optimizer": optimizer, "lr": lr}), 6)
    seeds = list(range(6))
    trial = seed_run(config, load_dataset(config.data, seed=0), len(seeds))
    for k, (_, history) in enumerate(single_runs(config, seeds)):
        assert trial.final_losses[k] == pytest.approx(history.final.loss, rel=1e-4, abs=1e-7)
        assert trial.kinds[k] == diagnose(history).kind


def test_member_weights_equal_the_single_runs():
    config = TrainConfig(optimizer="adam", lr=0.02, steps=40)
    x, y = make_data(seed=0)
    ensemble = MLP(1, 10, 1, members=4, seed=[0, 1, 2, 3], independent=True)
    train(ensemble, (x, y), config)
    for k in range(4):
        single = MLP(1, 10, 1, seed=k)
        train(single, (x, y), config)
        for mine, theirs in zip(ensemble.member_layers(k), single.member_layers(), strict=True):
            for a, b in zip(mine, theirs, strict=True):
                torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-4, atol=1e-5)


def test_outcome_counts_on_the_lesson_match_the_single_runs():
    config = check_doctor_config(build_config(), 12)
    report = doctor(config, 12, compare=False)
    expected = Counter(diagnose(history).kind for _, history in single_runs(config, range(12)))
    assert Counter(report.base.kinds) == expected
    assert expected["dead_units"] > 0  # the lesson's known failure is among these seeds
    assert report.base.failures == 12 - expected["ok"]


def test_a_rate_that_diverges_for_every_seed():
    config = check_doctor_config(build_config(train={"lr": 50.0}), 5)
    report = doctor(config, 5, compare=False)
    assert all(history.stop_reason == "diverged" for _, history in single_runs(config, range(5)))
    assert report.base.kinds == ("diverged",) * 5 and report.base.share == 1.0


def test_one_diverging_member_is_judged_alone():
    x, y = make_data(seed=0)
    config = TrainConfig(lr=0.5, member_lr=(0.5, 1e6, 0.5))
    model = MLP(1, 10, 1, members=3, seed=[0, 1, 2], independent=True)
    record = MemberRecord(model, x, y, every=config.every)
    history = train(model, prepare(x, y, noise_floor=FLOOR), config, callbacks=[record])
    kinds = member_outcomes(history, record)
    assert kinds[1] == "diverged" and list(history.diverged_members) == [1]
    for k in (0, 2):
        single = train(MLP(1, 10, 1, seed=k), prepare(x, y, noise_floor=FLOOR), TrainConfig())
        assert kinds[k] == diagnose(single).kind


def test_member_losses_line_up_with_a_thinned_history():
    x, y = make_data(seed=0)
    model = MLP(1, 4, 1, members=2, seed=[0, 1], independent=True)
    record = MemberRecord(model, x, y, every=1)
    config = TrainConfig(lr=0.1, steps=2100, every=1)
    history = train(model, (x, y), config, callbacks=[record])
    assert record.losses.shape == (len(history.snapshots), 2)  # thinned as the History is
    np.testing.assert_allclose(record.losses.mean(axis=1), history.losses, rtol=1e-5)


def test_the_lesson_candidates_start_with_the_2018_settings():
    config = build_config()
    changes = candidates(config)
    assert preset_of(changes[0]) == "morvan-2018"
    assert {"model": {"activation": "leaky_relu"}} in changes
    adam = build_config(train={"optimizer": "adam"})
    assert all(c.get("train", {}).get("optimizer") != "adam" for c in candidates(adam))


def fake_trial(kinds, changes=None):
    losses = np.linspace(1.0, 2.0, len(kinds)) * FLOOR
    return Trial(changes or {}, tuple(kinds), losses, FLOOR, 0.5)


def fake_report(base, *tried):
    config = check_doctor_config(build_config(), len(base.kinds))
    return DoctorReport(config, 0, len(base.kinds), 100, "y = x**2", FLOOR, base, tried)


def test_best_is_the_change_with_fewest_failures_and_only_if_it_helps():
    base = fake_trial(["ok", "dead_units", "dead_units", "stalled"])
    worse = fake_trial(["dead_units"] * 4, {"model": {"hidden": (20,)}})
    better = fake_trial(["ok", "ok", "ok", "unfinished"], {"train": {"lr": 0.2, "steps": 200}})
    assert fake_report(base, worse, better).best is better
    assert fake_report(base, worse).best is None


def test_report_text_and_json_count_the_outcomes():
    base = fake_trial(["ok"] * 6 + ["dead_units"] * 3 + ["diverged"])
    better = fake_trial(["ok"] * 10, {"train": {"lr": 0.2, "steps": 200}})
    report = fake_report(base, better)
    text = report_text(report)
    dead = next(line for line in text.splitlines() if line.startswith(labels(FLOOR)["dead_units"]))
    assert dead.split()[-2:] == ["3", "30.0%"]
    assert "failures: 4 of 10 (40.0%)" in text
    assert "best: --lr 0.2 --steps 200 (preset morvan-2018)" in text
    data = json.loads(json.dumps(report_json(report), allow_nan=False))
    assert data["outcomes"]["dead_units"] == {"count": 3, "share": 0.3}
    assert sum(o["count"] for o in data["outcomes"].values()) == 10
    assert sum(b["count"] for b in data["final_loss"]["histogram"]) == 10
    assert data["members"]["outcome"] == list(base.kinds)
    assert data["best"] == 0 and data["candidates"][0]["failures"]["count"] == 0


def run(capsys, *argv):
    code = main(["doctor", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_prints_the_report(capsys):
    code, out, err = run(capsys, "--seeds", "6", "--no-compare")
    assert code == 0 and out.startswith("nnfit doctor: 6 seeds (0-5)")
    assert "failures:" in out and "final loss in noise floors" in out
    assert "as given" in err  # a progress line per batched run


def test_cli_json_to_a_file_and_overwrite(tmp_path, capsys):
    path = tmp_path / "doctor.json"
    code, out, _ = run(capsys, "--seeds", "4", "--no-compare", "-q", "--out", str(path))
    assert code == 0 and out == ""
    data = json.loads(path.read_text())
    assert data["seeds"] == {"first": 0, "count": 4} and len(data["members"]["outcome"]) == 4
    code, _, err = run(capsys, "--seeds", "4", "--no-compare", "-q", "--out", str(path))
    assert code == 2 and "already exists" in err
    code, out, _ = run(capsys, "--seeds", "4", "--no-compare", "-q", "--format", "json")
    assert code == 0 and json.loads(out)["format"] == "nnfit.doctor/1"
    code, *_ = run(capsys, "--seeds", "4", "--no-compare", "-q", "--out", str(path), "--overwrite")
    assert code == 0


BAD = [
    (["--seeds", "0"], "--seeds"),
    (["--seeds", "abc"], "--seeds"),
    (["--members", "3"], "--members"),
    (["--val", "0.2"], "--val"),
    (["--optimizer", "lbfgs"], "lbfgs"),
    (["--member-lr", "0.1,0.2"], "--member-lr"),
    (["--lr", "0"], "--lr"),
    (["--format", "csv"], "--format"),
    (["--seedz", "3"], "unknown flag --seedz; did you mean"),
]


@pytest.mark.parametrize("flags, match", BAD, ids=[" ".join(f) for f, _ in BAD])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, monkeypatch, flags, match):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *flags)
    assert code == 2 and match in err and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def interrupt_run(monkeypatch, number):
    """Ctrl-C mid-training (step 10) in the ``number``-th batched run of a doctor."""
    from nnfit.core import outcomes

    begin, snapshot = outcomes.MemberRecord.on_train_begin, outcomes.MemberRecord.on_snapshot
    runs = []

    def counted(self, history):
        runs.append(self)
        begin(self, history)

    def on_snapshot(self, shot):
        if len(runs) == number and runs[-1] is self and shot.step == 10 and not shot.final:
            raise KeyboardInterrupt  # inside the loop: train keeps the partly trained model
        snapshot(self, shot)

    monkeypatch.setattr(outcomes.MemberRecord, "on_train_begin", counted)
    monkeypatch.setattr(outcomes.MemberRecord, "on_snapshot", on_snapshot)


def test_ctrl_c_in_the_comparison_keeps_the_report(capsys, monkeypatch):
    interrupt_run(monkeypatch, 2)  # the first candidate
    code, out, _ = run(capsys, "--seeds", "4", "-q")
    assert code == 0 and "stopped by the user" in out and "failures:" in out
    assert "as given" in out and "--lr 0.2" not in out  # no candidate finished


def test_ctrl_c_during_the_setting_as_given_exits_130(capsys, monkeypatch):
    interrupt_run(monkeypatch, 1)
    code, out, err = run(capsys, "--seeds", "4", "-q")
    assert code == 130 and out == "" and err.strip() == "nnfit: interrupted"

"""Early stopping's restore rules: the lowest validation loss, or one standard error ("1se")."""

import numpy as np
import pytest
import torch

import nnfit
from nnfit.core.history import History, Snapshot
from nnfit.core.members import holdout
from nnfit.core.traindata import prepare
from nnfit.core.trainstate import Best, flatten, unflatten

VAL = [1.0, 0.6, 0.52, 0.5, 0.55, 0.49, 0.7, 0.8]  # a noisy validation curve
SE = [0.05, 0.05, 0.05, 0.05, 0.05, 0.04, 0.05, 0.05]


def feed(best: Best, model: nnfit.MLP, val=VAL, se=SE) -> bool:
    """Show ``best`` one snapshot per step, the model's output bias set to the step number."""
    stopped = False
    for step, (loss, error) in enumerate(zip(val, se, strict=True)):
        with torch.no_grad():
            model.layers[-1].bias.fill_(step)
        snapshot = Snapshot(step, 0.0, np.zeros((1, 1)), val_loss=loss, val_se=error)
        stopped = best.should_stop(snapshot)
    return stopped


def restored_marker(model: nnfit.MLP) -> int:
    return int(model.layers[-1].bias.item())


@pytest.mark.parametrize("rule", ["lowest", "1se"])
def test_each_rule_restores_the_weights_of_the_step_it_names(rule):
    model = nnfit.MLP(1, 3, 1, seed=0)
    best = Best(model, patience=100, rule=rule)
    feed(best, model)
    lowest = int(np.argmin(VAL))
    within = VAL[lowest] + SE[lowest]
    expected = lowest if rule == "lowest" else next(i for i, v in enumerate(VAL) if v <= within)
    assert best.restore() == expected == restored_marker(model)
    if rule == "1se":
        assert expected < lowest  # the rule picks an earlier, simpler fit here


def test_1se_forgets_losses_more_than_one_standard_error_above_a_lower_one():
    model = nnfit.MLP(1, 3, 1, seed=0)
    best = Best(model, patience=100, rule="1se")
    feed(best, model, val=[0.9, 0.5, 0.2], se=[0.01, 0.01, 0.01])
    assert best.earlier == [] and best.restore() == 2
    feed(best, model, val=[0.9, 0.5, 0.205], se=[0.01, 0.01, 0.01])  # 0.205 is not lower
    assert best.restore() == 2


def test_patience_counts_from_the_lowest_loss_under_both_rules():
    for rule in ("lowest", "1se"):
        model = nnfit.MLP(1, 3, 1, seed=0)
        lowest = int(np.argmin(VAL))
        best = Best(model, patience=len(VAL) - 1 - lowest, rule=rule)
        assert feed(best, model)
        best = Best(model, patience=len(VAL) - lowest, rule=rule)
        assert not feed(best, model)


def test_1se_state_survives_a_checkpoint():
    model = nnfit.MLP(1, 3, 1, seed=0)
    best = Best(model, patience=100, rule="1se")
    feed(best, model)
    layout, tensors = flatten(best.state())
    again = Best(nnfit.MLP(1, 3, 1, seed=1), patience=100, rule="1se")
    again.load(unflatten(layout, tensors))
    assert again.restore() == best.restore() == restored_marker(again.model)


def test_validation_loss_has_its_standard_error():
    x, y = nnfit.make_data(seed=0, points=60, noise="gaussian", noise_level=0.3)
    xv, yv = nnfit.make_data(seed=1, points=40, noise="gaussian", noise_level=0.3)
    model = nnfit.MLP(1, 16, 1, seed=0)
    history = nnfit.train(
        model,
        prepare(x, y, x_val=xv, y_val=yv),
        nnfit.TrainConfig(optimizer="adam", lr=0.01, steps=50),
    )
    with torch.no_grad():
        rows = ((model(xv) - yv) ** 2).numpy().ravel()
    assert history.final.val_loss == pytest.approx(rows.mean(), rel=1e-5)
    assert history.final.val_se == pytest.approx(rows.std(ddof=1) / np.sqrt(len(rows)), rel=1e-4)


def test_ensemble_validation_standard_error_pools_the_held_out_rows():
    x, y = nnfit.make_data(seed=0, points=50, noise="gaussian", noise_level=0.3)
    model = nnfit.MLP(1, 8, 1, seed=0, members=10)
    held = holdout(50, 10, 0.2, seed=0)  # 5-fold twice: every row held out by two members
    history = nnfit.train(
        model, prepare(x, y, holdout=held), nnfit.TrainConfig(optimizer="adam", lr=0.01, steps=40)
    )
    with torch.no_grad():
        each = ((model.layers(x) - y) ** 2)[..., 0].numpy()  # (members, rows)
    assert history.final.val_loss == pytest.approx(each[held].mean(), rel=1e-5)
    rows = (each * held).sum(axis=0) / held.sum(axis=0)  # one mean loss per row
    assert history.final.val_se == pytest.approx(rows.std(ddof=1) / np.sqrt(50), rel=1e-4)


def test_snapshots_keep_their_standard_error_through_json(tmp_path):
    x, y = nnfit.make_data(seed=0, points=40)
    history = nnfit.train(
        nnfit.MLP(1, 8, 1, seed=0), prepare(x, y, x_val=x, y_val=y), nnfit.TrainConfig(steps=10)
    )
    loaded = History.load(history.save(tmp_path / "h.json"))
    assert [s.val_se for s in loaded.snapshots] == [s.val_se for s in history.snapshots]
    assert all(s.val_se is not None and s.val_se > 0 for s in loaded.snapshots)


@pytest.mark.parametrize("restore", ["lowest", "1se"])
def test_a_fit_keeps_the_step_its_rule_names(restore):
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(-2, 2, 80))
    y = np.sin(2 * x) + 0.5 * rng.standard_normal(80)
    fitted = nnfit.Regressor(
        members=1, hidden=(32, 32), steps=600, every=10, patience=200, restore=restore
    ).fit(x, y)
    history = fitted.history_
    checked = [s for s in history.snapshots if not s.final]
    lowest = min(checked, key=lambda s: s.val_loss)
    kept = next(s for s in checked if s.step == history.best_step)
    if restore == "lowest":
        assert kept is lowest
    else:
        assert kept.step <= lowest.step and kept.val_loss <= lowest.val_loss + lowest.val_se
        earlier = [s for s in checked if s.step < kept.step]
        assert all(s.val_loss > lowest.val_loss + lowest.val_se for s in earlier)
    assert history.final.val_loss == pytest.approx(kept.val_loss, rel=1e-5)


def test_restore_flag_reaches_the_run_and_bad_values_exit_2(tmp_path, capsys):
    from nnfit.cli import main

    quick = ["fit", "--example", "cars", "--no-window", "--steps", "60", "--every", "20", "-q"]
    config = tmp_path / "run.toml"
    assert main([*quick, "--restore", "lowest", "--save-config", str(config)]) == 0
    assert 'restore = "lowest"' in config.read_text()
    capsys.readouterr()
    out_dir = tmp_path / "run"
    assert main([*quick, "--restore", "best", "--out", str(out_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--restore must be one of lowest, 1se" in err
    assert not out_dir.exists()

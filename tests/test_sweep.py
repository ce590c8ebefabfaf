"""nnfit sweep: batched trials equal single runs, ranking, per-member stopping, outputs, CLI."""

import json

import numpy as np
import pytest
import torch

from nnfit.cli.main import main
from nnfit.data.synthetic import make_data
from nnfit.runs.config import build_config
from nnfit.sweep.batched import train_group
from nnfit.sweep.objective import sweep_data
from nnfit.sweep.plan import Group, plan
from nnfit.sweep.results import collect
from nnfit.sweep.space import from_texts


@pytest.fixture(scope="module")
def parabola():
    """The lesson's data, split into 3 folds' worth of held-out rows."""
    x, y = make_data(seed=0)
    return sweep_data(x.numpy(), y.numpy(), seeds=3, val=0.2, seed=0)


def base(**train):
    settings = {"steps": 60, "every": 5, "patience": 15, **train}
    return build_config("data", model={"members": 1}, train=settings)


def alone(group, k):
    """Trial k of a group as a group of its own: a single network, the plain single run."""
    return Group(group.config, (group.trials[k],), (group.lrs[k],))


def assert_members_equal_single_runs(group, data):
    scores, _ = train_group(group, data)
    for k in range(group.members):
        single, _ = train_group(alone(group, k), data)
        assert scores.step[k] == single.step[0]
        assert scores.diverged[k] == single.diverged[0]
        assert scores.dead[k] == single.dead[0]  # dead units, member by member
        assert scores.val_rmse[k] == pytest.approx(single.val_rmse[0], rel=1e-4)
        np.testing.assert_allclose(scores.y_grid[k], single.y_grid[0], atol=1e-4)
    return scores


@pytest.mark.parametrize(
    ("optimizer", "lrs"),
    [
        ("sgd", "0.05,0.2"),
        ("momentum", "0.01,0.03"),
        ("nesterov", "0.01,0.03"),
        ("adam", "0.01,0.03"),
        ("adamw", "0.01,0.03"),
        ("rmsprop", "0.001,0.003"),
    ],
)
def test_each_member_of_a_batched_run_is_the_single_run_of_its_setting_and_seed(
    parabola, optimizer, lrs
):
    space = from_texts({"lr": lrs}, seeds=3)
    _, groups = plan(base(optimizer=optimizer), space)
    assert len(groups) == 1 and groups[0].members == 6  # two rates x three seeds, one run
    assert_members_equal_single_runs(groups[0], parabola)


def test_architectures_and_lbfgs_run_apart(parabola):
    space = from_texts({"hidden": "4,8-8", "optimizer": "adam,lbfgs"}, seeds=2)
    configs, groups = plan(base(), space)
    assert len(configs) == 4
    sizes = sorted(group.members for group in groups)
    assert sizes == [1, 1, 1, 1, 2, 2]  # each L-BFGS network alone; Adam by architecture


def test_members_stop_early_each_at_its_own_best_step(parabola):
    space = from_texts({"lr": "0.003,0.1"}, seeds=3)
    _, (group,) = plan(base(optimizer="adam", steps=300, patience=20), space)
    scores = assert_members_equal_single_runs(group, parabola)
    assert len(set(scores.step.tolist())) > 1  # not one pooled stopping step for all


def test_a_diverging_setting_is_marked_and_spoils_no_other(parabola):
    space = from_texts({"lr": "0.1,1000"}, seeds=2)
    _, (group,) = plan(base(optimizer="sgd"), space)
    scores = assert_members_equal_single_runs(group, parabola)
    lrs = np.array(group.lrs)
    assert scores.diverged[lrs == 1000].all()
    assert not scores.diverged[lrs == 0.1].any()
    assert np.isfinite(scores.val_rmse[lrs == 0.1]).all()


def test_the_ranking_puts_the_known_best_setting_first(parabola):
    # lr 1e-5 cannot move the weights in 60 steps; 0.03 fits the parabola
    space = from_texts({"lr": "0.00001,0.03", "hidden": "8"}, seeds=3)
    settings = list(space.settings())
    _, groups = plan(base(optimizer="adam"), space)
    done = [(group, *train_group(group, parabola)) for group in groups]
    results = collect(settings, done)
    assert [r.values["lr"] for r in results] == [0.03, 0.00001]
    assert results[0].mean < results[1].mean
    assert results[0].failure_rate == 0
    assert len(results[0].val_rmse) == 3


def test_the_held_out_rows_of_the_seeds_are_disjoint_folds(parabola):
    folds = parabola.folds
    assert folds.shape == (3, 100)
    assert (folds.sum(axis=0) <= 1).all()  # no row held out twice among the first 5 seeds
    assert (folds.sum(axis=1) == 20).all()  # val 0.2 of 100 rows each


def sweep(tmp_path, *flags):
    out = tmp_path / "sweep"
    argv = ["sweep", "--function", "x**2", "--points", "40", "--steps", "40", "--seeds", "2"]
    return main([*argv, *flags, "--out", str(out), "-q"]), out


def test_the_sweep_folder_holds_results_pictures_and_the_best_run(tmp_path, capsys):
    status, out = sweep(tmp_path, "--lr", "0.001,0.05", "--optimizer", "adam")
    assert status == 0
    names = {p.name for p in out.iterdir()}
    pictures = {"fits.png", "scores.png"}
    state = {"sweep.json", "scores.npz"}  # what --resume reads
    assert names == {"results.csv", "results.json", "best.toml", "best", *pictures, *state}
    results = json.loads((out / "results.json").read_text())
    assert results["format"] == "nnfit.sweep/1"
    assert [r["rank"] for r in results["results"]] == [1, 2]
    assert results["results"][0]["lr"] == 0.05
    csv = (out / "results.csv").read_text().splitlines()
    assert csv[0].startswith("rank,lr,cv_rmse_mean,cv_rmse_sd,failure_rate")
    assert len(csv) == 3
    table = capsys.readouterr().out
    assert "CV RMSE" in table and "0.05" in table
    capsys.readouterr()
    assert main(["predict", str(out / "best"), "--x", "0.5"]) == 0
    assert "y_pred" in capsys.readouterr().out
    best = json.loads((out / "best" / "run.json").read_text())
    assert best["settings"]["train"]["lr"] == 0.05


def test_an_existing_folder_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "mine.txt").write_text("keep")
    status, out = sweep(tmp_path, "--lr", "0.01,0.1")
    assert status == 2
    assert "already exists" in capsys.readouterr().err
    status, out = sweep(tmp_path, "--lr", "0.01,0.1", "--overwrite")
    assert status == 2
    assert (out / "mine.txt").read_text() == "keep"


def test_a_sweep_folder_is_replaced_with_overwrite(tmp_path):
    assert sweep(tmp_path, "--lr", "0.01,0.1")[0] == 0
    status, out = sweep(tmp_path, "--lr", "0.02,0.2,0.3", "--overwrite")
    assert status == 0
    assert len(json.loads((out / "results.json").read_text())["results"]) == 3


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--device", "cpu"], "--device cannot be swept; settings that can be swept: --hidden"),
        (["--save", "a.gif"], "--save is not a sweep flag; settings that can be swept"),
        (["--bogus", "1"], "--bogus is not a sweep flag; settings that can be swept"),
        (["--lr", "0.1,-1"], "--lr must be a finite number above 0, got -1"),
        (["--hidden", "8,16x16"], "--hidden: expected widths like 10 or 32-32"),
        (["--seeds", "0"], "--seeds must be a whole number from 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, flags, message):
    status, out = sweep(tmp_path, *flags)
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert err.count("\n") == 1
    assert not out.exists()


def test_no_data_is_refused(capsys):
    assert main(["sweep", "--lr", "0.1,0.2"]) == 2
    assert "nnfit sweep needs data" in capsys.readouterr().err


def test_a_toml_file_holds_the_space_and_the_base(tmp_path, capsys):
    space = tmp_path / "space.toml"
    space.write_text(
        '[data]\nfunction = "x**2"\npoints = 40\n[train]\nsteps = 30\n'
        "[sweep]\nhidden = [4, [4, 4]]\nseeds = 2\n"
    )
    assert main(["sweep", str(space), "--lr", "0.01,0.1", "-q"]) == 0
    table = capsys.readouterr().out
    assert "4-4" in table and "hidden" in table and "lr" in table
    assert len(table.strip().splitlines()) == 5  # heading and 2 x 2 settings


def test_torch_threads_are_put_back(parabola):
    before = torch.get_num_threads()
    space = from_texts({"lr": "0.01"}, seeds=2)
    _, (group,) = plan(base(), space)
    train_group(group, parabola)
    assert torch.get_num_threads() == before


def test_an_interrupted_sweep_resumes_to_the_uninterrupted_results(tmp_path, monkeypatch):
    import os
    import signal

    import nnfit.sweep.batched as batched

    flags = ["--lr", "0.01,0.1", "--hidden", "4,8,16", "--optimizer", "adam"]
    status, whole = sweep(tmp_path / "whole", *flags)
    assert status == 0
    train_group = batched.train_group

    def interrupted_after_the_first(*args, **kwargs):  # Ctrl-C once the first run is done
        monkeypatch.setattr(batched, "train_group", train_group)
        trained = train_group(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return trained

    monkeypatch.setattr(batched, "train_group", interrupted_after_the_first)
    status, cut = sweep(tmp_path / "cut", *flags)
    assert status == 130
    partial = json.loads((cut / "results.json").read_text())
    assert partial["status"] == "interrupted"
    assert len(partial["results"]) == 2  # one architecture's two rates
    assert not (cut / "best").exists()
    assert main(["sweep", "--resume", str(cut), "-q"]) == 0

    def scores(folder):
        records = json.loads((folder / "results.json").read_text())["results"]
        return [{k: v for k, v in r.items() if k != "seconds"} for r in records]

    assert scores(cut) == scores(whole)
    assert (cut / "best" / "run.json").is_file()


def test_resume_takes_no_new_settings(tmp_path, capsys):
    assert main(["sweep", "--resume", str(tmp_path), "--lr", "0.1"]) == 2
    assert "--resume continues a sweep with its own settings; drop --lr" in capsys.readouterr().err
    assert main(["sweep", "--resume", str(tmp_path)]) == 2
    assert "not a sweep folder" in capsys.readouterr().err


def test_a_damaged_scores_file_is_one_line(tmp_path, capsys):
    status, out = sweep(tmp_path, "--lr", "0.01,0.1")
    assert status == 0
    (out / "scores.npz").write_bytes(b"not an npz")
    assert main(["sweep", "--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert "scores.npz: damaged" in err and err.count("\n") == 1


def test_several_inputs_are_drawn_predicted_against_actual(tmp_path):
    out = tmp_path / "sweep"
    argv = ["sweep", "--function", "x1*x2", "--points", "60", "--steps", "30", "--seeds", "2"]
    assert main([*argv, "--hidden", "4,8", "--out", str(out), "-q"]) == 0
    assert (out / "fits.png").stat().st_size > 0
    results = json.loads((out / "results.json").read_text())["results"]
    assert {tuple(r["hidden"]) for r in results} == {(4,), (8,)}


def test_a_sweep_needs_held_out_rows(tmp_path, capsys):
    status, out = sweep(tmp_path, "--lr", "0.01,0.1", "--val", "0")
    assert status == 2
    assert "give --val above 0" in capsys.readouterr().err
    assert not out.exists()


def test_the_kept_fits_shrink_with_the_number_of_networks():
    x, y = make_data(seed=0)
    few = sweep_data(x.numpy(), y.numpy(), seeds=2, val=0.2, seed=0, networks=10)
    many = sweep_data(x.numpy(), y.numpy(), seeds=2, val=0.2, seed=0, networks=10**6)
    assert len(few.x_grid) == 200
    assert len(many.x_grid) == 20


def test_a_finished_sweep_has_nothing_to_resume(tmp_path, capsys):
    status, out = sweep(tmp_path, "--lr", "0.01,0.1")
    assert status == 0
    assert main(["sweep", "--resume", str(out)]) == 2
    assert "the sweep is finished; there is nothing to resume" in capsys.readouterr().err


def test_separate_members_pause_and_resume_exactly(parabola):
    """A batched run of separate members stopped mid-way (some already stopped early) and
    resumed from its TrainState ends with the weights of the uninterrupted run."""
    import threading

    from nnfit.core.callbacks import Callback
    from nnfit.core.model import MLP
    from nnfit.core.traindata import prepare
    from nnfit.core.training import train
    from nnfit.core.trainstate import Control

    space = from_texts({"lr": "0.003,0.1"}, seeds=3)
    _, (group,) = plan(base(optimizer="adam", steps=200, patience=20), space)
    config = group.config.train
    config = type(config)(**{**vars(config), "lr": 0.003, "member_lr": group.lrs, "seed": 0})
    held = parabola.folds[[t.seed for t in group.trials]]

    def run(control=None, callbacks=()):
        model = MLP(1, 32, 1, seed=[t.seed for t in group.trials], members=6, independent=True)
        model.set_scaler(parabola.x, parabola.y)
        data = prepare(parabola.x, parabola.y, holdout=held, seed=0, apart=True)
        history = train(model, data, config, control=control, callbacks=callbacks)
        return model, history

    whole, history = run()
    assert len(set(history.member_best_steps.values())) > 1
    assert min(history.member_best_steps.values()) + 20 <= 60  # one stopped before the pause
    stop, states = threading.Event(), []

    class StopAt(Callback):
        def on_snapshot(self, snapshot):
            if snapshot.step == 60:
                stop.set()

    run(Control(stop=stop, checkpoint=states.append), callbacks=[StopAt()])
    resumed, again = run(Control(resume=states[-1]))
    assert again.member_best_steps == history.member_best_steps
    for a, b in zip(whole.parameters(), resumed.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_restore_1se_is_refused_before_training(tmp_path, capsys):
    space = tmp_path / "space.toml"
    space.write_text('[data]\nfunction = "x**2"\n[train]\nrestore = "1se"\n[sweep]\nlr = [0.1]\n')
    assert main(["sweep", str(space), "-q"]) == 2
    assert "keep their lowest validation loss" in capsys.readouterr().err


def test_forged_scores_are_refused_in_one_line(tmp_path, capsys):
    status, out = sweep(tmp_path, "--lr", "0.01,0.1")
    assert status == 0
    saved = dict(np.load(out / "scores.npz"))
    for name, forged in [("val_rmse", np.array(["a", "b"])), ("setting", np.array([0, 7]))]:
        np.savez(out / "scores.npz", **{**saved, name: forged})
        assert main(["sweep", "--resume", str(out)]) == 2
        err = capsys.readouterr().err
        assert "scores.npz: damaged" in err and err.count("\n") == 1


def test_resume_refuses_data_that_changed(tmp_path, monkeypatch, capsys):
    import os
    import signal

    import nnfit.sweep.batched as batched

    data = tmp_path / "data.csv"
    x = np.linspace(0, 1, 30)
    data.write_text("x,y\n" + "".join(f"{a},{a * a}\n" for a in x))
    train_group = batched.train_group

    def interrupted_after_the_first(*args, **kwargs):
        monkeypatch.setattr(batched, "train_group", train_group)
        trained = train_group(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return trained

    monkeypatch.setattr(batched, "train_group", interrupted_after_the_first)
    out = tmp_path / "sweep"
    argv = ["sweep", str(data), "--hidden", "4,8", "--steps", "20", "--seeds", "2"]
    assert main([*argv, "--out", str(out), "-q"]) == 130
    data.write_text("x,y\n" + "".join(f"{a},{a}\n" for a in x))
    capsys.readouterr()
    assert main(["sweep", "--resume", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "resume needs the same data" in err and err.count("\n") == 1


def test_members_equal_single_runs_on_minibatches_too(parabola):
    space = from_texts({"lr": "0.01,0.03"}, seeds=2)
    _, (group,) = plan(base(optimizer="adam", batch_size=16, schedule="cosine"), space)
    assert_members_equal_single_runs(group, parabola)

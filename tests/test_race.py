"""nnfit race: variants from the same weights on one step clock, each equal to its single run,
drawn in their own colours; the lesson's optimiser preset; the command's files and errors."""

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from nnfit.cli.main import main
from nnfit.core.history import History
from nnfit.data.dataset import load_dataset
from nnfit.race.lanes import make_lanes, variant_names
from nnfit.race.runner import run_race
from nnfit.regressor import Regressor
from nnfit.runs.config import RACES, build_config
from nnfit.sweep.space import from_texts
from nnfit.views.render import FitFigure

BASE = {"train": {"steps": 30, "every": 5, "lr": 0.05, "batch_size": 25, "seed": 4}}


def race(texts, **train):
    config = build_config("morvan-2017", train={**BASE["train"], **train})
    space = from_texts(texts, seeds=1)
    configs, lanes = make_lanes(config, space)
    dataset = load_dataset(config.data, seed=config.train.seed)
    return configs, lanes, run_race(lanes, variant_names(space), dataset), dataset


def single(config, dataset):
    regressor = Regressor.from_config(config)
    regressor.fit(dataset.x, dataset.y[:, 0], noise_floor=dataset.noise_floor)
    return regressor.history_


@pytest.fixture(scope="module")
def optimizers():
    return race({"optimizer": "sgd,adam,rmsprop"})


@pytest.fixture(scope="module")
def rates():
    return race({"lr": "0.02,0.1,0.3"})


@pytest.mark.parametrize("which", ["optimizers", "rates"])
def test_every_variant_starts_from_the_same_weights(which, request):
    _, lanes, result, _ = request.getfixturevalue(which)
    first = result.history.snapshots[0]
    assert first.step == 0 and first.y_members is not None and len(first.y_members) == 3
    for fit in first.y_members[1:]:
        np.testing.assert_allclose(fit, first.y_members[0], rtol=1e-6, atol=1e-7)
    assert np.ptp(first.member_loss) < 1e-6
    # ... and then they part: the setting made a difference
    assert np.ptp(result.history.final.member_loss) > 1e-4
    assert len(lanes) == (3 if which == "optimizers" else 1)  # rates share one batched run


@pytest.mark.parametrize("which", ["optimizers", "rates"])
def test_each_variant_equals_its_single_run(which, request):
    configs, lanes, result, dataset = request.getfixturevalue(which)
    order = [v for lane in lanes for v in lane.variants]
    final = result.history.final
    for k, v in enumerate(order):
        history = single(configs[v], dataset)
        np.testing.assert_allclose(final.y_members[k], history.final.y_pred, rtol=1e-4, atol=1e-5)
        assert final.member_loss[k] == pytest.approx(history.final.loss, rel=1e-4)
        assert result.finishes[k].loss == pytest.approx(history.final.loss, rel=1e-4)


def test_the_steps_are_struck_together_on_one_clock(optimizers):
    _, _, result, _ = optimizers
    steps = [s.step for s in result.history.snapshots]
    assert steps == sorted(set(steps)) and steps[:3] == [0, 5, 10] and steps[-1] == 30
    for snapshot in result.history.snapshots:
        assert snapshot.member_loss is not None and np.isfinite(snapshot.member_loss).all()


def test_the_picture_has_one_line_per_variant_named_and_coloured(optimizers):
    _, _, result, _ = optimizers
    history = result.history
    assert history.variants == ("sgd", "adam", "rmsprop")
    fit = FitFigure(history)
    fit.draw_frame(history.final)
    panel = fit.panels[0]
    labels = [line.get_label() for line in panel.variant_lines]
    assert labels == ["sgd", "adam", "rmsprop"]
    legend = [text.get_text() for text in panel.ax.get_legend().get_texts()]
    assert {"sgd", "adam", "rmsprop"} <= set(legend)
    colours = [to_rgba(line.get_color()) for line in panel.variant_lines]
    assert len(set(colours)) == 3
    losses = [to_rgba(line.get_color()) for line in fit.variant_loss_lines]
    assert losses == colours
    for k, line in enumerate(panel.variant_lines):
        np.testing.assert_allclose(line.get_ydata(), history.final.y_members[k][panel.order, 0])
    for k, line in enumerate(fit.variant_loss_lines):
        np.testing.assert_allclose(line.get_ydata()[-1], history.final.member_loss[k])
    assert not panel.line.get_visible() and not fit.loss_line.get_visible()


def test_a_race_history_saves_and_loads(optimizers):
    history = optimizers[2].history
    again = History.from_dict(history.to_dict())
    assert again.variants == history.variants
    np.testing.assert_allclose(again.final.member_loss, history.final.member_loss)


def test_the_table_names_a_winner_that_reached_the_target(optimizers):
    from nnfit.race.table import format_table, steps_to, target_loss, winner

    finishes = optimizers[2].finishes
    target = target_loss(finishes, None)
    best = min(f.loss for f in finishes)
    assert target == pytest.approx(2 * best)
    won = winner(finishes, target)
    assert won is not None
    assert all(
        steps_to(f, target) is None or steps_to(f, target) >= steps_to(won, target)
        for f in finishes
    )
    text = format_table(finishes, None, 5)
    assert f"winner: {won.name}" in text
    assert all(f.outcome in text for f in finishes)


def test_the_lessons_optimiser_race_is_a_preset():
    config = build_config("morvan-optimizers")
    assert RACES["morvan-optimizers"] == {"optimizer": "sgd,momentum,rmsprop,adam"}
    assert (config.model.hidden, config.model.activation) == ((20,), "relu")
    assert (config.data.function, config.data.points) == ("quadratic", 1000)
    assert (config.data.noise, config.data.noise_level, config.data.domain) == (
        "gaussian",
        0.1,
        (-1.0, 1.0),
    )
    train = config.train
    assert (train.lr, train.batch_size, train.steps) == (0.01, 32, 12 * 31)  # 12 epochs
    assert (train.momentum, train.rmsprop_alpha, train.beta1, train.beta2) == (0.8, 0.9, 0.9, 0.99)


def test_the_command_saves_the_animation_and_the_picture(tmp_path, capsys):
    gif, png = tmp_path / "race.gif", tmp_path / "race.png"
    argv = ["race", "--optimizer", "sgd,adam", "--steps", "20", "--no-window", "-q"]
    assert main([*argv, "--save", str(gif), "--plot", str(png)]) == 0
    assert gif.read_bytes()[:6] == b"GIF89a" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert "sgd" in out and "adam" in out and "winner:" in out


def test_headless_races_save_files_named_after_the_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert main(["race", "--lr", "0.1,0.5", "--steps", "10", "-q"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "nnfit-demo-race.gif",
        "nnfit-demo-race.png",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lr", "0.1"], "at least 2 variants"),
        (["--lr", ",".join(str(0.01 * k) for k in range(1, 12))], "at most 10"),
        (["--members", "2,3"], "--members is not a race flag; settings a race can vary: --"),
        (["--log", "x.jsonl", "--lr", "0.1,0.2"], "--log is not a race flag: a race"),
        (["--out", "runs/x", "--lr", "0.1,0.2"], "--out is not a race flag"),
        (["--lr", "0.1,-1"], "--lr"),
        (["--nosuch", "1"], "unknown flag --nosuch"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(["race", *argv, "--no-window"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_variant_that_ends_early_keeps_its_fit_and_leaves_the_clock():
    _, lanes, result, _ = race({"steps": "10,25"})
    history = result.history
    assert len(lanes) == 2 and history.final.step == 25
    middle = [s for s in history.snapshots if 10 < s.step < 25]
    assert middle and all(
        np.isnan(s.member_loss[0]) and np.isfinite(s.member_loss[1]) for s in middle
    )
    np.testing.assert_allclose(middle[-1].y_members[0], history.final.y_members[0])
    assert np.isfinite(history.final.member_loss).all()
    assert result.finishes[0].curve[0].max() == 10  # its curve ends where it stopped


def test_a_diverging_variant_is_frozen_and_named_while_the_others_race_on():
    _, lanes, result, _ = race({"lr": "0.1,100"})
    assert len(lanes) == 1  # one batched run
    kinds = [f.outcome for f in result.finishes]
    assert kinds[1] == "diverged" and kinds[0] != "diverged"
    assert np.isfinite(result.history.final.member_loss[0])


def test_a_stop_ends_every_lane_and_the_race_is_kept():
    import threading

    from nnfit.core.callbacks import Callback

    stop = threading.Event()

    class StopAt(Callback):
        def on_snapshot(self, snapshot):
            if snapshot.step >= 10:
                stop.set()

    config = build_config("morvan-2017", train=BASE["train"])
    space = from_texts({"optimizer": "sgd,adam"}, seeds=1)
    _, lanes = make_lanes(config, space)
    dataset = load_dataset(config.data, seed=config.train.seed)
    result = run_race(lanes, variant_names(space), dataset, callbacks=[StopAt()], stop=stop)
    history = result.history
    assert history.stop_reason == "interrupted"
    assert history.final.final and 10 <= history.final.step < 30
    assert [f.outcome for f in result.finishes] == ["interrupted", "interrupted"]


LIVE = """
import json
import nnfit.views.live as live
shown = []
show_frame = live.LiveWindow.show_frame
def counted(self, snapshot):
    show_frame(self, snapshot)
    title = self.figure.canvas.manager.get_window_title()
    shown.append([snapshot.step, len(snapshot.y_members), title])
live.LiveWindow.show_frame = counted
from nnfit.cli.main import main
code = main(["race", "--optimizer", "sgd,adam", "--steps", "20", "--no-wait", "-q"])
print(json.dumps({"code": code, "shown": shown}))
"""


def test_the_live_window_plays_the_race_as_it_trains(window_env, tmp_path):
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", LIVE],
        env=window_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["code"] == 0
    steps = [step for step, _, _ in out["shown"]]
    assert steps[0] == 0 and steps[-1] == 20 and steps == sorted(steps)
    assert all(lines == 2 for _, lines, _ in out["shown"])
    assert out["shown"][0][2] == "nnfit race: demo"
    assert list(tmp_path.iterdir()) == []  # shown live: no files unless asked

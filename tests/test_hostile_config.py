"""Hostile settings: wrong types and shapes, presets given twice, sizes beyond memory, long runs.

Each bad value gets one line on stderr and exit status 2 from the CLI, or a UsageError from the
API, before anything is allocated; a long run keeps at most MAX_FRAMES snapshots.
"""

from __future__ import annotations

import copy
import os
import tomllib

import numpy as np
import pytest

import nnfit
import nnfit.memory
from nnfit.cli import main
from nnfit.core.history import Snapshot
from nnfit.core.model import MLP, ModelConfig
from nnfit.core.recorder import MAX_FRAMES, keep_best, keep_frame
from nnfit.core.traindata import prepare
from nnfit.core.training import TrainConfig, train
from nnfit.core.trainstate import Control
from nnfit.data.synthetic import DataConfig
from nnfit.runs.config import build_config, read_config


def one_error_line(capsys) -> str:
    """The CLI's single stderr line, without its ``nnfit: error:`` prefix."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nnfit: error: "), err
    assert "Traceback" not in err and "\x1b" not in err
    return err[len("nnfit: error: ") :]


def fit_file(tmp_path, capsys, text: str, *flags: str) -> tuple[int, str]:
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    status = main(["fit", str(path), "--no-window", "-q", *flags])
    return status, one_error_line(capsys) if status else ""


# ----- wrong types and shapes, from a TOML file -----


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "[data]\ndomain = [1, 2, 3]\n",
            "[data] domain (--domain) must be two numbers LO,HI, got [1, 2, 3]",
        ),
        ('[data]\ndomain = "a"\n', "[data] domain (--domain) must be two numbers LO,HI, got 'a'"),
        ("[data]\ndomain = [1, inf]\n", "[data] domain (--domain) must be two finite numbers"),
        ("[data]\nx = 1\n", "[data] x (--x) must be column names or 1-based numbers as text"),
        (
            "[train]\nseed = 100000000000000000000000\n",
            "seed (--seed) must be a whole number from 0 to 2**63-1",
        ),
        ("[train]\nseed = -1\n", "from 0 to 2**63-1 (9223372036854775807), got -1"),
        (
            '[data]\ndrop_missing = "false"\n',
            "[data] drop_missing (--drop-missing) must be true or false, got 'false'",
        ),
        (
            '[model]\nscale = "false"\n',
            "[model] scale (--scale) must be true or false, got 'false'",
        ),
        ("[model]\nscale = 0\n", "[model] scale (--scale) must be true or false, got 0"),
        (
            '[model]\nhidden = "abc"\n',
            "[model] hidden (--hidden) must be whole numbers like 10 or 32,32, got 'abc'",
        ),
        ("[model]\nhidden = [[1]]\n", "[model] hidden (--hidden) must be whole numbers"),
        (
            "[model]\nhidden = [0]\n",
            "[model] hidden (--hidden) widths must be between 1 and 100000",
        ),
        (
            "[model]\nmembers = true\n",
            "[model] members (--members) must be a whole number or auto, got True",
        ),
        ('[train]\nlr = "0.1"\n', "[train] lr (--lr) must be a number, got '0.1'"),
        ("[train]\nlr = 1e400\n", "[train] lr (--lr) must be a finite number above 0, got inf"),
        ("[data]\npoints = 1.5\n", "[data] points (--points) must be a whole number, got 1.5"),
        (
            "[data]\npoints = 1\n",
            "[data] points (--points) must be a whole number of at least 2, got 1",
        ),
        (
            "[train]\nsteps = {a = 1}\n",
            "[train] steps (--steps) must be a whole number, got {'a': 1}",
        ),
        (
            "[data.domain]\nlo = 1\n",
            "[data] domain (--domain) must be two numbers LO,HI, got {'lo': 1}",
        ),
        ("[train]\nbatch_size = 1e3\n", "[train] batch_size (--batch-size) must be a whole number"),
        ("[train]\noptimizer = 3\n", "[train] optimizer (--optimizer) must be text, got 3"),
        ("[data]\nfile = 7\n", "[data] file must be text, got 7"),
        ("seed = 3\n", "'seed' belongs in the [train] table"),
        ('[train]\n"\\u001b[2J" = 1\n', "unknown key '\\x1b[2J' in [train]"),
    ],
)
def test_wrong_types_in_a_file_get_one_line_naming_the_key(tmp_path, capsys, text, expected):
    status, line = fit_file(tmp_path, capsys, text)
    assert status == 2
    assert line.startswith(f"{tmp_path / 'run.toml'}: ")
    assert expected in line


def test_the_same_value_as_a_flag_is_worded_by_flag(tmp_path, capsys):
    status, line = fit_file(tmp_path, capsys, "[train]\nsteps = 3\n", "--seed", "1" + "0" * 23)
    assert status == 2
    assert line.startswith("--seed must be a whole number from 0 to 2**63-1 (9223372036854775807)")


def test_a_flag_overrides_a_bad_value_in_the_file(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[train]\nlr = "fast"\n')
    config = build_config(base=read_config(path), source=str(path), train={"lr": 0.3})
    assert config.train.lr == 0.3


def test_deeply_nested_toml_is_one_line(tmp_path, capsys):
    for text in (
        "a = " + "[" * 50_000 + "]" * 50_000 + "\n",
        "a = " + "{b = " * 50_000 + "1" + "}" * 50_000,
    ):
        status, line = fit_file(tmp_path, capsys, text)
        assert status == 2 and line.endswith("not valid TOML (nested too deeply)\n")


def test_a_fifo_or_a_huge_file_is_refused_without_reading_it(tmp_path, capsys):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    assert main(["fit", str(fifo), "--no-window"]) == 2  # returns: never waits for a writer
    assert "is not a regular file" in one_error_line(capsys)
    status, line = fit_file(tmp_path, capsys, "# " + "x" * 2_000_000 + "\n")
    assert status == 2 and "is over 1.0 MB" in line


# ----- presets -----


def test_the_preset_flag_wins_over_the_files_preset(tmp_path, capsys):
    text = 'preset = "data"\n[data]\nfunction = "sin(x)"\n[train]\nsteps = 10\n'
    (tmp_path / "run.toml").write_text(text)
    saved = tmp_path / "saved.toml"
    flags = ["--preset", "morvan-2018", "--no-window", "-q", "--save-config", str(saved)]
    status = main(["fit", str(tmp_path / "run.toml"), *flags])
    assert status == 0, capsys.readouterr().err
    settings = tomllib.loads(saved.read_text())
    assert settings["preset"] == "morvan-2018"
    assert settings["train"]["lr"] == 0.2 and settings["train"]["steps"] == 10  # flag, file
    assert settings["model"]["hidden"] == [10]  # the lesson's, not the data preset's 32,32


def test_the_files_preset_applies_without_a_flag(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('preset = "morvan-2018"\n[train]\nsteps = 10\n')
    tables = read_config(path)
    config = build_config(tables.pop("__preset__"), base=tables, source=str(path))
    assert (config.train.lr, config.train.steps) == (0.2, 10)
    assert build_config("morvan-2017", base=read_config(path)).train.lr == 0.5  # flag wins


@pytest.mark.parametrize("preset", ['"nope"', "3", "[1]"])
def test_an_unknown_preset_in_the_file_is_one_line(tmp_path, capsys, preset):
    status, line = fit_file(tmp_path, capsys, f"preset = {preset}\n")
    assert status == 2
    presets = "morvan-2017, morvan-2018, morvan-optimizers, data"
    assert f"run.toml: preset must be one of {presets}, got" in line


# ----- the same from the Python API -----


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: DataConfig(domain=(1, 2, 3)), "domain must be two numbers LO,HI, got (1, 2, 3)"),
        (lambda: DataConfig(domain="a"), "domain must be two numbers LO,HI"),
        (lambda: DataConfig(x=1), "x must be column names"),
        (lambda: DataConfig(drop_missing="false"), "drop_missing must be true or false"),
        (lambda: DataConfig(points=1.5), "points must be a whole number, got 1.5"),
        (lambda: DataConfig(noise_level="0.1"), "noise_level must be a number"),
        (lambda: ModelConfig(hidden="abc"), "hidden must be whole numbers like 10 or 32,32"),
        (lambda: ModelConfig(scale="false"), "scale must be true or false, got 'false'"),
        (lambda: ModelConfig(hidden=(10,) * 101), "hidden must have at most 100 layers"),
        (lambda: TrainConfig(lr="0.1"), "lr must be a number, got '0.1'"),
        (lambda: TrainConfig(seed=10**23), "seed must be a whole number from 0 to 2**63-1"),
        (lambda: TrainConfig(steps=True), "steps must be a whole number, got True"),
        (lambda: TrainConfig(every={"a": 1}), "every must be a whole number"),
        (lambda: TrainConfig(steps=2**63), "steps must be at most 9223372036854775807"),
    ],
)
def test_configs_check_types_from_the_api(make, expected):
    with pytest.raises(nnfit.UsageError) as error:
        make()
    assert str(error.value).startswith(expected) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    "settings, name",
    [
        ({"scale": "false"}, "scale"),
        ({"hidden": "abc"}, "hidden"),
        ({"lr": "0.1"}, "lr"),
        ({"seed": 10**23}, "seed"),
        ({"members": 2.5}, "members"),
    ],
)
def test_regressor_settings_are_checked_when_fitting(settings, name):
    with pytest.raises(nnfit.UsageError, match=f"^{name} must be"):
        nnfit.fit([0.0, 1.0, 2.0], [0.0, 1.0, 4.0], steps=2, **settings)


def test_numpy_scalars_and_lists_are_normalised():
    train_config = TrainConfig(steps=np.int64(5), lr=np.float32(0.5), seed=np.uint8(3))
    assert type(train_config.steps) is int and type(train_config.lr) is float
    assert ModelConfig(hidden=[np.int64(4), 3], scale=np.True_) == ModelConfig(
        hidden=(4, 3), scale=True
    )
    assert DataConfig(domain=[-2, 2]).domain == (-2, 2)
    assert hash(DataConfig(domain=[-2, 2]))  # still frozen and hashable


# ----- refuse before allocating -----


def test_a_network_beyond_any_machine_is_refused_before_it_is_built(capsys):
    status = main(["demo", "--hidden", "100000,100000", "--members", "100", "--no-window", "-q"])
    assert status == 2
    line = one_error_line(capsys)
    assert line.startswith(
        "--hidden 100000,100000 with --members 100 (1,000,040,000,100 parameters"
    )
    assert "of memory" in line and "use narrower --hidden or fewer --members" in line
    with pytest.raises(nnfit.UsageError, match="would need about"):
        nnfit.fit([0.0, 1.0, 2.0], [0.0, 1.0, 4.0], hidden=(100000, 100000), members=100)
    with pytest.raises(nnfit.UsageError, match="would need about"):
        MLP(1, (100000,) * 3, 1, members=100)
    with pytest.raises(nnfit.UsageError, match=r"10,000,000,021 parameters for 1000000000 input"):
        MLP(10**9, 10, 1)  # a forged run.json's n_in


def test_a_moderate_network_is_refused_when_memory_is_short(monkeypatch):
    monkeypatch.setattr(nnfit.memory, "available_bytes", lambda: 100_000_000)  # 100 MB free
    MLP(1, (100,), 1)  # 24 kB: fine
    with pytest.raises(nnfit.UsageError) as error:
        MLP(1, (2000, 2000), 1)  # 4 million parameters, about 96 MB to train
    assert str(error.value).startswith("hidden 2000,2000 (4,008,001 parameters")
    assert "more than the 100 MB this process has free" in str(error.value)
    x = np.linspace(-1, 1, 8000)
    with pytest.raises(nnfit.UsageError, match=r"8,000 rows at once\) would need about 96"):
        nnfit.fit(x, x, hidden=(500,), members=1, steps=1)  # small weights, big activations


def test_a_history_too_big_for_memory_is_refused_before_training(monkeypatch):
    monkeypatch.setattr(nnfit.memory, "available_bytes", lambda: 100_000_000)
    x, y = nnfit.make_data(seed=0)
    grid = np.linspace(-1, 1, 100_000)
    with pytest.raises(nnfit.UsageError, match="a history of 1,000 frames of 100,000 points"):
        train(MLP(1, 10, 1, seed=0), prepare(x, y, x_grid=grid), TrainConfig(steps=10**6, every=1))


# ----- long runs keep a bounded history -----


class Count(nnfit.Callback):
    def __init__(self) -> None:
        self.steps: list[int] = []

    def on_snapshot(self, snapshot) -> None:
        self.steps.append(snapshot.step)


def test_a_long_run_keeps_at_most_max_frames_evenly_spaced():
    x, y = nnfit.make_data(seed=0)
    seen = Count()
    history = train(
        MLP(1, 10, 1, seed=0), (x, y), TrainConfig(steps=5000, every=1), callbacks=[seen]
    )
    assert seen.steps == [*range(5000), 5000]  # subscribers see every snapshot
    steps = history.steps
    assert len(steps) <= MAX_FRAMES
    assert steps[0] == 0 and steps[-1] == 5000 and history.final.final
    gaps = np.diff(steps[:-1])
    assert len(set(gaps)) == 1 and gaps[0] > 1  # thinned, evenly


def test_the_lesson_keeps_every_snapshot():
    x, y = nnfit.make_data(seed=0)
    history = train(MLP(1, 10, 1, seed=0), (x, y))
    assert history.steps.tolist() == [*range(0, 100, 5), 100]


def test_thinning_keeps_the_restored_step_and_resumes_exactly():
    x, y = nnfit.make_data(seed=0)
    x_val, y_val = nnfit.make_data(seed=1)
    config = TrainConfig(steps=2600, every=1, patience=10**6, restore="1se")
    saved = []

    def run(resume=None):
        return train(
            MLP(1, 10, 1, seed=0),
            prepare(x, y, x_val=x_val, y_val=y_val),
            config,
            control=Control(
                resume=resume,
                checkpoint=lambda state: saved.append(copy.deepcopy(state)),
                checkpoint_every=1700,  # after the first thinnings
            ),
        )

    whole = run()
    assert len(whole.snapshots) <= MAX_FRAMES
    assert whole.best_step in whole.steps[:-1].tolist()  # its snapshot is kept
    resumed = run(resume=saved[0])
    assert resumed.steps.tolist() == whole.steps.tolist()
    assert resumed.losses.tolist() == whole.losses.tolist()
    assert [s.val_loss for s in resumed.snapshots] == [s.val_loss for s in whole.snapshots]


def test_thinning_is_bounded_and_the_restored_step_stands_in_when_dropped():
    kept: list[Snapshot] = []
    y_pred = np.zeros((1, 1))
    for step in range(0, 300_000, 3):
        kept = keep_frame(kept, Snapshot(step=step, loss=1.0, y_pred=y_pred), every=3)
        assert len(kept) <= MAX_FRAMES - 2
    kept = keep_frame(kept, Snapshot(step=12_345, loss=0.5, y_pred=y_pred, final=True), every=3)
    steps = [s.step for s in kept]
    assert 12_345 not in steps[:-1]
    kept = keep_best(kept, 12_345)
    steps = [s.step for s in kept]
    assert len(kept) <= MAX_FRAMES and steps[:-1] == sorted(steps[:-1]) and steps[0] == 0
    (copy_,) = [s for s in kept[:-1] if s.step == 12_345]
    assert not copy_.final and copy_.loss == 0.5 and kept[-1].final

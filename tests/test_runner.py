"""The runner's Outputs (runs/runner.py): every output is checked when Outputs is made.

The same checks through the CLI's flags are in test_cli.py and test_hostile_outputs.py.
"""

import os
import re
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

import nnfit
from nnfit.errors import UsageError


def test_defaults_need_no_files():
    outputs = nnfit.Outputs()
    assert outputs.out is None and outputs.fps == 10.0 and not outputs.quiet


def test_outputs_are_frozen():
    with pytest.raises(FrozenInstanceError):
        nnfit.Outputs().quiet = True


@pytest.mark.parametrize("fps", [0.1, 120])
def test_fps_bounds_are_allowed(fps):
    assert nnfit.Outputs(fps=fps).fps == fps


@pytest.mark.parametrize("fps", [0.09, 121])
def test_fps_out_of_bounds_is_refused(fps):
    with pytest.raises(UsageError, match=r"^fps must be between 0\.1 and 120"):
        nnfit.Outputs(fps=fps)


@pytest.mark.parametrize(
    "field, name, allowed",
    [
        ("save", "fit.avi", ".gif or .mp4"),
        ("plot", "fit.jpg", ".png or .svg or .pdf"),
        ("save_config", "run.yaml", ".toml"),
    ],
)
def test_an_unsupported_file_type_names_the_allowed_ones(tmp_path, field, name, allowed):
    with pytest.raises(UsageError, match=re.escape(f"unsupported file type; use {allowed}")):
        nnfit.Outputs(**{field: tmp_path / name})


def test_file_types_are_matched_whatever_their_case(tmp_path):
    outputs = nnfit.Outputs(save=tmp_path / "FIT.GIF", plot=tmp_path / "fit.Png")
    assert outputs.save.name == "FIT.GIF"


def test_an_existing_output_needs_overwrite(tmp_path):
    (tmp_path / "fit.png").write_bytes(b"")
    with pytest.raises(UsageError, match="already exists"):
        nnfit.Outputs(plot=tmp_path / "fit.png")


def test_two_outputs_on_one_file_are_refused(tmp_path):
    with pytest.raises(UsageError, match="--plot and --log name the same file"):
        nnfit.Outputs(plot=tmp_path / "a.png", log=tmp_path / "a.png")


def test_a_log_folder_on_the_run_folder_is_refused(tmp_path):
    with pytest.raises(UsageError, match=r"--tensorboard .* is inside --out"):
        nnfit.Outputs(out=tmp_path / "r", tensorboard=tmp_path / "r")


def test_checkpoints_need_a_run_folder(tmp_path):
    with pytest.raises(UsageError, match="--checkpoint-every needs --out"):
        nnfit.Outputs(checkpoint_every=10)
    assert nnfit.Outputs(checkpoint_every=10, out=tmp_path / "r").checkpoint_every == 10


def test_checking_writes_nothing(tmp_path):
    nnfit.Outputs(
        out=tmp_path / "runs" / "r",
        plot=tmp_path / "fit.png",
        log=tmp_path / "t.jsonl",
        tensorboard=tmp_path / "tb",
        save_config=tmp_path / "run.toml",
    )
    assert os.listdir(tmp_path) == []


def test_the_current_folder_is_never_a_run_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="current folder"):
        nnfit.Outputs(out=Path("."))


@pytest.mark.parametrize(
    ("data", "name", "stem"),
    [
        ({"example": "pressure"}, "pressure", "pressure-fit"),
        ({"file": "dir/my data.v2.csv"}, "my data.v2.csv", "my_data-fit"),
        ({"file": "-"}, "stdin", "stdin-fit"),
        ({}, "demo", "nnfit-demo"),
    ],
)
def test_runs_are_named_after_their_data(data, name, stem):
    from dataclasses import replace

    from nnfit.runs.config import RunConfig, run_name
    from nnfit.runs.runner import output_stem

    config = RunConfig()
    config = replace(config, data=replace(config.data, **data))
    assert run_name(config) == name and output_stem(config) == stem

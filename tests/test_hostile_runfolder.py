"""Hostile run folders: a run folder is a closed world, checked before anything is built.

One small real run (and one paused run) is saved once per module; each test tampers with a
copy, re-hashing what it changes so the deeper checks are reached, and expects exit status 2
with one printable line on stderr (or one DataError line from ``nnfit.load``): never a
traceback, a hang, an escape sequence or an allocation sized by a forged number.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from itertools import pairwise

import numpy as np
import pytest
import torch
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes

import nnfit
from nnfit.cli import main
from nnfit.core.callbacks import Callback
from nnfit.core.history import History
from nnfit.core.model import MLP
from nnfit.core.model_config import MAX_MEMBERS
from nnfit.core.trainstate import Control
from nnfit.regressor import Regressor
from nnfit.runs.runfolder import load_state, save_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A real run folder written by ``nnfit fit`` (a tanh ensemble of 20 members)."""
    folder = tmp_path_factory.mktemp("hostile") / "run"
    argv = ["fit", "--function", "sin", "--steps", "30", "--every", "10", "--hidden", "4"]
    assert main([*argv, "--no-window", "-q", "--out", str(folder)]) == 0
    return folder


class StopAt(Callback):
    def __init__(self, step, stop):
        self.step, self.stop = step, stop

    def on_snapshot(self, snapshot):
        if snapshot.step == self.step and not snapshot.final:
            self.stop.set()


@pytest.fixture(scope="module")
def paused(tmp_path_factory):
    """A run interrupted at step 21 (Adam, cosine, minibatches), saved with its state."""
    folder = tmp_path_factory.mktemp("hostile") / "paused"
    x = np.linspace(-1, 1, 40)
    settings = {"hidden": (4,), "steps": 60, "every": 10, "batch_size": 16, "seed": 0}
    stop, states = threading.Event(), []
    regressor = Regressor(**settings).fit(
        x,
        np.sin(3 * x),
        callbacks=[StopAt(20, stop)],
        control=Control(stop=stop, checkpoint=states.append),
    )
    save_run(
        folder,
        regressor,
        history=regressor.history_,
        settings={"preset": "data", "model": {"hidden": [4]}, "train": {"steps": 60}},
        data={"source": "test", "sha256": "0", "rows": 40},
        status="interrupted",
        state=states[-1],
        picture=False,
    )
    return folder


def tampered(source, tmp_path, edit=None, files=None):
    """A copy of ``source`` with run.json edited by ``edit(info)`` and ``files`` replaced
    ({name: bytes}); replaced files are re-hashed so that the deeper checks are reached."""
    folder = tmp_path / source.name
    shutil.copytree(source, folder, symlinks=True)
    info = json.loads((folder / "run.json").read_text())
    for name, data in (files or {}).items():
        (folder / name).write_bytes(data)
        info["files"][name] = hashlib.sha256(data).hexdigest()
    if edit is not None:
        edit(info)
    (folder / "run.json").write_text(json.dumps(info))
    return folder


COMMANDS = {
    "predict": lambda folder, tmp: ["predict", str(folder), "--x", "0.5"],
    "show": lambda folder, tmp: ["show", str(folder), "--no-window"],
    "export": lambda folder, tmp: ["export", str(folder), "--python", str(tmp / "m.py")],
}


def refused(capsys, folder, command="predict"):
    """Run a command on ``folder``; it must exit 2 with one printable line. Returns the line."""
    code = main(COMMANDS[command](folder, folder.parent))
    _, err = capsys.readouterr()
    lines = err.splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("nnfit: error: "), err
    assert lines[0].isprintable(), repr(lines[0])
    return lines[0]


def load_refused(folder):
    """``nnfit.load`` must raise one DataError line."""
    with pytest.raises(nnfit.DataError) as error:
        nnfit.load(folder)
    message = str(error.value)
    assert "\n" not in message and message.isprintable(), repr(message)
    return message


@contextmanager
def no_hang(seconds=20):
    """Fail instead of hanging (a FIFO opened for reading blocks until a writer comes)."""

    def alarm(*_):
        raise TimeoutError("hung")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def weights(folder):
    return load_bytes((folder / "model.safetensors").read_bytes())


def layers(n_in, hidden, n_out, activation="tanh"):
    widths = [n_in, *hidden, n_out]
    out = []
    for a, b in pairwise(widths):
        out += [{"type": "linear", "in": a, "out": b}, {"type": "activation", "name": activation}]
    return out[:-1]


# --- the intact folders load -------------------------------------------------------------


def test_the_real_run_loads_and_predicts(capsys, run, tmp_path):
    for command in COMMANDS:
        assert main(COMMANDS[command](run, tmp_path)) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert len(nnfit.load(run).history_.snapshots) > 0


def test_the_run_folder_itself_may_be_a_symlink(capsys, run, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(run, target_is_directory=True)
    assert main(["predict", str(link), "--x", "0.5"]) == 0
    capsys.readouterr()


def test_the_paused_state_loads(paused):
    state = load_state(paused)
    assert state.step == 21 and state.optimizer["param_groups"][0]["betas"] == [0.9, 0.999]


# --- a closed world: known names, regular files, bounded sizes, every hash -----------------


@pytest.mark.parametrize(
    "name",
    ["../outside.txt", "/etc/passwd", "../../../etc/passwd", "sub/model.safetensors", "run.json"],
)
def test_files_outside_the_closed_list_are_refused_and_never_opened(
    capsys, run, tmp_path, monkeypatch, name
):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")

    def edit(info):
        info["files"][name] = hashlib.sha256(b"secret").hexdigest()

    folder = tampered(run, tmp_path, edit)
    touched = []

    def spy(real):
        def call(path, *args, **kwargs):
            touched.append(str(path))
            return real(path, *args, **kwargs)

        return call

    for module, function in ((os, "open"), (os, "stat"), (os, "lstat"), (builtins, "open")):
        monkeypatch.setattr(module, function, spy(getattr(module, function)))
    line = refused(capsys, folder)
    monkeypatch.undo()
    assert "does not hold" in line
    forbidden = ("outside.txt", "passwd", "sub/model.safetensors")
    assert not [p for p in touched if p.endswith(forbidden)]


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda info: info.pop("files"), "no table of files"),
        (lambda info: info.update(files=["model.safetensors"]), "no table of files"),
        (lambda info: info["files"].pop("model.safetensors"), "does not list model"),
        (lambda info: info["files"].update({"history.json": "abc"}), "64 hex digits"),
        (lambda info: info["files"].update({"history.json": "0" * 64}), "does not match"),
        (lambda info: info["files"].update({"fit.gif": "0" * 64}), "is missing"),
        (lambda info: info["files"].update({"\x1b[2J": "0" * 64}), "does not hold"),
    ],
)
def test_the_files_table_is_required_and_every_hash_checked(capsys, run, tmp_path, edit, match):
    assert match in refused(capsys, tampered(run, tmp_path, edit))


def forge_member(key, value):
    """An edit of run.json that sets member 1's ``key`` in member_metrics to ``value``."""
    return lambda info: info["member_metrics"][1].update({key: value})


@pytest.mark.parametrize(
    "edit",
    [
        lambda info: info.update(member_metrics="all good"),
        lambda info: info["member_metrics"].pop(),  # a member missing
        forge_member("member", 7),
        forge_member("rmse", -1.0),
        forge_member("rmse", "0.5"),
        forge_member("stopped", None),
        forge_member("diverged_at", True),
        forge_member("rows", 10**30),
        forge_member("note", "\x1b[2J"),
    ],
)
def test_forged_member_metrics_are_refused_in_one_line(capsys, run, tmp_path, edit):
    line = refused(capsys, tampered(run, tmp_path, edit), "show")
    assert "member_metrics must list the 20 members" in line


def test_a_symlinked_file_is_refused_even_with_the_right_content(capsys, run, tmp_path):
    folder = tampered(run, tmp_path)
    copy = tmp_path / "elsewhere.safetensors"
    shutil.copyfile(folder / "model.safetensors", copy)
    (folder / "model.safetensors").unlink()
    (folder / "model.safetensors").symlink_to(copy)
    assert "symbolic link" in refused(capsys, folder)


@pytest.mark.parametrize("name", ["run.json", "history.json", "model.safetensors"])
def test_a_fifo_is_refused_without_hanging(capsys, run, tmp_path, name):
    folder = tampered(run, tmp_path)
    (folder / name).unlink()
    os.mkfifo(folder / name)
    with no_hang():
        assert "FIFO" in refused(capsys, folder, "show")


@pytest.mark.parametrize("name", ["run.json", "model.safetensors"])
def test_a_folder_in_place_of_a_file_is_refused(capsys, run, tmp_path, name):
    folder = tampered(run, tmp_path)
    (folder / name).unlink()
    (folder / name).mkdir()
    assert "a folder" in refused(capsys, folder)


LIMITED = """
import resource, sys
import safetensors.torch, torch
import nnfit
from nnfit import memory
from nnfit import regressor as estimator
from nnfit.core import diagnostics, history, model
from nnfit.runs import config, runfolder

# this process may map 2 GiB more than it has now: a regression fails, it cannot eat the machine
mapped = memory._proc_status()["VmSize"]
resource.setrlimit(resource.RLIMIT_AS, (mapped + 2**31, resource.RLIM_INFINITY))
for folder in sys.argv[1:]:
    try:
        nnfit.load(folder)
        print("loaded")
    except nnfit.DataError as error:
        print("refused:", str(error))
"""


def test_under_a_memory_limit_forged_sizes_and_devices_are_refused(run, tmp_path):
    device = tampered(run, tmp_path / "device")
    (device / "model.safetensors").unlink()
    (device / "model.safetensors").symlink_to("/dev/zero")
    forged = tampered(run, tmp_path / "forged", forge(hidden=(100_000, 100_000), members=1))
    folders = [str(device), str(forged), str(run)]
    result = subprocess.run(
        [sys.executable, "-c", LIMITED, *folders], capture_output=True, text=True, timeout=120
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and len(lines) == 3, result.stderr[-2000:]
    assert "symbolic link" in lines[0]
    assert "would need about" in lines[1] and "of memory" in lines[1]
    assert lines[2] == "loaded"


@pytest.mark.parametrize(
    "name, size",
    [("run.json", 17 * 2**20), ("history.json", 300 * 2**20), ("model.safetensors", 10**6)],
)
def test_sizes_are_bounded_before_reading(capsys, run, tmp_path, name, size):
    folder = tampered(run, tmp_path)
    with open(folder / name, "r+b") as f:
        f.truncate(size)  # sparse: instant, and reading it would be the bug
    assert "more than" in refused(capsys, folder)


def test_weights_smaller_than_the_architecture_are_refused(capsys, run, tmp_path):
    folder = tampered(run, tmp_path)
    with open(folder / "model.safetensors", "r+b") as f:
        f.truncate(100)
    assert "too small" in refused(capsys, folder)


def test_an_unlisted_file_is_never_read(run, tmp_path):
    folder = tampered(run, tmp_path, lambda info: info["files"].pop("history.json"))
    (folder / "history.json").unlink()
    os.mkfifo(folder / "history.json")
    with no_hang():
        assert not hasattr(nnfit.load(folder), "history_")


# --- JSON nested too deeply -----------------------------------------------------------------

DEEP = ("[" * 100_000 + "]" * 100_000).encode()


def test_deeply_nested_run_json_is_one_line(capsys, run, tmp_path):
    folder = tampered(run, tmp_path)
    (folder / "run.json").write_bytes(DEEP)
    assert "run.json: damaged (nested too deeply)" in refused(capsys, folder)


def test_deeply_nested_history_is_one_line(capsys, run, tmp_path):
    folder = tampered(run, tmp_path, files={"history.json": DEEP})
    assert "history.json: damaged (nested too deeply)" in refused(capsys, folder, "show")
    with pytest.raises(nnfit.DataError, match="nested too deeply"):
        History.load(folder / "history.json")


def test_history_load_refuses_a_fifo_and_a_huge_file(tmp_path):
    os.mkfifo(tmp_path / "h.json")
    with no_hang(), pytest.raises(nnfit.DataError, match="FIFO"):
        History.load(tmp_path / "h.json")
    with open(tmp_path / "big.json", "wb") as f:
        f.truncate(300 * 2**20)
    with pytest.raises(nnfit.DataError, match="more than"):
        History.load(tmp_path / "big.json")


# --- a forged architecture is refused before anything is allocated --------------------------


def forge(n_in=1, hidden=(4,), n_out=1, members=20):
    def edit(info):
        model = info["model"]
        model.update(n_in=n_in, hidden=list(hidden), n_out=n_out, members=members)
        model["layers"] = layers(n_in, hidden, n_out)
        info["data"]["x_names"] = [f"x{i}" for i in range(min(n_in, 10))]

    return edit


@pytest.mark.parametrize(
    "edit, match",
    [
        (forge(hidden=(100_000, 100_000)), "memory|too small"),
        (forge(hidden=(100_000, 100_000), members=1), "memory|too small"),
        (forge(n_in=10**9), "model.n_in must be a whole number from 1"),
        (forge(members=10**9), f"members must be 1 to {MAX_MEMBERS}"),
        (forge(members=10**6), "memory|too small|shape"),
        (forge(hidden=[100_000] * 5000), "1 to 1000 layer widths"),
        (forge(hidden=()), "1 to 1000 layer widths"),
        (forge(hidden=(0,)), "model.hidden must be a whole number"),
        (forge(hidden=(1.5,)), "model.hidden must be a whole number"),
        (lambda info: info["model"].update(hidden="abc"), "layer widths"),
        (lambda info: info["model"].update(n_in="1"), "model.n_in"),
        (lambda info: info["model"].update(layers=layers(1, (5,), 1)), "does not match"),
        (lambda info: info["model"].update(activation=[["relu"]]), "unknown activation"),
        (lambda info: info["model"].update(activation=["relu", "tanh"]), "2 names for 1 hidden"),
        (lambda info: info["model"]["layers"].__setitem__(1, {"type": "lambda"}), "layer type"),
        (lambda info: info.pop("model"), "no model architecture"),
    ],
)
def test_a_forged_architecture_is_refused_before_building(
    capsys, run, tmp_path, monkeypatch, edit, match
):
    def explode(*args, **kwargs):
        raise AssertionError("MLP built from a forged run.json")

    monkeypatch.setattr(MLP, "__init__", explode)
    assert re.search(match, refused(capsys, tampered(run, tmp_path, edit)))


# --- every section of run.json is checked ----------------------------------------------------


def section(name, value):
    return lambda info: info.update({name: value})


def within(name, key, value):
    return lambda info: info[name].update({key: value})


@pytest.mark.parametrize(
    "edit, match",
    [
        (section("settings", "fast"), "settings must be a table"),
        (lambda info: info.pop("settings"), "settings must be a table"),
        (within("settings", "train", ["lr", 0.1]), "settings: \\[train\\] must be a table"),
        (within("settings", "train", {"lr": "abc"}), "settings: .*lr"),
        (within("settings", "train", {"lr": {"x": 1}}), "settings: .*lr"),
        (within("settings", "train", {"learning_rate": 0.1}), "unknown key 'learning_rate'"),
        (within("settings", "evil", {}), "unknown section"),
        (within("settings", "preset", ["data"]), "preset must be a name"),
        (within("settings", "data", {"domain": [1, 2, 3]}), "settings: "),
        (section("data", ["x"]), "data must be a table"),
        (within("data", "x_names", ["a", "b"]), "data.x_names must list 1 name"),
        (within("data", "x_names", [7]), "data.x_names holds 7"),
        (within("data", "y_names", ["\x1b[2Jy"]), "printable"),
        (within("data", "y_ndim", 3), "y_ndim must be 1 or 2"),
        (within("data", "sha256", "xyz"), "sha256 must be hex"),
        (within("data", "source", 5), "data.source must be a text"),
        (within("data", "rows", "many"), "data.rows"),
        (within("data", "x_min", [0, 1]), "data.x_min must list 1 finite number"),
        (within("data", "x_max", ["9"]), "data.x_max must list 1 finite number"),
        (within("data", "x_max", [True]), "data.x_max must list 1 finite number"),
        (within("data", "x_min", None), "data.x_min must list 1 finite number"),
        (lambda info: info["data"].pop("x_max"), "data.x_max must list 1 finite number"),
        (within("data", "x_min", [1e308 * 10]), "data.x_min must list 1 finite number"),
        (within("data", "x_min", [99.0]), "x_min must not exceed data.x_max"),
        (section("metrics", [1, 2]), "metrics must be"),
        (section("metrics", {"train": {"rmse": "a", "mae": 1, "r2": 1}}), "metrics must be"),
        (section("metrics", {"train": [1, 2, 3]}), "metrics must be"),
        (section("metrics", {"\x1b[2J": {"rmse": 1, "mae": 1, "r2": 1}}), "metrics must be"),
        (section("diagnosis", "fine"), "diagnosis must be"),
        (within("diagnosis", "evil", "x"), "diagnosis must be"),
        (within("diagnosis", "message", 5), "diagnosis must be"),
        (within("diagnosis", "hints", [{"field": "lr"}]), "diagnosis hints must be"),
        (within("diagnosis", "hints", "lower lr"), "diagnosis hints must be"),
        (section("status", "\x1b]0;pwned\x07"), "status must be one of"),
        (section("step", "abc"), "step must be a whole number"),
        (section("seed", -1), "seed must be a whole number"),
        (section("versions", "1.0"), "versions must be"),
        (section("format_version", "1"), "format_version"),
        (section("format", 5), "not an nnfit run file"),
    ],
)
def test_tampered_sections_are_one_line(capsys, run, tmp_path, edit, match):
    line = refused(capsys, tampered(run, tmp_path, edit))
    assert re.search(match, line), line
    assert "\x1b" not in line and "\x07" not in line


@pytest.mark.parametrize("command", ["predict", "show", "export"])
def test_every_command_refuses_the_same_way(capsys, run, tmp_path, command):
    folder = tampered(run, tmp_path, section("diagnosis", {"kind": "ok"}))
    assert "diagnosis must be" in refused(capsys, folder, command)
    assert "diagnosis must be" in load_refused(folder)


# --- weights: float32 of exactly the model's shapes, a usable scaler -----------------------


def retype(dtype):
    def change(tensors):
        return {k: v.to(dtype) for k, v in tensors.items()}

    return change


def set_tensor(name, fill):
    def change(tensors):
        tensors[name] = fill(tensors[name].clone())
        return tensors

    return change


def nan_weight(t):
    t.view(-1)[0] = float("nan")
    return t


@pytest.mark.parametrize(
    "change, match",
    [
        (retype(torch.float64), "more than|float64"),
        (retype(torch.int32), "int32, not float32"),
        (retype(torch.float16), "too small|float16"),
        (set_tensor("layers.0.weight", lambda t: t.transpose(1, 2).contiguous()), "shape"),
        (set_tensor("y_scale", torch.zeros_like), "above 0"),
        (set_tensor("x_scale", lambda t: -t), "above 0"),
        (set_tensor("x_mean", lambda t: t + float("inf")), "x_mean must be finite"),
        (set_tensor("layers.0.weight", nan_weight), "non-finite"),
        (lambda tensors: {**tensors, "extra": torch.zeros(1)}, "unexpected: 'extra'"),
        (lambda tensors: {k: v for k, v in tensors.items() if k != "y_mean"}, "missing"),
    ],
)
def test_weights_of_another_dtype_shape_or_scale_are_refused(capsys, run, tmp_path, change, match):
    data = save_bytes(change(weights(run)))
    folder = tampered(run, tmp_path, files={"model.safetensors": data})
    assert re.search(match, refused(capsys, folder)), match
    assert re.search(match, load_refused(folder))


def test_garbage_weights_are_one_line(capsys, run, tmp_path):
    size = (run / "model.safetensors").stat().st_size
    folder = tampered(run, tmp_path, files={"model.safetensors": b"\xff" * size})
    assert "not a readable safetensors file" in refused(capsys, folder)


# --- history.json: shapes, numbers, a cap on snapshots ------------------------------------


def history_edit(change):
    def edit(run):
        data = json.loads((run / "history.json").read_text())
        change(data)
        return {"history.json": json.dumps(data).encode()}

    return edit


def snapshot(key, value):
    return lambda data: data["snapshots"][1].update({key: value})


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda d: d.update(x=[[v, v] for (v,) in d["x"]]), "x_grid must be n x 2"),
        (lambda d: d.update(y=d["y"][:-1]), "y must be"),
        (lambda d: d.update(x=[[str(v)] for (v,) in d["x"]]), "x must be a table of numbers"),
        (lambda d: d.update(x=[[1.0], [2.0, 3.0]]), "rows of equal length|table of numbers"),
        (lambda d: d.update(x={"a": 1}), "x must be a table of numbers"),
        (lambda d: d.update(x_names=["a", "b"]), "x_names must be a list of 1"),
        (lambda d: d.update(x_names=["\x1b[2J"]), "x_names must be printable"),
        (lambda d: d.update(stop_reason="evil"), "stop_reason must be one of"),
        (lambda d: d.update(settings={"train": [1]}), "settings must be"),
        (lambda d: d.update(snapshots="many"), "snapshots must be a list"),
        (lambda d: d.update(snapshots=[{}] * 100_001), "at most 100,000"),
        (snapshot("y_pred", [[0.0]]), r"snapshot 1: y_pred must be \d+ x 1, got 1 x 1"),
        (snapshot("step", -1), "snapshot 1: step must be a whole number"),
        (snapshot("loss", "low"), "snapshot 1: loss must be a number"),
        (snapshot("dead", "none"), "snapshot 1: dead must be a list"),
        (snapshot("final", "no"), "snapshot 1: final must be true or false"),
        (lambda d: d["snapshots"][1].pop("y_pred"), "snapshot 1: a snapshot must be"),
    ],
)
def test_a_damaged_history_is_one_line(capsys, run, tmp_path, change, match):
    folder = tampered(run, tmp_path, files=history_edit(change)(run))
    line = refused(capsys, folder, "show")
    assert "history.json" in line and re.search(match, line), line


def test_history_columns_must_match_the_model(capsys, run, tmp_path):
    def two_inputs(d):
        d["x"] = [[v, v] for (v,) in d["x"]]
        d["x_grid"] = [[v, v] for (v,) in d["x_grid"]]
        d["x_names"] = ["a", "b"]
        d["x_val"] = d["y_val"] = None

    folder = tampered(run, tmp_path, files=history_edit(two_inputs)(run))
    assert "2 input and 1 output column(s)" in refused(capsys, folder)


# --- show prints no escape sequences from a run folder ------------------------------------


def test_show_escapes_everything_it_prints(capsys, run, tmp_path):
    evil = "\x1b]0;pwned\x07\x1b[2J\r\n"

    def edit(info):
        info["data"]["source"] = f"data{evil}.csv"
        info["diagnosis"]["message"] = f"Good fit.{evil}"
        info["versions"] = {"nnfit": evil, "torch": evil, "python": evil}
        info["created"] = evil

    folder = tampered(run, tmp_path, edit)
    assert main(["show", str(folder), "--no-window"]) == 0
    out, err = capsys.readouterr()
    assert not err
    assert all(line.isprintable() for line in out.splitlines())
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert "\\x1b]0;pwned" in out and "data\\x1b" in out


# --- the paused state (fit --resume) --------------------------------------------------------


def state_edit(paused, text=None, tensors=None):
    """Replacement state files: state.json text changed by ``text``, tensors by ``tensors``."""
    files = {}
    if text is not None:
        files["state.json"] = text((paused / "state.json").read_text()).encode()
    if tensors is not None:
        loaded = load_bytes((paused / "state.safetensors").read_bytes())
        files["state.safetensors"] = save_bytes(tensors(loaded))
    return files


def swap_order(tensors):
    order = tensors[".batches.order"].clone()
    order[0] = order[1]
    tensors[".batches.order"] = order
    return tensors


def wrong_shape(tensors):
    tensors[".model.layers.0.weight"] = torch.zeros(1, 4)
    return tensors


def frozen_text(pairs):
    """state.json with the keeper's frozen members set to ``pairs``."""
    entry = json.dumps({"list": [{"list": pair} for pair in pairs]})
    return lambda text: text.replace(
        '[["str", "copy"], ', f'[["str", "frozen"], {entry}], [["str", "copy"], ', 1
    )


def lr_text(text):
    return re.sub(r'\["str", "lr"\], \{"float": "[^"]*"\}', '["str", "lr"], "fast"', text)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(text=lambda t: "[" * 100_000 + "]" * 100_000), "nested too deeply"),
        (dict(text=lambda t: t.replace(".model.layers.0.bias", "nowhere")), "not in the tensors"),
        (dict(text=lambda t: t.replace('{"float": "', '{"float": "x', 1)), "could not convert"),
        (dict(text=lambda t: json.dumps({"layout": {"code": 1}, "snapshots": []})), "unexpected"),
        (dict(text=lambda t: json.dumps({"layout": 1})), "layout and snapshots"),
        (dict(text=lambda t: '{"layout": 1, "snapshots": [' + "{}," * 100_000 + "{}]}"), "most"),
        (dict(text=lambda t: "[" * 40 + "]" * 40), "layout and snapshots"),
        (dict(text=lr_text), "param_groups: lr is 'fast'"),
        (dict(tensors=wrong_shape), "model: layers.0.weight has shape"),
        (dict(tensors=swap_order), "each row number once"),
        (dict(text=frozen_text([[10**6, 3]])), "keeper.frozen member must be a whole number"),
        (dict(text=frozen_text([[0, 3], [0, 4]])), "keeper.frozen lists member 0 twice"),
        (dict(text=frozen_text([["0", 3]])), "keeper.frozen member must be"),
        (dict(text=frozen_text([[k, 3] for k in range(20)])), "must leave a member"),
    ],
)
def test_a_damaged_paused_state_is_one_line(paused, tmp_path, change, match):
    folder = tampered(paused, tmp_path, files=state_edit(paused, **change))
    with pytest.raises(nnfit.DataError) as error:
        load_state(folder)
    message = str(error.value)
    assert "\n" not in message and message.isprintable()
    assert re.search(match, message), message


def test_deep_layout_is_refused_without_recursion(paused, tmp_path):
    deep = '{"list": [' * 200 + "1" + "]}" * 200
    text = json.dumps({"layout": "X", "snapshots": []}).replace('"X"', deep)
    folder = tampered(paused, tmp_path, files={"state.json": text.encode()})
    with pytest.raises(nnfit.DataError, match="nested more than 64 levels"):
        load_state(folder)


def test_an_unlisted_or_linked_state_is_refused(paused, tmp_path):
    folder = tampered(paused, tmp_path, lambda info: info["files"].pop("state.json"))
    with pytest.raises(nnfit.DataError, match=r"does not list state\.json"):
        load_state(folder)
    linked = tmp_path / "linked"
    shutil.copytree(paused, linked)
    copy = tmp_path / "state.copy"
    shutil.copyfile(linked / "state.safetensors", copy)
    (linked / "state.safetensors").unlink()
    (linked / "state.safetensors").symlink_to(copy)
    with pytest.raises(nnfit.DataError, match="symbolic link"):
        load_state(linked)


def test_resume_from_a_damaged_state_is_one_line_on_the_cli(capsys, paused, tmp_path):
    folder = tampered(paused, tmp_path, files=state_edit(paused, tensors=swap_order))
    code = main(["fit", "--resume", str(folder), "--no-window", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "each row number once" in err, err

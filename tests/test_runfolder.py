"""Run folders: save, load, integrity, atomic replacement, interrupt and exact resume."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import nnfit
from nnfit.core.callbacks import Callback
from nnfit.core.trainstate import Control
from nnfit.regressor import Regressor
from nnfit.runs.runfolder import load, load_state, read_run, save_run

SRC = Path(nnfit.__file__).parent


def fitted(seed=0, **settings):
    x = np.linspace(-2, 2, 60)
    y = np.sin(2 * x) + 0.1 * np.random.default_rng(seed).standard_normal(60)
    defaults = {"steps": 120, "every": 10, "hidden": (16,), "seed": seed}
    return Regressor(**{**defaults, **settings}).fit(x, y), x, y


def save(regressor, folder, **kwargs):
    return save_run(
        folder,
        regressor,
        history=regressor.history_,
        settings={"preset": "data", "model": {}, "train": {"seed": 0}},
        data={"source": "test", "sha256": "0", "rows": 60},
        **kwargs,
    )


def test_load_predicts_exactly_as_before(tmp_path):
    regressor, x, _ = fitted()
    folder = save(regressor, tmp_path / "run")
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["fit.png", "history.json", "metrics.jsonl", "model.safetensors", "run.json"]
    loaded = load(folder)
    np.testing.assert_array_equal(loaded.predict(x), regressor.predict(x))
    assert loaded.predict(x).shape == (60,)
    np.testing.assert_array_equal(loaded.history_.losses, regressor.history_.losses)
    info = read_run(folder)
    assert info["format"] == "nnfit.run/1" and info["versions"]["torch"] == torch.__version__
    assert info["model"]["layers"][1] == {"type": "activation", "name": "tanh"}


def test_a_loaded_models_repr_names_its_architecture_and_data(tmp_path):
    regressor, _, _ = fitted(hidden=(16, 8), members=3)
    loaded = load(save(regressor, tmp_path / "run"))
    text = repr(loaded)
    assert text.startswith("Regressor(") and "\n" not in text
    assert "hidden=(16, 8)" in text and "members=3" in text
    assert text.endswith(": 3 networks 1-16-8-1 (tanh) fitted on test (60 rows; x -> y)")


def test_public_load_is_the_same_function():
    assert nnfit.load is load


def test_no_bare_torch_load_and_no_pickle_anywhere_in_the_code():
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        for match in re.finditer(r"torch\.load\(([^)]*)\)", text):
            assert "weights_only=True" in match.group(1), f"bare torch.load in {path}"
        assert "import pickle" not in text and "pickle.load" not in text, path


def test_future_format_is_refused(tmp_path):
    regressor, _, _ = fitted()
    folder = save(regressor, tmp_path / "run")
    info = json.loads((folder / "run.json").read_text())
    info["format_version"], info["format"] = 2, "nnfit.run/2"
    (folder / "run.json").write_text(json.dumps(info))
    with pytest.raises(nnfit.DataError, match="upgrade nnfit"):
        load(folder)


@pytest.mark.parametrize(
    "damage", ["truncate", "tamper", "nonfinite", "unknown_layer", "missing", "not_json"]
)
def test_damaged_folders_are_refused_clearly(tmp_path, damage):
    regressor, _, _ = fitted()
    folder = save(regressor, tmp_path / "run")
    weights = folder / "model.safetensors"
    info_path = folder / "run.json"
    info = json.loads(info_path.read_text())
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:100])
        info["files"].pop("model.safetensors")  # hash aside, the reader itself must refuse it
    elif damage == "tamper":
        data = bytearray(weights.read_bytes())
        data[-3] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "nonfinite":
        from safetensors.torch import load as load_bytes
        from safetensors.torch import save as save_bytes

        tensors = load_bytes(weights.read_bytes())
        tensors["layers.0.weight"][0, 0] = float("nan")
        weights.write_bytes(save_bytes(tensors))
        info["files"].pop("model.safetensors")
    elif damage == "unknown_layer":
        info["model"]["layers"][1] = {"type": "lambda", "code": "__import__('os')"}
    elif damage == "missing":
        weights.unlink()
    if damage == "not_json":
        info_path.write_text("{not json")
    else:
        info_path.write_text(json.dumps(info))
    with pytest.raises(nnfit.DataError) as error:
        load(folder)
    assert "\n" not in str(error.value) and str(folder) in str(error.value)


SAVER = """
import sys
import numpy as np
from nnfit.regressor import Regressor
from nnfit.runs.runfolder import save_run
x = np.linspace(-1, 1, 30)
models = [Regressor(steps=5, every=5, hidden=(4,), seed=s, val=0).fit(x, x * (s + 1))
          for s in (0, 1)]
print("ready", flush=True)
i = 0
while True:
    m = models[i % 2]
    save_run(sys.argv[1], m, history=m.history_, settings={"train": {}}, picture=False,
             data={"source": "t", "sha256": "0", "rows": 30})
    i += 1
"""


def test_sigkill_during_saves_leaves_a_complete_old_or_new_run(tmp_path):
    folder = tmp_path / "run"
    x = np.linspace(-1, 1, 30)
    expected = [
        Regressor(steps=5, every=5, hidden=(4,), seed=s, val=0).fit(x, x * (s + 1)).predict(x)
        for s in (0, 1)
    ]
    rng = np.random.default_rng(0)
    for kill in range(8):
        process = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(folder)], stdout=subprocess.PIPE, text=True
        )
        assert process.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.0, 0.4)))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if not folder.exists() and not list(tmp_path.glob(".run.nnfit-old")):
            continue  # killed before the first save finished: nothing was there to keep
        predictions = load(folder).predict(x)
        assert any(np.array_equal(predictions, e) for e in expected), f"kill {kill}"


def stop_at(step, stop):
    class StopAt(Callback):
        def on_snapshot(self, snapshot):
            if snapshot.step == step and not snapshot.final:
                stop.set()

    return StopAt()


@pytest.mark.parametrize(
    "settings",
    [
        {"optimizer": "adam", "schedule": "cosine", "patience": 40},
        {"optimizer": "adam", "members": 1, "patience": 40, "batch_size": 16},
        {"optimizer": "sgd", "lr": 0.1, "batch_size": 16, "patience": None},
        {"optimizer": "rmsprop", "lr": 0.003, "batch_size": 7},
        {"optimizer": "momentum", "lr": 0.05, "schedule": "cosine"},
        {"optimizer": "adamw", "member_lr": tuple(np.geomspace(1e-3, 3e-2, 20))},
        {"optimizer": "lbfgs", "lr": 0.5},
    ],
)
def test_resume_gives_the_uninterrupted_result_bit_for_bit(tmp_path, settings):
    x = np.linspace(-2, 2, 80)
    y = np.sin(2 * x) + 0.1 * np.random.default_rng(0).standard_normal(80)
    base = {"steps": 150, "every": 10, "hidden": (16, 16), "seed": 4, **settings}
    whole = Regressor(**base).fit(x, y)

    stop = threading.Event()
    states = []
    part = Regressor(**base).fit(
        x, y, callbacks=[stop_at(70, stop)], control=Control(stop=stop, checkpoint=states.append)
    )
    assert part.history_.stop_reason == "interrupted" and states[-1].step == 71
    folder = save(part, tmp_path / "run", status="interrupted", state=states[-1])
    resumed = Regressor(**base).fit(x, y, control=Control(resume=load_state(folder)))

    np.testing.assert_array_equal(resumed.history_.losses, whole.history_.losses)
    np.testing.assert_array_equal(resumed.history_.steps, whole.history_.steps)
    np.testing.assert_array_equal(resumed.predict(x), whole.predict(x))


def test_finished_runs_cannot_be_resumed(tmp_path):
    regressor, _, _ = fitted()
    folder = save(regressor, tmp_path / "run")
    with pytest.raises(nnfit.UsageError, match="nothing to resume"):
        load_state(folder)


def cli(*args, cwd):
    return subprocess.Popen(
        [sys.executable, "-m", "nnfit", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_save_the_run_exit_130_and_resume_to_the_same_end(
    tmp_path, signal_number
):
    flags = [
        "fit",
        "--example",
        "cars",
        "--no-window",
        "--steps",
        "3000",
        "--every",
        "50",
        "--patience",
        "100000",
        "--hidden",
        "8",
        "--seed",
        "1",
    ]
    process = cli(*flags, "--out", "runs/r", cwd=tmp_path)
    while "step" not in process.stderr.readline():  # training has started
        pass
    process.send_signal(signal_number)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "resume with: nnfit fit --resume runs/r" in err
    info = read_run(tmp_path / "runs" / "r")
    assert info["status"] == "interrupted" and 0 < info["step"] < 3000

    resumed = cli("fit", "--resume", "runs/r", "--no-window", "-q", cwd=tmp_path)
    out_resumed, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    whole = cli(*flags, "-q", cwd=tmp_path)
    out_whole, _ = whole.communicate(timeout=300)
    final = [line for line in out_whole.splitlines() if line.startswith("final loss")]
    assert final and final[0] in out_resumed.splitlines()
    assert read_run(tmp_path / "runs" / "r")["status"] == "complete"


def test_one_activation_per_layer_round_trips_through_a_run_folder(tmp_path):
    from nnfit.core.history import History
    from nnfit.runs.saved import open_run

    regressor, x, _ = fitted(hidden=(12, 8), activation=("relu", "tanh"), members=2)
    folder = save(regressor, tmp_path / "run")
    model = read_run(folder)["model"]
    assert model["activation"] == ["relu", "tanh"]
    names = [layer["name"] for layer in model["layers"] if layer["type"] == "activation"]
    assert names == ["relu", "tanh"]
    loaded = load(folder)
    assert loaded.model_.activations == ("relu", "tanh")
    np.testing.assert_array_equal(loaded.predict(x), regressor.predict(x))
    assert repr(loaded).endswith("1-12-8-1 (relu, tanh) fitted on test (60 rows; x -> y)")
    np.testing.assert_allclose(open_run(folder).predict(x[:, None])[:, 0], regressor.predict(x))
    assert History.load(folder / "history.json").activation == ("relu", "tanh")


def test_a_folder_of_one_activation_keeps_the_one_name(tmp_path):
    """run.json as before per-layer activations: old readers read new single-name folders."""
    regressor, _, _ = fitted(hidden=(8, 8), activation="relu")
    model = read_run(save(regressor, tmp_path / "run"))["model"]
    assert model["activation"] == "relu"

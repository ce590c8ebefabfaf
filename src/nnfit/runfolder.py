"""Run folders: a trained model that outlives the process, saved and loaded without pickle.

A run folder holds ``run.json`` (format version, architecture from a closed list of names,
settings, seed, data source and hash, metrics, diagnosis, versions, and the SHA-256 of every
other file), ``model.safetensors`` (weights and scaler), ``history.json`` (replayable),
``metrics.jsonl``, ``fit.png`` and, for a paused run, ``state.json`` + ``state.safetensors``.
Folders are written whole and swapped into place atomically (``files.atomic_dir``).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DataError, UsageError

if TYPE_CHECKING:
    from .estimator import Regressor
    from .history import History
    from .model import MLP
    from .trainstate import TrainState

FORMAT = "nnfit.run/1"
FORMAT_VERSION = 1
LAYER_TYPES = ("linear", "activation")  # the closed list a run.json may name


def data_hash(x: np.ndarray, y: np.ndarray) -> str:
    """SHA-256 of the data's values, so a resumed run can check it has the same data."""
    digest = hashlib.sha256()
    for array in (x, y):
        array = np.ascontiguousarray(array)  # no copy for the arrays a run reads
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def architecture(model: MLP) -> dict[str, Any]:
    """The network as plain names and sizes: nothing callable, nothing importable."""
    from torch import nn

    from .model import Members

    layers = []
    for layer in model.layers:
        if isinstance(layer, (nn.Linear, Members)):
            layers.append({"type": "linear", "in": layer.in_features, "out": layer.out_features})
        else:
            layers.append({"type": "activation", "name": model.activation})
    return {
        "n_in": model.n_in,
        "n_out": model.n_out,
        "hidden": list(model.hidden),
        "activation": model.activation,
        "members": model.members,
        "layers": layers,
    }


def save_run(
    path: str | os.PathLike[str],
    regressor: Regressor,
    *,
    history: History,
    settings: dict[str, Any],
    data: dict[str, Any],
    status: str = "complete",
    state: TrainState | None = None,
    picture: bool = True,
    animation: Path | None = None,
) -> Path:
    """Write a complete run folder atomically (replacing ``path`` if it exists).

    Args:
        path: the run folder.
        regressor: the model (``regressor.model_`` and its learned attributes).
        history: the snapshots so far.
        settings: the RunConfig as a dict plus the preset.
        data: {"source", "sha256", "rows", ...} describing the data.
        status: "complete", "interrupted" or "checkpoint".
        state: the paused TrainState, for ``--resume``.
        picture: draw fit.png (skipped for periodic checkpoints, which must be quick).
        animation: an animation file to copy into the folder.
    """
    import shutil

    import torch
    from safetensors.torch import save as save_tensors

    from ._version import __version__
    from .files import atomic_dir
    from .logfile import snapshot_record

    target = Path(path)
    with atomic_dir(target) as folder:
        weights = {
            k: v.detach().cpu().contiguous() for k, v in regressor.model_.state_dict().items()
        }
        (folder / "model.safetensors").write_bytes(save_tensors(weights))
        history.save(folder / "history.json")
        lines = [json.dumps(snapshot_record(s)) for s in history.snapshots]
        (folder / "metrics.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        if state is not None:
            _write_state(folder, state)
        if picture and history.snapshots:
            from .plotting import plot

            plot(history, folder / "fit.png")
        if animation is not None and animation.exists():
            shutil.copyfile(animation, folder / f"fit{animation.suffix}")
        diagnosis = getattr(regressor, "diagnosis_", None)
        info = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "status": status,
            "step": history.final.step if history.snapshots else 0,
            "model": architecture(regressor.model_),
            "settings": settings,
            "seed": settings.get("train", {}).get("seed", 0),
            "data": {
                **data,
                "x_names": list(regressor.x_names_),
                "y_names": list(regressor.y_names_),
                "y_ndim": regressor.y_ndim_,
            },
            "metrics": getattr(regressor, "metrics_", None),
            "diagnosis": None if diagnosis is None else asdict(diagnosis),
            "versions": {
                "nnfit": __version__,
                "torch": torch.__version__,
                "python": platform.python_version(),
            },
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "files": {p.name: _sha256(p.read_bytes()) for p in sorted(folder.iterdir())},
        }
        (folder / "run.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return target


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_state(folder: Path, state: TrainState) -> None:
    from safetensors.torch import save as save_tensors

    from .trainstate import flatten

    tree = {
        "step": state.step,
        "model": state.model,
        "optimizer": state.optimizer,
        "schedule": state.schedule,
        "batches": state.batches,
        "keeper": state.keeper,
        "best": state.best,
    }
    layout, tensors = flatten(tree)
    (folder / "state.safetensors").write_bytes(save_tensors(tensors))
    snapshots = [s.to_dict() for s in state.snapshots]
    text = json.dumps({"layout": layout, "snapshots": snapshots})
    (folder / "state.json").write_text(text, encoding="utf-8")


def read_run(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check ``run.json`` and the integrity of the files it lists."""
    from .files import recover_dir

    folder = Path(path)
    recover_dir(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such run folder (make one with --out {folder})")
    info_path = folder / "run.json"
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{folder}: not a run folder (no run.json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{info_path}: damaged ({error}); the run cannot be loaded") from None
    if not isinstance(info, dict) or not str(info.get("format", "")).startswith("nnfit.run/"):
        raise DataError(f"{info_path}: not an nnfit run file")
    version = info.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise DataError(
            f"{folder} was written in format {info.get('format')}, newer than this "
            f"nnfit reads ({FORMAT}); upgrade nnfit"
        )
    for name, digest in (info.get("files") or {}).items():
        file = folder / name
        if not file.is_file():
            raise DataError(f"{file} is missing; the run folder is incomplete")
        if _sha256(file.read_bytes()) != digest:
            raise DataError(
                f"{file} does not match run.json (changed or damaged since it was "
                "saved); restore it or train again"
            )
    _check_architecture(info.get("model"), info_path)
    return info


def _check_architecture(model: Any, where: Path) -> None:
    from .model import ACTIVATIONS

    if not isinstance(model, dict) or not isinstance(model.get("layers"), list):
        raise DataError(f"{where}: no model architecture")
    for layer in model["layers"]:
        kind = layer.get("type") if isinstance(layer, dict) else None
        if kind not in LAYER_TYPES:
            raise DataError(
                f"{where}: unknown layer type {kind!r}; allowed: {', '.join(LAYER_TYPES)}"
            )
        if kind == "activation" and layer.get("name") not in ACTIVATIONS:
            raise DataError(
                f"{where}: unknown activation {layer.get('name')!r}; allowed: "
                f"{', '.join(ACTIVATIONS)}"
            )
    if model.get("activation") not in ACTIVATIONS:
        raise DataError(f"{where}: unknown activation {model.get('activation')!r}")


def _read_tensors(path: Path) -> dict[str, Any]:
    from safetensors import SafetensorError
    from safetensors.torch import load as load_tensors

    try:
        return load_tensors(path.read_bytes())
    except (SafetensorError, ValueError, OSError) as error:
        raise DataError(f"{path}: not a readable safetensors file ({error})") from None


def load(path: str | os.PathLike[str]) -> Regressor:
    """Load a run folder's model: it predicts exactly as it did before saving.

    Never unpickles and never executes code: the architecture is rebuilt from a closed list of
    layer names, weights come from safetensors, and every file's SHA-256 is checked.

    Example:
        >>> model = nnfit.load("runs/pressure")   # doctest: +SKIP
        >>> model.predict([100.0, 200.0])         # doctest: +SKIP
    """
    import torch

    from .diagnostics import Diagnosis
    from .estimator import Regressor
    from .history import History
    from .model import MAX_MEMBERS, MLP

    folder = Path(path)
    info = read_run(folder)
    arch, settings, data = info["model"], info.get("settings", {}), info.get("data", {})
    members = arch.get("members", 1)
    if isinstance(members, bool) or not isinstance(members, int) or not 1 <= members <= MAX_MEMBERS:
        raise DataError(
            f"{folder / 'run.json'}: members must be 1 to {MAX_MEMBERS}, got {members!r}"
        )
    model = MLP(
        int(arch["n_in"]),
        tuple(int(n) for n in arch["hidden"]),
        int(arch["n_out"]),
        activation=arch["activation"],
        members=members,
    )
    if architecture(model)["layers"] != arch["layers"]:
        raise DataError(f"{folder / 'run.json'}: layer list does not match its sizes")
    weights = _read_tensors(folder / "model.safetensors")
    if not all(torch.isfinite(v).all() for v in weights.values()):
        raise DataError(
            f"{folder / 'model.safetensors'} holds non-finite weights; it cannot predict"
        )
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        raise DataError(f"{folder / 'model.safetensors'} does not fit run.json: {first}") from None
    model.eval()
    model_settings = {
        k: v for k, v in settings.get("model", {}).items() if k not in ("hidden", "members")
    }
    train_settings = settings.get("train", {})
    regressor = Regressor(
        **{
            **model_settings,
            **train_settings,
            "hidden": model.hidden,
            "members": model.members,
            "val": settings.get("data", {}).get("val", 0.0),
        }
    )
    regressor.model_ = model
    regressor.n_inputs_, regressor.n_outputs_ = model.n_in, model.n_out
    regressor.x_names_ = tuple(data.get("x_names", ["x"] * model.n_in))
    regressor.y_names_ = tuple(data.get("y_names", ["y"] * model.n_out))
    regressor.y_ndim_ = int(data.get("y_ndim", 2))
    regressor.metrics_ = info.get("metrics")
    diagnosis = info.get("diagnosis")
    regressor.diagnosis_ = None if diagnosis is None else Diagnosis(**diagnosis)
    if (folder / "history.json").is_file():
        regressor.history_ = History.load(folder / "history.json")
    regressor.run_info_ = info
    return regressor


def load_state(path: str | os.PathLike[str]) -> TrainState:
    """The paused training state of an interrupted or checkpointed run (for --resume)."""
    from .history import Snapshot
    from .trainstate import TrainState, unflatten

    folder = Path(path)
    info = read_run(folder)
    if info.get("status") == "complete" or not (folder / "state.json").is_file():
        raise UsageError(f"{folder} is a finished run; there is nothing to resume")
    tensors = _read_tensors(folder / "state.safetensors")
    try:
        saved = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        tree = unflatten(saved["layout"], tensors)
        snapshots = [Snapshot.from_dict(s) for s in saved["snapshots"]]
        return TrainState(snapshots=snapshots, **tree)
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(f"{folder / 'state.json'}: damaged ({error})") from None

"""Run folders: a trained model that outlives the process, saved and loaded without pickle.

A run folder holds ``run.json`` (format version, architecture from a closed list of names,
settings, seed, data source and hash, metrics, diagnosis, versions, and the SHA-256 of every
other file), ``model.safetensors`` (weights and scaler), ``history.json`` (replayable),
``metrics.jsonl``, ``fit.png`` and, for a paused run, ``state.json`` + ``state.safetensors``.
Folders are written whole and swapped into place atomically (``nnfit.io.files.AtomicDir``).
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

from ..errors import DataError, UsageError
from ..io.safe_read import JSON_LIMIT, RUN_JSON_LIMIT, one_line, parse_json, quote, read_regular
from ..io.targets import RUN_FILES, RUN_FORMAT
from ..runs.runcheck import (
    Shape,
    check_architecture,
    check_files,
    check_info,
    check_member_metrics,
    check_weights_size,
    check_whole,
    is_int,
    read_listed,
    read_tensors,
    size_limit,
    tensor_problem,
    verify,
)
from ..runs.statecheck import check_state

if TYPE_CHECKING:
    from ..core.history import History
    from ..core.model import MLP
    from ..core.trainstate import TrainState
    from ..regressor import Regressor

FORMAT = RUN_FORMAT
FORMAT_VERSION = 1
STATE_FILES = ("state.json", "state.safetensors")


def data_hash(x: np.ndarray, y: np.ndarray) -> str:
    """SHA-256 of the data's values, so a resumed run can check it has the same data."""
    digest = hashlib.sha256()
    for array in (x, y):
        array = np.ascontiguousarray(array)  # no copy for the arrays a run reads
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.data.cast("B"))
    return digest.hexdigest()


def data_record(dataset: Any, digest: str | None = None) -> dict[str, Any]:
    """What a run folder says of its data (``save_run``'s ``data``): source, hash, rows."""
    return {
        "source": dataset.source,
        "sha256": digest if digest is not None else data_hash(dataset.x, dataset.y),
        "rows": len(dataset.x),
        "n_dropped": dataset.n_dropped,
    }


def architecture(model: MLP) -> dict[str, Any]:
    """The network as plain names and sizes: nothing callable, nothing importable."""
    from torch import nn

    from ..core.members import Members

    layers = []
    names = iter(model.activations)  # each hidden layer's, input side first
    for layer in model.layers:
        if isinstance(layer, (nn.Linear, Members)):
            layers.append({"type": "linear", "in": layer.in_features, "out": layer.out_features})
        else:
            layers.append({"type": "activation", "name": next(names)})
    activation = model.activation  # one name, or a list of one per layer
    return {
        "n_in": model.n_in,
        "n_out": model.n_out,
        "hidden": list(model.hidden),
        "activation": activation if isinstance(activation, str) else list(activation),
        "members": model.members,
        "y_transform": model.y_transform,
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
    overwrite: bool = True,
    keep: bool = False,
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
        overwrite: replace an existing run folder at ``path`` (only nnfit's files in it are
            deleted); False creates it exclusively (``nnfit.io.files.OutputTaken`` if it exists).
        keep: if ``path`` was created by another process meanwhile, save to ``path-1`` (...)
            instead of raising.

    Returns:
        The folder written: ``path``, or with ``keep`` the free name used instead.
    """
    import shutil

    import torch
    from safetensors.torch import save as save_tensors

    from .._version import __version__
    from ..io.files import AtomicDir
    from ..views.logfile import snapshot_record

    target = AtomicDir(Path(path), overwrite=overwrite, keep=keep, names=RUN_FILES)
    with target as folder:
        weights = {
            k: v.detach().cpu().clone(memory_format=torch.contiguous_format)
            for k, v in regressor.model_.state_dict().items()
        }
        (folder / "model.safetensors").write_bytes(save_tensors(weights))
        # the folder is published whole: a plain write here, not a second atomic swap
        (folder / "history.json").write_text(history.to_json(), encoding="utf-8")
        lines = [json.dumps(snapshot_record(s)) for s in history.snapshots]
        (folder / "metrics.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        if state is not None:
            _write_state(folder, state)
        if picture and history.snapshots:
            from ..views.plotting import plot

            plot(history, folder / "fit.png")
        if animation is not None and animation.is_file() and not animation.is_symlink():
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
                **_training_range(regressor),
            },
            "metrics": getattr(regressor, "metrics_", None),
            "member_metrics": getattr(regressor, "member_metrics_", None),
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
    return target.path


def _training_range(regressor: Regressor) -> dict[str, list[float]]:
    """{"x_min": [...], "x_max": [...]}, each input column's range, when the model knows it."""
    x_min, x_max = getattr(regressor, "x_min_", None), getattr(regressor, "x_max_", None)
    return {} if x_min is None or x_max is None else {"x_min": x_min, "x_max": x_max}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_state(folder: Path, state: TrainState) -> None:
    from safetensors.torch import save as save_tensors

    from ..core.trainstate import flatten

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
    """Read and check ``run.json`` and the integrity of the files it lists.

    Every section is checked against what ``save_run`` writes; the model it describes is
    checked against the memory there is and against model.safetensors's size, and every
    listed file against its SHA-256, so a caller can build and read what it names.
    """
    from ..io.files import recover_dir

    folder = Path(path)
    recover_dir(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such run folder (make one with --out {folder})")
    where = folder / "run.json"
    if not os.path.lexists(where):
        raise DataError(f"{folder}: not a run folder (no run.json)")
    info = parse_json(read_regular(where, RUN_JSON_LIMIT), where)
    kind = info.get("format") if isinstance(info, dict) else None
    if not isinstance(kind, str) or not kind.startswith("nnfit.run/"):
        raise DataError(f"{where}: not an nnfit run file")
    version = info.get("format_version")
    if is_int(version) and version > FORMAT_VERSION:
        raise DataError(
            f"{folder} was written in format {quote(info.get('format'))}, newer than this "
            f"nnfit reads ({FORMAT}); upgrade nnfit"
        )
    check_whole(version, "format_version", where, 1, FORMAT_VERSION)
    files = check_files(info.get("files"), where, names=RUN_FILES)
    shape = check_architecture(info.get("model"), where)
    check_info(info, shape, where)
    check_weights_size(folder, shape)
    check_member_metrics(info.get("member_metrics"), shape.members, where)
    for name, digest in files.items():
        verify(folder / name, digest, size_limit(name, shape, info))
    return info


def load(path: str | os.PathLike[str]) -> Regressor:
    """Load a run folder's model: it predicts exactly as it did before saving.

    Never unpickles and never executes code: the architecture is rebuilt from a closed list of
    layer names, weights come from safetensors, and every file's SHA-256 is checked.

    Example:
        >>> model = nnfit.load("runs/pressure")   # doctest: +SKIP
        >>> model.predict([100.0, 200.0])         # doctest: +SKIP
    """
    folder = Path(path)
    info = read_run(folder)  # before torch loads: a wrong folder is refused at once
    shape = check_architecture(info["model"], folder / "run.json")
    weights = model_weights(folder, info, shape)

    from ..core.diagnostics import Diagnosis
    from ..core.model import MLP
    from ..regressor import Regressor
    from ..settings import estimator_values

    model = MLP(
        shape.n_in,
        shape.hidden,
        shape.n_out,
        activation=shape.activation,
        members=shape.members,
        y_transform=shape.y_transform,
    )
    model.load_state_dict(weights)
    model.eval()
    settings, data = info["settings"], info["data"]
    regressor = Regressor(  # the settings table's estimator settings; a run without val had none
        **{
            "val": 0.0,
            **estimator_values(settings),
            "hidden": model.hidden,
            "members": model.members,
        }
    )
    regressor.model_ = model
    regressor.n_inputs_, regressor.n_outputs_ = model.n_in, model.n_out
    regressor.x_names_ = tuple(data["x_names"])
    regressor.y_names_ = tuple(data["y_names"])
    regressor.y_ndim_ = data["y_ndim"]
    regressor.x_min_, regressor.x_max_ = data.get("x_min"), data.get("x_max")  # older: None
    regressor.metrics_ = info.get("metrics")
    regressor.member_metrics_ = info.get("member_metrics")  # absent from older runs: None
    diagnosis = info.get("diagnosis")
    regressor.diagnosis_ = None if diagnosis is None else Diagnosis.from_dict(diagnosis)
    if "history.json" in info["files"]:  # an unlisted history.json is never read
        regressor.history_ = read_history(folder, shape, info)
    regressor.run_info_ = info
    return regressor


def model_weights(
    folder: Path, info: dict[str, Any], shape: Shape, *, numpy: bool = False
) -> dict[str, Any]:
    """model.safetensors's tensors (NumPy arrays with ``numpy``, else torch tensors), checked
    against the architecture in run.json: names, float32, shapes, a usable scaler, finite."""
    path = folder / "model.safetensors"
    limit = size_limit(path.name, shape, info)
    weights = read_tensors(folder, path.name, info, limit, numpy=numpy)
    problem = tensor_problem(weights, shape.tensors())
    if problem:
        raise DataError(f"{path} does not fit run.json: {problem}; restore it or train again")
    if not all(np.isfinite(np.asarray(v)).all() for v in weights.values()):
        raise DataError(f"{path} holds non-finite weights; it cannot predict")
    return weights


def read_history(folder: Path, shape: Shape, info: dict[str, Any]) -> History:
    """history.json, checked by ``History.from_dict`` and against the model's columns."""
    from ..core.history import History

    path = folder / "history.json"
    data = parse_json(read_listed(folder, path.name, info, JSON_LIMIT), path)
    history = History.from_dict(data, source=str(path))
    columns = (history.x.shape[1], history.y.shape[1])
    if columns != (shape.n_in, shape.n_out):
        raise DataError(
            f"{path}: its data has {columns[0]} input and {columns[1]} output column(s), the "
            f"model {shape.n_in} and {shape.n_out}; restore it or train again"
        )
    return history


def load_state(path: str | os.PathLike[str]) -> TrainState:
    """The paused training state of an interrupted or checkpointed run (for --resume)."""
    from ..core.history import MAX_SNAPSHOTS, Snapshot

    folder = Path(path)
    info = read_run(folder)
    where = folder / "run.json"
    if info["status"] == "complete":
        raise UsageError(f"{folder} is a finished run; there is nothing to resume")
    missing = [name for name in STATE_FILES if name not in info["files"]]
    if missing:
        raise DataError(
            f"{where}: does not list {' or '.join(missing)}, so the paused state cannot be "
            "resumed; start a new run"
        )
    from ..core.trainstate import TrainState, unflatten  # torch: once the folder can resume

    shape = check_architecture(info["model"], where)
    limit = size_limit("state.safetensors", shape, info)
    tensors = read_tensors(folder, "state.safetensors", info, limit)
    state_path = folder / "state.json"
    saved = parse_json(read_listed(folder, state_path.name, info, JSON_LIMIT), state_path)
    try:
        if not isinstance(saved, dict) or set(saved) != {"layout", "snapshots"}:
            raise ValueError("expected a table of layout and snapshots")
        records = saved["snapshots"]
        if not isinstance(records, list) or len(records) > MAX_SNAPSHOTS:
            raise ValueError(f"snapshots must be a list of at most {MAX_SNAPSHOTS:,}")
        tree = unflatten(saved["layout"], tensors)
        check_state(tree, shape)
        snapshots = [Snapshot.from_dict(record) for record in records]
        if len({s.y_pred.shape for s in snapshots}) > 1 or any(
            s.y_pred.shape[1] != shape.n_out for s in snapshots
        ):
            raise ValueError(f"snapshots must all predict {shape.n_out} output(s) on one grid")
        for snapshot in snapshots:  # the spread and member lines on that grid too
            snapshot.check_shape(snapshot.y_pred.shape)
    except (KeyError, TypeError, ValueError, RecursionError) as error:
        raise DataError(f"{state_path}: damaged ({one_line(error)}); start a new run") from None
    return TrainState(snapshots=snapshots, **tree)

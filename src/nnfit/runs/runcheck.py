"""Checking run.json before use: every section as ``save_run`` writes it, within limits.

A run folder is a closed world: loading opens only the names its run.json may list, checks
each size before reading and every listed SHA-256, and checks run.json's contents before any
of it sizes an allocation. Anything else gets one DataError line: never a traceback, a hang
or an out-of-memory kill.
"""

from __future__ import annotations

import hashlib
import math
import sys
from collections.abc import Collection
from dataclasses import dataclass, fields
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from ..errors import DataError, UsageError
from ..io.safe_read import (
    JSON_LIMIT,
    MIB,
    check_regular,
    one_line,
    quote,
    read_chunks,
    read_regular,
)

MEDIA_LIMIT = 4 * 2**30  # fit.png, fit.gif, fit.mp4, metrics.jsonl: hashed, never parsed
HEADER_SLACK = 64 * 2**10  # a safetensors header: this plus 256 bytes per tensor
STATE_COPIES = 128  # state.safetensors holds the weights this many times at most (L-BFGS's
#   history alone keeps 40 copies), plus 8 bytes per data row (the batch order) and 16 MiB
MAX_COLUMNS = 1_000_000  # n_in and n_out
MAX_LAYERS = 1_000  # hidden layers
MAX_WIDTH = 100_000  # units in a hidden layer, as model.check_hidden allows
MAX_COUNT = 10**15  # steps and rows: beyond any run, exact as a float
LAYER_TYPES = ("linear", "activation")  # the closed list a run.json may name
STATUSES = ("complete", "interrupted", "checkpoint")
_HEX = "0123456789abcdef"


@dataclass(frozen=True)
class Shape:
    """The network run.json describes, checked before anything is built or read for it."""

    n_in: int
    hidden: tuple[int, ...]
    n_out: int
    activation: str | tuple[str, ...]  # one name for every hidden layer, or one per layer
    members: int
    y_transform: str = "none"  # run.json's model.y_transform; older runs have none

    def tensors(self) -> dict[str, tuple[int, ...]]:
        """Name → shape of each tensor of ``MLP.state_dict()``: the layers', then the scaler."""
        lead = () if self.members == 1 else (self.members,)
        widths = (self.n_in, *self.hidden, self.n_out)
        shapes: dict[str, tuple[int, ...]] = {}
        for i, (n_from, n_to) in enumerate(pairwise(widths)):
            shapes[f"layers.{2 * i}.weight"] = (*lead, n_to, n_from)
            shapes[f"layers.{2 * i}.bias"] = (*lead, n_to)
        for name, size in (("x_mean", self.n_in), ("y_mean", self.n_out)):
            shapes[name] = (size,)
        for name, size in (("x_scale", self.n_in), ("y_scale", self.n_out)):
            shapes[name] = (size,)
        return shapes

    def layers(self) -> list[dict[str, Any]]:
        """The layer list ``architecture`` writes for this network."""
        widths = (self.n_in, *self.hidden, self.n_out)
        from ..core.model_config import layer_activations

        names = (*layer_activations(self.activation, len(self.hidden)), "")
        out: list[dict[str, Any]] = []
        for (n_from, n_to), name in zip(pairwise(widths), names, strict=True):
            out += [
                {"type": "linear", "in": n_from, "out": n_to},
                {"type": "activation", "name": name},
            ]
        return out[:-1]

    @property
    def weight_bytes(self) -> int:
        """Bytes of all its float32 tensors."""
        return 4 * sum(math.prod(shape) for shape in self.tensors().values())


def check_files(files: Any, where: Path, *, names: Collection[str]) -> dict[str, str]:
    """run.json's ``files``: only ``names`` (those nnfit writes in a run folder, less run.json
    itself), each with a SHA-256, the weights listed."""
    listable = set(names) - {"run.json"}
    if not isinstance(files, dict):
        raise DataError(
            f'{where}: no table of files and their SHA-256 ("files"), so the folder cannot '
            "be checked; train again"
        )
    for name, digest in files.items():
        if name not in listable:
            raise DataError(
                f"{where}: lists a file {quote(name)} that a run folder does not hold; "
                f"it may list only {', '.join(sorted(listable))}"
            )
        if not isinstance(digest, str) or len(digest) != 64 or digest.strip(_HEX):
            raise DataError(
                f"{where}: the SHA-256 of {name} must be 64 hex digits, got {quote(digest)}"
            )
    if "model.safetensors" not in files:
        raise DataError(f"{where}: does not list model.safetensors; train again")
    return files


def verify(path: Path, digest: str, limit: int) -> None:
    """Compare a listed file's SHA-256, read in chunks (bounded, never a link or a FIFO)."""
    sha = hashlib.sha256()
    for chunk in read_chunks(path, limit):
        sha.update(chunk)
    if sha.hexdigest() != digest:
        raise _changed(path)


def read_listed(folder: Path, name: str, info: dict[str, Any], limit: int) -> bytes:
    """A listed file's bytes, checked against run.json's SHA-256 (the bytes that are used)."""
    path = folder / name
    data = read_regular(path, limit)
    if hashlib.sha256(data).hexdigest() != info["files"][name]:
        raise _changed(path)
    return data


def _changed(path: Path) -> DataError:
    return DataError(
        f"{path} does not match run.json (changed or damaged since it was "
        "saved); restore it or train again"
    )


def size_limit(name: str, shape: Shape, info: dict[str, Any]) -> int:
    """The most bytes the file ``name`` of this run may have."""
    if name == "model.safetensors":
        return shape.weight_bytes + HEADER_SLACK + 256 * len(shape.tensors())
    if name == "state.safetensors":
        rows = info["data"].get("rows", 0)
        return STATE_COPIES * shape.weight_bytes + 8 * rows + 16 * MIB
    return JSON_LIMIT if name in ("history.json", "state.json") else MEDIA_LIMIT


def check_weights_size(folder: Path, shape: Shape) -> None:
    """Before anything is built: the model fits in memory and model.safetensors holds it."""
    from ..memory import check_memory, format_bytes

    where = folder / "run.json"
    need = shape.weight_bytes
    hidden = ", ".join(map(str, shape.hidden[:8])) + (", ..." if len(shape.hidden) > 8 else "")
    check_memory(
        3 * need,  # the file, its tensors and the model built from them
        f"{where}: the model it describes (hidden {hidden}; {need // 4:,} numbers)",
        "the file may be damaged or forged; train again",
        error=DataError,
    )
    path = folder / "model.safetensors"
    limit = size_limit(path.name, shape, {})
    size = check_regular(path, limit, bound="that the model in run.json needs").st_size
    if size < need + 8:
        raise DataError(
            f"{path} is {format_bytes(size)}, too small for the model run.json describes "
            f"({format_bytes(need)} of weights); restore it or train again"
        )


def is_int(value: Any) -> TypeGuard[int]:
    """A whole number from JSON (True and False are not numbers here)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A number from JSON (True and False are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_whole(value: Any, name: str, where: Path, low: int, high: int) -> int:
    """``value`` if it is a whole number from ``low`` to ``high``, else one DataError line."""
    if not is_int(value) or not low <= value <= high:
        raise DataError(
            f"{where}: {name} must be a whole number from {low} to {high}, got {quote(value)}"
        )
    return value


def check_architecture(model: Any, where: Path) -> Shape:
    """The network in run.json's ``model``, from a closed list of layers and within limits."""
    from ..core.model_config import ACTIVATION_LAYERS as ACTIVATIONS
    from ..core.model_config import MAX_MEMBERS

    if not isinstance(model, dict) or not isinstance(model.get("layers"), list):
        raise DataError(f"{where}: no model architecture; train again")
    for layer in model["layers"]:
        kind = layer.get("type") if isinstance(layer, dict) else None
        if not isinstance(kind, str) or kind not in LAYER_TYPES:
            raise DataError(
                f"{where}: unknown layer type {quote(kind)}; allowed: {', '.join(LAYER_TYPES)}"
            )
        name = layer.get("name")
        if kind == "activation" and (not isinstance(name, str) or name not in ACTIVATIONS):
            raise DataError(
                f"{where}: unknown activation {quote(name)}; allowed: {', '.join(ACTIVATIONS)}"
            )
    hidden = model.get("hidden")
    if not isinstance(hidden, list) or not 1 <= len(hidden) <= MAX_LAYERS:
        raise DataError(
            f"{where}: model.hidden must list 1 to {MAX_LAYERS} layer widths, got {quote(hidden)}"
        )
    activation = _activation(model.get("activation"), len(hidden), where)
    members = model.get("members")
    if not is_int(members) or not 1 <= members <= MAX_MEMBERS:
        raise DataError(f"{where}: members must be 1 to {MAX_MEMBERS}, got {quote(members)}")
    y_transform = model.get("y_transform", "none")
    if y_transform not in ("none", "log"):
        raise DataError(f"{where}: model.y_transform must be none or log, got {quote(y_transform)}")
    shape = Shape(
        n_in=check_whole(model.get("n_in"), "model.n_in", where, 1, MAX_COLUMNS),
        hidden=tuple(check_whole(n, "model.hidden", where, 1, MAX_WIDTH) for n in hidden),
        n_out=check_whole(model.get("n_out"), "model.n_out", where, 1, MAX_COLUMNS),
        activation=activation,
        members=members,
        y_transform=y_transform,
    )
    if model["layers"] != shape.layers():
        raise DataError(f"{where}: layer list does not match its sizes")
    return shape


def _activation(value: Any, n_layers: int, where: Path) -> str | tuple[str, ...]:
    """run.json's ``model.activation``: one known name, or a list of one per hidden layer."""
    from ..core.model_config import ACTIVATION_LAYERS

    names = tuple(value) if isinstance(value, list) else (value,)
    if not all(isinstance(name, str) and name in ACTIVATION_LAYERS for name in names):
        raise DataError(f"{where}: unknown activation {quote(value)}")
    if isinstance(value, list) and len(names) != n_layers:
        raise DataError(
            f"{where}: model.activation lists {len(names)} names for {n_layers} hidden layers"
        )
    return names if isinstance(value, list) else names[0]


def check_info(info: dict[str, Any], shape: Shape, where: Path) -> None:
    """run.json's other sections, as ``save_run`` writes them."""
    status = info.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        raise DataError(
            f"{where}: status must be one of {', '.join(STATUSES)}, got {quote(status)}"
        )
    check_whole(info.get("step"), "step", where, 0, MAX_COUNT)
    check_whole(info.get("seed"), "seed", where, 0, 2**64 - 1)
    _check_settings(info.get("settings"), where)
    _check_data(info.get("data"), shape, where)
    _check_metrics(info.get("metrics"), where)
    _check_diagnosis(info.get("diagnosis"), where)
    versions = info.get("versions")
    if not isinstance(versions, dict) or not all(isinstance(v, str) for v in versions.values()):
        raise DataError(f"{where}: versions must be a table of texts, got {quote(versions)}")
    if not isinstance(info.get("created", ""), str):
        raise DataError(f"{where}: created must be a date text, got {quote(info['created'])}")


def _check_settings(settings: Any, where: Path) -> Any:
    """The RunConfig that run.json's ``settings`` describe, through the same validation as a
    config file's (unknown sections and keys, types and ranges)."""
    from ..runs.config import DEFAULT_PRESET, build_config

    source = f"{where}: settings"
    if not isinstance(settings, dict):
        raise DataError(f"{source} must be a table of tables, got {quote(settings)}; train again")
    preset = settings.get("preset", DEFAULT_PRESET)
    tables = {k: v for k, v in settings.items() if k != "preset"}
    try:
        if not isinstance(preset, str):
            raise UsageError(f"preset must be a name, got {quote(preset)}")
        return build_config(preset, base=tables, source=source)
    except (UsageError, TypeError, ValueError, OverflowError) as error:
        text = str(error).removeprefix(f"{source}: ")
        raise DataError(f"{source}: {one_line(Exception(text))} (train again)") from None


def _check_data(data: Any, shape: Shape, where: Path) -> None:
    """run.json's ``data``: its source, hash, row counts and printable column names."""
    if not isinstance(data, dict):
        raise DataError(f"{where}: data must be a table, got {quote(data)}; train again")
    if not isinstance(data.get("source"), str):
        raise DataError(f"{where}: data.source must be a text, got {quote(data.get('source'))}")
    digest = data.get("sha256")
    if not isinstance(digest, str) or not 1 <= len(digest) <= 64 or digest.strip(_HEX):
        raise DataError(f"{where}: data.sha256 must be hex digits, got {quote(digest)}")
    for key in ("rows", "n_dropped"):
        if key in data:
            check_whole(data[key], f"data.{key}", where, 0, MAX_COUNT)
    if data.get("y_ndim") not in (1, 2) or not is_int(data.get("y_ndim")):
        raise DataError(f"{where}: data.y_ndim must be 1 or 2, got {quote(data.get('y_ndim'))}")
    for key, n in (("x_names", shape.n_in), ("y_names", shape.n_out)):
        names = data.get(key)
        if not isinstance(names, list) or len(names) != n:
            raise DataError(f"{where}: data.{key} must list {n} name(s), got {quote(names)}")
        for name in names:
            if not isinstance(name, str) or not name.isprintable():
                raise DataError(
                    f"{where}: data.{key} holds {quote(name)}; column names must be "
                    "printable text (no control characters)"
                )
    _check_range(data, shape.n_in, where)


def _check_range(data: dict[str, Any], n_in: int, where: Path) -> None:
    """run.json's optional ``data.x_min`` and ``data.x_max``: n_in finite numbers each, in
    order (runs saved before they were kept have neither)."""
    if "x_min" not in data and "x_max" not in data:
        return
    bounds = [data.get("x_min"), data.get("x_max")]
    for key, values in zip(("x_min", "x_max"), bounds, strict=True):
        if (
            not isinstance(values, list)
            or len(values) != n_in
            or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in values
            )
        ):
            raise DataError(
                f"{where}: data.{key} must list {n_in} finite number(s), got {quote(values)}"
            )
    if any(low > high for low, high in zip(*bounds, strict=True)):
        raise DataError(f"{where}: data.x_min must not exceed data.x_max; train again")


MEMBER_KEYS = {"member", "rmse", "rows", "stopped", "diverged_at"}


def check_member_metrics(rows: Any, members: int, where: Path) -> None:
    """None (one network, or a run saved before they were), or one row per member as
    ``nnfit.core.metrics.member_rows`` writes it; checked once the weights' size has matched
    the architecture, so a forged member count is refused as that first."""
    if rows is None:
        return
    fits = isinstance(rows, list) and len(rows) == members
    if not (fits and all(_member_row_ok(row, k) for k, row in enumerate(rows))):
        raise DataError(
            f"{where}: member_metrics must list the {members} members' held-out RMSE, rows, "
            "stopping step and divergence; train again"
        )


def _member_row_ok(row: Any, k: int) -> bool:
    """Member k's row: its number, RMSE (≥ 0 or None), counts and steps (whole or None)."""
    if not isinstance(row, dict) or set(row) != MEMBER_KEYS or row["member"] != k:
        return False
    if row["rmse"] is not None and not (is_number(row["rmse"]) and row["rmse"] >= 0):
        return False
    counts = (row["rows"], row["stopped"], row["diverged_at"])
    if row["stopped"] is None or not is_int(row["member"]):
        return False
    return all(n is None or (is_int(n) and 0 <= n <= MAX_COUNT) for n in counts)


def _check_metrics(metrics: Any, where: Path) -> None:
    """None, or {set name: {"rmse": ..., "mae": ..., "r2": ...}} as ``format_metrics`` reads."""
    if metrics is None:
        return
    if isinstance(metrics, dict) and len(metrics) <= 16:
        for name, row in metrics.items():
            if not name.isprintable() or len(name) > 40 or not isinstance(row, dict):
                break
            if not {"rmse", "mae", "r2"} <= set(row) or not all(map(is_number, row.values())):
                break
        else:
            return
    raise DataError(
        f"{where}: metrics must be a table of sets, each with numbers rmse, mae and r2; "
        f"got {quote(metrics)}"
    )


def _check_diagnosis(diagnosis: Any, where: Path) -> None:
    """None, or exactly the text fields of ``Diagnosis`` and, from folders that have them, its
    hints (a list of tables of ``Hint``'s fields)."""
    from ..core.diagnostics import Diagnosis

    names = [f.name for f in fields(Diagnosis) if f.name != "hints"]
    if diagnosis is None:
        return
    if (
        not isinstance(diagnosis, dict)
        or set(diagnosis) - {"hints"} != set(names)
        or not all(isinstance(diagnosis[name], str) for name in names)
    ):
        raise DataError(
            f"{where}: diagnosis must be a table of the texts {', '.join(names)}, "
            f"got {quote(diagnosis)}"
        )
    if not _are_hints(diagnosis.get("hints", [])):
        raise DataError(
            f"{where}: diagnosis hints must be a list of tables of field, change, value and "
            f"unit, got {quote(diagnosis['hints'])}"
        )


def _are_hints(hints: Any) -> bool:
    """True for a short list of tables of ``Hint``'s fields with texts (and a number) in them."""
    from ..core.diagnostics import Hint

    names = {f.name for f in fields(Hint)}
    return (
        isinstance(hints, list)
        and len(hints) <= 10
        and all(
            isinstance(hint, dict)
            and set(hint) == names
            and all(isinstance(hint[name], str) for name in names - {"value"})
            and (
                hint["value"] is None or isinstance(hint["value"], str) or is_number(hint["value"])
            )
            for hint in hints
        )
    )


def read_tensors(
    folder: Path, name: str, info: dict[str, Any], limit: int, *, numpy: bool = False
) -> dict[str, Any]:
    """A listed safetensors file's tensors (bounded, hash checked, memory checked first);
    torch tensors, or NumPy arrays with ``numpy`` (torch is then not imported)."""
    from safetensors import SafetensorError

    from ..memory import check_memory

    path = folder / name
    size = check_regular(path, limit).st_size
    check_memory(2 * size, f"{path}", "it may be damaged or forged; train again", error=DataError)
    data = read_listed(folder, name, info, limit)
    try:
        if numpy:
            from safetensors.numpy import load as load_arrays

            return load_arrays(data)
        from safetensors.torch import load as load_tensors

        return load_tensors(data)
    except (SafetensorError, ValueError, TypeError, RuntimeError, OSError) as error:
        raise DataError(f"{path}: not a readable safetensors file ({one_line(error)})") from None


def tensor_problem(tensors: Any, shapes: dict[str, tuple[int, ...]]) -> str | None:
    """What is wrong with a model's tensors (torch tensors or NumPy arrays): names, dtype
    (float32 only), shapes, the scaler."""
    if not isinstance(tensors, dict):
        return f"expected a table of the model's tensors, got {quote(tensors)}"
    missing = [n for n in shapes if n not in tensors]
    extra = [n for n in tensors if n not in shapes]
    if missing or extra:
        return (
            f"its tensors are not the model's (missing: {quote(', '.join(missing) or '-')}; "
            f"unexpected: {quote(', '.join(map(str, extra)) or '-')})"
        )
    for name, shape in shapes.items():
        array, kind = _as_array(tensors[name])
        if array is None or array.dtype != np.float32:
            return f"{name} is {kind}, not float32"
        if array.shape != shape:
            return f"{name} has shape {array.shape}, the model needs {shape}"
        if name.endswith("_scale") and not (np.isfinite(array).all() and (array > 0).all()):
            return f"{name} must be finite and above 0 (a zero scale cannot predict)"
        if name.endswith("_mean") and not np.isfinite(array).all():
            return f"{name} must be finite"
    return None


def _as_array(tensor: Any) -> tuple[np.ndarray | None, str]:
    """A torch tensor (without importing torch) or NumPy array as an array, and its dtype's
    name; (None, what it is) for anything else. float32 tensors are viewed, never copied."""
    if isinstance(tensor, np.ndarray):
        return tensor, str(tensor.dtype)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(tensor, torch.Tensor):
        kind = str(tensor.dtype).removeprefix("torch.")
        if tensor.dtype != torch.float32:
            return None, kind
        return tensor.detach().cpu().numpy(), kind
    return None, quote(tensor)

"""Run folders: a trained model that outlives the process, saved and loaded without pickle.

A run folder holds ``run.json`` (format version, architecture from a closed list of names,
settings, seed, data source and hash, metrics, diagnosis, versions, and the SHA-256 of every
other file), ``model.safetensors`` (weights and scaler), ``history.json`` (replayable),
``metrics.jsonl``, ``fit.png`` and, for a paused run, ``state.json`` + ``state.safetensors``.
Folders are written whole and swapped into place atomically (``files.atomic_dir``).
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import math
import os
import platform
import stat
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from itertools import pairwise
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
# Every name nnfit writes in a run folder: loading reads no other, --overwrite deletes no other.
RUN_FILES = frozenset(
    {
        "run.json",
        "model.safetensors",
        "history.json",
        "metrics.jsonl",
        "fit.png",
        "fit.gif",
        "fit.mp4",
        "state.json",
        "state.safetensors",
    }
)


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
            deleted); False creates it exclusively (``files.OutputTaken`` if it exists).
        keep: if ``path`` was created by another process meanwhile, save to ``path-1`` (...)
            instead of raising.

    Returns:
        The folder written: ``path``, or with ``keep`` the free name used instead.
    """
    import shutil

    import torch
    from safetensors.torch import save as save_tensors

    from ._version import __version__
    from .files import AtomicDir
    from .logfile import snapshot_record

    target = AtomicDir(Path(path), overwrite=overwrite, keep=keep, names=RUN_FILES)
    with target as folder:
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
    return target.path


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


# Reading. A run folder is a closed world: loading opens only the names in RUN_FILES, only
# regular files (never a link, FIFO, device or folder), checks each size before reading and
# every listed SHA-256, and checks run.json's contents before any of it sizes an allocation.
# Anything else gets one DataError line: never a traceback, a hang or an out-of-memory kill.
MIB = 2**20
RUN_JSON_LIMIT = 16 * MIB
JSON_LIMIT = 256 * MIB  # history.json and state.json
MEDIA_LIMIT = 4 * 2**30  # fit.png, fit.gif, fit.mp4, metrics.jsonl: hashed, never parsed
HEADER_SLACK = 64 * 2**10  # a safetensors header: this plus 256 bytes per tensor
STATE_COPIES = 128  # state.safetensors holds the weights this many times at most (L-BFGS's
#   history alone keeps 40 copies), plus 8 bytes per data row (the batch order) and 16 MiB
MAX_COLUMNS = 1_000_000  # n_in and n_out
MAX_LAYERS = 1_000  # hidden layers
MAX_WIDTH = 100_000  # units in a hidden layer, as model.check_hidden allows
MAX_COUNT = 10**15  # steps and rows: beyond any run, exact as a float
STATUSES = ("complete", "interrupted", "checkpoint")
STATE_FILES = ("state.json", "state.safetensors")
STATE_KEYS = frozenset({"step", "model", "optimizer", "schedule", "batches", "keeper", "best"})
LBFGS_KEYS = frozenset(  # what torch's L-BFGS keeps between steps
    {"func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag"}
    | {"prev_flat_grad", "prev_loss", "al"}
)
_HEX = "0123456789abcdef"


@dataclass(frozen=True)
class Shape:
    """The network run.json describes, checked before anything is built or read for it."""

    n_in: int
    hidden: tuple[int, ...]
    n_out: int
    activation: str
    members: int

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
        out: list[dict[str, Any]] = []
        for n_from, n_to in pairwise(widths):
            out += [
                {"type": "linear", "in": n_from, "out": n_to},
                {"type": "activation", "name": self.activation},
            ]
        return out[:-1]

    @property
    def weight_bytes(self) -> int:
        """Bytes of all its float32 tensors."""
        return 4 * sum(math.prod(shape) for shape in self.tensors().values())


def quote(value: Any, limit: int = 60) -> str:
    """A value from a file, safe for a one-line message: escaped, short, never a whole table."""
    from .safetext import printable

    if isinstance(value, (list, dict)):
        return f"a {'list' if isinstance(value, list) else 'table'} of {len(value)} item(s)"
    try:
        text = printable(repr(value))
    except (ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _line(error: BaseException, limit: int = 300) -> str:
    """An exception's message on one short, printable line."""
    from .safetext import printable

    text = printable(str(error))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_regular(
    path: Path, limit: int, *, follow: bool = False, bound: str = "it may be"
) -> bytes:
    """The bytes of ``path``, a regular file of at most ``limit`` bytes.

    Without ``follow`` a symbolic link is refused (files inside a run folder). A FIFO, device
    or folder is refused before it is opened (lstat), and the open itself cannot block or
    follow a link swapped in meanwhile (O_NONBLOCK, O_NOFOLLOW, then fstat of what was opened).
    """
    return b"".join(_chunks(path, limit, follow=follow, bound=bound))


def _chunks(
    path: Path, limit: int, *, follow: bool = False, bound: str = "it may be"
) -> Iterator[bytes]:
    _regular(path, limit, follow=follow, bound=bound)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise _unreadable(path, error) from None
    try:
        _regular(path, limit, bound=bound, info=os.fstat(fd))
        total = 0
        while chunk := os.read(fd, 16 * MIB):
            total += len(chunk)
            if total > limit:
                raise DataError(f"{path} grew past {_size(limit)} while it was read; try again")
            yield chunk
    except OSError as error:
        raise _unreadable(path, error) from None
    finally:
        os.close(fd)


def _regular(
    path: Path,
    limit: int,
    *,
    follow: bool = False,
    bound: str = "it may be",
    info: os.stat_result | None = None,
) -> os.stat_result:
    """``path``'s stat after checking it is a regular file of at most ``limit`` bytes."""
    if info is None:
        try:
            info = os.stat(path) if follow else os.lstat(path)
        except FileNotFoundError:
            if follow:
                raise DataError(f"{path}: no such file") from None
            raise DataError(
                f"{path} is missing; the run folder is incomplete (restore it or train again)"
            ) from None
        except OSError as error:
            raise _unreadable(path, error) from None
    if stat.S_ISLNK(info.st_mode):
        raise DataError(
            f"{path} is a symbolic link; a run folder's files must be its own regular files, "
            "so it is not followed (put the file itself there, or train again)"
        )
    if not stat.S_ISREG(info.st_mode):
        raise DataError(
            f"{path} is {_kind(info.st_mode)}, not a regular file; it is not read "
            "(restore the file or train again)"
        )
    if info.st_size > limit:
        raise DataError(
            f"{path} is {_size(info.st_size)}, more than the {_size(limit)} {bound}; "
            "it is not read (damaged or forged? train again)"
        )
    return info


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


def _unreadable(path: Path, error: OSError) -> DataError:
    if error.errno == errno.ELOOP:
        return DataError(f"{path} is a symbolic link; a run folder's files must be its own")
    return DataError(f"{path}: cannot read ({_line(Exception(error.strerror or error))})")


def _size(n: int) -> str:
    from .memory import format_bytes

    return format_bytes(n)


def parse_json(data: bytes, where: Path | str) -> Any:
    """JSON from ``data``: the memory it takes checked first; any damage one line."""
    from .memory import check_memory

    hint = "it may be damaged or forged; train again"
    check_memory(_json_memory(data), f"{where}", hint, error=DataError)
    try:
        return json.loads(data)
    except RecursionError:
        raise DataError(f"{where}: damaged (nested too deeply); train again") from None
    except MemoryError:
        raise DataError(f"{where}: too big to read into memory; {hint}") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, an int of 4300+ digits
        raise DataError(f"{where}: damaged ({_line(error)}); the run cannot be loaded") from None


def _json_memory(data: bytes) -> int:
    """An upper estimate of the bytes ``json.loads(data)`` allocates: its text, a list or dict
    (72 bytes and up) for every bracket, a number or string and a slot for every separator."""
    containers = data.count(b"[") + data.count(b"{")
    items = data.count(b",") + data.count(b":") + containers
    return len(data) * (2 if data.isascii() else 5) + 72 * containers + 40 * items


def read_run(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check ``run.json`` and the integrity of the files it lists.

    Every section is checked against what ``save_run`` writes; the model it describes is
    checked against the memory there is and against model.safetensors's size, and every
    listed file against its SHA-256, so a caller can build and read what it names.
    """
    from .files import recover_dir

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
    if _is_int(version) and version > FORMAT_VERSION:
        raise DataError(
            f"{folder} was written in format {quote(info.get('format'))}, newer than this "
            f"nnfit reads ({FORMAT}); upgrade nnfit"
        )
    _whole(version, "format_version", where, 1, FORMAT_VERSION)
    files = _check_files(info.get("files"), where)
    shape = _check_architecture(info.get("model"), where)
    _check_info(info, shape, where)
    _check_weights_size(folder, shape)
    for name, digest in files.items():
        _verify(folder / name, digest, _limit(name, shape, info))
    return info


def _check_files(files: Any, where: Path) -> dict[str, str]:
    """run.json's ``files``: only names nnfit writes, each with a SHA-256, the weights listed."""
    if not isinstance(files, dict):
        raise DataError(
            f'{where}: no table of files and their SHA-256 ("files"), so the folder cannot '
            "be checked; train again"
        )
    for name, digest in files.items():
        if name not in RUN_FILES or name == "run.json":
            raise DataError(
                f"{where}: lists a file {quote(name)} that a run folder does not hold; "
                f"it may list only {', '.join(sorted(RUN_FILES - {'run.json'}))}"
            )
        if not isinstance(digest, str) or len(digest) != 64 or digest.strip(_HEX):
            raise DataError(
                f"{where}: the SHA-256 of {name} must be 64 hex digits, got {quote(digest)}"
            )
    if "model.safetensors" not in files:
        raise DataError(f"{where}: does not list model.safetensors; train again")
    return files


def _verify(path: Path, digest: str, limit: int) -> None:
    """Compare a listed file's SHA-256, read in chunks (bounded, never a link or a FIFO)."""
    sha = hashlib.sha256()
    for chunk in _chunks(path, limit):
        sha.update(chunk)
    if sha.hexdigest() != digest:
        raise DataError(
            f"{path} does not match run.json (changed or damaged since it was "
            "saved); restore it or train again"
        )


def _read_listed(folder: Path, name: str, info: dict[str, Any], limit: int) -> bytes:
    """A listed file's bytes, checked against run.json's SHA-256 (the bytes that are used)."""
    path = folder / name
    data = read_regular(path, limit)
    if _sha256(data) != info["files"][name]:
        raise DataError(
            f"{path} does not match run.json (changed or damaged since it was "
            "saved); restore it or train again"
        )
    return data


def _limit(name: str, shape: Shape, info: dict[str, Any]) -> int:
    """The most bytes the file ``name`` of this run may have."""
    if name == "model.safetensors":
        return shape.weight_bytes + HEADER_SLACK + 256 * len(shape.tensors())
    if name == "state.safetensors":
        rows = info["data"].get("rows", 0)
        return STATE_COPIES * shape.weight_bytes + 8 * rows + 16 * MIB
    return JSON_LIMIT if name in ("history.json", "state.json") else MEDIA_LIMIT


def _check_weights_size(folder: Path, shape: Shape) -> None:
    """Before anything is built: the model fits in memory and model.safetensors holds it."""
    from .memory import check_memory

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
    limit = _limit(path.name, shape, {})
    size = _regular(path, limit, bound="that the model in run.json needs").st_size
    if size < need + 8:
        raise DataError(
            f"{path} is {_size(size)}, too small for the model run.json describes "
            f"({_size(need)} of weights); restore it or train again"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _whole(value: Any, name: str, where: Path, low: int, high: int) -> int:
    if not _is_int(value) or not low <= value <= high:
        raise DataError(
            f"{where}: {name} must be a whole number from {low} to {high}, got {quote(value)}"
        )
    return value


def _check_architecture(model: Any, where: Path) -> Shape:
    """The network in run.json's ``model``, from a closed list of layers and within limits."""
    from .model import ACTIVATIONS, MAX_MEMBERS

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
    activation = model.get("activation")
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise DataError(f"{where}: unknown activation {quote(activation)}")
    hidden = model.get("hidden")
    if not isinstance(hidden, list) or not 1 <= len(hidden) <= MAX_LAYERS:
        raise DataError(
            f"{where}: model.hidden must list 1 to {MAX_LAYERS} layer widths, got {quote(hidden)}"
        )
    members = model.get("members")
    if not _is_int(members) or not 1 <= members <= MAX_MEMBERS:
        raise DataError(f"{where}: members must be 1 to {MAX_MEMBERS}, got {quote(members)}")
    shape = Shape(
        n_in=_whole(model.get("n_in"), "model.n_in", where, 1, MAX_COLUMNS),
        hidden=tuple(_whole(n, "model.hidden", where, 1, MAX_WIDTH) for n in hidden),
        n_out=_whole(model.get("n_out"), "model.n_out", where, 1, MAX_COLUMNS),
        activation=activation,
        members=members,
    )
    if model["layers"] != shape.layers():
        raise DataError(f"{where}: layer list does not match its sizes")
    return shape


def _check_info(info: dict[str, Any], shape: Shape, where: Path) -> None:
    """run.json's other sections, as ``save_run`` writes them."""
    status = info.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        raise DataError(
            f"{where}: status must be one of {', '.join(STATUSES)}, got {quote(status)}"
        )
    _whole(info.get("step"), "step", where, 0, MAX_COUNT)
    _whole(info.get("seed"), "seed", where, 0, 2**64 - 1)
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
    from .config import DEFAULT_PRESET, build_config

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
        raise DataError(f"{source}: {_line(Exception(text))} (train again)") from None


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
            _whole(data[key], f"data.{key}", where, 0, MAX_COUNT)
    if data.get("y_ndim") not in (1, 2) or not _is_int(data.get("y_ndim")):
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


def _check_metrics(metrics: Any, where: Path) -> None:
    """None, or {set name: {"rmse": ..., "mae": ..., "r2": ...}} as ``format_metrics`` reads."""
    if metrics is None:
        return
    if isinstance(metrics, dict) and len(metrics) <= 16:
        for name, row in metrics.items():
            if not name.isprintable() or len(name) > 40 or not isinstance(row, dict):
                break
            if not {"rmse", "mae", "r2"} <= set(row) or not all(map(_is_number, row.values())):
                break
        else:
            return
    raise DataError(
        f"{where}: metrics must be a table of sets, each with numbers rmse, mae and r2; "
        f"got {quote(metrics)}"
    )


def _check_diagnosis(diagnosis: Any, where: Path) -> None:
    """None, or exactly the text fields of ``Diagnosis``."""
    from .diagnostics import Diagnosis

    names = [f.name for f in fields(Diagnosis)]
    if diagnosis is None:
        return
    if (
        not isinstance(diagnosis, dict)
        or set(diagnosis) != set(names)
        or not all(isinstance(v, str) for v in diagnosis.values())
    ):
        raise DataError(
            f"{where}: diagnosis must be a table of the texts {', '.join(names)}, "
            f"got {quote(diagnosis)}"
        )


def _read_tensors(folder: Path, name: str, info: dict[str, Any], limit: int) -> dict[str, Any]:
    """A listed safetensors file's tensors (bounded, hash checked, memory checked first)."""
    from safetensors import SafetensorError
    from safetensors.torch import load as load_tensors

    from .memory import check_memory

    path = folder / name
    size = _regular(path, limit).st_size
    check_memory(2 * size, f"{path}", "it may be damaged or forged; train again", error=DataError)
    data = _read_listed(folder, name, info, limit)
    try:
        return load_tensors(data)
    except (SafetensorError, ValueError, TypeError, RuntimeError, OSError) as error:
        raise DataError(f"{path}: not a readable safetensors file ({_line(error)})") from None


def _tensor_problem(tensors: Any, shapes: dict[str, tuple[int, ...]]) -> str | None:
    """What is wrong with a model's tensors: names, dtype (float32 only), shapes, the scaler."""
    import torch

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
        tensor = tensors[name]
        if not isinstance(tensor, torch.Tensor) or tensor.dtype != torch.float32:
            kind = quote(tensor)
            if isinstance(tensor, torch.Tensor):
                kind = str(tensor.dtype).removeprefix("torch.")
            return f"{name} is {kind}, not float32"
        if tuple(tensor.shape) != shape:
            return f"{name} has shape {tuple(tensor.shape)}, the model needs {shape}"
        if name.endswith("_scale") and not (torch.isfinite(tensor).all() and (tensor > 0).all()):
            return f"{name} must be finite and above 0 (a zero scale cannot predict)"
        if name.endswith("_mean") and not torch.isfinite(tensor).all():
            return f"{name} must be finite"
    return None


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
    from .model import MLP

    folder = Path(path)
    info = read_run(folder)
    shape = _check_architecture(info["model"], folder / "run.json")
    path = folder / "model.safetensors"
    weights = _read_tensors(folder, path.name, info, _limit(path.name, shape, info))
    problem = _tensor_problem(weights, shape.tensors())
    if problem:
        raise DataError(f"{path} does not fit run.json: {problem}; restore it or train again")
    if not all(torch.isfinite(v).all() for v in weights.values()):
        raise DataError(f"{path} holds non-finite weights; it cannot predict")
    model = MLP(
        shape.n_in,
        shape.hidden,
        shape.n_out,
        activation=shape.activation,
        members=shape.members,
    )
    model.load_state_dict(weights)
    model.eval()
    settings, data = info["settings"], info["data"]
    model_settings = {
        k: v
        for k, v in settings.get("model", {}).items()
        if k not in ("hidden", "members") and v is not None
    }
    train_settings = {k: v for k, v in settings.get("train", {}).items() if v is not None}
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
    regressor.x_names_ = tuple(data["x_names"])
    regressor.y_names_ = tuple(data["y_names"])
    regressor.y_ndim_ = data["y_ndim"]
    regressor.metrics_ = info.get("metrics")
    diagnosis = info.get("diagnosis")
    regressor.diagnosis_ = None if diagnosis is None else Diagnosis(**diagnosis)
    if "history.json" in info["files"]:  # an unlisted history.json is never read
        regressor.history_ = _read_history(folder, shape, info)
    regressor.run_info_ = info
    return regressor


def _read_history(folder: Path, shape: Shape, info: dict[str, Any]) -> History:
    """history.json, checked by ``History.from_dict`` and against the model's columns."""
    from .history import History

    path = folder / "history.json"
    data = parse_json(_read_listed(folder, path.name, info, JSON_LIMIT), path)
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
    from .history import MAX_SNAPSHOTS, Snapshot
    from .trainstate import TrainState, unflatten

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
    shape = _check_architecture(info["model"], where)
    limit = _limit("state.safetensors", shape, info)
    tensors = _read_tensors(folder, "state.safetensors", info, limit)
    state_path = folder / "state.json"
    saved = parse_json(_read_listed(folder, state_path.name, info, JSON_LIMIT), state_path)
    try:
        if not isinstance(saved, dict) or set(saved) != {"layout", "snapshots"}:
            raise ValueError("expected a table of layout and snapshots")
        records = saved["snapshots"]
        if not isinstance(records, list) or len(records) > MAX_SNAPSHOTS:
            raise ValueError(f"snapshots must be a list of at most {MAX_SNAPSHOTS:,}")
        tree = unflatten(saved["layout"], tensors)
        _check_state(tree, shape)
        snapshots = [Snapshot.from_dict(record) for record in records]
        if len({s.y_pred.shape for s in snapshots}) > 1 or any(
            s.y_pred.shape[1] != shape.n_out for s in snapshots
        ):
            raise ValueError(f"snapshots must all predict {shape.n_out} output(s) on one grid")
    except (KeyError, TypeError, ValueError, RecursionError) as error:
        raise DataError(f"{state_path}: damaged ({_line(error)}); start a new run") from None
    return TrainState(snapshots=snapshots, **tree)


def _check_state(tree: Any, shape: Shape) -> None:
    """Raise ValueError unless ``tree`` is a paused run of this model.

    The optimizer's and schedule's states must be what torch's own (one of OPTIMIZERS, the
    cosine schedule) would hold, so that resuming cannot fail halfway through a step.
    """
    if not isinstance(tree, dict) or set(tree) != STATE_KEYS:
        raise ValueError(f"the state must hold exactly {', '.join(sorted(STATE_KEYS))}")
    shapes = shape.tensors()
    params = [s for name, s in shapes.items() if name.startswith("layers.")]
    _count(tree["step"], "step")
    _check_model(tree["model"], shapes, "model")
    _check_optimizer(tree["optimizer"], params)
    _check_schedule(tree["schedule"])
    _check_batches(tree["batches"])
    keeper = tree["keeper"]
    if (
        not isinstance(keeper, dict)
        or set(keeper) != {"copy", "step"}
        or not isinstance(keeper["copy"], list)
        or len(keeper["copy"]) != len(params)
    ):
        raise ValueError("keeper must hold a copy of each parameter and a step")
    for tensor, want in zip(keeper["copy"], params):
        _tensor(tensor, want, "keeper.copy")
    _count(keeper["step"], "keeper.step", none=True)
    best = tree["best"]
    if best is None:
        return
    if not isinstance(best, dict) or set(best) != {"loss", "step", "weights", "earlier"}:
        raise ValueError("best must hold loss, step, weights and earlier")
    if not isinstance(best["earlier"], list):
        raise ValueError("best.earlier must be a list")
    for kept in [best, *best["earlier"]]:
        if not isinstance(kept, dict) or not {"loss", "step", "weights"} <= set(kept):
            raise ValueError("best.earlier must hold loss, step and weights")
        if kept["loss"] is not None and not _is_number(kept["loss"]):
            raise ValueError(f"best.loss must be a number, got {quote(kept['loss'])}")
        _count(kept["step"], "best.step", none=True)
        if kept["weights"] is not None:
            _check_model(kept["weights"], shapes, "best.weights")


def _count(value: Any, name: str, *, high: int = MAX_COUNT, none: bool = False) -> None:
    if not (none and value is None) and (not _is_int(value) or not 0 <= value <= high):
        raise ValueError(f"{name} must be a whole number from 0 to {high}, got {quote(value)}")


def _tensor(value: Any, shape: tuple[int, ...], name: str, dtype: Any = None) -> None:
    import torch

    dtype = dtype or torch.float32
    if not isinstance(value, torch.Tensor) or value.dtype != dtype or tuple(value.shape) != shape:
        got = quote(value)
        if isinstance(value, torch.Tensor):
            got = f"{value.dtype} of shape {tuple(value.shape)}"
        raise ValueError(f"{name} must be a {dtype} tensor of shape {shape}, got {got}")


def _check_model(tensors: Any, shapes: dict[str, tuple[int, ...]], name: str) -> None:
    problem = _tensor_problem(tensors, shapes)
    if problem:
        raise ValueError(f"{name}: {problem}")


@functools.cache
def _reference(optimizer: str, schedule: str = "constant") -> dict[str, Any]:
    """The state_dict of torch's ``optimizer`` (or, with ``schedule``, of that schedule) after
    one step on a (2, 3) parameter: the keys and kinds of value a saved one must have."""
    import torch

    from .optim import make_optimizer, make_schedule

    weight = torch.nn.Parameter(torch.zeros(2, 3))
    torch_optimizer = make_optimizer(optimizer, [weight], 0.1)
    torch_schedule = make_schedule(schedule, torch_optimizer, 100)

    def closure() -> torch.Tensor:
        torch_optimizer.zero_grad()
        loss = (weight - 1).pow(2).sum()
        loss.backward()
        return loss

    torch_optimizer.step(closure)
    if torch_schedule is None:
        return torch_optimizer.state_dict()
    torch_schedule.step()
    return torch_schedule.state_dict()


def _same_kind(value: Any, reference: Any) -> bool:
    """``value`` is what torch would store where it stored ``reference``."""
    if isinstance(reference, bool) or reference is None or isinstance(reference, str):
        return type(value) is type(reference)
    if isinstance(reference, int):
        return _is_int(value)
    if isinstance(reference, float):
        return _is_number(value) and math.isfinite(value)
    if isinstance(reference, (list, tuple)):
        return (
            isinstance(value, list)
            and len(value) == len(reference)
            and all(map(_same_kind, value, reference))
        )
    return False


def _check_optimizer(optimizer: Any, params: list[tuple[int, ...]]) -> None:
    """The state of one of nnfit's optimizers (whichever: run.json's settings need not say)."""
    from .optim import OPTIMIZERS

    if not isinstance(optimizer, dict) or set(optimizer) != {"state", "param_groups"}:
        raise ValueError("optimizer must hold state and param_groups")
    groups = optimizer["param_groups"]
    if not isinstance(groups, list) or len(groups) != 1 or not isinstance(groups[0], dict):
        raise ValueError("optimizer.param_groups must be one table")
    group = groups[0]
    if group.get("params") != list(range(len(params))):
        raise ValueError("optimizer.param_groups must list each of the model's parameters")
    state = optimizer["state"]
    if not isinstance(state, dict) or not all(
        _is_int(k) and 0 <= k < len(params) and isinstance(v, dict) for k, v in state.items()
    ):
        raise ValueError("optimizer.state must be a table of each parameter's state")
    problem = "optimizer.param_groups are not those of any of " + ", ".join(OPTIMIZERS)
    for name in OPTIMIZERS:
        reference = _reference(name)
        settings = reference["param_groups"][0]
        keys, known = set(group) - {"params"}, set(settings) - {"params"}
        if not known <= keys <= known | {"initial_lr"}:
            continue
        try:
            for key in keys:
                if not _same_kind(group[key], settings.get(key, 0.0)):
                    raise ValueError(f"optimizer.param_groups: {key} is {quote(group[key])}")
            for k, entry in state.items():
                _check_param_state(entry, k, name, reference, params)
        except ValueError as error:
            problem = str(error)
            continue
        return
    raise ValueError(problem)


def _check_param_state(
    entry: dict[str, Any],
    k: int,
    name: str,
    reference: dict[str, Any],
    params: list[tuple[int, ...]],
) -> None:
    """One parameter's optimizer state: the keys torch's ``name`` keeps, of the right shapes."""
    if name == "lbfgs":
        _check_lbfgs(entry, k, sum(math.prod(s) for s in params))
        return
    expected = reference["state"].get(0, {})
    if set(entry) != set(expected):
        raise ValueError(f"optimizer.state[{k}] must hold {', '.join(sorted(expected))}")
    for key, value in entry.items():
        known = expected[key]
        if hasattr(known, "dim"):  # a tensor: a scalar (a step count) or one like the parameter
            want = () if known.dim() == 0 else params[k]
            _tensor(value, want, f"optimizer.state[{k}].{key}", known.dtype)
        elif not _same_kind(value, known):
            raise ValueError(f"optimizer.state[{k}].{key} is {quote(value)}")


def _check_lbfgs(entry: dict[str, Any], k: int, total: int) -> None:
    """L-BFGS keeps one state for all parameters: flat (total,) vectors and a short history."""
    import torch

    if k != 0 or not {"func_evals", "n_iter"} <= set(entry) <= LBFGS_KEYS:
        raise ValueError(f"optimizer.state (L-BFGS) must hold {', '.join(sorted(LBFGS_KEYS))}")
    for key, value in entry.items():
        name = f"optimizer.state.{key}"
        if key in ("func_evals", "n_iter"):
            _count(value, name)
        elif key in ("d", "prev_flat_grad"):
            _tensor(value, (total,), name)
        elif key in ("t", "H_diag", "prev_loss"):
            if not _is_number(value):
                _tensor(value, (), name)
        else:  # old_dirs, old_stps, ro, al: at most history_size entries
            if not isinstance(value, list) or len(value) > 1000:
                raise ValueError(f"{name} must be a short list")
            for item in value:
                if key in ("old_dirs", "old_stps"):
                    _tensor(item, (total,), name)
                elif not (key == "al" and item is None):
                    _tensor(item, (), name, torch.float32)


def _check_schedule(schedule: Any) -> None:
    """None (a constant learning rate) or the cosine schedule's state."""
    if schedule is None:
        return
    reference = _reference("sgd", "cosine")
    if not isinstance(schedule, dict) or set(schedule) != set(reference):
        raise ValueError(f"schedule must hold {', '.join(sorted(reference))}")
    for key, value in schedule.items():
        if not _same_kind(value, reference[key]):
            raise ValueError(f"schedule: {key} is {quote(value)}")


def _check_batches(batches: Any) -> None:
    """The minibatch order: a random generator's state, a permutation and a position in it."""
    import torch

    if not isinstance(batches, dict) or set(batches) != {"generator", "order", "position"}:
        raise ValueError("batches must hold generator, order and position")
    generator = batches["generator"]
    _tensor(generator, tuple(torch.Generator().get_state().shape), "batches.generator", torch.uint8)
    try:
        torch.Generator().set_state(generator)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError("batches.generator is not a random generator's state") from None
    order, n = batches["order"], 0
    if order is not None:
        if not isinstance(order, torch.Tensor) or order.dtype != torch.int64 or order.dim() != 1:
            raise ValueError("batches.order must be a list of row numbers (int64)")
        n = len(order)
        if not torch.equal(torch.sort(order).values, torch.arange(n)):
            raise ValueError("batches.order must hold each row number once")
    _count(batches["position"], "batches.position", high=n)

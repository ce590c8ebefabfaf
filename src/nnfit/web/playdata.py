"""The data a playground session fits: made from its settings, read from an uploaded table, or
edited on the chart.

An upload is kept by its session, in memory (never written to disk, never opened by name), and
read by the CLI's own reader (``load_dataset`` with ``content``: the same dialect sniffing,
column choice ``x``/``y``, ``encoding``, ``drop_missing`` and one-line messages as ``nnfit fit
FILE``) each time its column choice changes. Points added, moved or deleted on the chart become
the session's own data set (``Edited``) until a setting that makes the data changes. Whatever
the page draws is what a run trains on: ``session_dataset`` makes both, and a run gets it as
plain arrays (``run_data``). Every refusal is a ``Refused`` naming the setting to change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from ..errors import DataError, UsageError
from ..safetext import printable
from .form import MAX_INPUTS, Caps, Refused, build_run_config
from .report import finite

if TYPE_CHECKING:
    from ..data.dataset import Dataset

# the settings that choose an upload's data (offered with the upload, not as plain fields)
UPLOAD_SETTINGS = ("x", "y", "encoding", "drop_missing")
# the settings that make the points: changing one forgets the chart's edits ("new data" is seed)
MAKES_DATA = frozenset(
    {"function", "points", "noise", "noise_level", "domain", "seed", *UPLOAD_SETTINGS}
)
TEXT_SUFFIXES = frozenset({"", ".csv", ".tsv", ".txt", ".dat"})
MAX_NAME = 100  # characters of an uploaded file's name kept for messages


def refused(text: str, setting: str | None = None, status: int = 400) -> Refused:
    """A data request the playground refuses: one line, the setting to change (or None), and
    the HTTP status (400; 413 for an upload over the size cap). Its code is ``data``: the
    中文 page frames the reader's English line."""
    return Refused.framed(text, "data", setting=setting, status=status)


@dataclass(frozen=True)
class Upload:
    """A table a page uploaded: its name (for messages only, never a path), bytes and columns."""

    name: str
    content: bytes
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Edited:
    """The session's own points, edited on the chart (one input): what its runs fit next."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    x_name: str
    y_name: str
    source: str


def upload_name(name: Any) -> str:
    """An uploaded file's name as messages quote it: its last part, printable, short. Only
    text tables are taken (csv, tsv, txt, dat, or no suffix)."""
    text = name if isinstance(name, str) else ""
    text = printable(text.replace("\\", "/").rsplit("/", 1)[-1].strip())[:MAX_NAME] or "upload"
    suffix = PurePosixPath(text).suffix.lower()
    if suffix not in TEXT_SUFFIXES:
        raise refused(
            f"the playground reads text tables (csv, tsv, txt, dat), not {text}; save it as "
            "CSV, or fit it with nnfit fit",
            "file",
        )
    return text


def receive_upload(name: Any, content: bytes, encoding: Any, caps: Caps) -> Upload:
    """Check an uploaded table and read its column names with the CLI's reader.

    Raises:
        Refused: over ``caps.upload_bytes`` (413), not a text table, unreadable (binary,
            another encoding, empty, malformed), each in the reader's one line.
    """
    if len(content) > caps.upload_bytes:
        raise refused(too_big(caps), "file", 413)
    shown = upload_name(name)
    return Upload(shown, content, _columns(shown, content, encoding))


def too_big(caps: Caps) -> str:
    """The line that refuses an upload over the server's cap."""
    return (
        f"an upload may have at most {caps.upload_bytes:,} bytes on this server; fit bigger "
        "files with nnfit fit"
    )


class _Found(Exception):
    """Carries the column names out of the reader once its header is read."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns


def _columns(name: str, content: bytes, encoding: Any) -> tuple[str, ...]:
    """The table's column names, as the reader sees them (header, or col1, col2, ...)."""
    from ..io.table import read_table

    def found(columns: tuple[str, ...]) -> list[int]:
        raise _Found(columns)  # the header is all this needs: stop reading here

    if encoding is not None and not isinstance(encoding, str):
        raise refused(
            f"encoding must be text such as latin-1, got {printable(encoding)[:40]}", "encoding"
        )
    try:
        read_table(name, encoding=encoding, use=found, content=content)
    except _Found as header:
        return header.columns
    except (DataError, UsageError) as error:
        raise refused(str(error), "encoding" if "encoding" in str(error) else "file") from None
    raise refused(f"{name} has no columns; it needs a header or rows of numbers", "file")


def session_dataset(
    values: Any, caps: Caps, *, upload: Upload | None, edited: Edited | None
) -> Dataset:
    """The data a session's runs fit with these settings: the chart's edits, else the upload
    read with the column choice in ``values``, else the function's points."""
    from ..data.dataset import Dataset, load_dataset

    if edited is not None:
        x, y = _arrays(edited)
        return Dataset(x, y, (edited.x_name,), (edited.y_name,), edited.source)
    if upload is not None:
        return upload_dataset(upload, values, caps)
    config = build_run_config(values if values is not None else {}, caps)
    return load_dataset(config.data, seed=config.train.seed)


def upload_dataset(upload: Upload, values: Any, caps: Caps) -> Dataset:
    """An upload read as ``nnfit fit FILE --x .. --y ..`` reads the file, within the caps."""
    from ..data.dataset import load_dataset
    from ..data.synthetic import DataConfig

    values = values if isinstance(values, dict) else {}
    chosen = {name: values.get(name) for name in UPLOAD_SETTINGS if values.get(name) is not None}
    try:
        config = DataConfig(file=upload.name, **chosen)  # checks the values' types
        dataset = load_dataset(config, content=upload.content)
    except (DataError, UsageError) as error:
        raise refused(str(error), _blamed(str(error), chosen)) from None
    rows, inputs, outputs = len(dataset.x), dataset.x.shape[1], dataset.y.shape[1]
    if rows > caps.points:
        raise refused(
            f"{upload.name} has {rows:,} rows; the playground fits at most {caps.points:,} "
            "points on this server; fit it with nnfit fit",
            "file",
        )
    if inputs > MAX_INPUTS:
        raise refused(
            f"choose one or two x columns on the playground, not {inputs} (one is drawn as a "
            "curve, two as a heatmap); nnfit fit takes more",
            "x",
        )
    if outputs != 1:
        raise refused(
            f"choose one y column on the playground, not {outputs}; nnfit fit takes more", "y"
        )
    return dataset


def _blamed(message: str, chosen: dict[str, Any]) -> str | None:
    """The setting a reader's message is about: the flag it names, else the column choice."""
    for name, flag in (("drop_missing", "--drop-missing"), ("x", "--x"), ("y", "--y")):
        if flag in message:
            return name
    if "encoding" in message:
        return "encoding"
    if "input column" in message:  # the same value in every row: check_fittable's line
        return "x"
    for name in ("x", "y"):
        if name in chosen and "not found" in message:
            return name
    return "file"


def data_json(dataset: Dataset, kind: str, upload: Upload | None = None) -> dict[str, Any]:
    """The data for the page: x (numbers, or [x1, x2] rows), y, their names and where from.

    ``kind`` is ``function``, ``upload`` or ``edited``; every row is sent (the caps keep them
    few), so the page draws exactly what a run fits and edits name rows by index.
    """
    inputs = dataset.x.shape[1]
    xs = dataset.x[:, 0] if inputs == 1 else dataset.x
    return {
        "kind": kind,
        "x": [finite(float(v)) for v in xs] if inputs == 1 else [[float(v) for v in r] for r in xs],
        "y": [finite(float(v)) for v in dataset.y[:, 0]],
        "n_inputs": inputs,
        "x_names": list(dataset.x_names),
        "y_names": list(dataset.y_names),
        "noise_floor": finite(dataset.noise_floor),
        "source": dataset.source,
        "dropped": dataset.n_dropped,
        "upload": None if upload is None else {"name": upload.name, "columns": upload.columns},
    }


def run_data(dataset: Dataset) -> dict[str, Any]:
    """A Dataset as plain, picklable values: what ``PlayRun(data=...)`` takes."""
    from ..data.dataset import Dataset

    return {f.name: getattr(dataset, f.name) for f in fields(Dataset)}


def edit(dataset: Dataset, change: Any, caps: Caps) -> Edited:
    """The data with one point added, moved or deleted, as ``change`` asks:
    ``{"action": "add", "x", "y"}``, ``{"action": "move", "index", "x", "y"}`` or
    ``{"action": "delete", "index"}`` (index: the row in the data the page was sent)."""
    if dataset.x.shape[1] != 1:
        raise refused("points can be added, moved or deleted on data with one input x only")
    if not isinstance(change, dict) or change.get("action") not in ("add", "move", "delete"):
        raise refused("a point change is {action: add, move or delete, index, x, y}")
    xs, ys = list(map(float, dataset.x[:, 0])), list(map(float, dataset.y[:, 0]))
    action = change["action"]
    if action == "delete":
        index = _row(change.get("index"), len(xs))
        if len(xs) <= 2:
            raise refused("keep at least 2 points to fit")
        del xs[index], ys[index]
    else:
        x, y = _number(change.get("x"), "x"), _number(change.get("y"), "y")
        if action == "move":
            index = _row(change.get("index"), len(xs))
            xs[index], ys[index] = x, y
        elif len(xs) >= caps.points:
            raise refused(f"at most {caps.points:,} points on this server", "points")
        else:
            xs.append(x)
            ys.append(y)
    name = dataset.source if dataset.source.startswith("edited: ") else f"edited: {dataset.source}"
    return Edited(tuple(xs), tuple(ys), dataset.x_names[0], dataset.y_names[0], name)


def _row(index: Any, n: int) -> int:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
        raise refused(f"index must be a row from 0 to {n - 1}, got {printable(index)[:40]}")
    return index


def _number(value: Any, name: str) -> float:
    from ..io.cells import FLOAT32_OVERFLOW  # training runs in float32

    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or abs(value) >= FLOAT32_OVERFLOW:
        raise refused(f"a point's {name} must be a finite number, got {printable(value)[:40]}")
    return float(value)


def _arrays(edited: Edited) -> tuple[Any, Any]:
    import numpy as np

    x = np.asarray(edited.x, dtype=np.float64).reshape(-1, 1)  # (n, 1)
    y = np.asarray(edited.y, dtype=np.float64).reshape(-1, 1)  # (n, 1)
    return x, y

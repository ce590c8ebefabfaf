"""Read a user's measurement file into a float table, and pick its x and y columns.

Text tables (csv, tsv, txt, dat, no extension, "-" for stdin) are parsed by ``nnfit.csvsniff``;
NumPy files (npy, npz) and Parquet are read here. Every problem raises ``DataError`` (the file)
or ``UsageError`` (the column choice) with a one-line message naming file, line and column.
"""

from __future__ import annotations

import difflib
import io
import os
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from . import csvsniff
from .errors import DataError, UsageError

__all__ = ["Table", "read_table", "select_columns"]

SUPPORTED = "csv, tsv, txt, dat, npy, npz and parquet"
NUMPY_SUFFIXES = frozenset({".npy", ".npz"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
UNSUPPORTED = {  # suffix -> what to do instead
    **dict.fromkeys((".xlsx", ".xlsm", ".xls", ".ods", ".numbers"), "save it as CSV"),
    **dict.fromkeys((".gz", ".bz2", ".xz", ".zst", ".zip", ".7z", ".rar", ".tar"), "unpack it"),
    **dict.fromkeys(
        (".json", ".jsonl", ".ndjson", ".xml", ".html", ".h5", ".hdf5", ".feather", ".arrow"),
        "convert it to CSV or Parquet",
    ),
    **dict.fromkeys(
        (".pkl", ".pickle", ".mat", ".sav", ".dta", ".db", ".sqlite", ".pt", ".pth", ".pdf"),
        "convert it to CSV or Parquet",
    ),
}


@dataclass(frozen=True, eq=False)
class Table:
    """Numeric columns read from one file.

    Args:
        columns: Column names; "col1", "col2", ... when the file has no header.
        values: (n_rows, n_columns) float64; float32 past 1e6 rows when every value fits.
        source: The file name as given, or "<stdin>".
        n_dropped: Rows skipped because of missing values (``drop_missing=True``).
    """

    columns: tuple[str, ...]
    values: np.ndarray
    source: str
    n_dropped: int = 0


def read_table(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    drop_missing: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Table:
    """Read a csv/tsv/txt/dat, npy/npz or parquet file into a Table of finite floats.

    Args:
        path: The file; "-" reads delimited text from standard input.
        encoding: Text encoding; default UTF-8 (with or without BOM, or UTF-16 with a BOM).
        drop_missing: Skip rows with missing values (empty, NA, NaN, null, ?) instead of failing.
        progress: Called as ``progress(bytes_read, total_bytes)`` while a text file loads.

    Returns:
        The Table; it has at least 2 rows and only finite values.

    Raises:
        DataError: The file is missing, unreadable, malformed, non-numeric or too short.
        UsageError: The encoding is unknown.

    Example:
        >>> table = read_table("oven.csv", drop_missing=True)  # doctest: +SKIP
        >>> x, y, x_names, y_names = select_columns(table, x="time")  # doctest: +SKIP
    """
    if isinstance(path, str) and path == "-":
        return _read_stdin(encoding, drop_missing, progress)
    source = os.fsdecode(path)
    suffix = Path(source).suffix.lower()
    if suffix in UNSUPPORTED:
        raise DataError(
            f"cannot read '{suffix}' files like {source}; nnfit reads {SUPPORTED} files; "
            f"{UNSUPPORTED[suffix]}"
        )
    with _open(source) as stream:
        total_bytes = os.fstat(stream.fileno()).st_size
        if suffix in NUMPY_SUFFIXES:
            columns, values = _read_numpy(stream, source, suffix)
        elif suffix in PARQUET_SUFFIXES:
            columns, values = _read_parquet(stream, source)
        else:
            columns, values, n_dropped = csvsniff.read_text(
                stream,
                source,
                total_bytes=total_bytes,
                encoding=encoding,
                drop_missing=drop_missing,
                progress=progress,
            )
            return Table(columns, values, source, n_dropped)
    if progress is not None:
        progress(total_bytes, total_bytes)
    values, n_dropped = _check_array(values, columns, source, drop_missing)
    return Table(columns, values, source, n_dropped)


def select_columns(
    table: Table, x: str | None = None, y: str | None = None
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """Pick the x (input) and y (target) columns of a table.

    Args:
        table: A Table from ``read_table``.
        x: Comma-separated columns, each a name or an index counted from 1 ("1" is the first
            column, unless a column is literally named "1": a name always wins).
        y: Likewise. When only one of x, y is given, the other is the single remaining column.
            With neither, the table must have exactly two columns: x first, y second.

    Returns:
        (x (n_rows, n_x), y (n_rows, n_y), x_names, y_names)

    Raises:
        UsageError: A column is unknown, chosen twice, or the choice is ambiguous.

    Example:
        >>> x, y, x_names, y_names = select_columns(table, x="time", y="2")  # doctest: +SKIP
    """
    x_index = _parse_choice(table, x, "--x")
    y_index = _parse_choice(table, y, "--y")
    columns = table.columns
    if x_index is None:
        if y_index is None:
            _check_two_columns(table)
            x_index, y_index = [0], [1]
        else:
            x_index = _the_other_column(table, y_index, "--x")
    elif y_index is None:
        y_index = _the_other_column(table, x_index, "--y")
    both = sorted(set(x_index) & set(y_index))
    if both:
        raise UsageError(
            f"column '{table.columns[both[0]]}' is chosen for both --x and --y; pick it for one"
        )
    x_names = tuple(columns[i] for i in x_index)
    y_names = tuple(columns[i] for i in y_index)
    return table.values[:, x_index], table.values[:, y_index], x_names, y_names


def _check_two_columns(table: Table) -> None:
    """Without --x and --y the table must have exactly two columns."""
    columns = table.columns
    if len(columns) < 2:
        raise UsageError(
            f"{table.source} has only 1 column ({columns[0]}); nnfit needs 2, one for x and "
            "one for y"
        )
    if len(columns) > 2:
        raise UsageError(
            f"{table.source} has {len(columns)} columns ({_names(columns)}); choose them "
            f"with --x and --y, e.g. --x {columns[0]} --y {columns[1]}"
        )


def _parse_choice(table: Table, choice: str | None, flag: str) -> list[int] | None:
    """Column indices (from 0) for a comma-separated choice of names or 1-based indices."""
    if choice is None:
        return None
    indices: list[int] = []
    for token in (part.strip() for part in choice.split(",")):
        if token in table.columns:
            index = table.columns.index(token)
        elif token.isascii() and token.isdigit():
            index = int(token) - 1
            if not 0 <= index < len(table.columns):
                raise UsageError(
                    f"{flag} column {token} is out of range; columns are numbered 1 to "
                    f"{len(table.columns)}: {_names(table.columns)}"
                )
        elif not token:
            raise UsageError(f"{flag} '{choice}' has an empty column name; list names like a,b")
        else:
            raise UsageError(_not_found(token, table.columns))
        if index in indices:
            raise UsageError(f"{flag} names column '{table.columns[index]}' twice; list it once")
        indices.append(index)
    return indices


def _not_found(name: str, columns: tuple[str, ...]) -> str:
    message = f"column '{name}' not found; columns are: {_names(columns)}"
    close = difflib.get_close_matches(name, columns, n=1)
    return message + (f"; did you mean '{close[0]}'?" if close else "")


def _the_other_column(table: Table, chosen: list[int], flag: str) -> list[int]:
    rest = [i for i in range(len(table.columns)) if i not in chosen]
    if len(rest) != 1:
        left = _names(tuple(table.columns[i] for i in rest)) if rest else "none"
        raise UsageError(
            f"cannot tell which column {flag} is: columns left are {left}; pass {flag}"
        )
    return rest


def _names(columns: tuple[str, ...], limit: int = 20) -> str:
    shown = ", ".join(columns[:limit])
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > limit else "")


def _open(source: str) -> BinaryIO:
    """Open a file for binary reading, turning OS errors into one-line DataErrors."""
    try:
        return open(source, "rb")
    except FileNotFoundError:
        raise DataError(f"file {source} not found; {_nearby(source)}") from None
    except IsADirectoryError:
        raise DataError(f"{source} is a folder, not a file; pass a data file inside it") from None
    except PermissionError:
        raise DataError(f"cannot read {source}: permission denied; check its permissions") from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise DataError(f"cannot open {source}: {reason}; check the path") from None


def _nearby(source: str) -> str:
    """A hint for a missing file: a similar name in its folder, else the folder to check."""
    folder = Path(source).parent
    try:
        names = sorted(entry.name for entry in folder.iterdir() if entry.is_file())
    except OSError:
        return f"check the path (folder {folder} is not readable either)"
    close = difflib.get_close_matches(Path(source).name, names, n=1, cutoff=0.8)
    if close:
        return f"did you mean {folder / close[0]}?"
    return f"check the path (looked in {folder.resolve()})"


def _read_stdin(
    encoding: str | None, drop_missing: bool, progress: Callable[[int, int], None] | None
) -> Table:
    buffer = getattr(sys.stdin, "buffer", None)
    data = buffer.read() if buffer is not None else sys.stdin.read().encode()
    columns, values, n_dropped = csvsniff.read_text(
        io.BytesIO(data),
        "<stdin>",
        total_bytes=len(data),
        encoding=encoding,
        drop_missing=drop_missing,
        progress=progress,
    )
    return Table(columns, values, "<stdin>", n_dropped)


def _read_numpy(stream: BinaryIO, source: str, suffix: str) -> tuple[tuple[str, ...], np.ndarray]:
    """Columns and values of an .npy array or an .npz archive."""
    try:
        loaded = np.load(stream, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            array = np.asarray(loaded)
        else:
            with loaded:
                arrays = {name: loaded[name] for name in loaded.files}
    except ValueError as error:
        if str(error).startswith("Object arrays"):
            raise DataError(
                f"{source} holds Python objects (object arrays), which nnfit does not load for "
                "safety; save plain numeric arrays"
            ) from None
        raise DataError(
            f"{source} is not a NumPy {suffix} file of plain arrays; save it with np.save/np.savez"
        ) from None
    except (OSError, EOFError, KeyError, zipfile.BadZipFile):
        raise DataError(
            f"{source} is not a readable NumPy {suffix} file (damaged or cut short); save it again"
        ) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        return _array_columns(array, source, "col")
    return _npz_columns(arrays, source)


def _npz_columns(arrays: dict[str, np.ndarray], source: str) -> tuple[tuple[str, ...], np.ndarray]:
    """One 2-D array; arrays named x and y; or 1-D arrays of equal length, one column each."""
    if not arrays:
        raise DataError(f"{source} holds no arrays; save the data with np.savez(path, x=x, y=y)")
    shapes = ", ".join(f"{name} {array.shape}" for name, array in arrays.items())
    if len(arrays) == 1:
        ((name, array),) = arrays.items()
        return _array_columns(array, source, "col" if array.ndim == 2 else name)
    if "x" in arrays and "y" in arrays:
        arrays = {"x": arrays["x"], "y": arrays["y"]}
    elif not all(array.ndim == 1 for array in arrays.values()):
        raise DataError(
            f"{source} holds {shapes}; nnfit reads an .npz with one 2-D array, arrays named x and "
            "y, or 1-D arrays of equal length"
        )
    parts = [_array_columns(array, source, name) for name, array in arrays.items()]
    lengths = {len(values) for _, values in parts}
    if len(lengths) > 1:
        raise DataError(f"{source} holds arrays of different lengths ({shapes}); make them equal")
    columns = tuple(name for names, _ in parts for name in names)
    return columns, np.hstack([values for _, values in parts])


def _array_columns(array: np.ndarray, source: str, name: str) -> tuple[tuple[str, ...], np.ndarray]:
    """A 1-D array is one column called name; a 2-D one gives name1, name2, ..."""
    if array.ndim == 1:
        return (name if name != "col" else "col1",), array.reshape(-1, 1)
    if array.ndim != 2:
        raise DataError(
            f"{source}: array '{name}' has shape {array.shape}; nnfit needs 1-D or 2-D arrays"
        )
    if array.shape[1] == 1 and name != "col":
        return (name,), array
    return tuple(f"{name}{j + 1}" for j in range(array.shape[1])), array


def _read_parquet(stream: BinaryIO, source: str) -> tuple[tuple[str, ...], np.ndarray]:
    """Columns and values of a Parquet file, read with pyarrow (an optional dependency)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError("reading Parquet needs pyarrow: pip install 'nnfit[parquet]'") from None
    try:
        data = pq.read_table(stream)
    except (pa.ArrowException, OSError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{source} is not a readable Parquet file ({reason})") from None
    float32_only = all(pa.types.is_float32(field.type) for field in data.schema)
    dtype = np.float32 if float32_only and data.num_rows > csvsniff.FLOAT32_ROWS else np.float64
    values = np.empty((data.num_rows, data.num_columns), dtype)  # (n_rows, n_columns)
    for j, field in enumerate(data.schema):
        kind = field.type
        numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
        if not (numeric or pa.types.is_boolean(kind) or pa.types.is_decimal(kind)):
            raise DataError(
                f"{source}, column '{field.name}': holds {kind} values, not numbers; remove that "
                "column or convert it to numbers"
            )
        column = data.column(j).cast(pa.float64())  # nulls become NaN below
        values[:, j] = column.to_numpy(zero_copy_only=False)
    return tuple(data.column_names), values


def _check_array(
    values: np.ndarray, columns: tuple[str, ...], source: str, drop_missing: bool
) -> tuple[np.ndarray, int]:
    """Float, finite, at least 2 rows; NaN rows dropped when asked. Rows are counted from 1."""
    if not (np.issubdtype(values.dtype, np.number) or values.dtype == np.bool_):
        raise DataError(f"{source} holds {values.dtype} values, not numbers; save numeric arrays")
    if np.issubdtype(values.dtype, np.complexfloating):
        raise DataError(f"{source} holds complex numbers; save the real and imaginary parts")
    if values.dtype != np.float32 or len(values) <= csvsniff.FLOAT32_ROWS:
        values = values.astype(np.float64)
    n_dropped = 0
    missing = np.isnan(values).any(axis=1)
    if missing.any():
        if not drop_missing:
            rows = np.flatnonzero(missing)
            shown = ", ".join(
                f"row {i + 1} (column '{columns[int(np.flatnonzero(np.isnan(values[i]))[0])]}')"
                for i in rows[:5]
            )
            more = " and more" if len(rows) > 5 else ""
            raise DataError(
                f"{source} has missing values (NaN or null) on {shown}{more}; "
                "pass --drop-missing to skip those rows, or fill them in"
            )
        n_dropped = int(missing.sum())
        values = values[~missing]
    infinite = np.argwhere(np.isinf(values))
    if len(infinite):
        i, j = infinite[0]
        raise DataError(
            f"{source} row {i + 1}, column '{columns[j]}': value {values[i, j]} is infinite; "
            "nnfit needs finite numbers, so fix or remove it"
        )
    if len(values) < 2:
        left = f" after dropping {n_dropped} with missing values" if n_dropped else ""
        raise DataError(f"{source} has {len(values)} data row(s){left}; needs at least 2 data rows")
    return values, n_dropped

"""Read a user's measurement file into a float table, and pick its x and y columns.

Text tables (csv, tsv, txt, dat, no extension, "-" for stdin) are parsed by ``nnfit.io.csvsniff``
(their dialect sniffed by ``io.dialect``, each cell read by ``io.cells``);
NumPy files (npy, npz) and Parquet are read here. Every problem raises ``DataError`` (the file)
or ``UsageError`` (the column choice) with a one-line message naming file, line and column.

A caller that needs some columns names them (``use``, e.g. ``columns_for(x="a", y="b")``): only
those must hold numbers, so an id, a name or a date beside them is no error.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar, cast

import numpy as np

from ..errors import DataError, UsageError
from ..io import csvsniff
from ..safetext import closest, printable
from .arrays import read_numpy, read_parquet
from .cells import FLOAT32_OVERFLOW
from .csvsniff import Use

__all__ = ["Table", "columns_for", "read_table", "select_columns"]

SUPPORTED = "csv, tsv, txt, dat, npy, npz and parquet"
_T = TypeVar("_T")
STDIN_CLOSED = "standard input is closed; pipe CSV into `nnfit fit -` or give a file name"
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
    """The numeric columns read from one file, and the names (and text) of all its columns.

    Args:
        columns: Names of the columns read as numbers (those ``use`` chose; all by default);
            "col1", "col2", ... when the file has no header.
        values: (n_rows, len(columns)) float64; float32 past 1e6 rows when every value fits.
        source: The file name as given, or "<stdin>".
        n_dropped: Rows skipped because of missing values (``drop_missing=True``).
        units: One per column of ``columns`` ("" where blank) when a text file has a units
            row under its header ("°C", "mm Hg"), which is then read as no data; () otherwise.
        all_columns: Every column of the file, in order; () stands for ``columns``.
        cells: With ``keep_text``: each kept row's cells as written, one per ``all_columns``
            (for NumPy and Parquet files, the numbers' shortest text); None otherwise.
    """

    columns: tuple[str, ...]
    values: np.ndarray
    source: str
    n_dropped: int = 0
    units: tuple[str, ...] = ()
    all_columns: tuple[str, ...] = ()
    cells: list[list[str]] | None = None

    def __post_init__(self) -> None:
        if not self.all_columns:
            object.__setattr__(self, "all_columns", self.columns)


def read_table(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    drop_missing: bool = False,
    progress: Callable[[int, int], None] | None = None,
    use: Use | None = None,
    keep_text: bool = False,
    content: bytes | None = None,
) -> Table:
    """Read a csv/tsv/txt/dat, npy/npz or parquet file into a Table of finite floats.

    Args:
        path: The file; "-" reads delimited text from standard input. With ``content``, only
            the text table's name (for messages and its kind): the file is not opened.
        encoding: Text encoding; default UTF-8 (with or without BOM, or UTF-16 with a BOM).
        drop_missing: Skip rows with missing values (empty, NA, NaN, null, ?) in the columns
            read instead of failing.
        progress: Called as ``progress(bytes_read, total_bytes)`` while a text file loads.
        use: Called with every column's name once they are known; returns the indices (from
            0, ascending) of the columns to read as numbers. Default: all. The others may hold
            anything, and are not read from NumPy and Parquet files (unless ``keep_text``).
        keep_text: Also keep each kept row's cells as written (``Table.cells``).
        content: A text table's bytes, already in memory (e.g. uploaded to the playground):
            read exactly as the file would be.

    Returns:
        The Table; it has at least 2 rows and only finite values.

    Raises:
        DataError: The file is missing, unreadable, malformed, non-numeric or too short.
        UsageError: The encoding is unknown, or ``use`` refuses the columns.

    Example:
        >>> table = read_table("oven.csv", drop_missing=True, use=columns_for("time", "temp"))
        ... # doctest: +SKIP
        >>> x, y, x_names, y_names = select_columns(table, x="time", y="temp")  # doctest: +SKIP
    """
    if isinstance(path, str) and path == "-":
        return _read_stdin(encoding, drop_missing, progress, use, keep_text)
    source = os.fsdecode(path)
    shown = printable(source)  # the name as messages quote it: no terminal escapes
    suffix = Path(source).suffix.lower()
    if suffix in UNSUPPORTED:
        raise DataError(
            f"cannot read '{printable(suffix)}' files like {shown}; nnfit reads {SUPPORTED} "
            f"files; {UNSUPPORTED[suffix]}"
        )
    if content is not None:
        return _text_in_memory(content, source, encoding, drop_missing, use, keep_text)
    try:
        with _open(source) as stream:
            info = os.fstat(stream.fileno())
            total_bytes = info.st_size
            if suffix in NUMPY_SUFFIXES | PARQUET_SUFFIXES and not stat.S_ISREG(info.st_mode):
                raise DataError(f"{shown} is not a regular file; save the {suffix} data to a file")
            if suffix in NUMPY_SUFFIXES:
                columns, used, values, text = read_numpy(
                    stream, shown, suffix, use=use, keep_text=keep_text
                )
            elif suffix in PARQUET_SUFFIXES:
                columns, used, values, text = read_parquet(
                    stream, shown, use=use, keep_text=keep_text
                )
            else:
                read = csvsniff.read_text(
                    stream,
                    shown,
                    total_bytes=total_bytes,
                    encoding=encoding,
                    drop_missing=drop_missing,
                    progress=progress,
                    use=use,
                    keep_text=keep_text,
                )
                return _text_table(read, source)
    except OSError as error:  # a read failing half way (EIO, a file truncated under us)
        reason = printable(error.strerror or error)
        raise DataError(f"cannot read {shown}: {reason}; check the file") from None
    if progress is not None:
        progress(total_bytes, total_bytes)
    chosen = tuple(columns[j] for j in used)
    cells = None
    if text is not None:  # the rows _check_array keeps: those without NaN, with drop_missing
        kept = ~np.isnan(values).any(axis=1) if drop_missing else slice(None)
        cells = text[kept].tolist()
    values, n_dropped = _check_array(values, chosen, shown, drop_missing)
    return Table(chosen, values, source, n_dropped, all_columns=columns, cells=cells)


def columns_for(x: str | None = None, y: str | None = None, *, source: str = "the file") -> Use:
    """The ``use`` of ``read_table`` that reads only the columns ``select_columns(table, x, y)``
    picks: a choice that names no column, or is ambiguous, is refused (naming ``source``)
    before the data is read.

    Example:
        >>> table = read_table("oven.csv", use=columns_for(x="time"))  # doctest: +SKIP
    """

    def use(columns: tuple[str, ...]) -> list[int]:
        x_index, y_index = _choose(columns, x, y, source=source)
        return sorted([*x_index, *y_index])

    return use


def _text_in_memory(
    content: bytes,
    source: str,
    encoding: str | None,
    drop_missing: bool,
    use: Use | None,
    keep_text: bool,
) -> Table:
    """A text table held in memory, read by the same ``csvsniff.read_text`` as a file."""
    shown = printable(source)
    suffix = Path(source).suffix.lower()
    if suffix in NUMPY_SUFFIXES | PARQUET_SUFFIXES:
        raise DataError(f"{shown}: only text tables are read from memory; save it as CSV")
    text = csvsniff.read_text(
        io.BytesIO(content),
        shown,
        total_bytes=len(content),
        encoding=encoding,
        drop_missing=drop_missing,
        use=use,
        keep_text=keep_text,
    )
    return _text_table(text, source)


def _text_table(text: csvsniff.TextTable, source: str) -> Table:
    """A Table of what ``csvsniff.read_text`` read."""
    columns = tuple(text.columns[j] for j in text.used)
    units = tuple(text.units[j] for j in text.used) if text.units else ()
    return Table(columns, text.values, source, text.n_dropped, units, text.columns, text.cells)


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

    Names and indices count every column of the file (``table.all_columns``); the chosen
    ones must be among those read (``table.columns``): read with ``use=columns_for(x, y)``.

    Raises:
        UsageError: A column is unknown, chosen twice, or the choice is ambiguous.

    Example:
        >>> x, y, x_names, y_names = select_columns(table, x="time", y="2")  # doctest: +SKIP
    """
    names = table.all_columns
    x_index, y_index = _choose(names, x, y, source=table.source)
    x_names = tuple(names[i] for i in x_index)
    y_names = tuple(names[i] for i in y_index)
    unread = [name for name in (*x_names, *y_names) if name not in table.columns]
    if unread:
        raise UsageError(
            f"column '{printable(unread[0])}' of {printable(table.source)} was not read as "
            "numbers; read the table with use=columns_for(x, y)"
        )
    x_at = [table.columns.index(name) for name in x_names]
    y_at = [table.columns.index(name) for name in y_names]
    return table.values[:, x_at], table.values[:, y_at], x_names, y_names


def _choose(
    columns: tuple[str, ...], x: str | None, y: str | None, *, source: str
) -> tuple[list[int], list[int]]:
    """The indices of the x and y columns among ``columns`` (see ``select_columns``)."""
    x_index = _parse_choice(columns, x, "--x")
    y_index = _parse_choice(columns, y, "--y")
    if x_index is None:
        if y_index is None:
            _check_two_columns(columns, source)
            x_index, y_index = [0], [1]
        else:
            x_index = _the_other_column(columns, y_index, "--x")
    elif y_index is None:
        y_index = _the_other_column(columns, x_index, "--y")
    both = sorted(set(x_index) & set(y_index))
    if both:
        raise UsageError(
            f"column '{printable(columns[both[0]])}' is chosen for both --x and --y; "
            "pick it for one"
        )
    return x_index, y_index


def _check_two_columns(columns: tuple[str, ...], source: str) -> None:
    """Without --x and --y the table must have exactly two columns."""
    source = printable(source)
    if len(columns) < 2:
        raise UsageError(
            f"{source} has only 1 column ({printable(columns[0])}); nnfit needs 2, one for x "
            "and one for y"
        )
    if len(columns) > 2:
        raise UsageError(
            f"{source} has {len(columns)} columns ({_names(columns)}); choose them with --x "
            f"and --y, e.g. --x {printable(columns[0])} --y {printable(columns[1])}"
        )


def _parse_choice(columns: tuple[str, ...], choice: str | None, flag: str) -> list[int] | None:
    """Column indices (from 0) for a comma-separated choice of names or 1-based indices."""
    if choice is None:
        return None
    indices: list[int] = []
    for token in (part.strip() for part in choice.split(",")):
        if token in columns:
            index = columns.index(token)
        elif token.isascii() and token.isdigit():
            index = int(token) - 1
            if not 0 <= index < len(columns):
                raise UsageError(
                    f"{flag} column {token} is out of range; columns are numbered 1 to "
                    f"{len(columns)}: {_names(columns)}"
                )
        elif not token:
            raise UsageError(
                f"{flag} '{printable(choice)}' has an empty column name; list names like a,b"
            )
        else:
            raise UsageError(_not_found(token, columns))
        if index in indices:
            raise UsageError(
                f"{flag} names column '{printable(columns[index])}' twice; list it once"
            )
        indices.append(index)
    return indices


def _not_found(name: str, columns: tuple[str, ...]) -> str:
    message = f"column '{printable(name)}' not found; columns are: {_names(columns)}"
    near = closest(name, columns)
    return message + ("" if near is None else f"; did you mean '{printable(near)}'?")


def _the_other_column(columns: tuple[str, ...], chosen: list[int], flag: str) -> list[int]:
    rest = [i for i in range(len(columns)) if i not in chosen]
    if len(rest) != 1:
        left = _names(tuple(columns[i] for i in rest)) if rest else "none"
        raise UsageError(
            f"cannot tell which column {flag} is: columns left are {left}; pass {flag}"
        )
    return rest


def _names(columns: tuple[str, ...], limit: int = 20) -> str:
    """The first column names, printable, for a message."""
    shown = ", ".join(printable(name) for name in columns[:limit])
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > limit else "")


def _open(source: str) -> BinaryIO:
    """Open a file for binary reading, turning OS errors into one-line DataErrors."""
    shown = printable(source)
    try:
        return open(source, "rb")
    except FileNotFoundError:
        raise DataError(f"file {shown} not found; {_nearby(source)}") from None
    except IsADirectoryError:
        raise DataError(f"{shown} is a folder, not a file; pass a data file inside it") from None
    except PermissionError:
        raise DataError(f"cannot read {shown}: permission denied; check its permissions") from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise DataError(f"cannot open {shown}: {printable(reason)}; check the path") from None


def _nearby(source: str) -> str:
    """A hint for a missing file: a similar name in its folder, else the folder to check."""
    folder = Path(source).parent
    try:
        names = sorted(entry.name for entry in folder.iterdir() if entry.is_file())
    except OSError:
        return f"check the path (folder {printable(folder)} is not readable either)"
    near = closest(Path(source).name, names, cutoff=0.8)
    if near is not None:
        return f"did you mean {printable(folder / near)}?"
    return f"check the path (looked in {printable(folder.resolve())})"


def _read_stdin(
    encoding: str | None,
    drop_missing: bool,
    progress: Callable[[int, int], None] | None,
    use: Use | None,
    keep_text: bool,
) -> Table:
    """Delimited text from standard input, read as it streams in (never all at once)."""
    if sys.stdin is None:
        raise DataError(STDIN_CLOSED)
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # a text stream without bytes underneath, e.g. io.StringIO
        stream = cast(BinaryIO, _Stdin(io.BytesIO(_guarded(lambda: sys.stdin.read().encode()))))
    else:
        stream = cast(BinaryIO, _Stdin(buffer))
    total_bytes = _guarded(lambda: _regular_size(buffer))  # stdin redirected from a file
    text = csvsniff.read_text(
        stream,
        "<stdin>",
        total_bytes=total_bytes,
        encoding=encoding,
        drop_missing=drop_missing,
        progress=progress if total_bytes else None,
        use=use,
        keep_text=keep_text,
    )
    return _text_table(text, "<stdin>")


def _regular_size(buffer: BinaryIO | None) -> int:
    """The size of a regular file behind buffer; 0 for a pipe, terminal or in-memory stream."""
    try:
        info = os.fstat(buffer.fileno()) if buffer is not None else None
    except (AttributeError, io.UnsupportedOperation):
        return 0
    return info.st_size if info is not None and stat.S_ISREG(info.st_mode) else 0


def _guarded(read: Callable[[], _T]) -> _T:
    """Call read(); a closed or failing standard input becomes one DataError."""
    try:
        return read()
    except UnicodeError as error:  # a text stream that decodes for itself
        raise DataError(f"<stdin> is not valid text ({error}); check --encoding") from None
    except (OSError, ValueError):  # EBADF, or "I/O operation on closed file"
        raise DataError(STDIN_CLOSED) from None


class _Stdin(io.RawIOBase):
    """Standard input's bytes, counting what was read (a pipe cannot tell) and reporting a
    closed stream as one line."""

    def __init__(self, buffer: BinaryIO) -> None:
        self.buffer, self.n_read = buffer, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = _guarded(lambda: self.buffer.read(size))
        self.n_read += len(data)
        return data

    def tell(self) -> int:
        return self.n_read


def _check_array(
    values: np.ndarray, columns: tuple[str, ...], source: str, drop_missing: bool
) -> tuple[np.ndarray, int]:
    """Float, finite, within float32, at least 2 rows; NaN rows dropped when asked.

    Rows are counted from 1. Dtypes were checked where the file was read (headers, schema).
    """
    if values.dtype != np.float32 or len(values) <= csvsniff.FLOAT32_ROWS:
        values = values.astype(np.float64, copy=False)
    n_dropped = 0
    missing = np.isnan(values).any(axis=1)
    if missing.any():
        if not drop_missing:
            rows = np.flatnonzero(missing)
            shown = ", ".join(
                f"row {i + 1} (column '{_column(columns, np.isnan(values[i]))}')" for i in rows[:5]
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
            f"{source} row {i + 1}, column '{printable(columns[j])}': value {values[i, j]} is "
            "infinite; nnfit needs finite numbers, so fix or remove it"
        )
    if values.size and values.dtype != np.float32:
        limit = FLOAT32_OVERFLOW
        if not (-limit < values.min() and values.max() < limit):  # training runs in float32
            i, j = np.argwhere(np.abs(values) >= limit)[0]
            raise DataError(
                f"{source} row {i + 1}, column '{printable(columns[j])}': {values[i, j]:.6g} is "
                "too large for float32 (largest 3.4e38); rescale the column (e.g. other units)"
            )
    if len(values) < 2:
        left = f" after dropping {n_dropped} with missing values" if n_dropped else ""
        raise DataError(f"{source} has {len(values)} data row(s){left}; needs at least 2 data rows")
    return values, n_dropped


def _column(columns: tuple[str, ...], flags: np.ndarray) -> str:
    """The printable name of the first column where flags is True."""
    return printable(columns[int(np.flatnonzero(flags)[0])])

"""Read delimited text (CSV, TSV, whitespace columns) into floats, with exact error locations.

The dialect is sniffed from the first lines; the data is then read in chunks of ``CHUNK_BYTES``.
Each chunk goes through ``np.loadtxt`` (C speed, no per-row Python objects); a chunk it cannot
read as clean numbers is read again line by line, which finds the first bad cell for the message,
and skips rows with missing values when asked to.

Spreadsheet exports are read as meant where that is unambiguous: a delimiter ending every line
is no column, a text row under the header is its units (``Dialect.units``), and "1,234.5" or
"12,345,678" are numbers. A totals row, or "1,234" (1234 or 1.234?), is refused naming the line.

Only the columns a caller uses are read as numbers (``use``); the others may hold anything (an
id, a name, a date) and are kept as the text written there when asked (``keep_text``).
"""

from __future__ import annotations

import array
import codecs
import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from ..errors import DataError, UsageError
from ..memory import check_memory
from ..safetext import printable
from .cells import FLOAT32_OVERFLOW, BadCell, to_float
from .dialect import (
    Dialect,
    is_content,
    sniff_dialect,
    split_fields,
)

CHUNK_BYTES = 4 * 2**20  # 4 MiB per read: measured as fast as 16-64 MiB, with a smaller peak
FLOAT32_ROWS = 1_000_000  # tables with more rows are kept as float32 to halve their memory
MAX_LINE_CHARS = 8 * 2**20  # a longer line is not a table row; must stay above CHUNK_BYTES
CONTENT_LINE = re.compile(r"^[ \t]*[^#\s]", re.MULTILINE)  # a line that is not blank or a comment
Use = Callable[[tuple[str, ...]], Sequence[int]]  # column names -> indices of those to read


@dataclass(frozen=True, eq=False)
class TextTable:
    """A text table as read: every column's name, the used columns' numbers, the rest as text."""

    columns: tuple[str, ...]  # every column of the file, in order
    used: tuple[int, ...]  # the columns read as numbers: indices into columns, ascending
    values: np.ndarray  # (n_rows, len(used))
    n_dropped: int  # rows skipped for a missing value in a used column
    units: tuple[str, ...]  # a units row's cells, one per column; () when there is none
    cells: list[list[str]] | None  # with keep_text: each kept row's cells, one per column


def read_text(
    stream: BinaryIO,
    source: str,
    *,
    total_bytes: int,
    encoding: str | None = None,
    drop_missing: bool = False,
    progress: Callable[[int, int], None] | None = None,
    use: Use | None = None,
    keep_text: bool = False,
) -> TextTable:
    """Read a delimited text table.

    ``use`` is called with the column names once the header is read and returns the indices
    of the columns to read as numbers (default: all); only those must hold numbers, and only
    their missing values refuse (or, with ``drop_missing``, skip) a row. With ``keep_text``
    every kept row's cells are kept too, as written (quotes and surrounding spaces removed).
    """
    head = stream.read(4)
    decoder = _make_decoder(head, encoding)
    chunks = _text_chunks(head, stream, decoder, source, total_bytes, progress)

    # Gather text until it holds a line of data, then sniff the dialect from it. Chunks start
    # at line starts, so a content line lies within one chunk.
    pieces: list[str] = []
    for chunk, _ in chunks:
        pieces.append(chunk)
        if CONTENT_LINE.search(chunk):
            break
    text = "".join(pieces)
    del pieces
    if not text:
        raise DataError(f"{source} is empty; it needs at least 2 rows of numbers")
    lines = text.split("\n")
    dialect = sniff_dialect(lines, source)
    skip = dialect.first_line if dialect.has_header else dialect.first_line - 1
    skip = max(skip, dialect.units_line)
    rest = "\n".join(lines[skip:])  # the first data line onwards
    del lines, text

    used = tuple(range(len(dialect.columns))) if use is None else tuple(use(dialect.columns))
    assert list(used) == sorted(set(used)) and all(0 <= j < len(dialect.columns) for j in used)
    cells: list[list[str]] | None = [] if keep_text else None
    rows = _Rows(len(used), source)
    n_dropped = 0
    for text, line_no in itertools.chain([(rest, skip + 1)], chunks):
        block, dropped = _parse_chunk(text, line_no, dialect, source, drop_missing, used, cells)
        rows.append(block, _fraction_read(stream, total_bytes))
        n_dropped += dropped
    values = rows.finish()
    _check_row_count(len(values), n_dropped, dialect, source)
    return TextTable(dialect.columns, used, values, n_dropped, dialect.units, cells)


def _fraction_read(stream: BinaryIO, total_bytes: int) -> float:
    """Share of the stream read so far, for sizing the output array (1 when unknown)."""
    if not total_bytes:
        return 1.0
    try:
        return min(1.0, stream.tell() / total_bytes)
    except (OSError, ValueError):  # a pipe cannot tell
        return 1.0


def _make_decoder(head: bytes, encoding: str | None) -> codecs.IncrementalDecoder:
    """UTF-8 (BOM or not) by default, UTF-16 when its BOM says so, else what the user named."""
    if encoding is None:
        encoding = (
            "utf-16" if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"
        )
    try:
        return codecs.getincrementaldecoder(encoding)(errors="strict")
    except LookupError:
        raise UsageError(
            f"unknown encoding '{encoding}'; pass a name such as utf-8, latin-1, cp1252 or utf-16"
        ) from None


def _text_chunks(
    head: bytes,
    stream: BinaryIO,
    decoder: codecs.IncrementalDecoder,
    source: str,
    total_bytes: int,
    progress: Callable[[int, int], None] | None,
) -> Iterator[tuple[str, int]]:
    """Yield (text, its first line number): pieces that end at a line break, breaks made '\\n'.

    Text after the last break waits in ``pending`` as a list of pieces, joined once when its
    break arrives: a line spanning many blocks costs linear time, and is refused past
    MAX_LINE_CHARS. Lines between two breaks of one block are shorter than a block.
    """
    pending: list[str] = []  # the text of the unfinished line, no '\n' in it
    n_pending, line_no, n_read, held_cr = 0, 1, 0, False
    block = head + stream.read(CHUNK_BYTES)
    while True:
        final = not block
        n_read += len(block)
        text = _decode(decoder, block, final, source, line_no)
        if progress is not None:
            progress(n_read, max(total_bytes, n_read))
        if held_cr:
            text, held_cr = "\r" + text, False
        if "\r" in text:
            held_cr = text.endswith("\r") and not final  # its '\n' may come next
            text = text[: len(text) - held_cr].replace("\r\n", "\n").replace("\r", "\n")
        if "\x00" in text:  # checked on every block: /dev/zero ends at the first one
            bad_line = line_no + text[: text.index("\x00")].count("\n")
            raise DataError(
                f"{source} line {bad_line}: NUL bytes, so this is a binary file, not text; "
                "nnfit reads csv, tsv, txt, dat, npy, npz and parquet files"
            )
        first_break = text.find("\n")
        if n_pending + (len(text) if first_break < 0 else first_break) > MAX_LINE_CHARS:
            raise DataError(
                f"{source} line {line_no} is longer than {MAX_LINE_CHARS // 2**20} MiB: "
                "not a table of numbers; write one row per line (check the line breaks)"
            )
        cut = len(text) if final else text.rfind("\n") + 1
        if cut == 0 and not final:  # no line break yet
            pending.append(text)
            n_pending += len(text)
        else:
            chunk = "".join([*pending, text[:cut]])
            pending, n_pending = [text[cut:]], len(text) - cut
            if chunk:
                yield chunk, line_no
                line_no += chunk.count("\n")
        if final:
            return
        block = stream.read(CHUNK_BYTES)


def _decode(
    decoder: codecs.IncrementalDecoder, block: bytes, final: bool, source: str, line_no: int
) -> str:
    """One block as text; line_no is the line the block starts in (it holds no earlier break)."""
    try:
        return decoder.decode(block, final=final)
    except UnicodeDecodeError as error:
        bad_line = line_no + block[: max(error.start, 0)].count(b"\n")
        bad = block[max(error.start, 0) : error.end][:4]
        raise DataError(
            f"{source} line {bad_line}: bytes {bad!r} are not valid {error.encoding} text; "
            "if it is a text file in another encoding, pass --encoding (e.g. latin-1)"
        ) from None
    except UnicodeError as error:  # e.g. UTF-16 without its byte order mark
        raise DataError(
            f"{source} line {line_no}: cannot decode ({error}); check --encoding"
        ) from None


def _parse_chunk(
    text: str,
    line_no: int,
    dialect: Dialect,
    source: str,
    drop_missing: bool,
    used: tuple[int, ...],
    cells: list[list[str]] | None,
) -> tuple[np.ndarray, int]:
    """Parse lines starting at line_no: (values (n_rows, len(used)) float64, n_dropped); with
    ``cells``, each kept row's cells are appended to it."""
    block = _parse_fast(text, dialect, used)
    if block is not None:
        if cells is None:
            return block, 0
        plain = _plain_cells(text, dialect)
        if plain is not None and len(plain) == len(block):  # one row of cells per row read
            cells.extend(plain)
            return block, 0
    return _parse_exact(text, line_no, dialect, source, drop_missing, used, cells)


def _plain_cells(text: str, dialect: Dialect) -> list[list[str]] | None:
    """The cells of text without quotes, comments or blank lines, one list per line; None
    for anything else (the exact path then splits it line by line)."""
    if dialect.trailing or '"' in text or "#" in text:
        return None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if not all(line and not line.isspace() for line in lines):
        return None
    if dialect.delimiter is None or " " not in text:
        return [line.split(dialect.delimiter) for line in lines]
    return [[field.strip() for field in line.split(dialect.delimiter)] for line in lines]


def _parse_fast(text: str, dialect: Dialect, used: tuple[int, ...]) -> np.ndarray | None:
    """Parse a chunk of clean numbers with np.loadtxt; None when anything looks unusual."""
    if dialect.trailing:  # "1,2,\n" -> "1,2\n"; a value in that column fails the width check
        text = text.replace(f"{dialect.delimiter}\n", "\n")
        text = text.removesuffix(str(dialect.delimiter))
    if not text or text.isspace():
        return np.empty((0, len(used)))
    if "#" in text or (dialect.delimiter is None and '"' in text):
        return None
    subset = len(used) < len(dialect.columns)
    if subset and not _even_rows(text, dialect):
        return None
    if dialect.decimal_comma:
        if "." in text:
            return None  # a '.' in a decimal-comma file may be a thousands separator
        text = text.replace(",", ".")
    quotechar = '"' if dialect.delimiter is not None else None
    try:
        block = np.loadtxt(
            io.StringIO(text),
            delimiter=dialect.delimiter,
            quotechar=quotechar,
            comments=None,
            dtype=np.float64,
            ndmin=2,
            usecols=used if subset else None,
        )
    except ValueError:
        return None
    if block.shape[1] != len(used):
        return None
    if block.size and not (block.min() > -FLOAT32_OVERFLOW and block.max() < FLOAT32_OVERFLOW):
        return None  # NaN, inf or beyond float32: the exact path names the line
    return block


def _even_rows(text: str, dialect: Dialect) -> bool:
    """True when every line of unquoted text has one field per column: np.loadtxt reading some
    columns (``usecols``) would not notice a row with more fields."""
    if dialect.delimiter is None or '"' in text:
        return False
    n_delimiters = len(dialect.columns) - 1
    return all(line.count(dialect.delimiter) == n_delimiters for line in text.split("\n") if line)


def _parse_exact(
    text: str,
    line_no: int,
    dialect: Dialect,
    source: str,
    drop_missing: bool,
    used: tuple[int, ...],
    cells: list[list[str]] | None,
) -> tuple[np.ndarray, int]:
    """Parse line by line, raising DataError at the first bad line or cell."""
    n_columns = len(dialect.columns)
    values = array.array("d")  # the kept rows' used cells, flattened
    n_dropped = 0
    missing: list[tuple[int, str]] = []  # (line, column) of the first few missing cells
    for offset, line in enumerate(text.split("\n")):
        quick = _quick_row(line, dialect, n_columns, used)
        if quick is not None:
            values.extend(quick[0])
            if cells is not None:
                cells.append([field.strip() for field in quick[1]])
            continue
        if not is_content(line):
            continue
        where = line_no + offset
        row: list[float | None] = []
        try:
            fields = split_fields(line, dialect.delimiter)
            if dialect.trailing and len(fields) == n_columns + 1 and not fields[-1]:
                fields.pop()
            if len(fields) != n_columns:
                raise DataError(_width_message(len(fields), where, dialect, source))
            for j in used:
                row.append(to_float(fields[j], dialect.decimal_comma))
        except (DataError, csv.Error, BadCell) as error:
            if missing:  # report the earlier problem first
                break
            if isinstance(error, DataError):
                raise
            if isinstance(error, csv.Error):
                raise DataError(f"{source} line {where}: {error}; check the quotes") from None
            column = printable(dialect.columns[used[len(row)]])  # the cell after the last good one
            raise DataError(f"{source} line {where}, column '{column}': {error}") from None
        if None in row:
            if drop_missing:
                n_dropped += 1
                continue
            missing.append((where, dialect.columns[used[row.index(None)]]))
            if len(missing) > 5:
                break
            continue
        values.extend(row)  # type: ignore[arg-type]  # no None left in row
        if cells is not None:
            cells.append(fields)
    if missing:
        raise DataError(_missing_message(missing, source))
    return np.frombuffer(values, dtype=np.float64).reshape(-1, len(used)), n_dropped


def _quick_row(
    line: str, dialect: Dialect, n_columns: int, used: tuple[int, ...]
) -> tuple[list[float], list[str]] | None:
    """(the used cells as finite numbers, every cell) of a plain row whose used cells float()
    converts; None for anything else."""
    if '"' in line:
        return None
    fields = line.split(dialect.delimiter)
    if dialect.trailing and len(fields) == n_columns + 1 and not fields[-1].strip():
        fields.pop()
    if len(fields) != n_columns:
        return None
    numbers = [fields[j] for j in used]
    if any("_" in cell or not cell.isascii() for cell in numbers):  # float() takes 1_000, ５
        return None
    if dialect.decimal_comma:
        if any("." in cell for cell in numbers):
            return None
        numbers = [cell.replace(",", ".") for cell in numbers]
    try:
        row = [float(cell) for cell in numbers]
    except ValueError:
        return None
    return (row, fields) if all(abs(value) < FLOAT32_OVERFLOW for value in row) else None


def _width_message(n_fields: int, where: int, dialect: Dialect, source: str) -> str:
    n_columns = len(dialect.columns)
    what = "more" if n_fields > n_columns else "fewer"
    if dialect.has_header:
        against = f"the header (line {dialect.first_line}) has {n_columns}"
    else:
        against = f"the first row (line {dialect.first_line}) has {n_columns}"
    if dialect.trailing:
        against += " (its trailing delimiter ends an empty column that is not read)"
    shown = "whitespace" if dialect.delimiter is None else repr(dialect.delimiter)
    title = (
        f"; if line {dialect.first_line} is a title, start it with '#'" if n_columns == 1 else ""
    )
    return (
        f"{source} line {where} has {n_fields} fields, {what} than expected: {against}; "
        f"fix that row or check the delimiter (detected {shown}){title}"
    )


def _missing_message(missing: list[tuple[int, str]], source: str) -> str:
    shown = ", ".join(f"line {line} (column '{printable(column)}')" for line, column in missing[:5])
    more = " and more" if len(missing) > 5 else ""
    return (
        f"{source} has missing values (empty, NA, NaN, null or ?) on {shown}{more}; "
        "pass --drop-missing to skip those rows, or fill them in"
    )


def _check_row_count(n_rows: int, n_dropped: int, dialect: Dialect, source: str) -> None:
    if n_rows >= 2:
        return
    if n_dropped:
        raise DataError(
            f"{source} has {n_rows} data row(s) left after dropping {n_dropped} with missing "
            "values; needs at least 2 data rows"
        )
    if n_rows == 0:
        header = printable(", ".join(dialect.columns[:20]))
        header += f", ... ({len(dialect.columns)} in all)" if len(dialect.columns) > 20 else ""
        raise DataError(
            f"{source} has a header ({header}) but no data rows; needs at least 2 data rows"
        )
    raise DataError(f"{source} has only 1 data row; needs at least 2 data rows")


class _Rows:
    """A growing (n_rows, n_columns) array: float64, then float32 past FLOAT32_ROWS rows.

    Memory is checked before each allocation, and at the first block for the whole table as
    estimated from the share of the file read: a file too big is refused before it is read.
    """

    def __init__(self, n_columns: int, source: str) -> None:
        self.data: np.ndarray = np.empty((0, n_columns))
        self.n = 0
        self.keep_float64 = False  # set when a value would not survive float32
        self.source = source

    def append(self, block: np.ndarray, fraction_read: float) -> None:
        n_new = self.n + len(block)
        guess = int(n_new / max(fraction_read, 1e-9) * 1.05) + 1024  # rows in the whole file
        if self.n == 0:
            self._reserve(guess, 4 if guess > FLOAT32_ROWS else 8)
        if self.data.dtype == np.float64 and n_new > FLOAT32_ROWS and not self.keep_float64:
            if _fits_float32(self.data[: self.n]) and _fits_float32(block):
                self._reserve(max(guess, n_new), 4)
                narrow = np.empty((max(guess, n_new), self.data.shape[1]), np.float32)
                narrow[: self.n] = self.data[: self.n]
                self.data = narrow
            else:
                self.keep_float64 = True
        elif self.data.dtype == np.float32 and not _fits_float32(block):
            self.keep_float64 = True
            self._reserve(len(self.data), 8)
            self.data = self.data.astype(np.float64)
        if n_new > len(self.data):
            capacity = max(guess, int(n_new * 1.25))
            if self.data.dtype == np.float64 and not self.keep_float64:
                capacity = max(n_new, min(capacity, FLOAT32_ROWS))  # float32 takes over after
            self._reserve(capacity, self.data.itemsize)
            # in place: realloc, usually without a second copy of the data
            self.data.resize((capacity, self.data.shape[1]), refcheck=False)
        self.data[self.n : n_new] = block
        self.n = n_new

    def _reserve(self, n_rows: int, itemsize: int) -> None:
        """Refuse with one line when (n_rows, n_columns) values of itemsize would not fit."""
        n_columns = self.data.shape[1]
        check_memory(
            n_rows * n_columns * itemsize,
            f"{self.source} (about {n_rows:,} rows of {n_columns} columns)",
            "read a part of the file (fewer rows or columns), or use a machine with more memory",
            error=DataError,
        )

    def finish(self) -> np.ndarray:
        self.data.resize((self.n, self.data.shape[1]), refcheck=False)
        return self.data


def _fits_float32(values: np.ndarray) -> bool:
    """True when float32 keeps every value finite and every non-zero value non-zero."""
    with np.errstate(over="ignore"):
        narrow = values.astype(np.float32)
    return bool(np.isfinite(narrow).all()) and np.count_nonzero(narrow) == np.count_nonzero(values)

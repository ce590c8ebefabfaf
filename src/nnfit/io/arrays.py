"""Binary tables: NumPy .npy/.npz and Parquet, checked before any data is read.

Each .npy header (also inside an .npz) is parsed first: dtype, shape and the bytes it declares
are checked against what the file holds and against the memory this process has, so a forged
header or a zip bomb is refused before anything is inflated. Parquet is sized from its metadata.
Only the columns a caller uses (``use``) are checked as numbers and read; of an .npy, whose
columns share one dtype, the whole array is. With ``keep_text`` every column is also given as
text (an .npz's text arrays included), for writing it out again.
"""

from __future__ import annotations

import io
import itertools
import math
import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from ..errors import DataError
from ..memory import check_memory, format_bytes
from ..safetext import printable
from . import csvsniff
from .csvsniff import Use

MAX_ARRAYS = 10_000  # arrays in one .npz
NPY_HEAD = 65_536  # bytes read for an .npy header: numpy writes at most ~10 kB
# (every column's name, the used ones, their values (n_rows, n_used), with keep_text every
# column as text (n_rows, n_columns) or None)
Columns = tuple[tuple[str, ...], tuple[int, ...], np.ndarray, np.ndarray | None]
TEXT_KINDS = "biufcUSMm"  # dtypes an .npz array that is only written out again may hold


@dataclass(frozen=True)
class _NpyHeader:
    """What an .npy header declares, read before any of its data."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int  # bytes of magic and header before the data
    holds: int  # bytes of data the file (or zip entry) has room for

    @property
    def count(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.count * self.dtype.itemsize


def read_numpy(
    stream: BinaryIO, source: str, suffix: str, *, use: Use | None = None, keep_text: bool = False
) -> Columns:
    """The ``Columns`` of an .npy array or an .npz archive, checked before reading.

    Headers are read first: dtype, shape and size are refused or checked against memory before
    a byte of data is read or inflated, and nothing is ever unpickled. The arrays of an .npz
    that hold no used column are not read, unless ``keep_text`` (then they may hold text).
    """
    if suffix == ".npy":
        size = os.fstat(stream.fileno()).st_size
        header = _npy_header(stream, size, source, "col")
        _check_npy(header, source, "col")
        _check_numpy_memory([header], source)
        array = _npy_data(stream, header, source)
        columns = _column_names(array.shape, "col")
        used = _used(columns, use)
        table = array.reshape(len(array), -1)  # (n_rows, n_columns)
        return columns, used, _columns_of(table, used), table.astype(str) if keep_text else None
    try:
        archive = zipfile.ZipFile(stream)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile):
        raise DataError(
            f"{source} is not a readable NumPy .npz file (damaged or cut short); save it again"
        ) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ARRAYS:
            raise DataError(
                f"{source} holds {len(entries):,} arrays, more than the {MAX_ARRAYS:,} nnfit "
                "reads; save only the columns you need"
            )
        infos: dict[str, zipfile.ZipInfo] = {}
        for info in entries:
            if not info.filename.endswith(".npy"):
                raise DataError(
                    f"{source} holds '{printable(info.filename)}', not a NumPy array; save the "
                    "data with np.savez(path, x=x, y=y)"
                )
            infos[info.filename[: -len(".npy")]] = info
        headers = {name: _npz_header(archive, info, source, name) for name, info in infos.items()}
        chosen = _npz_choice(headers, source)
        names = {name: _header_columns(headers[name], source, name, chosen) for name in chosen}
        columns = tuple(column for name in chosen for column in names[name])
        used = _used(columns, use)
        wanted = {columns[j] for j in used}
        needed = [name for name in chosen if wanted & set(names[name])]
        if not keep_text:
            chosen = needed
        for name in chosen:
            _check_npy(headers[name], source, name, text=name not in needed)
        _check_numpy_memory([headers[name] for name in chosen], source)
        arrays = {name: _npz_data(archive, infos[name], headers[name], source) for name in chosen}
    read = tuple(column for name in needed for column in names[name])
    values = _joined({name: arrays[name] for name in needed}, source)  # (n_rows, len(read))
    text = None
    if keep_text:
        text = _joined({name: array.astype(str) for name, array in arrays.items()}, source)
    return columns, used, _columns_of(values, [read.index(columns[j]) for j in used]), text


def _used(columns: tuple[str, ...], use: Use | None) -> tuple[int, ...]:
    """The indices of the columns ``use`` chooses; all without it."""
    return tuple(range(len(columns))) if use is None else tuple(use(columns))


def _columns_of(values: np.ndarray, indices: Sequence[int]) -> np.ndarray:
    """values[:, indices], without a copy when those are all the columns in order."""
    if list(indices) == list(range(values.shape[1])):
        return values
    return values[:, list(indices)]


def _header_columns(
    header: _NpyHeader, source: str, name: str, chosen: list[str]
) -> tuple[str, ...]:
    """An .npz array's column names, from its header alone; a lone 2-D array's are col1, ..."""
    if len(header.shape) not in (1, 2):
        _check_npy(header, source, name)  # refuses the shape
    lone = len(chosen) == 1 and len(header.shape) == 2
    return _column_names(header.shape, "col" if lone else name)


def _npy_header(stream: BinaryIO, size: int, source: str, name: str) -> _NpyHeader:
    """Parse the magic and header from the stream's first bytes (never more than NPY_HEAD)."""
    head = io.BytesIO(stream.read(NPY_HEAD))
    try:
        version = np.lib.format.read_magic(head)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(head)
        elif version in ((2, 0), (3, 0)):  # 3.0 differs only for utf-8 field names (refused)
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(head)
        else:
            raise ValueError(f"unknown .npy version {version}")
    except (ValueError, TypeError, SyntaxError, EOFError):
        what = "file" if name == "col" else "array"
        raise DataError(
            f"{_where(source, name)} is not a NumPy .npy {what} (bad or missing header); save "
            "it with np.save/np.savez"
        ) from None
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise DataError(
            f"{source}: array '{printable(name)}' declares shape {shape}; save it again"
        )
    return _NpyHeader(tuple(shape), dtype, fortran_order, head.tell(), size - head.tell())


def _where(source: str, name: str) -> str:
    """The file, and the array in it for an .npz ("col" is an .npy's only array)."""
    return source if name == "col" else f"{source}, array '{printable(name)}'"


def _check_npy(header: _NpyHeader, source: str, name: str, *, text: bool = False) -> None:
    """Refuse dtypes that are not plain numbers (or with ``text``, plain values of
    TEXT_KINDS), shapes nnfit cannot use, and forged sizes."""
    shown = _where(source, name)
    dtype = header.dtype
    if dtype.hasobject:
        raise DataError(
            f"{shown} holds Python objects (object arrays), which nnfit does not load for "
            "safety; save plain numeric arrays"
        )
    if dtype.names is not None or dtype.subdtype is not None:
        raise DataError(
            f"{shown} is a structured array ({dtype}); save plain numeric arrays, one per column"
        )
    if dtype.kind == "c" and not text:
        raise DataError(
            f"{shown} holds complex numbers; save the real and imaginary parts as two columns"
        )
    if dtype.kind not in (TEXT_KINDS if text else "biuf"):
        raise DataError(f"{shown} holds {dtype} values, not numbers; save numeric arrays")
    if len(header.shape) not in (1, 2):
        raise DataError(
            f"{source}: array '{printable(name)}' has shape {header.shape}; nnfit needs 1-D or "
            "2-D arrays"
        )
    if header.nbytes > header.holds:
        raise DataError(
            f"{shown} declares an array of {format_bytes(header.nbytes)} but holds "
            f"{format_bytes(max(header.holds, 0))}: damaged or forged; save it again"
        )


def _check_numpy_memory(headers: list[_NpyHeader], source: str) -> None:
    """The arrays as stored, plus their float64 copy and the joined table."""
    count = sum(header.count for header in headers)
    need = sum(header.nbytes for header in headers) + count * 8 * (1 + (len(headers) > 1))
    check_memory(
        need,
        f"{source} (arrays of {count:,} numbers)",
        "save fewer rows or columns, or use a machine with more memory",
        error=DataError,
    )


def _npy_data(stream: BinaryIO, header: _NpyHeader, source: str, name: str = "col") -> np.ndarray:
    """Read the data after a checked header into one preallocated array."""
    array = np.empty(header.count, header.dtype)
    raw = array.view(np.uint8)  # the same memory, byte by byte
    stream.seek(header.offset)
    position = 0
    while position < header.nbytes:
        block = stream.read(min(2**24, header.nbytes - position))
        if not block:
            raise DataError(
                f"{_where(source, name)} is cut short (file not fully written?); save it again"
            )
        raw[position : position + len(block)] = np.frombuffer(block, np.uint8)
        position += len(block)
    if header.fortran_order:
        return array.reshape(header.shape[::-1]).T
    return array.reshape(header.shape)


def _npz_header(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str, name: str
) -> _NpyHeader:
    """The header of one .npz entry; file_size (its declared inflated size) bounds its data."""
    try:
        with archive.open(info) as entry:
            return _npy_header(entry, info.file_size, source, name)  # type: ignore[arg-type]
    except (OSError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error):
        raise DataError(
            f"{source}, array '{printable(name)}' cannot be read (damaged, encrypted or an "
            "unknown compression); save it again with np.savez"
        ) from None


def _npz_data(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, header: _NpyHeader, source: str
) -> np.ndarray:
    name = info.filename[: -len(".npy")]
    try:
        with archive.open(info) as entry:
            return _npy_data(entry, header, source, name)  # type: ignore[arg-type]
    except (OSError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error):
        raise DataError(
            f"{source}, array '{printable(name)}' is damaged (bad checksum or compressed data); "
            "save it again"
        ) from None


def _npz_choice(headers: dict[str, _NpyHeader], source: str) -> list[str]:
    """Which arrays make the table: one array; x and y; or 1-D arrays of equal length."""
    if not headers:
        raise DataError(f"{source} holds no arrays; save the data with np.savez(path, x=x, y=y)")
    if "x" in headers and "y" in headers:
        return ["x", "y"]
    if len(headers) > 1 and not all(len(h.shape) == 1 for h in headers.values()):
        raise DataError(
            f"{source} holds {_shapes(headers)}; nnfit reads an .npz with one 2-D array, arrays "
            "named x and y, or 1-D arrays of equal length"
        )
    return list(headers)


def _shapes(headers: dict[str, _NpyHeader]) -> str:
    shown = [f"{printable(name)} {h.shape}" for name, h in itertools.islice(headers.items(), 10)]
    return ", ".join(shown) + (f", ... ({len(headers)} in all)" if len(headers) > 10 else "")


def _joined(arrays: dict[str, np.ndarray], source: str) -> np.ndarray:
    """Arrays of equal length side by side, each 1-D one a column: (n_rows, n_columns)."""
    lengths = {len(array) for array in arrays.values()}
    if len(lengths) > 1:
        shapes = ", ".join(f"{printable(name)} {a.shape}" for name, a in list(arrays.items())[:10])
        raise DataError(f"{source} holds arrays of different lengths ({shapes}); make them equal")
    return np.hstack([array.reshape(len(array), -1) for array in arrays.values()])


def _column_names(shape: tuple[int, ...], name: str) -> tuple[str, ...]:
    """A 1-D array is one column called name; a 2-D one gives name1, name2, ..."""
    if len(shape) == 1:
        return (name if name != "col" else "col1",)
    if shape[1] == 1 and name != "col":
        return (name,)
    return tuple(f"{name}{j + 1}" for j in range(shape[1]))


def read_parquet(
    stream: BinaryIO, source: str, *, use: Use | None = None, keep_text: bool = False
) -> Columns:
    """The ``Columns`` of a Parquet file, read with pyarrow (an optional dependency).

    The footer gives rows, columns and types: memory is checked and non-numeric used columns
    are refused before any data is read; then one used column at a time fills the table.
    Columns that are not used are not read, unless ``keep_text``.
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError("reading Parquet needs pyarrow: pip install 'nnfit[parquet]'") from None
    try:
        parquet = pq.ParquetFile(stream)
        schema = parquet.schema_arrow
    except (pa.ArrowException, OSError, ValueError) as error:
        raise DataError(f"{source} is not a readable Parquet file ({_reason(error)})") from None
    columns = tuple(schema.names)
    used = _used(columns, use)
    fields = [schema.field(j) for j in used]
    for field in fields:
        kind = field.type
        numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
        if not (numeric or pa.types.is_boolean(kind) or pa.types.is_decimal(kind)):
            raise DataError(
                f"{source}, column '{printable(field.name)}': holds {kind} values, not numbers; "
                "remove that column or convert it to numbers"
            )
    n_rows, n_columns = parquet.metadata.num_rows, len(fields)
    float32_only = all(pa.types.is_float32(field.type) for field in fields)
    dtype = np.float32 if float32_only and n_rows > csvsniff.FLOAT32_ROWS else np.float64
    check_memory(  # the table, plus one column as Arrow and as float64 while it is copied in
        n_rows * n_columns * np.dtype(dtype).itemsize + n_rows * 16,
        f"{source} ({n_rows:,} rows of {n_columns} columns)",
        "save fewer rows or columns, or use a machine with more memory",
        error=DataError,
    )
    values = np.empty((n_rows, n_columns), dtype)  # (n_rows, n_columns)
    for j, field in enumerate(fields):
        try:
            column = parquet.read(columns=[field.name]).column(0)
            column = column.cast(pa.float64())  # nulls become NaN below
            values[:, j] = column.to_numpy(zero_copy_only=False)
        except (pa.ArrowException, OSError, ValueError) as error:
            raise DataError(
                f"{source}, column '{printable(field.name)}' cannot be read ({_reason(error)})"
            ) from None
    return columns, used, values, _parquet_text(parquet, source) if keep_text else None


def _parquet_text(parquet: Any, source: str) -> np.ndarray:
    """Every column of a Parquet file as text, one column at a time: (n_rows, n_columns),
    nulls as empty cells."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = parquet.schema_arrow
    text = np.empty((parquet.metadata.num_rows, len(schema)), dtype=object)
    for j, field in enumerate(schema):
        try:
            column = parquet.read(columns=[field.name]).column(0).cast(pa.string())
            text[:, j] = pc.fill_null(column, "").to_numpy(zero_copy_only=False)
        except (pa.ArrowException, OSError, ValueError) as error:
            raise DataError(
                f"{source}, column '{printable(field.name)}' cannot be written as text "
                f"({_reason(error)}); remove that column or convert it"
            ) from None
    return text


def _reason(error: BaseException) -> str:
    """The first line of a library's error message, made printable."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return printable(text[:200])

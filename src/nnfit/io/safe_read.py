"""Reading files safely: no links, regular files only, bounded sizes, JSON with a memory guard.

A file is refused before it is opened unless it is a regular file of at most its limit (never
a link, FIFO, device or folder), is read in chunks that stop at that limit, and JSON is parsed
only once the memory it will take is known to be there. Anything else is one DataError line:
never a traceback, a hang or an out-of-memory kill.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..io.files import describe

MIB = 2**20
JSON_LIMIT = 256 * MIB  # history.json and state.json
RUN_JSON_LIMIT = 16 * MIB


def quote(value: Any, limit: int = 60) -> str:
    """A value from a file, safe for a one-line message: escaped, short, never a whole table."""
    from ..safetext import printable

    if isinstance(value, (list, dict)):
        return f"a {'list' if isinstance(value, list) else 'table'} of {len(value)} item(s)"
    try:
        text = printable(repr(value))
    except (ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def one_line(error: BaseException, limit: int = 300) -> str:
    """An exception's message on one short, printable line."""
    from ..safetext import printable

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
    return b"".join(read_chunks(path, limit, follow=follow, bound=bound))


def read_chunks(
    path: Path, limit: int, *, follow: bool = False, bound: str = "it may be"
) -> Iterator[bytes]:
    """``read_regular``'s bytes in chunks of 16 MiB, for hashing a large file."""
    check_regular(path, limit, follow=follow, bound=bound)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise _unreadable(path, error) from None
    try:
        check_regular(path, limit, bound=bound, info=os.fstat(fd))
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


def check_regular(
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
            f"{path} is {describe(info.st_mode)}, not a regular file; it is not read "
            "(restore the file or train again)"
        )
    if info.st_size > limit:
        raise DataError(
            f"{path} is {_size(info.st_size)}, more than the {_size(limit)} {bound}; "
            "it is not read (damaged or forged? train again)"
        )
    return info


def _unreadable(path: Path, error: OSError) -> DataError:
    if error.errno == errno.ELOOP:
        return DataError(f"{path} is a symbolic link; a run folder's files must be its own")
    return DataError(f"{path}: cannot read ({one_line(Exception(error.strerror or error))})")


def _size(n: int) -> str:
    from ..memory import format_bytes

    return format_bytes(n)


def parse_json(data: bytes, where: Path | str) -> Any:
    """JSON from ``data``: the memory it takes checked first; any damage one line."""
    from ..memory import check_memory

    hint = "it may be damaged or forged; train again"
    check_memory(_json_memory(data), f"{where}", hint, error=DataError)
    try:
        return json.loads(data)
    except RecursionError:
        raise DataError(f"{where}: damaged (nested too deeply); train again") from None
    except MemoryError:
        raise DataError(f"{where}: too big to read into memory; {hint}") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, an int of 4300+ digits
        raise DataError(f"{where}: damaged ({one_line(error)}); the run cannot be loaded") from None


def _json_memory(data: bytes) -> int:
    """An upper estimate of the bytes ``json.loads(data)`` allocates: its text, a list or dict
    (72 bytes and up) for every bracket, a number or string and a slot for every separator."""
    containers = data.count(b"[") + data.count(b"{")
    items = data.count(b",") + data.count(b":") + containers
    return len(data) * (2 if data.isascii() else 5) + 72 * containers + 40 * items

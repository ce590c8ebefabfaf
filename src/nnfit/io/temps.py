"""nnfit's temporary files and folders: named ``.nnfit-PID-RANDOM.tmp``, locked while written.

A writer holds an ``flock`` on its temporary for as long as it writes it. Cleanup removes only
temporaries whose lock is free (their writer died) and that are old enough, never by a pattern
built from a user's name; a folder loses only the file names its kind of writer declares.
"""

from __future__ import annotations

import os
import secrets
import stat
import time
from collections.abc import Collection
from contextlib import suppress
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on Windows: no stale-temporary cleanup there
    fcntl = None  # type: ignore[assignment]

TEMP_PREFIX = ".nnfit-"
TEMP_SUFFIX = ".tmp"
STALE_SECONDS = 60  # a temporary whose lock is free is removed once it is this old


def temp_name() -> str:
    return f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"


def _lock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


class Temp:
    """A temporary file or folder beside a target, locked while this process writes it."""

    def __init__(self, parent: Path, *, folder: bool, names: Collection[str] | None = None) -> None:
        clean_stale(parent, names)
        for _ in range(100):
            self.path = parent / temp_name()
            try:
                if folder:
                    os.mkdir(self.path, 0o777)  # the umask applies, as for any folder
                    self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
                else:
                    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                    self.fd = os.open(self.path, flags, 0o666)  # umask applies
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - 100 collisions of 32 random bits
            raise OSError(f"cannot create a temporary name in {parent}")
        _lock(self.fd)
        self.folder = folder

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def discard(self, names: Collection[str] | None = None) -> None:
        """Remove the temporary (a folder: only the files this process put there)."""
        self.close()
        if self.folder:
            remove_folder(self.path, names)
        else:
            with suppress(FileNotFoundError):
                os.unlink(self.path)


def clean_stale(parent: Path, names: Collection[str] | None = None) -> None:
    """Remove temporaries of nnfit processes that died while writing in ``parent``.

    Only names of nnfit's own pattern are considered, only when their lock is free (the writer
    is gone) and they are older than STALE_SECONDS. A stale folder is cleaned only by a writer
    of such folders, which gives the file ``names`` it puts there: the folder loses only those,
    so anything else found inside keeps it (and is never deleted).
    """
    if fcntl is None:
        return
    try:
        entries = [e for e in os.scandir(parent) if _is_temp_name(e.name)]
    except OSError:
        return
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
            if time.time() - info.st_mtime < STALE_SECONDS:
                continue
            if stat.S_ISDIR(info.st_mode):
                fd = os.open(entry.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            elif stat.S_ISREG(info.st_mode):
                fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            else:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # its writer is alive
            finally:
                os.close(fd)
            if stat.S_ISDIR(info.st_mode):
                if names is not None:  # else: leave folders to a writer that knows them
                    remove_folder(Path(entry.path), names)
            else:
                os.unlink(entry.path)
        except OSError:
            continue


def _is_temp_name(name: str) -> bool:
    if not (name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)):
        return False
    pid, _, token = name[len(TEMP_PREFIX) : -len(TEMP_SUFFIX)].partition("-")
    return pid.isdigit() and len(token) == 8 and all(c in "0123456789abcdef" for c in token)


def remove_folder(folder: Path, names: Collection[str] | None) -> bool:
    """Delete ``folder`` if it holds only regular files named in ``names`` (None: any name).

    Returns False, leaving the folder and whatever is in it, when something else is inside:
    nnfit never deletes what it did not write.
    """
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return True
    except OSError:
        return False
    for entry in entries:
        if (names is None or entry.name in names) and entry.is_file(follow_symlinks=False):
            with suppress(FileNotFoundError):
                os.unlink(entry.path)
    try:
        os.rmdir(folder)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True

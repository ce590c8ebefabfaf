"""Safe output files: written whole, created exclusively, never through a link, never lost.

Every file and folder nnfit writes is first written under a temporary name of its own,
``.nnfit-PID-RANDOM.tmp`` beside the target (never a name built from the user's), and then
published in one step:

- a new output is created exclusively (``link`` for files, ``renameat2(RENAME_NOREPLACE)`` for
  folders), so of two processes writing the same name one wins and the other learns of it;
- a replaced output (``overwrite``) must be a regular file or a real folder, never a symlink or
  a device, and is swapped in with ``rename`` / ``renameat2(RENAME_EXCHANGE)``;
- the temporary is held with ``flock`` while it is written: cleanup removes only its own
  temporaries, and those of processes that died (their lock is free), never by a pattern.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import NNFitError, UsageError
from .temps import Temp, remove_folder, temp_name

# Tests set this to a function called with a moment's name ("publish"), e.g. to send a signal
# exactly then; it is None otherwise.
hook: Callable[[str], None] | None = None


class OutputError(NNFitError):
    """An output could not be written (a full disk, a race lost); one line, exit status 2."""

    exit_code = 2


class OutputTaken(OutputError):
    """Another process created the output while this one was writing it."""


def _moment(name: str) -> None:
    if hook is not None:
        hook(name)


def unique_path(path: Path) -> Path:
    """``path`` if free, else ``stem-1.ext``, ``stem-2.ext``, ... (for outputs nobody named)."""
    candidate, n = Path(path), 0
    while os.path.lexists(candidate):
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def check_replaceable(path: Path, *, folder: bool = False) -> bool:
    """True if ``path`` exists and may be replaced: a real folder or regular file, not a link.

    Raises UsageError for a symlink, a device, a FIFO or a socket (never replaced, never
    followed) and for a folder where a file belongs or the reverse.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    except NotADirectoryError:
        raise UsageError(f"{path}: a part of that path is a file, not a folder") from None
    if stat.S_ISLNK(info.st_mode):
        raise UsageError(
            f"{path} is a symbolic link; nnfit never writes through links: remove the link or "
            "choose another name"
        )
    if folder and not stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{path} is a file, not a folder; give a folder name")
    if not folder and stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{path} is a folder; give a file name")
    if not folder and not stat.S_ISREG(info.st_mode):
        raise UsageError(
            f"{path} is {describe(info.st_mode)}, not a regular file; nnfit writes only regular "
            "files (use - for standard output where a command offers it)"
        )
    return True


def describe(mode: int) -> str:
    """'a device', 'a FIFO', ... for a file mode."""
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "a special file"


class _Atomic:
    """What AtomicFile and AtomicDir share: a locked temporary beside ``path``, published in
    one step when the block succeeds, exclusively unless ``overwrite``; removed otherwise."""

    folder = False

    def __init__(
        self,
        path: Path,
        *,
        overwrite: bool = False,
        keep: bool = False,
        names: Collection[str] | None = None,
    ) -> None:
        self.path, self.overwrite, self.keep, self.names = Path(path), overwrite, keep, names
        self.taken: Path | None = None

    def __enter__(self) -> Path:
        try:
            self._prepare()
            self.temp = Temp(self.path.parent, folder=self.folder, names=self.names)
        except OSError as error:
            raise _write_error(self.path, error) from None
        return self.temp.path

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        try:
            if isinstance(error, OSError):  # writing the temporary failed: a full disk, ...
                raise error
            if kind is None:
                self._publish()
        except OSError as failure:
            raise _write_error(self.path, failure) from None
        finally:
            self.temp.discard(self.names)

    def _publish(self) -> None:
        temp = self.temp.path
        self._flush(temp)
        _moment("publish")
        if self.overwrite and check_replaceable(self.path, folder=self.folder):
            self._replace(temp)
        else:
            while not self._create(temp):
                if not self.keep:
                    raise OutputTaken(
                        f"{self.path} was created by another process meanwhile; nothing was "
                        "overwritten: choose another name"
                    )
                self.taken = self.taken or self.path
                self.path = unique_path(self.taken)
        _fsync_dir(self.path.parent)

    def _prepare(self) -> None:
        check_replaceable(self.path, folder=self.folder)

    def _flush(self, temp: Path) -> None:
        raise NotImplementedError

    def _replace(self, temp: Path) -> None:
        raise NotImplementedError

    def _create(self, temp: Path) -> bool:
        """Give ``temp`` the target's name unless that name exists (then False)."""
        raise NotImplementedError


class AtomicFile(_Atomic):
    """Write a file under a temporary name; publish it whole when the block succeeds.

    Without ``overwrite`` the file is created exclusively: if ``path`` appeared meanwhile,
    OutputTaken is raised, or with ``keep=True`` the file is published as ``stem-1.ext`` and
    ``taken`` names what was there. With ``overwrite`` an existing regular file is replaced.
    Either way symlinks and special files are never replaced or followed. ``path`` is the
    name finally written.

    Example:
        >>> with AtomicFile(Path("fit.png")) as tmp:  # doctest: +SKIP
        ...     figure.savefig(tmp)
    """

    def _flush(self, temp: Path) -> None:
        with open(temp, "rb") as f:
            os.fsync(f.fileno())

    def _replace(self, temp: Path) -> None:
        os.replace(temp, self.path)

    def _create(self, temp: Path) -> bool:
        try:
            _link_exclusive(temp, self.path)
        except FileExistsError:
            return False
        return True


def _link_exclusive(temp: Path, path: Path) -> None:
    """Give ``temp`` the name ``path`` unless that name exists (FileExistsError)."""
    try:
        os.link(temp, path, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as error:  # a file system without hard links
        if error.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if not _rename_noreplace(temp, path):
            if os.path.lexists(path):
                raise FileExistsError(errno.EEXIST, "exists", str(path)) from None
            os.rename(temp, path)
        return
    os.unlink(temp)


def open_new(path: Path, *, overwrite: bool = False) -> int:
    """A descriptor for writing a file that grows in place (a log others may ``tail -f``).

    Without ``overwrite`` the file is created exclusively (OutputTaken if it exists); with it,
    an existing regular file is first replaced by an empty one in one rename. Never through a
    symlink, never onto a device.
    """
    path = Path(path)
    try:
        if overwrite and check_replaceable(path):
            temp = Temp(path.parent, folder=False)
            os.replace(temp.path, path)
            fd, temp.fd = temp.fd, -1
            return fd
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        return os.open(path, flags, 0o666)
    except FileExistsError:
        raise OutputTaken(
            f"{path} was created by another process meanwhile; nothing was overwritten: choose "
            "another name"
        ) from None
    except OSError as error:
        raise _write_error(path, error) from None


@contextmanager
def atomic_path(path: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path; it becomes ``path`` only if the block succeeds (AtomicFile)."""
    with AtomicFile(path, overwrite=overwrite) as tmp:
        yield tmp


def write_atomic(path: Path, data: bytes, *, overwrite: bool = True) -> Path:
    """Write bytes to ``path`` atomically; an existing regular file is replaced by default."""
    target = AtomicFile(path, overwrite=overwrite)
    with target as tmp, open(tmp, "wb") as f:
        f.write(data)
    return target.path


def write_text_or_stdout(text: str, path: Path | None, *, overwrite: bool = False) -> None:
    """A command's text output: to standard output, or atomically to ``path`` (UTF-8)."""
    if path is None:
        sys.stdout.write(text)
        return
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _write_error(path: Path, error: OSError) -> OutputError:
    reason = error.strerror or str(error)
    if error.errno == errno.ENAMETOOLONG:
        return OutputError(f"cannot write {path}: the name is too long; choose a shorter name")
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return OutputError(f"cannot write {path}: {reason}; free some space and run again")
    return OutputError(f"cannot write {path}: {reason}; check the folder")


def fsync_tree(folder: Path) -> None:
    """Flush every file in ``folder`` and the folder itself to disk."""
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False):
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder or ".", os.O_RDONLY)
    except OSError:  # not every platform opens folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _renameat2(a: Path, b: Path, flag: int) -> bool:
    """Linux renameat2 with ``flag``; False where it is unsupported (raises other errors)."""
    if sys.platform != "linux":
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), flag) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False  # this file system cannot do it
    raise OSError(code, os.strerror(code), str(b))


def _rename_noreplace(a: Path, b: Path) -> bool:
    """Rename ``a`` to ``b`` unless ``b`` exists (FileExistsError); False if unsupported."""
    return _renameat2(a, b, 1)  # RENAME_NOREPLACE


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (RENAME_EXCHANGE); False if unsupported."""
    return _renameat2(a, b, 2)


def recover_dir(target: Path) -> None:
    """Finish a replacement that was killed between its two renames (see ``atomic_dir``)."""
    target = Path(target)
    backup = _backup_name(target)
    if backup is None or os.path.lexists(target) or not os.path.isdir(backup):
        return
    if not os.path.islink(backup):
        os.rename(backup, target)


def _backup_name(target: Path) -> Path | None:
    """Where a folder waits while it is replaced without RENAME_EXCHANGE (None: name too long)."""
    name = f".{target.name}.nnfit-old"
    return None if len(os.fsencode(name)) > 255 else target.parent / name


class AtomicDir(_Atomic):
    """A fresh hidden folder beside ``target``; when the block succeeds it becomes ``target``
    in one step, so a crash at any moment leaves the old or the new folder whole.

    Without ``overwrite`` the folder is created exclusively (OutputTaken, or with ``keep`` a
    free ``target-1`` name, as AtomicFile). With ``overwrite`` an existing folder is swapped
    out and then emptied of ``names`` only (the files nnfit writes there): anything else in it
    is left, with the old folder, under a hidden temporary name.
    """

    folder = True

    def _prepare(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        recover_dir(self.path)
        check_replaceable(self.path, folder=True)

    def _flush(self, temp: Path) -> None:
        fsync_tree(temp)

    def _replace(self, temp: Path) -> None:
        if _exchange(temp, self.path):  # temp now holds the old folder
            self.temp.discard(self.names)
            return
        backup = _backup_name(self.path) or self.temp.path.with_name(temp_name())
        os.rename(self.path, backup)
        os.rename(temp, self.path)  # a crash before this: recover_dir puts the backup back
        remove_folder(backup, self.names)

    def _create(self, temp: Path) -> bool:
        try:
            if _rename_noreplace(temp, self.path):
                return True
        except FileExistsError:
            return False
        if os.path.lexists(self.path):
            return False
        os.rename(temp, self.path)
        return True


@contextmanager
def atomic_dir(target: Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a fresh folder that replaces ``target`` whole when the block succeeds."""
    with AtomicDir(target, overwrite=overwrite) as tmp:
        yield tmp

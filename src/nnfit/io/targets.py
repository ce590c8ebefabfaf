"""Output targets, checked before any work: what cannot or must not be written is refused.

Every output flag (``--out``, ``--plot``, ``--save``, ``--log``, ``--save-config``,
``--tensorboard``, ``predict --out``, ``export --onnx/--python``, ``show --animate``) is checked
here before training or loading starts: a usable name, a writable folder, no symlink or special
file, nothing existing unless ``--overwrite``, and with ``--overwrite`` only what nnfit itself
wrote (each kind of file carries a mark nnfit recognises; a run folder is its run.json plus the
files nnfit puts beside it).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from ..errors import DataError, UsageError
from ..safetext import printable
from .files import check_replaceable, describe
from .safe_read import RUN_JSON_LIMIT, parse_json, read_regular
from .temps import TEMP_PREFIX, temp_name

RUN_FORMAT = "nnfit.run/1"  # run.json's "format"
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
MARK = "written by nnfit"  # in the metadata of every picture, animation and ONNX file
PYTHON_MARK = b"exported by nnfit"  # the first line of an exported .py file
CONFIG_MARK = b"# nnfit "  # the first line of a --save-config file
SNIFF_BYTES = 65_536  # how much of a file's start and end the marks are looked for in
KINDS = ("picture", "animation", "log", "config", "python", "onnx", "predictions", "doctor")
DOCTOR_MARKS = (b"nnfit doctor:", b'"format": "nnfit.doctor/')  # its text and JSON reports


def check_output(
    path: Path, *, flag: str, kind: str, overwrite: bool = False, stdout: bool = False
) -> Path:
    """Refuse, before any work, an output file that cannot or must not be written.

    Args:
        path: the file.
        flag: the flag that named it, for messages ("--plot").
        kind: one of KINDS: what nnfit writes there (decides what counts as nnfit's own).
        overwrite: whether an existing file written by nnfit may be replaced.
        stdout: the command accepts ``-`` for standard output (said in the messages).
    """
    path = Path(path)
    where = f"{flag} {printable(path)}"
    _check_name(path, where, folder=False)
    if path.name in RUN_FILES and os.path.lexists(path.parent / "run.json"):
        raise UsageError(
            f"{where} is a file of the run folder {printable(path.parent)}, which nnfit writes "
            "whole (its run.json lists every file's hash); write it elsewhere"
        )
    try:
        exists = check_replaceable(path)
    except UsageError as error:
        hint = "; use - for standard output" if stdout else ""
        raise UsageError(f"{flag} {error}{hint}") from None
    if exists:
        if not overwrite:
            raise UsageError(f"{where} already exists; choose another name or pass --overwrite")
        if not written_by_nnfit(path, kind):
            raise UsageError(
                f"{where} was not written by nnfit; --overwrite replaces only nnfit's own "
                "outputs: move it away or choose another name"
            )
    _check_parent(path, where)
    return path


def check_run_folder(path: Path, *, flag: str = "--out", overwrite: bool = False) -> Path:
    """Refuse a run folder that must not be (re)placed: the current folder or one above it,
    a link, a file, an existing folder without ``--overwrite``, or one nnfit did not write."""
    path = Path(path)
    where = f"{flag} {printable(path)}"
    resolved, here = path.resolve(), Path.cwd().resolve()
    if resolved == here or resolved in here.parents:
        raise UsageError(
            f"{where} is the current folder or holds it; give a new folder name such as runs/NAME"
        )
    _check_name(path, where, folder=True)
    try:
        exists = check_replaceable(path, folder=True)
    except UsageError as error:
        raise UsageError(f"{flag} {error}") from None
    if exists:
        if not overwrite:
            raise UsageError(f"{where} already exists; choose another name or pass --overwrite")
        problem = run_folder_problem(path)
        if problem:
            raise UsageError(
                f"{where} {problem}; --overwrite replaces only a run folder nnfit wrote: move "
                "it away or choose another name"
            )
    _check_parent(path, where, missing_ok=True)  # runs/ is made when the run is saved
    return path


def check_log_folder(path: Path, *, flag: str) -> Path:
    """A folder nnfit adds files to (TensorBoard): a real folder or a new name, not a link."""
    path = Path(path)
    where = f"{flag} {printable(path)}"
    _check_name(path, where, folder=True)
    try:
        exists = check_replaceable(path, folder=True)
    except UsageError as error:
        raise UsageError(f"{flag} {error}") from None
    if not exists:
        _check_parent(path, where)
    elif not os.access(path, os.W_OK):
        raise UsageError(f"{where} is not writable; check its permissions")
    return path


def check_separate(files: Mapping[str, Path | None], folder: tuple[str, Path] | None) -> None:
    """Refuse two outputs on one path, and files inside the run folder this run replaces."""
    named = {flag: Path(p).resolve() for flag, p in files.items() if p is not None}
    if folder is not None:
        folder_flag, folder_path = folder
        replaced = Path(folder_path).resolve()
        for flag, path in named.items():
            if path == replaced or replaced in path.parents:
                raise UsageError(
                    f"{flag} {printable(files[flag])} is inside {folder_flag} "
                    f"{printable(folder_path)}, which this run writes whole; put it elsewhere"
                )
    seen: dict[Path, str] = {}
    for flag, path in named.items():
        if path in seen:
            raise UsageError(
                f"{seen[path]} and {flag} name the same file {printable(files[flag])}; "
                "give each output its own name"
            )
        seen[path] = flag


def written_by_nnfit(path: Path, kind: str) -> bool:
    """True when the regular file ``path`` carries the mark nnfit leaves in a ``kind`` file."""
    head, tail = _ends(path)
    if kind == "config":
        return head.startswith(CONFIG_MARK)
    if kind == "python":
        return PYTHON_MARK in head.split(b"\n", 1)[0]
    if kind == "log":
        return _is_log_line(head.split(b"\n", 1)[0])
    if kind == "doctor":  # nnfit doctor's report: its first line, or its JSON's format
        return head.startswith(DOCTOR_MARKS[0]) or DOCTOR_MARKS[1] in head[:200]
    if kind == "predictions":  # nnfit predict's CSV/TSV header, or its JSON records
        header = head.split(b"\n", 1)[0].rstrip(b"\r")
        if header.startswith(b"[{"):
            return b'_pred": ' in header
        return header.endswith((b"_pred", b"_std"))
    mark = MARK.encode()
    return mark in head or mark in tail


def _is_log_line(line: bytes) -> bool:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return isinstance(record, dict) and {"step", "loss"} <= record.keys()


def _ends(path: Path) -> tuple[bytes, bytes]:
    """The first and last SNIFF_BYTES of a regular file, read without following links."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return b"", b""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return b"", b""
        head = os.read(fd, SNIFF_BYTES)
        tail = b""
        if info.st_size > SNIFF_BYTES:
            os.lseek(fd, max(SNIFF_BYTES, info.st_size - SNIFF_BYTES), os.SEEK_SET)
            tail = os.read(fd, SNIFF_BYTES)
        return head, tail
    except OSError:
        return b"", b""
    finally:
        os.close(fd)


def run_folder_problem(path: Path) -> str | None:
    """Why ``path`` is not a run folder nnfit wrote (None when it is one)."""
    try:
        entries = list(os.scandir(path))
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    names = {entry.name for entry in entries}
    for entry in entries:
        if entry.name not in RUN_FILES or not entry.is_file(follow_symlinks=False):
            return f"holds {printable(entry.name)!r}, which nnfit did not write"
    if "run.json" not in names:
        return "is not a run folder (no run.json)"
    where = path / "run.json"
    try:
        info = parse_json(read_regular(where, RUN_JSON_LIMIT), where)
    except DataError:  # missing, a link, too big, damaged: not a run.json nnfit wrote
        info = None
    if not isinstance(info, dict) or str(info.get("format", "")) != RUN_FORMAT:
        return "has a run.json that nnfit did not write"
    return None


def _check_name(path: Path, where: str, *, folder: bool) -> None:
    """A name the file system takes: not empty, not '.'/'..', within NAME_MAX and PATH_MAX."""
    name = path.name
    if not name or name in (".", ".."):
        what = "a folder name such as runs/NAME" if folder else "a file name"
        raise UsageError(f"{where} is not a name nnfit can create; give {what}")
    if name.startswith(TEMP_PREFIX):
        raise UsageError(f"{where}: names starting with {TEMP_PREFIX} are nnfit's temporaries")
    parent = path.parent
    try:
        name_max = os.pathconf(parent if parent.is_dir() else ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    size = len(os.fsencode(name))
    if size > name_max:
        raise UsageError(
            f"{where}: the name is {size} bytes, longer than the {name_max} this file system "
            "allows; choose a shorter name"
        )
    if len(os.fsencode(os.path.abspath(path))) >= 4096:
        raise UsageError(f"{where}: the path is too long; choose a shorter one")


def _check_parent(path: Path, where: str, *, missing_ok: bool = False) -> None:
    """The folder that will hold ``path`` exists, is a folder and takes a new file now.

    With ``missing_ok`` the folder may be missing (it is created when the output is saved):
    then its nearest existing ancestor must take new files.
    """
    parent = path.parent
    while missing_ok and not os.path.lexists(parent) and parent != parent.parent:
        parent = parent.parent
    try:
        info = os.stat(parent)
    except FileNotFoundError:
        raise UsageError(
            f"{where}: folder {printable(parent)} does not exist; create it first"
        ) from None
    except OSError as error:
        raise UsageError(f"{where}: folder {printable(parent)}: {error.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{where}: {printable(parent)} is {describe(info.st_mode)}, not a folder")
    probe = parent / temp_name()  # nnfit's own pattern: if killed here, cleanup finds it
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as error:
        raise UsageError(
            f"{where}: folder {printable(parent)} is not writable ({error.strerror}); choose "
            "another place"
        ) from None
    os.close(fd)
    os.unlink(probe)

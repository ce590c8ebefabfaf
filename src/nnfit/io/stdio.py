"""Standard streams that never cost a run: a closed pipe or a full device is noted, not raised.

``nnfit fit ... | head -1`` closes stdout after one line; printing more would raise
BrokenPipeError in the middle of saving the run. While a command runs, stdout and stderr are
wrapped: a failed write is remembered and later output is dropped, the command finishes its
files, and ``problem()`` says afterwards what went wrong (a closed pipe is no error).
"""

from __future__ import annotations

import errno
import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO


class GuardedStream(io.TextIOBase):
    """A text stream that forwards to ``stream`` until a write fails, then drops output."""

    def __init__(self, stream: TextIO | None, name: str) -> None:
        self.stream, self.name = stream, name
        self.error: OSError | None = None
        if stream is None:  # started with the stream closed (2>&-)
            self.error = OSError(errno.EBADF, "closed")

    def write(self, text: str) -> int:
        if self.error is None and self.stream is not None:
            try:
                self.stream.write(text)
            except (OSError, ValueError) as error:
                self._fail(error)
        return len(text)

    def flush(self) -> None:
        if self.error is None and self.stream is not None:
            try:
                self.stream.flush()
            except (OSError, ValueError) as error:
                self._fail(error)

    def _fail(self, error: Exception) -> None:
        self.error = error if isinstance(error, OSError) else OSError(errno.EBADF, str(error))
        # Python flushes the real stream again at exit: point its descriptor at /dev/null so
        # that last flush cannot print "Exception ignored ... BrokenPipeError".
        try:
            fd = self.stream.fileno() if self.stream is not None else -1
        except (OSError, ValueError, AttributeError):
            fd = -1
        if fd >= 0:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)

    def isatty(self) -> bool:
        try:
            return self.error is None and self.stream is not None and self.stream.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        if self.stream is None:
            raise OSError(errno.EBADF, "closed")
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", None) or "utf-8"

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextmanager
def guarded() -> Iterator[tuple[GuardedStream, GuardedStream]]:
    """Wrap sys.stdout and sys.stderr for the block; restore them after."""
    old_out, old_err = sys.stdout, sys.stderr
    out, err = GuardedStream(old_out, "standard output"), GuardedStream(old_err, "standard error")
    sys.stdout, sys.stderr = out, err
    try:
        yield out, err
    finally:
        out.flush()
        err.flush()
        sys.stdout, sys.stderr = old_out, old_err


def problem(stream: GuardedStream) -> str | None:
    """A one-line error for a failed stream, or None (no failure, or a reader that left)."""
    error = stream.error
    if error is None or error.errno in (errno.EPIPE, errno.EBADF):
        return None
    return (
        f"cannot write to {stream.name}: {error.strerror or error}; the results printed there "
        "are incomplete (files were written in full)"
    )

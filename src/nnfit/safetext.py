"""Text from files and users, made safe to print (no terminal escapes, always one line), and the
one "did you mean" for a mistyped name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from itertools import islice

MAX_CHOICES = 1000  # difflib compares with every choice: slow on a table with many columns


def printable(text: object) -> str:
    """``text`` with every control or invisible formatting character written as an escape.

    ESC sequences from a run folder or a CSV header cannot recolour, move or clear the terminal,
    and a newline cannot break a one-line message: ``"a\\x1b[2Jb"`` prints as ``a\\x1b[2Jb``.
    """
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def closest(word: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The choice most like ``word`` (difflib's ratio at least ``cutoff``), or None.

    Example:
        >>> closest("sni", ["sin", "cos"])
        'sin'
    """
    close = difflib.get_close_matches(
        str(word)[:100], list(islice(choices, MAX_CHOICES)), n=1, cutoff=cutoff
    )
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'sin'?)`` for the closest choice, or ``""``."""
    near = closest(word, choices)
    return "" if near is None else f" (did you mean {near!r}?)"

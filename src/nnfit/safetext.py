"""Text from files and users, made safe to print: no terminal escapes, always one line."""

from __future__ import annotations


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

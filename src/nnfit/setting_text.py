"""A setting's value as typed on the command line → the value: one parser per kind of setting.

The flags of ``nnfit fit`` (``nnfit.cli.flags``) and the sweep spaces of ``nnfit sweep``
(``nnfit.sweep.space``) read text with these, so ``--lr 0.1`` and ``--lr 0.01,0.1`` parse each
number the same way. Each parser raises ``argparse.ArgumentTypeError`` with a one-line message
(argparse shows it as the flag's error). Torch-free.
"""

from __future__ import annotations

import argparse
import re
import typing
from collections.abc import Callable
from typing import Any


def kind(hint: Any, flag_type: str | None = None) -> str | None:
    """The kind of a setting's value: its ``flag_type``, else one from its annotation
    (``int | None`` → "whole", ``bool`` → "on/off", ``float`` → "number"); None for text."""
    if flag_type:
        return flag_type
    arms = set(typing.get_args(hint)) - {type(None)} or {hint}
    if arms == {bool}:
        return "on/off"
    if arms == {int}:
        return "whole"
    if arms == {float}:
        return "number"
    return None  # text


def whole(text: str) -> int:
    """A whole number: ``12``."""
    if not re.fullmatch(r"[+-]?\d+", text.strip()):
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(text)


def members(text: str) -> int | str:
    """A member count or ``auto``."""
    return "auto" if text.strip() == "auto" else whole(text)


def number(text: str) -> float:
    """A number: ``0.5``, ``1e-3``."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def numbers(text: str) -> tuple[float, ...]:
    """Numbers separated by commas: ``0.001,0.01,0.1``."""
    try:
        return tuple(float(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers like 0.001,0.01,0.1, got {text!r}"
        ) from None


def widths(text: str, separator: str = ",") -> tuple[int, ...]:
    """Hidden-layer widths: ``10`` or ``32,32`` (``32-32`` with ``separator`` "-")."""
    parts = [p.strip() for p in text.split(separator)]
    if not all(re.fullmatch(r"\d+", p) for p in parts):
        example = f"10 or 32{separator}32"
        raise argparse.ArgumentTypeError(f"expected widths like {example}, got {text!r}")
    return tuple(int(p) for p in parts)


def activations(text: str, separator: str = ",") -> str | tuple[str, ...]:
    """Activation names: ``tanh`` (every hidden layer) or one per layer, ``relu,tanh``
    (``relu-tanh`` with ``separator`` "-"); the names are checked by ``ModelConfig``."""
    parts = [p.strip() for p in text.split(separator)]
    if not all(re.fullmatch(r"\w+", p) for p in parts):
        example = f"tanh or relu{separator}tanh"
        raise argparse.ArgumentTypeError(f"expected activation names like {example}, got {text!r}")
    return parts[0] if len(parts) == 1 else tuple(parts)


def pair(text: str) -> tuple[float, float]:
    """Two numbers ``LO,HI``."""
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected LO,HI such as -1,1, got {text!r}")
    return number(parts[0]), number(parts[1])


def size(text: str) -> tuple[int, int]:
    """A frame size in pixels ``WxH``, each 16 to 8000."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match or not (16 <= int(match[1]) <= 8000 and 16 <= int(match[2]) <= 8000):
        raise argparse.ArgumentTypeError(
            f"expected WxH in pixels (16-8000) like 800x400, got {text!r}"
        )
    return int(match[1]), int(match[2])


ON, OFF = ("on", "true", "yes"), ("off", "false", "no")


def on_off(text: str) -> bool:
    """A switch: ``on`` or ``off`` (also true/false, yes/no)."""
    word = text.strip().lower()
    if word in ON or word in OFF:
        return word in ON
    raise argparse.ArgumentTypeError(f"expected on or off, got {text!r}")


PARSERS: dict[str, Callable[[str], Any]] = {
    "whole": whole,
    "number": number,
    "pair": pair,
    "widths": widths,
    "activations": activations,
    "size": size,
    "members": members,
    "numbers": numbers,
    "on/off": on_off,
    "on": on_off,
}

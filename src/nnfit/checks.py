"""One check for every config dataclass, driven by its fields' annotations and ``setting``s.

Each config field is declared once with ``setting(default, help, low=..., choices=...)``; its
``__post_init__`` calls ``check_fields(self)``, which checks every field's type and then its range
or choices: text where a number belongs (``lr = "0.1"``), ``"false"`` where a boolean belongs, a
number where a column name belongs, a table where a value belongs, a list of the wrong length or
a value out of range all get one line that names the field, whether they came from a TOML file,
a flag or the Python API.
"""

from __future__ import annotations

import functools
import math
import numbers
import reprlib
import sys
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import Field, field, fields
from typing import Any

from .errors import UsageError
from .safetext import printable

MAX_WHOLE = 2**63 - 1  # whole-number settings fit an int64 (JSON readers, torch, safetensors)
MAX_SEED = MAX_WHOLE  # torch's and numpy's generators take it, and seed + a few still fits
FLAGLESS = {"file"}  # fields without a --flag of their own (the data file is SOURCE)

_SHOW = reprlib.Repr()
_SHOW.maxstring, _SHOW.maxother, _SHOW.maxlevel = 60, 60, 3
_SHOW.maxlist = _SHOW.maxtuple = _SHOW.maxdict = 6


def flag(name: str) -> str:
    """A field's command-line flag: ``batch_size`` → ``--batch-size``."""
    return "--" + name.replace("_", "-")


def shown(value: object) -> str:
    """A value as an error message quotes it: short, one line, no terminal escapes."""
    return printable(_SHOW.repr(value))


def typed(value: object) -> str:
    """A value as it is typed on the command line: ``32,32``, ``on``, ``0.5``, ``relu``."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (tuple, list)):
        parts = [typed(v) for v in value[:7]]
        return ",".join([*parts[:6], "..."] if len(parts) > 6 else parts)
    if isinstance(value, float):
        short = f"{value:g}"  # -1 for -1.0, as typed; repr where :g would round
        return short if float(short) == value or value != value else repr(value)
    if isinstance(value, int) or (isinstance(value, str) and value and value.split() == [value]):
        text = str(value)
        return printable(text if len(text) <= 60 else f"{text[:57]}...")
    return shown(value)  # text with spaces, or none: quoted


class FieldError(UsageError):
    """A config field's value is not allowed; the core words it by field name (``lr must be a
    finite number above 0, got 0``).

    Adapters reword it: ``flagged`` by flag for the command line (``--lr must be ...``),
    ``in_file`` for a value read from a settings file (``run.toml: [train] lr (--lr) must
    be ...``). ``code`` and ``params`` say the same as data, for adapters that word it in
    another language (the playground's 中文 page): ``range`` with ``{"above": 0}``; the
    English line never depends on them.
    """

    def __init__(
        self,
        name: str,
        rule: str,
        value: object,
        *,
        code: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.name, self.rule, self.value = name, rule, value
        self.code, self.params = code, dict(params or {})
        super().__init__(f"{name} {rule}, got {shown(value)}")

    def flagged(self) -> str:
        """The message worded by flag, as the command line prints it."""
        if self.name in FLAGLESS:
            return str(self)
        return f"{flag(self.name)} {self.rule}, got {typed(self.value)}"

    def in_file(self, source: str, section: str) -> UsageError:
        also = "" if self.name in FLAGLESS else f" ({flag(self.name)})"
        return UsageError(
            f"{printable(source)}: [{section}] {self.name}{also} {self.rule}, "
            f"got {shown(self.value)}"
        )


class SettingsError(UsageError):
    """An error about settings, worded by field name (``use fewer points``); ``flagged`` words it
    by flag (``use fewer --points``). ``text`` marks each setting named in ``names`` as
    ``{points}``; only trusted words and numbers go into ``text``. ``code`` and ``params``
    say the same as data, as FieldError's do.
    """

    def __init__(
        self,
        text: str,
        *names: str,
        code: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.text, self.names = text, names
        self.code, self.params = code, dict(params or {})
        super().__init__(self.worded(str))

    def worded(self, name: Callable[[str], str]) -> str:
        """The message naming each setting with ``name``."""
        return self.text.format_map({setting: name(setting) for setting in self.names})

    def flagged(self) -> str:
        """The message worded by flag, as the command line prints it."""
        return self.worded(flag)


def check_fps(fps: Any) -> float:
    """Frames per second, for the live window and saved animations alike: 0.1 to 120."""
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps):
        raise FieldError("fps", "must be a number between 0.1 and 120", fps, code="type")
    if not 0.1 <= fps <= 120:
        bounds = {"low": 0.1, "high": 120}
        raise FieldError("fps", "must be between 0.1 and 120", fps, code="range", params=bounds)
    return float(fps)


def setting(
    default: Any,
    help: str,
    *,
    group: str,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
    below: float | None = None,
    choices: Iterable[str] | None = None,
    flag_type: str | None = None,
    form: str | None = None,
    flag_help: str | None = None,
    metavar: str | None = None,
) -> Any:
    """A config field declared once: its default, one-line help, group and allowed values.

    ``low``/``high`` are inclusive bounds, ``above``/``below`` exclusive ones; whole-number
    fields are always at most MAX_WHOLE. ``choices`` lists the allowed texts. ``flag_type``
    names the CLI's parser for the flag (see ``nnfit.cli.flags``) when the annotation's is not
    the one wanted; ``form`` words the type in errors (``"two numbers LO,HI"``); ``flag_help``
    replaces the help where the CLI says more (``KIND:LEVEL``); ``metavar`` names the flag's
    value in the CLI's help (``--lr RATE``) where the one made from the type says too little.
    ``check_fields`` enforces the range and choices; the CLI, TOML keys, estimator parameters
    and run.json read the rest.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class Config:
        ...     lr: float = setting(0.5, "learning rate", above=0, group="training")
    """
    metadata = {
        "help": help,
        "group": group,
        "low": low,
        "high": high,
        "above": above,
        "below": below,
        "choices": None if choices is None else tuple(choices),
        "flag_type": flag_type,
        "form": form,
        "flag_help": flag_help,
        "metavar": metavar,
    }
    if isinstance(default, (list, dict, set)):
        raise TypeError("a setting's default must be immutable (a tuple, not a list)")
    return field(default=default, metadata=metadata)


def check_fields(config: Any) -> None:
    """Check every field of a frozen dataclass against its annotation and setting, or raise
    FieldError.

    Booleans must be real booleans (``"false"`` is text, not false); whole numbers must be
    integers (``1.5`` and ``True`` are not); numbers may be ints; lists stand for tuples.
    Accepted values are normalised in place: lists become tuples, NumPy scalars Python ones.
    A field's ``metadata["form"]`` words what it must be, e.g. ``"two numbers LO,HI"``.
    Once every type is right, each field's range and choices (see ``setting``) are checked.
    """
    cls: type = type(config)  # a bare type: mypy deems type[Any] unhashable for the cache
    hinted = _hints(cls)
    for field_, hint in hinted:
        value = getattr(config, field_.name)
        ok, normal = _conform(value, hint)
        if not ok:
            form = field_.metadata.get("form") or describe(hint)
            raise FieldError(
                field_.name, f"must be {form}", value, code="type", params={"form": form}
            )
        if normal is not value:
            object.__setattr__(config, field_.name, normal)
    for field_, hint in hinted:  # types first: the range checks compare
        check_range(field_.name, getattr(config, field_.name), field_.metadata, hint)


def check_range(name: str, value: Any, rule: Any, hint: Any = None) -> None:
    """Check a value of the right type against a setting's choices and bounds."""
    choices = rule.get("choices")
    if value is None or (choices and isinstance(value, str)):
        if value is not None and value not in choices:
            raise FieldError(
                name,
                f"must be one of {', '.join(choices)}",
                value,
                code="choice",
                params={"choices": ", ".join(choices)},
            )
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return  # tuples and the like keep their own checks
    low, high, above, below = (rule.get(k) for k in ("low", "high", "above", "below"))
    if low is high is above is below is None:
        return
    if isinstance(value, int) and hint is not None and _whole_hint(hint):
        check_whole(name, value, int(low if low is not None else -MAX_WHOLE), high)
        return
    fine = math.isfinite(value)
    fine = fine and (low is None or value >= low) and (high is None or value <= high)
    fine = fine and (above is None or value > above) and (below is None or value < below)
    if not fine:
        bounds = {"low": low, "high": high, "above": above, "below": below}
        raise FieldError(
            name,
            f"must be {_number_range(low, high, above, below)}",
            value,
            code="range",
            params={key: bound for key, bound in bounds.items() if bound is not None},
        )


def _number_range(
    low: float | None, high: float | None, above: float | None, below: float | None
) -> str:
    """A number range in words: ``a finite number above 0``, ``a fraction from 0 to below 1``."""
    if low is not None and below is not None:
        noun = "a fraction" if (low, below) == (0, 1) else "a number"
        return f"{noun} from {low:g} to below {below:g}"
    if low is not None and high is not None:
        return f"a number from {low:g} to {high:g}"
    parts = []
    if low is not None:
        parts.append(f">= {low:g}")
    if above is not None:
        parts.append(f"above {above:g}")
    if high is not None:
        parts.append(f"<= {high:g}")
    if below is not None:
        parts.append(f"below {below:g}")
    return "a finite number " + " and ".join(parts)


def _whole_hint(hint: Any) -> bool:
    """Whether an annotation allows whole numbers (``int``, ``int | None``, ``int | str``)."""
    if hint is int:
        return True
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and int in typing.get_args(
        hint
    )


def check_whole(name: str, value: int | None, low: int, high: int | None = None) -> None:
    """Range check of a whole-number field (its type already checked); ``high`` defaults to
    MAX_WHOLE, and a field given both ends is worded ``from LOW to HIGH``."""
    if value is None:
        return
    if high is not None and not low <= value <= high:
        upto = "2**63-1 (9223372036854775807)" if high == MAX_WHOLE else f"{high}"
        raise FieldError(
            name,
            f"must be a whole number from {low} to {upto}",
            value,
            code="whole.range",
            params={"low": low, "high": upto},
        )
    high = MAX_WHOLE
    if value < low:
        raise FieldError(
            name,
            f"must be a whole number of at least {low}",
            value,
            code="whole.low",
            params={"low": low},
        )
    if value > high:
        raise FieldError(
            name, f"must be at most {high}", value, code="whole.high", params={"high": high}
        )


def describe(hint: Any) -> str:
    """What an annotation allows, in words: ``int | None`` → ``a whole number``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(arm) for arm in args if arm is not type(None))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_PLURAL[args[0]]}"
        if len(set(args)) == 1:
            return f"{_COUNT.get(len(args), str(len(args)))} {_PLURAL[args[0]]}"
        return f"a list of {len(args)} values ({', '.join(describe(a) for a in args)})"
    return _NAMES[hint]


_NAMES: dict[Any, str] = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "text",
}
_PLURAL: dict[Any, str] = {int: "whole numbers", float: "numbers", str: "texts", bool: "booleans"}
_COUNT = {1: "one", 2: "two", 3: "three", 4: "four"}


@functools.cache
def _hints(cls: type) -> tuple[tuple[Field[Any], Any], ...]:
    """Each field with its resolved annotation (``from __future__ import annotations`` strings)."""
    hints = typing.get_type_hints(cls)
    return tuple((field, hints[field.name]) for field in fields(cls))


def _conform(value: Any, hint: Any) -> tuple[bool, Any]:
    """(whether value fits hint, the value normalised)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(hint):
            ok, normal = _conform(value, arm)
            if ok:
                return True, normal
        return False, value
    if origin is tuple:
        return _conform_tuple(value, typing.get_args(hint))
    if hint is type(None):
        return value is None, value
    if hint is bool:
        if isinstance(value, bool):
            return True, value
        return (True, bool(value)) if _numpy_bool(value) else (False, value)
    if isinstance(value, bool) or _numpy_bool(value):
        return False, value  # True is an int to Python, but not a number of steps to us
    if hint is int:
        if not isinstance(value, numbers.Integral):
            return False, value
        return True, value if type(value) is int else int(value)
    if hint is float:
        if not isinstance(value, numbers.Real):
            return False, value
        if isinstance(value, numbers.Integral) and abs(int(value)) > sys.float_info.max:
            return True, math.copysign(math.inf, value)  # 10**400: the range checks refuse inf
        return True, value if type(value) in (int, float) else float(value)
    if hint is str:
        if not isinstance(value, str):
            return False, value
        return True, value if type(value) is str else str(value)
    raise TypeError(f"check_fields cannot check a field of type {hint!r}")  # a new field type


def _conform_tuple(value: Any, args: tuple[Any, ...]) -> tuple[bool, Any]:
    if not isinstance(value, (tuple, list)):
        return False, value
    if len(args) == 2 and args[1] is Ellipsis:
        arms = (args[0],) * len(value)
    elif len(value) == len(args):
        arms = args
    else:
        return False, value
    items = []
    for item, arm in zip(value, arms):
        ok, normal = _conform(item, arm)
        if not ok:
            return False, value
        items.append(normal)
    same = type(value) is tuple and all(a is b for a, b in zip(items, value))
    return True, value if same else tuple(items)


def _numpy_bool(value: Any) -> bool:
    """A NumPy boolean scalar (``np.True_``), recognised without importing NumPy."""
    return type(value).__module__ == "numpy" and getattr(value, "dtype", None) == "bool"

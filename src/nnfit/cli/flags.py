"""The ``nnfit demo`` / ``nnfit fit`` flags: generated from the settings table, with their value
types and the overrides they give.

The core speaks field names; each setting (``nnfit.settings.table``) becomes a flag of the same
name (``batch_size`` → ``--batch-size``) with its help and the presets' defaults.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Collection, Sequence
from typing import Any

from ..checks import typed
from ..data.synthetic import COLUMNS
from ..runs.config import DATA_PRESET, DEFAULT_PRESET, PRESETS
from ..setting_text import PARSERS, kind, number
from ..settings import SECTIONS, Setting, or_list, table

Flags = list[tuple[tuple[str, ...], dict[str, Any]]]

# Flags that are not settings: where the outputs go (nnfit.runs.runner.Outputs) and the preset.
OUTPUT_FLAGS: Flags = [
    (
        ("--out",),
        {
            "metavar": "DIR",
            "help": "save the run folder: model (safetensors), "
            "settings, metrics, history and pictures (load with nnfit.load)",
        },
    ),
    (
        ("--checkpoint-every",),
        {
            "type": "whole",
            "metavar": "N",
            "help": "save a resumable checkpoint to the run folder every N steps",
        },
    ),
    (
        ("--tensorboard",),
        {
            "metavar": "DIR",
            "help": "log losses, metrics and the fit "
            "picture for TensorBoard (extra: nnfit[tensorboard])",
        },
    ),
    (("--save",), {"metavar": "FILE", "help": "save the animation: .gif or .mp4"}),
    (("--plot",), {"metavar": "FILE", "help": "save the final picture: .png, .svg or .pdf"}),
    (("--log",), {"metavar": "FILE", "help": "write metrics, one JSON line per frame"}),
    (("--save-config",), {"metavar": "FILE", "help": "write the run's settings (.toml)"}),
    (
        ("--fps",),
        {"type": "number", "metavar": "FPS", "help": "frames per second, live and saved (10)"},
    ),
    (("--size",), {"type": "size", "metavar": "WxH", "help": "frame size in pixels (800x400)"}),
    (("--no-window",), {"action": "store_true", "help": "no live window"}),
    (
        ("--no-wait",),
        {"action": "store_true", "help": "close the live window when training ends"},
    ),
    (("--overwrite",), {"action": "store_true", "help": "replace existing output files"}),
    (
        ("-q", "--quiet"),
        {"action": "store_true", "help": "print nothing but errors and the result"},
    ),
]


def run_flags(*, outputs: bool = True) -> dict[str, Flags]:
    """(flag, argparse keywords) per help group: one flag per setting of the settings table
    (``--batch-size`` for ``batch_size``), its help ending in the demo's and fit's defaults,
    then ``--preset`` and (with ``outputs``) the output flags."""
    groups: dict[str, Flags] = {}
    for row in table():
        if row.flag is not None:
            groups.setdefault(row.group, []).append(((row.flag,), _keywords(row)))
    preset = {"metavar": "NAME", "help": _preset_help()}
    groups["training"].insert(0, (("--preset",), preset))
    if outputs:
        groups["output"] = OUTPUT_FLAGS
    return groups


def _keywords(row: Setting) -> dict[str, Any]:
    """argparse keywords for a setting's flag; every default is None: "not given"."""
    kind_ = kind(row.hint, row.meta.get("flag_type"))
    help_ = (row.help + _defaults(row)).replace("%", "%%")  # argparse %-formats help
    keywords: dict[str, Any] = {"help": help_}
    if kind_ not in ("on", "on/off"):
        keywords["metavar"] = _metavar(row, kind_)
    if kind_ == "on":
        keywords.update(action="store_true", default=None)
    elif kind_ == "on/off":
        keywords.update(action=argparse.BooleanOptionalAction, default=None)
    elif kind_ is not None:
        keywords["type"] = kind_
    return keywords


METAVARS = {  # the value a flag takes, by its kind, where the setting names none
    "whole": "N",
    "number": "NUMBER",
    "pair": "LO,HI",
    "widths": "WIDTHS",
    "members": "N|auto",
    "numbers": "NUMBERS",
    None: "TEXT",
}


def _metavar(row: Setting, kind: str | None) -> str:
    """What goes after the flag in its help: the setting's ``metavar``, NAME for a choice,
    COLUMNS for columns, else one word for its kind (``--steps N``, ``--hidden WIDTHS``)."""
    if row.meta.get("metavar"):
        return str(row.meta["metavar"])
    if row.choices:
        return "NAME"
    if row.meta.get("form") == COLUMNS:
        return "COLUMNS"
    return METAVARS[kind]


def _defaults(row: Setting) -> str:
    """`` (demo: 0.5, fit: 0.01)`` from the presets, `` (default: 100)`` where they agree."""
    demo, fit = (
        PRESETS[preset].get(row.section, {}).get(row.name, row.default)
        for preset in (DEFAULT_PRESET, DATA_PRESET)
    )
    if demo == fit:
        return "" if demo is None else f" (default: {typed(demo)})"
    shown = [f"{name}: {typed(v)}" for name, v in (("demo", demo), ("fit", fit)) if v is not None]
    return f" ({', '.join(shown)})"


def _preset_help() -> str:
    roles = {DEFAULT_PRESET: "demo default: ", DATA_PRESET: "fit default: "}
    parts = []
    for name, sections in PRESETS.items():
        if name == DATA_PRESET:
            what = "nnfit's defaults for real data"
        else:
            what = ", ".join(f"{k} {typed(v)}" for t in sections.values() for k, v in t.items())
        parts.append(f"{name} ({roles.get(name, '')}{what})")
    return or_list(parts)


def add_run_flags(
    parser: argparse.ArgumentParser, *, outputs: bool = True, unlisted: Collection[str] = ()
) -> None:
    """Flags shared by ``demo`` and ``fit``: the settings and ``--preset`` (``doctor`` takes
    them too), and with ``outputs`` the output flags. Settings named in ``unlisted`` are
    still read (a command refuses them with its reason) but left out of the help."""
    for title, flags in run_flags(outputs=outputs).items():
        add_flags(parser.add_argument_group(title), flags, unlisted=unlisted)


def add_flags(group: Any, flags: Flags, *, unlisted: Collection[str] = ()) -> None:
    """Add (flag, argparse keywords) pairs to a parser or group; a ``type`` named by its kind
    ("whole", "widths", ...) becomes its parser from ``nnfit.setting_text``. Flags of the
    settings named in ``unlisted`` are read but left out of the help."""
    for names, keywords in flags:
        keywords = dict(keywords)
        if isinstance(keywords.get("type"), str):
            keywords["type"] = PARSERS[keywords["type"]]
        if names[0].lstrip("-").replace("-", "_") in unlisted:
            keywords["help"] = argparse.SUPPRESS
        group.add_argument(*names, **keywords)


def negative_ok() -> set[str]:
    """The flags whose value may start with a minus: numbers, LO,HI pairs and columns
    (``--domain``, ``--lr``, ``--noise-level``, ``--val``, ``--x``, ``--y``)."""
    return {
        row.flag
        for row in table()
        if row.flag is not None
        and (
            kind(row.hint, row.meta.get("flag_type")) in ("number", "pair")
            or row.meta.get("form") == COLUMNS
        )
    }


def _join_negative_values(argv: list[str]) -> list[str]:
    """Let ``--domain -3,3`` work: argparse would take "-3,3" for a flag."""
    flags = negative_ok()
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in flags and re.match(r"-[\d.]", arg):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def overrides_from(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Flag values the user gave, as per-section overrides for ``build_config``: one per
    setting with a flag (None where not given)."""
    overrides: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for row in table():
        if row.flag is not None:
            overrides[row.section][row.name] = getattr(args, row.name, None)
    # --noise KIND:LEVEL sets both
    noise, level = getattr(args, "noise", None), getattr(args, "noise_level", None)
    if noise is not None and ":" in noise:
        noise, _, level_text = noise.partition(":")
        level = number(level_text) if level is None else level
    overrides["data"].update(noise=noise, noise_level=level)
    return overrides


class RefusedFlag(argparse.Action):
    """A flag of ``nnfit fit`` that a command does not take: ``parser.error`` with the line
    ``message(flag)`` gives (see ``refuse_fit_flags``)."""

    def __init__(self, *args: Any, message: Callable[[str], str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.message = message

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        parser.error(self.message(self.option_strings[0]))


def refuse_fit_flags(
    parser: argparse.ArgumentParser, kept_output: Sequence[str], message: Callable[[str], str]
) -> None:
    """Give ``parser`` every flag of ``nnfit fit`` it does not take (the settings beyond the
    data's, the output flags not in ``kept_output``), each refused in one line."""
    refused = [row.flag for row in table() if row.section != "data" and row.flag]
    refused += [names[0] for names, _ in OUTPUT_FLAGS if names[-1] not in kept_output]
    taken = {name for action in parser._actions for name in action.option_strings}
    for name in refused:
        if name not in taken:
            parser.add_argument(
                name, action=RefusedFlag, nargs="?", help=argparse.SUPPRESS, message=message
            )

"""The playground's form: the settings table as JSON, and a page's values as a checked RunConfig.

The page draws its form from ``form_table()`` (each setting's name, default, range, choices,
help and group, with the server's caps folded into the range), so nothing is retyped in
JavaScript. ``build_run_config`` checks what a page sends exactly as the CLI checks its flags:
``build_config`` and each config's ``check_fields``, whose ``FieldError`` names the setting
(``lr must be a finite number above 0, got 0``); then the server's caps, worded the same way.
Torch-free and FastAPI-free: the CLI's ``nnfit serve --help`` and the tests read it bare.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from typing import Any

from ..checks import FieldError, SettingsError, describe, typed
from ..data.formula import NAMED_FUNCTIONS
from ..errors import NNFitError, UsageError
from ..runs.config import DATA_PRESET, DEFAULT_PRESET, PRESETS, RunConfig, build_config
from ..settings import Setting, table

# Settings the page does not offer, and why (a file is uploaded, never named by path; the rest
# are the machine's business, or decided by the playground itself).
NOT_ON_PAGE = {
    "file": "upload the table from the page instead",
    "example": "upload the table from the page instead",
    "device": "the server's choice",
    "threads": "the server's choice",
    "compile": "the server's choice",
    "every": "the playground records a frame for each step it draws (see frame_every)",
    "member_lr": "a sweep, not a playground setting",
    "member_lines": "the page draws the ensemble's band",
}


@dataclass(frozen=True)
class Caps:
    """What one run on this server may ask for; a bigger request is refused with a clear line."""

    points: int = 5_000
    steps: int = 20_000
    width: int = 256  # units in one hidden layer
    layers: int = 8
    members: int = 50
    frames: int = 250  # frames a run draws at most: ``every`` is chosen to fit (frame_every)
    upload_bytes: int = 2 * 2**20  # an uploaded table's size (its rows count as points too)


DEFAULT_CAPS = Caps()
MAX_INPUTS = 2  # the page draws one input as a line, two as a heatmap; more it refuses


class Refused(UsageError):
    """A request the playground refuses, in one English line, with the same as data for the
    page's catalogue: ``code`` (``error.CODE`` in ``i18n/*.json``) and ``params``.

    FieldError and SettingsError carry ``code`` and ``params`` too; ``nnfit.web.sessions.
    refusal`` sends any of them as ``{"error", "setting", "code", "params"}``.
    """

    def __init__(
        self,
        text: str,
        *,
        code: str,
        params: dict[str, Any] | None = None,
        setting: str | None = None,
        status: int = 400,
    ) -> None:
        self.code, self.params, self.setting = code, dict(params or {}), setting
        self.status = status  # the HTTP status: 400, or 413 for an upload over the size cap
        super().__init__(text)

    @classmethod
    def framed(
        cls, text: str, code: str, *, setting: str | None = None, status: int = 400
    ) -> Refused:
        """A refusal whose English line the 中文 page quotes inside its own words for
        ``code`` (the line is its ``detail``): a reader's or a parser's message."""
        return cls(text, code=code, params={"detail": text}, setting=setting, status=status)


UPLOAD_ROWS = ("x", "y", "encoding", "drop_missing")  # offered with an upload, not as fields
CAPPED = {"points": "points", "steps": "steps", "members": "members"}  # setting → Caps field


def kind_of(row: Setting) -> str:
    """The form control a setting needs: choice, bool, whole, number, widths, members,
    activations (a name, or one per hidden layer) or text."""
    special = row.meta.get("flag_type")
    if special in ("widths", "members", "pair", "activations"):
        return str(special)
    if row.choices:
        return "choice"
    arms = set(typing.get_args(row.hint)) - {type(None)} or {row.hint}
    if arms == {bool}:
        return "bool"
    if arms == {int}:
        return "whole"
    if arms == {float}:
        return "number"
    return "text"


def form_table(caps: Caps = DEFAULT_CAPS) -> list[dict[str, Any]]:
    """The settings the page offers, in the table's order, as JSON-ready rows.

    Each row: ``name``, ``section``, ``group``, ``kind`` (see ``kind_of``), ``default`` (the
    playground's preset, the lesson's), ``optional`` (None is allowed: "unset"), ``low``,
    ``high``, ``above``, ``below`` (the range, the caps folded in), ``choices`` (None, or the
    allowed words; for ``function`` the built-in names, a formula being allowed too), ``help``
    (the CLI's one-line help), ``form`` (what a value must be, in words) and ``upload``
    (true for the column choice the page offers with an uploaded table).
    """
    rows = []
    for row in table():
        if row.name in NOT_ON_PAGE:
            continue
        preset = PRESETS[DEFAULT_PRESET].get(row.section, {})
        default = preset.get(row.name, row.default)
        high = row.meta.get("high")
        cap = getattr(caps, CAPPED[row.name], None) if row.name in CAPPED else None
        if cap is not None:
            high = cap if high is None else min(high, cap)
        choices = row.choices
        if row.name == "function":
            choices = tuple(NAMED_FUNCTIONS)
        rows.append(
            {
                "name": row.name,
                "section": row.section,
                "group": row.group,
                "kind": kind_of(row),
                "default": list(default) if isinstance(default, tuple) else default,
                "optional": type(None) in typing.get_args(row.hint),
                "low": row.meta.get("low"),
                "high": high,
                "above": row.meta.get("above"),
                "below": row.meta.get("below"),
                "choices": None if choices is None else list(choices),
                "help": row.help,
                "form": row.meta.get("form") or describe(row.hint),
                "upload": row.name in UPLOAD_ROWS,
            }
        )
    if caps.width:  # the widths' range, which check_hidden words itself
        hidden = next(r for r in rows if r["name"] == "hidden")
        hidden.update(low=1, high=caps.width, max_layers=caps.layers)
    return rows


def refusal(error: NNFitError) -> dict[str, Any]:
    """A refused request as JSON: the one-line English message; for a setting, its name; and
    when the error has one, its message code and parameters, which the page words in its own
    language (``error.CODE`` in its catalogue; the English line where the code is unknown)."""
    name = None
    if isinstance(error, FieldError):
        name = error.name
    elif isinstance(error, SettingsError) and error.names:
        name = error.names[0]
    elif isinstance(error, Refused):
        name = error.setting
    code = getattr(error, "code", None)
    params = dict(getattr(error, "params", None) or {})
    if isinstance(error, FieldError):
        params.setdefault("value", typed(error.value))
    return {"error": str(error), "setting": name, "code": code, "params": params}


def data_defaults() -> dict[str, Any]:
    """The settings ``nnfit fit FILE`` changes from the lesson's (its preset for real data),
    as the form shows them once a table is uploaded."""
    return {
        name: list(value) if isinstance(value, tuple) else value
        for section in PRESETS[DATA_PRESET].values()
        for name, value in section.items()
        if name not in NOT_ON_PAGE
    }


def build_run_config(
    values: Any, caps: Caps = DEFAULT_CAPS, *, uploaded: bool = False
) -> RunConfig:
    """The RunConfig a page's values describe: the lesson's preset, then ``values``.

    Args:
        values: ``{name: value}`` for settings of ``form_table`` (JSON values: numbers,
            text, true/false, lists for widths, LO,HI and one activation per hidden layer;
            null for "unset").
        caps: the server's limits.
        uploaded: the session fits an uploaded table: the preset is ``nnfit fit FILE``'s (for
            real data) and the function's settings are not used. The file itself is never in
            the config (its name is no path on this machine): runs get its rows as arrays.

    Raises:
        UsageError (FieldError or SettingsError for a setting): one line naming the setting,
        as the CLI words it by field name.
    """
    if not isinstance(values, dict):
        raise Refused("settings must be a table of name: value", code="malformed")
    offered = {row.name: row for row in table() if row.name not in NOT_ON_PAGE}
    sections: dict[str, dict[str, Any]] = {"data": {}, "model": {}, "train": {}}
    for name, value in values.items():
        row = offered.get(name) if isinstance(name, str) else None
        if row is None:
            why = NOT_ON_PAGE.get(name, "") if isinstance(name, str) else ""
            raise Refused(
                f"unknown setting {str(name)[:40]!r}" + (f" ({why})" if why else ""),
                code="unknown_setting",
                params={"name": str(name)[:40]},
            )
        if row.name == "noise" and isinstance(value, str) and ":" in value:
            kind, _, level = value.partition(":")  # KIND:LEVEL, as --noise takes it
            sections["data"]["noise"] = kind
            sections["data"]["noise_level"] = _number_or_text(level)
            continue
        if row.name == "function":
            check_formula(value)
        sections[row.section][row.name] = value
    if not uploaded and (values.get("x") is not None or values.get("y") is not None):
        name = "x" if values.get("x") is not None else "y"
        raise SettingsError(
            f"{{{name}}} chooses a column of an uploaded table; upload one first",
            name,
            code="upload_first",
        )
    preset = DATA_PRESET if uploaded else DEFAULT_PRESET
    config = build_config(preset, source="the page", **sections)
    check_caps(config, caps, uploaded=uploaded)
    return config


def check_formula(value: Any) -> None:
    """A function's name or formula, through the safe parser: a refusal there names the
    setting and keeps the parser's English line as ``detail`` (the 中文 page frames it)."""
    from ..data.formula import resolve_function

    if not isinstance(value, str):
        return  # check_fields words a wrong type
    try:
        formula = resolve_function(value)
    except SettingsError:
        raise
    except UsageError as error:
        raise Refused.framed(str(error), "formula", setting="function") from None
    check_inputs(formula.n_inputs)


def check_inputs(n_inputs: int) -> None:
    """Refuse data of more inputs than the page can draw (one: a line; two: a heatmap; see
    ``nnfit.web.plane``), in one line; the preview and the run count the data's columns."""
    if n_inputs > MAX_INPUTS:
        raise SettingsError(
            f"the playground draws data of one or two inputs (x, or x1 and x2); this data "
            f"has {n_inputs}: fit it with nnfit fit instead",
            "function",
            code="inputs",
            params={"inputs": n_inputs},
        )


def _number_or_text(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text  # noise_level's check words it


def check_caps(config: RunConfig, caps: Caps, *, uploaded: bool = False) -> None:
    """Refuse a run bigger than the server allows, naming the setting and the cap (an upload's
    rows are checked when it is read: ``nnfit.web.playdata``)."""
    from ..core.model_config import AUTO_MEMBERS

    if not config.data.synthetic:
        raise SettingsError(
            "the playground reads tables uploaded from the page, never a path on the server",
            code="no_files",
        )
    for name, field_ in CAPPED.items():
        section = "data" if name == "points" else "model" if name == "members" else "train"
        value = getattr(getattr(config, section), name)
        cap = getattr(caps, field_)
        if isinstance(value, int) and value > cap:
            rule = f"must be at most {cap} on this server"
            raise FieldError(name, rule, value, code="cap", params={"cap": cap})
    hidden = config.model.hidden
    if len(hidden) > caps.layers:
        rule = f"must have at most {caps.layers} layers on this server"
        raise FieldError("hidden", rule, hidden, code="cap.layers", params={"cap": caps.layers})
    if max(hidden) > caps.width:
        rule = f"widths must be at most {caps.width} on this server"
        raise FieldError("hidden", rule, hidden, code="cap.width", params={"cap": caps.width})
    if config.model.members == "auto" and (not uploaded or caps.members < AUTO_MEMBERS):
        rule = f"must be a whole number from 1 to {caps.members}"
        bounds = {"low": 1, "high": caps.members}
        raise FieldError("members", rule, "auto", code="whole.range", params=bounds)


def frame_every(steps: int, caps: Caps = DEFAULT_CAPS) -> int:
    """Steps between the frames a run draws: 1 up to ``caps.frames`` steps (the lesson's 100
    steps are 100 frames), then enough that a run has at most ``caps.frames`` frames."""
    return max(1, math.ceil(steps / caps.frames))

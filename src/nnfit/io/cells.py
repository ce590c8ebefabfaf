"""One cell of a text table as a number, or the reason it is not one, worded for the user
(units, thousands separators, an ambiguous "1,234", an overflow, infinity)."""

from __future__ import annotations

import re

from .dialect import DECIMAL_COMMA, INFINITE, MISSING, TOTALS, shown_cell

FLOAT32_OVERFLOW = 2.0**128 - 2.0**103  # the least value float32 rounds to inf; training is float32
NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
WITH_UNITS = re.compile(
    r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*(?:[^\W\d_]|[°%µ])\S*"
)
THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:[,.' ][0-9]{3})+(?:[.,][0-9]+)?")
# "1,234.5" or "12,345,678": a comma can only separate thousands here (not "1,234": 1.234?)
COMMA_THOUSANDS = re.compile(
    r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]*(?:[eE][+-]?[0-9]+)?|[+-]?[0-9]{1,3}(?:,[0-9]{3}){2,}"
)


class BadCell(ValueError):
    """A cell that is not a number; the message says what it is and what to do."""


def to_float(field: str, decimal_comma: bool) -> float | None:
    """One cell as a finite float, None when missing; BadCell otherwise."""
    lowered = field.lower()
    if lowered in MISSING:
        return None
    if decimal_comma:
        if "." in field and NUMBER.fullmatch(field.replace(",", "", 1).replace(".", "", 1)):
            raise BadCell(
                f"'{shown_cell(field)}' is ambiguous in a file with decimal commas ('.' may "
                "separate thousands); remove the thousands separators"
            )
        field = field.replace(",", ".")
    elif COMMA_THOUSANDS.fullmatch(field):  # "1,234.5" (quoted in a comma file): no doubt
        field = field.replace(",", "")
    if NUMBER.fullmatch(field):
        value = float(field)
        if abs(value) >= FLOAT32_OVERFLOW:
            raise BadCell(
                f"'{shown_cell(field)}' is too large for float32 (largest 3.4e38); rescale the "
                "column (e.g. other units)"
            )
        return value
    if lowered in INFINITE:
        raise BadCell(f"'{field}' is infinite; nnfit needs finite numbers, so fix or remove it")
    raise BadCell(f"'{shown_cell(field)}' is not a number; {cell_hint(field)}")


def cell_hint(field: str) -> str:
    """What to do about a non-numeric cell."""
    if TOTALS.fullmatch(field):
        return "this looks like a totals row, not data: delete it or start it with '#'"
    if THOUSANDS.fullmatch(field):
        doubt = "1234 or 1.234?" if "," in field else "a thousands separator?"
        return f"{doubt} remove thousands separators and write plain numbers like 1234.5"
    if DECIMAL_COMMA.fullmatch(field):
        return "write '.' decimals, or ';' between fields with decimal commas throughout"
    if WITH_UNITS.fullmatch(field):
        return "strip units from the values (put them in the column name instead)"
    return "fix or remove that row, or choose a column that holds numbers"

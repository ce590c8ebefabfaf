"""The dialect of a delimited text table, sniffed from its first lines: the delimiter, the
decimal mark, the header (refused when a first row could be either), a units row under it, and a
delimiter ending every line (a spreadsheet's empty last column)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from ..errors import DataError
from ..safetext import printable

MAX_COLUMNS = 10_000
MISSING = frozenset({"", "na", "n/a", "#n/a", "nan", "-nan", "+nan", "null", "none", "?"})
INFINITE = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
# The first cell of a spreadsheet's summary row (English, German, French, Spanish, Chinese)
TOTALS = re.compile(
    r"(?:grand |sub-?)?totals?|sum|summe|gesamt|somme|suma|average|mean|"
    r"合计|合計|总计|總計|小计|小計|平均|平均值",
    re.IGNORECASE,
)
DECIMAL_COMMA = re.compile(r"[+-]?[0-9]*,[0-9]+(?:[eE][+-]?[0-9]+)?")
DELIMITERS = ("\t", ";", ",")  # tried in this order; whitespace is the last resort
SAMPLE_LINES = 50


@dataclass(frozen=True)
class Dialect:
    """How a text table is written, as sniffed from its first lines."""

    delimiter: str | None  # None: runs of spaces and tabs
    decimal_comma: bool  # ';' files writing 1,5 for 1.5
    columns: tuple[str, ...]
    has_header: bool
    first_line: int  # 1-based line of the header, or of the first data row without one
    trailing: bool = False  # every line ends with the delimiter: an empty last column, dropped
    units_line: int = 0  # 1-based line of a units row under the header (skipped); 0: none
    units: tuple[str, ...] = ()  # that row's cells, one per column


def is_content(line: str) -> bool:
    """True for a line holding data: not blank, not a '#' comment."""
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def split_fields(line: str, delimiter: str | None) -> list[str]:
    """Split one line into stripped fields, honouring "quoted, fields"."""
    if delimiter is None:
        fields = line.split()
    elif '"' in line:
        fields = next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), [])
    else:
        fields = line.split(delimiter)
    return [_unquote(field.strip()) for field in fields]


def _unquote(field: str) -> str:
    return field[1:-1].strip() if len(field) >= 2 and field[0] == field[-1] == '"' else field


def sniff_dialect(lines: list[str], source: str) -> Dialect:
    """Detect delimiter, decimal mark and header from the first content lines."""
    sample: list[tuple[int, str]] = []  # (line number, line)
    for i, line in enumerate(lines):
        if is_content(line):
            sample.append((i + 1, line))
            if len(sample) == SAMPLE_LINES:
                break
    if not sample:
        raise DataError(f"{source} has no data, only comments or blank lines; it needs numbers")
    first_line = sample[0][0]
    _check_width(sample[0][1], first_line, source)
    try:
        delimiter = _pick_delimiter([line for _, line in sample])
        rows = [split_fields(line, delimiter) for _, line in sample]
    except csv.Error as error:
        raise DataError(f"{source}: cannot split into fields ({error}); check the quotes") from None
    trailing = _has_trailing_delimiter(rows, delimiter)
    if trailing:
        rows = [row[:-1] for row in rows]
    decimal_comma = delimiter == ";" and any(
        DECIMAL_COMMA.fullmatch(field) for row in rows for field in row
    )
    header = rows[0]
    has_header = _is_header(rows, source, first_line)
    units: tuple[str, ...] = ()
    units_line = 0
    if has_header and len(rows) > 1 and _is_units_row(rows[1], len(header)):
        units, units_line = tuple(rows[1]), sample[1][0]
    if has_header:
        columns = tuple(name or f"col{j + 1}" for j, name in enumerate(header))
        seen: dict[str, int] = {}
        for j, name in enumerate(columns):
            if name in seen:
                raise DataError(
                    f"{source} line {first_line}: column name '{printable(name)}' appears twice "
                    f"(columns {seen[name] + 1} and {j + 1}); rename one of them"
                )
            seen[name] = j
    else:
        columns = tuple(f"col{j + 1}" for j in range(len(header)))
    return Dialect(
        delimiter, decimal_comma, columns, has_header, first_line, trailing, units_line, units
    )


def _is_header(rows: list[list[str]], source: str, line_no: int) -> bool:
    """True when the first row holds text: it names the columns.

    A first row whose text lies only in columns of text (an id, a name) beside columns of
    numbers could be data of a file without a header as well as a header naming some columns
    with numbers: that is refused rather than guessed.
    """
    first, below = rows[0], rows[1:]
    text = [j for j, field in enumerate(first) if not _looks_numeric(field)]
    if not text or not below:
        return bool(text)

    def column_is(j: int, numeric: bool) -> bool:
        return all(j < len(row) and _looks_numeric(row[j]) == numeric for row in below)

    numbers = [j for j in range(len(first)) if j not in text and column_is(j, numeric=True)]
    if numbers and all(column_is(j, numeric=False) for j in text):
        raise DataError(
            f"{source} line {line_no}: cannot tell whether this row is a header or data (its "
            f"cells in number columns are numbers, like '{shown_cell(first[numbers[0]])}'); add a "
            "header line naming every column, or name those columns with words"
        )
    return True


def _has_trailing_delimiter(rows: list[list[str]], delimiter: str | None) -> bool:
    """True when every sampled line ends with the delimiter (as spreadsheets export): the
    empty last field, header included, is then no column."""
    return delimiter is not None and all(len(row) >= 2 and row[-1] == "" for row in rows)


def _is_units_row(row: list[str], n_columns: int) -> bool:
    """True for the row under a header that holds units ("°C", "mm Hg"), not numbers: every
    cell is text or empty, and at least one is text."""
    if len(row) != n_columns or not any(row):
        return False
    return all(not field or not _looks_numeric(field) for field in row) and not any(
        TOTALS.fullmatch(field) for field in row
    )


def _check_width(line: str, line_no: int, source: str) -> None:
    """Refuse a first line with more than MAX_COLUMNS fields, counted without splitting it."""
    counts = {d: line.count(d) + 1 for d in DELIMITERS if d in line}
    if max(counts.values(), default=1) <= MAX_COLUMNS and len(line) <= 2 * MAX_COLUMNS:
        return  # fast path: too few delimiters, and too short for that many words
    counts["whitespace"] = re.subn(r"\S+", "", line)[1]
    widest = max(counts, key=lambda d: counts[d])
    if counts[widest] > MAX_COLUMNS:
        shown = widest if widest == "whitespace" else repr(widest)
        raise DataError(
            f"{source} line {line_no} has {counts[widest]:,} columns (split at {shown}), more "
            f"than the {MAX_COLUMNS:,} nnfit reads; save only the columns you need (e.g. with "
            "cut or pandas)"
        )


def _pick_delimiter(lines: list[str]) -> str | None:
    """Tab, ';', ',' or whitespace (None): the first that splits the sample into even rows."""
    counts: dict[str | None, list[int]] = {
        d: [len(split_fields(line, d)) for line in lines] for d in DELIMITERS if d in lines[0]
    }
    counts[None] = [len(line.split()) for line in lines]
    for delimiter, fields in counts.items():
        if fields[0] > 1 and len(set(fields)) == 1:
            return delimiter
    if all(n == 1 for n in counts[None][1:]):
        return ","  # one column, maybe with a header like "my value"; no line is split
    for delimiter, fields in counts.items():  # ragged rows: trust the first line, report later
        if fields[0] > 1:
            return delimiter
    return ","


def _looks_numeric(field: str) -> bool:
    """True for a cell that is a number, a missing mark, or a number gone wrong (2kg, 1,234)."""
    if field.lower() in MISSING or field.lower() in INFINITE:
        return True
    return bool(re.match(r"[+-]?\.?[0-9]", field))


def shown_cell(field: str, limit: int = 40) -> str:
    """A cell as quoted in a message: printable, and cut short when long."""
    return printable(field if len(field) <= limit else field[:limit] + "...")

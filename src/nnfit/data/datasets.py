"""Small real data sets shipped with nnfit, so ``nnfit fit --example NAME`` works offline.

Each is a plain comma CSV with a header in ``nnfit/data/example_data``; ``SOURCES.md`` beside
the files gives the full citation and licence status of each. ``nnfit examples`` prints the list.

Example:
    >>> from nnfit.data.datasets import EXAMPLES, example_path
    >>> EXAMPLES["pressure"].x, EXAMPLES["pressure"].y
    ('temperature', 'pressure')
    >>> example_path("pressure").name
    'pressure.csv'
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from importlib import resources

from ..errors import UsageError
from ..safetext import closest


@dataclass(frozen=True)
class Example:
    """One shipped data set: its file, default columns and where it comes from."""

    name: str  # what --example takes, e.g. "pressure"
    title: str  # one line: what is measured against what, with units
    x: str  # default input column
    y: str  # default output column
    rows: int  # data rows in the file (header not counted)
    source: str  # citation, one line (SOURCES.md has the full one)
    licence: str  # why nnfit may ship it
    file: str  # file name inside nnfit/data/example_data


_ALL = (
    Example(
        name="pressure",
        title="Vapour pressure of mercury (mm Hg) vs temperature (°C)",
        x="temperature",
        y="pressure",
        rows=19,
        source="Weast (ed.), Handbook of Chemistry and Physics, CRC 1973; R datasets 'pressure'",
        licence="physical-property facts, not subject to copyright",
        file="pressure.csv",
    ),
    Example(
        name="cars",
        title="Stopping distance (ft) vs speed (mph) of cars in the 1920s",
        x="speed",
        y="distance",
        rows=50,
        source="Ezekiel, Methods of Correlation Analysis, Wiley 1930; R datasets 'cars'",
        licence="public domain (published 1930; measured facts)",
        file="cars.csv",
    ),
    Example(
        name="nile",
        title="Annual flow of the Nile at Aswan (10^8 m³) vs year, 1871-1970",
        x="year",
        y="flow",
        rows=100,
        source="Cobb, Biometrika 65 (1978) 243-251; statsmodels 'nile', R datasets 'Nile'",
        licence="public domain (river gauge measurements; marked so by statsmodels)",
        file="nile.csv",
    ),
    Example(
        name="us_population",
        title="US census population (millions) vs year, 1790-2020",
        x="year",
        y="population",
        rows=24,
        source="US Census Bureau decennial census counts; carData 'USPop' plus 2010 and 2020",
        licence="public domain (US government work)",
        file="us_population.csv",
    ),
    Example(
        name="mauna_loa",
        title="Monthly mean CO2 at Mauna Loa (ppm) vs time (decimal year), 1988-2017",
        x="time",
        y="co2",
        rows=360,
        source="NOAA ESRL Global Monitoring Division, Mauna Loa monthly means; Stat2Data CO2Hawaii",
        licence="public domain (US government work)",
        file="mauna_loa.csv",
    ),
    Example(
        name="engel",
        title="Annual food expenditure vs income of Belgian households, 1850s (francs)",
        x="income",
        y="food_expenditure",
        rows=235,
        source="Engel (1857) via Koenker & Bassett, Econometrica 50 (1982); statsmodels 'engel'",
        licence="public domain (published before 1930; marked so by statsmodels)",
        file="engel.csv",
    ),
    Example(
        name="halley",
        title="Survivors per 1000 alive at age 1 vs age (years), Breslau, 1687-1691",
        x="age",
        y="survivors",
        rows=84,
        source="Halley, Phil. Trans. R. Soc. 17 (1693) 596-610; HistData 'HalleyLifeTable'",
        licence="public domain (published 1693)",
        file="halley.csv",
    ),
    Example(
        name="el_nino",
        title="Monthly Niño 1+2 sea surface temperature (°C) vs month, 1950-2010",
        x="month",
        y="temperature",
        rows=732,
        source="NOAA Climate Prediction Center, ERSST.v3b Niño 1+2 index; statsmodels 'elnino'",
        licence="public domain (US government work)",
        file="el_nino.csv",
    ),
)

EXAMPLES: dict[str, Example] = {example.name: example for example in _ALL}


def list_examples() -> list[Example]:
    """All shipped examples, sorted by name."""
    return [EXAMPLES[name] for name in sorted(EXAMPLES)]


def _data_folder() -> pathlib.Path:
    """The folder of the shipped CSV files (a real folder: nnfit is never imported from a zip)."""
    folder = resources.files("nnfit.data").joinpath("example_data")
    assert isinstance(folder, pathlib.Path), folder
    return folder


def example_path(name: str) -> pathlib.Path:
    """The CSV file of a shipped example.

    Args:
        name: an example's name, as ``nnfit examples`` lists them.

    Returns:
        The path of its CSV file inside the installed package.

    Raises:
        UsageError: the name is not a shipped example; the message lists the names and suggests
            the nearest one.

    Example:
        >>> example_path("cars").name
        'cars.csv'
    """
    if name not in EXAMPLES:
        names = sorted(EXAMPLES)
        near = closest(name.lower(), names, cutoff=0.5)
        hint = "" if near is None else f"did you mean '{near}'? "
        raise UsageError(
            f"no example called '{name}'; {hint}examples are: {', '.join(names)} "
            "(nnfit examples describes them)"
        )
    return _data_folder() / EXAMPLES[name].file


def format_examples() -> str:
    """The text ``nnfit examples`` prints: one line per example, then where sources are cited."""
    examples = list_examples()
    header = ("name", "rows", "x → y", "title")
    lines = [(e.name, str(e.rows), f"{e.x} → {e.y}", e.title) for e in examples]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(3)]

    def line(row: tuple[str, str, str, str]) -> str:
        name, rows, columns, title = row
        return f"{name:<{widths[0]}}  {rows:>{widths[1]}}  {columns:<{widths[2]}}  {title}".rstrip()

    return "\n".join(
        [
            line(header),
            *(line(row) for row in lines),
            "",
            "Fit one with: nnfit fit --example NAME  (choose other columns with --x and --y)",
            f"Sources and licences: {_data_folder() / 'SOURCES.md'}",
        ]
    )

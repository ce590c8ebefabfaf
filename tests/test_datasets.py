import csv

import numpy as np
import pytest

from nnfit.data.datasets import EXAMPLES, example_path, format_examples, list_examples
from nnfit.errors import UsageError

NAMES = sorted(EXAMPLES)


def read(name: str) -> np.ndarray:
    return np.genfromtxt(example_path(name), delimiter=",", names=True, encoding="utf-8")


def test_there_are_six_to_eight_examples_keyed_by_name():
    assert 6 <= len(EXAMPLES) <= 8
    assert all(name == example.name for name, example in EXAMPLES.items())
    assert [example.name for example in list_examples()] == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_example_file_has_declared_rows_and_columns(name):
    example = EXAMPLES[name]
    data = read(name)
    assert example_path(name).name == example.file
    assert len(data) == example.rows
    assert example.x in data.dtype.names
    assert example.y in data.dtype.names
    assert example.x != example.y


@pytest.mark.parametrize("name", NAMES)
def test_example_values_are_finite_and_x_varies(name):
    data = read(name)
    for column in data.dtype.names:
        assert np.isfinite(data[column]).all(), column
    assert np.ptp(data[EXAMPLES[name].x]) > 0


@pytest.mark.parametrize("name", NAMES)
def test_example_file_is_plain_csv(name):
    path = example_path(name)
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    header = rows[0]
    assert all(column.isidentifier() and column == column.lower() for column in header)
    assert all(len(row) == len(header) for row in rows)
    assert "#" not in text and ";" not in text and '"' not in text
    assert path.stat().st_size < 100_000


def test_examples_are_small_in_total():
    assert sum(example_path(name).stat().st_size for name in NAMES) < 300_000


def test_pressure_matches_published_values():
    data = read("pressure")
    assert data["temperature"][0] == 0 and data["pressure"][0] == pytest.approx(0.0002)
    assert data["temperature"][-1] == 360 and data["pressure"][-1] == 806


def test_unknown_name_suggests_the_nearest():
    with pytest.raises(UsageError, match="did you mean 'pressure'") as error:
        example_path("presure")
    assert all(name in str(error.value) for name in NAMES)


def test_unrelated_name_lists_the_examples_without_a_guess():
    with pytest.raises(UsageError, match="examples are: ") as error:
        example_path("zzzz")
    assert "did you mean" not in str(error.value)


def test_format_examples_lists_every_example_and_its_columns():
    text = format_examples()
    for example in list_examples():
        assert example.name in text
        assert f"{example.x} → {example.y}" in text
    assert "SOURCES.md" in text


def test_sources_cite_every_file_with_a_licence():
    sources = (example_path(NAMES[0]).parent / "SOURCES.md").read_text(encoding="utf-8")
    for example in list_examples():
        assert f"## {example.file}" in sources
    assert sources.count("Licence status:") == len(EXAMPLES)


def test_every_example_states_source_and_licence():
    for example in list_examples():
        assert example.title and example.source and example.licence

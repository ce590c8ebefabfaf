"""Reading only the columns a caller uses (``read_table(use=...)``): the others may hold text,
dates or nothing, and are kept as written on request (``keep_text``), in every file kind."""

from __future__ import annotations

import io
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from nnfit.errors import DataError, UsageError
from nnfit.io.table import columns_for, read_table, select_columns


def numbers(n: int, seed: int = 0) -> np.ndarray:
    """(n, 2) seeded numbers with a few decimals, exact in text."""
    return np.round(np.random.default_rng(seed).normal(size=(n, 2)) * 100, 3)


def mixed_text(values: np.ndarray, delimiter: str = ",", quoted: bool = False) -> str:
    """A file whose numbers x and y sit between an id, a name and a date column."""
    name = '"Smith, J"' if quoted else "Smith"
    lines = [delimiter.join(["id", "x", "name", "y", "when"])]
    for i, (x, y) in enumerate(values):
        lines.append(
            delimiter.join([f"a{i:03d}", repr(float(x)), name, repr(float(y)), "2024-05-01"])
        )
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "name, delimiter, quoted",
    [("d.csv", ",", False), ("d.csv", ",", True), ("d.tsv", "\t", False), ("d.txt", " ", False)],
)
@pytest.mark.parametrize("n", [5, 3000])  # a few rows, and enough for the fast path to matter
def test_text_columns_beside_the_chosen_ones_are_ignored(tmp_path, name, delimiter, quoted, n):
    values = numbers(n)
    path = tmp_path / name
    path.write_text(mixed_text(values, delimiter, quoted))
    with pytest.raises(DataError, match="'a000' is not a number"):
        read_table(path)  # every column read: the id is refused, as before
    table = read_table(path, use=columns_for(x="x", y="y"))
    assert table.columns == ("x", "y")
    assert table.all_columns == ("id", "x", "name", "y", "when")
    np.testing.assert_array_equal(table.values, values)
    x, y, x_names, y_names = select_columns(table, x="x", y="y")
    np.testing.assert_array_equal(np.hstack([x, y]), values)
    assert (x_names, y_names) == (("x",), ("y",))


def test_column_indices_count_every_column_of_the_file(tmp_path):
    values = numbers(4)
    path = tmp_path / "d.csv"
    path.write_text(mixed_text(values))
    table = read_table(path, use=columns_for(x="2", y="4"))
    _, _, x_names, y_names = select_columns(table, x="2", y="4")
    assert (x_names, y_names) == (("x",), ("y",))


def test_a_chosen_text_column_is_refused_naming_line_and_column(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(mixed_text(numbers(4)))
    with pytest.raises(DataError) as caught:
        read_table(path, use=columns_for(x="name", y="y"))
    message = str(caught.value)
    assert "d.csv line 2, column 'name': 'Smith' is not a number" in message
    assert "choose a column that holds numbers" in message and "\n" not in message


def test_an_unknown_column_is_refused_before_the_data_is_read(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,y\n1,2\nbad,row,here\n")
    with pytest.raises(UsageError, match="column 'z' not found; columns are: x, y"):
        read_table(path, use=columns_for(x="x", y="z"))


def test_a_row_with_too_many_fields_is_still_refused_when_its_columns_are_unused(tmp_path):
    rows = "".join(f"{i},{i * i},t{i}\n" for i in range(50))
    path = tmp_path / "d.csv"
    path.write_text("x,y,note\n" + rows + "7,49,t,extra\n")
    with pytest.raises(DataError, match="line 52 has 4 fields, more than expected"):
        read_table(path, use=columns_for(x="x", y="y"))


def test_missing_values_count_only_in_the_used_columns(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,x,note,y\n007,1,,2\n008,NA,n/a,3\n009,4,?,5\n010,6,x,\n")
    with pytest.raises(DataError, match=r"line 3 \(column 'x'\), line 5 \(column 'y'\)"):
        read_table(path, use=columns_for(x="x", y="y"))
    table = read_table(path, use=columns_for(x="x", y="y"), drop_missing=True, keep_text=True)
    assert table.n_dropped == 2
    np.testing.assert_array_equal(table.values, [[1, 2], [4, 5]])
    assert table.cells == [["007", "1", "", "2"], ["009", "4", "?", "5"]]  # the kept rows


def test_kept_text_is_as_written(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('id,x,y,price\n007,1.50,2,"1,234.5"\n-5,1e3,4, =A1 \n')
    table = read_table(path, use=columns_for(x="x", y="y"), keep_text=True)
    assert table.cells == [["007", "1.50", "2", "1,234.5"], ["-5", "1e3", "4", "=A1"]]
    np.testing.assert_array_equal(table.values, [[1.5, 2], [1000, 4]])


def test_decimal_comma_files_keep_their_text(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("name;x;y\nMüller;1,5;2,25\nDupont;3;-0,5\n")
    table = read_table(path, use=columns_for(x="x", y="y"), keep_text=True)
    np.testing.assert_array_equal(table.values, [[1.5, 2.25], [3, -0.5]])
    assert table.cells == [["Müller", "1,5", "2,25"], ["Dupont", "3", "-0,5"]]


def test_units_row_is_given_for_the_used_columns(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,t,p\n,s,mm Hg\na,1,2\nb,3,4\n")
    table = read_table(path, use=columns_for(x="t", y="p"))
    assert table.units == ("s", "mm Hg")


def test_stdin_with_a_text_column(monkeypatch):
    values = numbers(6)
    data = mixed_text(values).encode()
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(data)))
    table = read_table("-", use=columns_for(x="x", y="y"), keep_text=True)
    np.testing.assert_array_equal(table.values, values)
    assert table.source == "<stdin>" and table.cells is not None
    assert [row[0] for row in table.cells] == [f"a{i:03d}" for i in range(6)]


def test_a_headerless_file_with_a_text_column_is_refused_not_guessed(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,1,2\nb,3,4\nc,5,6\n")
    with pytest.raises(DataError, match=r"d\.csv line 1: cannot tell whether this row is a header"):
        read_table(path, use=columns_for(x="2", y="3"))


def test_npz_arrays_that_are_not_used_are_not_read_unless_kept_as_text(tmp_path):
    values = numbers(5)
    path = tmp_path / "d.npz"
    labels = np.array([f"row {i}" for i in range(5)])
    np.savez(path, t=values[:, 0], label=labels, v=values[:, 1], n=np.arange(5))
    with pytest.raises(DataError, match="array 'label' holds <U5 values"):
        read_table(path)
    table = read_table(path, use=columns_for(x="t", y="v"))
    assert table.columns == ("t", "v") and table.all_columns == ("t", "label", "v", "n")
    np.testing.assert_array_equal(table.values, values)
    kept = read_table(path, use=columns_for(x="t", y="v"), keep_text=True)
    np.testing.assert_array_equal(kept.values, values)
    assert kept.cells is not None
    assert [row[1] for row in kept.cells] == list(labels)
    assert [row[3] for row in kept.cells] == ["0", "1", "2", "3", "4"]  # integers as integers
    assert [float(row[0]) for row in kept.cells] == values[:, 0].tolist()


def test_npy_reads_the_chosen_columns_and_keeps_the_rows_it_keeps_as_text(tmp_path):
    values = np.array([[1.5, 2.0, 7.0], [np.nan, 1.0, 8.0], [3.0, 4.25, np.nan]])
    path = tmp_path / "d.npy"
    np.save(path, values)
    use = columns_for(x="col1", y="col2")
    table = read_table(path, use=use, keep_text=True, drop_missing=True)
    assert table.columns == ("col1", "col2") and table.all_columns == ("col1", "col2", "col3")
    np.testing.assert_array_equal(table.values, [[1.5, 2.0], [3.0, 4.25]])
    assert table.n_dropped == 1  # the NaN in the unused col3 drops nothing
    assert table.cells == [["1.5", "2.0", "7.0"], ["3.0", "4.25", "nan"]]


def test_parquet_text_columns_that_are_not_used_are_not_read_unless_kept(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    values = numbers(5)
    path = tmp_path / "d.parquet"
    names = [f"n{i}" for i in range(4)] + [None]
    columns = {"name": names, "x": values[:, 0], "y": values[:, 1], "k": list(range(5))}
    pq.write_table(pa.table(columns), path)
    with pytest.raises(DataError, match="column 'name': holds string values"):
        read_table(path)
    table = read_table(path, use=columns_for(x="x", y="y"))
    assert table.columns == ("x", "y") and table.all_columns == ("name", "x", "y", "k")
    np.testing.assert_array_equal(table.values, values)
    kept = read_table(path, use=columns_for(x="x", y="y"), keep_text=True)
    assert kept.cells is not None
    assert [row[0] for row in kept.cells] == ["n0", "n1", "n2", "n3", ""]  # null: empty
    assert [row[3] for row in kept.cells] == ["0", "1", "2", "3", "4"]
    assert [float(row[1]) for row in kept.cells] == values[:, 0].tolist()


def test_columns_not_read_cannot_be_selected(tmp_path):
    path: Path = tmp_path / "d.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6\n")
    table = read_table(path, use=columns_for(x="a", y="b"))
    with pytest.raises(UsageError, match=r"column 'c' of .* was not read as numbers"):
        select_columns(table, x="a", y="c")


@pytest.mark.parametrize("spaces", ["", " "])
def test_cells_are_the_same_whether_a_chunk_is_clean_or_not(tmp_path, spaces):
    values = numbers(20)
    sep = "," + spaces
    rows = [sep.join([f"a{i}", repr(float(x)), repr(float(y))]) for i, (x, y) in enumerate(values)]
    clean = tmp_path / "clean.csv"
    clean.write_text(sep.join(["id", "x", "y"]) + "\n" + "\n".join(rows) + "\n")
    quoted = tmp_path / "quoted.csv"  # one quoted cell sends the chunk down the exact path
    quoted.write_text(clean.read_text().replace("a7", '"a7"'))
    got = [read_table(p, use=columns_for(x="x", y="y"), keep_text=True) for p in (clean, quoted)]
    assert got[0].cells == got[1].cells
    assert got[0].cells is not None and got[0].cells[7] == [
        "a7",
        repr(float(values[7, 0])),
        repr(float(values[7, 1])),
    ]
    np.testing.assert_array_equal(got[0].values, got[1].values)

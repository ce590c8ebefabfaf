"""Tests for nnfit.io.table and its text reader nnfit.io.csvsniff: dialects, formats, errors."""

from __future__ import annotations

import io
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnfit.errors import DataError, NNFitError, UsageError
from nnfit.io import csvsniff, dialect, table
from nnfit.io.table import Table, read_table, select_columns


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, str):
        path.write_bytes(content.encode())
    else:
        path.write_bytes(content)
    return path


def read_error(path: Path, **kwargs) -> str:
    with pytest.raises(DataError) as caught:
        read_table(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_public_api_is_pinned():
    assert table.__all__ == ["Table", "columns_for", "read_table", "select_columns"]


# --- dialects -------------------------------------------------------------------------------


def test_comma_with_header(tmp_path):
    got = read_table(write(tmp_path, "d.csv", "x,y\n1,2\n3.5,-4e2\n"))
    assert got.columns == ("x", "y")
    assert got.values.dtype == np.float64
    np.testing.assert_array_equal(got.values, [[1, 2], [3.5, -400]])
    assert got.source == str(tmp_path / "d.csv")
    assert got.n_dropped == 0


def test_semicolon_with_decimal_comma(tmp_path):
    got = read_table(write(tmp_path, "eu.csv", "x;y\n1,5;2,25\n3;-0,5\n"))
    assert got.columns == ("x", "y")
    np.testing.assert_array_equal(got.values, [[1.5, 2.25], [3, -0.5]])


def test_semicolon_with_decimal_point(tmp_path):
    got = read_table(write(tmp_path, "d.csv", "x;y\n1.5;2.25\n3;4\n"))
    np.testing.assert_array_equal(got.values, [[1.5, 2.25], [3, 4]])


def test_decimal_comma_file_refuses_points_that_may_be_thousands(tmp_path):
    message = read_error(write(tmp_path, "eu.csv", "x;y\n1,5;2\n1.234;3\n"))
    assert "eu.csv line 3, column 'x'" in message
    assert "'1.234'" in message and "thousands" in message


def test_tab_separated(tmp_path):
    got = read_table(write(tmp_path, "d.tsv", "time\tvalue\n0\t1.5\n1\t2.5\n"))
    assert got.columns == ("time", "value")
    np.testing.assert_array_equal(got.values, [[0, 1.5], [1, 2.5]])


def test_whitespace_columns(tmp_path):
    got = read_table(write(tmp_path, "d.dat", "  x    y\n  1   -2\n 3.5\t 4\n"))
    assert got.columns == ("x", "y")
    np.testing.assert_array_equal(got.values, [[1, -2], [3.5, 4]])


def test_quoted_fields(tmp_path):
    got = read_table(write(tmp_path, "d.csv", '"x","y, m"\n"1.5","2"\n3,"4"\n'))
    assert got.columns == ("x", "y, m")
    np.testing.assert_array_equal(got.values, [[1.5, 2], [3, 4]])


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_windows_and_old_mac_line_ends(tmp_path, newline):
    text = newline.join(["x,y", "1,2", "3,4", ""])
    got = read_table(write(tmp_path, "d.csv", text))
    np.testing.assert_array_equal(got.values, [[1, 2], [3, 4]])


def test_utf8_byte_order_mark(tmp_path):
    got = read_table(write(tmp_path, "d.csv", b"\xef\xbb\xbfx,y\n1,2\n3,4\n"))
    assert got.columns == ("x", "y")


def test_utf16_with_byte_order_mark(tmp_path):
    got = read_table(write(tmp_path, "d.txt", "x\ty\n1\t2\n3\t4\n".encode("utf-16")))
    assert got.columns == ("x", "y")
    np.testing.assert_array_equal(got.values, [[1, 2], [3, 4]])


def test_comments_and_blank_lines_are_skipped(tmp_path):
    text = "# made by a logger\n#units: s, m\n\nx,y\n1,2\n\n# pause\n3,4\n  \n"
    got = read_table(write(tmp_path, "d.csv", text))
    np.testing.assert_array_equal(got.values, [[1, 2], [3, 4]])


def test_no_header_names_columns(tmp_path):
    got = read_table(write(tmp_path, "d.csv", "# no names\n1,2,3\n4,5,6"))
    assert got.columns == ("col1", "col2", "col3")
    np.testing.assert_array_equal(got.values, [[1, 2, 3], [4, 5, 6]])


def test_empty_header_name_becomes_position(tmp_path):
    got = read_table(write(tmp_path, "pandas.csv", ",x,y\n0,1,2\n1,3,4\n"))
    assert got.columns == ("col1", "x", "y")


def test_single_column_with_spaced_name(tmp_path):
    got = read_table(write(tmp_path, "d.txt", "my value\n1\n2\n"))
    assert got.columns == ("my value",)
    np.testing.assert_array_equal(got.values, [[1], [2]])


@pytest.mark.parametrize("name", ["data", "data.log", "data.CSV"])
def test_other_names_are_read_as_text(tmp_path, name):
    assert read_table(write(tmp_path, name, "x,y\n1,2\n3,4\n")).columns == ("x", "y")


def test_encoding_latin1_when_asked(tmp_path):
    path = write(tmp_path, "d.csv", "température,p\n1,2\n3,4\n".encode("latin-1"))
    message = read_error(path)
    assert "d.csv line 1" in message and "--encoding" in message
    assert read_table(path, encoding="latin-1").columns == ("température", "p")


def test_unknown_encoding_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="unknown encoding 'klingon'"):
        read_table(write(tmp_path, "d.csv", "x,y\n1,2\n3,4\n"), encoding="klingon")


def test_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(b"a,b\n1,2\n3,4\n")))
    got = read_table("-")
    assert got.source == "<stdin>"
    assert got.columns == ("a", "b")
    np.testing.assert_array_equal(got.values, [[1, 2], [3, 4]])


def test_stdin_errors_name_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(b"a,b\n1,x\n3,4\n")))
    with pytest.raises(DataError, match=r"<stdin> line 2, column 'b': 'x' is not a number"):
        read_table("-")


# --- file errors ----------------------------------------------------------------------------


def test_missing_file_suggests_a_near_name(tmp_path):
    write(tmp_path, "data.csv", "x,y\n1,2\n3,4\n")
    message = read_error(tmp_path / "dta.csv")
    assert "dta.csv not found" in message and "did you mean" in message and "data.csv" in message


def test_folder(tmp_path):
    assert "is a folder" in read_error(tmp_path)


def test_unreadable_file(tmp_path, monkeypatch):
    path = write(tmp_path, "secret.csv", "x,y\n1,2\n3,4\n")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(table, "open", refuse, raising=False)  # shadows the builtin in there
    message = read_error(path)
    assert "secret.csv" in message and "permission denied" in message


def test_path_through_a_file(tmp_path):
    inside = write(tmp_path, "d.csv", "x,y\n1,2\n3,4\n") / "more.csv"
    assert "cannot open" in read_error(inside)


@pytest.mark.parametrize("name", ["d.xlsx", "d.json", "d.csv.gz"])
def test_unsupported_extension(tmp_path, name):
    message = read_error(write(tmp_path, name, "x,y\n1,2\n"))
    assert name in message
    assert "csv, tsv, txt, dat, npy, npz and parquet" in message


def test_empty_file(tmp_path):
    assert "is empty" in read_error(write(tmp_path, "d.csv", ""))


def test_only_comments(tmp_path):
    assert "no data" in read_error(write(tmp_path, "d.csv", "# nothing yet\n\n"))


def test_header_only(tmp_path):
    message = read_error(write(tmp_path, "d.csv", "x,y\n"))
    assert "no data rows" in message and "needs at least 2 data rows" in message


def test_single_data_row(tmp_path):
    message = read_error(write(tmp_path, "d.csv", "x,y\n1,2\n"))
    assert "only 1 data row" in message and "needs at least 2 data rows" in message


def test_binary_file(tmp_path):
    message = read_error(write(tmp_path, "d.csv", b"PK\x03\x04\x00\x00binary"))
    assert "binary" in message and "d.csv line 1" in message


def test_invalid_utf8_names_the_line(tmp_path):
    message = read_error(write(tmp_path, "d.csv", b"x,y\n1,2\n3,\xff\xfe\n"))
    assert "d.csv line 3" in message and "--encoding" in message


# --- cell and row errors --------------------------------------------------------------------


def test_non_numeric_value_names_line_column_and_value(tmp_path):
    message = read_error(write(tmp_path, "d.csv", "# units\nx,y\n1,2\n3,abc\n"))
    assert "d.csv line 4, column 'y'" in message and "'abc' is not a number" in message


def test_units_get_a_hint(tmp_path):
    message = read_error(write(tmp_path, "d.csv", "x,m\n1,2kg\n3,4kg\n"))
    assert "line 2, column 'm'" in message and "'2kg'" in message and "strip units" in message


def test_thousands_separator_gets_a_hint(tmp_path):
    message = read_error(write(tmp_path, "d.csv", 'x,y\n1,2\n2,"1,234"\n'))
    assert "line 3, column 'y'" in message and "'1,234'" in message and "thousands" in message


def test_first_row_with_units_is_data_not_header(tmp_path):
    message = read_error(write(tmp_path, "d.csv", "1,2kg\n3,4kg\n"))
    assert "line 1, column 'col2'" in message and "strip units" in message


@pytest.mark.parametrize("cell", ["NA", "NaN", "", "null", "?", "n/a"])
def test_missing_values(tmp_path, cell):
    path = write(tmp_path, "d.csv", f"x,y\n1,2\n3,{cell}\n5,6\n7,8\n")
    message = read_error(path)
    assert "missing values" in message and "line 3 (column 'y')" in message
    assert "--drop-missing" in message
    got = read_table(path, drop_missing=True)
    np.testing.assert_array_equal(got.values, [[1, 2], [5, 6], [7, 8]])
    assert got.n_dropped == 1


def test_missing_values_lists_the_first_few(tmp_path):
    rows = "".join(f"{i},NA\n" for i in range(10))
    message = read_error(write(tmp_path, "d.csv", "x,y\n" + rows))
    assert "line 2 (column 'y')" in message and "line 6 (column 'y')" in message
    assert "line 7 " not in message and "and more" in message


def test_dropping_too_many_rows(tmp_path):
    message = read_error(write(tmp_path, "d.csv", "x,y\n1,NA\n2,3\n"), drop_missing=True)
    assert "after dropping 1" in message and "needs at least 2 data rows" in message


@pytest.mark.parametrize("cell", ["inf", "-inf", "Infinity", "1e400"])
def test_infinite_values(tmp_path, cell):
    message = read_error(write(tmp_path, "d.csv", f"x,y\n1,2\n{cell},4\n"), drop_missing=True)
    assert f"line 3, column 'x': '{cell}'" in message
    assert "infinite" in message or "overflows" in message


def test_duplicate_column_names(tmp_path):
    message = read_error(write(tmp_path, "d.csv", "x,y,x\n1,2,3\n4,5,6\n"))
    assert "line 1" in message and "'x' appears twice" in message


def test_row_with_more_fields(tmp_path):
    message = read_error(write(tmp_path, "d.csv", "x,y\n1,2\n3,4,5\n6,7\n"))
    assert "d.csv line 3 has 3 fields" in message and "header" in message and "2" in message


def test_title_line_gets_a_hint(tmp_path):
    message = read_error(write(tmp_path, "d.csv", "Oven log\nx,y\n1,2\n3,4\n"))
    assert "line 2 has 2 fields" in message and "start it with '#'" in message


def test_row_with_fewer_fields(tmp_path):
    message = read_error(write(tmp_path, "d.csv", "1 2\n3 4\n5\n"))
    assert "line 3 has 1 fields, fewer" in message and "first row (line 1) has 2" in message


# --- spreadsheet exports --------------------------------------------------------------------


def _rows(rng, n=6):
    """n rows of two random numbers, as text and as the array they mean."""
    values = np.round(rng.uniform(-100, 100, (n, 2)), 3)
    return values, [(repr(float(a)), repr(float(b))) for a, b in values]


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_trailing_delimiter_on_every_line_is_no_column(tmp_path, delimiter, header, newline):
    values, cells = _rows(np.random.default_rng(0))
    lines = ([f"x{delimiter}y{delimiter}"] if header else []) + [
        f"{a}{delimiter}{b}{delimiter}" for a, b in cells
    ]
    got = read_table(write(tmp_path, "d.csv", newline.join(lines) + newline))
    assert got.columns == (("x", "y") if header else ("col1", "col2"))
    np.testing.assert_array_equal(got.values, values)


def test_a_trailing_delimiter_is_dropped_in_the_exact_reader_too(tmp_path):
    # "NA" sends the chunk through the line-by-line reader; a quoted cell skips the quick row
    path = write(tmp_path, "d.csv", 'x,y,\n1,2,\n3,NA,\n"5",6,\n7,8,\n')
    got = read_table(path, drop_missing=True)
    np.testing.assert_array_equal(got.values, [[1, 2], [5, 6], [7, 8]])
    assert got.n_dropped == 1


def test_a_value_under_the_trailing_delimiter_is_a_width_error(tmp_path):
    rows = "".join(f"{i},{i},\n" for i in range(60)) + "9,9,9\n"
    message = read_error(write(tmp_path, "d.csv", "x,y,\n" + rows))
    assert "line 62 has 3 fields" in message and "trailing delimiter" in message


def test_a_trailing_semicolon_with_decimal_commas(tmp_path):
    got = read_table(write(tmp_path, "eu.csv", "x;y;\n1,5;2;\n3;-4,25;\n"))
    assert got.columns == ("x", "y")
    np.testing.assert_array_equal(got.values, [[1.5, 2], [3, -4.25]])


def test_a_units_row_under_the_header_is_read_as_units(tmp_path):
    path = write(tmp_path, "d.csv", "temperature,pressure,note\n°C,mm Hg,\n1,2,3\n4,5,6\n")
    got = read_table(path)
    assert got.columns == ("temperature", "pressure", "note")
    assert got.units == ("°C", "mm Hg", "")
    np.testing.assert_array_equal(got.values, [[1, 2, 3], [4, 5, 6]])
    assert read_table(write(tmp_path, "e.csv", "x,y\n1,2\n3,4\n")).units == ()


def test_a_text_row_later_than_the_header_is_still_an_error(tmp_path):
    message = read_error(write(tmp_path, "d.csv", "x,y\n1,2\ns,m\n3,4\n"))
    assert "line 3, column 'x'" in message and "'s' is not a number" in message


@pytest.mark.parametrize("first", ["Total", "SUM", "Grand total", "合计", "Summe"])
def test_a_totals_row_names_its_line_and_what_to_do(tmp_path, first):
    message = read_error(write(tmp_path, "d.csv", f"x,y\n1,2\n3,4\n{first},6\n"))
    assert "line 4, column 'x'" in message and "totals row" in message and "'#'" in message


def test_a_commented_totals_row_is_skipped(tmp_path):
    got = read_table(write(tmp_path, "d.csv", "x,y\n1,2\n3,4\n# Total,6\n"))
    np.testing.assert_array_equal(got.values, [[1, 2], [3, 4]])


@pytest.mark.parametrize(
    "cell, value", [("1,234.5", 1234.5), ("-12,345,678", -12345678), ("1,000.", 1000)]
)
def test_quoted_numbers_with_thousands_separators_are_read(tmp_path, cell, value):
    got = read_table(write(tmp_path, "d.csv", f'x,y\n1,"{cell}"\n2,3\n'))
    np.testing.assert_array_equal(got.values, [[1, value], [2, 3]])


@pytest.mark.parametrize("cell", ["1,234", "1.234,5", "1 234"])
def test_ambiguous_thousands_are_refused_with_the_line(tmp_path, cell):
    message = read_error(write(tmp_path, "d.csv", f'x,y\n1,2\n2,"{cell}"\n'))
    assert "line 3, column 'y'" in message and "thousands" in message


# --- chunked reading ------------------------------------------------------------------------


def test_small_chunks_give_the_same_table(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    expected = rng.normal(size=(200, 3))
    text = "a,b,c\r\n" + "".join(
        ",".join(repr(v) for v in row) + "\r\n" for row in expected.tolist()
    )
    path = write(tmp_path, "d.csv", text)
    monkeypatch.setattr(csvsniff, "CHUNK_BYTES", 37)
    calls = []
    got = read_table(path, progress=lambda done, total: calls.append((done, total)))
    np.testing.assert_array_equal(got.values, expected)
    assert len(calls) > 10
    assert calls[-1] == (path.stat().st_size, path.stat().st_size)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_small_chunks_keep_line_numbers(tmp_path, monkeypatch):
    rows = [f"{i},{i * 2}" for i in range(100)]
    rows[70] = "70,oops"
    path = write(tmp_path, "d.csv", "# c\r\nx,y\r\n" + "\r\n".join(rows) + "\r\n")
    monkeypatch.setattr(csvsniff, "CHUNK_BYTES", 16)
    assert "line 73, column 'y': 'oops'" in read_error(path)


def test_small_chunks_drop_missing(tmp_path, monkeypatch):
    rows = [f"{i},{'NA' if i % 7 == 0 else i}" for i in range(100)]
    path = write(tmp_path, "d.csv", "x,y\n" + "\n".join(rows))
    monkeypatch.setattr(csvsniff, "CHUNK_BYTES", 50)
    got = read_table(path, drop_missing=True)
    assert got.n_dropped == 15
    np.testing.assert_array_equal(got.values[:, 0], [i for i in range(100) if i % 7])


def test_big_tables_become_float32(tmp_path, monkeypatch):
    monkeypatch.setattr(csvsniff, "FLOAT32_ROWS", 10)
    monkeypatch.setattr(csvsniff, "CHUNK_BYTES", 40)
    small = read_table(write(tmp_path, "s.csv", "x,y\n" + "1.1,2\n" * 10))
    assert small.values.dtype == np.float64
    big = read_table(write(tmp_path, "b.csv", "x,y\n" + "1.1,2\n" * 50))
    assert big.values.dtype == np.float32 and big.values.shape == (50, 2)
    np.testing.assert_array_equal(big.values, np.float32([[1.1, 2]] * 50))


def test_big_tables_keep_float64_for_values_outside_float32(tmp_path, monkeypatch):
    monkeypatch.setattr(csvsniff, "FLOAT32_ROWS", 10)
    monkeypatch.setattr(csvsniff, "CHUNK_BYTES", 40)
    # 1e-300 becomes 0 in float32 (values above float32's range are refused: test_hostile_data)
    got = read_table(write(tmp_path, "b.csv", "x,y\n" + "1,2\n" * 30 + "1e30,1e-300\n"))
    assert got.values.dtype == np.float64
    assert got.values[-1].tolist() == [1e30, 1e-300]


# --- numpy and parquet ----------------------------------------------------------------------


def test_npy_2d_and_1d(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(6, dtype=np.int32).reshape(3, 2))
    got = read_table(tmp_path / "a.npy")
    assert got.columns == ("col1", "col2") and got.values.dtype == np.float64
    np.testing.assert_array_equal(got.values, [[0, 1], [2, 3], [4, 5]])
    np.save(tmp_path / "b.npy", np.arange(3.0))
    assert read_table(tmp_path / "b.npy").columns == ("col1",)


def test_npy_refuses_objects_and_3d(tmp_path):
    np.save(tmp_path / "o.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
    assert "Python objects" in read_error(tmp_path / "o.npy")
    np.save(tmp_path / "c.npy", np.zeros((2, 2, 2)))
    assert "(2, 2, 2)" in read_error(tmp_path / "c.npy")
    assert "not a NumPy .npy file" in read_error(write(tmp_path, "t.npy", "x,y\n1,2\n"))


def test_npy_missing_and_infinite(tmp_path):
    np.save(tmp_path / "m.npy", np.array([[1, 2], [3, np.nan], [5, 6], [7, 8]]))
    assert "row 2 (column 'col2')" in read_error(tmp_path / "m.npy")
    got = read_table(tmp_path / "m.npy", drop_missing=True)
    assert got.n_dropped == 1 and len(got.values) == 3
    np.save(tmp_path / "i.npy", np.array([[1, 2], [3, np.inf]]))
    assert "row 2, column 'col2'" in read_error(tmp_path / "i.npy")


def test_npz_layouts(tmp_path):
    np.savez(tmp_path / "one.npz", np.ones((3, 2)))
    assert read_table(tmp_path / "one.npz").columns == ("col1", "col2")
    np.savez(tmp_path / "xy.npz", x=np.arange(3.0), y=np.arange(3.0) ** 2, note=np.zeros(7))
    got = read_table(tmp_path / "xy.npz")
    assert got.columns == ("x", "y")
    np.testing.assert_array_equal(got.values, [[0, 0], [1, 1], [2, 4]])
    np.savez(tmp_path / "cols.npz", t=np.arange(3.0), v=np.ones(3), w=np.zeros(3))
    assert read_table(tmp_path / "cols.npz").columns == ("t", "v", "w")
    np.savez(tmp_path / "x2.npz", x=np.ones((4, 2)), y=np.ones(4))
    assert read_table(tmp_path / "x2.npz").columns == ("x1", "x2", "y")


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "bad.npz", a=np.ones((3, 2)), b=np.ones(3))
    assert "a (3, 2)" in read_error(tmp_path / "bad.npz")
    np.savez(tmp_path / "len.npz", x=np.ones(3), y=np.ones(4))
    assert "different lengths" in read_error(tmp_path / "len.npz")
    assert "damaged" in read_error(write(tmp_path, "z.npz", b"PK\x03\x04broken"))


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    data = pa.table({"t": [1, 2, 3], "v": [0.5, None, 2.5], "ok": [True, False, True]})
    pq.write_table(data, tmp_path / "d.parquet")
    assert "row 2 (column 'v')" in read_error(tmp_path / "d.parquet")
    got = read_table(tmp_path / "d.parquet", drop_missing=True)
    assert got.columns == ("t", "v", "ok") and got.n_dropped == 1
    np.testing.assert_array_equal(got.values, [[1, 0.5, 1], [3, 2.5, 1]])
    pq.write_table(pa.table({"name": ["a", "b"], "v": [1.0, 2.0]}), tmp_path / "s.pq")
    assert "column 'name'" in read_error(tmp_path / "s.pq")
    assert "not a readable Parquet file" in read_error(write(tmp_path, "t.parquet", "x,y\n"))


def test_parquet_without_pyarrow(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    message = read_error(write(tmp_path, "d.parquet", b"PAR1"))
    assert message == "reading Parquet needs pyarrow: pip install 'nnfit[parquet]'"


# --- select_columns -------------------------------------------------------------------------


def make_table(*columns: str) -> Table:
    values = np.arange(3.0 * len(columns)).reshape(3, len(columns))
    return Table(tuple(columns), values, "d.csv")


def test_select_two_columns_by_default():
    x, y, x_names, y_names = select_columns(make_table("t", "v"))
    assert (x_names, y_names) == (("t",), ("v",))
    assert x.shape == (3, 1) and y.shape == (3, 1)
    np.testing.assert_array_equal(x[:, 0], [0, 2, 4])


def test_select_needs_a_choice_for_three_columns():
    with pytest.raises(UsageError, match=r"3 columns \(a, b, c\).*--x and --y"):
        select_columns(make_table("a", "b", "c"))


def test_select_by_name_and_index():
    x, y, x_names, y_names = select_columns(make_table("a", "b", "c"), x="a,3", y="2")
    assert x_names == ("a", "c") and y_names == ("b",)
    assert x.shape == (3, 2)
    np.testing.assert_array_equal(y[:, 0], [1, 4, 7])


def test_select_name_wins_over_index():
    _, _, x_names, y_names = select_columns(make_table("2", "1"), x="1")
    assert x_names == ("1",) and y_names == ("2",)


def test_select_one_side_takes_the_remaining_column():
    assert select_columns(make_table("a", "b", "c"), x="a, c")[3] == ("b",)
    assert select_columns(make_table("a", "b", "c"), y="b,c")[2] == ("a",)
    with pytest.raises(UsageError, match="columns left are b, c; pass --y"):
        select_columns(make_table("a", "b", "c"), x="a")


def test_select_needs_two_columns():
    with pytest.raises(UsageError, match=r"only 1 column \(v\)"):
        select_columns(make_table("v"))
    with pytest.raises(UsageError, match="columns left are a, b; pass --x"):
        select_columns(make_table("a", "b", "c"), y="c")


def test_select_unknown_column_suggests_a_name():
    with pytest.raises(UsageError) as caught:
        select_columns(make_table("temperature", "pressure"), x="tempature")
    assert str(caught.value) == (
        "column 'tempature' not found; columns are: temperature, pressure; "
        "did you mean 'temperature'?"
    )


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        ("a", "a", "both --x and --y"),
        ("4", "a", "out of range"),
        ("a,a", "b", "twice"),
        ("a,", "b", "empty column name"),
        ("²", "a", "not found"),
    ],
)
def test_select_bad_choices(x, y, match):
    with pytest.raises(UsageError, match=match):
        select_columns(make_table("a", "b", "c"), x=x, y=y)


# --- properties -----------------------------------------------------------------------------

NOT_NAMES = dialect.MISSING | dialect.INFINITE | {"infinity"}
names = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6).filter(
    lambda name: name.lower() not in NOT_NAMES
)


@st.composite
def tables(draw):
    n_columns = draw(st.integers(1, 5))
    n_rows = draw(st.integers(2, 30))
    floats = st.floats(-3.4e38, 3.4e38)  # finite in float32, as nnfit trains in float32
    rows = draw(
        st.lists(
            st.lists(floats, min_size=n_columns, max_size=n_columns),
            min_size=n_rows,
            max_size=n_rows,
        )
    )
    header = draw(st.none() | st.lists(names, min_size=n_columns, max_size=n_columns, unique=True))
    delimiter = draw(st.sampled_from([",", ";", "\t", " "]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return rows, header, delimiter, newline


@settings(
    derandomize=True,
    database=None,
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(tables())
def test_round_trip_is_exact(tmp_path, case):
    rows, header, delimiter, newline = case
    lines = [delimiter.join(header)] if header else []
    lines += [delimiter.join(repr(value) for value in row) for row in rows]
    got = read_table(write(tmp_path, "round.csv", newline.join(lines) + newline))
    assert got.values.dtype == np.float64
    assert got.values.tolist() == rows
    assert got.columns == (
        tuple(header) if header else tuple(f"col{j + 1}" for j in range(len(rows[0])))
    )


@settings(
    derandomize=True,
    database=None,
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.binary(max_size=200)
    | st.text('0123456789.,;\t \n\r-+eE#"NAnaix?\x00é', max_size=80).map(str.encode)
)
def test_any_bytes_give_a_table_or_our_error(tmp_path, content):
    try:
        got = read_table(write(tmp_path, "fuzz.csv", content))
    except NNFitError as error:
        assert isinstance(error, (DataError, UsageError))
        assert "\n" not in str(error)
    else:
        assert len(got.values) >= 2 and np.isfinite(got.values).all()
        assert got.values.shape[1] == len(got.columns)


IN_MEMORY = [  # (name, content, read_table's options): read from memory exactly as from the file
    ("oven.csv", b"time,temp\n1,20.5\n2,21\n3,21.4\n", {}),
    ("oven.tsv", "time\ttemp\ns\t\u00b0C\n1\t20\n2\t21\n".encode(), {}),
    ("plain", b"1 2\n2 4\n3 9\n", {}),
    ("latin.csv", "t,temp\u00e9rature\n1,2\n2,3\n".encode("latin-1"), {"encoding": "latin-1"}),
    ("gaps.csv", b"a,b\n1,\n2,3\n3,4\n", {"drop_missing": True}),
    ("gaps.csv", b"a,b\n1,\n2,3\n3,4\n", {}),
    ("bad.csv", b"a,b\n1,x\n2,3\n", {}),
    ("junk.csv", bytes(range(128, 256)), {}),
    ("empty.csv", b"", {}),
]


@pytest.mark.parametrize(("name", "content", "options"), IN_MEMORY)
def test_a_tables_bytes_in_memory_read_as_its_file(tmp_path, monkeypatch, name, content, options):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, name, content)

    def outcome(**extra):
        try:
            got = read_table(name, **options, **extra)
        except NNFitError as error:
            return type(error), str(error)
        return got.columns, got.values.tolist(), got.n_dropped, got.units, got.all_columns

    from_file = outcome()
    (tmp_path / name).unlink()  # from memory, the name only names it: nothing is opened
    assert outcome(content=content) == from_file


def test_only_text_tables_are_read_from_memory():
    for name in ("a.npy", "a.npz", "a.parquet"):
        with pytest.raises(DataError, match="only text tables"):
            read_table(name, content=b"\x93NUMPY")
    with pytest.raises(DataError, match="save it as CSV"):
        read_table("book.xlsx", content=b"a,b\n1,2\n")  # the file's kinds refused as on disk

"""Hostile data files and arrays: refused with one line before memory, time or the terminal suffer.

Each test builds a file the way a user with bad luck or bad intent would (forged headers, zip
bombs, one endless line, a million columns, values beyond float32, escape sequences) and checks
that nnfit answers with one clear line instead of a traceback, a MemoryError or a hang.
"""

from __future__ import annotations

import io
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import nnfit
from nnfit import memory
from nnfit.cli import main
from nnfit.data.synthetic import make_data
from nnfit.errors import DataError, UsageError
from nnfit.io import arrays, csvsniff, dialect
from nnfit.io.table import read_table, select_columns

QUICK = ["--no-window", "-q", "--steps", "5", "--every", "5"]


def read_error(path: Path | str, **kwargs) -> str:
    with pytest.raises(DataError) as caught:
        read_table(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    _, err = capsys.readouterr()
    return code, err


def npy_bytes(descr: str, shape: tuple[int, ...], data: bytes) -> bytes:
    """An .npy file whose header says (descr, shape) whatever data follows."""
    out = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(out, header)
    return out.getvalue() + data


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail instead of hanging when the block takes longer (a regression to reading forever)."""

    def expire(signum, frame):
        raise TimeoutError(f"still reading after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def free_memory(monkeypatch, n_bytes: int) -> None:
    """Pretend this process has only n_bytes free."""
    monkeypatch.setattr(memory, "available_bytes", lambda: n_bytes)


# --- .npy and .npz: headers first ----------------------------------------------------------


def test_npy_declaring_80_gb_in_1_kb_is_refused_as_forged(tmp_path):
    path = tmp_path / "forged.npy"
    path.write_bytes(npy_bytes("<f8", (10**10,), bytes(1000)))
    message = read_error(path)
    assert "declares an array of 80 GB but holds 1.0 kB: damaged or forged" in message


def test_npz_entry_declaring_more_than_it_holds_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "forged.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", npy_bytes("<f8", (10**10, 2), bytes(800)))
    monkeypatch.setattr(arrays, "_npy_data", pytest.fail)  # no data is read
    message = read_error(path)
    assert "array 'x' declares an array of 160 GB but holds 800 bytes" in message


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.array([1 + 2j, 3]), "holds complex numbers; save the real and imaginary parts as two"),
        (np.zeros(3, dtype=[("a", "<f8"), ("b", "<i4")]), "is a structured array"),
        (np.array(["1", "2"]), "holds <U1 values, not numbers"),
        (np.array(["2024-01-01"], dtype="datetime64[D]"), "values, not numbers"),
    ],
    ids=["complex", "structured", "text", "datetime"],
)
def test_npy_of_a_non_numeric_dtype_is_refused(tmp_path, array, expected):
    np.save(tmp_path / "a.npy", array)
    assert expected in read_error(tmp_path / "a.npy")
    np.savez(tmp_path / "a.npz", values=array)
    assert expected in read_error(tmp_path / "a.npz")


def test_npy_of_objects_is_refused_without_unpickling(tmp_path):
    witness = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (witness,))

    array = np.empty(1, dtype=object)
    array[0] = Payload()
    with open(tmp_path / "evil.npy", "wb") as f:
        np.lib.format.write_array(f, array, allow_pickle=True)
    pickle.loads(pickle.dumps(Payload()))  # the payload works when unpickled...
    assert witness.exists()
    witness.unlink()
    assert "Python objects" in read_error(tmp_path / "evil.npy")
    assert not witness.exists()  # ...and nnfit never unpickled it


def test_npz_zip_bomb_is_refused_without_inflating(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, x=np.zeros(10_000_000))  # 80 MB of zeros in about 80 kB
    assert path.stat().st_size < 200_000
    inflated = []
    real_read = zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        data = real_read(self, n)
        inflated.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    free_memory(monkeypatch, 50_000_000)
    message = read_error(path)
    assert "would need about 160 MB of memory, more than the 50 MB" in message
    assert sum(inflated) <= arrays.NPY_HEAD  # only the header was inflated


def test_npz_bomb_meets_the_real_memory_check_under_an_address_space_limit(tmp_path):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, x=np.zeros(10_000_000))  # inflates to 80 MB
    script = textwrap.dedent(
        f"""
        import resource, sys
        from nnfit import memory
        from nnfit.io import table
        from nnfit.errors import DataError
        vm = memory._proc_status()["VmSize"]
        limit = vm + 64 * 2**20  # 64 MiB more: too little for the 80 MB array
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
        try:
            table.read_table({str(path)!r})
        except DataError as error:
            print(error)
            sys.exit(2)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "would need about 160 MB of memory" in done.stdout
    assert "MemoryError" not in done.stderr


def test_npz_with_too_many_arrays_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(arrays, "MAX_ARRAYS", 3)
    np.savez(tmp_path / "many.npz", **{f"a{i}": np.arange(3.0) for i in range(4)})
    assert "holds 4 arrays, more than the 3 nnfit reads" in read_error(tmp_path / "many.npz")
    np.savez(tmp_path / "few.npz", **{f"a{i}": np.arange(3.0) for i in range(3)})
    assert read_table(tmp_path / "few.npz").columns == ("a0", "a1", "a2")


def test_npz_with_a_non_array_entry_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "odd.npz", "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert "holds 'notes.txt', not a NumPy array" in read_error(tmp_path / "odd.npz")


def test_npz_reads_only_x_and_y_when_both_are_there(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.arange(3.0), y=np.arange(3.0) * 2, labels=np.array(["a"]))
    got = read_table(tmp_path / "d.npz")
    assert got.columns == ("x", "y")
    np.testing.assert_array_equal(got.values, [[0, 0], [1, 2], [2, 4]])


def test_fortran_order_npy_reads_the_same_values(tmp_path):
    values = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(4, 3))
    np.save(tmp_path / "f.npy", values)
    np.testing.assert_array_equal(read_table(tmp_path / "f.npy").values, values)


# --- parquet -------------------------------------------------------------------------------


def test_parquet_memory_is_checked_from_its_footer(tmp_path, monkeypatch):
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"a": np.arange(1000.0), "b": np.arange(1000.0)}), path)
    monkeypatch.setattr(pq.ParquetFile, "read", pytest.fail)  # refused before any data
    free_memory(monkeypatch, 10_000)
    message = read_error(path)
    assert "(1,000 rows of 2 columns) would need about" in message


def test_parquet_value_beyond_float32_names_row_and_column(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"a": [1.0, 2.0, 3.0], "b": [1.0, -1e39, 2.0]}), path)
    message = read_error(path)
    assert "row 2, column 'b': -1e+39 is too large for float32 (largest 3.4e38)" in message


# --- text: linear time, bounded lines and columns, memory ------------------------------------


def test_one_endless_line_is_refused_quickly(tmp_path):
    path = tmp_path / "one_line.csv"
    path.write_bytes(b"1," * 16_000_000)  # 32 MB without a line break
    start = time.perf_counter()
    with deadline(30):
        message = read_error(path)
    assert time.perf_counter() - start < 10  # read quadratically this took about a minute
    assert "line 1 is longer than 8 MiB" in message


def test_an_endless_line_after_the_header_names_its_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"x,y\n1,2\n" + b"3" * 20_000_000 + b"\n4,5\n")
    assert "line 3 is longer than 8 MiB" in read_error(path)


def test_a_line_across_many_blocks_is_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(csvsniff, "CHUNK_BYTES", 7)
    long_x = "1" + "0" * 30 + ".5"
    path = tmp_path / "d.csv"
    path.write_bytes(f"x,y\r\n{long_x},2\r\n3,4\r\n".encode())
    got = read_table(path)
    np.testing.assert_array_equal(got.values, [[float(long_x), 2], [3, 4]])


def test_a_million_columns_are_refused_at_the_header(tmp_path):
    path = tmp_path / "wide.csv"
    header = ",".join(f"c{j}" for j in range(1_000_000))
    path.write_text(header + "\n" + ",".join(["1"] * 1_000_000) + "\n")
    with deadline(30):
        message = read_error(path)
    assert "line 1 has 1,000,000 columns (split at ',')" in message
    assert "save only the columns you need" in message


def test_columns_up_to_the_cap_are_read(tmp_path, monkeypatch):
    monkeypatch.setattr(dialect, "MAX_COLUMNS", 5)
    (tmp_path / "ok.txt").write_text("1 2 3 4 5\n6 7 8 9 10\n")
    assert read_table(tmp_path / "ok.txt").values.shape == (2, 5)
    (tmp_path / "wide.txt").write_text("1 2 3 4 5 6\n6 7 8 9 10 11\n")
    assert "6 columns (split at whitespace)" in read_error(tmp_path / "wide.txt")


def test_a_text_table_too_big_for_memory_is_refused_at_the_first_block(tmp_path, monkeypatch):
    monkeypatch.setattr(csvsniff, "CHUNK_BYTES", 64 * 1024)
    path = tmp_path / "big.csv"
    path.write_text("x,y\n" + "1.25,2.5\n" * 200_000)  # 1.8 MB, 200,000 rows
    free_memory(monkeypatch, 1_000_000)
    seen: list[int] = []
    message = read_error(path, progress=lambda done, total: seen.append(done))
    assert "rows of 2 columns) would need about" in message
    assert max(seen) < path.stat().st_size / 10  # refused early, from the file size


def test_dev_zero_ends_at_the_first_block():
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    with deadline(10):
        assert "NUL bytes, so this is a binary file" in read_error("/dev/zero")


def test_a_folder_is_refused(tmp_path):
    assert "is a folder, not a file" in read_error(tmp_path)
    (tmp_path / "d.npz").mkdir()
    assert "is a folder, not a file" in read_error(tmp_path / "d.npz")


def test_a_fifo_named_npy_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "d.npy"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)  # holds the FIFO open so reading it could block
    try:
        with deadline(10):
            assert "is not a regular file" in read_error(fifo)
    finally:
        os.close(writer)


# --- values beyond float32 -----------------------------------------------------------------


def test_csv_value_beyond_float32_names_file_line_and_column(tmp_path, capsys):
    path = tmp_path / "data.csv"
    path.write_text("x,y\n1,2\n3,1e39\n5,6\n")
    message = read_error(path)
    assert message == (
        f"{path} line 3, column 'y': '1e39' is too large for float32 (largest 3.4e38); "
        "rescale the column (e.g. other units)"
    )
    code, err = run(capsys, "fit", str(path), *QUICK)
    assert code == 2
    assert err == f"nnfit: error: {message}\n"


def test_fast_path_falls_back_to_find_the_line_beyond_float32(tmp_path):
    rows = [f"{i},{i * 0.5}" for i in range(5000)]
    rows[3999] = "3999,-2e40"
    path = tmp_path / "d.csv"
    path.write_text("x,y\n" + "\n".join(rows) + "\n")
    assert "line 4001, column 'y': '-2e40' is too large for float32" in read_error(path)


def test_float32_max_itself_is_read(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,y\n1,3.4028234e38\n2,-3.4028234e38\n")
    assert read_table(path).values[0, 1] == pytest.approx(3.4028234e38)


def test_npy_and_npz_values_beyond_float32_name_row_and_column(tmp_path):
    np.save(tmp_path / "a.npy", np.array([[1.0, 2.0], [3.0, 4.0], [1e39, 5.0]]))
    assert "row 3, column 'col1': 1e+39 is too large for float32" in read_error(tmp_path / "a.npy")
    np.savez(tmp_path / "b.npz", x=np.arange(3.0), y=np.array([0.0, 1e300, 2.0]))
    assert "row 2, column 'y': 1e+300 is too large" in read_error(tmp_path / "b.npz")


def test_api_refuses_values_beyond_float32_with_row_and_column():
    x = np.linspace(0, 1, 5)
    y = np.stack([x, x], axis=1)
    y[3, 1] = 1e39
    with pytest.raises(DataError, match=r"^y row 4, column 2: 1e\+39 is too large for float32"):
        nnfit.fit(x, y, steps=1)


def test_api_names_the_dataframe_column(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b\x1b[2J": [1.0, np.inf, 3.0]})
    with pytest.raises(DataError) as caught:
        nnfit.fit(frame, [1.0, 2.0, 3.0], steps=1)
    assert "x row 2, column 'b\\x1b[2J': a missing or infinite value" in str(caught.value)


@pytest.mark.parametrize("kind", ["numpy", "list", "torch"])
def test_api_refuses_complex_input_instead_of_truncating_it(kind):
    values = [1 + 2j, 2 + 0j, 3 - 1j]
    if kind == "numpy":
        values = np.array(values)
    elif kind == "torch":
        torch = pytest.importorskip("torch")
        values = torch.tensor(values)
    with pytest.raises(DataError, match="x holds complex numbers"):
        nnfit.fit(values, [1.0, 2.0, 3.0], steps=1)


# --- standard input ------------------------------------------------------------------------


def test_fit_with_stdin_missing(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", None)
    code, err = run(capsys, "fit", "-", *QUICK)
    assert code == 2
    assert err == (
        "nnfit: error: standard input is closed; pipe CSV into `nnfit fit -` or give a file name\n"
    )


def test_fit_with_stdin_closed(capsys, monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(b"x,y\n1,2\n3,4\n"))
    stdin.close()
    monkeypatch.setattr(sys, "stdin", stdin)
    code, err = run(capsys, "fit", "-", *QUICK)
    assert code == 2 and "standard input is closed" in err


def test_stdin_whose_descriptor_was_closed(monkeypatch):
    read_end, write_end = os.pipe()
    os.close(write_end)
    raw = open(read_end, "rb", buffering=0, closefd=False)  # noqa: SIM115
    os.close(read_end)  # reading now fails with EBADF
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(raw))
    assert "standard input is closed" in read_error("-")


def test_stdin_is_read_as_a_stream(monkeypatch):
    text = "x,y\n" + "".join(f"{i},{i * i}\n" for i in range(1000))
    monkeypatch.setattr(csvsniff, "CHUNK_BYTES", 100)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    got = read_table("-")
    assert got.source == "<stdin>" and got.values.shape == (1000, 2)
    assert got.values[-1].tolist() == [999, 999**2]


# --- synthetic data ------------------------------------------------------------------------


def test_huge_points_are_refused_before_allocating(capsys):
    code, err = run(capsys, "fit", "--function", "x**2", "--points", str(10**12), *QUICK)
    assert code == 2
    assert "--points 1,000,000,000,000 would need about 32 TB" in err
    assert err.rstrip().endswith("use fewer --points")


def test_points_estimate_scales_with_inputs(monkeypatch):
    free_memory(monkeypatch, 30_000_000)  # refuse above 24 MB
    assert make_data(points=600_000)[0].shape == (600_000, 1)  # about 19 MB
    with pytest.raises(UsageError, match=r"^points 600,000 would need about 29 MB"):
        make_data(function="x1 * x2", points=600_000)


# --- file text reaches messages escaped ------------------------------------------------------


def test_escape_sequences_in_a_header_are_printed_escaped(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("t\x1b[2J,y\x1b]0;owned\x07\n1,abc\x1b[31m\n")
    message = read_error(path)
    assert "\x1b" not in message and "\x07" not in message
    assert "column 'y\\x1b]0;owned\\x07': 'abc\\x1b[31m' is not a number" in message


def test_escape_sequences_in_a_duplicate_header_are_escaped(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("\x1b[2J,\x1b[2J\n1,2\n")
    assert "column name '\\x1b[2J' appears twice" in read_error(path)


def test_escape_sequences_in_column_choices_are_escaped(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a\x1b[2J,b,c\n1,2,3\n4,5,6\n")
    got = read_table(path)
    with pytest.raises(UsageError) as caught:
        select_columns(got, x="nope\x1b[5m")
    message = str(caught.value)
    assert "\x1b" not in message
    assert "column 'nope\\x1b[5m' not found; columns are: a\\x1b[2J, b, c" in message
    with pytest.raises(UsageError) as caught:
        select_columns(got)
    assert "\x1b" not in str(caught.value)


def test_escape_sequences_in_a_file_name_are_escaped(tmp_path, capsys):
    path = tmp_path / "evil\x1b[2J.csv"
    path.write_text("x,y\n1,oops\n2,3\n")
    assert "evil\\x1b[2J.csv line 2" in read_error(path)
    code, err = run(capsys, "fit", str(path), *QUICK)
    assert code == 2 and "\x1b" not in err


def test_escape_sequences_in_npz_names_are_escaped(tmp_path):
    np.savez(tmp_path / "d.npz", **{"a\x1b[2J": np.zeros((2, 2, 2))})
    message = read_error(tmp_path / "d.npz")
    assert "\x1b" not in message and "a\\x1b[2J" in message

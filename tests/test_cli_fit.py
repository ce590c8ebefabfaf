"""``nnfit fit`` on files, examples and formulas, and every kind of bad input, end to end."""

import io
import json
import os
import sys

import numpy as np
import pytest

import nnfit
from nnfit.cli import main
from nnfit.core.model_config import MAX_MEMBERS

QUICK = ["--no-window", "--steps", "60", "--every", "20"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def measurements(tmp_path):
    x = np.linspace(0, 100, 40)
    path = tmp_path / "data.csv"
    rows = "\n".join(f"{a},{b},{a * 2}" for a, b in zip(x, 3 * np.exp(x / 50), strict=True))
    path.write_text("temperature,pressure,other\n" + rows + "\n")
    return path


def test_fit_a_csv_by_column_names(tmp_path, capsys, measurements):
    png = tmp_path / "fit.png"
    code, out, _ = run(
        capsys,
        "fit",
        str(measurements),
        "--x",
        "temperature",
        "--y",
        "pressure",
        *QUICK,
        "--plot",
        str(png),
    )
    assert code == 0
    assert "RMSE" in out and "train" in out and "val" in out
    assert png.exists()


def test_fit_a_shipped_example_and_list_them(capsys):
    code, out, _ = run(capsys, "examples")
    assert code == 0 and "pressure" in out and "cars" in out
    code, out, _ = run(capsys, "fit", "--example", "cars", *QUICK, "-q")
    assert code == 0 and "R²" in out


def test_fit_reads_stdin(capsys, monkeypatch):
    text = "x,y\n" + "\n".join(f"{i},{i * i}" for i in range(30)) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code, out, _ = run(capsys, "fit", "-", *QUICK, "-q")
    assert code == 0 and "final loss" in out


def test_fit_a_formula_with_two_inputs_draws_a_heatmap(tmp_path, capsys):
    gif = tmp_path / "two.gif"
    code, _, _ = run(
        capsys,
        "fit",
        "--function",
        "sin(x1) * cos(x2)",
        "--domain",
        "-3,3",
        "--points",
        "300",
        *QUICK,
        "-q",
        "--save",
        str(gif),
    )
    assert code == 0 and gif.read_bytes()[:3] == b"GIF"


def test_drop_missing_says_how_many(tmp_path, capsys):
    path = tmp_path / "gaps.csv"
    path.write_text("x,y\n" + "\n".join(f"{i},{'NA' if i % 10 == 3 else i}" for i in range(40)))
    code, _, err = run(capsys, "fit", str(path), *QUICK, "--no-window")
    assert code == 2 and "--drop-missing" in err
    code, _, err = run(capsys, "fit", str(path), *QUICK, "--drop-missing")
    assert code == 0 and "dropped 4 row" in err


def test_fit_without_data_says_what_to_give(capsys):
    code, _, err = run(capsys, "fit", "--no-window")
    assert code == 2 and "--example" in err


def write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


CASES = {
    "missing file": (None, "not found"),
    "a folder": ("FOLDER", "folder"),
    "empty file": ("", "empty"),
    "header only": ("x,y\n", "no data rows"),
    "single row": ("x,y\n1,2\n", "2 data rows"),
    "non-numeric": ("x,y\n1,2\n3,abc\n5,6\n", "abc"),
    "units": ("x,y\n1,2kg\n3,4kg\n5,6kg\n", "unit"),
    "thousands": ('x,y\n1,"1,234"\n2,"2,345"\n3,"3,456"\n', "thousands"),
    "totals row": ("x,y,\n1,2,\n3,4,\n5,6,\nTotal,12,\n", "line 5, column 'x'"),
    "missing values": ("x,y\n1,2\n3,NA\n5,\n7,8\n", "--drop-missing"),
    "infinite": ("x,y\n1,2\n3,inf\n5,6\n", "infinite"),
    "overflow": ("x,y\n1,2\n3,1e400\n5,6\n", "line 3"),
    "duplicate columns": ("x,x\n1,2\n3,4\n5,6\n", "appears twice"),
    "three columns, no choice": ("a,b,c\n1,2,3\n4,5,6\n7,8,9\n", "--x"),
    "extra fields": ("x,y\n1,2\n3,4,5\n6,7\n", "line 3"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "text"),
    "undecodable": (b"x,y\n1,2\n\xff\xfe\xfa,3\n", "--encoding"),
    "constant x": ("x,y\n1,2\n1,3\n1,4\n", "same value"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_files_exit_2_with_one_line_and_no_output(tmp_path, capsys, case):
    content, match = CASES[case]
    path = tmp_path / "data.csv"
    if content == "FOLDER":
        path.mkdir()
    elif content is not None:
        write(path, content)
    out_png = tmp_path / "out.png"
    code, _, err = run(capsys, "fit", str(path), *QUICK, "--plot", str(out_png))
    assert code == 2, err
    assert match in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out_png.exists()


@pytest.mark.parametrize(
    "flags, match",
    [
        (["--x", "tempature", "--y", "pressure"], "did you mean 'temperature'"),
        (["--x", "temperature", "--y", "nope"], "columns are"),
        (["--suffix-check"], "unknown flag --suffix-check"),
        (["--val", "1.5"], "--val"),
        (["--x", "temperature", "--y", "temperature"], "temperature"),
    ],
)
def test_bad_column_choices(capsys, measurements, flags, match):
    code, _, err = run(capsys, "fit", str(measurements), *QUICK, *flags)
    assert code == 2 and match in err


def test_unsupported_extension_and_parquet_work(tmp_path, capsys):
    bad = write(tmp_path / "data.xlsx", b"PK\x03\x04")
    code, _, err = run(capsys, "fit", str(bad), *QUICK)
    assert code == 2 and "CSV" in err
    import pyarrow as pa  # in the dev extra
    import pyarrow.parquet as pyarrow

    x = np.linspace(0, 1, 30)
    pyarrow.write_table(pa.table({"x": x, "y": x**2}), tmp_path / "data.parquet")
    code, _, _ = run(capsys, "fit", str(tmp_path / "data.parquet"), *QUICK, "-q")
    assert code == 0


def test_a_spreadsheet_export_is_read_as_meant(tmp_path, capsys):
    # a trailing delimiter on every line, a units row, quoted numbers with thousands separators
    rows = "".join(f'{i},"{1000 + 250 * i:,.1f}",\r\n' for i in range(20))
    path = write(tmp_path / "sheet.csv", "time,pressure,\r\ns,mm Hg,\r\n" + rows)
    code, _, err = run(capsys, "fit", str(path), *QUICK, "-q", "--out", str(tmp_path / "r"))
    assert code == 0, err
    model = nnfit.load(tmp_path / "r")
    assert model.predict([[10.0]]).shape == (1,)


def test_european_csv_is_read_correctly(tmp_path, capsys):
    lines = [f"{i};{i * i / 10}".replace(".", ",") for i in range(30)]
    path = write(tmp_path / "eu.csv", "x;y\n" + "\n".join(lines) + "\n")
    code, out, _ = run(capsys, "fit", str(path), *QUICK, "-q", "--steps", "400")
    assert code == 0
    r2 = float(out.split("train")[1].split()[2])
    assert r2 > 0.9  # a misread decimal comma would give nonsense


@pytest.mark.parametrize(
    "formula, match",
    [
        ("__import__('os')", "__import__"),
        ("x.real", "column"),
        ("lambda: 1", "column"),
        ("x[0]", "column"),
        ("9**9**9**9", "exponent"),
        ("log(x)", "finite"),
        ("(" * 200 + "x" + ")" * 200, "deep"),
        ("x+" * 400 + "x", "characters"),
    ],
)
def test_bad_formulas(tmp_path, capsys, formula, match):
    os.chdir(tmp_path)
    code, _, err = run(capsys, "fit", "--function", formula, *QUICK)
    assert code == 2 and match in err.lower()
    assert os.listdir(tmp_path) == []


def test_data_and_a_function_together_are_refused(capsys, measurements):
    code, _, err = run(capsys, "fit", str(measurements), "--function", "x**2", *QUICK)
    assert code == 2 and "not both" in err


def test_members_flag_trains_an_ensemble_that_is_saved_and_reloaded(tmp_path, capsys):
    import nnfit

    folder, config = tmp_path / "run", tmp_path / "run.toml"
    argv = ["fit", "--example", "cars", *QUICK, "-q", "--members", "3", "--out", str(folder)]
    code, out, _ = run(capsys, *argv, "--save-config", str(config))
    assert code == 0 and "val" in out
    model = nnfit.load(folder)
    assert model.model_.members == 3 and model.predict([10.0, 20.0]).shape == (2,)
    assert "members = 3" in config.read_text()
    code, out, _ = run(capsys, "show", str(folder), "--no-window")
    assert code == 0 and "3 members averaged" in out


def test_member_lines_flag_records_that_many_members_fits(tmp_path, capsys):
    folder = tmp_path / "run"
    argv = ["fit", "--example", "cars", *QUICK, "-q", "--members", "4", "--member-lines", "2"]
    code, _, _ = run(capsys, *argv, "--out", str(folder))
    assert code == 0
    history = nnfit.History.load(folder / "history.json")
    grid = history.final.y_pred.shape
    assert history.final.y_members.shape == (2, *grid) and history.final.y_std.shape == grid


@pytest.mark.parametrize("value", ["-1", "21", "two"])
def test_bad_member_lines_exit_2_with_one_line(tmp_path, capsys, value):
    out_dir = tmp_path / "run"
    argv = ["fit", "--example", "cars", *QUICK, "--member-lines", value, "--out", str(out_dir)]
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and "--member-lines" in err
    assert not out_dir.exists()


def test_fit_defaults_to_auto_members_and_demo_to_one(tmp_path, capsys):
    import nnfit

    code, _, _ = run(capsys, "fit", "--example", "cars", *QUICK, "-q", "--out", str(tmp_path / "f"))
    assert code == 0 and nnfit.load(tmp_path / "f").model_.members == 20  # 50 rows
    code, _, _ = run(capsys, "demo", *QUICK, "-q", "--out", str(tmp_path / "d"))
    assert code == 0 and nnfit.load(tmp_path / "d").model_.members == 1


@pytest.mark.parametrize("value", ["0", str(MAX_MEMBERS + 1), "10000000", "two", "1.5"])
def test_bad_member_counts_exit_2_with_one_line(tmp_path, capsys, value):
    out_dir = tmp_path / "run"
    code, _, err = run(
        capsys, "fit", "--example", "cars", *QUICK, "--members", value, "--out", str(out_dir)
    )
    assert code == 2 and err.count("\n") == 1 and "--members" in err
    assert not out_dir.exists()


def test_each_member_trains_with_its_own_learning_rate_from_the_command_line(tmp_path, capsys):
    out_dir = tmp_path / "rates"
    code, _, _ = run(
        capsys,
        "demo",
        *QUICK,
        "-q",
        "--members",
        "3",
        "--member-lr",
        "0.01,0.1,0.3",
        "--out",
        str(out_dir),
    )
    assert code == 0
    saved = json.loads((out_dir / "run.json").read_text())["settings"]["train"]
    assert saved["member_lr"] == [0.01, 0.1, 0.3]
    assert nnfit.load(out_dir).model_.members == 3


@pytest.mark.parametrize("rates", ["0.1,0.2", "0.1,nan,0.2"])
def test_member_rates_that_do_not_fit_exit_2_with_one_line(tmp_path, capsys, rates):
    out_dir = tmp_path / "run"
    code, _, err = run(
        capsys, "demo", *QUICK, "--members", "3", "--member-lr", rates, "--out", str(out_dir)
    )
    assert code == 2 and err.count("\n") == 1 and "--member-lr" in err
    assert not out_dir.exists()


def test_a_units_row_names_the_units_in_the_verdict(tmp_path, capsys):
    data = tmp_path / "oven.csv"
    x = np.linspace(0, 10, 40)
    rows = "".join(f"{a},{2 * a + np.sin(a)}\n" for a in x)
    data.write_text("temperature,pressure\n°C,mm Hg\n" + rows, encoding="utf-8")
    code, out, _ = run(capsys, "fit", str(data), *QUICK, "-q")
    assert code == 0 and "mm Hg on" in out.splitlines()[-1]


def test_fit_ignores_columns_it_does_not_use_even_text(tmp_path, capsys, measurements):
    lines = measurements.read_text().splitlines()
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(
        "\n".join(
            [f"id,{lines[0]},station", *(f"s{i},{line},Oslo" for i, line in enumerate(lines[1:]))]
        )
        + "\n"
    )
    argv = ["--x", "temperature", "--y", "pressure", *QUICK, "-q", "--seed", "1"]
    code, out_mixed, err = run(capsys, "fit", str(mixed), *argv)
    assert code == 0, err
    code, out_plain, _ = run(capsys, "fit", str(measurements), *argv)
    assert code == 0 and out_mixed == out_plain  # the same fit as without the text columns
    code, out, err = run(capsys, "fit", str(mixed), "--x", "station", "--y", "pressure", *QUICK)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "mixed.csv line 2, column 'station': 'Oslo' is not a number" in err

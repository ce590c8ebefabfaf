"""``nnfit predict``, ``show`` and ``export`` on a saved run folder, through the CLI."""

import csv
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import nnfit
from nnfit.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small ReLU fit of a CSV with named columns, saved as a run folder."""
    folder = tmp_path_factory.mktemp("runs")
    data = folder / "data.csv"
    x = np.linspace(0, 10, 50)
    data.write_text("=cmd,pressure\n" + "".join(f"{a},{a * a}\n" for a in x))
    code = main(
        [
            "fit",
            str(data),
            "--no-window",
            "-q",
            "--steps",
            "200",
            "--every",
            "20",
            "--activation",
            "relu",
            "--hidden",
            "12",
            "--out",
            str(folder / "run"),
        ]
    )
    assert code == 0
    return folder / "run", data


def test_predict_from_values_and_from_a_file(capsys, saved, tmp_path):
    folder, data = saved
    model = nnfit.load(folder)
    code, out, _ = run(capsys, "predict", str(folder), "--x", "2.5", "--x", "7")
    assert code == 0
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == ["'=cmd", "pressure_pred"]  # a formula-like header is neutralised
    expected = model.predict(np.array([2.5, 7.0]))
    assert [float(r[1]) for r in rows[1:]] == pytest.approx(expected.tolist(), rel=1e-6)

    out_csv = tmp_path / "pred.csv"
    code, _, err = run(capsys, "predict", str(folder), str(data), "--out", str(out_csv))
    assert code == 0 and "50 prediction(s)" in err
    written = list(csv.reader(out_csv.read_text().splitlines()))
    assert len(written) == 51


def test_predict_std_adds_the_spread_after_each_prediction(capsys, saved):
    folder, data = saved
    model = nnfit.load(folder)
    code, out, err = run(capsys, "predict", str(folder), "--x", "2.5", "--x", "7", "--std")
    assert code == 0 and err == ""
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == ["'=cmd", "pressure_pred", "pressure_std"]
    y_pred, y_std = model.predict(np.array([2.5, 7.0]), return_std=True)
    assert [float(r[1]) for r in rows[1:]] == pytest.approx(y_pred.tolist(), rel=1e-6)
    assert [float(r[2]) for r in rows[1:]] == pytest.approx(y_std.tolist(), rel=1e-5, abs=1e-6)
    code, out, _ = run(capsys, "predict", str(folder), str(data), "--std")
    rows = list(csv.reader(out.splitlines()))
    assert code == 0 and rows[0] == ["'=cmd", "pressure", "pressure_pred", "pressure_std"]
    assert all(len(r) == 4 for r in rows)  # the file's columns, then prediction and spread


def test_predict_outside_the_training_range_warns_once_and_still_succeeds(capsys, saved):
    folder, _ = saved
    argv = ["predict", str(folder), "--x", "5", "--x", "12", "--x", "15", "--x", "-1"]
    code, out, err = run(capsys, *argv)
    assert code == 0 and len(out.splitlines()) == 5
    assert err.splitlines() == [
        "nnfit: warning: x = 15 is outside the training range 0 to 10 of =cmd (3 of 4 rows): "
        "predictions there are extrapolations"
    ]
    code, _, err = run(capsys, "predict", str(folder), "--x", "0", "--x", "10")
    assert code == 0 and err == ""


@pytest.mark.parametrize(
    "flags, match",
    [
        (["--x", "abc"], "number"),
        (["--x", "1,2"], "takes 1 input"),
        ([], "DATA file or --x"),
    ],
)
def test_predict_bad_input(capsys, saved, flags, match):
    code, _, err = run(capsys, "predict", str(saved[0]), *flags)
    assert code == 2 and match in err


def test_predict_checks_columns_against_training(capsys, saved, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("temperature,pressure\n1,2\n3,4\n")
    code, _, err = run(capsys, "predict", str(saved[0]), str(other))
    assert code == 2 and "=cmd" in err and "missing" in err


def test_predict_never_overwrites(capsys, saved, tmp_path):
    target = tmp_path / "keep.csv"
    target.write_text("precious")
    code, _, err = run(capsys, "predict", str(saved[0]), "--x", "1", "--out", str(target))
    assert code == 2 and "already exists" in err and target.read_text() == "precious"


def test_show_summarises_and_replays_without_training(capsys, saved, tmp_path):
    folder, _ = saved
    gif = tmp_path / "replay.gif"
    code, out, _ = run(capsys, "show", str(folder), "--no-window", "--animate", str(gif))
    assert code == 0
    assert "relu" in out and "R²" in out and "fit.png" in out
    history = nnfit.load(folder).history_
    with Image.open(gif) as image:
        assert image.n_frames == len(history.snapshots)


def test_export_python_and_formula(capsys, saved, tmp_path):
    folder, _ = saved
    model = nnfit.load(folder)
    script = tmp_path / "model.py"
    code, _, _ = run(capsys, "export", str(folder), "--python", str(script))
    assert code == 0
    out = subprocess.run(
        [sys.executable, str(script), "2.5"], capture_output=True, text=True, check=True
    ).stdout
    assert float(out.split()[-1]) == pytest.approx(float(model.predict([2.5])[0]), rel=1e-5)
    code, out, _ = run(capsys, "export", str(folder), "--formula")
    assert code == 0 and "f(x) =" in out


def test_export_onnx_is_checked(capsys, saved, tmp_path):
    path = tmp_path / "model.onnx"
    code, _, err = run(capsys, "export", str(saved[0]), "--onnx", str(path))
    assert code == 0 and "onnxruntime" in err and path.stat().st_size > 0


def test_export_needs_exactly_one_target(capsys, saved):
    code, _, err = run(capsys, "export", str(saved[0]))
    assert code == 2 and "--onnx" in err


def test_missing_run_folder(capsys, tmp_path):
    code, _, err = run(capsys, "show", str(tmp_path / "nope"))
    assert code == 2 and "no such run folder" in err


def test_predictions_are_printed_with_float32s_own_precision(capsys, saved):
    folder, _ = saved
    model = nnfit.load(folder)
    code, out, _ = run(capsys, "predict", str(folder), "--x", "2.5", "--x", "7.25")
    assert code == 0
    rows = list(csv.reader(out.splitlines()))[1:]
    expected = np.asarray(model.predict(np.array([2.5, 7.25])), dtype=np.float32)
    for (_, y_text), want in zip(rows, expected, strict=True):
        assert np.float32(y_text) == want  # the same float32, bit for bit
        assert y_text == str(want)  # and no more digits than float32 has
    assert [x for x, _ in rows] == ["2.5", "7.25"]  # inputs as given


def test_predict_writes_tsv_and_json_as_asked_or_as_the_suffix_says(capsys, saved, tmp_path):
    import json

    folder, _ = saved
    model = nnfit.load(folder)
    expected = np.asarray(model.predict(np.array([2.5, 7.0])), dtype=np.float32)
    code, out, _ = run(capsys, "predict", str(folder), "--x", "2.5", "--x", "7", "--format", "json")
    assert code == 0
    records = json.loads(out)
    assert [list(r) for r in records] == [["=cmd", "pressure_pred"]] * 2  # JSON: names as they are
    assert [np.float32(r["pressure_pred"]) for r in records] == list(expected)

    tsv = tmp_path / "pred.tsv"
    assert run(capsys, "predict", str(folder), "--x", "2.5", "--std", "--out", str(tsv))[0] == 0
    header, row = tsv.read_text().splitlines()
    assert header.split("\t")[1:] == ["pressure_pred", "pressure_std"]
    assert np.float32(row.split("\t")[1]) == expected[0]
    # a file nnfit wrote, with --std or as JSON, is replaced with --overwrite
    code, _, _ = run(capsys, "predict", str(folder), "--x", "7", "--out", str(tsv), "--overwrite")
    assert code == 0 and len(tsv.read_text().splitlines()) == 2
    as_json = tmp_path / "pred.json"
    for _ in range(2):
        argv = ["predict", str(folder), "--x", "7", "--out", str(as_json), "--overwrite"]
        assert run(capsys, *argv)[0] == 0
    assert json.loads(as_json.read_text())[0]["pressure_pred"] == float(str(expected[1]))


def test_predict_skips_rows_with_missing_values_when_asked_and_says_how_many(
    capsys, saved, tmp_path
):
    folder, _ = saved
    data = tmp_path / "gaps.csv"
    data.write_text("=cmd\n2.5\nNA\n7\n")
    code, _, err = run(capsys, "predict", str(folder), str(data))
    assert code == 2 and "--drop-missing" in err and err.count("\n") == 1
    code, out, err = run(capsys, "predict", str(folder), str(data), "--drop-missing")
    assert code == 0 and "skipped 1 row(s)" in err
    assert len(out.splitlines()) == 3


def test_show_lists_each_member_with_its_held_out_error(capsys, saved):
    import json

    from nnfit.core.members import holdout

    folder, data = saved
    info = json.loads((folder / "run.json").read_text())
    rows = info["member_metrics"]
    model = nnfit.load(folder).model_
    assert len(rows) == model.members > 1
    table = np.loadtxt(data, delimiter=",", skiprows=1)  # the file's x, y
    held = holdout(len(table), model.members, info["settings"]["data"]["val"], info["seed"])
    x = torch.as_tensor(table[:, :1], dtype=torch.float32)
    for k, row in enumerate(rows):  # each member alone, on the rows it held out
        with torch.no_grad():
            y_pred = model.member(k)(x)[:, 0].double().numpy()
        error = y_pred[held[k]] - table[held[k], 1]
        assert row["rmse"] == pytest.approx(np.sqrt(np.mean(error**2)), rel=1e-5)
        assert row["rows"] == held[k].sum() and row["stopped"] == info["step"]
        assert row["diverged_at"] is None
    code, out, _ = run(capsys, "show", str(folder), "--no-window")
    lines = out.splitlines()
    start = lines.index(next(line for line in lines if "held-out RMSE" in line))
    assert code == 0 and "in pressure's units" in lines[start - 1]
    first = lines[start + 1].split()
    assert first == ["0", f"{rows[0]['rmse']:.5g}", str(rows[0]["rows"]), str(info["step"])]
    assert lines[start + len(rows)].split()[0] == str(len(rows) - 1)


def test_show_of_a_run_saved_without_member_metrics_leaves_the_table_out(capsys, saved, tmp_path):
    import json
    import shutil

    folder = tmp_path / "old"
    shutil.copytree(saved[0], folder)
    info = json.loads((folder / "run.json").read_text())
    del info["member_metrics"]  # as an older nnfit saved it
    (folder / "run.json").write_text(json.dumps(info))
    code, out, _ = run(capsys, "show", str(folder), "--no-window")
    assert code == 0 and "R²" in out and "held-out RMSE" not in out
    assert nnfit.load(folder).member_metrics_ is None


# --- a file's other columns pass through ------------------------------------------------------


def mixed_file(tmp_path, x, name="new.csv"):
    """Rows with an id, a quoted note and a date around the model's input column '=cmd'."""
    path = tmp_path / name
    rows = [
        f'r{i:03d},"note, {i}",{v},{"2024-01-0" + str(i % 9 + 1) if i % 2 else ""}'
        for i, v in enumerate(x)
    ]
    path.write_text("id,note,=cmd,when\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("std", [False, True])
@pytest.mark.parametrize("kind", ["csv", "tsv", "json"])
@pytest.mark.parametrize("to_file", [False, True])
def test_predict_keeps_the_files_columns_before_the_predictions(
    capsys, saved, tmp_path, kind, std, to_file
):
    import json

    folder, _ = saved
    x = np.round(np.random.default_rng(3).uniform(0, 10, 7), 3)
    data = mixed_file(tmp_path, x)
    argv = ["predict", str(folder), str(data), "--format", kind] + (["--std"] if std else [])
    target = tmp_path / f"out.{kind}"
    code, out, err = run(capsys, *argv, *(["--out", str(target)] if to_file else []))
    assert code == 0, err
    text = target.read_text() if to_file else out
    predicted = ["pressure_pred", "pressure_std"] if std else ["pressure_pred"]
    expected = np.asarray(nnfit.load(folder).predict(x), dtype=np.float32)
    if kind == "json":
        records = json.loads(text)
        assert [list(r) for r in records] == [["id", "note", "=cmd", "when", *predicted]] * 7
        assert [r["id"] for r in records] == [f"r{i:03d}" for i in range(7)]
        assert [r["note"] for r in records] == [f"note, {i}" for i in range(7)]
        assert [r["when"] for r in records][:2] == ["", "2024-01-02"]  # text stays text
        assert [r["=cmd"] for r in records] == x.tolist()  # the model's input, a number
        got = [np.float32(r["pressure_pred"]) for r in records]
    else:
        rows = list(csv.reader(text.splitlines(), delimiter="\t" if kind == "tsv" else ","))
        assert rows[0] == ["id", "note", "'=cmd", "when", *predicted]
        written = list(csv.reader(data.read_text().splitlines()))[1:]
        assert [r[:4] for r in rows[1:]] == written  # every cell as written in the file
        got = [np.float32(r[4]) for r in rows[1:]]
    np.testing.assert_array_equal(got, expected)


def test_predict_keeps_rows_aligned_when_it_drops_missing_inputs(capsys, saved, tmp_path):
    folder, _ = saved
    data = tmp_path / "gaps.csv"
    data.write_text("id,=cmd,comment\na,2.5,\nb,NA,fine\nc,7,NA\nd,,\ne,1.25,?\n")
    code, out, err = run(capsys, "predict", str(folder), str(data), "--drop-missing")
    assert code == 0 and "skipped 2 row(s)" in err
    rows = list(csv.reader(out.splitlines()))[1:]
    assert [r[:3] for r in rows] == [["a", "2.5", ""], ["c", "7", "NA"], ["e", "1.25", "?"]]
    expected = np.asarray(nnfit.load(folder).predict(np.array([2.5, 7, 1.25])), np.float32)
    np.testing.assert_array_equal([np.float32(r[3]) for r in rows], expected)


def test_a_prediction_column_named_like_an_input_column_gets_a_suffix(capsys, saved, tmp_path):
    folder, _ = saved
    data = tmp_path / "again.csv"
    data.write_text("=cmd,pressure_pred,pressure_pred_1\n1,old,older\n2,old,older\n")
    code, out, _ = run(capsys, "predict", str(folder), str(data), "--std")
    assert code == 0
    header = next(csv.reader(out.splitlines()))
    assert header == [
        "'=cmd",
        "pressure_pred",
        "pressure_pred_1",
        "pressure_pred_2",
        "pressure_std",
    ]


def test_predict_refuses_a_non_numeric_input_column_in_one_line(capsys, saved, tmp_path):
    folder, _ = saved
    data = tmp_path / "text.csv"
    data.write_text("id,=cmd\na,1\nb,high\n")
    code, out, err = run(capsys, "predict", str(folder), str(data))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "text.csv line 3, column '=cmd': 'high' is not a number" in err


def test_predict_from_stdin_keeps_the_id_column(capsys, saved, monkeypatch):
    import io

    folder, _ = saved
    text = "=cmd,id\n1.5,x1\n8,x2\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code, out, _ = run(capsys, "predict", str(folder), "-")
    assert code == 0
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == ["'=cmd", "id", "pressure_pred"]
    assert [r[:2] for r in rows[1:]] == [["1.5", "x1"], ["8", "x2"]]


def test_predict_keeps_an_npz_files_text_array(capsys, saved, tmp_path):
    folder, _ = saved
    data = tmp_path / "new.npz"
    np.savez(data, **{"label": np.array(["p", "q", "r"]), "=cmd": np.array([1.5, 4.0, 9.25])})
    code, out, err = run(capsys, "predict", str(folder), str(data))
    assert code == 0, err
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == ["label", "'=cmd", "pressure_pred"]
    assert [r[:2] for r in rows[1:]] == [["p", "1.5"], ["q", "4.0"], ["r", "9.25"]]
    expected = np.asarray(nnfit.load(folder).predict(np.array([1.5, 4.0, 9.25])), np.float32)
    np.testing.assert_array_equal([np.float32(r[2]) for r in rows[1:]], expected)

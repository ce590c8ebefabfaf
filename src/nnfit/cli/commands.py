"""``nnfit predict``, ``nnfit show`` and ``nnfit export``: using a saved run folder."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError, UsageError
from ..safetext import printable

if TYPE_CHECKING:
    from ..runs.saved import SavedRun


def run_model_command(args: argparse.Namespace) -> int:
    """Dispatch a run-folder command; returns the exit status.

    Each command checks its flags before it reads the folder; ``predict`` and ``show`` then
    use the run on NumPy (``runs.saved``), so torch never loads for them.
    """
    return {"predict": predict, "show": show, "export": export}[args.command](args)


@dataclass(frozen=True, eq=False)
class Inputs:
    """The rows to predict for: the model's inputs, and the columns written before the
    predictions (every column of a data file, or the model's inputs for --x values)."""

    x: np.ndarray  # (n, n_in) float64: the model's input columns, in its order
    names: tuple[str, ...]  # the columns written before the predictions
    x_at: tuple[int, ...]  # where the model's inputs are among names
    cells: list[list[str]] | None  # each row's cells as written in the file; None for --x


def predict(args: argparse.Namespace) -> int:
    """Predict for a data file's rows or for --x values; CSV to --out or stdout.

    A file's rows are written whole, every column as written there, followed by the
    predictions: an id column lets the results be joined back.
    """
    from ..io.files import write_text_or_stdout
    from ..io.targets import check_output
    from ..runs.saved import open_run

    out = None
    if args.out is not None and args.out != "-":
        out = check_output(
            Path(args.out), flag="--out", kind="predictions", overwrite=args.overwrite, stdout=True
        )
    if (args.data is None) == (args.values is None):
        raise UsageError("give a DATA file or --x VALUES (not both) to predict for")
    kind = _output_format(args.format, out)
    run = open_run(args.run)
    if args.values is not None:
        x = np.array([_values(text, run.n_inputs) for text in args.values])
        inputs = Inputs(x, run.x_names, tuple(range(run.n_inputs)), None)
    else:
        inputs = _input_rows(run, args.data, args.encoding, args.drop_missing)
        x = inputs.x
    note = run.extrapolation_note(x)
    if note is not None:
        print(printable(f"nnfit: warning: {note}"), file=sys.stderr)
    if args.std:  # each prediction column followed by its members' spread
        y_pred, y_std = run.predict_with_std(x)  # (n, n_out) each
        y_out = np.stack([y_pred, y_std], axis=2).reshape(len(x), -1)
        names = [f"{name}_{kind}" for name in run.y_names for kind in ("pred", "std")]
    else:
        y_out = run.predict(x)  # (n, n_out)
        names = [f"{name}_pred" for name in run.y_names]
    text = _formatted(kind, inputs, _free_names(names, inputs.names), y_out)
    write_text_or_stdout(text, out, overwrite=args.overwrite)
    if out is not None:
        print(printable(f"{len(x)} prediction(s) written to {out}"), file=sys.stderr)
    return 0


def _values(text: str, n_inputs: int) -> list[float]:
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise UsageError(
            f"--x {text!r}: expected {n_inputs} number(s) separated by commas"
        ) from None
    if len(values) != n_inputs:
        raise UsageError(f"--x {text!r}: the model takes {n_inputs} input(s), got {len(values)}")
    if not all(np.isfinite(values)):
        raise UsageError(f"--x {text!r}: values must be finite")
    return values


def _input_rows(
    run: SavedRun, data: str, encoding: str | None, drop_missing: bool = False
) -> Inputs:
    """A file's rows: the model's input columns matched by name (or by count without a
    header) and read as numbers; the other columns, of any content, kept as written. With
    ``drop_missing``, rows missing an input are skipped (counted on stderr)."""
    from ..io.table import read_table

    names = run.x_names
    source = printable("<stdin>" if data == "-" else data)

    def use(columns: tuple[str, ...]) -> list[int]:
        if all(name in columns for name in names):
            return sorted(columns.index(name) for name in names)
        headerless = all(c == f"col{i + 1}" for i, c in enumerate(columns))
        if headerless and len(columns) == len(names):
            return list(range(len(columns)))
        missing = [name for name in names if name not in columns]
        raise DataError(
            f"{source}: the model needs input column(s) {', '.join(names)}; missing "
            f"{', '.join(missing)} (columns are: {', '.join(columns)})"
        )

    table = read_table(data, encoding=encoding, drop_missing=drop_missing, use=use, keep_text=True)
    if table.n_dropped:
        print(
            printable(
                f"nnfit: skipped {table.n_dropped} row(s) of {table.source} with missing values"
            ),
            file=sys.stderr,
        )
    if all(name in table.columns for name in names):
        x = table.values[:, [table.columns.index(name) for name in names]]
        columns = table.all_columns
    else:  # no header: the file's columns are the model's inputs, in its order
        x, columns = table.values, names
    x_at = tuple(columns.index(name) for name in names)
    return Inputs(x.astype(np.float64), columns, x_at, table.cells)


def _free_names(names: list[str], taken: tuple[str, ...]) -> list[str]:
    """The prediction columns' names, each made unique against the input columns before
    them: a name already taken gets the first free suffix _1, _2, ..."""
    used = set(taken)
    free = []
    for name in names:
        candidate, n = name, 0
        while candidate in used:
            n += 1
            candidate = f"{name}_{n}"
        used.add(candidate)
        free.append(candidate)
    return free


FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json"}


def _output_format(given: str | None, out: Path | None) -> str:
    """--format, else the one --out's suffix names, else csv."""
    if given is not None:
        return given
    return FORMATS.get(out.suffix.lower(), "csv") if out is not None else "csv"


def _formatted(kind: str, inputs: Inputs, y_names: list[str], y: np.ndarray) -> str:
    """The rows as CSV, TSV or JSON (a list of records: one object per row)."""
    if kind == "json":
        import json

        columns = [*inputs.names, *y_names]
        rows = [
            dict(zip(columns, [*_json_inputs(inputs, i), *map(_float32, row_y)], strict=True))
            for i, row_y in enumerate(np.asarray(y, dtype=np.float32))
        ]
        return json.dumps(rows, indent=None, allow_nan=False) + "\n"
    return _csv(inputs, y_names, y, delimiter="\t" if kind == "tsv" else ",")


def _json_inputs(inputs: Inputs, i: int) -> list[float | str]:
    """Row i's input cells for JSON: the model's inputs as numbers, the other columns as
    the text written in the file (nnfit does not guess the type of a column it does not use)."""
    if inputs.cells is None:
        return [float(v) for v in inputs.x[i]]
    row: list[float | str] = list(inputs.cells[i])
    for j, at in enumerate(inputs.x_at):
        row[at] = float(inputs.x[i, j])
    return row


def _float32(value: np.float32) -> float:
    """A float32 as the Python float its shortest text stands for (2.0586014, not the
    2.0586013793945312 it widens to), so JSON shows float32's own precision."""
    return float(str(value))


def _csv(inputs: Inputs, y_names: list[str], y: np.ndarray, delimiter: str = ",") -> str:
    """CSV text; header cells that a spreadsheet would run as a formula are neutralised.

    A file's cells are written as they stand there, the model's inputs too (``007`` stays
    ``007``); --x values as read (the shortest text of their float64 value: ``150.0``).
    Predictions are float32 numbers, with float32's own precision (``2.0586014``, not the
    ``2.0586013793945312`` of the same number widened to float64). Data cells are never
    altered: a file's text is the user's own, and a prefix would corrupt ids like ``-5``.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow([_safe_cell(n) for n in (*inputs.names, *y_names)])
    y32 = np.asarray(y, dtype=np.float32)
    cells = inputs.cells or [[repr(float(v)) for v in row] for row in inputs.x]
    for row_in, row_y in zip(cells, y32, strict=True):
        writer.writerow([*row_in, *(str(v) for v in row_y)])
    return buffer.getvalue()


def _safe_cell(text: str) -> str:
    """Prefix text cells starting with = + - @ (or tab/CR) with ' so spreadsheets show them."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def show(args: argparse.Namespace) -> int:
    """Print a summary; replay the history into an animation; show the final picture.

    Every line goes through ``printable``: text from run.json (a forged source, name or
    message) cannot send escape sequences or control characters to the terminal.
    """
    from ..checks import check_fps
    from ..core.model_config import activation_words
    from ..runs.saved import open_run
    from ..views.formats import check_animation_path

    if args.animate is not None:  # before the folder is read or anything is printed
        check_animation_path(args.animate, overwrite=args.overwrite)
        check_fps(10.0 if args.fps is None else args.fps)
    run = open_run(args.run)

    def say(line: str) -> None:
        print(printable(line))

    info = run.info
    folder = Path(args.run)
    model, data = info["model"], info["data"]
    say(f"run:          {folder} ({info.get('status')}, step {info.get('step')})")
    say(
        f"model:        {model['n_in']} → {', '.join(map(str, model['hidden']))} "
        f"({activation_words(model['activation'])}) → {model['n_out']}"
        + (f", {model['members']} members averaged" if model.get("members", 1) > 1 else "")
        + (", fitting log(y)" if model.get("y_transform") == "log" else "")
    )
    say(
        f"data:         {data.get('source')} ({data.get('rows')} rows; "
        f"{', '.join(data['x_names'])} → {', '.join(data['y_names'])})"
    )
    train = info["settings"].get("train", {})
    say(
        f"training:     {train.get('optimizer')} lr {train.get('lr')}, {train.get('steps')} "
        f"steps, seed {info.get('seed')}"
    )
    if info.get("metrics"):
        from ..core.metrics import format_metrics

        for line in format_metrics(info["metrics"]).splitlines():
            say(line)
    if info.get("member_metrics"):  # an ensemble saved by an nnfit that records them
        from ..core.metrics import format_members

        say(f"members:      each on the rows it held out, in {data['y_names'][0]}'s units")
        for line in format_members(info["member_metrics"]).splitlines():
            say(line)
    if info.get("diagnosis"):
        from ..core.diagnostics import Diagnosis
        from ..views.phrasing import phrased

        say(phrased(Diagnosis.from_dict(info["diagnosis"])))
    versions = info.get("versions", {})
    say(f"saved with:   nnfit {versions.get('nnfit')}, torch {versions.get('torch')}")
    if args.animate is not None:
        from ..views.animation import animate

        history = run.history
        if history is None:
            raise DataError(f"{folder} has no history.json to replay")
        animate(
            history,
            args.animate,
            fps=10.0 if args.fps is None else args.fps,
            size=args.size or (800, 400),
            overwrite=args.overwrite,
        )
        print(printable(f"animation saved to {args.animate}"), file=sys.stderr)
    picture = folder / "fit.png"
    if "fit.png" in info.get("files", {}) and not picture.is_symlink() and picture.is_file():
        say(f"picture:      {picture}")
        if not args.no_window and args.animate is None:
            _show_picture(picture)
    return 0


def _show_picture(path: Path) -> None:
    from ..views.live import has_display

    if not has_display():
        return
    import matplotlib.pyplot as plt
    from PIL import Image

    try:
        image = plt.imread(path)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise DataError(f"{printable(path)}: cannot show the picture ({error})") from None
    figure = plt.figure(figsize=(image.shape[1] / 100, image.shape[0] / 100), dpi=100)
    figure.figimage(image)
    plt.show()


def export(args: argparse.Namespace) -> int:
    """--onnx, --python or --formula."""
    from ..io.targets import check_output
    from ..runs.runfolder import load

    chosen = [flag for flag in ("onnx", "python", "formula") if getattr(args, flag)]
    if len(chosen) != 1:
        raise UsageError("choose one of --onnx FILE, --python FILE or --formula")
    path = None
    if not args.formula:  # before the folder is read and torch loads
        path = check_output(
            Path(getattr(args, chosen[0])),
            flag=f"--{chosen[0]}",
            kind=chosen[0],
            overwrite=args.overwrite,
        )
    model = load(args.run).model_
    if path is None:
        from ..export.formula import relu_formula

        print(relu_formula(model))
        return 0
    if args.onnx:
        from ..export.onnx import export_onnx

        export_onnx(model, path, overwrite=args.overwrite)
        print(
            printable(f"ONNX model written to {path} (checked against PyTorch with onnxruntime)"),
            file=sys.stderr,
        )
    else:
        from ..export.python import export_python

        export_python(model, path, overwrite=args.overwrite)
        print(printable(f"standalone NumPy model written to {path}"), file=sys.stderr)
    return 0

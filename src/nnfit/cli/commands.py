"""``nnfit predict``, ``nnfit show`` and ``nnfit export``: using a saved run folder."""

from __future__ import annotations

import argparse
import csv
import io
import sys
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


def predict(args: argparse.Namespace) -> int:
    """Predict for a data file's rows or for --x values; CSV to --out or stdout."""
    from ..io.files import atomic_path
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
    else:
        x = _input_columns(run, args.data, args.encoding, args.drop_missing)
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
    text = _formatted(kind, run.x_names, names, x, y_out)
    if out is None:
        sys.stdout.write(text)
    else:
        with atomic_path(out, overwrite=args.overwrite) as tmp:
            tmp.write_text(text, encoding="utf-8")
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


def _input_columns(
    run: SavedRun, data: str, encoding: str | None, drop_missing: bool = False
) -> np.ndarray:
    """The model's input columns from a file, matched by name (or by count without a header);
    with ``drop_missing``, rows with missing values are skipped and counted on stderr."""
    from ..io.table import read_table

    table = read_table(data, encoding=encoding, drop_missing=drop_missing)
    if table.n_dropped:
        print(
            printable(
                f"nnfit: skipped {table.n_dropped} row(s) of {table.source} with missing values"
            ),
            file=sys.stderr,
        )
    names = run.x_names
    missing = [n for n in names if n not in table.columns]
    if not missing:
        return table.values[:, [table.columns.index(n) for n in names]].astype(np.float64)
    headerless = all(c == f"col{i + 1}" for i, c in enumerate(table.columns))
    if headerless and len(table.columns) == len(names):
        return table.values.astype(np.float64)
    raise DataError(
        f"{table.source}: the model needs input column(s) {', '.join(names)}; "
        f"missing {', '.join(missing)} (columns are: {', '.join(table.columns)})"
    )


FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json"}


def _output_format(given: str | None, out: Path | None) -> str:
    """--format, else the one --out's suffix names, else csv."""
    if given is not None:
        return given
    return FORMATS.get(out.suffix.lower(), "csv") if out is not None else "csv"


def _formatted(
    kind: str, x_names: tuple[str, ...], y_names: list[str], x: np.ndarray, y: np.ndarray
) -> str:
    """The predictions as CSV, TSV or JSON (a list of records: one object per row)."""
    if kind == "json":
        import json

        columns = [*x_names, *y_names]
        rows = [
            dict(zip(columns, [*map(float, row_x), *map(_float32, row_y)], strict=True))
            for row_x, row_y in zip(x, np.asarray(y, dtype=np.float32), strict=True)
        ]
        return json.dumps(rows, indent=None, allow_nan=False) + "\n"
    return _csv(x_names, y_names, x, y, delimiter="\t" if kind == "tsv" else ",")


def _float32(value: np.float32) -> float:
    """A float32 as the Python float its shortest text stands for (2.0586014, not the
    2.0586013793945312 it widens to), so JSON shows float32's own precision."""
    return float(str(value))


def _csv(
    x_names: tuple[str, ...],
    y_names: list[str],
    x: np.ndarray,
    y: np.ndarray,
    delimiter: str = ",",
) -> str:
    """CSV text; header cells that a spreadsheet would run as a formula are neutralised.

    Inputs are written as read (the shortest text of their float64 value: ``150.0``);
    predictions, float32 numbers, with float32's own precision (``2.0586014``, not the
    ``2.0586013793945312`` of the same number widened to float64).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow([_safe_cell(n) for n in (*x_names, *y_names)])
    y32 = np.asarray(y, dtype=np.float32)
    for row_x, row_y in zip(x, y32, strict=True):
        writer.writerow([*(repr(float(v)) for v in row_x), *(str(v) for v in row_y)])
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
        f"({model['activation']}) → {model['n_out']}"
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

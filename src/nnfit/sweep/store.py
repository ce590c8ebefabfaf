"""What a sweep folder keeps to be read again: the sweep's settings (sweep.json) and every
finished network's scores (scores.npz), so that an interrupted sweep resumes where it stopped.

A sweep resumes by batched run: the runs finished before Ctrl-C are read back, the one cut
short trains again from its start (the same seeds give the same networks) and the rest follow.
No pickle: JSON and ``np.load(allow_pickle=False)``; anything unexpected is one line.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, UsageError
from ..io.safe_read import JSON_LIMIT, parse_json, read_regular
from ..runs.config import RunConfig, build_config
from ..safetext import printable
from .objective import Scores
from .plan import Group, Trial
from .space import Dimension, Space, setting_row

FORMAT = "nnfit.sweep-state/1"
STATE_FILES = ("sweep.json", "scores.npz")
SCORES_LIMIT = 2**31  # bytes scores.npz may have
ARRAYS = ("val_rmse", "train_rmse", "diverged", "step", "dead", "y_grid")

Done = list[tuple[Group, Scores, float]]


def write_state(
    folder: Path, base: RunConfig, space: Space, preset: str, digest: str, done: Done
) -> None:
    """Write sweep.json and scores.npz into ``folder`` (a temporary one, published whole)."""
    info = {
        "format": FORMAT,
        "preset": preset,
        "settings": base.to_dict(),
        "space": [
            {"name": d.name, "text": d.text, "values": [_plain(v) for v in d.values]}
            for d in space.dimensions
        ],
        "seeds": space.seeds,
        "sha256": digest,
    }
    (folder / "sweep.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    arrays: dict[str, np.ndarray] = {
        "group": np.concatenate([np.full(g.members, i) for i, (g, _, _) in enumerate(done)])
        if done
        else np.zeros(0, dtype=np.int64),
        "setting": np.array([t.setting for g, _, _ in done for t in g.trials], dtype=np.int64),
        "seed": np.array([t.seed for g, _, _ in done for t in g.trials], dtype=np.int64),
        "seconds": np.array([seconds for _, _, seconds in done], dtype=np.float64),
    }
    for name in ARRAYS:
        parts = [getattr(scores, name) for _, scores, _ in done]
        arrays[name] = np.concatenate(parts) if parts else np.zeros(0)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    (folder / "scores.npz").write_bytes(buffer.getvalue())


def read_state(folder: Path) -> tuple[RunConfig, Space, str, str, Done]:
    """The base settings, space, preset, data hash and finished runs of a sweep folder."""
    where = folder / "sweep.json"
    if not where.is_file():
        raise UsageError(f"{printable(folder)} is not a sweep folder (no sweep.json) to resume")
    info = parse_json(read_regular(where, JSON_LIMIT), where)
    try:
        if not isinstance(info, dict) or info.get("format") != FORMAT:
            raise ValueError("not a sweep.json nnfit wrote")
        preset = str(info["preset"])
        base = build_config(preset, base=info["settings"], source=str(where))
        dimensions = []
        for entry in info["space"]:
            row = setting_row(str(entry["name"]))
            values = [_setting_value(row.name, v) for v in entry["values"]]
            checked = Dimension(row.name, tuple(values), str(entry["text"]))
            dimensions.append(checked)
        space = Space(tuple(dimensions), int(info["seeds"]))
        digest = str(info["sha256"])
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(f"{printable(where)}: damaged ({printable(error)}); sweep again") from None
    return base, space, preset, digest, _read_scores(folder / "scores.npz", base, space)


def _read_scores(path: Path, base: RunConfig, space: Space) -> Done:
    """The finished runs in scores.npz, as (group, scores, seconds)."""
    try:
        with np.load(io.BytesIO(read_regular(path, SCORES_LIMIT)), allow_pickle=False) as saved:
            arrays = {
                name: saved[name] for name in ("group", "setting", "seed", "seconds", *ARRAYS)
            }
    except (KeyError, OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{printable(path)}: damaged ({printable(error)}); sweep again") from None
    problem = _problem(arrays, space)
    if problem:
        raise DataError(f"{printable(path)}: damaged ({problem}); sweep again")
    done: Done = []
    for index, seconds in enumerate(arrays["seconds"]):
        rows = np.flatnonzero(arrays["group"] == index)
        trials = tuple(
            Trial(int(s), int(j)) for s, j in zip(arrays["setting"][rows], arrays["seed"][rows])
        )
        scores = Scores(**{name: arrays[name][rows] for name in ARRAYS})
        done.append((Group(base, trials, (base.train.lr,) * len(trials)), scores, float(seconds)))
    return done


def _problem(arrays: dict[str, np.ndarray], space: Space) -> str | None:
    """What is wrong with scores.npz's arrays for ``space`` (None: nothing)."""
    if any(arrays[name].dtype.kind not in "iu" for name in ("group", "setting", "seed")):
        return "its indexes are not whole numbers"
    if any(arrays[name].dtype.kind not in "biuf" for name in ("seconds", *ARRAYS)):
        return "its scores are not numbers"
    n = len(arrays["setting"]) if arrays["setting"].ndim == 1 else -1
    if any(arrays[name].ndim < 1 or len(arrays[name]) != n for name in ("group", "seed", *ARRAYS)):
        return "its arrays differ in length"
    if arrays["y_grid"].ndim != 3 or arrays["seconds"].ndim != 1:
        return "its fits or times have the wrong shape"
    if n and not (
        0 <= arrays["setting"].min() <= arrays["setting"].max() < len(space)
        and 0 <= arrays["seed"].min() <= arrays["seed"].max() < space.seeds
        and 0 <= arrays["group"].min() <= arrays["group"].max() < len(arrays["seconds"])
    ):
        return "a network is not one of the sweep's"
    if len({(int(a), int(b)) for a, b in zip(arrays["setting"], arrays["seed"])}) != n:
        return "a network is listed twice"
    return None


def finished(done: Sequence[tuple[Group, Scores, float]]) -> set[tuple[int, int]]:
    """The (setting, seed) of every finished network."""
    return {(trial.setting, trial.seed) for group, _, _ in done for trial in group.trials}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _setting_value(name: str, value: Any) -> Any:
    """A value of sweep.json as the setting's value, checked by its config."""
    from ..settings import SECTIONS

    row = setting_row(name)
    made = SECTIONS[row.section](**{name: tuple(value) if isinstance(value, list) else value})
    return getattr(made, name)

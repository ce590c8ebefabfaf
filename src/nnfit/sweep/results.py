"""A sweep's results: each setting's cross-validated RMSE over its seeds, ranked.

Plain data (``SettingResult``) that the terminal table, results.csv, results.json and the
pictures are all made from; nothing here knows how the trials were trained.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks import typed
from ..safetext import printable

FORMAT = "nnfit.sweep/1"
SHOWN = 20  # settings the terminal table shows; results.csv has them all


@dataclass(frozen=True)
class SettingResult:
    """One setting of the sweep over its seeds (arrays: one entry per seed, in seed order)."""

    index: int  # in the space's order
    values: dict[str, Any]  # the swept settings' values
    val_rmse: np.ndarray  # each seed's RMSE on its held-out rows, y's units
    train_rmse: np.ndarray
    diverged: np.ndarray  # bool
    step: np.ndarray  # the step each seed's weights come from
    dead: np.ndarray  # share of dead hidden units
    seconds: float  # its share of the training time
    y_grid: np.ndarray  # (seeds, n_grid, n_out) fits, for the pictures

    @property
    def mean(self) -> float:
        """Mean held-out RMSE over the seeds that gave a finite one (nan: none did)."""
        finite = self.val_rmse[np.isfinite(self.val_rmse)]
        return float(finite.mean()) if finite.size else math.nan

    @property
    def sd(self) -> float:
        """Their standard deviation (ddof 1; 0 for one seed)."""
        finite = self.val_rmse[np.isfinite(self.val_rmse)]
        return float(finite.std(ddof=1)) if finite.size > 1 else 0.0

    @property
    def failure_rate(self) -> float:
        """Share of seeds that diverged or gave no finite held-out error."""
        failed = self.diverged | ~np.isfinite(self.val_rmse)
        return float(failed.mean())

    @property
    def best_seed(self) -> int:
        """The seed with the lowest held-out RMSE (its fit is the one drawn)."""
        errors = np.where(np.isfinite(self.val_rmse), self.val_rmse, np.inf)
        return int(np.argmin(errors))


def collect(settings: Sequence[dict[str, Any]], done: Sequence[tuple[Any, Any, float]]) -> list:
    """Each finished setting's SettingResult from the trained groups ``(group, scores,
    seconds)``, ranked: lowest mean held-out RMSE first, settings without one last."""
    per: dict[int, dict[int, tuple[Any, int, float]]] = {}
    for group, scores, seconds in done:
        share = seconds / group.members
        for k, trial in enumerate(group.trials):
            per.setdefault(trial.setting, {})[trial.seed] = (scores, k, share)
    results = []
    for index, seeds in per.items():
        order = sorted(seeds)
        rows = [seeds[j] for j in order]

        def pick(name: str, rows: list = rows) -> np.ndarray:
            return np.array([getattr(scores, name)[k] for scores, k, _ in rows])

        results.append(
            SettingResult(
                index=index,
                values=dict(settings[index]),
                val_rmse=pick("val_rmse").astype(np.float64),
                train_rmse=pick("train_rmse").astype(np.float64),
                diverged=pick("diverged").astype(bool),
                step=pick("step").astype(np.int64),
                dead=pick("dead").astype(np.float64),
                seconds=sum(share for _, _, share in rows),
                y_grid=np.stack([scores.y_grid[k] for scores, k, _ in rows]),
            )
        )
    return rank(results)


def rank(results: list[SettingResult]) -> list[SettingResult]:
    """Lowest mean held-out RMSE first; ties by fewer failures, then the space's order."""
    return sorted(
        results,
        key=lambda r: (math.isnan(r.mean), r.mean if not math.isnan(r.mean) else 0.0, r.index),
    )


def records(results: Sequence[SettingResult], names: Sequence[str]) -> list[dict[str, Any]]:
    """One flat record per setting, ranked: rank, the swept values, the scores."""
    out = []
    for rank_, result in enumerate(results, start=1):
        record: dict[str, Any] = {"rank": rank_}
        record.update({name: _plain(result.values[name]) for name in names})
        record.update(
            cv_rmse_mean=_number(result.mean),
            cv_rmse_sd=_number(result.sd),
            failure_rate=result.failure_rate,
            seeds=len(result.val_rmse),
            dead_share=_number(float(result.dead.mean())),
            steps_mean=float(result.step.mean()),
            seconds=round(result.seconds, 4),
            cv_rmse=[_number(float(v)) for v in result.val_rmse],
        )
        out.append(record)
    return out


def to_csv(results: Sequence[SettingResult], names: Sequence[str]) -> str:
    """results.csv: one row per setting, ranked (each seed's RMSE left to the JSON)."""
    rows = records(results, names)
    buffer = io.StringIO()
    columns = [c for c in (rows[0] if rows else {"rank": 0}) if c != "cv_rmse"]
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in columns])
    return buffer.getvalue()


def to_json(results: Sequence[SettingResult], names: Sequence[str], about: dict[str, Any]) -> str:
    """results.json: what was swept (``about``) and every setting's record, ranked."""
    document = {"format": FORMAT, **about, "results": records(results, names)}
    return json.dumps(document, indent=1, allow_nan=False) + "\n"


def table(results: Sequence[SettingResult], names: Sequence[str], unit: str = "") -> str:
    """The ranked table for the terminal: the swept settings, CV RMSE mean ± sd over the
    seeds (in y's units), failure rate and time; the first SHOWN settings."""
    heading = [*names, f"CV RMSE{f' ({unit})' if unit else ''}", "± sd", "failed", "time"]
    lines = []
    for rank_, result in enumerate(results[:SHOWN], start=1):
        values = [shown_value(result.values[name]) for name in names]
        failed = f"{result.failure_rate:.0%}" + (" diverged" if result.failure_rate == 1 else "")
        lines.append(
            [
                str(rank_),
                *values,
                _short(result.mean),
                _short(result.sd),
                failed,
                f"{result.seconds:.2f}s",
            ]
        )
    widths = [
        max(len(row[i]) for row in [["#", *heading], *lines]) for i in range(len(heading) + 1)
    ]
    text = [_line(["#", *heading], widths)] + [_line(row, widths) for row in lines]
    if len(results) > SHOWN:
        text.append(f"... and {len(results) - SHOWN} more settings (all in --out DIR/results.csv)")
    return "\n".join(printable(line) for line in text)


def shown_value(value: Any) -> str:
    """A swept value as the sweep's flags write it: widths as 32-32, none as none."""
    if isinstance(value, tuple):
        return "-".join(map(str, value))
    if isinstance(value, float):
        return f"{value:.4g}"  # a range's 0.0853167852417 reads as 0.08532
    return "none" if value is None else typed(value)


def _line(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))


def _short(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.4g}"


def _number(value: float) -> float | None:
    return None if not math.isfinite(value) else value


def _plain(value: Any) -> Any:
    """A setting's value for CSV and JSON: widths as a list."""
    return list(value) if isinstance(value, tuple) else value


def _cell(value: Any) -> str:
    """A CSV cell: widths as 32-32, none as empty, numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "-".join(map(str, value))
    return str(value)

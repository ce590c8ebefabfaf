"""``nnfit doctor``'s report in words (a table, loss quantiles, a text histogram) and as JSON.

Torch-free: it reads a ``DoctorReport`` of plain numbers. Settings are worded by flag
(``--lr 0.2 --steps 200``), as the command line gives them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..checks import flag
from ..core.diagnostics import GOOD_FACTOR, KINDS
from ..core.model_config import activation_words
from ..runs.doctor import DoctorReport, Trial, preset_of

FORMAT = "nnfit.doctor/1"
QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
FLOOR_BINS = (1.0, 1.5, 2.0, GOOD_FACTOR, 10.0, 30.0, 100.0)  # edges in noise floors
BAR = 40  # characters of the histogram's longest bar
EXAMPLE_SEEDS = 5  # seeds named per failing outcome


def labels(noise_floor: float | None) -> dict[str, str]:
    """Each outcome kind in words."""
    good = f"loss within {GOOD_FACTOR:g}x the noise floor" if noise_floor else "settled"
    return {
        "ok": f"good fit ({good})",
        "dead_units": "dead units (most ReLUs dead)",
        "stalled": "stalled (loss flat, not near the floor)",
        "unfinished": "unfinished (loss still falling)",
        "diverged": "diverged (loss not finite)",
        "interrupted": "interrupted",
    }


def changes_text(changes: dict[str, dict[str, Any]]) -> str:
    """``--lr 0.2 --steps 200 (preset morvan-2018)``; ``as given`` for no changes."""
    if not changes:
        return "as given"
    words = " ".join(
        f"{flag(name)} {_value(value)}"
        for values in changes.values()
        for name, value in values.items()
    )
    preset = preset_of(changes)
    return f"{words} (preset {preset})" if preset else words


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def report_text(report: DoctorReport) -> str:
    """The report for people: what was trained, outcomes, final losses, what fails less."""
    config, base, floor = report.config, report.base, report.noise_floor
    seeds = report.seeds
    model, train = config.model, config.train
    widths = ",".join(map(str, model.hidden))
    whose = f", the data of seed {seeds[0]}" if config.data.synthetic else ""
    lines = [
        f"nnfit doctor: {report.n_seeds} seeds ({seeds[0]}-{seeds[-1]}) of hidden {widths} "
        f"{activation_words(model.activation)}, {train.optimizer} lr {train.lr:g}, "
        f"{train.steps} steps, on "
        f"{report.source} ({report.rows} rows{whose}, shared by every seed); trained as one "
        f"batched run in {base.seconds:.1f} s",
        "",
    ]
    lines += _outcome_table(base, floor, seeds)
    lines += ["", *_loss_lines(base.final_losses, floor)]
    if report.candidates or report.stopped:
        lines += ["", *_candidate_lines(report)]
    return "\n".join(lines) + "\n"


def _outcome_table(trial: Trial, floor: float | None, seeds: range) -> list[str]:
    named = labels(floor)
    n = len(trial.kinds)
    rows = [(named[kind], trial.count(kind)) for kind in KINDS if trial.count(kind)]
    width = max(len(label) for label, _ in rows)
    lines = [f"{'outcome':<{width}}  {'seeds':>7}  {'share':>6}"]
    for kind in KINDS:
        count = trial.count(kind)
        if count:
            lines.append(f"{named[kind]:<{width}}  {count:>7}  {_percent(count / n):>6}")
    lines.append(f"failures: {trial.failures} of {n} ({_percent(trial.share)})")
    for kind in KINDS[1:]:
        found = [i for i, k in enumerate(trial.kinds) if k == kind][:EXAMPLE_SEEDS]
        if found:
            more = ", ..." if trial.count(kind) > len(found) else ""
            lines.append(f"  {kind}: seed {', '.join(str(seeds[i]) for i in found)}{more}")
    return lines


def _percent(share: float) -> str:
    return f"{100 * share:.1f}%"


def quantiles(losses: np.ndarray) -> dict[float, float]:
    """The final losses' quantiles (``QUANTILES``), over the finite ones."""
    finite = losses[np.isfinite(losses)]
    if not len(finite):
        return {}
    return {q: float(v) for q, v in zip(QUANTILES, np.quantile(finite, QUANTILES), strict=True)}


def histogram(losses: np.ndarray, floor: float | None) -> list[tuple[float, float, int]]:
    """(low, high, count) bins of the finite final losses: edges at ``FLOOR_BINS`` noise floors
    when the floor is known, else 8 bins even in log between the lowest and highest loss."""
    finite = losses[np.isfinite(losses)]
    if not len(finite):
        return []
    if floor:
        edges = [0.0, *(edge * floor for edge in FLOOR_BINS), math.inf]
    else:
        low, high = max(float(finite.min()), 1e-300), float(finite.max())
        edges = [0.0, *np.geomspace(low, high * (1 + 1e-12) or 1e-300, 9)[1:-1], math.inf]
    counts = np.histogram(finite, bins=np.asarray(edges))[0]
    return [(edges[i], edges[i + 1], int(c)) for i, c in enumerate(counts)]


def _loss_lines(losses: np.ndarray, floor: float | None) -> list[str]:
    unit = floor or 1.0
    suffix = "x" if floor else ""

    def shown(value: float) -> str:
        return f"{value / unit:.3g}{suffix}"

    names = {0.0: "min", 0.5: "median", 1.0: "max"}
    found = quantiles(losses)
    head = f"final loss in noise floors ({floor:.4g} = 1x):" if floor else "final loss:"
    parts = [f"{names.get(q, f'{100 * q:g}%')} {shown(v)}" for q, v in found.items()]
    lines = [head, "  " + "  ".join(parts)]
    bins = histogram(losses, floor)
    most = max((count for _, _, count in bins), default=0) or 1
    spans = [_span(low, high, shown) for low, high, _ in bins]
    width = max((len(span) for span in spans), default=0)
    for span, (_, _, count) in zip(spans, bins, strict=True):
        bar = "#" * math.ceil(BAR * count / most) if count else ""
        lines.append(f"  {span:>{width}} |{bar:<{BAR}} {count}")
    return lines


def _span(low: float, high: float, shown: Callable[[float], str]) -> str:
    """A bin in words: ``< 1x``, ``1x-1.5x``, ``>= 100x``."""
    if math.isinf(high):
        return f">= {shown(low)}"
    if low == 0:
        return f"< {shown(high)}"
    return f"{shown(low)}-{shown(high)}"


def _candidate_lines(report: DoctorReport) -> list[str]:
    floor = report.noise_floor
    trials = [report.base, *report.candidates]
    names = [changes_text(t.changes) for t in trials]
    width = max(len(n) for n in names)
    median = "median loss" + (" (floors)" if floor else "")
    lines = [
        f"what fails less (each change trained over the same {report.n_seeds} seeds):",
        f"  {'setting':<{width}}  {'failures':>15}  {median:>20}  {'time':>7}",
    ]
    for name, trial in zip(names, trials, strict=True):
        middle = quantiles(trial.final_losses).get(0.5, math.nan) / (floor or 1.0)
        failures = f"{trial.failures} ({_percent(trial.share)})"
        lines.append(f"  {name:<{width}}  {failures:>15}  {middle:>20.3g}  {trial.seconds:>6.1f}s")
    best = report.best
    if report.stopped:
        lines.append("(stopped by the user: the changes after these were not tried)")
    if best is None:
        lines.append("best: none of the changes fails less than the setting as given")
    else:
        lines.append(
            f"best: {changes_text(best.changes)}: {_percent(best.share)} of seeds fail, "
            f"against {_percent(report.base.share)} as given"
        )
    return lines


def report_json(report: DoctorReport) -> dict[str, Any]:
    """The report for programs: JSON-ready (non-finite numbers become null)."""
    best = report.best
    return {
        "format": FORMAT,
        "settings": report.config.to_dict(),
        "seeds": {"first": report.first_seed, "count": report.n_seeds},
        "data": {"source": report.source, "rows": report.rows, "seed": report.first_seed},
        "noise_floor": _number(report.noise_floor),
        **_trial_json(report.base, report.noise_floor, members=True),
        "candidates": [_trial_json(t, report.noise_floor) for t in report.candidates],
        "best": None if best is None else report.candidates.index(best),
        "stopped": report.stopped,
    }


def _trial_json(trial: Trial, floor: float | None, *, members: bool = False) -> dict[str, Any]:
    n = len(trial.kinds)
    out: dict[str, Any] = {
        "changes": {s: {k: _plain(v) for k, v in t.items()} for s, t in trial.changes.items()},
        "flags": changes_text(trial.changes),
        "failures": {"count": trial.failures, "share": trial.share},
        "outcomes": {
            kind: {"count": trial.count(kind), "share": trial.count(kind) / n} for kind in KINDS
        },
        "final_loss": {
            "quantiles": {f"{q:g}": v for q, v in quantiles(trial.final_losses).items()},
            "histogram": [
                {"low": _number(low), "high": _number(high), "count": count}
                for low, high, count in histogram(trial.final_losses, floor)
            ],
        },
        "seconds": trial.seconds,
    }
    if members:  # which member (seed first + index) ended how, and its final loss
        out["members"] = {
            "outcome": list(trial.kinds),
            "final_loss": [_number(float(v)) for v in trial.final_losses],
        }
    return out


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)

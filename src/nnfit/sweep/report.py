"""A study's results, from its storage alone: the table, a summary, and the sweep folder.

Every finished trial keeps its scores in the study (user attributes), so any machine that can
reach the storage prints the same table and names the same best trial: ``nnfit sweep
--storage URL --study NAME --report [--out DIR]``. The folder holds what a local sweep's does
but for fits.png (the trials' fits stay with the workers): results.csv, results.json,
scores.png, best.toml and best/, the best trial's setting retrained as a run folder (from the
data the study names: a file must be there on this machine too).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import UsageError
from ..safetext import printable
from .results import SettingResult, rank, table, to_csv, to_json
from .study import ABOUT, StudyPlace, counted, shown_url

if TYPE_CHECKING:
    from .runner import SweepOutputs

FAILURES_SHOWN = 5
TRIAL = "trial"  # the table's first column: the trial's number


def study_results(trials: Any, names: tuple[str, ...]) -> list[SettingResult]:
    """Each complete trial with scores as a SettingResult (index: its number), ranked."""
    from optuna.trial import TrialState

    results = []
    for trial in trials:
        scores = trial.user_attrs.get("scores")
        if trial.state != TrialState.COMPLETE or not isinstance(scores, dict):
            continue
        attrs = trial.user_attrs
        setting = attrs.get("setting", {})
        seconds = float(attrs.get("seconds", 0.0))
        results.append(scored(trial.number, setting, scores, seconds, names))
    return rank(results)


def scored(
    number: int,
    setting: dict[str, Any],
    scores: dict[str, list[Any]],
    seconds: float,
    names: tuple[str, ...],
) -> SettingResult:
    """A trial's SettingResult from what it recorded: its setting (JSON values) and each
    seed's scores (``trials.TrialResult.scores``); no fits (they stay with the workers)."""
    values = {TRIAL: number}
    values.update({n: _value(setting.get(n)) for n in names})

    def pick(name: str, kind: Any) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in scores[name]], dtype=kind)

    seeds = len(scores["val_rmse"])
    return SettingResult(
        index=number,
        values=values,
        val_rmse=pick("val_rmse", np.float64),
        train_rmse=pick("train_rmse", np.float64),
        diverged=np.array([bool(v) for v in scores["diverged"]]),
        step=np.array([v or 0 for v in scores["step"]], dtype=np.int64),
        dead=pick("dead", np.float64),
        seconds=seconds,
        y_grid=np.zeros((seeds, 0, 1), dtype=np.float32),
    )


def summary(trials: Any, results: list[SettingResult], study: str, target: int | None) -> str:
    """``study s: 12 trials: 8 complete, 3 pruned, 1 failed; best: trial 7 (CV RMSE 0.0762)``
    and a line per failed trial (the first few)."""
    kept = counted(trials)
    states = Counter(t.state.name.lower() for t in kept)
    parts = [
        f"{states[s]} {w}"
        for s, w in (
            ("complete", "complete"),
            ("pruned", "pruned"),
            ("fail", "failed"),
            ("running", "running"),
            ("waiting", "waiting"),
        )
        if states[s]
    ]
    of = f" of {target}" if target else ""
    lines = [f"study {study}: {len(kept)}{of} trial(s): {', '.join(parts) or 'none yet'}"]
    if results:
        best = results[0]
        lines[0] += f"; best: trial {best.index} (CV RMSE {best.mean:.4g})"
    failed = [t for t in kept if t.state.name == "FAIL"]
    for trial in failed[:FAILURES_SHOWN]:
        reason = trial.user_attrs.get("reason") or _lost(trial, trials)
        lines.append(f"  trial {trial.number} failed: {reason}")
    if len(failed) > FAILURES_SHOWN:
        lines.append(f"  ... and {len(failed) - FAILURES_SHOWN} more failed trial(s)")
    return "\n".join(printable(line) for line in lines)


def _lost(trial: Any, trials: Any) -> str:
    """Why a failed trial without a reason failed: its worker stopped answering."""
    again = [t.number for t in trials if t.system_attrs.get("failed_trial") == trial.number]
    return "its worker stopped (no heartbeat)" + (
        f"; run again as trial {again[-1]}" if again else ""
    )


def report_study(
    study: Any, place: StudyPlace, outputs: SweepOutputs, *, target: int | None = None
) -> list[SettingResult]:
    """Print the study's table and summary; with ``outputs.out``, save the sweep folder."""
    from .space import from_texts

    about = study.user_attrs[ABOUT]
    texts = {d["name"]: d["text"] for d in about["space"]}
    space = from_texts(texts, seeds=about["seeds"], sampling=True)
    trials = study.get_trials(deepcopy=False)
    results = study_results(trials, space.names)
    print(table(results, (TRIAL, *space.varying), about.get("unit", "")))
    print(summary(trials, results, printable(place.study), target))
    if outputs.out is not None:
        record = {
            "status": "study",
            "storage": shown_url(place.storage),
            "study": place.study,
            "trials": len(counted(trials)),
        }
        save_report(outputs, results, about, space, record, source=f"study {place.study}")
    return results


def save_report(
    outputs: SweepOutputs,
    results: list[SettingResult],
    about: dict[str, Any],
    space: Any,
    record: dict[str, Any],
    *,
    source: str,
) -> None:
    """The sweep folder of a study or a Ray sweep: results, scores.png, best.toml and best/;
    ``record`` says where the trials ran (results.json), ``source`` names them in best.toml."""
    from ..io.files import AtomicDir
    from ..runs.config import build_config, config_toml
    from .pictures import draw_scores
    from .plan import with_setting
    from .runner import SWEEP_FILES, retrain

    assert outputs.out is not None
    preset = about["preset"]
    base = build_config(preset, base=about["settings"], source=source)
    names = (TRIAL, *space.varying)
    record = {
        **record,
        "seeds": about["seeds"],
        "space": {d["name"]: d["text"] for d in about["space"]},
        "preset": preset,
    }
    with AtomicDir(outputs.out, overwrite=outputs.overwrite, names=SWEEP_FILES) as folder:
        (folder / "results.csv").write_text(to_csv(results, names), encoding="utf-8")
        (folder / "results.json").write_text(to_json(results, names, record), encoding="utf-8")
        if results:
            draw_scores(results, space.varying, folder / "scores.png", about.get("unit", ""))
            values = {n: _value(v) for n, v in results[0].values.items() if n != TRIAL}
            best = with_setting(replace(base), values)
            (folder / "best.toml").write_text(config_toml(best, preset=preset), encoding="utf-8")
            if outputs.best:
                retrain(best, folder / "best", preset, outputs)
    outputs.say(f"sweep saved to {outputs.out}")


def _value(value: Any) -> Any:
    """A setting's value as stored (JSON) → as the config takes it: widths as a tuple."""
    return tuple(value) if isinstance(value, list) else value


def report_command(place: StudyPlace, outputs: SweepOutputs) -> int:
    """``nnfit sweep --storage URL --study NAME --report``: print, save; the exit status."""
    from ..errors import NNFitError
    from .study import import_optuna, load_about, open_storage, storage_error

    optuna = import_optuna()
    if place.kind in ("sqlite", "journal"):  # a report reads a study: it creates no file
        path = place.storage.partition("://")[2].removeprefix("/" if place.kind == "sqlite" else "")
        if path and path != ":memory:" and not os.path.isfile(path):
            raise UsageError(f"--storage {shown_url(place.storage)}: no such file")
    storage = open_storage(optuna, place)
    try:
        study, _ = load_about(optuna, storage, place)
        optuna.storages.fail_stale_trials(study)
        report_study(study, place, outputs)
    except NNFitError:
        raise
    except Exception as error:
        raise storage_error(place, error) from None
    return 0

"""What went right or wrong in a run, in one plain sentence.

The lesson's setup (10 ReLU units, SGD lr 0.5) ends about one run in five with most units dead:
zero on every point, so the fit is an almost flat line. ``diagnose`` names that, a diverged loss,
a stalled loss and an unfinished fit, and says what to try. What to try is data, a tuple of
``Hint``s naming settings by field (``lr``, ``seed``); the message words them by field name, and
adapters reword them by flag (``worded(diagnosis, flag)`` says ``--lr``).

The rules read a few numbers (``RunFacts``: the losses, the noise floor, why training stopped,
dead units); ``outcome`` applies them and ``diagnose`` words the result, so the same rules judge
one member of an ensemble (``nnfit.core.outcomes``, ``nnfit doctor``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..core.history import History
from ..safetext import printable

GOOD_FACTOR = 3.0  # a loss within this factor of the noise floor counts as a good fit
STALL_TOLERANCE = 0.01  # relative improvement over the last quarter that counts as stalled


@dataclass(frozen=True)
class Hint:
    """One thing to try: a setting by field name, how to change it and, if known, a value.

    ``Hint("lr", "lower", 0.125)`` reads "a lower lr, e.g. lr 0.125"; ``Hint("preset",
    value="morvan-2018")`` reads "preset morvan-2018"; ``Hint("hidden", "more", unit="units")``
    reads "more hidden units".
    """

    field: str  # a setting's field name: "lr", "seed", "preset"
    change: str = ""  # "lower", "higher", "more", "another", or "" to set ``value``
    value: str | float | None = None  # a suggested value, or None
    unit: str = ""  # a word after the name: "units"

    def worded(self, name: Callable[[str], str] = str) -> str:
        """The hint in words, naming the setting with ``name`` (``flag`` says ``--lr``)."""
        setting = name(self.field) + (f" {self.unit}" if self.unit else "")
        value = f"{self.value:g}" if isinstance(self.value, float) else str(self.value)
        if not self.change:
            return f"{setting} {value}"
        article = "a " if self.change in ("lower", "higher") else ""
        text = f"{article}{self.change} {setting}"
        return text if self.value is None else f"{text}, e.g. {name(self.field)} {value}"


@dataclass(frozen=True)
class Diagnosis:
    """The verdict on a run: a kind and hints for programs, a sentence for people."""

    kind: str  # "ok", "dead_units", "diverged", "stalled", "unfinished", "interrupted", "gap"
    message: str  # one sentence: what happened and what to try, by field name
    short: str  # a few words for the final frame
    hints: tuple[Hint, ...] = ()  # what to try, as data

    @property
    def ok(self) -> bool:
        """True when nothing needs the user's attention."""
        return self.kind == "ok"

    @classmethod
    def from_dict(cls, info: Mapping[str, Any]) -> Diagnosis:
        """A Diagnosis from run.json's table (older folders have no hints)."""
        hints = tuple(Hint(**hint) for hint in info.get("hints", ()))
        return cls(info["kind"], info["message"], info["short"], hints)


def advice(hints: tuple[Hint, ...], name: Callable[[str], str] = str) -> str:
    """' Try a lower lr, another seed, or more steps.' ('' without hints)."""
    said = [hint.worded(name) for hint in hints]
    if not said:
        return ""
    if len(said) == 1:
        return f" Try {said[0]}."
    if len(said) == 2:
        return f" Try {said[0]} or {said[1]}."
    return f" Try {', '.join(said[:-1])}, or {said[-1]}."


def worded(diagnosis: Diagnosis, name: Callable[[str], str] = str) -> str:
    """The message with its hints naming settings by ``name``: adapters pass ``flag``."""
    mine, message = advice(diagnosis.hints), diagnosis.message
    at = message.rfind(mine) if mine else -1  # (sentences may follow it: errors, residuals)
    if at < 0:
        return message  # no hints, or a folder written before hints were data
    return message[:at] + advice(diagnosis.hints, name) + message[at + len(mine) :]


def _diagnosis(kind: str, what: str, short: str, *hints: Hint) -> Diagnosis:
    """A Diagnosis whose message is ``what`` followed by its hints by field name."""
    return Diagnosis(kind, what + advice(hints), short, hints)


@dataclass(frozen=True)
class RunFacts:
    """The numbers the verdict's rules read, for one network: a run, or one member of an
    ensemble (``nnfit doctor`` classifies each of its seeds with the same rules)."""

    losses: np.ndarray  # the loss at each kept snapshot, the final one last
    noise_floor: float | None  # the lowest reachable loss, when known
    stop_reason: str  # "done", "diverged", "interrupted", "early_stop" or "target"
    dead: int  # ReLU units dead at the end (output the same on every point)
    units: int  # ReLU units in all (0 for a network without ReLU layers)

    @property
    def loss(self) -> float:
        """The final loss."""
        return float(self.losses[-1])


KINDS = ("ok", "dead_units", "stalled", "unfinished", "diverged", "interrupted")  # of ``outcome``


def outcome(facts: RunFacts) -> str:
    """The verdict's kind from its rules, in order: diverged, interrupted, then (unless the
    loss is near the noise floor, or early stopping or a reached target ended the run) dead
    units (most ReLUs dead), stalled, unfinished; else "ok". The one copy of the rules:
    ``diagnose`` words it."""
    if facts.stop_reason in ("diverged", "interrupted"):
        return facts.stop_reason
    if _is_good(facts) or facts.stop_reason in ("early_stop", "target"):
        return "ok"
    if facts.units and facts.dead * 2 > facts.units:
        return "dead_units"
    return "stalled" if is_stalled(facts.losses) else "unfinished"


DYING = ("relu",)  # activations whose units die: zero on every point, so no gradient


def dying_layers(hidden: Sequence[int], activation: str | Sequence[str]) -> list[bool]:
    """Which hidden layers' units can die (ReLU ones): the dead-unit rule reads those only."""
    if isinstance(activation, str):
        return [activation in DYING] * len(hidden)
    return [name in DYING for name in activation]


def relu_units(
    dead: Sequence[int], hidden: Sequence[int], activation: str | Sequence[str], members: int = 1
) -> tuple[int, int]:
    """(dead ReLU units, ReLU units in all) from the dead units of each hidden layer (summed
    over ``members`` networks)."""
    dying = dying_layers(hidden, activation)
    units = sum(width for width, relu in zip(hidden, dying) if relu) * members
    return int(sum(n for n, relu in zip(dead, dying) if relu)), units


def dead_fraction(history: History) -> tuple[int, int]:
    """(dead ReLU units, ReLU units in all) at the final snapshot, over every member."""
    return relu_units(history.final.dead, history.hidden, history.activation, history.members)


def facts_of(history: History) -> RunFacts:
    """The numbers ``outcome`` reads, from a History (an ensemble's as one: its mean loss and
    its dead units over every member)."""
    dead, units = dead_fraction(history)
    return RunFacts(
        losses=history.losses,
        noise_floor=history.noise_floor,
        stop_reason=history.stop_reason,
        dead=dead,
        units=units,
    )


def is_stalled(losses: np.ndarray) -> bool:
    """True when the loss improved by less than 1% over the last quarter of the snapshots."""
    if len(losses) < 8:
        return False
    start = losses[-max(2, len(losses) // 4)]
    return bool(start - losses[-1] <= STALL_TOLERANCE * abs(start))


def diagnose(history: History) -> Diagnosis:
    """Read a finished History and say, in one sentence, how the fit went (and, for an
    ensemble whose members partly diverged, how many did).

    Example:
        >>> diagnose(history).message  # doctest: +SKIP
        'Good fit: loss 0.0047 is close to the noise floor 0.0033.'
    """
    verdict = _diagnose(history)
    frozen = history.diverged_members
    if not frozen or verdict.kind == "diverged":
        return verdict
    note = (
        f" {len(frozen)} of {history.members} members diverged (the first at step "
        f"{min(frozen.values())}) and kept their last finite weights while the others trained on."
    )
    return replace(verdict, message=verdict.message + note)


def _diagnose(history: History) -> Diagnosis:
    facts = facts_of(history)
    kind = outcome(facts)
    loss, floor = facts.loss, facts.noise_floor
    if kind == "diverged":
        return _diagnosis(
            "diverged",
            f"The loss stopped being finite at step {history.diverged_at}; kept the weights "
            f"from step {history.final.step} (loss {loss:.4g}).",
            f"diverged at step {history.diverged_at}",
            Hint("lr", "lower", _lower_lr(history)),
        )
    if kind == "interrupted":
        return Diagnosis(
            "interrupted",
            f"Stopped by the user at step {history.final.step} with loss {loss:.4g}.",
            f"interrupted at step {history.final.step}",
        )
    if kind == "dead_units":
        dead, units = facts.dead, facts.units
        return _diagnosis(
            "dead_units",
            f"{dead} of {units} ReLU units died (zero on every point), so the fit is almost "
            f"flat{_versus(loss, floor)}.",
            f"{dead}/{units} units dead: try another seed",
            *HINTS["dead_units"],
        )
    if kind == "stalled":
        return _diagnosis(
            "stalled", f"The loss stalled{_versus(loss, floor)}.", "loss stalled", *HINTS["stalled"]
        )
    if kind == "unfinished":
        return _diagnosis(
            "unfinished",
            f"The loss was still falling at the end{_versus(loss, floor)}.",
            "still improving: more steps?",
            *HINTS["unfinished"],
        )
    where = f", close to the noise floor {floor:.4g}" if floor else ""
    if history.stop_reason == "early_stop":
        where += f"; stopped early and kept step {history.best_step}"
    elif history.stop_reason == "target":
        where += f"; stopped at step {history.final.step}: R² reached its target"
    return Diagnosis("ok", f"Good fit: loss {loss:.4g}{where}.", "good fit")


HINTS: dict[str, tuple[Hint, ...]] = {  # what to try, by kind (diverged's names a value)
    "dead_units": (
        Hint("seed", "another"),
        Hint("preset", value="morvan-2018"),
        Hint("lr", "lower"),
    ),
    "stalled": (
        Hint("lr", "lower"),
        Hint("seed", "another"),
        Hint("optimizer", value="adam"),
        Hint("hidden", "more", unit="units"),
    ),
    "unfinished": (Hint("steps", "more"), Hint("lr", "higher")),
}


def _is_good(facts: RunFacts) -> bool:
    """Near the noise floor when it is known; otherwise no longer improving and well below start."""
    losses, floor = facts.losses, facts.noise_floor
    loss = facts.loss
    if not math.isfinite(loss):
        return False
    if floor:
        return loss <= GOOD_FACTOR * floor
    return loss <= 0.5 * losses[0] and not (len(losses) >= 8 and _falling_fast(losses))


def _falling_fast(losses: np.ndarray) -> bool:
    """The last quarter still cut the loss by more than 10%."""
    start = losses[-max(2, len(losses) // 4)]
    return bool(start - losses[-1] > 0.1 * abs(start))


def _versus(loss: float, floor: float | None) -> str:
    """': loss L against a noise floor of F', or ': loss L' when no floor is known."""
    return (
        f": loss {loss:.4g} against a noise floor of {floor:.4g}" if floor else f": loss {loss:.4g}"
    )


def _lower_lr(history: History) -> float:
    """A quarter of the run's lr, or 0.01 when the history does not say."""
    lr = history.settings.get("train", {}).get("lr")
    return lr / 4 if isinstance(lr, (int, float)) else 0.01


GAP = 2.0  # held-out RMSE this many times the training RMSE: overfitting or extrapolation
GAP_R2 = 0.99  # ... and a held-out R² below this (an error over a tenth of y's spread)


def in_units(
    diagnosis: Diagnosis,
    metrics: dict[str, dict[str, float]],
    y_name: str = "y",
    *,
    cross_validated: bool = False,
    unit: str = "",
) -> Diagnosis:
    """The verdict in y's units, for data whose noise level is unknown (real measurements).

    A good fit is judged by its error on rows it did not train on: RMSE and R² on the
    validation rows (cross-validated for an ensemble), next to the training RMSE. A held-out
    error more than ``GAP`` times the training error says the network learned the training
    rows better than the relation (overfitting) or predicts held-out ends of the range badly
    (extrapolation), and what to try, when that error matters: held-out R² below ``GAP_R2``
    (nearly noise-free data such as pressure fit their training rows far better than held-out
    ones and still predict well). Other verdicts get the errors appended. ``unit`` (from
    the file's units row, e.g. "mm Hg") names the units where it is known.

    Example:
        >>> in_units(diagnose(history), regressor.metrics_, "pressure").message  # doctest: +SKIP
        'Good fit: RMSE 4.1 on held-out rows (cross-validated), R² 0.999; 3.9 on training rows.'
    """
    train, val = metrics.get("train"), metrics.get("val")
    if train is None or diagnosis.kind in ("diverged", "interrupted"):
        return diagnosis
    units = f" {unit}" if unit else f" in {y_name}'s units"
    if val is None:
        errors = f"RMSE {train['rmse']:.4g}{units} on the training rows"
        errors += f", R² {train['r2']:.3f}" if math.isfinite(train["r2"]) else ""
        if diagnosis.kind != "ok":
            return replace(diagnosis, message=f"{diagnosis.message} ({errors}.)")
        return Diagnosis(
            "ok",
            f"Good fit: {errors} (no rows were held out, so nothing says how it predicts new "
            "data).",
            f"RMSE {train['rmse']:.3g}",
        )
    held = "cross-validated held-out rows" if cross_validated else "validation rows"
    r2 = f", R² {val['r2']:.3f}" if math.isfinite(val["r2"]) else ""
    errors = (
        f"RMSE {val['rmse']:.4g}{units} on {held}{r2}; "
        f"{train['rmse']:.4g}{f' {unit}' if unit else ''} on the training rows"
    )
    short = f"val RMSE {val['rmse']:.3g}" + (f", R² {val['r2']:.3f}" if r2 else "")
    if diagnosis.kind != "ok":
        return replace(diagnosis, message=f"{diagnosis.message} ({errors}.)")
    ratio = val["rmse"] / train["rmse"] if train["rmse"] > 0 else math.inf
    if ratio <= GAP or not val["r2"] < GAP_R2:
        return Diagnosis("ok", f"Good fit: {errors}.", short)
    return _diagnosis(
        "gap",
        f"The error on held-out rows is {ratio:.1f}x the training error ({errors}): the network "
        "fits its training rows better than the relation (overfitting), or predicts held-out "
        "ends of the range badly (extrapolation).",
        f"{short}: {ratio:.1f}x train",
        Hint("val", value=0.1),
        Hint("restore", value="1se"),
        Hint("hidden", "fewer", unit="units"),
    )


def verdict(history: History) -> Diagnosis:
    """``diagnose(history)``, in y's units (``in_units``) when the run measured its errors
    (``history.settings["metrics"]``, as ``Regressor.fit`` records them) and its noise level is
    unknown, followed by what the residuals still say (``settings["residuals"]``, see
    ``nnfit.core.residuals``); what the pictures' final frame says."""
    diagnosis = diagnose(history)
    metrics = _recorded_metrics(history.settings.get("metrics"))
    if history.noise_floor is not None or metrics is None:
        return diagnosis
    y_name = ", ".join(history.y_names)
    units = history.settings.get("y_units")
    unit = units[0] if isinstance(units, list) and len(units) == 1 else ""
    unit = printable(unit)[:40] if isinstance(unit, str) else ""
    judged = in_units(diagnosis, metrics, y_name, cross_validated=history.held_out, unit=unit)
    notes = history.settings.get("residuals")
    if isinstance(notes, list) and notes and all(isinstance(n, str) for n in notes):
        judged = replace(judged, message=" ".join([judged.message, *notes]))
    return judged


def _recorded_metrics(value: Any) -> dict[str, dict[str, float]] | None:
    """The recorded metrics if they are what ``Regressor.fit`` writes, else None (a history
    file from elsewhere, or tampered with, falls back to the loss verdict)."""
    if not isinstance(value, dict) or "train" not in value:
        return None
    out = {}
    for name in ("train", "val"):
        row = value.get(name)
        if row is None and name == "val":
            continue
        if not isinstance(row, dict):
            return None
        numbers = [row.get(key) for key in ("rmse", "mae", "r2")]
        if numbers[2] is None:  # R² of a constant y is nan, saved as null
            numbers[2] = math.nan
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers):
            return None
        rmse, mae, r2 = (float(v) for v in numbers)  # type: ignore[arg-type]  # checked above
        if not (math.isfinite(rmse) and math.isfinite(mae)):
            return None
        out[name] = {"rmse": rmse, "mae": mae, "r2": r2}
    return out

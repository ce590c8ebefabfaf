"""What went right or wrong in a run, in one plain sentence.

The lesson's setup (10 ReLU units, SGD lr 0.5) ends about one run in five with most units dead:
zero on every point, so the fit is an almost flat line. ``diagnose`` names that, a diverged loss,
a stalled loss and an unfinished fit, and says what to try.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.history import History

GOOD_FACTOR = 3.0  # a loss within this factor of the noise floor counts as a good fit
STALL_TOLERANCE = 0.01  # relative improvement over the last quarter that counts as stalled


@dataclass(frozen=True)
class Diagnosis:
    """The verdict on a run: a kind for programs and a sentence for people."""

    kind: str  # "ok", "dead_units", "diverged", "stalled", "unfinished", "interrupted"
    message: str  # one sentence: what happened and what to try
    short: str  # a few words for the final frame

    @property
    def ok(self) -> bool:
        """True when nothing needs the user's attention."""
        return self.kind == "ok"


def dead_fraction(history: History) -> tuple[int, int]:
    """(dead units, all hidden units) at the final snapshot."""
    return sum(history.final.dead), sum(history.hidden) * history.members


def is_stalled(history: History) -> bool:
    """True when the loss improved by less than 1% over the last quarter of the snapshots."""
    losses = history.losses
    if len(losses) < 8:
        return False
    start = losses[-max(2, len(losses) // 4)]
    return bool(start - losses[-1] <= STALL_TOLERANCE * abs(start))


def diagnose(history: History) -> Diagnosis:
    """Read a finished History and say, in one sentence, how the fit went.

    Example:
        >>> diagnose(history).message  # doctest: +SKIP
        'Good fit: loss 0.0047 is close to the noise floor 0.0033.'
    """
    final = history.final
    loss, floor = final.loss, history.noise_floor
    if history.stop_reason == "diverged":
        return Diagnosis(
            "diverged",
            f"The loss stopped being finite at step {history.diverged_at}; kept the weights "
            f"from step {final.step} (loss {loss:.4g}). Try a lower --lr, e.g. "
            f"{_lower_lr(history)}.",
            f"diverged at step {history.diverged_at}",
        )
    if history.stop_reason == "interrupted":
        return Diagnosis(
            "interrupted",
            f"Stopped by the user at step {final.step} with loss {loss:.4g}.",
            f"interrupted at step {final.step}",
        )
    good = _is_good(history) or history.stop_reason == "early_stop"
    dead, units = dead_fraction(history)
    if not good and units and dead * 2 > units and history.activation in ("relu",):
        return Diagnosis(
            "dead_units",
            f"{dead} of {units} ReLU units died (zero on every point), so the fit is almost "
            f"flat{_versus(loss, floor)}. Try another --seed, --preset morvan-2018, or a "
            f"lower --lr.",
            f"{dead}/{units} units dead: try another seed",
        )
    if not good and is_stalled(history):
        return Diagnosis(
            "stalled",
            f"The loss stalled{_versus(loss, floor)}. Try a lower --lr, another "
            "--seed, --optimizer adam, or more --hidden units.",
            "loss stalled",
        )
    if not good:
        return Diagnosis(
            "unfinished",
            f"The loss was still falling at the end{_versus(loss, floor)}. Try more "
            "--steps or a higher --lr.",
            "still improving: more steps?",
        )
    where = f", close to the noise floor {floor:.4g}" if floor else ""
    if history.stop_reason == "early_stop":
        where += f"; stopped early and kept step {history.best_step}"
    return Diagnosis("ok", f"Good fit: loss {loss:.4g}{where}.", "good fit")


def _is_good(history: History) -> bool:
    """Near the noise floor when it is known; otherwise no longer improving and well below start."""
    loss, floor = history.final.loss, history.noise_floor
    if not math.isfinite(loss):
        return False
    if floor:
        return loss <= GOOD_FACTOR * floor
    first = history.snapshots[0].loss
    return loss <= 0.5 * first and not (len(history.losses) >= 8 and _falling_fast(history.losses))


def _falling_fast(losses: np.ndarray) -> bool:
    """The last quarter still cut the loss by more than 10%."""
    start = losses[-max(2, len(losses) // 4)]
    return bool(start - losses[-1] > 0.1 * abs(start))


def _versus(loss: float, floor: float | None) -> str:
    """': loss L against a noise floor of F', or ': loss L' when no floor is known."""
    return (
        f": loss {loss:.4g} against a noise floor of {floor:.4g}" if floor else f": loss {loss:.4g}"
    )


def _lower_lr(history: History) -> str:
    lr = history.settings.get("train", {}).get("lr")
    return f"--lr {lr / 4:g}" if isinstance(lr, (int, float)) else "--lr 0.01"

"""A race's result table: each variant's final loss, the steps it took to get near the best,
its CPU time and its single-run verdict; and the winner."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..race.runner import Finish

NEAR = 2.0  # "near the best": within this factor of the best final loss (or the noise floor)


def target_loss(finishes: Sequence[Finish], noise_floor: float | None) -> float:
    """The loss a variant must reach to count as there: NEAR times the best final loss, or
    the noise floor where that is higher (no fit gets far below the noise)."""
    finals = [f.loss for f in finishes if math.isfinite(f.loss)]
    best = min(finals) if finals else math.nan
    floor = noise_floor if noise_floor is not None and math.isfinite(noise_floor) else 0.0
    return max(NEAR * best, floor)


def steps_to(finish: Finish, target: float) -> int | None:
    """The first recorded step whose loss is at most ``target`` (None: never)."""
    steps, losses = finish.curve
    reached = np.nonzero(losses <= target)[0]
    return int(steps[reached[0]]) if reached.size else None


def winner(finishes: Sequence[Finish], target: float) -> Finish | None:
    """The variant that reached ``target`` first (ties: the lower final loss)."""
    ranked = [
        (step, f.loss, i, f)
        for i, f in enumerate(finishes)
        if (step := steps_to(f, target)) is not None
    ]
    return min(ranked)[3] if ranked else None


def format_table(finishes: Sequence[Finish], noise_floor: float | None, every: int) -> str:
    """The table and the winner's line, as printed at the end of a race."""
    target = target_loss(finishes, noise_floor)
    width = max(len("variant"), *(len(f.name) for f in finishes))
    head = f"{'variant':<{width}}  {'final loss':>10}  {'steps to ' + f'{target:.3g}':>14}"
    lines = [f"{head}  {'cpu s':>6}  verdict"]
    for f in finishes:
        reached = steps_to(f, target)
        step = "never" if reached is None else str(reached)
        lines.append(
            f"{f.name:<{width}}  {f.loss:>10.4g}  {step:>14}  {f.seconds:>6.2f}  {f.outcome}"
        )
    won = winner(finishes, target)
    what = f"loss {target:.3g}: {NEAR:g}x the best final loss, or the noise floor if higher"
    lines.append(f"(steps to {what}; measured every {every} steps)")
    if won is None:
        lines.append("winner: none reached it")
    else:
        lines.append(
            f"winner: {won.name} (first to loss {target:.3g}, at step {steps_to(won, target)})"
        )
    return "\n".join(lines)

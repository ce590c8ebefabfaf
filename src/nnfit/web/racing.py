"""A race in the playground: variants of one setting from the same weights on one step clock.

A page asks for ``{"setting": NAME, "values": TEXT}`` (TEXT as ``nnfit race --NAME`` takes it:
``sgd,momentum,rmsprop,adam``, ``0.5,0.1``, ``log:0.01..1:4``; a list of values is joined with
commas). ``check_race`` reads it with the sweep's own parser and the race's checks (2 to 10
variants) and refuses any variant the server's caps would refuse as a run of its own.
``train_race`` then trains it with nnfit's race engine (``race.lanes`` → ``race.runner.
run_race``, lanes struck by ``race.clock.Clock``), the PlayRun's ``Frames`` subscribed to the
race's snapshots, so a race is paced, paused and stepped as a single run is. The end of a race
is data: each variant's final loss, the step it got near the best, its verdict, and the
winner, as ``nnfit race`` prints them (``race.table``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..checks import FieldError, shown
from .form import NOT_ON_PAGE, Caps, Refused, check_caps

if TYPE_CHECKING:
    import threading

    from ..core.callbacks import Callback
    from ..data.dataset import Dataset
    from ..race.runner import Race
    from ..runs.config import RunConfig
    from ..sweep.space import Space


def check_race(
    race: Any, config: RunConfig, caps: Caps, *, locks: dict[str, Any] | None = None
) -> Space:
    """The race a page asked for, as a sweep space of one seed; UsageError in one line (a
    FieldError naming the setting when a classroom link's ``locks`` fix it)."""
    from ..race.lanes import check_space, make_lanes
    from ..sweep.space import from_texts

    if not isinstance(race, dict) or not isinstance(race.get("setting"), str):
        raise Refused.framed('a race is {"setting": name, "values": "value,value,..."}', "race")
    values = race.get("values")
    if isinstance(values, list):
        values = ",".join(str(v) for v in values)
    if not isinstance(values, str):
        raise Refused.framed("a race's values are text, as nnfit race takes them: 0.5,0.1", "race")
    space = from_texts({race["setting"][:40]: values[:1000]}, seeds=1)
    for name in space.names:
        if locks and name in locks:  # a student may not race what the teacher fixed
            rule = f"is fixed at {shown(locks[name])} by this classroom link: it cannot race"
            raise FieldError(
                name, rule, values, code="locked_race", params={"fixed": shown(locks[name])}
            )
    check_space(space)
    configs, _ = make_lanes(config, space)
    for variant in configs:  # each variant is a run of its own to the server's caps
        check_caps(variant, caps)
    return space


def race_offer() -> dict[str, Any]:
    """What the page's race control offers: the settings a race can vary (the sweep's, those
    the page has), the most variants, and the presets that name a race (``nnfit race --preset
    NAME``) with the form values each sets and the setting and values it races."""
    from ..race.lanes import MAX_VARIANTS
    from ..runs.config import PRESETS, RACES
    from ..sweep.space import sweepable

    presets = {}
    for name, texts in RACES.items():
        [(setting, values)] = texts.items()  # a preset races one setting
        settings = {
            key: list(value) if isinstance(value, tuple) else value
            for section in PRESETS[name].values()
            for key, value in section.items()
            if key not in NOT_ON_PAGE
        }
        presets[name] = {"settings": settings, "setting": setting, "values": values}
    names = [row.name for row in sweepable() if row.name not in NOT_ON_PAGE]
    return {"settings": names, "most": MAX_VARIANTS, "presets": presets}


def lane_info(names: list[str]) -> dict[str, Any]:
    """The race's fixed facts for the page: each variant's name and colour (the colours the
    CLI's pictures give them, so the page, the GIF and the PNG agree)."""
    from matplotlib.colors import to_hex

    from ..views.panels import variant_colour

    return {"lanes": names, "colours": [to_hex(variant_colour(i)) for i in range(len(names))]}


def train_race(
    config: RunConfig,
    space: Space,
    dataset: Dataset,
    frames: Callback,
    stop: threading.Event,
) -> Race:
    """Train the race's lanes on ``dataset`` on one clock; ``frames`` sees each race snapshot."""
    from ..race.lanes import make_lanes, variant_names
    from ..race.runner import run_race

    _, lanes = make_lanes(config, space)
    return run_race(lanes, variant_names(space), dataset, callbacks=[frames], stop=stop)


def race_summary(race: Race) -> dict[str, Any]:
    """The race's table as data: each variant's final loss, the step it first got within the
    target loss, its verdict and CPU seconds; the target and the winner (None: nobody)."""
    from ..race.table import NEAR, steps_to, target_loss, winner

    finishes = race.finishes
    target = target_loss(finishes, race.history.noise_floor)
    won = winner(finishes, target)
    return {
        "stop_reason": race.history.stop_reason,
        "race": {
            "target": _finite(target),
            "near": NEAR,
            "lanes": [
                {
                    "name": f.name,
                    "loss": _finite(f.loss),
                    "steps_to": steps_to(f, target),
                    "outcome": f.outcome,
                    "seconds": round(f.seconds, 3),
                }
                for f in finishes
            ],
            "winner": None if won is None else won.name,
        },
    }


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None

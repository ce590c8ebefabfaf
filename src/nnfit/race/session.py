"""A race from start to finish: settings → data → lanes → training on one clock → views → files.

The views are the single run's: a live window (``views.live``) subscribed to the race's
stream of snapshots, then the animation and the picture from the race's History. Without a
display and without ``--save``/``--plot``, the files are saved instead, named after the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..io.files import unique_path
from ..runs.config import RunConfig, run_name
from ..runs.runner import Outputs, output_stem
from ..runs.session import RunSignals, say, wait_for_window
from ..sweep.space import Space

if TYPE_CHECKING:
    from ..core.history import History
    from ..race.runner import Race


def race(config: RunConfig, space: Space, outputs: Outputs) -> Race:
    """Train the race's variants of ``config`` (the settings of ``space``) from the same
    initial weights, show and save them as ``outputs`` says, print the table; returns it."""
    from ..data.dataset import load_dataset
    from ..race.lanes import check_space, make_lanes, variant_names
    from ..race.runner import names_in_order, run_race
    from ..race.table import format_table
    from ..views.live import LiveWindow, has_display, run_live
    from ..views.terminal import Progress

    check_space(space)
    configs, lanes = make_lanes(config, space)
    names = variant_names(space)
    live = outputs.window and has_display()
    save, plot_path = outputs.save, outputs.plot
    if outputs.window and not live and save is None and plot_path is None:
        stem = output_stem(config).removesuffix("-fit") + "-race"
        save, plot_path = unique_path(Path(f"{stem}.gif")), unique_path(Path(f"{stem}.png"))
        say(outputs, f"no display found: saving the race instead ({save}, {plot_path})")
    with RunSignals() as signals:
        dataset = load_dataset(config.data, seed=config.train.seed)
        say(outputs, f"racing {', '.join(names_in_order(lanes, names))} on {dataset.source}")
        callbacks: list = []
        stop = signals.stop
        if not outputs.quiet:
            callbacks.append(Progress(max(c.train.steps for c in configs)))
        window = None
        if live:
            window = LiveWindow(
                fps=outputs.fps, size=outputs.size, title=f"nnfit race: {run_name(config)}"
            )
            callbacks.append(window)
            signals.phase = "live"

            raced: list[Race] = []

            def train() -> History:  # run_live hands back the History; the rest waits here
                raced.append(run_race(lanes, names, dataset, callbacks=callbacks, stop=stop))
                return raced[0].history

            run_live(train, window, stop=stop, wait=False)
            result = raced[0]
        else:
            signals.phase = "training"
            result = run_race(lanes, names, dataset, callbacks=callbacks, stop=stop)
        signals.phase = "saving"
        history = result.history
        print(format_table(result.finishes, history.noise_floor, config.train.every))
        _save(result, outputs, save, plot_path)
        wait_for_window(window, outputs, signals)
    if history.stop_reason == "interrupted" or signals.late:
        raise KeyboardInterrupt
    return result


def _save(result: Race, outputs: Outputs, save: Path | None, plot_path: Path | None) -> None:
    """The animation and the picture of the race, as a single run's are written."""
    if save is not None:
        from ..views.animation import animate

        animate(
            result.history, save, fps=outputs.fps, size=outputs.size, overwrite=outputs.overwrite
        )
        say(outputs, f"animation saved to {save}")
    if plot_path is not None:
        from ..views.plotting import plot

        plot(result.history, plot_path, overwrite=outputs.overwrite)
        say(outputs, f"picture saved to {plot_path}")

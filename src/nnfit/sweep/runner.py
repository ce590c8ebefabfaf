"""``nnfit sweep`` from start to finish: data → batched runs → ranked results → a folder.

The sweep folder (``--out sweeps/NAME``) holds results.csv and results.json (every setting,
ranked), fits.png (the best settings' fits side by side), scores.png (the score against each
swept setting), best.toml (the best setting, for ``nnfit fit best.toml``) and best/, a normal
run folder that ``nnfit predict``, ``show`` and ``export`` take. best/ is the best setting
retrained as one ``nnfit fit`` run on the same data (its own validation split, history and
pictures): the sweep's networks each trained on 4/5 of the rows and keep no history, and
retraining costs one network's time. sweep.json and scores.npz keep the settings and every
finished network's scores: an interrupted sweep resumes from them (``--resume``).
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..io.files import unique_path
from ..runs.config import RunConfig, config_toml
from ..safetext import printable
from .plan import Group, one_network_base, plan
from .results import SettingResult, collect, table, to_csv, to_json
from .space import Space

if TYPE_CHECKING:
    from .objective import SweepData
    from .store import Done

SWEEP_FILES = frozenset(
    {
        "results.csv",
        "results.json",
        "fits.png",
        "scores.png",
        "best.toml",
        "best",
        "sweep.json",
        "scores.npz",
    }
)
INTERRUPTED = 130


@dataclass(frozen=True)
class SweepOutputs:
    """Where a sweep saves itself (checked when made, before anything trains)."""

    out: Path | None = None  # the sweep folder
    overwrite: bool = False  # replace a sweep folder nnfit wrote
    quiet: bool = False  # print only errors and the table
    best: bool = True  # retrain the best setting into out/best

    def __post_init__(self) -> None:
        if self.out is not None:
            check_sweep_folder(self.out, overwrite=self.overwrite)

    def say(self, line: str) -> None:
        """A progress line on stderr, unless quiet."""
        if not self.quiet:
            print(printable(line), file=sys.stderr, flush=True)


def check_sweep_folder(path: Path, *, overwrite: bool) -> None:
    """Refuse a sweep folder that exists (without ``overwrite``) or that nnfit did not write."""
    from ..io.targets import check_run_folder

    try:
        check_run_folder(path, overwrite=False)
    except UsageError:
        if not (overwrite and path.is_dir() and not path.is_symlink()):
            raise
        names = {entry.name for entry in path.iterdir()}
        if "results.json" not in names or not names <= SWEEP_FILES:
            raise UsageError(
                f"--out {printable(path)} is not a sweep folder nnfit wrote; --overwrite "
                "replaces only those: move it away or choose another name"
            ) from None


def run_sweep(
    base: RunConfig,
    space: Space,
    outputs: SweepOutputs,
    *,
    preset: str,
    resume: Done | None = None,
    data_sha256: str | None = None,
) -> tuple[list[SettingResult], bool]:
    """Train every setting of ``space`` over its seeds on ``base``'s data, rank them, print
    the table and save the folder; returns the ranked results and whether Ctrl-C cut the
    sweep short (the runs finished by then are kept and saved, ready to resume).

    Args:
        base: the data and every setting the space does not sweep.
        space: the settings to try and the seeds.
        outputs: where to save.
        preset: the preset ``base`` was built from, recorded for ``best.toml``.
        resume: the runs an interrupted sweep finished (``store.read_state``): not trained
            again.
        data_sha256: with ``resume``, the hash the data must still have.
    """
    from ..runs.session import RunSignals
    from .batched import train_all
    from .store import finished

    base = one_network_base(base)
    configs, groups = plan(base, space)
    if base.data.file == "-" and outputs.out is not None:
        raise UsageError("a sweep with --out retrains its best setting: read data from a file")
    done: Done = list(resume or [])
    kept = finished(done)
    todo = [g for g in groups if not all((t.setting, t.seed) in kept for t in g.trials)]
    if resume is not None and not todo:
        raise UsageError("the sweep is finished; there is nothing to resume")
    networks = sum(group.members for group in groups)
    outputs.say(
        f"{len(configs)} setting(s) x {space.seeds} seed(s) = {networks} networks in "
        f"{len(groups)} batched run(s)" + (f", {len(todo)} still to train" if resume else "")
    )
    with RunSignals() as signals:
        data, digest = load_sweep_data(base, space, networks, data_sha256, outputs.quiet)

        def progress(index: int, group: Group, seconds: float) -> None:
            outputs.say(
                f"run {index + 1}/{len(todo)}: {_about(group.config, space)} "
                f"({group.members} networks) {seconds:.2f} s"
            )

        from ..core.trainstate import Control  # torch loads once the data are read

        signals.phase = "training"
        done += train_all(todo, data, progress=progress, control=Control(stop=signals.stop))
        signals.phase = "saving"
        kept = finished(done)
        missing = networks - len(kept)
        interrupted = signals.stop.is_set() and missing > 0
        results = collect(list(space.settings()), done)
        unit = data.y_units[0] if len(data.y_units) == 1 else ""
        print(table(results, space.varying, unit))
        if interrupted and outputs.out is None:  # the finished runs are kept, as fit's are
            stamp = time.strftime("%Y%m%d-%H%M%S")
            outputs = replace(outputs, out=unique_path(Path("sweeps") / f"interrupted-{stamp}"))
        if outputs.out is not None:
            best = configs[results[0].index] if results and not interrupted else None
            saved = Saved(base, space, preset, digest, done, interrupted)
            save_sweep(outputs, results, data, saved, best)
        if interrupted:
            print(
                printable(
                    f"interrupted: {len(kept)} of {networks} networks finished: saved to "
                    f"{outputs.out}; resume with: nnfit sweep --resume {outputs.out}"
                ),
                file=sys.stderr,
            )
    return results, interrupted


def load_sweep_data(
    base: RunConfig, space: Space, networks: int, data_sha256: str | None, quiet: bool
) -> tuple[SweepData, str]:
    """The sweep's data and their hash; resuming, they must still hash to ``data_sha256``
    (read as ``nnfit fit --resume`` reads a run's: a regular file, its contents never quoted)."""
    from ..runs.runner import Outputs, load_data
    from .objective import sweep_data

    dataset, digest = load_data(base, Outputs(window=False, quiet=quiet), data_sha256)
    data = sweep_data(
        dataset.x,
        dataset.y,
        seeds=space.seeds,
        val=base.data.val,
        seed=base.train.seed,
        x_names=dataset.x_names,
        y_names=dataset.y_names,
        source=dataset.source,
        y_units=dataset.y_units,
        networks=networks,
    )
    return data, digest


@dataclass(frozen=True)
class Saved:
    """What sweep.json and scores.npz keep (``nnfit.sweep.store``)."""

    base: RunConfig
    space: Space
    preset: str
    digest: str
    done: Done
    interrupted: bool


def save_sweep(
    outputs: SweepOutputs,
    results: list[SettingResult],
    data: SweepData,
    saved: Saved,
    best: RunConfig | None,
) -> Path:
    """Write the sweep folder whole (or leave the old one as it was)."""
    from ..io.files import AtomicDir
    from ..io.targets import RUN_FILES
    from ..io.temps import remove_folder
    from .pictures import draw_fits, draw_scores
    from .store import write_state

    assert outputs.out is not None
    space, preset = saved.space, saved.preset
    about: dict[str, Any] = {
        "status": "interrupted" if saved.interrupted else "complete",
        "source": data.source,
        "rows": len(data.x),
        "seeds": space.seeds,
        "first_seed": data.seed,
        "space": {d.name: d.text for d in space.dimensions},
        "preset": preset,
    }
    unit = data.y_units[0] if len(data.y_units) == 1 else ""
    names = space.varying
    with AtomicDir(outputs.out, overwrite=outputs.overwrite, names=SWEEP_FILES) as folder:
        (folder / "results.csv").write_text(to_csv(results, names), encoding="utf-8")
        (folder / "results.json").write_text(to_json(results, names, about), encoding="utf-8")
        write_state(folder, saved.base, space, preset, saved.digest, saved.done)
        if results:
            draw_fits(results, data, names, folder / "fits.png")
            draw_scores(results, names, folder / "scores.png", unit)
        if best is not None:
            (folder / "best.toml").write_text(config_toml(best, preset=preset), encoding="utf-8")
            if outputs.best:
                retrain(best, folder / "best", preset, outputs)
        old = outputs.out / "best"  # the run folder the old sweep held goes with it
        if outputs.overwrite and old.is_dir() and not old.is_symlink():
            remove_folder(old, RUN_FILES)
    if not saved.interrupted:
        outputs.say(f"sweep saved to {outputs.out}")
    return outputs.out


def retrain(config: RunConfig, folder: Path, preset: str, outputs: SweepOutputs) -> None:
    """The best setting as one ``nnfit fit`` run, saved as a run folder."""
    from ..runs.runner import Outputs, run

    outputs.say("retraining the best setting as a single run (best/):")
    # what the run prints goes to stderr (or nowhere with --quiet): stdout holds the table
    with contextlib.redirect_stdout(io.StringIO() if outputs.quiet else sys.stderr):
        run(config, Outputs(out=folder, window=False, quiet=True), preset=preset)


def _about(config: RunConfig, space: Space) -> str:
    """What a batched run shares of the swept settings: ``hidden 16, activation tanh``."""
    from ..checks import typed

    values = {**vars(config.model), **vars(config.train)}
    shared = [f"{name} {typed(values[name])}" for name in space.varying if name != "lr"]
    return ", ".join(shared) or "one architecture"

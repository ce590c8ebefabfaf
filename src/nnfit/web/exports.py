"""A playground run's downloads, made by nnfit's own writers (worker side: ``PlayRun.export``).

- ``gif``: the run's animation, ``views.animation.animate`` (what ``nnfit fit --save`` writes);
- ``png``: the newest frame, drawn by the views' ``FitFigure`` as the final picture is (with
  the diagnosis underneath once the run has ended: then it is ``nnfit fit --plot``'s picture);
- ``zip``: the model as the run folder ``nnfit fit --out`` writes (``runs.runfolder.save_run``),
  for ``nnfit predict`` / ``nnfit show`` / ``nnfit.load`` once unzipped;
- ``toml``: the settings as ``nnfit fit --save-config`` writes them (``config_toml``), which
  ``nnfit fit RUN.toml`` reads back to the same RunConfig.

Files are written only into a private temporary folder (``tempfile``: a random name, mode
0700), read back into memory and removed before the answer leaves. A GIF and a run folder are
made of a run that has ended (the GIF replays the whole run; a half-trained model is not
worth keeping); the PNG and the TOML any time. At most ``MAX_RENDERS`` exports are made at
once on a server; each GIF has at most the run's frame cap of frames.
"""

from __future__ import annotations

import io
import tempfile
import threading
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from .form import Refused

if TYPE_CHECKING:
    from ..core.history import History, Snapshot
    from ..runs.config import RunConfig
    from ..sweep.space import Space
    from .playrun import Batch

KINDS = ("gif", "png", "zip", "toml")
EXPORT_CODE = "export_failed"  # the code of every export's refusal (error.export_failed)
MEDIA_TYPES = {
    "gif": "image/gif",
    "png": "image/png",
    "zip": "application/zip",
    "toml": "application/toml",
}
GIF_FPS = 25.0  # the playground's own pace: the GIF plays as the page did at 1x
GIF_SIZE = (800, 400)  # nnfit fit --save's default size
PNG_SIZE = (1000, 450)  # nnfit fit --plot's default size
# exports made at once in one process: matplotlib is not thread-safe, and each takes a CPU
# for up to a few seconds; the others wait their turn (up to WAIT_S)
MAX_RENDERS = 1
WAIT_S = 30.0  # how long an export waits for its turn before the server says it is busy
FOLDER = "nnfit-run"  # the run folder's name inside the zip
_renders = threading.BoundedSemaphore(MAX_RENDERS)


class NotReady(Refused):
    """The run cannot give this export yet (still training, no frame, failed): HTTP 409."""

    def __init__(self, text: str) -> None:
        super().__init__(text, code=EXPORT_CODE, params={"detail": text}, status=409)


class ExportBusy(Refused):
    """Every export slot stayed taken for WAIT_S seconds: HTTP 503."""

    def __init__(self, text: str) -> None:
        super().__init__(text, code=EXPORT_CODE, params={"detail": text}, status=503)


@dataclass(frozen=True)
class RunView:
    """What a run hands to an export, copied under its lock: nothing here changes after.

    ``history`` is the run's History (the finished one once the run has ended); ``snapshots``
    the frames so far; ``regressor``/``dataset`` are set once a single run has ended.
    """

    config: RunConfig
    state: str
    step: int
    history: History | None
    snapshots: tuple[Snapshot, ...]
    regressor: Any = None
    dataset: Any = None
    race: Space | None = None
    frames: int = 250  # the most frames a GIF may have (the server's cap)
    error: str | None = None
    data_source: str | None = None  # an upload's name or the chart's edits; None: the function


def export(view: RunView, kind: str) -> tuple[bytes, str, str]:
    """The export ``kind`` of a run: (content, media type, file name).

    Raises:
        UsageError: an unknown kind, or a run folder of a race (HTTP 400).
        NotReady: the run cannot give it now; the message says when it can (HTTP 409).
        ExportBusy: the server is making other exports (HTTP 503).
    """
    stem = "nnfit-race" if view.race is not None else "nnfit-fit"
    frames = len(view.snapshots) if view.history is not None else 0
    race = view.race is not None
    check_ready(kind, state=view.state, step=view.step, frames=frames, race=race, error=view.error)
    if kind == "toml":  # any time: the settings are known before the first step
        return toml_text(view).encode(), MEDIA_TYPES[kind], f"{stem}.toml"
    if kind == "zip" and view.regressor is None:
        raise NotReady("the run ended before it trained: there is no model to save")
    if not _renders.acquire(timeout=WAIT_S):
        raise ExportBusy("the server is busy making other downloads; try again in a moment")
    try:
        if kind == "png":
            content, name = png_bytes(view), f"{stem}-step-{view.step}.png"
        elif kind == "gif":
            content, name = gif_bytes(view), f"{stem}.gif"
        else:
            content, name = zip_bytes(view), "nnfit-run.zip"
    finally:
        _renders.release()
    return content, MEDIA_TYPES[kind], name


def check_batch(kind: str, batch: Batch) -> None:
    """``check_ready`` from what the server knows of a run (its newest ``Batch``), so that a
    route refuses before asking the process that trains it."""
    check_ready(
        kind,
        state=batch.state,
        step=batch.step,
        frames=batch.seq,
        race="lanes" in batch.info,
        error=(batch.result or {}).get("error"),
    )


def check_ready(
    kind: str, *, state: str, step: int, frames: int, race: bool, error: str | None = None
) -> None:
    """Refuse, in a sentence that says what to do, an export the run cannot give now: an
    unknown kind, a failed run, a run folder of a race, a GIF or run folder before the run
    has ended, a picture before the first frame."""
    if kind not in KINDS:
        raise Refused.framed(f"unknown export {kind[:20]!r}; use {', '.join(KINDS)}", EXPORT_CODE)
    if kind == "toml":
        return
    what = {"gif": "the animation (GIF)", "png": "a picture", "zip": "the run folder"}[kind]
    if state == "failed":
        raise NotReady(f"the run failed ({error or 'no reason given'}): no {kind} to save")
    if kind == "zip" and race:
        raise Refused.framed(
            "a race trains one network per variant and a run folder holds one: run the "
            "variant you want on its own, then download its model",
            EXPORT_CODE,
        )
    if frames == 0:
        raise NotReady(f"the run has no frame yet: {what} can be saved after its first step")
    if kind in ("gif", "zip") and state not in ("done", "stopped"):
        raise NotReady(
            f"the run is {state} at step {step}: {what} can be saved once it ends "
            "(play it to the end; the PNG of the current frame can be saved now)"
        )


def frames_of(view: RunView) -> History:
    """The run's History with its frames so far (at most ``view.frames``, the last kept)."""
    assert view.history is not None
    snapshots = list(view.snapshots)
    if len(snapshots) > view.frames:
        stride = -(-len(snapshots) // view.frames)
        snapshots = [*snapshots[:-1:stride], snapshots[-1]]
    return replace(view.history, snapshots=snapshots)


def png_bytes(view: RunView) -> bytes:
    """The newest frame as a PNG, by the views' FitFigure; with the diagnosis (a race: its
    leader) underneath once the run has ended, as ``nnfit fit --plot`` draws it."""
    from ..views.phrasing import footer
    from ..views.render import FitFigure

    history = frames_of(view)
    ended = view.state in ("done", "stopped")
    figure = FitFigure(history, size=PNG_SIZE, footer=footer(history) if ended else None)
    figure.draw_frame(history.snapshots[-1])
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def gif_bytes(view: RunView) -> bytes:
    """The whole run as ``animate`` writes it, read back from a private temporary folder."""
    from ..views.animation import animate

    with tempfile.TemporaryDirectory(prefix="nnfit-export-") as folder:
        path = animate(frames_of(view), Path(folder) / "fit.gif", fps=GIF_FPS, size=GIF_SIZE)
        return path.read_bytes()


def zip_bytes(view: RunView) -> bytes:
    """The run folder ``nnfit fit --out`` writes, zipped in memory under ``FOLDER/``; written
    by ``save_run`` into a private temporary folder that is removed before this returns."""
    from ..runs.config import DEFAULT_PRESET
    from ..runs.runfolder import data_record, save_run

    regressor = view.regressor
    settings = {"preset": DEFAULT_PRESET, **view.config.to_dict()}
    out = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="nnfit-export-") as folder:
        saved = save_run(
            Path(folder) / FOLDER,
            regressor,
            history=regressor.history_,
            settings=settings,
            data=data_record(view.dataset),
            overwrite=False,
        )
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(saved.iterdir()):
                archive.write(path, f"{FOLDER}/{path.name}")
    return out.getvalue()


def toml_text(view: RunView) -> str:
    """The settings as ``nnfit fit --save-config`` writes them (the page's preset, the lesson's,
    is the base); a race's raced values are named in a comment (``nnfit race`` takes flags)."""
    from ..checks import flag
    from ..runs.config import DATA_PRESET, DEFAULT_PRESET, config_toml

    text = config_toml(view.config, preset=DEFAULT_PRESET)
    source = view.data_source
    if source is not None and source.startswith("edited: "):
        text = (
            "# the points were edited on the page: this file makes the function's points, not "
            "those\n# (the run folder, the zip download, holds the model fitted to them)\n" + text
        )
    elif source is not None:  # an upload: nnfit fit reads the same table by its name
        data = replace(view.config.data, file=PurePath(source).name)
        text = config_toml(replace(view.config, data=data), preset=DATA_PRESET)
        text = f"# fitted to the table uploaded as {source}: keep it beside this file\n" + text
    if view.race is None:
        return text
    raced = " ".join(f"{flag(d.name)} {d.text}" for d in view.race.dimensions)
    return (
        f"# raced in the playground: {raced}\n"
        f"# (nnfit race {raced} with these settings as flags; nnfit fit THIS_FILE runs one)\n"
        + text
    )

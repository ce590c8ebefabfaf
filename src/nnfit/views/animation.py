"""Save a run as an animation: one frame per snapshot, as a GIF (Pillow) or an MP4 (ffmpeg).

Frames come from ``FitFigure`` by blitting; a GIF reuses one palette computed from the first and
last frames, so no frame pays for its own colour quantisation.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from ..checks import check_fps
from ..core.callbacks import Callback
from ..errors import DataError, NNFitError, UsageError
from ..io.files import atomic_path
from ..io.targets import MARK
from ..views.render import FitFigure, check_size
from .formats import check_animation_path

if TYPE_CHECKING:
    from PIL import Image

    from ..core.history import History

HOLD_S = 2.0  # a GIF's last frame stays up at least this long, so its note can be read
FFMPEG_HINT = "saving .mp4 needs ffmpeg: install it or pip install 'nnfit[video]'; or save a .gif"


def animate(
    history: History,
    path: str | os.PathLike[str],
    *,
    fps: float = 10,
    size: tuple[int, int] = (800, 400),
    overwrite: bool = False,
) -> Path:
    """Write one frame per snapshot to a .gif or .mp4 file, atomically.

    Args:
        history: the run to replay (its snapshots are the frames).
        path: where to write; the suffix picks the format (.gif or .mp4).
        fps: frames per second.
        size: (width, height) of a frame in pixels.
        overwrite: replace an existing file instead of refusing.

    Returns:
        The path written.

    Example:
        >>> animate(history, "fit.gif")  # doctest: +SKIP
        PosixPath('fit.gif')
    """
    path = check_animation_path(path, overwrite=overwrite)
    fps = check_fps(fps)
    size = check_size(size)
    ffmpeg = find_ffmpeg() if path.suffix.lower() == ".mp4" else None
    if not history.snapshots:
        raise DataError("the history has no snapshots: there is nothing to animate")
    with atomic_path(path, overwrite=overwrite) as tmp:
        if ffmpeg is None:
            _write_gif(history, tmp, fps=fps, size=size)
        else:
            _write_mp4(frames(history, size=size), tmp, fps=fps, ffmpeg=ffmpeg)
    return path


def frames(
    history: History, *, size: tuple[int, int] = (800, 400), note: str | None = None
) -> Iterator[np.ndarray]:
    """The animation's frames, each (height, width, 3) uint8; the last one carries ``note``.

    ``note`` defaults to the diagnosis' short text (e.g. "good fit").
    """
    if note is None:
        from ..views.phrasing import final_note

        note = final_note(history)
    fit = FitFigure(history, size=size)
    last = len(history.snapshots) - 1
    for i, snapshot in enumerate(history.snapshots):
        yield fit.render(snapshot, note if i == last else None)


def _write_gif(history: History, path: Path, *, fps: float, size: tuple[int, int]) -> None:
    """Map every frame onto one palette (from the first and last frames) and save a GIF."""
    from PIL import Image

    from ..views.phrasing import final_note

    fit = FitFigure(history, size=size)
    snapshots, note = history.snapshots, final_note(history)

    def frame(i: int) -> np.ndarray:
        fit.draw_frame(snapshots[i], note if i == len(snapshots) - 1 else None)
        return _keys(fit.frame_rgba())  # (height, width) colour codes

    # draw_frame depends only on its snapshot, so the last frame can be drawn first
    first, last = frame(0), frame(len(snapshots) - 1)
    palette = Palette(np.concatenate([first, last]))

    def to_image(keys: np.ndarray) -> Image.Image:
        image = Image.fromarray(palette.index(keys))  # (height, width) uint8: mode L
        image.putpalette(palette.colors.tobytes())  # mode L → P
        return image

    middle = (to_image(frame(i)) for i in range(1, len(snapshots) - 1))
    images = [to_image(first), *middle, *([to_image(last)] if len(snapshots) > 1 else [])]
    duration = 1000 / fps  # ms; GIF stores hundredths of a second
    durations = [round(duration)] * len(images)
    durations[-1] = round(max(duration, 1000 * HOLD_S))
    images[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=durations,
        loop=0,
        optimize=False,
        comment=MARK.encode(),  # lets a later --overwrite tell nnfit's file from another's
    )


class Palette:
    """One GIF palette for every frame: the most common colours exactly, the rest approximated.

    Pillow's own palette mapping rounds colours (white becomes 252, 252, 252), so colours are
    mapped here through a table indexed by 24-bit colour code.
    """

    N_EXACT = 96  # the most frequent colours (background, text, the red line) kept exactly

    def __init__(self, keys: np.ndarray) -> None:
        from PIL import Image

        codes, counts = np.unique(keys, return_counts=True)
        common = codes[np.argsort(counts, kind="stable")[::-1][: self.N_EXACT]]
        rest = Image.fromarray(_rgb(keys)).quantize(
            256 - len(common), method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
        )
        palette = rest.getpalette()
        assert palette is not None  # a quantized image always has one
        others = np.array(palette[: 3 * (256 - len(common))], np.uint8).reshape(-1, 3)
        self.colors = np.zeros((256, 3), np.uint8)  # (256, 3) RGB
        self.colors[: len(common)] = _rgb(common)
        self.colors[len(common) : len(common) + len(others)] = others
        self.table = np.full(1 << 24, -1, np.int16)  # colour code → palette index, -1 unknown
        self.table[_keys(self.colors)[::-1]] = np.arange(255, -1, -1)  # exact colours win

    def index(self, keys: np.ndarray) -> np.ndarray:
        """Palette indices, uint8, for colour codes (any shape); new colours go to the nearest."""
        index = np.take(self.table, keys)
        if index.min() < 0:
            new = np.unique(keys[index < 0])
            distance = ((_rgb(new)[:, None, :].astype(np.int32) - self.colors) ** 2).sum(-1)
            self.table[new] = distance.argmin(axis=1)  # (n_new,)
            index = np.take(self.table, keys)
        return index.astype(np.uint8)


def _keys(pixels: np.ndarray) -> np.ndarray:
    """24-bit colour codes 0xBBGGRR of (..., 3 or 4) uint8 pixels, shape (...)."""
    if pixels.shape[-1] == 4 and pixels.flags.c_contiguous:  # RGBA: one little-endian word each
        return pixels.view("<u4")[..., 0] & 0xFFFFFF
    p = pixels.astype(np.uint32)
    return p[..., 0] | (p[..., 1] << 8) | (p[..., 2] << 16)


def _rgb(keys: np.ndarray) -> np.ndarray:
    """Inverse of ``_keys``: (...) codes → (..., 3) uint8."""
    return np.stack([keys & 255, (keys >> 8) & 255, (keys >> 16) & 255], axis=-1).astype(np.uint8)


def find_ffmpeg() -> str:
    """ffmpeg from PATH, else the ``imageio-ffmpeg`` package's binary; UsageError if neither."""
    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        raise UsageError(FFMPEG_HINT) from None


def _write_mp4(stream: Iterator[np.ndarray], path: Path, *, fps: float, ffmpeg: str) -> None:
    """Pipe raw RGB frames into ffmpeg, which encodes H.264 (even sizes, as yuv420p needs)."""
    first = next(stream)
    height, width = first.shape[:2]
    command = [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", f"{fps:g}",
        "-i", "pipe:0",
        "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
        "-metadata", f"comment={MARK}",
        "-f", "mp4", str(path),
    ]  # fmt: skip
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log
        )
        assert process.stdin is not None
        try:
            for frame in _chain(first, stream):
                process.stdin.write(frame.tobytes())
            process.stdin.close()
        except BrokenPipeError:
            pass  # ffmpeg stopped early; its log says why
        except BaseException:
            process.kill()
            process.wait()
            raise
        if process.wait() != 0:
            raise NNFitError(f"ffmpeg could not write {path.name}: {_last_line(log)}")


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


def _last_line(log: IO[bytes]) -> str:
    log.seek(0)
    lines = log.read().decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no message"


class AnimationRecorder(Callback):
    """Subscriber that saves the animation when training ends (also after Ctrl-C).

    The path is checked when the recorder is made, so a bad name fails before training.

    Args:
        path: .gif or .mp4 file to write.
        fps: frames per second.
        size: (width, height) of a frame in pixels.
        overwrite: replace an existing file.

    Example:
        >>> recorder = AnimationRecorder("fit.gif")           # doctest: +SKIP
        >>> train(model, (x, y), callbacks=[recorder])        # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fps: float = 10,
        size: tuple[int, int] = (800, 400),
        overwrite: bool = False,
    ) -> None:
        self.path = check_animation_path(path, overwrite=overwrite)
        self.fps, self.size, self.overwrite = check_fps(fps), check_size(size), overwrite
        if self.path.suffix.lower() == ".mp4":
            find_ffmpeg()
        self.written: Path | None = None

    def on_train_end(self, history: History) -> None:
        self.written = animate(
            history, self.path, fps=self.fps, size=self.size, overwrite=self.overwrite
        )

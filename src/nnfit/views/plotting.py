"""The final picture: data, final fit, loss curve and the diagnosis, as .png, .svg or .pdf.

Drawn by the same ``FitFigure`` as the animation's frames, so the picture matches its last frame.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError, UsageError
from ..io.files import atomic_path
from ..views.render import FitFigure
from .formats import PICTURE_SUFFIXES as SUFFIXES

if TYPE_CHECKING:
    from ..core.history import History


def plot(
    history: History,
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] = (1000, 450),
    overwrite: bool = False,
) -> Path:
    """Save the final fit and loss curve, with the diagnosis underneath, atomically.

    Args:
        history: the finished run.
        path: where to write; the suffix picks the format (.png, .svg or .pdf).
        size: (width, height) in pixels (for .svg and .pdf: at 100 pixels per inch).
        overwrite: replace an existing file instead of refusing.

    Returns:
        The path written.

    Example:
        >>> plot(history, "fit.png")  # doctest: +SKIP
        PosixPath('fit.png')
    """
    from ..views.phrasing import footer

    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise UsageError(
            f"cannot save a picture as {path.name!r}: use a file name ending in "
            f"{', '.join(SUFFIXES[:-1])} or {SUFFIXES[-1]}"
        )
    from ..io.targets import check_output

    check_output(path, flag="picture", kind="picture", overwrite=overwrite)
    if not history.snapshots:
        raise DataError("the history has no snapshots: there is nothing to plot")
    fit = FitFigure(history, size=size, footer=footer(history))
    fit.draw_frame(history.final)
    with atomic_path(path, overwrite=overwrite) as tmp:
        fit.savefig(tmp, format=path.suffix.lower()[1:])
    return path

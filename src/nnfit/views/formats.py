"""The file types each view writes, named once (light: no matplotlib), for the views and for
the checks ``runs.Outputs`` and the CLI make before a run starts or a run folder is read."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UsageError

ANIMATION_SUFFIXES = (".gif", ".mp4")
PICTURE_SUFFIXES = (".png", ".svg", ".pdf")


def check_animation_path(path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Refuse, before any work, a path that is not .gif/.mp4 or cannot be written."""
    path = Path(path)
    if path.suffix.lower() not in ANIMATION_SUFFIXES:
        raise UsageError(
            f"cannot save an animation as {path.name!r}: use a file name ending in "
            f"{' or '.join(ANIMATION_SUFFIXES)}"
        )
    from ..io.targets import check_output

    return check_output(path, flag="animation", kind="animation", overwrite=overwrite)

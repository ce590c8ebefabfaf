"""Two inputs on the playground: the x1-x2 plane the page draws as a heatmap.

A run with two inputs is drawn as TensorFlow Playground draws it: the prediction as colours
over the data's box, the points on top coloured by their y (validation points hollow). The
core's history keeps a fine mesh of the box (``History.x_grid``, a flattened
``meshgrid(indexing="xy")``: rows follow x2, columns x1); the page gets a coarse one, at most
``MOST`` values per axis, picked from it (``coarse_mesh``), so a frame's prediction is about
1,000 numbers. Everything here reads the data, never the formula: a CSV with two x columns is
drawn the same way. More than two inputs are refused (``nnfit.web.form.check_inputs``): the
playground has no picture for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..runs.config import RunConfig

MOST = 40  # values per axis of the coarse mesh sent to the page (at most MOST**2 cells)


def coarse_mesh(x_grid: np.ndarray, most: int = MOST) -> tuple[list[int], dict[str, Any]] | None:
    """The rows of a flattened mesh (n, 2) kept for the page, and the coarse mesh they make.

    Returns ``(rows, mesh)``: ``rows`` index ``x_grid`` row by row (x2 outer, x1 inner), so a
    snapshot's ``y_pred[rows]`` is the coarse prediction; ``mesh`` is ``{"x1": [...], "x2":
    [...]}``, each axis' values. None when ``x_grid`` is not a mesh.
    """
    from ..views.panels import mesh_shape  # the reader of the CLI's heatmaps

    shape = mesh_shape(x_grid)
    if shape is None:
        return None
    n_rows, n_cols = shape
    cols, rows = spread(n_cols, most), spread(n_rows, most)
    kept = [r * n_cols + c for r in rows for c in cols]
    mesh = {
        "x1": [float(x_grid[c, 0]) for c in cols],
        "x2": [float(x_grid[r * n_cols, 1]) for r in rows],
    }
    return kept, mesh


def short(value: float | None) -> float | None:
    """A predicted value as a heatmap needs it: 4 significant digits."""
    return None if value is None else float(f"{value:.4g}")


def spread(count: int, most: int) -> list[int]:
    """At most ``most`` evenly spread indices of ``count``, both ends included."""
    return sorted({round(i) for i in np.linspace(0, count - 1, min(count, most))})


def validation_mask(n: int, config: RunConfig) -> np.ndarray:
    """Which of ``n`` rows a run holds out for validation (none for an ensemble, whose
    members each hold out their own), by the same seeded split as ``Regressor.fit``."""
    from ..data.dataset import split

    mask = np.zeros(n, dtype=bool)
    if config.model.members == 1:
        mask[split(n, float(config.data.val), config.train.seed)[1]] = True
    return mask


def plane_preview(dataset: Dataset, config: RunConfig, rows: list[int]) -> dict[str, Any]:
    """The points of two-input data for the page: ``x`` as [x1, x2] pairs, ``val`` flags,
    the inputs' names and the box (each input's low and high)."""
    x = dataset.x
    held = validation_mask(len(x), config)
    return {
        "x": [[float(x[i, 0]), float(x[i, 1])] for i in rows],  # checked finite when read
        "val": [bool(held[i]) for i in rows],
        "names": list(dataset.x_names),
        "box": [[float(x[:, k].min()), float(x[:, k].max())] for k in range(2)],
    }

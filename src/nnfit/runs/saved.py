"""A run folder opened for use without torch: ``nnfit predict`` and ``nnfit show`` in a blink.

``open_run`` makes every check ``runfolder.load`` makes (run.json, every file's SHA-256, the
weights' names, dtype, shapes and values, history.json) but reads the weights into NumPy and
predicts with ``core.numpy_model.NumpyMLP``, so torch is never imported. Its predictions equal
the torch model's to float32 rounding.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.numpy_model import NumpyMLP
from ..errors import DataError
from ..regressor import PREDICT_CHUNK
from .runcheck import check_architecture
from .runfolder import model_weights, read_history, read_run

if TYPE_CHECKING:
    from ..core.history import History

__all__ = ["SavedRun", "open_run"]


@dataclass(frozen=True)
class SavedRun:
    """A checked run folder: its run.json (``info``) and its model on NumPy (``model``)."""

    folder: Path
    info: dict[str, Any]
    model: NumpyMLP
    history: History | None  # history.json, checked; None if the folder lists none

    @property
    def x_names(self) -> tuple[str, ...]:
        """The input columns the model was trained on."""
        return tuple(self.info["data"]["x_names"])

    @property
    def y_names(self) -> tuple[str, ...]:
        """The output columns it predicts."""
        return tuple(self.info["data"]["y_names"])

    @property
    def n_inputs(self) -> int:
        """Number of input columns."""
        return self.model.n_in

    def predict(self, x: np.ndarray) -> np.ndarray:
        """x (n, n_in) in the data's units → predictions (n, n_out) as float64."""
        return self._predict(x, std=False)[0]

    def predict_with_std(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x (n, n_in) → (predictions, members' standard deviation), each (n, n_out) as float64;
        the std is zeros for a single network (see ``NumpyMLP.predict_with_std``)."""
        return self._predict(x, std=True)

    def extrapolation_note(self, x: np.ndarray) -> str | None:
        """The sentence naming inputs in x (n, n_in) outside the training range, or None
        (always None for runs saved before run.json kept the range)."""
        from ..core.extrapolation import extrapolation_note

        x_min, x_max = self.info["data"].get("x_min"), self.info["data"].get("x_max")
        if x_min is None or x_max is None:
            return None
        return extrapolation_note(np.asarray(x, np.float64), x_min, x_max, self.x_names)

    def _predict(self, x: np.ndarray, *, std: bool) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise DataError(
                f"x has shape {x.shape} but the model takes {self.n_inputs} input column(s) "
                f"({', '.join(self.x_names)})"
            )
        out = np.empty((len(x), self.model.n_out), dtype=np.float64)
        spread = np.zeros_like(out)
        for start in range(0, len(x), PREDICT_CHUNK):  # memory stays flat for any n
            part = slice(start, start + PREDICT_CHUNK)
            if std:
                out[part], spread[part] = self.model.predict_with_std(x[part])
            else:
                out[part] = self.model(x[part])
        return out, spread


def open_run(path: str | os.PathLike[str]) -> SavedRun:
    """Read and check a run folder and its weights, without importing torch.

    Example:
        >>> run = open_run("runs/pressure")          # doctest: +SKIP
        >>> run.predict(np.array([[150.0]]))          # doctest: +SKIP
    """
    folder = Path(path)
    info = read_run(folder)
    shape = check_architecture(info["model"], folder / "run.json")
    weights = model_weights(folder, info, shape, numpy=True)
    model = NumpyMLP.from_state(weights, activation=shape.activation, y_transform=shape.y_transform)
    history = None
    if "history.json" in info["files"]:  # an unlisted history.json is never read
        history = read_history(folder, shape, info)
    return SavedRun(folder, info, model, history)

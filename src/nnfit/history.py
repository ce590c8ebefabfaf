"""Training history as plain data: snapshots that save to JSON and replay without retraining."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError

FORMAT = "nnfit.history/1"


def _frozen(array: Any) -> np.ndarray:
    """A read-only float64 copy, so a record cannot change after it is emitted."""
    out = np.array(array, dtype=np.float64)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class Snapshot:
    """What the model looked like at one step: the record every view draws from.

    ``y_pred`` holds the predictions on the history's ``x_grid`` in the user's units,
    made with the same weights that gave ``loss``.
    """

    step: int  # updates done before this snapshot (0 = the initial network)
    loss: float  # training loss at these weights (standardised units when the model scales)
    y_pred: np.ndarray  # (n_grid, n_out) predictions on History.x_grid
    dead: tuple[int, ...] = ()  # dead units per hidden layer (output constant on every point)
    val_loss: float | None = None  # validation loss, when a validation set is given
    val_se: float | None = None  # its standard error: std of the rows' losses / sqrt(rows)
    final: bool = False  # True for the last snapshot, taken after training ended

    def __post_init__(self) -> None:
        object.__setattr__(self, "y_pred", _frozen(self.y_pred))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite losses become null)."""
        return {
            "step": self.step,
            "loss": _number(self.loss),
            "val_loss": _number(self.val_loss),
            "val_se": _number(self.val_se),
            "dead": list(self.dead),
            "final": self.final,
            "y_pred": self.y_pred.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        """Inverse of ``to_dict``."""
        loss = data["loss"]
        return cls(
            step=int(data["step"]),
            loss=math.nan if loss is None else float(loss),
            y_pred=np.asarray(data["y_pred"], dtype=np.float64),
            dead=tuple(int(n) for n in data.get("dead", ())),
            val_loss=None if data.get("val_loss") is None else float(data["val_loss"]),
            val_se=None if data.get("val_se") is None else float(data["val_se"]),
            final=bool(data.get("final", False)),
        )


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


@dataclass
class History:
    """Everything needed to draw a run again: the data, the plotting grid and the snapshots.

    Example:
        >>> history.save("run.json")              # doctest: +SKIP
        >>> History.load("run.json").losses[-1]   # doctest: +SKIP
    """

    x: np.ndarray  # (n, n_in) training inputs shown on the plot (a sample for large data)
    y: np.ndarray  # (n, n_out) training targets shown on the plot
    x_grid: np.ndarray  # (n_grid, n_in) where the fit is drawn
    hidden: tuple[int, ...] = ()  # widths of the hidden layers
    activation: str = "relu"
    noise_floor: float | None = None  # lowest reachable loss for synthetic data, in loss units
    x_names: tuple[str, ...] = ("x",)
    y_names: tuple[str, ...] = ("y",)
    x_val: np.ndarray | None = None  # (n_val, n_in) validation inputs, if any
    y_val: np.ndarray | None = None
    snapshots: list[Snapshot] = field(default_factory=list)
    stop_reason: str = "done"  # "done", "diverged", "interrupted", "early_stop"
    diverged_at: int | None = None  # step whose loss was not finite
    best_step: int | None = None  # step whose weights were kept by early stopping
    settings: dict[str, Any] = field(default_factory=dict)  # the run's config, for the record
    members: int = 1  # networks averaged (an ensemble); snapshots show their average

    @property
    def steps(self) -> np.ndarray:
        """Step of each snapshot, shape (n_snapshots,)."""
        return np.array([s.step for s in self.snapshots], dtype=np.int64)

    @property
    def losses(self) -> np.ndarray:
        """Loss of each snapshot, shape (n_snapshots,)."""
        return np.array([s.loss for s in self.snapshots], dtype=np.float64)

    @property
    def final(self) -> Snapshot:
        """The last snapshot."""
        return self.snapshots[-1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""

        def array(a: np.ndarray | None) -> list | None:
            return None if a is None else np.asarray(a, dtype=np.float64).tolist()

        return {
            "format": FORMAT,
            "x": array(self.x),
            "y": array(self.y),
            "x_grid": array(self.x_grid),
            "x_val": array(self.x_val),
            "y_val": array(self.y_val),
            "hidden": list(self.hidden),
            "members": self.members,
            "activation": self.activation,
            "noise_floor": self.noise_floor,
            "x_names": list(self.x_names),
            "y_names": list(self.y_names),
            "stop_reason": self.stop_reason,
            "diverged_at": self.diverged_at,
            "best_step": self.best_step,
            "settings": self.settings,
            "snapshots": [s.to_dict() for s in self.snapshots],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Inverse of ``to_dict``; raises DataError on anything that is not a history."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DataError(f"not an nnfit history (expected format {FORMAT!r})")

        def array(key: str) -> np.ndarray | None:
            value = data.get(key)
            return None if value is None else np.asarray(value, dtype=np.float64)

        try:
            return cls(
                x=array("x"),  # type: ignore[arg-type]
                y=array("y"),  # type: ignore[arg-type]
                x_grid=array("x_grid"),  # type: ignore[arg-type]
                x_val=array("x_val"),
                y_val=array("y_val"),
                hidden=tuple(int(n) for n in data.get("hidden", ())),
                members=int(data.get("members", 1)),
                activation=str(data.get("activation", "relu")),
                noise_floor=data.get("noise_floor"),
                x_names=tuple(data.get("x_names", ("x",))),
                y_names=tuple(data.get("y_names", ("y",))),
                stop_reason=str(data.get("stop_reason", "done")),
                diverged_at=data.get("diverged_at"),
                best_step=data.get("best_step"),
                settings=dict(data.get("settings", {})),
                snapshots=[Snapshot.from_dict(s) for s in data["snapshots"]],
            )
        except (KeyError, TypeError, ValueError) as error:
            raise DataError(f"history is damaged: {error}") from None

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the history as JSON, atomically (a crash never leaves half a file)."""
        from .files import write_atomic

        text = json.dumps(self.to_dict(), separators=(",", ":"))
        return write_atomic(Path(path), text.encode())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> History:
        """Read a history written by ``save``."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DataError(f"{path}: cannot read history: {error}") from None
        return cls.from_dict(data)

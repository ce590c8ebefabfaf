"""Training history as plain data: snapshots that save to JSON and replay without retraining."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.model_config import MAX_MEMBERS
from ..core.train_config import MAX_MEMBER_LINES
from ..errors import DataError

FORMAT = "nnfit.history/1"
MAX_SNAPSHOTS = 100_000  # frames a history may hold (the recorder keeps far fewer)
STOP_REASONS = ("done", "diverged", "interrupted", "early_stop", "target")


def _frozen(array: Any) -> np.ndarray:
    """A read-only float64 copy, so a record cannot change after it is emitted."""
    out = np.array(array, dtype=np.float64)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class Snapshot:
    """What the model looked like at one step: the record every view draws from.

    ``y_pred`` holds the predictions on the history's ``x_grid`` in the user's units,
    made with the same weights that gave ``loss``. An ensemble's snapshot also holds the
    members' spread there (``y_std``, drawn as a band of ±2 standard deviations) and, when
    asked for (the ``member_lines`` setting), its first members' own predictions (``y_members``)
    and training losses (``member_loss``). A race's snapshot (``History.variants``) carries
    every variant that way, with the leader (the lowest loss) in ``y_pred`` and ``loss``.
    """

    step: int  # updates done before this snapshot (0 = the initial network)
    loss: float  # training loss at these weights (standardised units when the model scales)
    y_pred: np.ndarray  # (n_grid, n_out) predictions on History.x_grid
    dead: tuple[int, ...] = ()  # dead units per hidden layer (output constant on every point)
    val_loss: float | None = None  # validation loss, when a validation set is given
    val_se: float | None = None  # its standard error: std of the rows' losses / sqrt(rows)
    final: bool = False  # True for the last snapshot, taken after training ended
    y_std: np.ndarray | None = None  # (n_grid, n_out) std of an ensemble's members' predictions
    y_members: np.ndarray | None = None  # (n_lines, n_grid, n_out) the first members' own
    # the drawn members' training losses (n_lines,), with y_members; a race's variants' (NaN
    # for a variant that had stopped training by this step)
    member_loss: np.ndarray | None = None
    # each member's loss on its own held-out rows (members,), for an ensemble that holds rows
    # out: what stops separate members (a sweep's) one by one; not saved
    member_val_loss: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("y_pred", "y_std", "y_members", "member_loss", "member_val_loss"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _frozen(value))

    def scalars(self) -> dict[str, Any]:
        """Everything but the predictions, JSON-ready (non-finite losses become null)."""
        out: dict[str, Any] = {
            "step": self.step,
            "loss": _number(self.loss),
            "val_loss": _number(self.val_loss),
            "val_se": _number(self.val_se),
            "dead": list(self.dead),
            "final": self.final,
        }
        if self.member_loss is not None:
            out["member_loss"] = [_number(float(v)) for v in self.member_loss]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite losses become null); ``y_std`` and ``y_members`` only
        when present, so one network's records are as they always were."""
        spread = {
            name: value.tolist()
            for name, value in (("y_std", self.y_std), ("y_members", self.y_members))
            if value is not None
        }
        return {**self.scalars(), "y_pred": self.y_pred.tolist(), **spread}

    @classmethod
    def from_dict(cls, data: Any) -> Snapshot:
        """Inverse of ``to_dict``; DataError for anything ``to_dict`` does not write."""
        if not isinstance(data, dict) or not {"step", "loss", "y_pred"} <= set(data):
            raise _refuse("a snapshot", "a table of step, loss and y_pred", data)
        return cls(
            step=_count(data["step"], "step"),
            loss=math.nan if data["loss"] is None else _real(data["loss"], "loss"),
            y_pred=_matrix(data["y_pred"], "y_pred", finite=False),
            dead=tuple(_count(n, "dead") for n in _items(data.get("dead", []), "dead")),
            val_loss=_optional(data.get("val_loss"), "val_loss"),
            val_se=_optional(data.get("val_se"), "val_se"),
            final=_flag(data.get("final", False), "final"),
            y_std=None
            if data.get("y_std") is None
            else _matrix(data["y_std"], "y_std", finite=False),
            y_members=_members(data.get("y_members")),
            member_loss=_losses(data.get("member_loss")),
        )

    def check_shape(self, shape: tuple[int, int]) -> None:
        """DataError unless y_pred, y_std and each member's predictions are (n_grid, n_out)."""
        parts = [("y_pred", self.y_pred), ("y_std", self.y_std)]
        parts += [("y_members", m) for m in ([] if self.y_members is None else self.y_members)]
        for name, value in parts:
            if value is not None and value.shape != shape:
                got = " x ".join(map(str, value.shape))
                raise DataError(f"{name} must be {shape[0]} x {shape[1]}, got {got}")


def _member_steps(pairs: Any, members: int) -> dict[int, int]:
    """[[member, step], ...] → {member: step}, each member of the ensemble at most once, and
    never all of them (the run then diverged as a whole)."""
    out = {}
    for pair in _items(pairs, "diverged_members"):
        if not isinstance(pair, list) or len(pair) != 2:
            raise _refuse("diverged_members", "[member, step] pairs", pair)
        member = _count(pair[0], "diverged_members")
        if member >= members or member in out:
            raise _refuse("diverged_members", f"members 0 to {members - 1}, once each", pair)
        out[member] = _count(pair[1], "diverged_members")
    if out and len(out) >= members:
        raise _refuse("diverged_members", f"fewer than all {members} members", pairs)
    return out


def _members(value: Any) -> np.ndarray | None:
    """Snapshot.y_members: None, or 1 to MAX_MEMBER_LINES tables of equal shape."""
    if value is None:
        return None
    lines = _items(value, "y_members")
    if not 1 <= len(lines) <= MAX_MEMBER_LINES:
        raise _refuse("y_members", f"1 to {MAX_MEMBER_LINES} tables", value)
    tables = [_matrix(line, "y_members", finite=False) for line in lines]
    if any(t.shape != tables[0].shape for t in tables):
        raise _refuse("y_members", "tables of equal shape", value)
    return np.stack(tables)  # (n_lines, n_grid, n_out)


def _variants(value: Any, snapshots: list[Snapshot]) -> tuple[str, ...]:
    """History.variants: names, one per line of every snapshot's y_members and member_loss."""
    names = tuple(_text(name, "variants") for name in _items(value, "variants"))
    for snapshot in snapshots if names else []:
        lines = None if snapshot.y_members is None else len(snapshot.y_members)
        losses = None if snapshot.member_loss is None else len(snapshot.member_loss)
        if lines != len(names) or losses != len(names):
            raise _refuse("variants", "one name per member line and member loss", value)
    return names


def _losses(value: Any) -> np.ndarray | None:
    """Snapshot.member_loss: None, or 1 to MAX_MEMBERS losses (null: none at that step)."""
    if value is None:
        return None
    items = _items(value, "member_loss")
    if not 1 <= len(items) <= MAX_MEMBERS:
        raise _refuse("member_loss", f"1 to {MAX_MEMBERS:,} losses", value)
    return np.array([math.nan if v is None else _real(v, "member_loss") for v in items])


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
    activation: str | tuple[str, ...] = "relu"  # one for every hidden layer, or one per layer
    noise_floor: float | None = None  # lowest reachable loss for synthetic data, in loss units
    x_names: tuple[str, ...] = ("x",)
    y_names: tuple[str, ...] = ("y",)
    x_val: np.ndarray | None = None  # (n_val, n_in) validation inputs, if any
    y_val: np.ndarray | None = None
    snapshots: list[Snapshot] = field(default_factory=list)
    stop_reason: str = "done"  # "done", "diverged", "interrupted", "early_stop", "target"
    diverged_at: int | None = None  # step whose loss was not finite
    best_step: int | None = None  # step whose weights were kept by early stopping
    settings: dict[str, Any] = field(default_factory=dict)  # the run's config, for the record
    members: int = 1  # networks averaged (an ensemble); snapshots show their average
    held_out: bool = False  # an ensemble's members held rows out: val_loss is cross-validated
    diverged_members: dict[int, int] = field(default_factory=dict)  # member → step it diverged
    # at; it kept its last finite weights and stopped training while the others went on
    member_best_steps: dict[int, int] = field(default_factory=dict)  # separate members (a
    # sweep's): member → the step whose weights its own early stopping kept; not saved
    variants: tuple[str, ...] = ()  # a race: each variant's name, in the order of the
    # snapshots' y_members and member_loss; the views draw each in its own colour

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
            "held_out": self.held_out,
            "activation": self.activation
            if isinstance(self.activation, str)
            else [*self.activation],
            "noise_floor": self.noise_floor,
            "x_names": list(self.x_names),
            "y_names": list(self.y_names),
            "stop_reason": self.stop_reason,
            "diverged_at": self.diverged_at,
            "best_step": self.best_step,
            "diverged_members": [[k, step] for k, step in sorted(self.diverged_members.items())],
            "settings": self.settings,
            **({"variants": list(self.variants)} if self.variants else {}),
            "snapshots": [s.to_dict() for s in self.snapshots],
        }

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "history") -> History:
        """Inverse of ``to_dict``; DataError, naming ``source``, on anything else: wrong shapes,
        text where numbers belong, more than MAX_SNAPSHOTS snapshots."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DataError(f"{source}: not an nnfit history (expected format {FORMAT!r})")
        try:
            return cls._checked(data)
        except (DataError, TypeError, ValueError, OverflowError, RecursionError) as error:
            raise DataError(f"{source}: damaged: {error}; train again") from None

    @classmethod
    def _checked(cls, data: dict[str, Any]) -> History:
        x = _matrix(data.get("x"), "x")  # (n, n_in)
        y = _matrix(data.get("y"), "y", rows=len(x))  # (n, n_out)
        x_grid = _matrix(data.get("x_grid"), "x_grid", columns=x.shape[1])  # (n_grid, n_in)
        x_val = y_val = None
        if data.get("x_val") is not None or data.get("y_val") is not None:
            x_val = _matrix(data.get("x_val"), "x_val", columns=x.shape[1])
            y_val = _matrix(data.get("y_val"), "y_val", rows=len(x_val), columns=y.shape[1])
        records = _items(data.get("snapshots"), "snapshots")
        if len(records) > MAX_SNAPSHOTS:
            raise _refuse("snapshots", f"at most {MAX_SNAPSHOTS:,}", records)
        snapshots = []
        for i, record in enumerate(records):
            try:
                snapshot = Snapshot.from_dict(record)
            except DataError as error:
                raise DataError(f"snapshot {i}: {error}") from None
            try:
                snapshot.check_shape((len(x_grid), y.shape[1]))
            except DataError as error:
                raise DataError(f"snapshot {i}: {error}") from None
            snapshots.append(snapshot)
        stop_reason = data.get("stop_reason", "done")
        if not isinstance(stop_reason, str) or stop_reason not in STOP_REASONS:
            raise _refuse("stop_reason", f"one of {', '.join(STOP_REASONS)}", stop_reason)
        settings = data.get("settings", {})
        if not isinstance(settings, dict) or not isinstance(settings.get("train", {}), dict):
            raise _refuse("settings", "a table of tables", settings)
        diverged_at, best_step = data.get("diverged_at"), data.get("best_step")
        hidden = tuple(_count(n, "hidden", low=1) for n in _items(data.get("hidden", []), "hidden"))
        members = _count(data.get("members", 1), "members", low=1)
        return cls(
            x=x,
            y=y,
            x_grid=x_grid,
            x_val=x_val,
            y_val=y_val,
            hidden=hidden,
            members=members,
            held_out=_flag(data.get("held_out", False), "held_out"),
            activation=_activation(data.get("activation", "relu")),
            noise_floor=_optional(data.get("noise_floor"), "noise_floor"),
            x_names=_names(data.get("x_names"), "x_names", x.shape[1]),
            y_names=_names(data.get("y_names"), "y_names", y.shape[1]),
            stop_reason=stop_reason,
            diverged_at=None if diverged_at is None else _count(diverged_at, "diverged_at"),
            best_step=None if best_step is None else _count(best_step, "best_step"),
            diverged_members=_member_steps(data.get("diverged_members", []), members),
            settings=settings,
            snapshots=snapshots,
            variants=_variants(data.get("variants", []), snapshots),
        )

    def to_json(self) -> str:
        """The history as compact JSON text (what ``save`` writes)."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the history as JSON, atomically (a crash never leaves half a file); an
        existing file is refused unless ``overwrite`` (as ``animate`` and ``plot`` do)."""
        from ..io.files import write_atomic

        return write_atomic(Path(path), self.to_json().encode(), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> History:
        """Read a history written by ``save`` (a regular file of at most 256 MiB)."""
        from ..io.safe_read import JSON_LIMIT, parse_json, read_regular

        path = Path(path)
        data = parse_json(read_regular(path, JSON_LIMIT, follow=True), path)
        return cls.from_dict(data, source=str(path))


# Checks for from_dict: each returns the value or raises DataError naming the field.
def _refuse(name: str, rule: str, value: Any) -> DataError:
    from ..io.safe_read import quote

    return DataError(f"{name} must be {rule}, got {quote(value)}")


def _count(value: Any, name: str, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 10**15:
        raise _refuse(name, f"a whole number from {low}", value)
    return value


def _real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _refuse(name, "a number", value)
    return float(value)


def _optional(value: Any, name: str) -> float | None:
    return None if value is None else _real(value, name)


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise _refuse(name, "true or false", value)
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.isprintable():
        raise _refuse(name, "printable text", value)
    return value


def _activation(value: Any) -> str | tuple[str, ...]:
    """One activation name, or a list of them (one per hidden layer)."""
    if isinstance(value, list) and value:
        return tuple(_text(item, "activation") for item in value)
    return _text(value, "activation")


def _items(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise _refuse(name, "a list", value)
    return value


def _names(value: Any, name: str, n: int) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) != n:
        raise _refuse(name, f"a list of {n} name(s)", value)
    return tuple(_text(item, name) for item in value)


def _matrix(
    value: Any,
    name: str,
    *,
    rows: int | None = None,
    columns: int | None = None,
    finite: bool = True,
) -> np.ndarray:
    """A (rows, columns) table of numbers (never text, true/false or ragged rows) as float64."""
    if not isinstance(value, list) or not value:
        raise _refuse(name, "a table of numbers", value)
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError):
        raise _refuse(name, "a table of numbers with rows of equal length", value) from None
    if array.ndim != 2 or array.dtype.kind not in "iuf":
        raise _refuse(name, "a table of numbers", value)
    if (rows is not None and array.shape[0] != rows) or (
        columns is not None and array.shape[1] != columns
    ):
        shape = f"{'n' if rows is None else rows} x {'n' if columns is None else columns}"
        raise DataError(f"{name} must be {shape}, got {array.shape[0]} x {array.shape[1]}")
    array = array.astype(np.float64)
    if finite and not np.isfinite(array).all():
        raise DataError(f"{name} must hold finite numbers only")
    return array

"""The training loop: forward → loss → zero_grad → backward → step, snapshots to subscribers."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from .callbacks import Callback
from .errors import DataError, TrainingError, UsageError
from .history import History, Snapshot
from .model import MLP
from .optim import LOSSES, OPTIMIZERS, make_loss, make_optimizer, make_schedule

DEVICES = ("cpu", "cuda", "auto")
SCHEDULES = ("constant", "cosine")
N_EVAL = 10_000  # snapshots measure loss and dead units on at most this many training points
N_PLOT = 5_000  # the history keeps at most this many points for drawing
AUTO_BATCH = 8_192  # with batch_size None, larger data sets train on minibatches of 1024


@dataclass(frozen=True)
class TrainConfig:
    """How to train; every field has a CLI flag of the same name."""

    optimizer: str = "sgd"  # one of OPTIMIZERS
    lr: float = 0.5  # learning rate
    steps: int = 100  # optimiser updates
    loss: str = "mse"  # one of LOSSES
    batch_size: int | None = None  # points per update; None = all (full batch) up to AUTO_BATCH
    every: int = 5  # record a snapshot (a frame) every this many steps
    seed: int = 0  # seeds minibatch order (the model and data take their own seeds)
    device: str = "cpu"  # "cpu", "cuda" or "auto"
    patience: int | None = None  # stop after this many steps without a better validation loss
    schedule: str = "constant"  # learning rate over time: "constant" or "cosine" (decays to 0)

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise UsageError(
                f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        if self.loss not in LOSSES:
            raise UsageError(f"--loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.schedule not in SCHEDULES:
            raise UsageError(
                f"--schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}"
            )
        if self.device not in DEVICES:
            raise UsageError(f"--device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if (
            isinstance(self.lr, bool)
            or not isinstance(self.lr, (int, float))
            or not (math.isfinite(self.lr) and self.lr > 0)
        ):
            raise UsageError(f"--lr must be a finite number above 0, got {self.lr!r}")
        for name in ("steps", "every", "batch_size", "patience", "seed"):
            value = getattr(self, name)
            if value is None and name in ("batch_size", "patience"):
                continue
            low = 0 if name == "seed" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"{flag} must be a whole number of at least {low}, got {value!r}")


def resolve_device(name: str) -> torch.device:
    """Map "cpu", "cuda" or "auto" to a torch device; a clear error when CUDA is absent."""
    if name == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if name == "auto":
        return torch.device("cpu")
    raise UsageError("--device cuda: no CUDA GPU is available here; use --device cpu or auto")


def as_matrix(values: Any, name: str) -> torch.Tensor:
    """Lists, arrays, tensors or DataFrames → float32 tensor (n, k); 1-D becomes (n, 1)."""
    if isinstance(values, torch.Tensor):
        tensor = values.detach().to("cpu", torch.float32)
    else:
        if hasattr(values, "to_numpy"):  # pandas / polars, without importing either
            values = values.to_numpy()
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{name} must be numbers, got {type(values).__name__}") from None
        tensor = torch.from_numpy(array).float()
    if tensor.ndim == 1:
        tensor = tensor.unsqueeze(1)
    if tensor.ndim != 2 or tensor.shape[0] == 0:
        raise DataError(
            f"{name} must be 1-D or 2-D with at least one row, got shape {tuple(tensor.shape)}"
        )
    if not torch.isfinite(tensor).all():
        raise DataError(f"{name} has non-finite values (nan or inf); remove or fill them first")
    return tensor


def make_grid(x: torch.Tensor, *, n_1d: int = 200, n_2d: int = 60) -> torch.Tensor:
    """Where the fit is drawn: a line over x's range (1 input), a mesh (2 inputs), else x itself."""
    lo, hi = x.min(dim=0).values, x.max(dim=0).values
    if x.shape[1] == 1:
        return torch.linspace(float(lo[0]), float(hi[0]), n_1d).unsqueeze(1)  # (n_1d, 1)
    if x.shape[1] == 2:
        a = torch.linspace(float(lo[0]), float(hi[0]), n_2d)
        b = torch.linspace(float(lo[1]), float(hi[1]), n_2d)
        mesh_a, mesh_b = torch.meshgrid(a, b, indexing="xy")
        return torch.stack([mesh_a.reshape(-1), mesh_b.reshape(-1)], dim=1)  # (n_2d**2, 2)
    return x


def _sample(n: int, k: int, seed: int) -> torch.Tensor | None:
    """Indices of a seeded random sample of k out of n, or None when all n fit."""
    if n <= k:
        return None
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:k].sort().values


def _rows(values: torch.Tensor, k: int, seed: int) -> np.ndarray:
    """At most k rows of values, a seeded random sample when there are more."""
    rows = _sample(values.shape[0], k, seed)
    return (values if rows is None else values[rows]).numpy()


def _batches(
    x: torch.Tensor, y: torch.Tensor, batch_size: int | None, generator: torch.Generator
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless (x, y) batches: the whole set, or shuffled slices of it epoch after epoch."""
    n = x.shape[0]
    if batch_size is None and n > AUTO_BATCH:
        batch_size = 1024
    if batch_size is None or batch_size >= n:
        while True:
            yield x, y
    while True:
        order = torch.randperm(n, generator=generator).to(x.device)
        for start in range(0, n - batch_size + 1, batch_size):
            index = order[start : start + batch_size]
            yield x[index], y[index]


class _Keeper:
    """A copy of the parameters, to fall back on when the loss stops being finite."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.params = list(model.parameters())
        self.copy = [p.detach().clone() for p in self.params]
        self.step: int | None = None

    @torch.no_grad()
    def keep(self, step: int) -> None:
        for saved, p in zip(self.copy, self.params):
            saved.copy_(p)
        self.step = step

    @torch.no_grad()
    def restore(self) -> None:
        for saved, p in zip(self.copy, self.params):
            p.copy_(saved)


class _Recorder:
    """Turns the model's current weights into a Snapshot (no gradients, no side effects)."""

    def __init__(
        self,
        model: MLP,
        loss_fn: torch.nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        x_grid: torch.Tensor,
        x_val: torch.Tensor | None,
        y_val: torch.Tensor | None,
    ) -> None:
        self.model, self.loss_fn = model, loss_fn
        self.x, self.y, self.x_grid = x, y, x_grid  # standardised
        self.x_val, self.y_val = x_val, y_val

    @torch.no_grad()
    def __call__(self, step: int, *, final: bool = False) -> Snapshot:
        model = self.model
        y_pred, hiddens = model.hidden_outputs(self.x)
        loss = self.loss_fn(y_pred, self.y).item()
        # a unit is dead when its output is the same on every point: it cannot bend the fit
        dead = tuple(int((h.amax(dim=0) == h.amin(dim=0)).sum()) for h in hiddens)
        val_loss = None
        if self.x_val is not None:
            val_loss = self.loss_fn(model.layers(self.x_val), self.y_val).item()
        y_grid = model.unscale_y(model.layers(self.x_grid)).cpu().numpy()  # (n_grid, n_out)
        return Snapshot(
            step=step, loss=loss, y_pred=y_grid, dead=dead, val_loss=val_loss, final=final
        )


def train(
    model: MLP,
    x: Any,
    y: Any,
    config: TrainConfig | None = None,
    *,
    callbacks: Sequence[Callback] = (),
    x_val: Any = None,
    y_val: Any = None,
    x_grid: Any = None,
    noise_floor: float | None = None,
    x_names: Sequence[str] | None = None,
    y_names: Sequence[str] | None = None,
    stop: threading.Event | None = None,
    **fields: Any,
) -> History:
    """Train ``model`` on (x, y) and return the History of snapshots.

    Args:
        model: the network; its scaler (identity unless ``set_scaler`` was called) decides the
            units of the loss.
        x: inputs, shape (n,) or (n, n_in); lists, arrays, tensors and DataFrames work.
        y: targets, shape (n,) or (n, n_out).
        config: how to train; ``TrainConfig()`` is the lesson (SGD, lr 0.5, 100 steps, MSE).
        callbacks: subscribers that receive each snapshot as it is recorded.
        x_val, y_val: optional validation set (its loss is recorded; ``patience`` stops on it).
        x_grid: where to draw the fit; default a line over x's range (see ``make_grid``).
        noise_floor: lowest reachable loss, drawn on the loss curve (synthetic data).
        x_names, y_names: column names, for labels.
        stop: an event that, once set, ends training after the current step (Ctrl-C handlers).
        **fields: shortcuts for TrainConfig fields, e.g. ``train(model, x, y, lr=0.2)``.

    Returns:
        The History; ``history.stop_reason`` says why training ended.

    Example:
        >>> x, y = make_data(seed=0)
        >>> history = train(MLP(1, 10, 1, seed=0), x, y, TrainConfig(lr=0.5, steps=100))
        >>> history.final.loss < 0.01
        True
    """
    config = replace(config or TrainConfig(), **fields) if fields else (config or TrainConfig())
    device = resolve_device(config.device)
    x, y = as_matrix(x, "x"), as_matrix(y, "y")
    if x.shape[0] != y.shape[0]:
        raise DataError(f"x has {x.shape[0]} rows but y has {y.shape[0]}; they must match")
    if (x.shape[1], y.shape[1]) != (model.n_in, model.n_out):
        raise DataError(
            f"model takes {model.n_in} input(s) and {model.n_out} output(s), "
            f"data has {x.shape[1]} and {y.shape[1]}"
        )
    has_val = x_val is not None and y_val is not None
    xv = as_matrix(x_val, "x_val") if has_val else None
    yv = as_matrix(y_val, "y_val") if has_val else None
    if xv is not None and yv is not None:  # a big validation set is measured on a sample
        val_rows = _sample(xv.shape[0], N_EVAL, config.seed + 2)
        xv, yv = (xv, yv) if val_rows is None else (xv[val_rows], yv[val_rows])
    plot_rows = _sample(x.shape[0], N_PLOT, config.seed)
    x_plot, y_plot = (x, y) if plot_rows is None else (x[plot_rows], y[plot_rows])
    if x_grid is not None:
        grid = as_matrix(x_grid, "x_grid")
    else:  # with 3+ inputs the fit is drawn as predicted vs actual on the plotted points
        grid = make_grid(x) if x.shape[1] <= 2 else x_plot
    history = History(
        x=x_plot.numpy(),
        y=y_plot.numpy(),
        x_grid=grid.numpy(),
        x_val=None if xv is None else _rows(xv, N_PLOT, config.seed),
        y_val=None if yv is None else _rows(yv, N_PLOT, config.seed),
        hidden=model.hidden,
        activation=model.activation,
        noise_floor=noise_floor,
        x_names=_names(x_names, x.shape[1], "x"),
        y_names=_names(y_names, y.shape[1], "y"),
        settings={"train": config.__dict__.copy()},
    )

    # Work in standardised units on the device; the scaler maps back for the pictures.
    model.to(device)
    with torch.no_grad():
        xs, ys = model.scale_x(x.to(device)), model.scale_y(y.to(device))
        eval_rows = _sample(x.shape[0], N_EVAL, config.seed + 1)
        xe, ye = (
            (xs, ys) if eval_rows is None else (xs[eval_rows.to(device)], ys[eval_rows.to(device)])
        )
        # the validation loss, like the training loss, is measured on at most N_EVAL points
        xvs = None if xv is None else model.scale_x(xv.to(device))
        yvs = None if yv is None else model.scale_y(yv.to(device))
        record = _Recorder(
            model, make_loss(config.loss), xe, ye, model.scale_x(grid.to(device)), xvs, yvs
        )
    loss_fn = make_loss(config.loss)
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr)
    schedule = make_schedule(config.schedule, optimizer, config.steps)
    batches = _batches(xs, ys, config.batch_size, torch.Generator().manual_seed(config.seed))
    keeper = _Keeper(model)
    best = _Best(model, config.patience) if has_val and config.patience else None

    def emit(snapshot: Snapshot) -> None:
        history.snapshots.append(snapshot)
        for callback in callbacks:
            callback.on_snapshot(snapshot)

    for callback in callbacks:
        callback.on_train_begin(history)
    step = 0
    try:
        for step in range(config.steps):
            if stop is not None and stop.is_set():
                history.stop_reason = "interrupted"
                break
            if step % config.every == 0:
                emit(record(step))
                if best is not None and best.should_stop(history.snapshots[-1]):
                    history.stop_reason = "early_stop"
                    break
            xb, yb = next(batches)

            # forward: predict and measure the error
            y_pred = model.layers(xb)
            loss = loss_fn(y_pred, yb)
            if not math.isfinite(loss.item()):  # diverged: keep the last weights with a finite loss
                history.stop_reason, history.diverged_at = "diverged", step
                keeper.restore()
                break
            keeper.keep(step)

            # backward: clear old gradients, compute new ones, take a step down the slope
            optimizer.zero_grad()
            if config.optimizer == "lbfgs":
                optimizer.step(_closure(model, loss_fn, optimizer, xb, yb))
            else:
                loss.backward()
                optimizer.step()
            if schedule is not None:
                schedule.step()
        else:
            step = config.steps
    except KeyboardInterrupt:
        history.stop_reason = "interrupted"

    final_step = step
    if history.stop_reason == "diverged":
        final_step = keeper.step if keeper.step is not None else 0
    elif (
        best is not None and best.step is not None and history.stop_reason in ("early_stop", "done")
    ):
        best.restore()
        history.best_step = final_step = best.step
    emit(record(final_step, final=True))
    for callback in callbacks:
        callback.on_train_end(history)
    return history


def _names(given: Sequence[str] | None, n: int, prefix: str) -> tuple[str, ...]:
    """Column names: the given ones, else x (one column) or x1, x2, ..."""
    if given is not None:
        if len(given) != n:
            raise DataError(f"{len(given)} {prefix} name(s) given for {n} {prefix} column(s)")
        return tuple(str(name) for name in given)
    return (prefix,) if n == 1 else tuple(f"{prefix}{i + 1}" for i in range(n))


def _closure(
    model: MLP,
    loss_fn: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    xb: torch.Tensor,
    yb: torch.Tensor,
) -> Any:
    """L-BFGS re-evaluates the loss itself, several times per step."""

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = loss_fn(model.layers(xb), yb)
        loss.backward()
        return loss

    return closure


class _Best:
    """Early stopping: remember the weights with the lowest validation loss."""

    def __init__(self, model: MLP, patience: int) -> None:
        self.model, self.patience = model, patience
        self.loss, self.step, self.state = math.inf, None, None

    def should_stop(self, snapshot: Snapshot) -> bool:
        if snapshot.val_loss is not None and snapshot.val_loss < self.loss:
            self.loss, self.step = snapshot.val_loss, snapshot.step
            self.state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        return self.step is not None and snapshot.step - self.step >= self.patience

    def restore(self) -> None:
        if self.state is not None:
            self.model.load_state_dict(self.state)


def check_trainable(x: torch.Tensor) -> None:
    """Refuse data with nothing to fit: an input column that never changes."""
    constant = (x.amax(dim=0) == x.amin(dim=0)).nonzero().flatten().tolist()
    if constant:
        raise DataError(f"input column {constant[0] + 1} is constant; there is nothing to fit")


__all__ = ["TrainConfig", "TrainingError", "train"]

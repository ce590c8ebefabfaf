"""The training loop: forward → loss → zero_grad → backward → step, snapshots to subscribers."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import torch

from ..core.callbacks import Callback
from ..core.history import History, Snapshot
from ..core.model import MLP
from ..core.optim import (
    make_loss,
    make_optimizer,
    make_schedule,
    member_losses,
    step_function,
)
from ..core.recorder import (
    MAX_FRAMES,
    Recorder,
    as_matrix,
    column_names,
    keep_best,
    keep_frame,
    make_grid,
    sample,
    sample_rows,
)
from ..core.train_config import (  # noqa: F401  (re-exported: the settings live there)
    DEVICES,
    LOSSES,
    OPTIMIZERS,
    SCHEDULES,
    TrainConfig,
)
from ..core.trainstate import Batches, Best, Keeper, TrainState
from ..errors import DataError, UsageError

N_EVAL = 10_000  # snapshots measure loss and dead units on at most this many training points
N_PLOT = 5_000  # the history keeps at most this many points for drawing
SMALL_WORK = 65_536  # rows x widest layer up to which a CPU step runs on one thread
KEEP_EVERY = 10  # on divergence, training falls back at most this many steps (or `every`)
HISTORY_COPIES = 8  # a saved History: its float64 arrays, then Python floats and JSON text


def resolve_device(name: str) -> torch.device:
    """Map "cpu", "cuda" or "auto" to a torch device; a clear error when CUDA is absent."""
    if name == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if name == "auto":
        return torch.device("cpu")
    raise UsageError("--device cuda: no CUDA GPU is available here; use --device cpu or auto")


def train(
    model: MLP,
    x: Any,
    y: Any,
    config: TrainConfig | None = None,
    *,
    callbacks: Sequence[Callback] = (),
    x_val: Any = None,
    y_val: Any = None,
    holdout: Any = None,
    x_grid: Any = None,
    noise_floor: float | None = None,
    x_names: Sequence[str] | None = None,
    y_names: Sequence[str] | None = None,
    stop: threading.Event | None = None,
    resume: TrainState | None = None,
    checkpoint: Callable[[TrainState], None] | None = None,
    checkpoint_every: int | None = None,
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
        holdout: for an ensemble (``model.members > 1``) instead of x_val, y_val: a boolean
            (members, n) mask of the rows each member leaves out of its training and is
            validated on (see ``nnfit.data.dataset.holdout``); the validation loss pools them all.
        x_grid: where to draw the fit; default a line over x's range (see ``make_grid``).
        noise_floor: lowest reachable loss, drawn on the loss curve (synthetic data).
        x_names, y_names: column names, for labels.
        stop: an event that, once set, ends training before the next step (Ctrl-C handlers).
        resume: a state saved by ``checkpoint``; training continues exactly where it paused.
        checkpoint: called with the TrainState every ``checkpoint_every`` steps and when
            ``stop`` ends training, so the run can be saved and resumed.
        checkpoint_every: steps between checkpoints (None: only when stopped).
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
    weights, held = _member_masks(model, holdout, x.shape[0], has_val)
    xv = as_matrix(x_val, "x_val") if has_val else None
    yv = as_matrix(y_val, "y_val") if has_val else None
    if xv is not None and yv is not None:  # a big validation set is measured on a sample
        val_rows = sample(xv.shape[0], N_EVAL, config.seed + 2)
        xv, yv = (xv, yv) if val_rows is None else (xv[val_rows], yv[val_rows])
    x_plot, y_plot = sample_rows(x, N_PLOT, config.seed), sample_rows(y, N_PLOT, config.seed)
    if x_grid is not None:
        grid = as_matrix(x_grid, "x_grid")
    else:  # with 3+ inputs the fit is drawn as predicted vs actual on the plotted points
        grid = make_grid(x) if x.shape[1] <= 2 else x_plot
    history = History(
        x=x_plot.numpy(),
        y=y_plot.numpy(),
        x_grid=grid.numpy(),
        x_val=None if xv is None else sample_rows(xv, N_PLOT, config.seed).numpy(),
        y_val=None if yv is None else sample_rows(yv, N_PLOT, config.seed).numpy(),
        hidden=model.hidden,
        activation=model.activation,
        noise_floor=noise_floor,
        x_names=column_names(x_names, x.shape[1], "x"),
        y_names=column_names(y_names, y.shape[1], "y"),
        settings={"train": asdict(config)},
        members=model.members,
    )

    _check_history_size(config, grid.shape[0], y.shape[1])

    # Work in standardised units on the device; the scaler maps back for the pictures.
    model.to(device)
    each_loss = make_loss(config.loss, reduction="none")  # per row: ensembles, 1se stopping
    with torch.no_grad():
        xs, ys = model.scale_x(x.to(device)), model.scale_y(y.to(device))
        xe, ye = sample_rows(xs, N_EVAL, config.seed + 1), sample_rows(ys, N_EVAL, config.seed + 1)
        we, he = (
            None if m is None else _sample_columns(m.to(device), config.seed + 1)
            for m in (weights, held)
        )
        xvs = None if xv is None else model.scale_x(xv.to(device))
        yvs = None if yv is None else model.scale_y(yv.to(device))
        record = Recorder(
            model,
            make_loss(config.loss),
            xe,
            ye,
            model.scale_x(grid.to(device)),
            xvs,
            yvs,
            grid_is_x=grid is x and xe is xs,
            each_loss=each_loss,
            weights=we,
            held=he,
        )
    loss_fn = make_loss(config.loss)
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr)
    schedule = make_schedule(config.schedule, optimizer, config.steps)
    step_optimizer = step_function(optimizer)  # optimizer.step, minus torch's profiler wrapper
    batches = Batches(xs, ys, config.batch_size, config.seed, weights=_on(weights, device))
    keeper = Keeper(model)
    keep_every = min(config.every, KEEP_EVERY)
    validated = has_val or held is not None
    best = Best(model, config.patience, config.restore) if validated and config.patience else None
    start = 0
    if resume is not None:
        start = _load_state(resume, model, optimizer, schedule, batches, keeper, best, history)

    def emit(snapshot: Snapshot) -> None:  # the History keeps at most MAX_FRAMES snapshots
        history.snapshots = keep_frame(history.snapshots, snapshot, config.every)
        for callback in callbacks:  # subscribers see every snapshot, kept or not
            callback.on_snapshot(snapshot)

    def state(step: int) -> TrainState:
        return TrainState(
            step=step,
            model=_clone(model.state_dict()),
            optimizer=optimizer.state_dict(),
            schedule=None if schedule is None else schedule.state_dict(),
            batches=batches.state(),
            keeper=keeper.state(),
            best=None if best is None else best.state(),
            snapshots=[s for s in history.snapshots if not s.final],
        )

    for callback in callbacks:
        callback.on_train_begin(history)
    step = start
    threads = torch.get_num_threads()
    work = batches.x.shape[0] * max(model.hidden) * model.members
    if device.type == "cpu" and work <= SMALL_WORK:
        torch.set_num_threads(1)  # tiny ops run faster without thread hand-offs
    try:
        for step in range(start, config.steps):
            if stop is not None and stop.is_set():
                history.stop_reason = "interrupted"
                if checkpoint is not None:
                    checkpoint(state(step))
                break
            if (
                checkpoint is not None
                and checkpoint_every
                and step > start
                and (step % checkpoint_every == 0)
            ):
                checkpoint(state(step))
            xb, yb, wb = batches.next()

            # forward: predict and measure the error
            y_pred, hiddens = model.hidden_outputs(xb)  # hiddens: each activation's output
            loss = _objective(loss_fn, each_loss, y_pred, yb, wb)
            loss_value = loss.item() / model.members
            if step % config.every == 0:  # a snapshot of the weights that gave this loss
                if batches.full and record.x is xs:  # this forward pass was on all the data
                    snapshot = record(step, loss=loss_value, hiddens=hiddens, y_pred=y_pred)
                else:
                    snapshot = record(step)
                emit(snapshot)
                if best is not None and best.should_stop(snapshot):
                    history.stop_reason = "early_stop"
                    break
            if not math.isfinite(loss_value):  # diverged: keep the last weights with a finite loss
                history.stop_reason, history.diverged_at = "diverged", step
                keeper.restore()
                break
            if step % keep_every == 0:  # a copy of good weights every few steps is enough
                keeper.keep(step)

            # backward: clear old gradients, compute new ones, take a step down the slope
            optimizer.zero_grad()
            if config.optimizer == "lbfgs":
                optimizer.step(_closure(model, loss_fn, each_loss, optimizer, xb, yb, wb))
            else:
                loss.backward()
                step_optimizer()
            if schedule is not None:
                schedule.step()
        else:
            step = config.steps
    except KeyboardInterrupt:  # mid-step: the partly trained model is kept, not resumable
        history.stop_reason = "interrupted"
    finally:
        torch.set_num_threads(threads)

    final_step = step
    if history.stop_reason == "diverged":
        final_step = keeper.step if keeper.step is not None else 0
    elif best is not None and best.step is not None and history.stop_reason != "interrupted":
        history.best_step = final_step = best.restore()
    emit(record(final_step, final=True))
    history.snapshots = keep_best(history.snapshots, history.best_step)
    for callback in callbacks:
        callback.on_train_end(history)
    return history


def _check_history_size(config: TrainConfig, n_grid: int, n_out: int) -> None:
    """Refuse a History that would not fit: its snapshots' predictions, as float64 arrays and
    as the JSON text they become when saved (about HISTORY_COPIES times the arrays)."""
    from ..memory import check_memory

    frames = min(config.steps // config.every + 2, MAX_FRAMES)
    need = frames * n_grid * n_out * 8 * HISTORY_COPIES
    what = f"a history of {frames:,} frames of {n_grid:,} points x {n_out:,} output(s)"
    check_memory(need, what, "use a larger --every or fewer output columns")


def _clone(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in tensors.items()}


def _load_state(
    state: TrainState,
    model: MLP,
    optimizer: torch.optim.Optimizer,
    schedule: Any,
    batches: Batches,
    keeper: Keeper,
    best: Best | None,
    history: History,
) -> int:
    """Put every piece of a paused run back; returns the step to continue from."""
    model.load_state_dict(state.model)
    optimizer.load_state_dict(state.optimizer)
    if schedule is not None and state.schedule is not None:
        schedule.load_state_dict(state.schedule)
    batches.load(state.batches)
    keeper.load(state.keeper)
    if best is not None and state.best is not None:
        best.load(state.best)
    history.snapshots.extend(state.snapshots)
    return state.step


def _closure(
    model: MLP,
    loss_fn: torch.nn.Module,
    each_loss: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    xb: torch.Tensor,
    yb: torch.Tensor,
    wb: torch.Tensor | None,
) -> Any:
    """L-BFGS re-evaluates the loss itself, several times per step."""

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = _objective(loss_fn, each_loss, model.layers(xb), yb, wb)
        loss.backward()
        return loss

    return closure


def _objective(
    loss_fn: torch.nn.Module,
    each_loss: torch.nn.Module,
    y_pred: torch.Tensor,
    yb: torch.Tensor,
    wb: torch.Tensor | None,
) -> torch.Tensor:
    """The loss to minimise: one network's, or for an ensemble the sum of each member's mean
    loss on its own rows (a sum, so no member's gradient depends on the others)."""
    if wb is None:
        return loss_fn(y_pred, yb)
    return member_losses(each_loss(y_pred, yb.expand_as(y_pred)), wb).sum()


def _member_masks(
    model: MLP, holdout: Any, n: int, has_val: bool
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """An ensemble's row weights (members, n): 1 where a member trains on a row; and the
    held-out mask as floats (None when nothing is held out). (None, None) for one network."""
    if holdout is None:
        if model.members == 1:
            return None, None
        return torch.ones(model.members, n), None
    if has_val:
        raise UsageError("give either x_val and y_val or holdout, not both")
    held = torch.as_tensor(np.asarray(holdout, dtype=bool))
    if held.shape != (model.members, n):
        raise DataError(
            f"holdout must be (members, rows) = ({model.members}, {n}), got {tuple(held.shape)}"
        )
    if model.members == 1 and not held.any():
        return None, None
    weights = (~held).float()
    if (weights.sum(dim=1) < 1).any():
        raise DataError("every member of the ensemble needs at least one row to train on")
    return weights, (held.float() if held.any() else None)


def _sample_columns(mask: torch.Tensor, seed: int) -> torch.Tensor:
    """The columns (rows of the data) of a (members, n) mask that ``sample_rows`` keeps."""
    rows = sample(mask.shape[1], N_EVAL, seed)
    return mask if rows is None else mask[:, rows.to(mask.device)]


def _on(tensor: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    return None if tensor is None else tensor.to(device)

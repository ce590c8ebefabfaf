"""The training loop: forward → loss → zero_grad → backward → step, snapshots to subscribers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import torch

from ..checks import SettingsError
from ..core.callbacks import Callback
from ..core.engines import Batched, batched_fits, make_engine
from ..core.history import History, Snapshot
from ..core.members import member_masks, objective
from ..core.model import MLP, check_size
from ..core.optim import make_loss, make_optimizer, make_schedule, without_dynamo
from ..core.recorder import MAX_FRAMES, Recorder, keep_best, keep_frame
from ..core.target import TargetR2
from ..core.threads import choose_threads, set_threads, step_work
from ..core.train_config import (  # noqa: F401  (re-exported: the settings live there)
    DEVICES,
    LOSSES,
    OPTIMIZERS,
    SCHEDULES,
    TrainConfig,
    rows_per_step,
)
from ..core.traindata import TrainData, prepare, rows_of
from ..core.trainstate import Batches, Best, Control, Keeper, MemberBest, TrainState
from ..errors import DataError, UsageError

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
    raise SettingsError(
        "{device} cuda: no CUDA GPU is available here; use {device} cpu or auto", "device"
    )


def train(
    model: MLP,
    data: TrainData | tuple[Any, Any],
    config: TrainConfig | None = None,
    *,
    callbacks: Sequence[Callback] = (),
    control: Control | None = None,
) -> History:
    """Train ``model`` on ``data`` and return the History of snapshots.

    Args:
        model: the network; its scaler (identity unless ``set_scaler`` was called) decides the
            units of the loss.
        data: an ``(x, y)`` pair (lists, arrays, tensors, DataFrames; x (n,) or (n, n_in), y (n,)
            or (n, n_out)), or a ``TrainData`` from ``prepare`` for a validation set, an
            ensemble's holdout, a plotting grid, a noise floor or column names.
        config: how to train; ``TrainConfig()`` is the lesson (SGD, lr 0.5, 100 steps, MSE).
        callbacks: subscribers that receive each snapshot as it is recorded.
        control: a stop signal, a state to resume from and checkpoints (see ``Control``).

    Returns:
        The History; ``history.stop_reason`` says why training ended.

    Example:
        >>> x, y = make_data(seed=0)
        >>> history = train(MLP(1, 10, 1, seed=0), (x, y), TrainConfig(lr=0.5, steps=100))
        >>> history.final.loss < 0.01
        True
    """
    config = config or TrainConfig()
    data = data if isinstance(data, TrainData) else prepare(*_pair(data), seed=config.seed)
    control = control or Control()
    run = _Run(model, data, config, control)  # optimiser, batches, recorder, on the device
    history, optimizer, batches, engine = run.history, run.optimizer, run.batches, run.engine
    for callback in callbacks:
        callback.on_train_begin(history)
    step = start = run.start
    threads = set_threads(run.threads())  # process-wide: the previous count, put back below
    try:
        for step in range(start, config.steps):
            if control.stopped:  # between two steps: the run can resume from here
                history.stop_reason = "interrupted"
                run.checkpoint(step)
                break
            if control.due(step, start):
                run.checkpoint(step)
            xb, yb, wb = batches.next()

            # forward: predict and measure the error
            loss, y_pred, hiddens = engine.forward(xb, yb, wb)  # hiddens: activations' outputs
            loss_value = loss.item() / model.members
            if not math.isfinite(loss_value) and run.freeze_diverged(step):  # the rest go on
                loss, y_pred, hiddens = engine.forward(xb, yb, wb)
                loss_value = loss.item() / model.members
            if step % config.every == 0:  # a snapshot of the weights that gave this loss
                snapshot = run.snapshot(step, loss_value, hiddens, y_pred)
                run.emit(snapshot, callbacks)
                if run.best is not None and run.best.should_stop(snapshot):
                    history.stop_reason = "early_stop"
                    break
                if run.target is not None and run.target.reached(snapshot):
                    history.stop_reason = "target"
                    break
            if not math.isfinite(loss_value):  # diverged: keep the last weights with a finite loss
                history.stop_reason, history.diverged_at = "diverged", step
                run.keeper.restore()
                break
            if step % run.keep_every == 0:  # a copy of good weights every few steps is enough
                run.keeper.keep(step)

            # backward: clear old gradients, compute new ones, take a step down the slope
            if config.optimizer == "lbfgs":  # L-BFGS re-evaluates the loss itself
                optimizer.zero_grad()
                optimizer.step(run.closure(xb, yb, wb))
            else:
                engine.backward(loss)  # (the batched engine computed them with the forward)
                engine.step()
            if run.schedule is not None:
                run.schedule.step()
        else:
            step = config.steps
    except KeyboardInterrupt:  # mid-step: the partly trained model is kept, not resumable
        history.stop_reason = "interrupted"
    finally:
        set_threads(threads)

    history.diverged_members = dict(run.keeper.frozen)
    run.emit(run.record(run.final_step(step), final=True), callbacks)
    history.snapshots = keep_best(history.snapshots, history.best_step)
    for callback in callbacks:
        callback.on_train_end(history)
    return history


def _pair(data: Any) -> tuple[Any, Any]:
    """``train``'s data as an (x, y) pair, with a message a person can act on otherwise."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    raise UsageError(
        f"data must be an (x, y) pair or a TrainData from prepare(), got {type(data).__name__}; "
        "e.g. train(model, (x, y), config)"
    )


class _Run:
    """The parts the loop works with, set up once: the History, the data in standardised units
    on the device, the recorder, optimiser, schedule, batches, keeper and early stopping (all
    put back from ``control.resume`` when given)."""

    def __init__(self, model: MLP, data: TrainData, config: TrainConfig, control: Control):
        device = resolve_device(config.device)
        x, y = data.x, data.y
        if (x.shape[1], y.shape[1]) != (model.n_in, model.n_out):
            raise DataError(
                f"model takes {model.n_in} input(s) and {model.n_out} output(s), "
                f"data has {x.shape[1]} and {y.shape[1]}"
            )
        weights, held = member_masks(model.members, data.holdout, x.shape[0])
        _check_step_size(model, config, data)
        self.model, self.config, self.control, self.device = model, config, control, device
        self.history = _new_history(model, data, config)
        _check_history_size(config, data.x_grid.shape[0], y.shape[1], model.members)

        # Work in standardised units on the device; the scaler maps back for the pictures.
        model.to(device)
        self.loss_fn = make_loss(config.loss)
        self.each_loss = make_loss(config.loss, reduction="none")  # per row: ensembles, 1se
        with torch.no_grad():
            xs, ys = model.scale_x(x.to(device)), model.scale_y(y.to(device))
            xv, yv = (None if v is None else v.to(device) for v in (data.x_val, data.y_val))
            self.record = Recorder(
                model,
                make_loss(config.loss),
                rows_of(xs, data.eval_rows),
                rows_of(ys, data.eval_rows),
                model.scale_x(data.x_grid.to(device)),
                None if xv is None else model.scale_x(xv),
                None if yv is None else model.scale_y(yv),
                grid_is_x=data.x_grid is x and data.eval_rows is None,
                each_loss=self.each_loss,
                weights=_columns(weights, data.eval_rows, device),
                held=_columns(held, data.eval_rows, device),
                member_lines=config.member_lines,
            )
            self.target = (
                None
                if config.target_r2 is None
                else TargetR2(
                    config.target_r2,
                    rows_of(ys, data.eval_rows),
                    None if yv is None else model.scale_y(yv),
                )
            )
        member_lr = _member_lr(model, config)
        lr = member_lr[0] if member_lr and model.members == 1 else config.lr
        self.optimizer = make_optimizer(
            config.optimizer,
            model.parameters(),
            lr,
            momentum=config.momentum,
            rmsprop_alpha=config.rmsprop_alpha,
            betas=(config.beta1, config.beta2),
        )
        self.schedule = make_schedule(config.schedule, self.optimizer, config.steps)
        self.engine = make_engine(model, self.optimizer, config, member_lr)  # before any copy
        weights = None if weights is None else weights.to(device)
        self.batches = Batches(xs, ys, config.batch_size, config.seed, weights=weights)
        self.full = self.batches.full and data.eval_rows is None  # a step sees all the rows
        self.keeper = Keeper(model)
        self.keep_every = min(config.every, KEEP_EVERY)
        self.apart = data.apart and model.members > 1  # separate runs, stopped one by one
        self.best: Best | MemberBest | None = (
            Best(model, config.patience, config.restore)
            if data.validated and config.patience
            else None
        )
        if self.apart:
            self.best = self._member_best(data, config)
        self.start = 0 if control.resume is None else self._load(control.resume)

    def _member_best(self, data: TrainData, config: TrainConfig) -> MemberBest:
        """Early stopping member by member, for separate members (``TrainData.apart``)."""
        if not isinstance(self.engine, Batched):
            raise SettingsError(
                "separate members need the batched engine; {optimizer} lbfgs trains one "
                "network at a time",
                "optimizer",
            )
        if config.restore != "lowest":
            raise SettingsError("separate members restore their lowest {restore} only", "restore")
        patience = config.patience if data.validated else None
        return MemberBest(self.model, patience, self.engine.freeze, self.keeper)

    def freeze_diverged(self, step: int) -> bool:
        """An ensemble's members whose loss stopped being finite get their last kept weights
        back and stop training; True if others train on (else the whole run has diverged).
        Separate members (a sweep's) are frozen even when none is left: early stopping then
        ends the run, keeping what every other member had learnt."""
        if not isinstance(self.engine, Batched) or self.keeper.step is None:
            return False
        members = self.engine.diverged()
        if len(members) + len(self.keeper.frozen) >= self.model.members and not self.apart:
            return False
        self.keeper.freeze(members, step)
        self.engine.freeze(members)
        return True

    def threads(self) -> int:
        """The CPU threads for this run: ``config.threads``, else the rule of core.threads."""
        if self.config.threads is not None:
            return self.config.threads
        model, batches = self.model, self.batches
        rows = batches.x.shape[0] if batches.size is None else batches.size
        widths = (model.n_in, *model.hidden, model.n_out)
        return choose_threads(step_work(rows, widths, model.members), self.device.type)

    def snapshot(
        self,
        step: int,
        loss: float,
        hiddens: list[torch.Tensor] | None,
        y_pred: torch.Tensor | None,
    ) -> Snapshot:
        """The snapshot of this step, reusing the step's own forward pass when it saw all rows
        (and kept them: the batched engine does not when it works in chunks)."""
        if self.full and hiddens is not None and y_pred is not None:
            return self.record(step, loss=loss, hiddens=hiddens, y_pred=y_pred)
        return self.record(step)

    def emit(self, snapshot: Snapshot, callbacks: Sequence[Callback]) -> None:
        """Hand the snapshot to the subscribers; the History keeps at most MAX_FRAMES."""
        history = self.history
        history.snapshots = keep_frame(history.snapshots, snapshot, self.config.every)
        for callback in callbacks:  # subscribers see every snapshot, kept or not
            callback.on_snapshot(snapshot)

    def final_step(self, step: int) -> int:
        """The step whose weights the model ends with: the last one, or after divergence the
        last kept copy, or early stopping's pick (which it restores)."""
        history = self.history
        if history.stop_reason == "diverged":
            return self.keeper.step if self.keeper.step is not None else 0
        if isinstance(self.best, MemberBest):  # each member its own pick
            if history.stop_reason != "interrupted":
                history.member_best_steps = self.best.restore()
            return step
        if self.best is None or self.best.step is None or history.stop_reason == "interrupted":
            return step
        history.best_step = self.best.restore()
        assert history.best_step is not None  # best.step is set, so weights were kept
        return history.best_step

    def checkpoint(self, step: int) -> None:
        """Hand the paused state to ``control.checkpoint``, if there is one."""
        if self.control.checkpoint is not None:
            self.control.checkpoint(self.state(step))

    def state(self, step: int) -> TrainState:
        """Everything needed to continue from ``step`` exactly."""
        with without_dynamo():
            optimizer = self.optimizer.state_dict()
        return TrainState(
            step=step,
            model=_clone(self.model.state_dict()),
            optimizer=optimizer,
            schedule=None if self.schedule is None else self.schedule.state_dict(),
            batches=self.batches.state(),
            keeper=self.keeper.state(),
            best=None if self.best is None else self.best.state(),
            snapshots=[s for s in self.history.snapshots if not s.final],
        )

    def _load(self, state: TrainState) -> int:
        """Put every piece of a paused run back; returns the step to continue from."""
        self.model.load_state_dict(state.model)
        with without_dynamo():
            self.optimizer.load_state_dict(state.optimizer)
        self.engine.loaded()
        if self.schedule is not None and state.schedule is not None:
            self.schedule.load_state_dict(state.schedule)
        self.batches.load(state.batches)
        self.keeper.load(state.keeper)
        if isinstance(self.engine, Batched):
            self.engine.freeze(list(self.keeper.frozen))
        if self.best is not None and state.best is not None:
            self.best.load(state.best)
            if isinstance(self.best, MemberBest):
                self.best.freeze(list(self.best.stopped))
        self.history.snapshots.extend(state.snapshots)
        return state.step

    def closure(self, xb: torch.Tensor, yb: torch.Tensor, wb: torch.Tensor | None) -> Any:
        """L-BFGS re-evaluates the loss itself, several times per step."""

        def closure() -> torch.Tensor:
            self.optimizer.zero_grad()
            y_pred = self.model.layers(xb)
            loss = objective(self.loss_fn, self.each_loss, y_pred, yb, wb)
            loss.backward()
            return loss

        return closure


def _new_history(model: MLP, data: TrainData, config: TrainConfig) -> History:
    """An empty History: the points to draw, names and settings; snapshots come later."""
    x_val, y_val = data.x_val, data.y_val
    return History(
        x=rows_of(data.x, data.plot_rows).numpy(),
        y=rows_of(data.y, data.plot_rows).numpy(),
        x_grid=data.x_grid.numpy(),
        x_val=None if x_val is None else rows_of(x_val, data.val_plot_rows).numpy(),
        y_val=None if y_val is None else rows_of(y_val, data.val_plot_rows).numpy(),
        hidden=model.hidden,
        activation=model.activation,
        noise_floor=data.noise_floor,
        x_names=data.x_names,
        y_names=data.y_names,
        settings={"train": asdict(config)},
        members=model.members,
        held_out=data.holdout is not None and bool(data.holdout.any()),
    )


def _check_history_size(config: TrainConfig, n_grid: int, n_out: int, members: int) -> None:
    """Refuse a History that would not fit: its snapshots' predictions (an ensemble's also its
    spread and member lines), as float64 arrays and as the JSON text they become when saved
    (about HISTORY_COPIES times the arrays)."""
    from ..memory import check_memory

    frames = min(config.steps // config.every + 2, MAX_FRAMES)
    fits = 1 if members == 1 else 2 + min(config.member_lines, members)  # per snapshot
    need = frames * n_grid * n_out * fits * 8 * HISTORY_COPIES
    what = f"a history of {frames:,} frames of {n_grid:,} points x {n_out:,} output(s)"
    check_memory(need, what, "use a larger {every} or fewer output columns", names=("every",))


def _member_lr(model: MLP, config: TrainConfig) -> tuple[float, ...] | None:
    """``member_lr`` checked against the model: one rate per member, an optimiser that takes it."""
    rates = config.member_lr
    if rates is None:
        return None
    if len(rates) != model.members:
        raise SettingsError(
            f"{{member_lr}} lists {len(rates)} learning rates for {model.members} member(s); "
            "give one per member",
            "member_lr",
        )
    if model.members > 1 and not batched_fits(model, config):
        raise SettingsError(
            f"{{member_lr}} needs the batched engine; {config.optimizer} trains all members "
            "with one rate: use another {optimizer}",
            "member_lr",
            "optimizer",
        )
    return rates


def _check_step_size(model: MLP, config: TrainConfig, data: TrainData) -> None:
    """Refuse, before anything is allocated, a network whose step or snapshot would not fit:
    every member's activations on the rows of a step and on the rows snapshots measure."""
    n = data.x.shape[0]
    rows = rows_per_step(n, config.batch_size)
    if data.eval_rows is not None:
        rows = max(rows, data.eval_rows.shape[0])
    check_size(model.n_in, model.hidden, model.n_out, members=model.members, rows=rows)


def _clone(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in tensors.items()}


def _columns(
    mask: torch.Tensor | None, rows: torch.Tensor | None, device: torch.device
) -> torch.Tensor | None:
    """The columns (rows of the data) of a (members, n) mask that the recorder measures."""
    if mask is None:
        return None
    mask = mask.to(device)
    return mask if rows is None else mask[:, rows.to(device)]

"""``TrainConfig``: how to train, each setting declared once (torch-free, so the CLI's ``--help``
and the settings table read it without loading torch; the loop is ``nnfit.core.training``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..checks import MAX_SEED, FieldError, SettingsError, check_fields, check_range, setting

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "lbfgs")  # core.optim
LOSSES = ("mse", "l1", "huber")  # core.optim
SCHEDULES = ("constant", "cosine")
RESTORE_RULES = ("lowest", "1se")  # core.trainstate.Best
DEVICES = ("cpu", "cuda", "auto")
AUTO_BATCH = 8_192  # with batch_size None, larger data sets train on minibatches of AUTO_SIZE
AUTO_SIZE = 1_024


def rows_per_step(n: int, batch_size: int | None) -> int:
    """The rows one step trains on out of n: ``batch_size`` (at most n), or with it unset all
    n up to AUTO_BATCH and AUTO_SIZE beyond (torch-free: sizes are checked before torch loads)."""
    if batch_size is None:
        return n if n <= AUTO_BATCH else AUTO_SIZE
    return min(n, batch_size)


MAX_MEMBER_LINES = 20  # members' own fits a snapshot may carry: each adds a fit to the history
MAX_THREADS = 1024  # CPU threads a run may ask for (more than any machine nnfit runs on)


@dataclass(frozen=True)
class TrainConfig:
    """How to train; each field is a setting (CLI flag, TOML key, estimator parameter)."""

    optimizer: str = setting("sgd", "{choices}", choices=OPTIMIZERS, group="training")
    lr: float = setting(0.5, "learning rate", above=0, group="training", metavar="RATE")
    steps: int = setting(100, "optimiser steps", low=1, group="training")
    loss: str = setting("mse", "{choices}", choices=LOSSES, group="training")
    batch_size: int | None = setting(  # None: full batch up to trainstate.AUTO_BATCH rows
        None,
        "points per step (unset: all, up to 8192; larger data: 1024)",
        low=1,
        group="training",
    )
    every: int = setting(5, "record a frame every N steps", low=1, group="training")
    member_lines: int = setting(  # read by core.recorder; drawn by views.panels.LinePanel
        0,
        f"draw an ensemble's first N members as thin lines under their mean and band "
        f"(at most {MAX_MEMBER_LINES}; 0: none)",
        low=0,
        high=MAX_MEMBER_LINES,
        group="training",
    )
    seed: int = setting(
        0,
        "random seed for data, weights, split and batches",
        low=0,
        high=MAX_SEED,
        group="training",
    )
    device: str = setting("cpu", "{choices}", choices=DEVICES, group="training")
    patience: int | None = setting(
        None,
        "stop after N steps without a better validation loss, keeping the best weights "
        "(unset: never)",
        low=1,
        group="training",
    )
    target_r2: float | None = setting(  # read by core.training (TargetR2)
        None,
        "stop once R² reaches this: the validation R² when there is validation data, else the "
        "training R² (needs loss mse; unset: never)",
        above=0,
        below=1,
        group="training",
    )
    schedule: str = setting(
        "constant",
        "learning rate schedule: {choices} (cosine decays to 0 over the steps)",
        choices=SCHEDULES,
        group="training",
    )
    restore: str = setting(
        "lowest",
        "weights early stopping keeps: lowest (validation loss), or 1se, the earliest within "
        "one standard error of the lowest (steadier on noisy data)",
        choices=RESTORE_RULES,
        group="training",
    )

    # the optimisers' own constants, read by core.optim.make_optimizer (torch's defaults but
    # momentum's 0.9): each applies to the optimisers named in its help, the others ignore it
    momentum: float = setting(
        0.9, "momentum of the momentum and nesterov optimizers", low=0, below=1, group="training"
    )
    rmsprop_alpha: float = setting(
        0.99,
        "smoothing constant of rmsprop's running mean of squared gradients (torch's alpha)",
        low=0,
        below=1,
        group="training",
    )
    beta1: float = setting(
        0.9,
        "adam's and adamw's decay of the gradients' running mean",
        low=0,
        below=1,
        group="training",
    )
    beta2: float = setting(
        0.999,
        "adam's and adamw's decay of the squared gradients' running mean",
        low=0,
        below=1,
        group="training",
    )

    member_lr: tuple[float, ...] | None = setting(
        None,
        "each member's own learning rate, one per member, e.g. 0.001,0.01,0.1: a sweep over "
        "lr as one batched run (unset: lr for all)",
        group="training",
        flag_type="numbers",
        form="numbers like 0.001,0.01,0.1",
        metavar="RATES",
    )
    compile: bool = setting(
        False,
        "compile an ensemble's training step with torch.compile: 1.3-1.5x faster steps for "
        "1,000 members and more, after 5-30 s of compiling (needs a C compiler; otherwise the "
        "plain step)",
        group="training",
    )
    threads: int | None = setting(
        None,
        "CPU threads for training (unset: chosen from the work per step, 1 for small steps "
        "and more for large ones, up to the cores available)",
        low=1,
        high=MAX_THREADS,
        group="training",
    )

    def __post_init__(self) -> None:
        check_fields(self)  # types, then each setting's range and choices
        if self.target_r2 is not None and self.loss != "mse":
            raise SettingsError(
                "{target_r2} needs {loss} mse (R² compares squared errors); unset one of them",
                "target_r2",
                "loss",
                code="target_r2_loss",
            )
        if self.member_lr is not None:
            if not self.member_lr:
                raise FieldError("member_lr", "must list at least one learning rate", ())
            for lr in self.member_lr:
                check_range("member_lr", lr, {"above": 0}, float)

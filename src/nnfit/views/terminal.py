"""Terminal subscribers: a progress bar on a TTY, plain lines elsewhere, warnings as they happen."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from ..core.callbacks import Callback
from ..core.history import History, Snapshot

N_LINES = 10  # plain (non-TTY) output prints about this many progress lines per run


NUMBER = "<10.4g"  # losses: 4 significant digits in a steady width (1.234e-05 is 9)


class Progress(Callback):
    """Show training progress: tqdm's bar with the live loss on a TTY, else periodic lines.

    Also says once, while training, when most units have died or the loss is not finite.

    Args:
        steps: total steps planned, for the bar and the line spacing.
        stream: where to write (stderr by default, so stdout stays clean for results).
        tty: force the bar on or off; default: whether ``stream`` is a terminal.
    """

    def __init__(
        self, steps: int, *, stream: TextIO | None = None, tty: bool | None = None
    ) -> None:
        self.steps = steps
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.bar = None
        self.units = 0
        self.warned = False
        self.next_line = 0

    def on_train_begin(self, history: History) -> None:
        self.units = sum(history.hidden) * history.members
        if self.tty:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=self.steps,
                file=self.stream,
                unit="step",
                leave=False,
                dynamic_ncols=True,
                mininterval=0.1,
            )

    def on_snapshot(self, snapshot: Snapshot) -> None:
        dead = sum(snapshot.dead)
        if not self.warned and self.units and dead * 2 > self.units:
            self.warned = True
            self.write(
                f"warning: {dead} of {self.units} hidden units are dead at step "
                f"{snapshot.step}; the fit may stay flat"
            )
        if self.bar is not None:
            self.bar.update(snapshot.step - self.bar.n)
            self.bar.set_postfix_str(f"loss={snapshot.loss:{NUMBER}}".rstrip(), refresh=False)
        elif snapshot.step >= self.next_line and not snapshot.final:
            self.next_line = snapshot.step + max(1, self.steps // N_LINES)
            val = "" if snapshot.val_loss is None else f" val_loss {snapshot.val_loss:{NUMBER}}"
            line = f"step {snapshot.step:>{len(str(self.steps))}}/{self.steps}  "
            self.write(f"{line}loss {snapshot.loss:{NUMBER}}{val}".rstrip())

    def on_train_end(self, history: History) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def write(self, line: str) -> None:
        """Print a line without breaking the bar."""
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)


def loading_progress(stream: TextIO | None = None) -> Callable[[int, int], None]:
    """A ``progress(bytes_read, total_bytes)`` for reading big files: a bar on a TTY, else
    a line every 10%. Small files (under 20 MB) show nothing."""
    stream = stream or sys.stderr
    state: dict = {"bar": None, "next": 0.1}

    def progress(done: int, total: int) -> None:
        if total < 20_000_000:
            return
        if stream.isatty():
            if state["bar"] is None:
                from tqdm.auto import tqdm

                state["bar"] = tqdm(
                    total=total, file=stream, unit="B", unit_scale=True, desc="reading", leave=False
                )
            state["bar"].update(done - state["bar"].n)
            if done >= total:
                state["bar"].close()
        elif done >= state["next"] * total:
            print(f"reading: {done / total:.0%}", file=stream, flush=True)
            state["next"] = done / total + 0.1

    return progress

"""Progress lines: steady columns, whatever the losses' magnitudes."""

import io

import numpy as np

from nnfit.core.history import History, Snapshot
from nnfit.views.terminal import Progress


def lines_for(losses, val_losses):
    stream = io.StringIO()
    progress = Progress(1000, stream=stream, tty=False)
    history = History(x=np.zeros((2, 1)), y=np.zeros((2, 1)), x_grid=np.zeros((2, 1)))
    progress.on_train_begin(history)
    for step, (loss, val) in enumerate(zip(losses, val_losses, strict=True)):
        snapshot = Snapshot(step=step * 100, loss=loss, y_pred=np.zeros((2, 1)), val_loss=val)
        progress.on_snapshot(snapshot)
    return stream.getvalue().splitlines()


def test_losses_of_any_size_keep_their_columns_and_four_digits():
    lines = lines_for([0.98, 0.012345678, 1.2345678e-05, 123456.0], [0.5, 0.01, 2e-05, 9.0])
    assert len(lines) == 4
    assert len({line.index("val_loss") for line in lines}) == 1  # one column, every line
    assert "loss 0.01235 " in lines[1] and "loss 1.235e-05 " in lines[2]
    assert all(line == line.rstrip() for line in lines)


def test_without_validation_no_line_ends_in_spaces():
    lines = lines_for([0.5, 0.25], [None, None])
    assert lines and all(line == line.rstrip() and "val_loss" not in line for line in lines)

"""The snapshot recorder's helpers (core/recorder.py): history thinning, samples, the plotting grid.

A long run's thinning end to end, and keep_best after it, is in test_hostile_config.py; the
standard errors of real runs are in test_stopping.py.
"""

import numpy as np
import pytest
import torch

from nnfit.core.history import Snapshot
from nnfit.core.recorder import (
    GRID_FRAMES,
    MAX_FRAMES,
    frame_stride,
    keep_best,
    keep_frame,
    make_grid,
    sample,
    sample_rows,
)


def snap(step, *, final=False):
    return Snapshot(step=step, loss=1.0 / (step + 1), y_pred=np.zeros((1, 1)), final=final)


def recorded(last_step, every):
    """The History's snapshots after recording steps 0, every, ..., last_step."""
    kept: list[Snapshot] = []
    for step in range(0, last_step + 1, every):
        kept = keep_frame(kept, snap(step), every)
    return kept


def test_frame_budget_leaves_room_for_the_final_and_the_restored_step():
    assert GRID_FRAMES == MAX_FRAMES - 2


@pytest.mark.parametrize("every", [1, 5])
def test_stride_is_every_until_the_grid_is_full(every):
    assert frame_stride(0, every) == every
    assert frame_stride((GRID_FRAMES - 1) * every, every) == every  # GRID_FRAMES snapshots


@pytest.mark.parametrize("every", [1, 5])
def test_stride_doubles_each_time_the_grid_fills(every):
    assert frame_stride(GRID_FRAMES * every, every) == 2 * every
    assert frame_stride((2 * GRID_FRAMES - 1) * every, every) == 2 * every
    assert frame_stride((2 * GRID_FRAMES) * every, every) == 4 * every


def test_stride_of_a_step_before_zero_is_every():
    assert frame_stride(-3, 3) == 3  # keep_frame asks for the step before step 0


def test_snapshots_are_appended_in_place_until_the_cap():
    kept = recorded(10, 5)
    same = keep_frame(kept, snap(15), 5)
    assert same is kept and [s.step for s in kept] == [0, 5, 10, 15]


def test_reaching_the_cap_keeps_every_other_snapshot_in_a_new_list():
    kept = recorded((GRID_FRAMES - 1) * 2, 2)
    assert len(kept) == GRID_FRAMES
    before = list(kept)
    thinned = keep_frame(kept, snap(GRID_FRAMES * 2), 2)
    assert thinned is not kept and kept == before  # a reader of the old list sees it whole
    steps = [s.step for s in thinned]
    assert steps == list(range(0, GRID_FRAMES * 2 + 1, 4))


def test_a_step_off_the_current_stride_is_not_kept():
    kept = recorded(GRID_FRAMES, 1)  # stride 2 from here on
    assert frame_stride(GRID_FRAMES + 1, 1) == 2
    assert keep_frame(kept, snap(GRID_FRAMES + 1), 1)[-1].step == GRID_FRAMES


def test_the_final_snapshot_is_always_kept():
    kept = recorded(GRID_FRAMES, 1)
    kept = keep_frame(kept, snap(GRID_FRAMES + 1, final=True), 1)  # off the stride
    assert kept[-1].step == GRID_FRAMES + 1 and kept[-1].final


def test_keep_best_changes_nothing_when_the_best_step_is_kept_or_missing():
    kept = [*recorded(20, 5), snap(20, final=True)]
    assert keep_best(kept, 10) is kept
    assert keep_best(kept, None) is kept


def test_sample_is_none_when_every_row_fits():
    assert sample(10, 10, seed=0) is None and sample(3, 10, seed=0) is None


def test_sample_is_k_sorted_distinct_rows_fixed_by_the_seed():
    rows = sample(1000, 50, seed=3)
    assert len(rows) == 50 and rows.unique().tolist() == rows.tolist()
    assert int(rows.min()) >= 0 and int(rows.max()) < 1000
    assert torch.equal(rows, sample(1000, 50, seed=3))
    assert not torch.equal(rows, sample(1000, 50, seed=4))


def test_sample_rows_returns_the_same_tensor_when_it_fits():
    values = torch.arange(6.0).reshape(3, 2)
    assert sample_rows(values, 5, seed=0) is values
    assert torch.equal(sample_rows(values, 2, seed=0), values[sample(3, 2, seed=0)])


def test_an_even_grid_is_drawn_on_as_it_is():
    x = torch.linspace(-1, 1, 100).unsqueeze(1)
    assert make_grid(x) is x


def test_uneven_x_is_drawn_on_a_line_over_its_range():
    x = torch.tensor([[3.0], [-1.0], [0.5], [2.0]])
    grid = make_grid(x, n_1d=7)
    assert grid.shape == (7, 1) and grid[0, 0] == -1.0 and grid[-1, 0] == 3.0


def test_two_inputs_are_drawn_on_a_mesh_and_more_on_x_itself():
    x2 = torch.tensor([[0.0, 10.0], [1.0, 20.0], [0.5, 12.0]])
    grid = make_grid(x2, n_2d=4)
    assert grid.shape == (16, 2)
    assert grid.min(0).values.tolist() == [0.0, 10.0] and grid.max(0).values.tolist() == [1.0, 20.0]
    x3 = torch.arange(15.0).reshape(5, 3)
    assert make_grid(x3) is x3


def spread_out_ensemble(y_transform="none"):
    """4 members with random weights (they start as the constant mean otherwise) and a scaler
    that matters, 1 input and 2 outputs."""
    from nnfit.core.model import MLP

    x = torch.linspace(-1, 1, 60).unsqueeze(1)
    model = MLP(1, 6, 2, members=4, seed=[3, 1, 4, 1], y_transform=y_transform)
    with torch.no_grad():
        for name, value in model.named_parameters():
            value.normal_(generator=torch.Generator().manual_seed(len(name)))
    model.set_scaler(x * 3 + 1, torch.cat([x + 2, x**2 + 1], dim=1) * 5)
    return model, x


def record(model, x, x_grid, *, grid_is_x):
    """The snapshot a Recorder takes of ``model`` (every member trains on every row)."""
    from nnfit.core.recorder import Recorder

    recorder = Recorder(
        model,
        torch.nn.MSELoss(),
        model.scale_x(x),
        torch.zeros(60, 2),
        model.scale_x(x_grid),
        grid_is_x=grid_is_x,
        each_loss=torch.nn.MSELoss(reduction="none"),
        weights=torch.ones(4, 60),
        member_lines=3,
    )
    return recorder(0)


@pytest.mark.parametrize("grid_is_x", [True, False])
def test_an_ensembles_spread_is_its_members_std_on_the_grid(grid_is_x):
    model, x = spread_out_ensemble()
    x_grid = x if grid_is_x else torch.linspace(-1.5, 1.5, 30).unsqueeze(1)
    snapshot = record(model, x, x_grid, grid_is_x=grid_is_x)
    with torch.no_grad():  # each member as a network of its own, in user units
        each = np.stack([model.member(k)(x_grid).double().numpy() for k in range(4)])
    np.testing.assert_allclose(snapshot.y_pred, each.mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(snapshot.y_std, each.std(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(snapshot.y_members, each[:3], rtol=1e-5, atol=1e-5)
    assert each.std(axis=0).min() > 1e-3  # the members differ everywhere


@pytest.mark.parametrize("grid_is_x", [True, False])
def test_a_log_ensembles_spread_is_what_predict_with_std_gives(grid_is_x):
    model, x = spread_out_ensemble("log")
    x_grid = x if grid_is_x else torch.linspace(-1.5, 1.5, 30).unsqueeze(1)
    snapshot = record(model, x, x_grid, grid_is_x=grid_is_x)
    with torch.no_grad():
        y_pred, y_std = model.predict_with_std(x_grid)
        each = np.stack([model.member(k)(x_grid).double().numpy() for k in range(4)])
    np.testing.assert_allclose(snapshot.y_pred, y_pred.numpy(), rtol=1e-5)
    np.testing.assert_allclose(snapshot.y_std, y_std.numpy(), rtol=1e-5)
    np.testing.assert_allclose(snapshot.y_members, each[:3], rtol=1e-5)  # exp of each member's
    # to first order: the spread of log(y), independently, times the geometric mean
    spread = np.log(each).std(axis=0) * np.exp(np.log(each).mean(axis=0))
    np.testing.assert_allclose(snapshot.y_std, spread, rtol=1e-4)


def test_one_networks_snapshot_has_no_spread():
    from nnfit.core.model import MLP
    from nnfit.core.recorder import Recorder

    x = torch.linspace(-1, 1, 60).unsqueeze(1)
    model = MLP(1, 6, 1, seed=0)
    snapshot = Recorder(model, torch.nn.MSELoss(), x, x**2, x, member_lines=3)(0)
    assert snapshot.y_std is None and snapshot.y_members is None

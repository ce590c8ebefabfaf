"""FitFigure: one figure made once, frames drawn by updating artists and blitting (Agg)."""

from __future__ import annotations

import io
from dataclasses import replace
from functools import cache

import numpy as np
import pytest
import torch
from PIL import Image

from nnfit.core.history import Snapshot
from nnfit.core.model import MLP
from nnfit.core.traindata import prepare
from nnfit.core.training import TrainConfig, train
from nnfit.errors import UsageError
from nnfit.views.panels import LinePanel, MapPanel, ParityPanel, mesh_shape
from nnfit.views.render import FitFigure


@cache
def make_history(n_in: int = 1, n_out: int = 1, *, val: bool = False):
    """A short seeded run on the lesson's parabola, widened to n_in inputs and n_out outputs."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(120, n_in, generator=g) * 2 - 1  # (n, n_in)
    base = (x**2).sum(dim=1, keepdim=True)  # (n, 1)
    y = torch.cat([base * (k + 1) for k in range(n_out)], dim=1) + 0.1 * torch.rand(
        120, n_out, generator=g
    )
    extra = {"x_val": x[:20] + 0.01, "y_val": y[:20]} if val else {}
    model = MLP(n_in, 10, n_out, seed=0)
    config = TrainConfig(steps=40, every=5, lr=0.2)
    return train(model, prepare(x, y, noise_floor=0.1**2 / 12, **extra), config)


def differing_pixels(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.any(a != b, axis=-1).sum())


def test_frame_has_the_requested_size():
    fit = FitFigure(make_history(), size=(640, 320), dpi=80)
    frame = fit.render(make_history().snapshots[0])
    assert frame.shape == (320, 640, 3)
    assert frame.dtype == np.uint8


def test_frames_change_between_snapshots():
    history = make_history()
    fit = FitFigure(history)
    first, later = fit.render(history.snapshots[0]), fit.render(history.snapshots[4])
    assert differing_pixels(first, later) > 500


def test_draw_frame_makes_no_new_artists():
    history = make_history(val=True)
    fit = FitFigure(history)
    fit.render(history.snapshots[0])
    before = len(fit.figure.findobj())
    for snapshot in history.snapshots:
        fit.render(snapshot, note="good fit" if snapshot.final else None)
    assert len(fit.figure.findobj()) == before


def test_a_frame_depends_only_on_its_snapshot():
    history = make_history()
    fit = FitFigure(history)
    frame = fit.render(history.snapshots[3])
    fit.render(history.final, note="good fit")
    assert differing_pixels(fit.render(history.snapshots[3]), frame) == 0


def test_blitted_frame_equals_a_full_drawing():
    history = make_history(val=True)
    fit = FitFigure(history)
    frame = fit.render(history.snapshots[5], note="a note")
    buffer = io.BytesIO()
    fit.savefig(buffer, format="png")
    full = np.asarray(Image.open(buffer).convert("RGB"))
    assert full.shape == frame.shape
    assert differing_pixels(full, frame) == 0


def test_limits_are_fixed_from_the_whole_run():
    history = make_history()
    fit = FitFigure(history)
    limits = [ax.get_ylim() for ax in fit.figure.axes]
    for snapshot in history.snapshots:
        fit.draw_frame(snapshot)
    assert [ax.get_ylim() for ax in fit.figure.axes] == limits
    low, high = fit.loss_ax.get_ylim()
    assert low < history.losses.min() and history.losses.max() < high
    assert fit.loss_ax.get_xlim() == (0, history.final.step)


def test_live_limits_grow_when_a_value_leaves_them():
    history = make_history()
    live = replace(history, snapshots=[])
    fit = FitFigure(live, live=True)
    first = history.snapshots[0]
    live.snapshots.append(first)
    fit.render(first)
    low, high = fit.panels[0].ax.get_ylim()
    wild = Snapshot(step=5, loss=first.loss / 1e4, y_pred=first.y_pred + 2 * (high - low))
    live.snapshots.append(wild)
    fit.render(wild)
    assert fit.panels[0].ax.get_ylim()[1] > high
    assert fit.loss_ax.get_ylim()[0] < wild.loss
    np.testing.assert_allclose(fit.loss_line.get_xdata(), [0, 5])


def test_loss_text_and_note():
    history = make_history()
    fit = FitFigure(history)
    fit.draw_frame(history.final)
    assert fit.loss_text.get_text() == f"Loss={history.final.loss:.4f}"
    assert not fit.note_text.get_visible()
    fit.draw_frame(history.final, note="good fit")
    assert fit.note_text.get_visible() and fit.note_text.get_text() == "good fit"


def test_validation_curve_and_noise_floor():
    history = make_history(val=True)
    fit = FitFigure(history)
    fit.draw_frame(history.snapshots[3])
    assert fit.val_line is not None and len(fit.val_line.get_xdata()) == 4
    labels = [line.get_label() for line in fit.loss_ax.get_lines()]
    assert "noise floor" in labels
    floor = next(line for line in fit.loss_ax.get_lines() if line.get_label() == "noise floor")
    assert floor.get_linestyle() == "--"


def test_two_inputs_draw_a_heatmap_on_the_mesh():
    history = make_history(n_in=2)
    assert mesh_shape(history.x_grid) == (60, 60)
    fit = FitFigure(history)
    (panel,) = fit.panels
    assert isinstance(panel, MapPanel)
    fit.render(history.final)
    image = panel.image.get_array()
    # row j, column i of the image is the grid point (x1 = a[i], x2 = b[j])
    x1 = history.x_grid[:, 0].reshape(60, 60)
    x2 = history.x_grid[:, 1].reshape(60, 60)
    assert np.all(np.diff(x1[0]) > 0) and np.all(np.diff(x2[:, 0]) > 0)
    np.testing.assert_array_equal(image, history.final.y_pred[:, 0].reshape(60, 60))


def test_three_inputs_draw_fit_against_data():
    history = make_history(n_in=3)
    fit = FitFigure(history)
    (panel,) = fit.panels
    assert isinstance(panel, ParityPanel)
    fit.render(history.final)
    offsets = panel.dots.get_offsets()
    np.testing.assert_allclose(offsets[:, 0], history.y[:, 0])
    np.testing.assert_allclose(offsets[:, 1], history.final.y_pred[:, 0])


def test_two_outputs_get_a_panel_each():
    history = make_history(n_out=2)
    fit = FitFigure(history)
    assert [type(panel) for panel in fit.panels] == [LinePanel, LinePanel]
    assert len(fit.figure.axes) == 3
    fit.render(history.final)
    np.testing.assert_allclose(fit.panels[1].line.get_ydata(), history.final.y_pred[:, 1])


@pytest.mark.parametrize("size", [(800,), (50, 400), (800.5, 400), "800x400", (True, 400)])
def test_bad_size_is_refused(size):
    with pytest.raises(UsageError, match="size"):
        FitFigure(make_history(), size=size)


def test_live_loss_curve_keeps_every_step_when_a_long_run_thins_its_history():
    from nnfit.core.recorder import keep_frame

    history = make_history()
    live = replace(history, snapshots=[])
    fit = FitFigure(live, live=True)
    first = history.snapshots[0]
    for step in range(2500):  # more than MAX_FRAMES: the history is thinned on the way
        snapshot = replace(first, step=step, loss=1.0 / (step + 1))
        live.snapshots = keep_frame(live.snapshots, snapshot, 1)
        upto = fit._curve_upto(snapshot)
    assert len(live.snapshots) < 2500  # thinned
    steps = fit._curve[0]
    assert steps == sorted(set(steps)) and upto == len(steps)
    assert {s.step for s in live.snapshots} <= set(steps)  # nothing kept is missing
    stride = live.snapshots[-1].step - live.snapshots[-2].step
    assert max(np.diff(steps)) <= stride  # no gap wider than the history's own spacing


def test_an_ensembles_loss_panel_shows_its_cross_validated_loss():
    x = torch.linspace(-1, 1, 40).unsqueeze(1)
    data = prepare(x, x**2, holdout=(torch.arange(40) % 5 == torch.arange(4).unsqueeze(1)))
    history = train(MLP(1, 8, 1, members=4, seed=0), data, TrainConfig(steps=30, every=10))
    assert history.held_out
    fit = FitFigure(history)
    fit.render(history.final)
    steps, losses = fit.val_line.get_data()
    assert len(steps) == len(history.snapshots) and np.isfinite(losses).all()
    assert "validation" in [t.get_text() for t in fit.loss_ax.get_legend().get_texts()]


def test_measurements_get_a_thin_line_under_the_dots_and_rmse_above_the_panel(lesson_history):
    history = replace(make_history(), noise_floor=None)  # no noise floor: measurements
    fit = FitFigure(history)
    fit.render(history.final, note="good fit")
    panel = fit.panels[0]
    assert panel.line.get_linewidth() == 2
    dots = [a for a in fit.animated if a is not panel.line and a.get_label() == "data"]
    assert dots and fit.animated.index(dots[0]) > fit.animated.index(panel.line)  # over the line
    expected = np.sqrt(
        np.mean(
            (np.interp(panel.x, panel.x_grid, history.final.y_pred[panel.order, 0]) - panel.y) ** 2
        )
    )
    assert fit.loss_text.get_text() == f"RMSE={expected:.4g}"
    assert fit.loss_text.get_position()[1] > 1 and fit.note_text.get_position()[1] > 1  # above

    lesson = FitFigure(lesson_history)
    lesson.render(lesson_history.final)
    assert lesson.panels[0].line.get_linewidth() == 5
    assert lesson.loss_text.get_text().startswith("Loss=")


@cache
def ensemble_run(member_lines: int = 3):
    """A short seeded ensemble of 5 members on the parabola, each holding out a fifth of the
    rows, on a grid that is not x (40 random points); returns the model and its History."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(40, 1, generator=g) * 2 - 1
    y = x**2 + 0.1 * torch.rand(40, 1, generator=g)
    holdout = torch.arange(40) % 5 == torch.arange(5).unsqueeze(1)  # (members, n)
    model = MLP(1, 8, 1, members=5, seed=0)
    config = TrainConfig(steps=40, every=10, lr=0.05, optimizer="adam", member_lines=member_lines)
    history = train(model, prepare(x, y, holdout=holdout), config)
    return model, history


def members_on_grid(model, history):
    """Each member's own prediction on the grid, computed member by member: (members, n_grid)."""
    x_grid = torch.as_tensor(history.x_grid, dtype=torch.float32)
    with torch.no_grad():
        return np.stack([model.member(k)(x_grid)[:, 0].double().numpy() for k in range(5)])


def test_an_ensemble_draws_a_band_of_two_standard_deviations_of_its_members():
    model, history = ensemble_run()
    fit = FitFigure(history)
    fit.render(history.final)
    panel = fit.panels[0]
    assert panel.band is not None and panel.band.get_visible() and panel.band in fit.animated
    each = members_on_grid(model, history)[:, panel.order]  # (members, n_grid), sorted by x
    mean, std = each.mean(axis=0), each.std(axis=0)
    assert std.max() > 1e-3  # the members differ: the band has a width to check
    n = len(panel.x_grid)
    corners = panel.band.get_paths()[0].vertices  # along the lower edge, back along the upper
    np.testing.assert_allclose(corners[:n, 0], panel.x_grid)
    np.testing.assert_allclose(corners[:n, 1], mean - 2 * std, atol=1e-5)
    np.testing.assert_allclose(corners[n : 2 * n, 1], (mean + 2 * std)[::-1], atol=1e-5)


def test_member_lines_are_the_first_members_own_fits():
    model, history = ensemble_run(member_lines=3)
    fit = FitFigure(history)
    fit.render(history.final)
    panel = fit.panels[0]
    segments = panel.member_lines.get_segments()
    each = members_on_grid(model, history)[:3, panel.order]
    assert len(segments) == 3
    for segment, member in zip(segments, each, strict=True):
        np.testing.assert_allclose(segment[:, 1], member, atol=1e-5)
    _, plain = ensemble_run(member_lines=0)  # none asked for: the collection stays empty
    bare = FitFigure(plain)
    bare.render(plain.final)
    assert bare.panels[0].member_lines.get_segments() == []
    assert bare.panels[0].band.get_visible()


def test_one_network_gets_no_band_and_no_member_lines():
    from matplotlib.collections import LineCollection, PolyCollection

    history = make_history()
    fit = FitFigure(history)
    fit.render(history.final)
    ax = fit.panels[0].ax
    assert fit.panels[0].band is None and fit.panels[0].member_lines is None
    assert not [c for c in ax.collections if isinstance(c, (PolyCollection, LineCollection))]
    assert history.final.y_std is None and history.final.y_members is None


def test_an_ensembles_blitted_frame_equals_a_full_drawing():
    _, history = ensemble_run()
    fit = FitFigure(history)
    frame = fit.render(history.snapshots[2])
    buffer = io.BytesIO()
    fit.savefig(buffer, format="png")
    full = np.asarray(Image.open(buffer).convert("RGB"))
    assert differing_pixels(full, frame) == 0


def band_and_lines_range(snapshot):
    low, high = snapshot.y_pred - 2 * snapshot.y_std, snapshot.y_pred + 2 * snapshot.y_std
    values = np.concatenate([low.ravel(), high.ravel(), snapshot.y_members.ravel()])
    return values.min(), values.max()


@pytest.mark.parametrize("ensemble", [False, True])
def test_live_and_saved_views_end_on_the_same_limits(ensemble):
    history = ensemble_run()[1] if ensemble else make_history(val=True)
    saved = FitFigure(history)
    live_history = replace(history, snapshots=[])
    live = FitFigure(live_history, live=True)
    for snapshot in history.snapshots:  # the stream, as the training thread hands it over
        live_history.snapshots.append(snapshot)
        live.render(snapshot)
    saved.render(history.final)
    assert [ax.get_ylim() for ax in live.figure.axes] == [ax.get_ylim() for ax in saved.figure.axes]
    assert live.loss_ax.get_xlim() == saved.loss_ax.get_xlim()
    if ensemble:  # the band and member lines of every frame lie inside the limits
        low, high = saved.panels[0].ax.get_ylim()
        for snapshot in history.snapshots:
            lo, hi = band_and_lines_range(snapshot)
            assert low < lo and hi < high


def test_live_limits_widen_for_a_band_that_leaves_them():
    _, history = ensemble_run()
    live_history = replace(history, snapshots=[])
    live = FitFigure(live_history, live=True)
    first = history.snapshots[0]
    live_history.snapshots.append(first)
    live.render(first)
    low, high = live.panels[0].ax.get_ylim()
    wide = replace(first, step=5, y_std=np.full_like(first.y_pred, (high - low) / 2))
    live_history.snapshots.append(wide)
    live.render(wide)
    new_low, new_high = live.panels[0].ax.get_ylim()
    assert new_low < low and new_high > high
    assert new_low < band_and_lines_range(wide)[0] and band_and_lines_range(wide)[1] < new_high


def test_measurements_with_two_inputs_show_rmse_above_the_heatmap_and_validation_dots():
    history = make_history(n_in=2, val=True)
    shape = mesh_shape(history.x_grid)
    # a plane on the grid: bilinear reading is exact, so the label is the plane's RMSE
    plane = history.x_grid[:, 0] - 2 * history.x_grid[:, 1] + 0.5
    final = replace(history.final, y_pred=plane[:, None])
    history = replace(history, noise_floor=None, snapshots=[*history.snapshots[:-1], final])
    fit = FitFigure(history)
    fit.render(final, note="good fit")
    panel = fit.panels[0]
    assert isinstance(panel, MapPanel) and shape is not None
    at_dots = history.x[:, 0] - 2 * history.x[:, 1] + 0.5
    expected = np.sqrt(np.mean((at_dots - history.y[:, 0]) ** 2))
    assert fit.loss_text.get_text() == f"RMSE={expected:.4g}"
    assert fit.loss_text.get_position()[1] > 1 and fit.note_text.get_position()[1] > 1  # above
    held = [a for a in fit.animated if a.get_label() == "validation" and a in panel.ax.collections]
    assert len(held) == 1 and held[0].get_offsets().shape == (len(history.x_val), 2)


def test_measurements_with_three_inputs_show_the_rmse_of_fit_against_data():
    history = replace(make_history(n_in=3), noise_floor=None)
    fit = FitFigure(history)
    fit.render(history.final)
    y_pred = history.final.y_pred[:, 0]
    expected = np.sqrt(np.mean((y_pred - history.y[:, 0]) ** 2))
    assert fit.loss_text.get_text() == f"RMSE={expected:.4g}"
    assert fit.loss_text.get_position()[1] > 1

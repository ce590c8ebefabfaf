"""Two inputs on the playground: the coarse mesh sent to the page, the points' validation flags."""

import numpy as np
import pytest
import torch

from nnfit.checks import SettingsError
from nnfit.core.recorder import make_grid
from nnfit.web.form import build_run_config, check_inputs
from nnfit.web.plane import MOST, coarse_mesh, validation_mask


def test_the_coarse_mesh_is_rows_of_the_cores_mesh_with_x2_outside_and_x1_inside():
    x = torch.rand(200, 2, generator=torch.Generator().manual_seed(0)) * 4 - 2
    x_grid = make_grid(x).numpy()  # the mesh the history keeps
    rows, mesh = coarse_mesh(x_grid)
    assert 2 <= len(mesh["x1"]) <= MOST and 2 <= len(mesh["x2"]) <= MOST
    pairs = [[a, b] for b in mesh["x2"] for a in mesh["x1"]]  # the page's cell order
    np.testing.assert_allclose(x_grid[rows], pairs, rtol=1e-6)
    for k, name in enumerate(("x1", "x2")):  # the box's ends are kept
        assert mesh[name][0] == pytest.approx(float(x[:, k].min()))
        assert mesh[name][-1] == pytest.approx(float(x[:, k].max()))


def test_points_that_are_not_a_mesh_have_no_coarse_mesh():
    assert coarse_mesh(np.random.default_rng(0).random((50, 2))) is None


def test_the_validation_flags_are_the_runs_split_and_none_for_an_ensemble():
    from nnfit.data.dataset import split

    one = build_run_config({"val": 0.2, "seed": 3})
    assert np.flatnonzero(validation_mask(50, one)).tolist() == split(50, 0.2, 3)[1].tolist()
    ensemble = build_run_config({"val": 0.2, "members": 3})
    assert not validation_mask(50, ensemble).any()


def test_more_than_two_inputs_are_refused_in_one_line():
    check_inputs(1)
    check_inputs(2)
    with pytest.raises(SettingsError, match=r"^the playground draws data of one or two inputs"):
        check_inputs(3)

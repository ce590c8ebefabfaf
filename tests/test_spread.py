"""``Spread`` against NumPy's mean and standard deviation, on arrays and on tensors."""

import numpy as np
import pytest
import torch

from nnfit.core.spread import Spread


def gathered(h, chunk, convert=np.asarray):
    """A Spread fed h (members, n, n_out) ``chunk`` members at a time."""
    spread = Spread()
    for start in range(0, len(h), chunk):
        spread.add(convert(h[start : start + chunk]))
    return spread


@pytest.mark.parametrize("chunk", [1, 3, 7])
def test_mean_and_std_match_numpy_for_any_chunking(chunk):
    h = np.random.default_rng(0).normal(2.0, 3.0, (7, 11, 2))
    spread = gathered(h, chunk)
    np.testing.assert_allclose(spread.mean(), h.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(spread.std(), h.std(axis=0), rtol=1e-10)


def test_tensors_give_what_arrays_give():
    h = np.random.default_rng(1).normal(0.0, 1.0, (5, 9, 1))
    arrays = gathered(h, 2)
    tensors = gathered(h, 2, convert=torch.from_numpy)
    np.testing.assert_allclose(tensors.mean().numpy(), arrays.mean(), rtol=1e-15)
    np.testing.assert_allclose(tensors.std().numpy(), arrays.std(), rtol=1e-15)


def test_a_small_spread_far_from_zero_keeps_its_precision():
    rng = np.random.default_rng(2)
    h = 1e4 + rng.normal(0.0, 1e-6, (20, 8, 1))  # E[h²] - E[h]² would lose every digit
    np.testing.assert_allclose(gathered(h, 6).std(), h.std(axis=0), rtol=1e-6)


def test_members_that_agree_have_no_spread():
    h = np.tile(np.random.default_rng(3).normal(size=(1, 6, 2)), (4, 1, 1))
    spread = gathered(h, 3)
    assert np.all(spread.std() == 0.0)


def test_the_mean_alone_skips_the_spread_sums():
    h = np.random.default_rng(4).normal(size=(4, 3, 1))
    spread = Spread()
    spread.add(h, std=False)
    np.testing.assert_allclose(spread.mean(), h.mean(axis=0), rtol=1e-15)
    assert spread.shift is None

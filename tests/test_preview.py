"""The live window's first picture: the lesson's data made on NumPy, as make_data makes it."""

import numpy as np
import pytest

from nnfit.data.preview import MAX_PREVIEW_POINTS, preview_data
from nnfit.data.synthetic import DataConfig, make_data


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"function": "sin", "points": 333, "domain": (-2.5, 7.1), "noise_level": 0.5},
        {"function": "x**3 - x", "points": 1000, "noise_level": 0.0},
    ],
)
@pytest.mark.parametrize("seed", [0, 7, 2**33 + 3])
def test_the_preview_is_make_datas_data(fields, seed):
    config = DataConfig(**fields)
    preview = preview_data(config, seed=seed)
    assert preview is not None
    x, y = (t.numpy() for t in make_data(config, seed=seed))
    assert preview[0].shape == x.shape and preview[1].shape == y.shape
    assert preview[0].dtype == preview[1].dtype == np.float32
    # the noise is torch's to the bit; x from np.linspace may differ in the last bit
    scale = np.abs(y).max() + 1
    np.testing.assert_allclose(preview[0], x, rtol=0, atol=4 * np.spacing(np.float32(scale)))
    np.testing.assert_allclose(preview[1], y, rtol=0, atol=32 * np.spacing(np.float32(scale)))


def test_another_seed_gives_other_noise():
    a, b = preview_data(DataConfig(), seed=0), preview_data(DataConfig(), seed=1)
    assert a is not None and b is not None and not np.array_equal(a[1], b[1])


@pytest.mark.parametrize(
    "fields",
    [
        {"noise": "gaussian"},
        {"function": "x1 + x2"},
        {"points": MAX_PREVIEW_POINTS + 1},
        {"example": "pressure"},
        {"function": "log(x)"},  # make_data refuses it, and says why
    ],
)
def test_what_it_cannot_repeat_faithfully_is_not_previewed(fields):
    assert preview_data(DataConfig(**fields), seed=0) is None

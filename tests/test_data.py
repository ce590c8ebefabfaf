import pytest
import torch

import nnfit
from nnfit.data.synthetic import DataConfig, make_data


def test_lesson_data_is_reproduced_exactly():
    x, y = make_data(seed=7)
    x_lesson = torch.unsqueeze(torch.linspace(-1, 1, 100), dim=1)
    noise = torch.rand(x_lesson.size(), generator=torch.Generator().manual_seed(7))
    assert torch.equal(x, x_lesson)
    assert torch.equal(y, x_lesson.pow(2) + 0.2 * noise)
    assert x.dtype == y.dtype == torch.float32


def test_same_seed_same_data_other_seed_other_noise():
    assert torch.equal(make_data(seed=1)[1], make_data(seed=1)[1])
    assert not torch.equal(make_data(seed=1)[1], make_data(seed=2)[1])


@pytest.mark.parametrize("function", ["quadratic", "sin", "cubic", "abs", "step"])
def test_named_functions_give_finite_data(function):
    x, y = make_data(function=function, points=50, noise_level=0.0)
    assert x.shape == y.shape == (50, 1)
    assert torch.isfinite(y).all()
    assert y.std() > 0


def test_gaussian_noise_has_its_level():
    _, y = make_data(function="0", points=20000, noise="gaussian", noise_level=0.5)
    assert abs(float(y.std()) - 0.5) < 0.02
    assert DataConfig(noise="gaussian", noise_level=0.5).noise_floor == pytest.approx(0.25)


def test_uniform_noise_floor_matches_the_lesson():
    assert DataConfig().noise_floor == pytest.approx(0.0033333, rel=1e-4)


def test_domain_and_points():
    x, _ = make_data(domain=(0.5, 3.0), points=11)
    assert float(x[0, 0]) == 0.5 and float(x[-1, 0]) == 3.0 and len(x) == 11


@pytest.mark.parametrize(
    "fields, name",
    [
        ({"points": 1}, "points"),
        ({"points": 2.5}, "points"),
        ({"noise": "pink"}, "noise"),
        ({"noise_level": -1.0}, "noise_level"),
        ({"noise_level": float("nan")}, "noise_level"),
        ({"domain": (1.0, -1.0)}, "domain"),
        ({"domain": (0.0, float("inf"))}, "domain"),
    ],
)
def test_bad_settings_are_refused_with_the_field_named(fields, name):
    with pytest.raises(nnfit.UsageError, match=f"^{name} "):
        DataConfig(**fields)


def test_unknown_function_is_refused():
    with pytest.raises(nnfit.UsageError):
        make_data(function="parabola2")


def test_formula_not_finite_on_domain_is_refused():
    with pytest.raises(nnfit.UsageError, match="finite"):
        make_data(function="log(x)")

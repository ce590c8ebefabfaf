import warnings

import numpy as np
import pytest
import torch

import nnfit
from nnfit.errors import UsageError
from nnfit.regressor import Regressor, fit

FAST = {"steps": 200, "every": 10, "patience": None, "hidden": (16, 16), "lr": 0.03}


def curve(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-3, 3, n))
    return x, np.sin(2 * x) + 0.3 * x + 0.05 * rng.standard_normal(n)


def test_fit_returns_self_and_learns_the_curve():
    x, y = curve()
    model = Regressor(steps=600, every=20, hidden=(32, 32))
    assert model.fit(x, y) is model
    assert model.metrics_["train"]["r2"] > 0.95 and model.metrics_["val"]["r2"] > 0.9
    assert model.score(x, y) > 0.95
    assert model.history_.final.final and model.diagnosis_.message


def test_constructor_only_stores_settings():
    model = Regressor(lr=123.0, hidden=(0,))  # validated in fit, not here
    assert model.lr == 123.0
    assert not hasattr(model, "model_")
    with pytest.raises(nnfit.UsageError, match=r"^hidden "):
        model.fit([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])


def test_predict_returns_the_shape_it_was_given():
    x, y = curve(60)
    one_d = Regressor(**FAST).fit(x, y)
    assert one_d.predict(x).shape == (60,)
    column = Regressor(**FAST).fit(x.reshape(-1, 1), y.reshape(-1, 1))
    assert column.predict(x.reshape(-1, 1)).shape == (60, 1)
    two = Regressor(**FAST).fit(x, np.stack([y, -y], axis=1))
    assert two.predict(x).shape == (60, 2)


def test_lists_tensors_and_dataframes_give_the_same_fit():
    import pandas  # the dev extra installs it; the library never imports it

    x, y = curve(50)
    reference = Regressor(**FAST).fit(x, y).predict(x)
    for xs, ys in [
        (x.tolist(), y.tolist()),
        (torch.tensor(x), torch.tensor(y)),
        (pandas.DataFrame({"temperature": x}), pandas.Series(y, name="pressure")),
    ]:
        model = Regressor(**FAST).fit(xs, ys)
        np.testing.assert_allclose(model.predict(xs), reference, rtol=1e-5, atol=1e-6)
    assert model.x_names_ == ("temperature",) and model.y_names_ == ("pressure",)


def test_duck_typed_frame_without_pandas():
    class Frame:  # what polars and pandas have in common
        columns = ("a", "b")

        def __init__(self, values):
            self.values = values

        def to_numpy(self):
            return self.values

    x = np.random.default_rng(0).uniform(-1, 1, (80, 2))
    model = Regressor(**FAST).fit(Frame(x), x[:, 0] * x[:, 1])
    assert model.x_names_ == ("a", "b") and model.predict(Frame(x)).shape == (80,)


def test_any_magnitude_fits_as_well_as_rescaled_data():
    x, y = curve(200)
    small = Regressor(steps=600, every=20).fit(x, y)
    big = Regressor(steps=600, every=20).fit(x * 1e6, y * 1e9)
    assert abs(small.metrics_["val"]["r2"] - big.metrics_["val"]["r2"]) < 0.01
    assert big.metrics_["val"]["r2"] > 0.9
    np.testing.assert_allclose(big.predict(x * 1e6) / 1e9, small.predict(x), atol=0.05)


def test_seeded_split_and_same_seed_same_result():
    x, y = curve(100)
    a, b = (Regressor(**FAST, seed=3, members=1).fit(x, y) for _ in range(2))
    np.testing.assert_array_equal(a.history_.losses, b.history_.losses)
    assert len(a.history_.x_val) == 20 and len(a.history_.x) == 80
    c, d = (Regressor(**FAST, seed=3, members=4).fit(x, y) for _ in range(2))
    np.testing.assert_array_equal(c.history_.losses, d.history_.losses)
    assert c.history_.x_val is None and len(c.history_.x) == 100  # every row, cross-validated


def test_errors_at_the_edge():
    with pytest.raises(nnfit.NNFitError, match="not fitted"):
        Regressor().predict([1.0])
    with pytest.raises(nnfit.DataError, match="rows"):
        Regressor().fit([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(nnfit.DataError, match="row 2"):
        Regressor().fit([1.0, np.nan, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(nnfit.DataError, match="numbers"):
        Regressor().fit(["a", "b"], [1.0, 2.0])
    x, y = curve(40)
    model = Regressor(**FAST).fit(x, y)
    with pytest.raises(nnfit.DataError, match="trained on 1"):
        model.predict(np.zeros((3, 2)))


def test_fit_shortcut_and_from_config():
    model = fit([0, 1, 2, 3, 4, 5], [0, 1, 4, 9, 16, 25], **FAST)
    assert model.predict([2.5]).shape == (1,)
    config = nnfit.build_config("data", train={"steps": 50})
    regressor = Regressor.from_config(config)
    assert (regressor.steps, regressor.hidden, regressor.val) == (50, (32, 32), 0.2)


def test_lesson_through_the_regressor_matches_plain_train():
    x, y = nnfit.make_data(seed=0)
    regressor = Regressor.from_config(nnfit.build_config()).fit(x, y)
    history = nnfit.train(nnfit.MLP(1, 10, 1, seed=0), (x, y))
    np.testing.assert_array_equal(regressor.history_.losses, history.losses)


SMALL = {"steps": 30, "every": 10, "patience": None, "hidden": (8,), "seed": 0}


def test_return_std_is_the_members_spread_in_the_shape_of_predict():
    x, y = curve(60)
    ensemble = Regressor(**SMALL, members=4).fit(x, y)
    y_pred, y_std = ensemble.predict(x, return_std=True)
    assert y_pred.shape == y_std.shape == (60,)
    np.testing.assert_array_equal(y_pred, ensemble.predict(x))  # the same mean either way
    model = ensemble.model_
    with torch.no_grad():
        each = np.stack(
            [model.member(k)(torch.from_numpy(x[:, None].astype(np.float32))) for k in range(4)]
        )  # (members, n, 1)
    np.testing.assert_allclose(y_std, each.std(axis=0)[:, 0], rtol=1e-4, atol=1e-6)
    assert y_std.min() > 0
    two = Regressor(**SMALL, members=3).fit(x, np.stack([y, 10 * y], axis=1))
    pred2, std2 = two.predict(x, return_std=True)
    assert pred2.shape == std2.shape == (60, 2)


def test_a_single_network_has_zero_std():
    x, y = curve(40)
    single = Regressor(**SMALL, members=1).fit(x.reshape(-1, 1), y.reshape(-1, 1))
    y_pred, y_std = single.predict(x.reshape(-1, 1), return_std=True)
    assert y_std.shape == y_pred.shape == (40, 1) and not y_std.any()


def test_predicting_outside_the_training_range_warns_once_naming_it():
    x = np.linspace(0, 360, 30)
    model = Regressor(**SMALL, members=1).fit(x, np.sin(x / 60), x_names=["temperature"])
    assert (model.x_min_, model.x_max_) == ([0.0], [360.0])
    with pytest.warns(nnfit.ExtrapolationWarning) as caught:
        model.predict([10.0, 400.0, 370.0, 100.0, -5.0], return_std=True)
    assert len(caught) == 1
    assert str(caught[0].message) == (
        "x = 400 is outside the training range 0 to 360 of temperature (3 of 5 rows): "
        "predictions there are extrapolations"
    )
    assert caught[0].filename == __file__  # points at the caller's line
    assert issubclass(nnfit.ExtrapolationWarning, UserWarning)


def test_inside_the_training_range_there_is_no_warning():
    x = np.linspace(0, 360, 30)
    model = Regressor(**SMALL, members=1).fit(x, np.sin(x / 60))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(np.array([0.0, 180.0, 360.0]))


def test_the_training_range_survives_save_and_load(tmp_path):
    from nnfit.runs.runfolder import save_run

    x = np.column_stack([np.linspace(-1, 1, 30), np.linspace(5, 9, 30)])
    model = Regressor(**SMALL, members=2).fit(x, x[:, 0] * x[:, 1])
    folder = save_run(
        tmp_path / "run",
        model,
        history=model.history_,
        settings={"preset": "data", "model": {}, "train": {"seed": 0}},
        data={"source": "test", "sha256": "0", "rows": 30},
        picture=False,
    )
    loaded = nnfit.load(folder)
    assert (loaded.x_min_, loaded.x_max_) == (model.x_min_, model.x_max_)
    with pytest.warns(nnfit.ExtrapolationWarning, match=r"^x2 = 10 is outside .* 5 to 9 of x2"):
        loaded.predict([[0.0, 10.0]])


def test_random_state_is_another_name_for_seed():
    x, y = curve(40)
    settings = {**FAST, "steps": 40}
    by_seed = Regressor(**settings, seed=3).fit(x, y).predict(x)
    by_random_state = Regressor(**settings, random_state=3).fit(x, y).predict(x)
    np.testing.assert_array_equal(by_seed, by_random_state)
    both = Regressor(**settings, seed=3, random_state=3).fit(x, y).predict(x)
    np.testing.assert_array_equal(both, by_seed)
    other = Regressor(**settings, random_state=4).fit(x, y).predict(x)
    assert not np.array_equal(other, by_seed)


def test_seed_and_a_different_random_state_are_refused_in_one_line():
    with pytest.raises(UsageError, match=r"^seed and random_state .*seed=3, random_state=4\)$"):
        Regressor(seed=3, random_state=4).fit([0.0, 1.0, 2.0], [0.0, 1.0, 4.0])


def test_repr_shows_only_the_parameters_that_differ_from_the_defaults():
    assert repr(Regressor()) == "Regressor()"
    assert repr(Regressor(hidden=(32, 32), steps=500)) == "Regressor(steps=500)"
    assert repr(Regressor(lr=0.05, random_state=2)) == "Regressor(lr=0.05, random_state=2)"
    assert repr(Regressor(hidden=(8,))) == "Regressor(hidden=(8,))"


def test_a_fitted_repr_names_the_networks_and_the_columns():
    x, y = curve(40)
    model = Regressor(**{**FAST, "steps": 20}, members=2).fit(x, y)
    assert repr(model).startswith("Regressor(")
    assert repr(model).endswith(": 2 networks 1-16-16-1 (tanh) fitted (x -> y)")


def test_activation_takes_one_name_per_hidden_layer():
    x, y = curve(40)
    model = Regressor(**{**FAST, "steps": 20}, activation=["relu", "tanh"])
    assert model.activation == ["relu", "tanh"]  # stored as given
    model.fit(x, y)
    assert model.model_.activations == ("relu", "tanh")
    with pytest.raises(UsageError, match="activation gives 3 names for 2 hidden layers"):
        Regressor(**FAST, activation="relu,tanh,relu").fit(x, y)

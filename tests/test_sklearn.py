import importlib
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn", minversion="1.6")

from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import nnfit
from nnfit.core.callbacks import Collect
from nnfit.regressor import Regressor
from nnfit.sklearn import NNFitRegressor

# small enough for ~90 fits in a few seconds, big enough to pass check_regressors_train's R² > 0.5
FAST = {"hidden": (16,), "steps": 100}


def parabola(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 1))
    return x, x[:, 0] ** 2 + 0.05 * rng.standard_normal(n)


@parametrize_with_checks([NNFitRegressor(**FAST)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_fit_trains_what_the_nnfit_regressor_trains():
    x, y = parabola()
    ours = NNFitRegressor(**FAST).fit(x, y)
    reference = Regressor(**FAST).fit(x, y)
    np.testing.assert_array_equal(ours.predict(x), reference.predict(x))
    assert ours.metrics_ == reference.metrics_
    assert ours.n_features_in_ == 1 and ours.n_outputs_ == 1
    assert ours.history_.final.final and ours.diagnosis_.message


def test_predict_returns_the_shape_of_y():
    x, y = parabola()
    assert NNFitRegressor(**FAST).fit(x, y).predict(x).shape == (60,)
    assert NNFitRegressor(**FAST).fit(x, y[:, None]).predict(x).shape == (60, 1)
    assert NNFitRegressor(**FAST).fit(x, np.stack([y, -y], 1)).predict(x).shape == (60, 2)


def test_return_std_passes_through_in_the_shape_of_predict():
    x, y = parabola()
    model = NNFitRegressor(**FAST, members=3).fit(x, y)
    y_pred, y_std = model.predict(x, return_std=True)
    assert y_pred.shape == y_std.shape == (60,)
    expected = model.regressor_.predict(x, return_std=True)
    np.testing.assert_array_equal(y_pred, expected[0])
    np.testing.assert_array_equal(y_std, expected[1])


def test_one_row_is_refused_with_a_value_error():
    with pytest.raises(ValueError, match="1 sample"):
        NNFitRegressor(**FAST).fit([[1.0]], [2.0])


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        NNFitRegressor().predict([[1.0]])


def test_clone_copies_the_settings_not_the_fit():
    fitted = NNFitRegressor(lr=0.05, hidden=(8, 8), steps=50).fit(*parabola())
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "model_")


def test_in_a_pipeline_with_a_scaler():
    x, y = parabola()
    pipe = make_pipeline(StandardScaler(), NNFitRegressor(hidden=(16,), steps=300, lr=0.03))
    assert pipe.fit(100 * x + 7, y).score(100 * x + 7, y) > 0.8


def test_grid_search_over_lr_and_hidden():
    grid = {"lr": [1e-4, 0.03], "hidden": [(4,), (16,)]}
    search = GridSearchCV(NNFitRegressor(steps=100), grid, cv=2).fit(*parabola())
    assert search.best_params_["lr"] == 0.03  # 100 steps at lr 1e-4 barely move the network
    assert search.best_estimator_.predict(parabola()[0]).shape == (60,)


def test_cross_val_score():
    scores = cross_val_score(NNFitRegressor(hidden=(16,), steps=200, lr=0.03), *parabola(), cv=3)
    assert scores.shape == (3,) and np.isfinite(scores).all()
    assert scores.mean() > 0.5


def test_dataframe_column_names_label_the_history():
    pd = pytest.importorskip("pandas")
    x, y = parabola()
    frame = pd.DataFrame({"speed": x[:, 0]})
    model = NNFitRegressor(**FAST).fit(frame, pd.Series(y, name="dist"))
    assert list(model.feature_names_in_) == ["speed"]
    assert model.history_.x_names == ("speed",) and model.history_.y_names == ("dist",)


def test_callbacks_reach_the_training_loop():
    collect = Collect()
    model = NNFitRegressor(hidden=(4,), steps=20, every=5, patience=None)
    model.fit(*parabola(), callbacks=[collect])
    assert [s.step for s in collect.snapshots] == [0, 5, 10, 15, 20]


def test_missing_scikit_learn_gives_the_install_hint(monkeypatch):
    for name in [name for name in sys.modules if name.split(".")[0] == "sklearn"]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: import fails
    monkeypatch.delitem(sys.modules, "nnfit.sklearn")
    with pytest.raises(nnfit.UsageError, match=r"pip install 'nnfit\[sklearn\]'"):
        importlib.import_module("nnfit.sklearn")


def test_random_state_is_scikit_learns_name_for_seed():
    x, y = parabola()
    by_seed = NNFitRegressor(**FAST, seed=5).fit(x, y).predict(x)
    by_random_state = NNFitRegressor(**FAST, random_state=5).fit(x, y).predict(x)
    np.testing.assert_array_equal(by_seed, by_random_state)
    assert NNFitRegressor(random_state=5).get_params()["random_state"] == 5


def test_seed_and_a_different_random_state_are_refused():
    with pytest.raises(nnfit.UsageError, match="seed and random_state"):
        NNFitRegressor(**FAST, seed=1, random_state=2).fit(*parabola())


def test_repr_shows_the_parameters_that_differ_from_the_defaults():
    assert repr(NNFitRegressor()) == "NNFitRegressor()"
    assert repr(NNFitRegressor(steps=300, random_state=1)) == (
        "NNFitRegressor(random_state=1, steps=300)"
    )


def test_a_grid_can_search_activations_per_layer():
    grid = {"activation": ["tanh", ("relu", "tanh")]}
    search = GridSearchCV(NNFitRegressor(hidden=(8, 8), steps=30), grid, cv=2).fit(*parabola())
    assert search.cv_results_["param_activation"].tolist() == ["tanh", ("relu", "tanh")]
    assert clone(NNFitRegressor(activation=("relu", "tanh"))).activation == ("relu", "tanh")

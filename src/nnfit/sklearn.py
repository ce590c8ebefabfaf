"""``NNFitRegressor``: nnfit's ``Regressor`` as a scikit-learn estimator (extra ``sklearn``).

It validates input the scikit-learn way (``validate_data``: shapes, dtypes, ``n_features_in_``,
``feature_names_in_``) and hands the training to ``nnfit.regressor.Regressor``, so pipelines,
grid searches and cross-validation train exactly what ``nnfit fit`` trains.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from .errors import UsageError
from .regressor import Regressor, Settings
from .settings import document

try:
    import sklearn
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.utils.validation import check_is_fitted
except ImportError:
    raise UsageError("NNFitRegressor needs scikit-learn: pip install 'nnfit[sklearn]'") from None
try:  # public since scikit-learn 1.6, like __sklearn_tags__ and expected_failed_checks
    from sklearn.utils.validation import validate_data
except ImportError:
    raise UsageError(
        f"NNFitRegressor needs scikit-learn 1.6 or newer, found {sklearn.__version__}: "
        "pip install -U 'nnfit[sklearn]'"
    ) from None

if TYPE_CHECKING:
    from sklearn.utils import Tags

    from .core.callbacks import Callback


class NNFitRegressor(RegressorMixin, BaseEstimator, Settings):
    """Fit y = f(X) with a small neural network, as a scikit-learn regressor.

    The parameters are ``nnfit.regressor.Regressor``'s, with the same defaults (those of
    ``nnfit fit``); ``fit`` trains through that Regressor, so results match the CLI's.

    Args:
        {settings}

    ``val`` of the rows given to ``fit`` are held out (seeded) to measure and early-stop on,
    per ensemble member; with too few rows (fewer than 2 left to train on) none are held out.

    Learned attributes: ``n_features_in_``, ``feature_names_in_`` (when X has string column
    names), ``n_outputs_``, ``model_`` (the trained ``nnfit.MLP``), ``history_`` (its
    ``nnfit.History``: ``nnfit.plot(est.history_, "fit.png")`` draws it), ``metrics_`` (RMSE,
    MAE, R² on the training and validation rows), ``member_metrics_`` (an ensemble's members'
    held-out RMSE and stopping steps; None for one network), ``diagnosis_``, and ``regressor_``
    (the fitted ``nnfit.regressor.Regressor`` that ``predict`` uses).

    Expected failures of scikit-learn's estimator checks (``parametrize_with_checks``): none.
    Every check passes, ``check_array_api_input`` too when ``SCIPY_ARRAY_API=1`` is set
    (scikit-learn skips it otherwise). ``fit`` needs at least 2 rows: 1 raises ValueError.

    Example:
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> X = np.linspace(-1, 1, 100).reshape(-1, 1)
        >>> pipe = make_pipeline(StandardScaler(), NNFitRegressor(steps=300))
        >>> pipe.fit(X, X[:, 0] ** 2).predict(X).shape
        (100,)
    """

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y may be (n,) or (n, n_outputs)
        return tags

    def fit(self, X: Any, y: Any, *, callbacks: Sequence[Callback] = ()) -> NNFitRegressor:
        """Validate X and y, train a fresh network on them, and return self.

        Args:
            X: inputs, shape (n_samples, n_features); arrays, lists, DataFrames.
            y: targets, shape (n_samples,) or (n_samples, n_outputs).
            callbacks: nnfit subscribers to the training snapshots (e.g. ``TensorBoardLog``).
        """
        y_names = _column_names(y)
        X, y = validate_data(
            self, X, y, dtype=np.float64, y_numeric=True, multi_output=True, ensure_min_samples=2
        )
        x_names = getattr(self, "feature_names_in_", None)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        regressor = Regressor(**self.get_params())
        regressor.fit(
            X,
            y,
            callbacks=callbacks,
            x_names=None if x_names is None else [str(name) for name in x_names],
            y_names=y_names if y_names is not None and len(y_names) == n_outputs else None,
        )
        self.regressor_ = regressor
        self.model_ = regressor.model_
        self.history_ = regressor.history_
        self.metrics_ = regressor.metrics_
        self.member_metrics_ = regressor.member_metrics_
        self.diagnosis_ = regressor.diagnosis_
        self.n_outputs_ = regressor.n_outputs_
        return self

    @overload
    def predict(self, X: Any, *, return_std: Literal[False] = ...) -> np.ndarray: ...

    @overload
    def predict(self, X: Any, *, return_std: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...

    def predict(
        self, X: Any, *, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Predictions in y's units: (n_samples,) for a 1-D y, else (n_samples, n_outputs).

        With ``return_std``, also the standard deviation of the ensemble members' predictions,
        shaped as the predictions (as ``GaussianProcessRegressor``); zeros for a single
        network (``members=1``). Inputs outside the training range give an
        ``nnfit.ExtrapolationWarning`` (see ``nnfit.Regressor.predict``).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        if return_std:
            return self.regressor_.predict(X, return_std=True)
        return self.regressor_.predict(X)


def _column_names(y: Any) -> list[str] | None:
    """y's column names when it is a DataFrame or a named Series (duck-typed), else None."""
    if hasattr(y, "columns"):
        return [str(name) for name in y.columns]
    name = getattr(y, "name", None)
    if name is not None and hasattr(y, "to_numpy"):
        return [str(name)]
    return None


document(NNFitRegressor, x="X")  # the Args table, from the settings table

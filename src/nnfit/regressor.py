"""``Regressor``: the one path from arrays to a trained model (the CLI and ``nnfit.fit`` use it).

Estimator conventions: the constructor only stores settings, ``fit`` validates, trains and
returns ``self``, learned state ends in ``_``, and ``predict`` returns the shape it was given.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from .core.model_config import activation_words
from .errors import DataError, ExtrapolationWarning, NNFitError
from .estimator_settings import PREDICT_CHUNK, Settings
from .safetext import printable
from .settings import REAL_DATA_DEFAULTS as REAL_DATA_DEFAULTS  # (re-exported, as before)
from .settings import document

if TYPE_CHECKING:
    from .core.callbacks import Callback
    from .core.diagnostics import Diagnosis
    from .core.model import MLP
    from .core.trainstate import Control

METRIC_ROWS = 1_000_000  # errors of bigger sets are measured on a seeded sample this big


@document
class Regressor(Settings):
    """Fit y = f(x) with a small neural network; settings mirror the ``nnfit fit`` flags.

    Args:
        {settings}

    With several ``members``, each holds out ``val`` of the rows (val 0.2: 5-fold
    cross-validation, repeated with fresh shuffles for more than 5 members; see
    ``nnfit.core.members.holdout``) and training stops where the pooled held-out loss is lowest.

    Example:
        >>> import numpy as np
        >>> x = np.linspace(0, 6, 200)
        >>> model = Regressor(steps=500).fit(x, np.sin(x))
        >>> model.predict(x).shape
        (200,)
    """

    # learned state that load_run sets from a saved run, where it may lack some
    metrics_: dict[str, dict[str, float]] | None
    member_metrics_: list[dict[str, Any]] | None  # an ensemble's members (None: one network)
    diagnosis_: Diagnosis | None
    run_info_: dict[str, Any]  # the run.json of a loaded run; fit does not set it
    x_min_: list[float] | None  # the training range per input column (None: an older run)
    x_max_: list[float] | None

    def __repr__(self) -> str:
        """The parameters that differ from the defaults; a fitted model adds its networks and
        data: ``Regressor(steps=500): 20 networks 1-32-32-1 (tanh) fitted on example pressure
        (19 rows; temperature -> pressure)``."""
        return super().__repr__() + (self._fitted_text() if hasattr(self, "model_") else "")

    def _fitted_text(self) -> str:
        """``: 20 tanh networks 1-32-32-1 fitted on example pressure (19 rows; temperature ->
        pressure)``."""
        model = self.model_
        widths = "-".join(str(n) for n in (model.n_in, *model.hidden, model.n_out))
        nets = "a network" if model.members == 1 else f"{model.members} networks"
        data = getattr(self, "run_info_", {}).get("data", {})
        source, rows = data.get("source"), data.get("rows")
        names = f"{', '.join(self.x_names_)} -> {', '.join(self.y_names_)}"
        where = f" on {source}" if source else ""
        about = f"{rows} rows; {names}" if rows is not None else names
        fits = " fitting log(y)" if model.y_transform == "log" else ""
        acts = activation_words(model.activation)
        return printable(f": {nets} {widths} ({acts}){fits} fitted{where} ({about})")

    def fit(
        self,
        x: Any,
        y: Any,
        *,
        callbacks: Sequence[Callback] = (),
        model: MLP | None = None,
        noise_floor: float | None = None,
        x_names: Sequence[str] | None = None,
        y_names: Sequence[str] | None = None,
        control: Control | None = None,
        y_units: Sequence[str] = (),
    ) -> Regressor:
        """Split off validation rows, standardise, train, and measure; returns self.

        Args:
            x: inputs (n,) or (n, n_in): lists, arrays, tensors, DataFrames, Series.
            y: targets (n,) or (n, n_out).
            callbacks: subscribers to the training snapshots (live window, log, ...).
            model: a network to train instead of a fresh one (it must fit x and y's widths).
            noise_floor: known noise variance in y's units (synthetic data), for the pictures.
            x_names, y_names: column names; default from DataFrame columns or x, y.
            control: a stop event, a state to resume from and checkpoints, to pause and
                continue training exactly (see ``nnfit.core.trainstate.Control``).
            y_units: each y column's unit ("mm Hg"; "" unknown), for the verdict's wording.

        Learned attributes: ``model_``, ``history_``, ``metrics_`` (RMSE, MAE, R² on train and
        val, in y's units), ``member_metrics_`` (an ensemble's members: see
        ``nnfit.core.metrics.member_rows``; None for one network), ``diagnosis_``,
        ``n_inputs_``, ``n_outputs_``, ``x_names_``, ``y_names_``, ``x_min_`` and ``x_max_``
        (each input column's range in x, validation rows included; ``predict`` warns beyond
        it).
        """
        from .core.diagnostics import verdict
        from .core.extrapolation import training_range
        from .core.members import holdout
        from .core.metrics import regression_metrics
        from .core.traindata import prepare
        from .core.training import train
        from .core.transform import auto_y_transform
        from .data.convert import as_array, names_for
        from .data.dataset import split

        model_config, train_config = self.configs()
        x_array, x_found = as_array(x, "x")
        y_array, y_found = as_array(y, "y")
        if len(x_array) != len(y_array):
            raise DataError(f"x has {len(x_array)} rows but y has {len(y_array)}; they must match")
        self.y_ndim_ = 1 if np.ndim(y_array) == 1 else 2
        x2, y2 = x_array.reshape(len(x_array), -1), y_array.reshape(len(y_array), -1)
        self.n_inputs_, self.n_outputs_ = x2.shape[1], y2.shape[1]
        self.x_names_ = names_for(x_names, x_found, self.n_inputs_, "x")
        self.y_names_ = names_for(y_names, y_found, self.n_outputs_, "y")
        if len(x2) < 2:
            raise DataError(f"need at least 2 rows to fit, got {len(x2)}")
        self.x_min_, self.x_max_ = training_range(x2)
        if model is not None:  # a given network: its activations on these rows must fit too
            self._check_size(
                model.n_in, model.hidden, model.n_out, model.members, len(x2), self.batch_size
            )
        self.model_ = (
            model if model is not None else self.make_model(x2.shape[1], y2.shape[1], len(x2), y=y2)
        )
        if self.model_.y_transform == "log":  # a given network that fits log(y): y above 0
            auto_y_transform("log", y2)
        if self.model_.members == 1:  # one network: a held-out validation set
            train_rows, val_rows = split(len(x2), float(self.val), train_config.seed)
            held = None
        else:  # an ensemble: every member trains on all rows but its own held-out block
            train_rows, val_rows = np.arange(len(x2)), np.arange(0)
            held = holdout(len(x2), self.model_.members, float(self.val), train_config.seed)
        if model_config.scale:
            self.model_.set_scaler(x2[train_rows], y2[train_rows])
        has_val = len(val_rows) > 0
        floor = None if noise_floor is None else noise_floor / float(self._y_var_scale())
        if self.model_.y_transform == "log":
            floor = None  # a floor in y's units says nothing about log(y)
        data = prepare(
            x2[train_rows],
            y2[train_rows],
            x_val=x2[val_rows] if has_val else None,
            y_val=y2[val_rows] if has_val else None,
            holdout=held,
            noise_floor=floor,
            x_names=self.x_names_,
            y_names=self.y_names_,
            seed=train_config.seed,
        )
        self.history_ = train(self.model_, data, train_config, callbacks=callbacks, control=control)
        self.metrics_ = {"train": self._metrics(x2[train_rows], y2[train_rows])}
        self.member_metrics_ = None
        if has_val:
            self.metrics_["val"] = self._metrics(x2[val_rows], y2[val_rows])
        elif held is not None and held.any():  # rows as the members that held them out predict
            rows = held.any(axis=0)
            y_held, member_se = self._held_out(x2, y2, held)
            self.metrics_["val"] = regression_metrics(y2[rows], y_held[rows])
        if self.model_.members > 1:
            from .core.metrics import member_rows

            self.member_metrics_ = member_rows(
                self.model_.members,
                None if held is None or not held.any() else (member_se, held.sum(axis=1)),
                self.history_.final.step,
                self.history_.diverged_members,
            )
        self.history_.settings["metrics"] = self.metrics_  # the pictures' verdict reads them
        if y_units and any(y_units):  # a units row in the file: the verdict names them
            self.history_.settings["y_units"] = [str(unit) for unit in y_units]
        if noise_floor is None:  # measurements: what their residuals still say
            from .core.residuals import MAX_ROWS, residual_notes

            sample = np.arange(len(x2))  # the notes read a sample: predict only that
            if len(x2) > MAX_ROWS:
                rng = np.random.default_rng(self._seed())
                sample = np.sort(rng.choice(len(x2), MAX_ROWS, replace=False))
            y_fit = self._predict2d(x2[sample])
            notes = residual_notes(
                x2[sample], y2[sample], y_fit, self.x_names_, self.y_names_, rows=sample
            )
            self.history_.settings["residuals"] = notes
        self.diagnosis_ = verdict(self.history_)  # measurements: their errors, in y's units
        return self

    def _held_out(
        self, x: np.ndarray, y: np.ndarray, held: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """An ensemble's cross-validated predictions (n, n_out), row i the mean of the members
        that held it out (rows no member held out get the average), and each member's sum of
        squared errors on the rows it held out, (members,), in y's units² (averaged over
        outputs)."""
        import torch

        from .core.members import held_out_mean

        self.model_.eval()
        device = next(self.model_.parameters()).device  # trained on a GPU: predict there too
        out = np.empty((len(x), self.model_.n_out), dtype=np.float64)
        member_se = torch.zeros(self.model_.members, dtype=torch.float64, device=device)
        with torch.no_grad():  # in chunks of rows: (members, rows, width) stays bounded
            for start in range(0, len(x), PREDICT_CHUNK):
                part = slice(start, start + PREDICT_CHUNK)
                chunk_x = torch.from_numpy(np.asarray(x[part], np.float32)).to(device)
                each = self.model_.unscale_y(self.model_.layers(self.model_.scale_x(chunk_x)))
                each = each.double()  # (members, rows, n_out)
                chunk = each.mean(dim=0)
                held_part = torch.from_numpy(held[:, part]).double().to(device)
                means, rows = held_out_mean(each, held_part)
                chunk[rows] = means
                out[part] = chunk.cpu().numpy()
                y_part = torch.as_tensor(np.array(y[part], np.float64), device=device)  # a copy
                squares = (each - y_part).square().mean(dim=-1)  # (members, rows)
                member_se += (squares * held_part).sum(dim=1)
        return out, member_se.cpu().numpy()

    def _y_var_scale(self) -> float:
        """Factor from y's units² to the loss's standardised units² (1 without scaling)."""
        return float((self.model_.y_scale**2).mean())

    def _metrics(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """RMSE, MAE, R² in y's units (on a seeded sample of METRIC_ROWS rows for huge sets)."""
        from .core.metrics import regression_metrics

        if len(x) > METRIC_ROWS:
            rows = np.sort(
                np.random.default_rng(self._seed()).choice(len(x), METRIC_ROWS, replace=False)
            )
            x, y = x[rows], y[rows]
        return regression_metrics(y, self._predict2d(x))

    def _predict2d(self, x: np.ndarray) -> np.ndarray:
        """Predictions (n, n_out) as float64, in chunks so memory stays flat for any n."""
        return self._predict_chunks(x, std=False)[0]

    def _predict_chunks(self, x: np.ndarray, *, std: bool) -> tuple[np.ndarray, np.ndarray]:
        """Predictions and (with ``std``) the members' spread, each (n, n_out) as float64."""
        import torch

        self.model_.eval()
        device = next(self.model_.parameters()).device
        out = np.empty((len(x), self.model_.n_out), dtype=np.float64)
        spread = np.zeros_like(out) if std else out[:0]
        with torch.no_grad():
            for start in range(0, len(x), PREDICT_CHUNK):
                part = slice(start, start + PREDICT_CHUNK)
                chunk = torch.from_numpy(np.asarray(x[part], np.float32)).to(device)
                if std:
                    y_pred, y_std = self.model_.predict_with_std(chunk)
                    spread[part] = y_std.cpu().numpy()
                else:
                    y_pred = self.model_(chunk)
                out[part] = y_pred.cpu().numpy()
        return out, spread

    @overload
    def predict(self, x: Any, *, return_std: Literal[False] = ...) -> np.ndarray: ...

    @overload
    def predict(self, x: Any, *, return_std: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...

    def predict(
        self, x: Any, *, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Predictions in y's units: (n,) when fit was given a 1-D y, else (n, n_out).

        Args:
            x: inputs (n,) or (n, n_in), as for ``fit``.
            return_std: also return the standard deviation of the ensemble members'
                predictions in y's units, shaped as the predictions (as scikit-learn's
                ``GaussianProcessRegressor``): how much the members disagree, large where
                the data did not pin the fit down. A single network (``members=1``) has no
                spread: its std is all zeros.

        Returns:
            ``y_pred``, or ``(y_pred, y_std)`` with ``return_std``.

        Inputs outside the range fit saw (``x_min_`` to ``x_max_``) give an
        ``ExtrapolationWarning`` naming the column(s) and the range, once per call.
        """
        if not hasattr(self, "model_"):
            raise NNFitError("this Regressor is not fitted yet; call fit(x, y) first")
        from .data.convert import as_array

        x_array, _ = as_array(x, "x")
        x2 = x_array.reshape(len(x_array), -1)
        if x2.shape[1] != self.n_inputs_:
            raise DataError(
                f"x has {x2.shape[1]} column(s) but the model was trained on "
                f"{self.n_inputs_} ({', '.join(self.x_names_)})"
            )
        self._warn_outside(x2)
        y_pred, y_std = self._predict_chunks(x2, std=return_std)
        if self.y_ndim_ == 1 and self.n_outputs_ == 1:
            y_pred, y_std = y_pred[:, 0], y_std[:, 0]
        return (y_pred, y_std) if return_std else y_pred

    def _warn_outside(self, x: np.ndarray) -> None:
        """An ExtrapolationWarning for rows of x (n, n_in) outside the training range."""
        from .core.extrapolation import extrapolation_note

        x_min, x_max = getattr(self, "x_min_", None), getattr(self, "x_max_", None)
        if x_min is None or x_max is None:  # a run saved before the range was kept
            return
        note = extrapolation_note(x, x_min, x_max, self.x_names_)
        if note is not None:
            warnings.warn(note, ExtrapolationWarning, stacklevel=3)

    def score(self, x: Any, y: Any) -> float:
        """R² of the predictions on (x, y)."""
        from .core.metrics import regression_metrics
        from .data.convert import as_array

        y_array, _ = as_array(y, "y")
        return regression_metrics(y_array, self.predict(x))["r2"]


def fit(x: Any, y: Any, **settings: Any) -> Regressor:
    """Fit y = f(x) with nnfit's defaults for real data; returns the fitted Regressor.

    Example:
        >>> model = fit([0, 1, 2, 3, 4], [0, 1, 4, 9, 16], steps=300)
        >>> model.predict([2.5]).shape
        (1,)
    """
    return Regressor(**settings).fit(x, y)

"""nnfit: fit a relation in data with a small neural network and watch it learn.

Example:
    >>> import nnfit
    >>> x, y = nnfit.make_data(seed=0)                 # the lesson's noisy parabola
    >>> model = nnfit.MLP(1, 10, 1, seed=0)            # Linear(1,10) → ReLU → Linear(10,1)
    >>> history = nnfit.train(model, (x, y), nnfit.TrainConfig(lr=0.5, steps=100))
    >>> nnfit.animate(history, "fit.gif")              # doctest: +SKIP

Everything is imported lazily, so ``import nnfit`` (and ``nnfit --help``) stays instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_attributes
from ._version import __version__
from .errors import DataError, ExtrapolationWarning, NNFitError, TrainingError, UsageError

# public name → module that defines it
_LAZY = {
    "Callback": "core.callbacks",
    "Collect": "core.callbacks",
    "DataConfig": "data.synthetic",
    "Diagnosis": "core.diagnostics",
    "History": "core.history",
    "JsonlLog": "views.logfile",
    "LiveWindow": "views.live",
    "MLP": "core.model",
    "ModelConfig": "core.model_config",
    "NNFitRegressor": "sklearn",
    "Outputs": "runs.runner",
    "PRESETS": "runs.config",
    "Progress": "views.terminal",
    "Regressor": "regressor",
    "RunConfig": "runs.config",
    "Snapshot": "core.history",
    "TrainConfig": "core.train_config",
    "animate": "views.animation",
    "build_config": "runs.config",
    "diagnose": "core.diagnostics",
    "fit": "regressor",
    "load": "runs.runfolder",
    "make_data": "data.synthetic",
    "plot": "views.plotting",
    "run": "runs.runner",
    "train": "core.training",
}

# The public API: the lesson's path (make_data → MLP → train → animate/plot), real data (fit,
# Regressor, load), the records views draw from, and the errors. Views live in nnfit.views,
# whole runs in nnfit.runs, the scikit-learn estimator in nnfit.sklearn; the other names in
# _LAZY still resolve here so code written against earlier versions keeps working.
__all__ = [
    "Callback",
    "DataError",
    "ExtrapolationWarning",
    "History",
    "MLP",
    "ModelConfig",
    "NNFitError",
    "Regressor",
    "Snapshot",
    "TrainConfig",
    "TrainingError",
    "UsageError",
    "__version__",
    "animate",
    "diagnose",
    "fit",
    "load",
    "make_data",
    "plot",
    "train",
]


__getattr__ = lazy_attributes(__name__, _LAZY)


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from .core.callbacks import Callback
    from .core.diagnostics import diagnose
    from .core.history import History, Snapshot
    from .core.model import MLP
    from .core.model_config import ModelConfig
    from .core.train_config import TrainConfig
    from .core.training import train
    from .data.synthetic import make_data
    from .regressor import Regressor, fit
    from .runs.runfolder import load
    from .views.animation import animate
    from .views.plotting import plot

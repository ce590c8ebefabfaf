"""nnfit: fit a relation in data with a small neural network and watch it learn.

Example:
    >>> import nnfit
    >>> x, y = nnfit.make_data(seed=0)                 # the lesson's noisy parabola
    >>> model = nnfit.MLP(1, 10, 1, seed=0)            # Linear(1,10) → ReLU → Linear(10,1)
    >>> history = nnfit.train(model, x, y, nnfit.TrainConfig(lr=0.5, steps=100))
    >>> nnfit.animate(history, "fit.gif")              # doctest: +SKIP

Everything is imported lazily, so ``import nnfit`` (and ``nnfit --help``) stays instant.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import DataError, NNFitError, TrainingError, UsageError

# public name → module that defines it
_LAZY = {
    "Callback": "callbacks",
    "Collect": "callbacks",
    "DataConfig": "data",
    "Diagnosis": "diagnostics",
    "History": "history",
    "JsonlLog": "logfile",
    "LiveWindow": "live",
    "MLP": "model",
    "ModelConfig": "model",
    "NNFitRegressor": "sklearn",
    "Outputs": "runner",
    "PRESETS": "config",
    "Progress": "terminal",
    "Regressor": "estimator",
    "RunConfig": "config",
    "Snapshot": "history",
    "TrainConfig": "training",
    "animate": "animation",
    "build_config": "config",
    "diagnose": "diagnostics",
    "fit": "estimator",
    "load": "runfolder",
    "make_data": "data",
    "plot": "plotting",
    "run": "runner",
    "train": "training",
}

__all__ = [
    "Callback",
    "Collect",
    "DataConfig",
    "DataError",
    "Diagnosis",
    "History",
    "JsonlLog",
    "LiveWindow",
    "MLP",
    "ModelConfig",
    "NNFitError",
    "NNFitRegressor",
    "Outputs",
    "PRESETS",
    "Progress",
    "Regressor",
    "RunConfig",
    "Snapshot",
    "TrainConfig",
    "TrainingError",
    "UsageError",
    "__version__",
    "animate",
    "build_config",
    "diagnose",
    "fit",
    "load",
    "make_data",
    "plot",
    "run",
    "train",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nnfit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from .animation import animate
    from .callbacks import Callback, Collect
    from .config import PRESETS, RunConfig, build_config
    from .data import DataConfig, make_data
    from .diagnostics import Diagnosis, diagnose
    from .estimator import Regressor, fit
    from .history import History, Snapshot
    from .live import LiveWindow
    from .logfile import JsonlLog
    from .model import MLP, ModelConfig
    from .plotting import plot
    from .runfolder import load
    from .runner import Outputs, run
    from .sklearn import NNFitRegressor
    from .terminal import Progress
    from .training import TrainConfig, train

"""``Settings``: the settings of a fit, stored as given: the constructor ``Regressor`` and the
scikit-learn ``NNFitRegressor`` share (scikit-learn reads its parameters from this signature),
the validated configs they describe, and the size checks made before torch loads."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import UsageError
from .settings import REAL_DATA_DEFAULTS, estimator_parameters, estimator_values

if TYPE_CHECKING:
    from .core.model import MLP, ModelConfig
    from .core.training import TrainConfig
    from .runs.config import RunConfig

PREDICT_CHUNK = 65_536  # rows per forward pass when predicting


class Settings:
    """The settings of a fit, stored as given (the constructor shared by ``Regressor`` and the
    scikit-learn ``NNFitRegressor``); validated when ``fit`` builds the configs.

    The parameters are the settings table's estimator settings (``nnfit.settings``) with the
    real-data defaults, then ``random_state`` (``ALIASES``: scikit-learn's name for ``seed``);
    scikit-learn reads them from this signature, so they are written out here, and
    tests/test_settings.py pins them to the table.
    """

    # the settings read by name; __init__ stores every setting as given
    hidden: Sequence[int]
    batch_size: int | None
    seed: int
    val: float

    def __init__(
        self,
        *,
        hidden: Sequence[int] = REAL_DATA_DEFAULTS["hidden"],
        activation: str | Sequence[str] = REAL_DATA_DEFAULTS["activation"],
        scale: bool = REAL_DATA_DEFAULTS["scale"],
        y_transform: str = REAL_DATA_DEFAULTS["y_transform"],
        members: int | str = REAL_DATA_DEFAULTS["members"],
        optimizer: str = REAL_DATA_DEFAULTS["optimizer"],
        lr: float = REAL_DATA_DEFAULTS["lr"],
        steps: int = REAL_DATA_DEFAULTS["steps"],
        loss: str = "mse",
        batch_size: int | None = None,
        every: int = REAL_DATA_DEFAULTS["every"],
        member_lines: int = 0,
        seed: int = 0,
        device: str = "cpu",
        patience: int | None = REAL_DATA_DEFAULTS["patience"],
        target_r2: float | None = None,
        schedule: str = REAL_DATA_DEFAULTS["schedule"],
        restore: str = REAL_DATA_DEFAULTS["restore"],
        momentum: float = 0.9,
        rmsprop_alpha: float = 0.99,
        beta1: float = 0.9,
        beta2: float = 0.999,
        member_lr: Sequence[float] | None = None,
        compile: bool = False,
        threads: int | None = None,
        val: float = REAL_DATA_DEFAULTS["val"],
        random_state: int | None = None,
    ) -> None:
        given = dict(locals())
        del given["self"]
        vars(self).update(given)  # stored as given: scikit-learn's rule for constructors

    @classmethod
    def from_config(cls, config: RunConfig) -> Any:
        """A Regressor with a RunConfig's model and training settings and its --val."""
        return cls(**estimator_values(asdict(config)))

    def configs(self) -> tuple[ModelConfig, TrainConfig]:
        """The validated ModelConfig and TrainConfig these settings describe."""
        from .core.model_config import ModelConfig
        from .core.train_config import TrainConfig

        values = {f: getattr(self, f) for f in self._config_fields()}
        values["seed"] = self._seed()
        hidden = self.hidden  # 32 means (32,); text or a table is left for ModelConfig to refuse
        if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
            values["hidden"] = (hidden,)
        elif isinstance(hidden, (list, tuple, range, np.ndarray)):
            values["hidden"] = tuple(hidden)
        model = ModelConfig(**{f.name: values[f.name] for f in fields(ModelConfig)})
        train = TrainConfig(**{f.name: values[f.name] for f in fields(TrainConfig)})
        return model, train

    def _seed(self) -> Any:
        """``seed``, or ``random_state`` where given (seed left at 0 or equal to it)."""
        random_state = getattr(self, "random_state", None)  # absent from older pickles
        if random_state is None:
            return self.seed
        if self.seed not in (0, random_state):
            raise UsageError(
                f"seed and random_state are one setting; give one of them "
                f"(got seed={self.seed!r}, random_state={random_state!r})"
            )
        return random_state

    def __repr__(self) -> str:
        """``Regressor(steps=500, lr=0.05)``: the parameters that differ from the defaults,
        as scikit-learn shows them."""
        given = vars(self)
        changed = [
            f"{name}={given[name]!r}"
            for name, default in estimator_parameters().items()
            if name in given and not _same(given[name], default)
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    @staticmethod
    def _config_fields() -> list[str]:
        from .core.model_config import ModelConfig
        from .core.train_config import TrainConfig

        return [f.name for cls in (ModelConfig, TrainConfig) for f in fields(cls)]

    def make_model(self, n_in: int, n_out: int, n: int = 0, *, y: Any = None) -> MLP:
        """The untrained network for n_in inputs, n_out outputs and n rows (seeded); n decides
        the member count when ``members`` is "auto", the targets y (when given) the
        ``y_transform`` (without them "auto" means none)."""
        from .core.transform import auto_y_transform

        config, train_config = self.configs()
        members = self.check_fits(n_in, n_out, n)
        y_transform = auto_y_transform(config.y_transform, y) if y is not None else "none"
        if y is None and config.y_transform == "log":
            y_transform = "log"
        from .core.model import MLP  # torch loads only for a network that fits in memory

        return MLP(
            n_in,
            config.hidden,
            n_out,
            activation=config.activation,
            seed=train_config.seed,
            members=members,
            y_transform=y_transform,
        )

    def check_fits(self, n_in: int, n_out: int, n: int) -> int:
        """Refuse (UsageError naming the settings) a network and n rows too big to train in
        the memory left, before torch loads; returns the member count for n rows."""
        from .core.model_config import auto_members

        config, train_config = self.configs()
        members = auto_members(config.members, n)
        self._check_size(n_in, config.hidden, n_out, members, n, train_config.batch_size)
        return members

    @staticmethod
    def _check_size(
        n_in: int, hidden: Sequence[int], n_out: int, members: int, n: int, batch_size: int | None
    ) -> None:
        """Refuse a network and data too big to train in the memory left (see model.check_size).

        Activations count for the most rows passed at once: a training batch (all rows up to
        AUTO_BATCH, or ``batch_size``) or a chunk of PREDICT_CHUNK rows when measuring.
        """
        from .core.model_config import check_size
        from .core.train_config import rows_per_step

        batch = rows_per_step(n, batch_size)
        rows = max(batch, min(n, PREDICT_CHUNK))
        check_size(n_in, hidden, n_out, members=members, rows=rows)


def _same(value: Any, default: Any) -> bool:
    """Whether a parameter is its default (an array or other odd value never is)."""
    try:
        return type(value) is type(default) and bool(value == default)
    except (TypeError, ValueError):
        return False

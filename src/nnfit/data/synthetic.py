"""Synthetic data: the lesson's noisy parabola and its relatives.

The lesson builds ``x = linspace(-1, 1, 100)`` as a column and ``y = x**2 + 0.2 * U(0, 1)``.
``make_data`` does the same for any built-in function or formula, with uniform or gaussian noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..checks import FieldError, SettingsError, check_fields, setting

if TYPE_CHECKING:
    import torch

NOISES = ("uniform", "gaussian")
BYTES_PER_VALUE = 16  # make_data's peak per point and column (x plus y), measured at 1e7 points
COLUMNS = 'column names or 1-based numbers as text, like "a,b" or "2"'


SYNTHETIC, FILES = "data (synthetic)", "data (files and examples)"  # the settings' groups


@dataclass(frozen=True)
class DataConfig:
    """What data to fit; each field is a setting (CLI flag, TOML key; ``val`` also an estimator
    parameter)."""

    function: str = setting(  # a built-in name (nnfit.data.formula.NAMED_FUNCTIONS) or a formula
        "quadratic",
        "quadratic, sin, cubic, abs, step, ... or a formula such as 'sin(3*x) + 0.1*x**2' "
        "(x1, x2, ... for several inputs)",
        group=SYNTHETIC,
        metavar="FORMULA",
    )
    points: int = setting(100, "number of x values", low=2, group=SYNTHETIC)
    noise: str = setting(
        "uniform",
        "{choices}: LEVEL*U(0,1) as in the lesson, or LEVEL*N(0,1); KIND:LEVEL sets both, "
        "e.g. gaussian:0.1",
        choices=NOISES,
        group=SYNTHETIC,
        metavar="KIND[:LEVEL]",
    )
    noise_level: float = setting(
        0.2, "noise scale; 0 for none", low=0, group=SYNTHETIC, metavar="LEVEL"
    )
    domain: tuple[float, float] = setting(  # both ends included
        (-1.0, 1.0), "x range LO,HI", group=SYNTHETIC, flag_type="pair", form="two numbers LO,HI"
    )
    # Real data instead of a function: a file or a shipped example, and which columns to use.
    file: str | None = setting(
        None,
        "CSV/TSV/NPY/NPZ/Parquet path, or - for CSV on stdin (the command's SOURCE)",
        group=FILES,
        flag_type="source",
    )
    example: str | None = setting(
        None, "fit a shipped data set (list them: nnfit examples)", group=FILES, metavar="NAME"
    )
    x: str | None = setting(
        None,
        "input column(s): names or 1-based numbers, e.g. a or a,b",
        group=FILES,
        form=COLUMNS,
    )
    y: str | None = setting(None, "output column(s), e.g. c or c,d", group=FILES, form=COLUMNS)
    encoding: str | None = setting(
        None, "text encoding of the file (unset: detected)", group=FILES, metavar="CODEC"
    )
    drop_missing: bool = setting(
        False, "drop rows with missing values and say how many", group=FILES, flag_type="on"
    )
    val: float = setting(  # the seeded split: nnfit.data.dataset.holdout
        0.0,
        "fraction of rows held out for validation, per ensemble member",
        low=0,
        below=1,
        group=FILES,
        metavar="FRACTION",
    )

    def __post_init__(self) -> None:
        check_fields(self)  # types, then each setting's range and choices
        if self.file is not None and self.example is not None:
            raise SettingsError("give a data file or {example}, not both", "example")
        lo, hi = self.domain
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            rule = "must be two finite numbers LO,HI with LO < HI"
            raise FieldError("domain", rule, self.domain, code="domain")

    @property
    def synthetic(self) -> bool:
        """True when the data come from ``function`` rather than a file or example."""
        return self.file is None and self.example is None

    @property
    def noise_floor(self) -> float:
        """Variance of the noise: the lowest MSE any model can reach on average."""
        if self.noise == "uniform":
            return self.noise_level**2 / 12.0
        return self.noise_level**2


def make_data(
    config: DataConfig | None = None, *, seed: int = 0, **fields: object
) -> tuple[torch.Tensor, torch.Tensor]:
    """Make the lesson's kind of data: evenly spaced x and a noisy function of it.

    Args:
        config: what to make; ``DataConfig()`` is the lesson's parabola.
        seed: seeds the noise, so the same seed gives bit-identical data.
        **fields: shortcuts for DataConfig fields, e.g. ``make_data(function="sin")``.

    Returns:
        ``(x, y)``, float32 tensors of shape ``(points, n_inputs)`` and ``(points, 1)``; one
        input (``x``) is evenly spaced, several (``x1, x2, ...``) are uniform over the domain.

    Example:
        >>> x, y = make_data(seed=0)
        >>> tuple(x.shape), tuple(y.shape)
        ((100, 1), (100, 1))
    """
    from ..data.formula import check_finite, resolve_function
    from ..memory import check_memory

    if config is None:
        config = DataConfig(**fields)  # type: ignore[arg-type]
    elif fields:
        from dataclasses import replace

        config = replace(config, **fields)  # type: ignore[arg-type]
    formula = resolve_function(config.function)
    check_memory(  # x float32 and its float64 copy, y's float64 evaluation and float32 copies
        config.points * (formula.n_inputs + 1) * BYTES_PER_VALUE,
        f"{{points}} {config.points:,}",
        "use fewer {points}",
        names=("points",),
    )
    import torch  # after the checks: a mistyped formula is refused before torch loads

    lo, hi = config.domain
    generator = torch.Generator().manual_seed(seed)
    if formula.n_inputs == 1:
        x = torch.unsqueeze(torch.linspace(lo, hi, config.points), dim=1)  # (points, 1): lesson
    else:  # several inputs: points spread uniformly at random over the domain's box
        x = lo + (hi - lo) * torch.rand(config.points, formula.n_inputs, generator=generator)
    # Evaluate in float64 and round once, which equals the lesson's float32 x.pow(2) bit for bit.
    clean = check_finite(formula, x.double().numpy())
    y = torch.from_numpy(clean).float().reshape(-1, 1)  # (points, 1)
    if config.noise == "uniform":
        noise = torch.rand(y.size(), generator=generator)
    else:
        noise = torch.randn(y.size(), generator=generator)
    return x, y + config.noise_level * noise

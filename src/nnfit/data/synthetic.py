"""Synthetic data: the lesson's noisy parabola and its relatives.

The lesson builds ``x = linspace(-1, 1, 100)`` as a column and ``y = x**2 + 0.2 * U(0, 1)``.
``make_data`` does the same for any built-in function or formula, with uniform or gaussian noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..checks import FieldError, check_fields, check_whole
from ..errors import UsageError

if TYPE_CHECKING:
    import torch

NOISES = ("uniform", "gaussian")
BYTES_PER_VALUE = 16  # make_data's peak per point and column (x plus y), measured at 1e7 points
COLUMNS = 'column names or 1-based numbers as text, like "a,b" or "2"'


@dataclass(frozen=True)
class DataConfig:
    """What synthetic data to make; every field has a CLI flag of the same name."""

    function: str = (
        "quadratic"  # a built-in name (nnfit.data.formula.NAMED_FUNCTIONS) or a formula in x
    )
    points: int = 100  # how many evenly spaced x values
    noise: str = (
        "uniform"  # "uniform": level * U(0, 1) as in the lesson; "gaussian": level * N(0, 1)
    )
    noise_level: float = 0.2  # scale of the noise; 0 for none
    domain: tuple[float, float] = field(  # x range, both ends included
        default=(-1.0, 1.0), metadata={"form": "two numbers LO,HI"}
    )
    # Real data instead of a function: a file or a shipped example, and which columns to use.
    file: str | None = None  # CSV/TSV/NPY/NPZ/Parquet path, or "-" for CSV on stdin
    example: str | None = None  # a shipped data set (nnfit examples lists them)
    x: str | None = field(default=None, metadata={"form": COLUMNS})  # input column(s)
    y: str | None = field(default=None, metadata={"form": COLUMNS})  # output column(s)
    encoding: str | None = None  # text encoding of the file; default: detected
    drop_missing: bool = False  # drop rows with missing values instead of refusing them
    val: float = 0.0  # fraction of the rows held out for validation (seeded split)

    def __post_init__(self) -> None:
        check_fields(self)  # types first: the checks below may compare and do arithmetic
        if not (0 <= self.val < 1):
            raise FieldError("val", "must be a fraction from 0 to below 1", self.val)
        if self.file is not None and self.example is not None:
            raise UsageError("give a data file or --example, not both")
        check_whole("points", self.points, 2)
        if self.noise not in NOISES:
            raise FieldError("noise", f"must be one of {', '.join(NOISES)}", self.noise)
        if not math.isfinite(self.noise_level) or self.noise_level < 0:
            raise FieldError("noise_level", "must be a finite number >= 0", self.noise_level)
        lo, hi = self.domain
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise FieldError("domain", "must be two finite numbers LO,HI with LO < HI", self.domain)

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
    import torch

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
        f"--points {config.points:,}",
        "use fewer --points",
    )
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

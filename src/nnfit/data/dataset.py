"""The data a run fits: synthetic (a function plus noise) or real (a file or shipped example)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..data.synthetic import DataConfig
from ..errors import DataError
from ..safetext import printable


@dataclass(frozen=True)
class Dataset:
    """Arrays to fit, with their names and where they came from."""

    x: np.ndarray  # (n, n_in) float
    y: np.ndarray  # (n, n_out) float
    x_names: tuple[str, ...]
    y_names: tuple[str, ...]
    source: str  # file name, "example NAME" or the formula
    noise_floor: float | None = None  # known noise variance (synthetic data only)
    n_dropped: int = 0  # rows dropped for missing values
    y_units: tuple[str, ...] = ()  # each y column's unit from the file's units row ("" unknown)


def load_dataset(
    config: DataConfig,
    *,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    content: bytes | None = None,
) -> Dataset:
    """Make or read the data ``config`` describes, checked for something to fit.

    Args:
        config: a function with noise, or a file / example with column choices.
        seed: seeds synthetic noise.
        progress: called as ``progress(bytes_read, total_bytes)`` while reading big files.
        content: the text table's bytes, already in memory (the playground's uploads):
            ``config.file`` then only names it, and is never opened.
    """
    if config.synthetic:
        from ..data.formula import resolve_function
        from ..data.synthetic import make_data

        x_tensor, y_tensor = make_data(config, seed=seed)
        formula = resolve_function(config.function)
        names = ("x",) if formula.n_inputs == 1 else formula.variables
        dataset = Dataset(
            x_tensor.numpy(),
            y_tensor.numpy(),
            tuple(names),
            ("y",),
            f"y = {formula.text}",
            noise_floor=config.noise_floor,
        )
    else:
        from ..io.table import columns_for, read_table, select_columns

        x_choice: str | None
        y_choice: str | None
        if config.example is not None:
            from ..data.datasets import EXAMPLES, example_path

            path = str(example_path(config.example))
            example = EXAMPLES[config.example]
            x_choice, y_choice = config.x or example.x, config.y or example.y
        else:
            path, x_choice, y_choice = str(config.file), config.x, config.y
        table = read_table(  # only the chosen columns must hold numbers
            path,
            encoding=config.encoding,
            drop_missing=config.drop_missing,
            progress=progress,
            use=columns_for(x_choice, y_choice, source="<stdin>" if path == "-" else path),
            content=content,
        )
        x, y, x_names, y_names = select_columns(table, x_choice, y_choice)
        source = f"example {config.example}" if config.example else table.source
        units = dict(zip(table.columns, table.units, strict=False)) if table.units else {}
        dataset = Dataset(
            x,
            y,
            x_names,
            y_names,
            source,
            n_dropped=table.n_dropped,
            y_units=tuple(units.get(name, "") for name in y_names) if units else (),
        )
    check_fittable(dataset)
    return dataset


def check_fittable(dataset: Dataset) -> None:
    """Refuse data with nothing to learn: too few rows or an input that never changes."""
    source = printable(dataset.source)
    if len(dataset.x) < 2:
        raise DataError(f"{source}: needs at least 2 rows to fit, got {len(dataset.x)}")
    constant = np.flatnonzero(dataset.x.max(axis=0) == dataset.x.min(axis=0))
    if constant.size:
        name = printable(dataset.x_names[constant[0]])
        raise DataError(
            f"{source}: input column '{name}' has the same value in every "
            "row, so there is nothing to fit; choose another input column (x)"
        )


def split(n: int, val: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/validation row indices; no validation rows when too few rows remain."""
    n_val = round(val * n)
    if n_val < 1 or n - n_val < 2:
        return np.arange(n), np.arange(0)
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])

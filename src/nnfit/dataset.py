"""The data a run fits: synthetic (a function plus noise) or real (a file or shipped example)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .data import DataConfig
from .errors import DataError


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


def load_dataset(
    config: DataConfig, *, seed: int = 0, progress: Callable[[int, int], None] | None = None
) -> Dataset:
    """Make or read the data ``config`` describes, checked for something to fit.

    Args:
        config: a function with noise, or a file / example with column choices.
        seed: seeds synthetic noise.
        progress: called as ``progress(bytes_read, total_bytes)`` while reading big files.
    """
    if config.synthetic:
        from .data import make_data
        from .formula import resolve_function

        x, y = make_data(config, seed=seed)
        formula = resolve_function(config.function)
        names = ("x",) if formula.n_inputs == 1 else formula.variables
        dataset = Dataset(
            x.numpy(),
            y.numpy(),
            tuple(names),
            ("y",),
            f"y = {formula.text}",
            noise_floor=config.noise_floor,
        )
    else:
        from .table import read_table, select_columns

        if config.example is not None:
            from .datasets import EXAMPLES, example_path

            path = str(example_path(config.example))
            example = EXAMPLES[config.example]
            x_choice, y_choice = config.x or example.x, config.y or example.y
        else:
            path, x_choice, y_choice = str(config.file), config.x, config.y
        table = read_table(
            path, encoding=config.encoding, drop_missing=config.drop_missing, progress=progress
        )
        x, y, x_names, y_names = select_columns(table, x_choice, y_choice)
        source = f"example {config.example}" if config.example else table.source
        dataset = Dataset(x, y, x_names, y_names, source, n_dropped=table.n_dropped)
    check_fittable(dataset)
    return dataset


def check_fittable(dataset: Dataset) -> None:
    """Refuse data with nothing to learn: too few rows or an input that never changes."""
    if len(dataset.x) < 2:
        raise DataError(f"{dataset.source}: needs at least 2 rows to fit, got {len(dataset.x)}")
    constant = np.flatnonzero(dataset.x.max(axis=0) == dataset.x.min(axis=0))
    if constant.size:
        name = dataset.x_names[constant[0]]
        raise DataError(
            f"{dataset.source}: input column '{name}' has the same value in every "
            "row, so there is nothing to fit; choose another --x"
        )


def extreme_rows(x: Any) -> np.ndarray:
    """The rows that hold the lowest and the highest value of each input column (sorted).

    ``split`` and ``holdout`` never hold these out: a network that does not see the ends of
    the data's range must extrapolate to them, and a validation loss measured there judges
    extrapolation, not the fit inside the range (10-fold RMSE on the shipped examples:
    pressure 23.2 → 19.6, halley 11.4 → 10.6, bench/README.md).
    """
    x = np.asarray(x)
    x = x.reshape(len(x), -1)
    if len(x) == 0:
        return np.arange(0)
    return np.unique(np.concatenate([x.argmin(axis=0), x.argmax(axis=0)]))


def split(
    n: int, val: float, seed: int, keep: Sequence[int] | np.ndarray = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/validation row indices; no validation rows when too few rows remain.

    Rows in ``keep`` (e.g. ``extreme_rows(x)``) are always training rows."""
    n_val = round(val * n)
    if n_val < 1 or n - n_val < 2:
        return np.arange(n), np.arange(0)
    order = np.random.default_rng(seed).permutation(n)
    val_rows = np.setdiff1d(order[:n_val], np.asarray(keep, dtype=int))
    return np.setdiff1d(np.arange(n), val_rows), val_rows


def holdout(
    n: int, members: int, val: float, seed: int, keep: Sequence[int] | np.ndarray = ()
) -> np.ndarray:
    """Which rows each member of an ensemble holds out: a (members, n) boolean mask.

    Each member holds out ``val`` of the rows, one block of a seeded permutation; a
    permutation gives ``floor(1 / val)`` disjoint blocks (val 0.2: 5-fold cross-validation),
    then the next member starts a fresh permutation. So 20 members at val 0.2 are 5-fold
    cross-validation repeated 4 times: every row is held out by several members and every
    member trains on a different 80%. Rows in ``keep`` (e.g. ``extreme_rows(x)``) are never
    held out. One member holds out the same rows as ``split``. All False (train on everything,
    no early stopping) when val is 0 or too few rows would be left to train on.
    """
    mask = np.zeros((members, n), dtype=bool)
    blocks = max(1, int(1 / val + 1e-9)) if val > 0 else 1  # disjoint blocks per permutation
    edges = np.round(np.arange(blocks + 1) * val * n).astype(int)
    largest = int(np.diff(edges).max())
    if largest < 1 or n - largest < 2:
        return mask
    rng = np.random.default_rng(seed)
    for member in range(members):
        block = member % blocks
        if block == 0:
            order = rng.permutation(n)
        mask[member, order[edges[block] : edges[block + 1]]] = True
    mask[:, np.asarray(keep, dtype=int)] = False
    return mask

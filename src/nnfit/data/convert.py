"""The one input converter: lists, arrays, tensors, DataFrames or Series → numbers to fit.

One dtype rule (float32 stays float32, everything else becomes float64, then training works
in float32), one message style ("x row 3, column 'b': ..."), and DataFrame or Series column
names read here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from ..io.cells import FLOAT32_OVERFLOW
from ..safetext import printable


def as_array(values: Any, name: str) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Lists, arrays, tensors, DataFrames or Series → 1-D or 2-D array, plus column names.

    float32 stays float32 (big files arrive so); everything else becomes float64. Complex
    values are refused (never silently cut to their real part), and so are missing or infinite
    values and values float32 cannot hold, with the row and column, since training runs in
    float32. The names are a DataFrame's columns or a Series' name, else None.
    """
    names = None
    if hasattr(values, "columns"):  # pandas or polars DataFrame, duck-typed
        names = tuple(str(c) for c in values.columns)
    elif getattr(values, "name", None) is not None and hasattr(values, "to_numpy"):  # Series
        names = (str(values.name),)
    if hasattr(values, "detach"):  # torch tensor
        values = values.detach().cpu()
        if str(values.dtype) == "torch.bfloat16":  # numpy has no bfloat16
            values = values.float()
    try:
        if hasattr(values, "detach"):
            values = values.numpy()
        elif hasattr(values, "to_numpy"):
            values = values.to_numpy()
        raw = np.asarray(values)
        if raw.dtype.kind == "c":
            raise DataError(
                f"{name} holds complex numbers; pass the real and imaginary parts as two columns"
            )
        array = raw.astype(np.float32 if raw.dtype == np.float32 else np.float64, copy=False)
    except OverflowError:  # a Python int beyond float64, in an object array
        raise DataError(
            f"{name} holds a number too large for float32 (largest 3.4e38); rescale it"
        ) from None
    except (TypeError, ValueError) as error:
        if isinstance(error, DataError):
            raise
        raise DataError(
            f"{name} must be numbers (a list, array, tensor or DataFrame), got "
            f"{type(values).__name__}"
        ) from None
    if array.ndim not in (1, 2) or len(array) == 0:
        raise DataError(f"{name} must be 1-D or 2-D with at least one row, got shape {array.shape}")
    table = array.reshape(len(array), -1)  # (n_rows, n_columns), a view

    def where(flags: np.ndarray) -> str:
        """'x row 3, column 2' (or the column's name) of the first True in flags."""
        row, column = (int(i) for i in np.argwhere(flags)[0])
        label = str(column + 1)
        if names is not None and len(names) == table.shape[1]:
            label = f"'{printable(names[column])}'"
        return f"{name} row {row + 1}, column {label}"

    if not np.isfinite(table).all():
        raise DataError(
            f"{where(~np.isfinite(table))}: a missing or infinite value; remove or fill such "
            "rows first"
        )
    if array.dtype == np.float64 and not (
        table.min() > -FLOAT32_OVERFLOW and table.max() < FLOAT32_OVERFLOW
    ):
        flags = np.abs(table) >= FLOAT32_OVERFLOW
        value = table[tuple(np.argwhere(flags)[0])]
        raise DataError(
            f"{where(flags)}: {value:.6g} is too large for float32 (largest 3.4e38); rescale "
            "it (e.g. other units)"
        )
    return array, names


def as_matrix(values: Any, name: str) -> torch.Tensor:
    """``as_array``'s checks, then a float32 tensor (n, k); 1-D becomes (n, 1)."""
    return as_columns(values, name)[0]


def as_columns(values: Any, name: str) -> tuple[torch.Tensor, tuple[str, ...] | None]:
    """``as_matrix`` plus the column names ``as_array`` found (a DataFrame's, else None)."""
    array, names = as_array(values, name)  # float32 data passes through without a copy
    array = np.ascontiguousarray(array.reshape(len(array), -1))  # (n, k)
    return torch.from_numpy(array).float(), names


def column_names(given: Sequence[str] | None, n: int, prefix: str) -> tuple[str, ...]:
    """Column names: the given ones, else x (one column) or x1, x2, ..."""
    if given is not None:
        if len(given) != n:
            raise DataError(f"{len(given)} {prefix} name(s) given for {n} {prefix} column(s)")
        return tuple(str(name) for name in given)
    return (prefix,) if n == 1 else tuple(f"{prefix}{i + 1}" for i in range(n))


def names_for(
    given: Sequence[str] | None, found: tuple[str, ...] | None, n: int, prefix: str
) -> tuple[str, ...]:
    """Given names, else the DataFrame's own (``as_array``'s) when they fit, else x / x1, x2."""
    if given is None and found is not None and len(found) == n:
        given = found
    return column_names(given, n, prefix)

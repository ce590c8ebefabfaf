"""The mean and standard deviation of ensemble members' predictions, a chunk of members at a time.

``Spread`` uses only arithmetic and ``.sum(0)``, so the torch model (``MLP``) and its NumPy
twin (``NumpyMLP``) gather their members the same way. The spread's sums are taken around the
first member's prediction (the shifted-data algorithm), so the variance keeps its precision
when the members agree closely, where ``E[h²] - E[h]²`` would cancel.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Spread"]


class Spread:
    """Running sums over members' predictions (float64 arrays or tensors).

    Example:
        >>> spread = Spread()
        >>> spread.add(np.array([[[1.0]], [[3.0]]]))  # (members, n, n_out)  # doctest: +SKIP
        >>> spread.mean(), spread.std()                # [[2.]], [[1.]]       # doctest: +SKIP
    """

    def __init__(self) -> None:
        self.count = 0
        self.total: Any = 0.0  # Σ h, (n, n_out)
        self.shift: Any = None  # the first member's prediction
        self.shifted: Any = 0.0  # Σ (h - shift)
        self.squares: Any = 0.0  # Σ (h - shift)²

    def add(self, h: Any, *, std: bool = True) -> None:
        """Add a chunk of members' predictions h (members, n, n_out); ``std=False`` sums only
        what the mean needs."""
        self.count += int(h.shape[0])
        self.total = self.total + h.sum(0)
        if std:
            if self.shift is None:
                self.shift = h[0]
            deviation = h - self.shift  # (members, n, n_out)
            self.shifted = self.shifted + deviation.sum(0)
            self.squares = self.squares + (deviation * deviation).sum(0)

    def mean(self) -> Any:
        """The members' average, (n, n_out)."""
        return self.total / self.count

    def std(self) -> Any:
        """Their standard deviation (divided by the member count, as ``np.std``), (n, n_out)."""
        offset = self.shifted / self.count
        variance = self.squares / self.count - offset * offset
        return (variance * (variance > 0)) ** 0.5  # rounding can leave -1e-17 where all agree

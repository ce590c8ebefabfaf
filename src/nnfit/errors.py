"""nnfit's exceptions: each carries a one-line message a person can act on.

The CLI prints ``str(error)`` on one line of stderr and exits with ``error.exit_code``.
"""

from __future__ import annotations


class NNFitError(Exception):
    """Base of every error nnfit raises on purpose."""

    exit_code = 1


class UsageError(NNFitError, ValueError):
    """A setting or flag has a value that is not allowed (exit status 2)."""

    exit_code = 2


class DataError(NNFitError, ValueError):
    """Input data cannot be used: unreadable, malformed, non-numeric, non-finite (exit status 2)."""

    exit_code = 2


class TrainingError(NNFitError, RuntimeError):
    """Training could not run, e.g. the requested device is absent."""

    exit_code = 1


class ExtrapolationWarning(UserWarning):
    """Predictions were asked for inputs outside the range the model was trained on."""

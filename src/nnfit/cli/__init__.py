"""The ``nnfit`` command: a thin adapter over the library (``main`` is the entry point)."""

from .main import main, make_parser

__all__ = ["main", "make_parser"]

"""Whole runs: settings and presets, ``run()`` with its outputs, signals, checkpoints and run
folders. ``from nnfit.runs import run, Outputs, RunConfig, build_config, PRESETS`` (lazy)."""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "Outputs": "runner",
    "PRESETS": "config",
    "RunConfig": "config",
    "build_config": "config",
    "load": "runfolder",
    "run": "runner",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module 'nnfit.runs' has no attribute {name!r}")

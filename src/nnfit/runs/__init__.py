"""Whole runs: settings and presets, ``run()`` with its outputs, signals, checkpoints and run
folders. ``from nnfit.runs import run, Outputs, RunConfig, build_config, PRESETS`` (lazy)."""

from __future__ import annotations

from .._lazy import lazy_attributes

_HOMES = {
    "Outputs": "runner",
    "PRESETS": "config",
    "RunConfig": "config",
    "build_config": "config",
    "load": "runfolder",
    "run": "runner",
}
__all__ = sorted(_HOMES)
__getattr__ = lazy_attributes(__name__, _HOMES)

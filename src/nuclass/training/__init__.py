"""Training with Lightning: the config (`config`), the LightningModule (`module`), the data side
(`datamodule`), the callbacks (`callbacks`), the one adapter to Lightning internals (`lightning_adapter`)
and `train(config) -> dict` (`run`).

The config is light to import (the CLI builds its options from it); the rest imports torch and Lightning
on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from nuclass.training.config import (
    DEFAULTS,
    GPU_PRECISIONS,
    PRECISIONS,
    PRESETS,
    TrainConfig,
    config_values,
    load_config,
)

__all__ = [
    "TrainConfig",
    "DEFAULTS",
    "PRESETS",
    "PRECISIONS",
    "GPU_PRECISIONS",
    "config_values",
    "load_config",
    "train",
    "cpu_seconds",
    "TaskModule",
]

_LAZY = {
    "train": "nuclass.training.run",
    "cpu_seconds": "nuclass.training.run",
    "TaskModule": "nuclass.training.module",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nuclass.training' has no attribute '{name}'")

"""Training with Lightning: the config (`config`), the LightningModule (`module`), the data side
(`datamodule`), the callbacks (`callbacks`), the one adapter to Lightning internals (`lightning_adapter`)
and `train(config) -> dict` (`run`).

The config is light to import (the CLI builds its options from it); the rest imports torch and Lightning
on first use.
"""

from __future__ import annotations

from nuclass.lazy import lazy_attributes
from nuclass.training.config import PRESETS, TrainConfig, load_config

__all__ = ["TrainConfig", "PRESETS", "load_config", "train", "cpu_seconds", "TaskModule"]

__getattr__ = lazy_attributes(
    __name__,
    {
        "train": "nuclass.training.run",
        "cpu_seconds": "nuclass.training.callbacks",
        "TaskModule": "nuclass.training.module",
    },
)

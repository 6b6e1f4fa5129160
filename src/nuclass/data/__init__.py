"""From files to training batches: file discovery, splits by file, per-task event indexes, balancing,
and a streaming dataset that reads whole HDF5 chunks with bounded memory.

The torch-based dataset is imported on first use, so that the light parts (splits, balancing) can be
used by the CLI without importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from nuclass.data.balance import BALANCE_METHODS, class_weights, sampling_weights, undersample_to_balance
from nuclass.data.splits import expand_paths, split_files
from nuclass.data.transforms import PIXEL_TRANSFORMS, normalise_maps

__all__ = [
    "BALANCE_METHODS",
    "class_weights",
    "sampling_weights",
    "undersample_to_balance",
    "EventIndex",
    "StreamingDataset",
    "build_index",
    "expand_paths",
    "split_files",
    "PIXEL_TRANSFORMS",
    "normalise_maps",
]

_LAZY = {"EventIndex", "StreamingDataset", "build_index"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module("nuclass.data.dataset"), name)
    raise AttributeError(f"module 'nuclass.data' has no attribute '{name}'")

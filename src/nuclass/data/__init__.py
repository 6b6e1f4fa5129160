"""From files to training batches: splits by file, balancing, pixel transforms, per-task event indexes,
the streaming dataset that reads whole HDF5 chunks with bounded memory, and a run's prepared indexes.

The torch-based dataset is imported on first use, so that the light parts (splits, balancing) can be
used by the CLI without importing torch.
"""

from __future__ import annotations

from nuclass.data.balance import BALANCE_METHODS, class_weights, sampling_weights, undersample_to_balance
from nuclass.data.index import EventIndex, build_index
from nuclass.data.prepare import PreparedData, balanced_test_positions, prepare_data
from nuclass.data.splits import split_files
from nuclass.data.transforms import PIXEL_TRANSFORMS, normalise_maps
from nuclass.lazy import lazy_attributes

__all__ = [
    "BALANCE_METHODS",
    "class_weights",
    "sampling_weights",
    "undersample_to_balance",
    "EventIndex",
    "StreamingDataset",
    "build_index",
    "PreparedData",
    "prepare_data",
    "balanced_test_positions",
    "split_files",
    "PIXEL_TRANSFORMS",
    "normalise_maps",
]


__getattr__ = lazy_attributes(__name__, {"StreamingDataset": "nuclass.data.streaming"})

"""From files to training batches: file discovery, splits by file, per-task event indexes, balancing,
and a streaming dataset that reads whole HDF5 chunks with bounded memory."""

from nuclass.data.balance import BALANCE_METHODS, class_weights, sampling_weights, undersample_to_balance
from nuclass.data.dataset import EventIndex, StreamingDataset, build_index
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

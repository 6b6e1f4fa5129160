"""Files: which ones a path names (`paths`), the NOvA format (`nova_h5`), downloads (`fetch`) and what a
set of files holds (`summary`)."""

from nuclass.io.nova_h5 import (
    Events,
    MapReader,
    iter_batches,
    read_file,
    read_truth,
    validate_file,
    write_file,
)
from nuclass.io.paths import expand_paths

__all__ = [
    "Events",
    "MapReader",
    "read_file",
    "read_truth",
    "iter_batches",
    "validate_file",
    "write_file",
    "expand_paths",
]

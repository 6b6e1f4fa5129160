"""Reading and writing NOvA teaching files (`nova_h5`) and downloading them (`fetch`)."""

from nuclass.io.nova_h5 import (
    Events,
    MapReader,
    iter_batches,
    read_file,
    read_truth,
    validate_file,
    write_file,
)

__all__ = ["Events", "MapReader", "read_file", "read_truth", "iter_batches", "validate_file", "write_file"]

"""Whole-chunk reads of a `cvnmap` dataset: a chunk's stored bytes taken straight from the file
(os.pread, at the offsets HDF5's chunk index gives once per file) and inflated by zlib, bypassing HDF5's
selection and filter machinery (1.3× the events per CPU-second of an h5py read of the same chunk) and
holding Python's GIL only between the two, so that loader threads read in parallel; for the layouts
that allow it: uint8 maps chunked by whole rows, stored raw or with gzip (deflate), optionally
byte-shuffled (a no-op on bytes). Any other layout (lzf, float maps, checksums, chunks that split a
row) is read through h5py instead.
"""

from __future__ import annotations

import os
import zlib

import h5py
import numpy as np

__all__ = ["DirectChunks"]

_NO_OP_FILTERS = (h5py.h5z.FILTER_SHUFFLE,)  # byte shuffle of 1-byte values leaves them as they are


class DirectChunks:
    """Chunk k of a 2-D uint8 dataset (N, row) chunked as (chunk, row): `read(k)` -> (rows, row) uint8,
    rows = chunk (fewer in the last chunk). `DirectChunks.supports(ds)` says whether the layout allows it.
    """

    def __init__(self, ds: h5py.Dataset, path: str | os.PathLike) -> None:
        if not self.supports(ds):
            raise ValueError(f"{ds.name}: layout not readable chunk by chunk (see DirectChunks.supports)")
        self._rows, self.chunk_rows, self._row_bytes = ds.shape[0], ds.chunks[0], ds.shape[1]
        self._deflate = _filter_position(ds, h5py.h5z.FILTER_DEFLATE)
        self._fill = int(ds.fillvalue)
        self._stored: dict[int, tuple[int, int, int]] = {}  # chunk -> (byte offset, size, filter mask)

        def keep(info: h5py.h5d.StoreInfo) -> None:
            self._stored[info.chunk_offset[0] // self.chunk_rows] = (info.byte_offset, info.size,
                                                                      info.filter_mask)

        ds.id.chunk_iter(keep)
        self._fd = os.open(path, os.O_RDONLY)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    __del__ = close

    @staticmethod
    def supports(ds: h5py.Dataset) -> bool:
        if ds.dtype != np.uint8 or ds.ndim != 2 or not ds.chunks or ds.chunks[1] != ds.shape[1]:
            return False
        plist = ds.id.get_create_plist()
        codes = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
        return all(c == h5py.h5z.FILTER_DEFLATE or c in _NO_OP_FILTERS for c in codes)

    def read(self, k: int) -> np.ndarray:
        """Rows [k · chunk, min((k + 1) · chunk, N)); ValueError on bytes that do not inflate to a chunk."""
        rows = min(self.chunk_rows, self._rows - k * self.chunk_rows)
        if k not in self._stored:  # never written: HDF5 reads it as the fill value
            return np.full((rows, self._row_bytes), self._fill, dtype=np.uint8)
        offset, size, mask = self._stored[k]
        data = os.pread(self._fd, size, offset)
        if self._deflate is not None and not (mask >> self._deflate) & 1:
            try:
                data = zlib.decompress(data)
            except zlib.error as exc:
                raise ValueError(f"chunk {k} does not inflate ({exc})") from None
        full = self.chunk_rows * self._row_bytes
        if len(data) != full:
            raise ValueError(f"chunk {k} holds {len(data)} bytes, expected {full}")
        maps = np.frombuffer(data, dtype=np.uint8, count=rows * self._row_bytes)
        return maps.reshape(rows, self._row_bytes)


def _filter_position(ds: h5py.Dataset, code: int) -> int | None:
    """Position of filter `code` in the dataset's pipeline (its bit in a chunk's filter mask), or None."""
    plist = ds.id.get_create_plist()
    found = [i for i in range(plist.get_nfilters()) if plist.get_filter(i)[0] == code]
    return found[0] if found else None

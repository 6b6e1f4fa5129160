"""The NOvA teaching-file format: read (fast, whole chunks), validate at the boundary, write atomically.

A file holds `cvnmap` (N, 16000) — each row is (view, plane, cell) = (2, 100, 80), view 0 the x–z view —
and `neutrino`, the truth: a group of datasets shaped (N, 1) or (N,), or one compound table. This module
is the only place that knows the layout; it never touches the network.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from nuclass.atomic import atomic_path
from nuclass.errors import FormatError
from nuclass.io.chunks import DirectChunks
from nuclass.labels.enums import N_FINALSTATES, N_INTERACTIONS
from nuclass.labels.truth import REQUIRED_TRUTH, TRUTH_DTYPES

__all__ = [
    "Events",
    "MapReader",
    "MAP_SHAPE",
    "read_file",
    "read_truth",
    "iter_batches",
    "validate_file",
    "write_file",
    "DEFAULT_COMPRESSION",
    "DEFAULT_COMPRESSION_LEVEL",
    "DEFAULT_CHUNK_EVENTS",
]

MAP_SHAPE = (2, 100, 80)  # (view, plane, cell); view 0 = x–z, view 1 = y–z
MAP_SIZE = MAP_SHAPE[0] * MAP_SHAPE[1] * MAP_SHAPE[2]  # 16000 values per row of `cvnmap`
# Chosen by benchmarks/bench_read.py (benchmarks/README.md) on a simulated 7,000-event file, events per
# CPU-second of read_file: the maps are ~1 % lit, and on them gzip beats lzf in size and speed alike
# (lzf's 264-byte matches are slow on long zero runs). gzip 1: 45k events/s, 4.9 MB; gzip 4: 32k, 4.2 MB;
# gzip 6: 36k, 4.0 MB; lzf: 22k, 6.3 MB; uncompressed: 205k, 113 MB. Chunks of 32 events (512 kB) read in
# bulk as fast as 128 (45k vs 43k) but cost a quarter as much per random single-event read (1.7k vs
# 0.4k events/s); 8- and 16-event chunks speed random reads up further but leave little or no margin on
# the ≥ 25× target over the seeds' one-event loop (19×, 26×; 41× at 32).
DEFAULT_COMPRESSION = "gzip"
DEFAULT_COMPRESSION_LEVEL: int | None = 1  # gzip's level (1–9); None for lzf
DEFAULT_CHUNK_EVENTS = 32
# No HDF5 chunk cache when reads cover whole chunks (each chunk then goes straight from disk through
# its filter into our buffer; a cache only adds a copy: 5–20 % slower in benchmarks/bench_read.py), and
# one row of chunks when a batch is smaller than a chunk, so that no chunk is decompressed twice.
_CACHE_MAX_BYTES = 256 * 1024 * 1024
_CACHE_SLOTS = 10007  # a prime well above the number of chunks the cache holds
_CONVERT_ROWS = 1024  # maps stored as non-uint8 are checked and converted this many events at a time


@dataclass
class Events:
    """A block of events: `maps` (N, 2, 100, 80) uint8 and `meta`, a dict of 1-D truth arrays of length N.

    `source` names the file the events came from and `start` the index of the first one in it
    (None for events assembled from several files).
    """

    maps: np.ndarray
    meta: dict[str, np.ndarray]
    source: Path | None = None
    start: int = 0
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.maps)

    def take(self, index: np.ndarray | slice) -> Events:
        """The events at `index` (a boolean mask, integer indices or a slice)."""
        return Events(
            self.maps[index],
            {k: v[index] for k, v in self.meta.items()},
            None,
            0,
            {k: v[index] for k, v in self.extra.items()},
        )

    @staticmethod
    def concatenate(blocks: Sequence[Events]) -> Events:
        """One Events holding all of `blocks` in order (truth fields common to all blocks)."""
        keys = set.intersection(*(set(b.meta) for b in blocks))
        extra_keys = set.intersection(*(set(b.extra) for b in blocks))
        return Events(
            np.concatenate([b.maps for b in blocks]),
            {k: np.concatenate([b.meta[k] for b in blocks]) for k in sorted(keys)},
            extra={k: np.concatenate([b.extra[k] for b in blocks]) for k in sorted(extra_keys)},
        )


def _open(path: Path, cache_bytes: int = 0) -> h5py.File:
    if not path.exists():
        raise FormatError(path, None, "an existing file", "no such file")
    if not path.is_file():
        raise FormatError(path, None, "a file", "a directory")
    try:
        return h5py.File(path, "r", rdcc_nbytes=cache_bytes, rdcc_nslots=_CACHE_SLOTS)
    except OSError as exc:
        text = str(exc)
        truncated = re.search(r"truncated file: eof = (\d+).*stored_eof = (\d+)", text)
        if truncated:
            got = f"truncated ({int(truncated[1]):,} of {int(truncated[2]):,} bytes)"
            raise FormatError(path, None, "a complete HDF5 file", got) from None
        if "signature not found" in text:
            raise FormatError(path, None, "an HDF5 file", "no HDF5 signature (not an HDF5 file)") from None
        raise FormatError(path, None, "a readable HDF5 file", _short(exc)) from None


@contextmanager
def _open_maps(path: Path, batch_size: int | None = None) -> Iterator[tuple[h5py.File, h5py.Dataset]]:
    """The open file and its validated `cvnmap`; reads of `batch_size` events (None: all) that end inside
    a chunk get a chunk cache holding one row of chunks."""
    f = _open(path)
    try:
        ds = _maps_dataset(f, path)
        if ds.chunks and batch_size is not None and batch_size < min(ds.chunks[0], ds.shape[0]):
            # bytes of the chunks that hold chunks[0] whole events (several if chunks split a row)
            per_row = -(-MAP_SIZE // ds.chunks[1]) * ds.chunks[1]
            need = ds.chunks[0] * per_row * ds.dtype.itemsize
            f.close()
            f = _open(path, min(need + need // 4, _CACHE_MAX_BYTES))
            ds = f["cvnmap"]
        yield f, ds
    finally:
        f.close()


def _short(exc: BaseException) -> str:
    return str(exc).replace("synchronously ", "") or type(exc).__name__


def _truth_columns(f: h5py.File, path: Path) -> dict[str, np.ndarray]:
    """Truth columns as 1-D arrays, from a group of datasets or from one compound table.

    Fields the pipeline does not know (not among the real files' 16) are kept only if they are columns,
    and skipped otherwise, so extra fields never make a file unreadable.
    """
    if "neutrino" not in f:
        raise FormatError.missing(path, "neutrino", f.keys())
    node = f["neutrino"]
    try:
        if isinstance(node, h5py.Group):
            raw = {name: ds[()] for name, ds in node.items() if isinstance(ds, h5py.Dataset)}
        elif node.dtype.names:
            table = node[()].reshape(-1)
            raw = {name: table[name] for name in node.dtype.names}
        else:
            expected = "a group of datasets or a compound table"
            raise FormatError(path, "neutrino", expected, f"dtype {node.dtype}")
    except OSError as exc:
        raise FormatError(path, "neutrino", "readable truth", f"unreadable ({_short(exc)})") from None
    columns = {}
    for name, values in raw.items():
        values = np.asarray(values)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim == 1:
            columns[name] = values
        elif name in TRUTH_DTYPES:
            raise FormatError(path, f"neutrino/{name}", "shape (N,) or (N, 1)", f"shape {values.shape}")
    return columns


def _validate_truth(path: Path, columns: dict[str, np.ndarray], n_maps: int) -> dict[str, np.ndarray]:
    for name in REQUIRED_TRUTH:
        if name not in columns:
            raise FormatError.missing(path, f"neutrino/{name}", [f"neutrino/{c}" for c in columns])
    for name, values in list(columns.items()):
        if len(values) != n_maps:
            if name not in TRUTH_DTYPES:
                del columns[name]  # an unknown extra field of another length: not a truth column
                continue
            raise FormatError(path, f"neutrino/{name}", f"{n_maps} rows like cvnmap", f"{len(values)}")
    for name, limit in (("interaction", N_INTERACTIONS), ("finalstate", N_FINALSTATES)):
        codes = columns[name]
        if codes.dtype.kind not in "iuf":
            raise FormatError(path, f"neutrino/{name}", "integer codes", f"dtype {codes.dtype}")
        bad = (codes < 0) | (codes >= limit) | (codes != np.floor(codes))
        if bad.any():
            raise FormatError(
                path,
                f"neutrino/{name}",
                f"codes 0–{limit - 1}",
                f"{codes[bad][0].item()!r} at row {np.argmax(bad)}",
            )
        columns[name] = codes.astype(np.int64)
    for name in ("nuenergy", "lepenergy"):
        energy = columns[name]
        if energy.dtype.kind not in "iuf":
            raise FormatError(path, f"neutrino/{name}", "energies in GeV", f"dtype {energy.dtype}")
        bad = ~np.isfinite(energy) | (energy < 0)
        if bad.any():
            got = f"{energy[bad][0].item()!r} at row {np.argmax(bad)}"
            raise FormatError(path, f"neutrino/{name}", "finite energies ≥ 0 GeV", got)
    return columns


def _maps_dataset(f: h5py.File, path: Path) -> h5py.Dataset:
    if "cvnmap" not in f:
        raise FormatError.missing(path, "cvnmap", f.keys())
    ds = f["cvnmap"]
    if not isinstance(ds, h5py.Dataset) or ds.ndim != 2 or ds.shape[1] != MAP_SIZE:
        shape = getattr(ds, "shape", "a group")
        raise FormatError(path, "cvnmap", f"rows of {MAP_SIZE} values (N, {MAP_SIZE})", f"{shape}")
    if ds.dtype.kind not in "uif":
        raise FormatError(path, "cvnmap", "uint8 or a numeric type holding 0–255", f"dtype {ds.dtype}")
    if ds.shape[0] == 0:
        raise FormatError(path, "cvnmap", "at least one event", "0")
    return ds


def _read_maps(path: Path, ds: h5py.Dataset, start: int, stop: int) -> np.ndarray:
    """Maps start:stop as (n, 2, 100, 80) uint8, read in bulk (whole chunks, never event by event).

    uint8 maps go straight into the output buffer; other types are range-checked and converted a block
    of events at a time, so a float file never costs more than one block of float memory.
    """
    n = stop - start
    out = np.empty((n, MAP_SIZE), dtype=np.uint8)
    try:
        if ds.dtype == np.uint8:
            ds.read_direct(out, source_sel=np.s_[start:stop])
        else:
            block = _CONVERT_ROWS
            if ds.chunks and ds.chunks[0] <= block:
                block -= block % ds.chunks[0]  # whole chunks per block
            for lo in range(start, stop, block):
                hi = min(lo + block, stop)
                raw = ds[lo:hi]
                bad = ~np.isfinite(raw) | (raw < 0) | (raw > 255)
                if bad.any():
                    row, col = np.argwhere(bad)[0]
                    raise FormatError(
                        path, "cvnmap", "values 0–255", f"{raw[row, col].item()!r} in row {lo + row}"
                    )
                out[lo - start : hi - start] = np.rint(raw) if raw.dtype.kind == "f" else raw
    except OSError as exc:
        raise FormatError(path, "cvnmap", "readable data", f"unreadable ({_short(exc)})") from None
    return out.reshape((n, *MAP_SHAPE))


class MapReader:
    """Row-range reads of one validated file's maps, for data loaders that keep files open.

    `read(start, stop)` returns (n, 2, 100, 80) uint8 in one bulk call; read whole chunks
    (`chunk_events` rows, None for contiguous storage) to avoid decompressing a chunk twice;
    `read_chunk(k)` reads chunk k alone, straight from its stored bytes where the layout allows (io.chunks).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._file = _open(self.path)
        try:
            self._ds = _maps_dataset(self._file, self.path)
        except FormatError:
            self._file.close()
            raise
        self._direct = DirectChunks(self._ds, self.path) if DirectChunks.supports(self._ds) else None

    @property
    def n_events(self) -> int:
        return self._ds.shape[0]

    @property
    def chunk_events(self) -> int | None:
        return self._ds.chunks[0] if self._ds.chunks else None

    def read(self, start: int, stop: int) -> np.ndarray:
        return _read_maps(self.path, self._ds, start, stop)

    def read_chunk(self, k: int) -> np.ndarray:
        """Maps of chunk k of a chunked file, (rows, 2, 100, 80) uint8 (read-only when read directly)."""
        if self._direct is None:
            chunk = self._ds.chunks[0]
            return self.read(k * chunk, min((k + 1) * chunk, self.n_events))
        try:
            return self._direct.read(k).reshape(-1, *MAP_SHAPE)
        except (OSError, ValueError) as exc:
            raise FormatError(self.path, "cvnmap", "readable data", f"unreadable ({_short(exc)})") from None

    def close(self) -> None:
        if self._direct is not None:
            self._direct.close()
        self._file.close()

    def __enter__(self) -> MapReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_truth(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Validated truth columns of one file (1-D arrays), without reading the maps."""
    path = Path(path)
    with _open(path) as f:
        n = _maps_dataset(f, path).shape[0]
        return _validate_truth(path, _truth_columns(f, path), n)


def validate_file(path: str | os.PathLike) -> int:
    """Check that `path` is a complete, valid NOvA file (truth and every map chunk read); its event count."""
    path = Path(path)
    n = 0
    for batch in iter_batches([path], batch_size=2048):
        n += len(batch)
    return n


def read_file(path: str | os.PathLike) -> Events:
    """Read and validate a whole file: `.maps` (N, 2, 100, 80) uint8 and `.meta` (every truth column, 1-D)."""
    path = Path(path)
    with _open_maps(path) as (f, ds):
        meta = _validate_truth(path, _truth_columns(f, path), ds.shape[0])
        return Events(_read_maps(path, ds, 0, ds.shape[0]), meta, path, 0)


def iter_batches(paths: Iterable[str | os.PathLike], batch_size: int = 4096) -> Iterator[Events]:
    """Yield validated Events of at most `batch_size` events, file by file, one batch of maps at a time.

    Batches do not span files; each carries its `source` file and `start` row. Batch boundaries are
    rounded to the file's HDF5 chunks where possible, so no chunk is decompressed twice.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be ≥ 1")
    for p in paths:
        path = Path(p)
        with _open_maps(path, batch_size) as (f, ds):
            n = ds.shape[0]
            meta = _validate_truth(path, _truth_columns(f, path), n)
            step = batch_size
            if ds.chunks and ds.chunks[0] <= batch_size:
                step = batch_size - batch_size % ds.chunks[0]
            for start in range(0, n, step):
                stop = min(start + step, n)
                maps = _read_maps(path, ds, start, stop)
                yield Events(maps, {k: v[start:stop] for k, v in meta.items()}, path, start)


def write_file(
    path: str | os.PathLike,
    events: Events,
    *,
    compression: str | None = DEFAULT_COMPRESSION,
    compression_level: int | None = DEFAULT_COMPRESSION_LEVEL,
    chunk_events: int = DEFAULT_CHUNK_EVENTS,
    extra_group: str = "simtruth",
) -> Path:
    """Write `events` in the real teaching files' layout, atomically (temporary name, then rename).

    `cvnmap` uint8 (N, 16000) chunked by whole events and compressed ("gzip" at `compression_level`,
    "lzf", or None); `neutrino` a group of the 16 real fields, each
    (N, 1) with the real dtypes (fields absent from `events.meta` are written as zeros); `events.extra`,
    if any, in a separate group the pipeline never needs.
    """
    path = Path(path)
    n = len(events)
    if events.maps.shape[1:] != MAP_SHAPE or events.maps.dtype != np.uint8:
        raise ValueError(f"maps must be (N, 2, 100, 80) uint8, got {events.maps.shape} {events.maps.dtype}")
    opts = {"compression": compression} if compression else {}
    if compression == "gzip" and compression_level is not None:
        opts["compression_opts"] = compression_level
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset(
                "cvnmap",
                data=events.maps.reshape(n, MAP_SIZE),
                chunks=(max(1, min(chunk_events, n)), MAP_SIZE),
                **opts,
            )
            group = f.create_group("neutrino")
            for name, dtype in TRUTH_DTYPES.items():
                values = events.meta.get(name)
                column = np.zeros(n, dtype) if values is None else np.asarray(values).astype(dtype)
                group.create_dataset(name, data=column.reshape(n, 1))
            if events.extra:
                extra = f.create_group(extra_group)
                for name, values in events.extra.items():
                    extra.create_dataset(name, data=np.asarray(values), **opts)
    return path

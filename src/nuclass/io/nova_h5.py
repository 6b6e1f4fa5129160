"""The NOvA teaching-file format: read (fast, whole chunks), validate at the boundary, write atomically.

A file holds `cvnmap` (N, 16000) — each row is (view, plane, cell) = (2, 100, 80), view 0 the x–z view —
and `neutrino`, the truth: a group of datasets shaped (N, 1) or (N,), or one compound table. This module
is the only place that knows the layout; it never touches the network.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from nuclass.errors import FormatError
from nuclass.labels import N_FINALSTATES, N_INTERACTIONS

__all__ = [
    "Events",
    "MAP_SHAPE",
    "TRUTH_DTYPES",
    "REQUIRED_TRUTH",
    "read_file",
    "read_truth",
    "iter_batches",
    "validate_file",
    "write_file",
    "DEFAULT_COMPRESSION",
    "DEFAULT_CHUNK_EVENTS",
]

MAP_SHAPE = (2, 100, 80)  # (view, plane, cell); view 0 = x–z, view 1 = y–z
MAP_SIZE = 16000
# The 16 truth fields of the real files and their dtypes (reference/real-dataset.md).
TRUTH_DTYPES: dict[str, np.dtype] = {
    name: np.dtype(dt)
    for name, dt in [
        ("cycle", "int32"),
        ("evt", "uint32"),
        ("finalstate", "uint32"),
        ("finalstateprong", "uint32"),
        ("interaction", "uint32"),
        ("lepenergy", "float32"),
        ("nuenergy", "float32"),
        ("parent", "uint32"),
        ("particles", "uint32"),
        ("rec.training.trainingdata_idx", "uint32"),
        ("run", "uint32"),
        ("subevt", "uint16"),
        ("subrun", "uint32"),
        ("vtxx", "float64"),
        ("vtxy", "float64"),
        ("vtxz", "float64"),
    ]
}
REQUIRED_TRUTH = ("evt", "interaction", "finalstate", "nuenergy", "lepenergy")
# Chosen by benchmarks/bench_read.py (see README, "Reading"): lzf reads at near-uncompressed speed
# and shrinks the sparse maps about as much as gzip does.
DEFAULT_COMPRESSION = "lzf"
DEFAULT_CHUNK_EVENTS = 64  # 64 events × 16,000 B = 1 MB, h5py's default chunk cache
_CACHE_BYTES = 8 * 1024 * 1024


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


def _open(path: Path) -> h5py.File:
    if not path.is_file():
        raise FormatError(path, None, "an existing file", "no such file")
    try:
        return h5py.File(path, "r", rdcc_nbytes=_CACHE_BYTES)
    except OSError as exc:
        raise FormatError(path, None, "an HDF5 file", f"unreadable ({_short(exc)})") from None


def _short(exc: BaseException) -> str:
    text = str(exc).split("(")[0].strip().rstrip(",")
    return text or type(exc).__name__


def _truth_columns(f: h5py.File, path: Path) -> dict[str, np.ndarray]:
    """Every truth column as a 1-D array, from a group of datasets or from one compound table."""
    if "neutrino" not in f:
        raise FormatError.missing(path, "neutrino", f.keys())
    node = f["neutrino"]
    try:
        if isinstance(node, h5py.Group):
            columns = {}
            for name, ds in node.items():
                if isinstance(ds, h5py.Dataset):
                    columns[name] = _column(path, f"neutrino/{name}", ds[()])
            return columns
        if node.dtype.names:
            table = node[()].reshape(-1)
            return {name: _column(path, f"neutrino/{name}", table[name]) for name in node.dtype.names}
    except OSError as exc:
        raise FormatError(path, "neutrino", "readable truth", f"unreadable ({_short(exc)})") from None
    raise FormatError(path, "neutrino", "a group of datasets or a compound table", f"dtype {node.dtype}")


def _column(path: Path, name: str, values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim == 2 and values.shape[1] == 1:
        return values[:, 0]
    if values.ndim == 1:
        return values
    raise FormatError(path, name, "shape (N,) or (N, 1)", f"shape {values.shape}")


def _validate_truth(path: Path, columns: dict[str, np.ndarray], n_maps: int | None) -> dict[str, np.ndarray]:
    for name in REQUIRED_TRUTH:
        if name not in columns:
            raise FormatError.missing(path, f"neutrino/{name}", [f"neutrino/{c}" for c in columns])
    for name, values in columns.items():
        if n_maps is not None and len(values) != n_maps:
            raise FormatError(path, f"neutrino/{name}", f"{n_maps} rows like cvnmap", f"{len(values)}")
    for name, limit in (("interaction", N_INTERACTIONS), ("finalstate", N_FINALSTATES)):
        codes = columns[name]
        if codes.dtype.kind not in "iuf":
            raise FormatError(path, f"neutrino/{name}", "integer codes", f"dtype {codes.dtype}")
        bad = (codes < 0) | (codes >= limit) | (codes != np.floor(codes))
        if bad.any():
            raise FormatError(
                path, f"neutrino/{name}", f"codes 0–{limit - 1}", f"{codes[bad][0]!r} at row {np.argmax(bad)}"
            )
        columns[name] = codes.astype(np.int64)
    for name in ("nuenergy", "lepenergy"):
        energy = columns[name]
        if energy.dtype.kind not in "iuf":
            raise FormatError(path, f"neutrino/{name}", "energies in GeV", f"dtype {energy.dtype}")
        bad = ~np.isfinite(energy) | (energy < 0)
        if bad.any():
            raise FormatError(
                path, f"neutrino/{name}", "finite energies ≥ 0 GeV", f"{energy[bad][0]!r} at row {np.argmax(bad)}"
            )
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
    """Maps start:stop as (n, 2, 100, 80) uint8, read in one bulk call (chunks, never single events)."""
    n = stop - start
    try:
        if ds.dtype == np.uint8:
            out = np.empty((n, MAP_SIZE), dtype=np.uint8)
            ds.read_direct(out, source_sel=np.s_[start:stop])
        else:
            raw = ds[start:stop]
            bad = (raw < 0) | (raw > 255) | ~np.isfinite(raw)
            if bad.any():
                row = start + np.argwhere(bad)[0][0]
                raise FormatError(path, "cvnmap", "values 0–255", f"{raw[bad][0]!r} in row {row}")
            out = np.rint(raw).astype(np.uint8)
    except OSError as exc:
        raise FormatError(path, "cvnmap", "readable data", f"unreadable ({_short(exc)})") from None
    return out.reshape((n, *MAP_SHAPE))


def read_truth(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Validated truth columns of one file (1-D arrays), without reading the maps."""
    path = Path(path)
    with _open(path) as f:
        n = _maps_dataset(f, path).shape[0]
        return _validate_truth(path, _truth_columns(f, path), n)


def validate_file(path: str | os.PathLike) -> int:
    """Check that `path` is a complete, valid NOvA file (truth and every map chunk readable); its event count."""
    path = Path(path)
    n = 0
    for batch in iter_batches([path], batch_size=8192):
        n += len(batch)
    return n


def read_file(path: str | os.PathLike) -> Events:
    """Read and validate a whole file: `.maps` (N, 2, 100, 80) uint8 and `.meta` (every truth column, 1-D)."""
    path = Path(path)
    with _open(path) as f:
        ds = _maps_dataset(f, path)
        meta = _validate_truth(path, _truth_columns(f, path), ds.shape[0])
        return Events(_read_maps(path, ds, 0, ds.shape[0]), meta, path, 0)


def iter_batches(paths: Iterable[str | os.PathLike], batch_size: int = 4096) -> Iterator[Events]:
    """Yield validated Events of at most `batch_size` events, file by file, holding one batch of maps at a time.

    Batches do not span files; each carries its `source` file and `start` row. Batch boundaries are
    rounded to the file's HDF5 chunks where possible, so no chunk is decompressed twice.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be ≥ 1")
    for p in paths:
        path = Path(p)
        with _open(path) as f:
            ds = _maps_dataset(f, path)
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
    chunk_events: int = DEFAULT_CHUNK_EVENTS,
    extra_group: str = "simtruth",
) -> Path:
    """Write `events` in the real teaching files' layout, atomically (temporary name, then rename).

    `cvnmap` uint8 (N, 16000) chunked by whole events; `neutrino` a group of the 16 real fields, each
    (N, 1) with the real dtypes (fields absent from `events.meta` are written as zeros); `events.extra`,
    if any, in a separate group the pipeline never needs.
    """
    path = Path(path)
    n = len(events)
    if events.maps.shape[1:] != MAP_SHAPE or events.maps.dtype != np.uint8:
        raise ValueError(f"maps must be (N, 2, 100, 80) uint8, got {events.maps.shape} {events.maps.dtype}")
    opts = {"compression": compression} if compression else {}
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
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
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path

"""Per-task event indexes: which events of some files a task uses, found by reading their truth only."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nuclass.io import nova_h5
from nuclass.io.nova_h5 import read_truth
from nuclass.labels import Task
from nuclass.labels.selection import EventSelection
from nuclass.labels.truth import KEPT_TRUTH

__all__ = ["EventIndex", "build_index"]

_CONTIGUOUS_BLOCK = 64  # events per read block in files stored without chunks
_SUBSAMPLE_STREAM = 4  # the random stream of the run's seed that draws chunk subsamples (data.prepare: 1–3)


@dataclass
class EventIndex:
    """The events of some files that one task uses: file id, row in that file, target.

    target: (N,) int64 classes or float32 physical values; meta: truth columns of these events
    (labels.truth.KEPT_TRUTH, the vertex where every file has it), kept only when asked for (test sets);
    chunk_events: (n_files,) HDF5 chunk length.
    """

    files: list[Path]
    file_id: np.ndarray
    row: np.ndarray
    target: np.ndarray
    chunk_events: np.ndarray
    meta: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.row)

    def chunk_subsample(self, n_events: int, seed: int) -> EventIndex:
        """About `n_events` of these events, by whole chunks drawn at random (seeded), in file and row order:
        a fixed subsample that costs no more to read than it holds (a scattered one would decompress
        nearly every chunk). All events when there are no more than `n_events`."""
        if len(self) <= n_events:
            return self
        block = self.file_id.astype(np.int64) * (1 << 40) + self.row // self.chunk_events[self.file_id]
        blocks, block_id = np.unique(block, return_inverse=True)
        order = np.random.default_rng([seed, _SUBSAMPLE_STREAM]).permutation(len(blocks))
        sizes = np.bincount(block_id, minlength=len(blocks))[order]
        chosen = order[: int(np.searchsorted(np.cumsum(sizes), n_events)) + 1]
        return self.take(np.flatnonzero(np.isin(block_id, chosen)))

    def take(self, positions: np.ndarray) -> EventIndex:
        """The events at `positions` (integer indices into this index)."""
        meta = None if self.meta is None else {k: v[positions] for k, v in self.meta.items()}
        return EventIndex(
            self.files, self.file_id[positions], self.row[positions], self.target[positions],
            self.chunk_events, meta
        )


def _maps_layout(path: Path) -> int:
    """Events per HDF5 chunk of the file's maps (a fixed block for contiguous storage)."""
    with nova_h5.MapReader(path) as reader:
        return reader.chunk_events or _CONTIGUOUS_BLOCK


def build_index(
    files: Sequence[str | os.PathLike],
    task: Task,
    *,
    keep_meta: bool = False,
    max_events_per_file: int | None = None,
    selection: EventSelection | None = None,
) -> EventIndex:
    """Index the events of `files` that `task` uses (task.labels decides) and `selection` keeps (given the
    task's targets), reading truth only.

    max_events_per_file keeps the first M used events of each file (quick runs and benchmarks).
    """
    files = [Path(f) for f in files]
    ids, rows, targets, metas, chunks = [], [], [], [], []
    for k, path in enumerate(files):
        truth = read_truth(path)
        mask, target = task.labels(truth)
        used = np.flatnonzero(mask)
        if selection is not None and selection.active:
            keep = selection.mask({name: values[used] for name, values in truth.items()}, target)
            used, target = used[keep], target[keep]
        if max_events_per_file is not None:
            used, target = used[:max_events_per_file], target[:max_events_per_file]
        ids.append(np.full(len(used), k, dtype=np.int32))
        rows.append(used.astype(np.int64))
        targets.append(target)
        chunks.append(_maps_layout(path))
        if keep_meta:
            metas.append({name: truth[name][used] for name in KEPT_TRUTH if name in truth})
    dtype = np.float32 if task.kind == "regression" else np.int64
    meta = None
    if keep_meta:
        common = [name for name in KEPT_TRUTH if all(name in m for m in metas)]
        meta = {name: np.concatenate([m[name] for m in metas]) for name in common}
    return EventIndex(
        files,
        np.concatenate(ids) if ids else np.empty(0, np.int32),
        np.concatenate(rows) if rows else np.empty(0, np.int64),
        np.concatenate(targets).astype(dtype) if targets else np.empty(0, dtype),
        np.asarray(chunks, dtype=np.int64),
        meta,
    )

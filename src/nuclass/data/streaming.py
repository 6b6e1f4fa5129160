"""A streaming dataset over an event index that reads whole HDF5 chunks, with bounded memory.

Only the truth of each file is read up front (see index.py); maps are read while training, a
window of events at a time, by whole chunks (64 events per chunk in nuclass's files), so memory stays
at a few windows per worker whatever the number of files. Shuffling is two-level: the order of chunks
across all files, then the events within a window of `buffer_events`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from nuclass.data.index import EventIndex
from nuclass.io import nova_h5
from nuclass.labels import TASKS, Task

__all__ = ["StreamingDataset"]

_MAX_READ_CHUNKS = 16  # at most this many chunks decompressed in one call (16 MB of maps)
_OPEN_FILES = 8  # h5py files kept open per worker


class _ChunkReader:
    """Reads rows of maps by whole chunks, keeping a few files open (one reader per worker)."""

    def __init__(self, files: Sequence[Path]) -> None:
        self.files = files
        self._open: OrderedDict[int, nova_h5.MapReader] = OrderedDict()

    def _reader(self, file_id: int) -> nova_h5.MapReader:
        if file_id in self._open:
            self._open.move_to_end(file_id)
            return self._open[file_id]
        if len(self._open) >= _OPEN_FILES:
            self._open.popitem(last=False)[1].close()
        self._open[file_id] = nova_h5.MapReader(self.files[file_id])
        return self._open[file_id]

    def read(self, file_id: int, rows: np.ndarray, chunk: int) -> np.ndarray:
        """Maps of `rows` (sorted, unique) of one file: (len(rows), 2, 100, 80) uint8."""
        reader = self._reader(file_id)
        n = reader.n_events
        out = np.empty((len(rows), *nova_h5.MAP_SHAPE), dtype=np.uint8)
        block = rows // chunk
        # runs of consecutive chunk ids, each read in calls of at most _MAX_READ_CHUNKS chunks
        starts = np.flatnonzero(np.diff(block, prepend=-2) > 1)
        bounds = list(starts) + [len(rows)]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            first, last = block[a], block[b - 1]
            for c0 in range(first, last + 1, _MAX_READ_CHUNKS):
                c1 = min(c0 + _MAX_READ_CHUNKS, last + 1)
                lo, hi = c0 * chunk, min(c1 * chunk, n)
                sel = slice(np.searchsorted(rows, lo), np.searchsorted(rows, hi))
                if sel.start == sel.stop:
                    continue
                maps = reader.read(lo, hi)
                out[sel] = maps[rows[sel] - lo]
        return out

    def close(self) -> None:
        for reader in self._open.values():
            reader.close()
        self._open.clear()


class StreamingDataset(torch.utils.data.IterableDataset):
    """Batches {"x": (B, 2, 100, 80) uint8, "y": {task: (B,) target}, "pos": (B,) index positions} of one
    split, for one task or several.

    x is the raw charge: the network applies its own pixel transform (models.network), so batches stay
    uint8 (a quarter of float32's bytes) until they reach the device. y is the class (int64; −1 where the
    task does not use the event) or the regression target in the task's network space (float32; NaN
    where unused). With
    `shuffle`, each epoch visits chunks in a new seeded order and shuffles events within windows of
    `buffer_events`; without, events come in file and row order. `draw_weights` (N,) turns an epoch
    into N weighted draws with replacement (the weighted sampler). Under DDP every rank gets the same
    number of events (the last N mod world are left out of that epoch); workers of one rank share its
    batches. Set `rank`, `world` and the epoch (`set_epoch`) before iterating. `mirror_x` (training
    augmentation) mirrors the x–z view across its cells for a seeded half of the events: x → −x is a
    symmetry of the beam and the detector (the beam and gravity lie in the y–z plane), so the y–z view is
    never flipped.
    """

    def __init__(
        self,
        index: EventIndex,
        task: Task | Sequence[Task],
        *,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        buffer_events: int = 2048,
        draw_weights: np.ndarray | None = None,
        mirror_x: bool = False,
    ) -> None:
        super().__init__()
        self.mirror_x = mirror_x
        tasks = (task,) if isinstance(task, Task) else tuple(task)
        self.index, self.task_names = index, tuple(t.name for t in tasks)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.buffer_events = max(batch_size, buffer_events - buffer_events % batch_size)
        self.draw_weights = draw_weights
        self.rank, self.world, self.epoch = 0, 1, 0

    def set_epoch(self, epoch: int) -> None:
        """Shuffle the next iteration as epoch `epoch` (the samplers' convention)."""
        self.epoch = epoch

    @property
    def tasks(self) -> tuple[Task, ...]:
        return tuple(TASKS[name] for name in self.task_names)

    def _events_per_rank(self) -> int:
        n = len(self.index)
        return n // self.world if self.world > 1 else n

    def __len__(self) -> int:
        """Batches this rank yields per epoch."""
        return -(-self._events_per_rank() // self.batch_size)

    def epoch_plan(self) -> np.ndarray:
        """Index positions this rank visits this epoch, in order."""
        index = self.index
        n = len(index)
        rng = np.random.default_rng([self.seed, self.epoch])
        if self.draw_weights is not None:
            pos = rng.choice(n, size=n, replace=True, p=self.draw_weights)
        else:
            pos = np.arange(n)
        if self.shuffle and n:
            file_id, row = index.file_id[pos], index.row[pos]
            block = file_id.astype(np.int64) * (1 << 40) + row // index.chunk_events[file_id]
            _, block_id = np.unique(block, return_inverse=True)
            block_rank = rng.permutation(block_id.max() + 1)[block_id]
            pos = pos[np.lexsort((rng.random(len(pos)), block_rank))]
            window = np.arange(len(pos)) // self.buffer_events
            pos = pos[np.lexsort((rng.random(len(pos)), window))]
        elif self.draw_weights is not None:
            pos = np.sort(pos)
        per_rank = self._events_per_rank()
        return pos[self.rank * per_rank : (self.rank + 1) * per_rank]

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        pos = self.epoch_plan()
        n_batches = -(-len(pos) // self.batch_size)
        info = torch.utils.data.get_worker_info()
        worker, n_workers = (info.id, info.num_workers) if info else (0, 1)
        b0, b1 = worker * n_batches // n_workers, (worker + 1) * n_batches // n_workers
        pos = pos[b0 * self.batch_size : b1 * self.batch_size]
        reader = _ChunkReader(self.index.files)
        try:
            for start in range(0, len(pos), self.buffer_events):
                rng = np.random.default_rng([self.seed, self.epoch, self.rank, worker, start])
                yield from self._window_batches(reader, pos[start : start + self.buffer_events], rng)
        finally:
            reader.close()

    def _window_batches(
        self, reader: _ChunkReader, pos: np.ndarray, rng: np.random.Generator
    ) -> Iterator[dict[str, torch.Tensor]]:
        index = self.index
        maps = np.empty((len(pos), *nova_h5.MAP_SHAPE), dtype=np.uint8)
        file_id, row = index.file_id[pos], index.row[pos]
        for fid in np.unique(file_id):
            where = np.flatnonzero(file_id == fid)
            rows, inverse = np.unique(row[where], return_inverse=True)
            maps[where] = reader.read(int(fid), rows, int(index.chunk_events[fid]))[inverse]
        if self.mirror_x:
            flip = np.flatnonzero(rng.random(len(pos)) < 0.5)
            maps[flip, 0] = maps[flip, 0, :, ::-1]
        targets = {}
        for task in self.tasks:
            target = index.targets[task.name][pos]
            if task.kind == "regression":
                with np.errstate(invalid="ignore"):  # NaN (unused) stays NaN
                    target = task.to_network(target)
            targets[task.name] = target
        for s in range(0, len(pos), self.batch_size):
            sl = slice(s, s + self.batch_size)
            yield {
                "x": torch.from_numpy(maps[sl]),
                "y": {name: torch.from_numpy(np.ascontiguousarray(t[sl])) for name, t in targets.items()},
                "pos": torch.from_numpy(pos[sl].astype(np.int64)),
            }

"""A streaming dataset over an event index that reads whole HDF5 chunks, with bounded memory.

Only the truth of each file is read up front (see index.py); maps are read while training, a
window of events at a time, by whole chunks (32 events per chunk in nuclass's files), so memory stays
at a few windows per worker whatever the number of files. Shuffling is two-level: the order of chunks
across all files, then the events within a window of `buffer_events`.
"""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from nuclass.data.index import EventIndex
from nuclass.io import nova_h5
from nuclass.labels import TASKS, Task

__all__ = ["StreamingDataset", "WindowBatches", "split_batches"]

_OPEN_FILES = 8  # h5py files kept open per worker


class _ChunkReader:
    """Reads maps by whole chunks, keeping a few files open (one reader per worker)."""

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

    def block(self, file_id: int, k: int, chunk: int) -> np.ndarray:
        """Maps of rows [k · chunk, (k + 1) · chunk) of one file (fewer at its end): (n, 2, 100, 80) uint8,
        read-only. `chunk` is the index's block length: the file's HDF5 chunk, or a fixed block when the
        file is stored contiguously."""
        reader = self._reader(file_id)
        if reader.chunk_events == chunk:
            return reader.read_chunk(k)
        return reader.read(k * chunk, min((k + 1) * chunk, reader.n_events))

    def close(self) -> None:
        for reader in self._open.values():
            reader.close()
        self._open.clear()


class StreamingDataset(torch.utils.data.IterableDataset):
    """Batches {"x": (B, 2, 100, 80) uint8, "y": {task: (B,) target}, "pos": (B,) index positions} of one
    split, for one task or several.

    x is the raw charge: the network applies its pixel transform (models.network.PixelTransform) on its
    own device, so batches are read, pinned and copied to the device at a quarter of float32's bytes.
    y is the class (int64; −1 where the task does not use the event) or the regression target in the
    task's network space (float32; NaN where unused). With
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
        info = torch.utils.data.get_worker_info()  # a DataLoader worker's share, if iterated by one
        for window in self.windows(*((info.id, info.num_workers) if info else (0, 1))):
            yield from split_batches(window, self.batch_size)

    def windows(self, worker: int = 0, n_workers: int = 1) -> Iterator[dict[str, torch.Tensor]]:
        """Loader `worker`'s share (of `n_workers`) of this rank's epoch: whole batches, a window of
        `buffer_events` at a time, each a dict like a batch whose `batch_size` slices are the batches
        (split_batches)."""
        pos = self.epoch_plan()
        n_batches = -(-len(pos) // self.batch_size)
        b0, b1 = worker * n_batches // n_workers, (worker + 1) * n_batches // n_workers
        pos = pos[b0 * self.batch_size : b1 * self.batch_size]
        reader = _ChunkReader(self.index.files)
        try:
            for start in range(0, len(pos), self.buffer_events):
                rng = np.random.default_rng([self.seed, self.epoch, self.rank, worker, start])
                yield self._window(reader, pos[start : start + self.buffer_events], rng)
        finally:
            reader.close()

    def _window(
        self, reader: _ChunkReader, pos: np.ndarray, rng: np.random.Generator
    ) -> dict[str, torch.Tensor]:
        """One window of events: each chunk it touches is read once, and its events copied once, to their
        shuffled places (mirrored on the way where drawn)."""
        index = self.index
        n = len(pos)
        flip = rng.random(n) < 0.5 if self.mirror_x else np.zeros(n, dtype=bool)
        file_id, row = index.file_id[pos], index.row[pos]
        chunk = index.chunk_events[file_id]
        block = row // chunk
        order = np.argsort(file_id.astype(np.int64) * (1 << 40) + block, kind="stable")
        starts = np.flatnonzero(np.diff(file_id[order], prepend=-1) | np.diff(block[order], prepend=-1))
        maps = np.empty((n, *nova_h5.MAP_SHAPE), dtype=np.uint8)
        for a, b in zip(starts, [*starts[1:], n], strict=True):
            dest = order[a:b]
            first = dest[0]
            source = reader.block(int(file_id[first]), int(block[first]), int(chunk[first]))
            local = row[dest] - block[first] * chunk[first]
            mirrored = flip[dest]
            if mirrored.any():
                keep, dest_m, local_m = ~mirrored, dest[mirrored], local[mirrored]
                maps[dest[keep]] = source[local[keep]]
                maps[dest_m, 0] = source[local_m, 0, :, ::-1]
                maps[dest_m, 1] = source[local_m, 1]
            else:
                maps[dest] = source[local]
        targets = {}
        for task in self.tasks:
            target = index.targets[task.name][pos]
            if task.kind == "regression":
                with np.errstate(invalid="ignore"):  # NaN (unused) stays NaN
                    target = np.asarray(task.to_network(target), dtype=np.float32)
            targets[task.name] = torch.from_numpy(np.ascontiguousarray(target))
        return {"x": torch.from_numpy(maps), "y": targets, "pos": torch.from_numpy(pos.astype(np.int64))}


def split_batches(window: dict[str, torch.Tensor], batch_size: int) -> Iterator[dict[str, torch.Tensor]]:
    """The batches of a window (StreamingDataset.windows): consecutive `batch_size` slices, as views."""
    n = len(window["pos"])
    for s in range(0, n, batch_size):
        sl = slice(s, s + batch_size)
        y = {k: v[sl] for k, v in window["y"].items()}
        yield {"x": window["x"][sl], "y": y, "pos": window["pos"][sl]}


class WindowBatches:
    """The batches of a StreamingDataset (what training iterates), `len(dataset)` of them, read by `workers`
    background threads a window at a time while the batches before them train (0: in the iterating
    thread). No process boundary: a window's maps stay where they were decoded (zlib inflates outside
    the GIL), with no copy or shared-memory message per batch, which cost as much as the decoding (see
    benchmarks/README_train.md). The threads' windows come in turn, so the order is fixed by the seed.
    `pin_memory` pins each window (page-locked host memory: asynchronous copies to a GPU)."""

    def __init__(self, dataset: StreamingDataset, workers: int = 0, pin_memory: bool = False) -> None:
        self.dataset, self.workers, self.pin_memory = dataset, workers, pin_memory

    def __len__(self) -> int:
        return len(self.dataset)

    def _ready(self, window: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if not self.pin_memory:
            return window
        y = {k: v.pin_memory() for k, v in window["y"].items()}
        return {"x": window["x"].pin_memory(), "y": y, "pos": window["pos"].pin_memory()}

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        if self.workers == 0:
            for window in self.dataset.windows():
                yield from split_batches(self._ready(window), self.dataset.batch_size)
            return
        stop = threading.Event()
        queues = [queue.Queue(maxsize=_WINDOWS_AHEAD) for _ in range(self.workers)]
        threads = [
            threading.Thread(target=self._produce, args=(k, queues[k], stop), daemon=True,
                             name=f"nuclass-loader-{k}")
            for k in range(self.workers)
        ]
        for thread in threads:
            thread.start()
        try:
            active = list(range(self.workers))
            while active:
                for k in list(active):  # one window from each thread in turn
                    item = queues[k].get()
                    if item is _END:
                        active.remove(k)
                    elif isinstance(item, BaseException):
                        raise item
                    else:
                        yield from split_batches(item, self.dataset.batch_size)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)

    def _produce(self, worker: int, out: queue.Queue, stop: threading.Event) -> None:
        """Thread `worker`: its windows into `out`, then _END (or the exception that stopped it)."""
        try:
            for window in self.dataset.windows(worker, self.workers):
                if not _put(out, self._ready(window), stop):
                    return
        except BaseException as exc:  # handed to the iterating thread, which raises it
            _put(out, exc, stop)
            return
        _put(out, _END, stop)


_END = object()  # a loader thread's last item
_WINDOWS_AHEAD = 2  # windows each loader thread may hold ready


def _put(out: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put `item` into `out` unless `stop` is set first (the consumer has gone); whether it went in."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False

"""Per-task event indexes: which events of some files a task (or several) uses, found by reading their truth
only."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nuclass.errors import ConfigError
from nuclass.io import nova_h5
from nuclass.io.nova_h5 import read_truth
from nuclass.labels import Task
from nuclass.labels.selection import EventSelection
from nuclass.labels.truth import KEPT_TRUTH

__all__ = ["EventIndex", "build_index", "unused_target", "target_used"]

_CONTIGUOUS_BLOCK = 64  # events per read block in files stored without chunks
_SUBSAMPLE_STREAM = 4  # the random stream of the run's seed that draws chunk subsamples (data.prepare: 1–3)


def unused_target(task: Task) -> float | int:
    """The target an index holds for an event that `task` does not use (one a multi-task index keeps for
    another task): −1 for a class, NaN for a regression."""
    return np.nan if task.kind == "regression" else -1


def target_used(task: Task, target: np.ndarray) -> np.ndarray:
    """Mask (N,) of the targets that `task` uses (not its unused_target)."""
    target = np.asarray(target)
    return np.isfinite(target) if task.kind == "regression" else target >= 0


@dataclass
class EventIndex:
    """The events of some files that one or several tasks use: file id, row in that file, targets.

    targets: {task name: (N,) int64 classes or float32 physical values}, in task order; an event that one
    of several tasks does not use holds that task's `unused_target`. meta: truth columns of these events
    (labels.truth.KEPT_TRUTH, the vertex where every file has it), kept only when asked for (test sets);
    chunk_events: (n_files,) HDF5 chunk length.
    """

    files: list[Path]
    file_id: np.ndarray
    row: np.ndarray
    targets: dict[str, np.ndarray]
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

    @property
    def target(self) -> np.ndarray:
        """The target (N,) of a one-task index."""
        if len(self.targets) != 1:
            raise ConfigError(f"an index of {len(self.targets)} tasks has no single target; use .targets")
        return next(iter(self.targets.values()))

    def take(self, positions: np.ndarray) -> EventIndex:
        """The events at `positions` (integer indices into this index)."""
        meta = None if self.meta is None else {k: v[positions] for k, v in self.meta.items()}
        targets = {k: v[positions] for k, v in self.targets.items()}
        return EventIndex(
            self.files, self.file_id[positions], self.row[positions], targets, self.chunk_events, meta
        )


def _maps_layout(path: Path) -> int:
    """Events per HDF5 chunk of the file's maps (a fixed block for contiguous storage)."""
    with nova_h5.MapReader(path) as reader:
        return reader.chunk_events or _CONTIGUOUS_BLOCK


def _file_targets(truth: dict[str, np.ndarray], tasks: Sequence[Task]) -> tuple[np.ndarray, dict]:
    """(mask of the events some task uses, {task: target of every event, unused_target where unused})."""
    n = len(truth["interaction"])
    used = np.zeros(n, dtype=bool)
    targets = {}
    for task in tasks:
        mask, target = task.labels(truth)
        full = np.full(n, unused_target(task), dtype=target.dtype)
        full[mask] = target
        used |= mask
        targets[task.name] = full
    return used, targets


def build_index(
    files: Sequence[str | os.PathLike],
    task: Task | Sequence[Task],
    *,
    keep_meta: bool = False,
    max_events_per_file: int | None = None,
    selection: EventSelection | None = None,
) -> EventIndex:
    """Index the events of `files` that `task` uses (task.labels decides) and `selection` keeps (given the
    task's targets), reading truth only. For several tasks: the events any of them uses, each with every
    task's target (see EventIndex); a selection on several tasks may only use `where`.

    max_events_per_file keeps the first M used events of each file (quick runs and benchmarks).
    """
    tasks = (task,) if isinstance(task, Task) else tuple(task)
    files = [Path(f) for f in files]
    ids, rows, metas, chunks = [], [], [], []
    targets: dict[str, list[np.ndarray]] = {t.name: [] for t in tasks}
    for k, path in enumerate(files):
        truth = read_truth(path)
        mask, target = _file_targets(truth, tasks)
        used = np.flatnonzero(mask)
        if selection is not None and selection.active:
            only = target[tasks[0].name][used] if len(tasks) == 1 else None
            used = used[selection.mask({name: values[used] for name, values in truth.items()}, only)]
        if max_events_per_file is not None:
            used = used[:max_events_per_file]
        ids.append(np.full(len(used), k, dtype=np.int32))
        rows.append(used.astype(np.int64))
        for name, values in target.items():
            targets[name].append(values[used])
        chunks.append(_maps_layout(path))
        if keep_meta:
            metas.append({name: truth[name][used] for name in KEPT_TRUTH if name in truth})
    meta = None
    if keep_meta:
        common = [name for name in KEPT_TRUTH if all(name in m for m in metas)]
        meta = {name: np.concatenate([m[name] for m in metas]) for name in common}
    dtypes = {t.name: np.float32 if t.kind == "regression" else np.int64 for t in tasks}
    return EventIndex(
        files,
        np.concatenate(ids) if ids else np.empty(0, np.int32),
        np.concatenate(rows) if rows else np.empty(0, np.int64),
        {name: np.concatenate(v).astype(dtypes[name]) if v else np.empty(0, dtypes[name])
         for name, v in targets.items()},
        np.asarray(chunks, dtype=np.int64),
        meta,
    )

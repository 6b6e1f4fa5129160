"""Inference, in one place: load a run's trained network, score an event index or any files with it, and
write the scores — one batch size and one scoring pass for training, evaluation, studies and `predict`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nuclass.atomic import atomic_path
from nuclass.data.index import EventIndex
from nuclass.data.prepare import PreparedData
from nuclass.errors import ConfigError
from nuclass.io import Events, expand_paths, iter_batches
from nuclass.labels import Task, get_task
from nuclass.labels.truth import ANALYSIS_TRUTH
from nuclass.run_dir import TEST_SETS, RunDir

if TYPE_CHECKING:
    from nuclass.models.network import TaskNetwork

__all__ = [
    "BATCH_SIZE",
    "load_model",
    "predict_index",
    "predict_files",
    "write_test_predictions",
    "predict_to_h5",
    "file_index",
]

BATCH_SIZE = 256  # events per inference batch, whoever asks


def load_model(run_dir: str | os.PathLike) -> tuple[TaskNetwork, Task, dict[str, Any]]:
    """The trained network of a run (eval mode), its task and model.json; weights from safetensors only."""
    from nuclass.models import create_model
    from nuclass.models.network import TaskNetwork

    run = RunDir(run_dir)
    for name in RunDir.MODEL_FILES:
        if not run.file(name).is_file():
            raise ConfigError(f"{run.path}: not a finished run (no {name})")
    info = run.read_model_info()
    task = get_task(info["task"])
    network = TaskNetwork(create_model(info["model"], task), task.name)
    network.load_state_dict(run.load_weights())
    network.eval()
    return network, task, info


def predict_index(network: TaskNetwork, index: EventIndex) -> np.ndarray:
    """Scores of every event of `index`, in index order (see models.network.scores_from_outputs)."""
    import torch

    from nuclass.data.streaming import StreamingDataset

    task = network.task
    dataset = StreamingDataset(index, task, batch_size=BATCH_SIZE, shuffle=False)
    network.eval()
    shape = (len(index),) if task.kind == "regression" else (len(index), task.n_outputs)
    scores = np.empty(shape, dtype=np.float32)
    with torch.inference_mode():
        for batch in dataset:
            scores[batch["pos"].numpy()] = network.scores(batch["x"])
    return scores


def predict_files(
    run_dir: str | os.PathLike, paths: Iterable[str | os.PathLike], batch_size: int = BATCH_SIZE
) -> Iterator[tuple[Events, np.ndarray]]:
    """Stream the files through a run's final weights: yields (Events batch, scores) for every event.

    Scores as in predictions/*.npz; events the task does not use are scored too (select them with
    task.labels(events.meta)). Memory: one batch at a time.
    """
    import torch

    network, _, _ = load_model(run_dir)
    with torch.inference_mode():
        for events in iter_batches(expand_paths(paths), batch_size):
            yield events, network.scores(torch.from_numpy(events.maps))


def write_test_predictions(run: RunDir, network: TaskNetwork, data: PreparedData) -> dict[str, str]:
    """RUN_DIR/predictions/{natural,balanced}.npz: score, target and truth of each test event."""
    test = data.test
    scores = predict_index(network, test)
    files = np.array([str(p) for p in test.files])
    paths = {}
    for name, positions in zip(TEST_SETS, (np.arange(len(test)), data.test_balanced), strict=True):
        arrays = {
            "score": scores[positions],
            "target": test.target[positions],
            "file_index": test.file_id[positions],
            "row": test.row[positions],
            "files": files,
        }
        arrays.update({k: v[positions] for k, v in test.meta.items()})  # KEPT_TRUTH: the vertex too
        paths[name] = str(run.write_predictions(name, arrays))
    return paths


def file_index(events: Events, positions: Mapping[Path, int]) -> int:
    """Position of a batch's file given {resolved path: position} of the files asked for (−1: not there)."""
    return positions.get(Path(events.source).resolve(), -1) if events.source else -1


def predict_to_h5(
    run_dir: str | os.PathLike,
    paths: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    batch_size: int = BATCH_SIZE,
) -> Path:
    """Per-event scores of the run's model on `paths`, streamed file by file into one HDF5 file (atomic).

    Datasets: `score` ((N,) class-1 probability or regressed value, (N, K) probabilities for multi-class),
    `predicted_class` (classification), `evt`, `file_index` into `files` (names), and the truth in
    `neutrino/` ((N, 1) each, the teaching files' layout); attributes `task`, `model`, `class_names`.
    """
    import h5py

    run, out = RunDir(run_dir), Path(out)
    task = get_task(str(run.read_config()["task"]))
    paths = expand_paths(paths)
    index_of = {p.resolve(): i for i, p in enumerate(paths)}
    n = 0
    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["task"] = task.name
            f.attrs["model"] = run.model_name() or ""
            f.attrs["class_names"] = list(task.class_names)
            f.create_dataset("files", data=np.array([p.name for p in paths], dtype=h5py.string_dtype()))
            columns: dict[str, h5py.Dataset] = {}

            def append(name: str, values: np.ndarray) -> None:
                values = np.asarray(values)
                if name not in columns:
                    columns[name] = f.create_dataset(
                        name,
                        shape=(0, *values.shape[1:]),
                        dtype=values.dtype,
                        maxshape=(None, *values.shape[1:]),
                        chunks=True,
                    )
                ds = columns[name]
                ds.resize(n + len(values), axis=0)
                ds[n:] = values

            for events, score in predict_files(run.path, paths, batch_size):
                score = task.squeeze_scores(score).astype(np.float32)
                append("score", score)
                if task.is_classification:
                    append("predicted_class", task.predicted_class(score))
                append("evt", np.asarray(events.meta["evt"]))
                append("file_index", np.full(len(events), file_index(events, index_of), dtype=np.int64))
                for name in ANALYSIS_TRUTH:
                    if name in events.meta:
                        append(f"neutrino/{name}", np.asarray(events.meta[name]).reshape(-1, 1))
                n += len(events)
    return out

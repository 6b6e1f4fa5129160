"""Inference, in one place: load a trained network (a run's, or the one shipped in the package), score an
event index or any files with it, and write the scores — one batch size and one scoring pass for training,
evaluation, studies and `predict`. Scores are {task: array}, one entry per head."""

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
from nuclass.labels import Task, get_task, parse_tasks
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
    "model_info",
]

BATCH_SIZE = 256  # events per inference batch, whoever asks

def load_model(model_dir: str | os.PathLike) -> tuple[TaskNetwork, tuple[Task, ...], dict[str, Any]]:
    """The trained network of a directory holding model.json + model.safetensors (a run, or the shipped
    model), in eval mode, its tasks and model.json; weights from safetensors only."""
    from nuclass.models import create_model
    from nuclass.models.network import TaskNetwork

    run = RunDir(model_dir)
    for name in RunDir.MODEL_FILES:
        if not run.file(name).is_file():
            raise ConfigError(f"{run.path}: not a finished run (no {name})")
    info = run.read_model_info()
    names = parse_tasks(info["task"])
    tasks = tuple(get_task(name) for name in names)
    network = TaskNetwork(create_model(info["model"], tasks[0] if len(tasks) == 1 else tasks), names)
    network.load_state_dict(run.load_weights())
    network.eval()
    return network, tasks, info


def model_info(model_dir: str | os.PathLike) -> dict[str, Any]:
    """What a model directory's network is: model.json, else (a run without one yet) its config.yaml's
    task and model."""
    run = RunDir(model_dir)
    info = run.read_model_info()
    if "task" not in info:
        info = {"task": run.read_config()["task"], "model": run.model_name() or ""}
    return info


def _network(model: Any) -> TaskNetwork:
    return model if hasattr(model, "score_tensors") else load_model(model)[0]


def _empty_scores(task: Task, n: int) -> np.ndarray:
    shape = (n,) if task.kind == "regression" else (n, task.n_outputs)
    return np.empty(shape, dtype=np.float32)


def predict_index(network: TaskNetwork, index: EventIndex) -> dict[str, np.ndarray]:
    """{task: scores of every event of `index`}, in index order (models.network.score_tensor)."""
    import torch

    from nuclass.data.streaming import StreamingDataset

    dataset = StreamingDataset(index, network.tasks, batch_size=BATCH_SIZE, shuffle=False)
    network.eval()
    scores = {t.name: _empty_scores(t, len(index)) for t in network.tasks}
    with torch.inference_mode():
        for batch in dataset:
            for name, s in network.scores(batch["x"]).items():
                scores[name][batch["pos"].numpy()] = s
    return scores


def predict_files(
    model: str | os.PathLike | TaskNetwork, paths: Iterable[str | os.PathLike], batch_size: int = BATCH_SIZE
) -> Iterator[tuple[Events, dict[str, np.ndarray]]]:
    """Stream the files through a network (a model directory's final weights, or a loaded TaskNetwork):
    yields (Events batch, {task: scores}) for every event.

    Scores as in predictions/*.npz; events a task does not use are scored too (select them with
    task.labels(events.meta)). Memory: one batch at a time.
    """
    import torch

    network = _network(model)
    with torch.inference_mode():
        for events in iter_batches(expand_paths(paths), batch_size):
            yield events, network.scores(torch.from_numpy(events.maps))


def write_test_predictions(run: RunDir, network: TaskNetwork, data: PreparedData) -> dict[str, str]:
    """RUN_DIR/predictions/{natural,balanced}.npz (multi-task: predictions/TASK/…): score, target and truth
    of each test event a task uses. Returns {name: path} (name: the test set, or TASK/SET)."""
    test = data.test
    scores = predict_index(network, test)
    files = np.array([str(p) for p in test.files])
    multi = len(data.tasks) > 1
    paths = {}
    for task in data.tasks:
        for name in TEST_SETS:
            positions = data.test_sets[task.name][name]
            arrays = {
                "score": scores[task.name][positions],
                "target": test.targets[task.name][positions],
                "file_index": test.file_id[positions],
                "row": test.row[positions],
                "files": files,
            }
            arrays.update({k: v[positions] for k, v in test.meta.items()})  # KEPT_TRUTH: the vertex too
            folder = task.name if multi else None
            paths[f"{task.name}/{name}" if multi else name] = str(run.write_predictions(name, arrays, folder))
    return paths


def file_index(events: Events, positions: Mapping[Path, int]) -> int:
    """Position of a batch's file given {resolved path: position} of the files asked for (−1: not there)."""
    return positions.get(Path(events.source).resolve(), -1) if events.source else -1


class _Columns:
    """Datasets of an open HDF5 file that grow batch by batch along their first axis."""

    def __init__(self, f: Any) -> None:
        self.f, self.columns, self.n = f, {}, 0

    def append(self, name: str, values: np.ndarray) -> None:
        values = np.asarray(values)
        if name not in self.columns:
            self.columns[name] = self.f.create_dataset(
                name, shape=(0, *values.shape[1:]), dtype=values.dtype, maxshape=(None, *values.shape[1:]),
                chunks=True,
            )
        ds = self.columns[name]
        ds.resize(self.n + len(values), axis=0)
        ds[self.n :] = values


def predict_to_h5(
    model: str | os.PathLike | TaskNetwork,
    paths: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    batch_size: int = BATCH_SIZE,
    info: Mapping[str, Any] | None = None,
) -> Path:
    """Per-event scores of a model (a run or model directory, or a TaskNetwork with its model.json `info`)
    on `paths`, streamed file by file into one HDF5 file (atomic).

    Datasets: `score` ((N,) class-1 probability or regressed value, (N, K) probabilities for multi-class),
    `predicted_class` (classification), `evt`, `row` (the event's index in its file: what `nuclass
    display --event` takes), `file_index` into `files` (names), and the truth in `neutrino/` ((N, 1) each,
    the teaching files' layout); attributes `task`, `model`, `class_names`. A multi-task model writes
    each task's `score` and `predicted_class` in a group named after the task (`numu-cc/score`, …), with
    that task's `class_names`, `kind` and `unit` as the group's attributes, and `tasks` on the file.
    """
    import h5py

    if hasattr(model, "score_tensors"):
        tasks, info = model.tasks, info or {}
    else:
        info = model_info(model)
        tasks = tuple(get_task(name) for name in parse_tasks(info["task"]))
    out = Path(out)
    multi = len(tasks) > 1
    paths = expand_paths(paths)
    index_of = {p.resolve(): i for i, p in enumerate(paths)}
    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["task"] = str(info.get("task", tasks[0].name))
            f.attrs["model"] = str(info.get("model", ""))
            if multi:
                f.attrs["tasks"] = [t.name for t in tasks]
                for t in tasks:
                    group = f.create_group(t.name)
                    group.attrs.update(class_names=list(t.class_names), kind=t.kind, unit=t.unit)
            else:
                f.attrs["class_names"] = list(tasks[0].class_names)
            f.create_dataset("files", data=np.array([p.name for p in paths], dtype=h5py.string_dtype()))
            columns = _Columns(f)
            for events, scores in predict_files(model, paths, batch_size):
                for t in tasks:
                    prefix = f"{t.name}/" if multi else ""
                    score = t.squeeze_scores(scores[t.name]).astype(np.float32)
                    columns.append(f"{prefix}score", score)
                    if t.is_classification:
                        columns.append(f"{prefix}predicted_class", t.predicted_class(score))
                columns.append("evt", np.asarray(events.meta["evt"]))
                columns.append("row", events.start + np.arange(len(events), dtype=np.int64))
                position = file_index(events, index_of)
                columns.append("file_index", np.full(len(events), position, dtype=np.int64))
                for name in ANALYSIS_TRUTH:
                    if name in events.meta:
                        columns.append(f"neutrino/{name}", np.asarray(events.meta[name]).reshape(-1, 1))
                columns.n += len(events)
    return out

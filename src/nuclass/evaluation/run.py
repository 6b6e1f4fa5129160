"""Evaluate a trained run: its test sets' metrics → RUN_DIR/metrics.json, and their figures → RUN_DIR/plots/.

The test sets are the run's own predictions, or its model's predictions on other files (`--data`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nuclass import predict
from nuclass.data.prepare import balanced_test_positions
from nuclass.errors import ConfigError
from nuclass.evaluation.metrics import metrics_for
from nuclass.io import expand_paths
from nuclass.labels import Task, get_task
from nuclass.labels.selection import EventSelection, describe_selection
from nuclass.labels.truth import ANALYSIS_TRUTH, VERTEX_TRUTH
from nuclass.plots.run import plot_run
from nuclass.run_dir import TEST_SETS, RunDir

__all__ = ["evaluate_run"]


def _predict_sets(
    model_dir: Path, tasks: Sequence[Task], paths: Sequence[Path], batch_size: int, config: Mapping[str, Any]
) -> dict[str, dict[str, dict]]:
    """{task: natural and balanced test sets} made by running the model over `paths` (for --data) once,
    restricted by the run's selection (where / signal / background); each balanced set is drawn as training
    draws its own (data.prepare.balanced_test_positions, from the run's seed)."""
    selection = EventSelection.from_settings(config)
    index_of = {Path(p).resolve(): i for i, p in enumerate(paths)}
    columns = ("score", "target", *ANALYSIS_TRUTH, "evt", "file_index", *VERTEX_TRUTH)
    parts = {t.name: {k: [] for k in columns} for t in tasks}
    for events, scores in predict.predict_files(model_dir, list(paths), batch_size):
        for task in tasks:
            _collect(parts[task.name], task, events, scores[task.name], selection,
                     predict.file_index(events, index_of))
    sets = {}
    for task in tasks:
        found = parts[task.name]
        if not found["target"]:
            raise ConfigError("no events to evaluate in the given --data files")
        n_batches = len(found["target"])
        natural = {k: np.concatenate(v) for k, v in found.items() if len(v) == n_batches}  # vertex: if all
        keep = balanced_test_positions(natural["target"], task, int(config.get("seed") or 0))
        sets[task.name] = {"natural": natural, "balanced": {k: v[keep] for k, v in natural.items()}}
    return sets


def _collect(parts: dict[str, list], task: Task, events: Any, score: np.ndarray, selection: EventSelection,
             file_position: int) -> None:
    """The events of one batch that `task` uses and the selection keeps: scores, targets, truth."""
    mask, target = task.labels(events.meta)
    if selection.active:
        used = np.flatnonzero(mask)
        keep = selection.mask({k: np.asarray(v)[used] for k, v in events.meta.items()}, target)
        mask[used[~keep]] = False
        target = target[keep]
    parts["score"].append(np.asarray(score)[mask])
    parts["target"].append(target)
    for name in (*ANALYSIS_TRUTH, "evt", *VERTEX_TRUTH):
        if name in events.meta:
            parts[name].append(np.asarray(events.meta[name])[mask])
    parts["file_index"].append(np.full(int(mask.sum()), file_position, np.int64))


def test_sets_of(task: Task) -> tuple[str, ...]:
    """The test sets evaluated for a task: natural and balanced, natural only for a regression (whose
    balanced test set is the natural one)."""
    return TEST_SETS if task.is_classification else TEST_SETS[:1]


def evaluate_run(
    run_dir: str | os.PathLike,
    data: Sequence[str | os.PathLike] | None = None,
    *,
    batch_size: int = predict.BATCH_SIZE,
    plots: bool = True,
) -> dict[str, Any]:
    """Metrics of a trained run on its natural and balanced test sets → RUN_DIR/metrics.json, RUN_DIR/plots/.

    Uses RUN_DIR/predictions/{natural,balanced}.npz, or, if `data` names HDF5 files (or directories), the
    run's model's predictions on those (natural: every event the task uses; balanced: classes undersampled
    to equal counts as in training; a regression has the natural set only). Returns the metrics.json
    content, with the plots' paths relative to RUN_DIR under "plots" (`plots=False`: metrics only, "plots"
    empty). A multi-task run gets every task's block in that layout under "tasks" (see RunDir), its
    figures in plots/TASK/.
    """
    run = RunDir(run_dir)
    config = run.read_config()
    tasks = [get_task(name) for name in run.task_names()]
    files = expand_paths(data) if data else []
    if files:
        sets = _predict_sets(run.path, tasks, files, batch_size, config)
    else:
        sets = {t.name: {name: run.load_predictions(name, t) for name in test_sets_of(t)} for t in tasks}
    blocks = {t.name: _task_metrics(run, t, sets[t.name], config, files, plots) for t in tasks}
    if len(tasks) == 1:
        result = blocks[tasks[0].name]
    else:
        result = {"task": str(config["task"]), "model": run.model_name(), "tasks": blocks}
        if files:
            result["data"] = [str(p) for p in files]
    run.write_metrics(result)
    return result


def _task_metrics(run: RunDir, task: Task, sets: Mapping[str, Mapping[str, np.ndarray]],
                  config: Mapping[str, Any], files: Sequence[Path], plots: bool) -> dict[str, Any]:
    """One task's metrics.json block (the one-task layout), its figures drawn if `plots`."""
    sets = {name: arrays for name, arrays in sets.items() if name in test_sets_of(task)}
    result: dict[str, Any] = {
        "task": task.name,
        "model": run.model_name(),
        "test_sets": {
            name: metrics_for(task, arrays["target"], arrays["score"], arrays)
            for name, arrays in sets.items()
        },
    }
    notes = [task.note] if task.note else []
    if not task.is_classification:
        notes.append("no balanced test set: a regression has no classes to balance (natural composition)")
    if notes:
        result["notes"] = notes
    if selection := describe_selection(config):
        result["selection"] = selection
    if files:
        result["data"] = [str(p) for p in files]
    result["plots"] = plot_run(run, task, sets, result) if plots else {}
    return result

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
    run: RunDir, task: Task, paths: Sequence[Path], batch_size: int, config: Mapping[str, Any]
) -> dict[str, dict]:
    """Natural and balanced test sets made by running the run's model over `paths` (for --data), restricted
    by the run's selection (where / signal / background); the balanced set is drawn as training draws its
    own (data.prepare.balanced_test_positions, from the run's seed)."""
    selection = EventSelection.from_settings(config)
    index_of = {Path(p).resolve(): i for i, p in enumerate(paths)}
    columns = ("score", "target", *ANALYSIS_TRUTH, "evt", "file_index", *VERTEX_TRUTH)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in columns}
    for events, score in predict.predict_files(run.path, list(paths), batch_size):
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
        parts["file_index"].append(np.full(int(mask.sum()), predict.file_index(events, index_of), np.int64))
    if not parts["target"]:
        raise ConfigError("no events to evaluate in the given --data files")
    n_batches = len(parts["target"])
    # vertex fields: only if every batch has them
    natural = {k: np.concatenate(v) for k, v in parts.items() if len(v) == n_batches}
    keep = balanced_test_positions(natural["target"], task, int(config.get("seed") or 0))
    return {"natural": natural, "balanced": {k: v[keep] for k, v in natural.items()}}


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
    to equal counts as in training; regression: the natural set). Returns the metrics.json content, with
    the plots' paths relative to RUN_DIR under "plots" (`plots=False`: metrics only, "plots" empty).
    """
    run = RunDir(run_dir)
    config = run.read_config()
    task = get_task(str(config["task"]))
    files = expand_paths(data) if data else []
    if files:
        sets = _predict_sets(run, task, files, batch_size, config)
    else:
        sets = {name: run.load_predictions(name, task) for name in TEST_SETS}
    result: dict[str, Any] = {
        "task": task.name,
        "model": run.model_name(),
        "test_sets": {
            name: metrics_for(task, arrays["target"], arrays["score"], arrays)
            for name, arrays in sets.items()
        },
    }
    if selection := describe_selection(config):
        result["selection"] = selection
    if files:
        result["data"] = [str(p) for p in files]
    result["plots"] = plot_run(run, task, sets, result) if plots else {}
    run.write_metrics(result)
    return result

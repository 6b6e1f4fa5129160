"""Every figure of a run's evaluation: those of each test set, the training curves and the class counts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nuclass.labels import Task
from nuclass.labels.groups import GROUPINGS
from nuclass.plots.metrics import (
    binned_performance,
    category_performance,
    confusion_matrices,
    efficiency_purity,
    predicted_vs_true,
    roc_curves,
    score_distributions,
)
from nuclass.plots.training import class_counts, training_curves
from nuclass.run_dir import RunDir

__all__ = ["plot_test_set", "plot_run"]


def plot_test_set(
    task: Task,
    arrays: Mapping[str, np.ndarray],
    block: Mapping[str, Any],
    out_dir: str | os.PathLike,
    prefix: str,
) -> dict[str, Path]:
    """Every figure of one test set (arrays: score, target, truth; block: its metrics) → {name: path}."""
    out_dir = Path(out_dir)
    y, score = np.asarray(arrays["target"]), np.asarray(arrays["score"])
    label = f"{task.name}, {prefix} test set"
    paths: dict[str, Path] = {}
    metrics = task.metrics.grouped
    if task.is_classification:
        paths["roc"] = roc_curves(task, y, score, out_dir / f"{prefix}_roc.png", f"ROC curve ({label})")
        best = None
        if task.kind == "binary":
            ep = block["efficiency_purity"]
            best = ep["best_cut"]
            paths["efficiency_purity"] = efficiency_purity(
                ep,
                out_dir / f"{prefix}_efficiency_purity.png",
                task.class_names[1],
                f"Efficiency and purity vs cut ({label})",
            )
        paths["scores"] = score_distributions(
            task, y, score, out_dir / f"{prefix}_scores.png", f"Scores by true class ({label})", best
        )
        paths["confusion_matrix"] = confusion_matrices(
            block["confusion_matrix"],
            task.class_names,
            out_dir / f"{prefix}_confusion_matrix.png",
            f"Confusion matrix ({label})",
        )
    else:
        quantity = task.quantity or task.name
        note = f"; {task.quantity_note}" if task.quantity_note else ""
        pred = task.squeeze_scores(score)
        paths["predicted_vs_true"] = predicted_vs_true(
            y,
            pred,
            out_dir / f"{prefix}_predicted_vs_true.png",
            quantity,
            task.unit,
            f"Predicted vs true {quantity} ({label}{note})",
        )
        paths["by_true"] = binned_performance(
            block["by_true"],
            task.class_names[0],
            out_dir / f"{prefix}_by_true.png",
            metrics,
            block,
            f"Bias and resolution vs true {quantity} ({label}{note})",
        )
    for variable, grouping in GROUPINGS.items():
        if variable not in block["by"]:  # e.g. no vertex in these files
            continue
        out = out_dir / f"{prefix}_by_{variable}.png"
        if grouping.categories is None:
            title = f"Performance vs {grouping.axis_label} ({label})"
            paths[f"by_{variable}"] = binned_performance(
                block["by"][variable], variable, out, metrics, block, title
            )
        else:
            title = f"Performance per {variable} ({label})"
            per_category = task.metrics.per_category
            paths[f"by_{variable}"] = category_performance(
                block["by"][variable], variable, out, per_category, block, title
            )
    return paths


def plot_run(
    run: RunDir,
    task: Task,
    sets: Mapping[str, Mapping[str, np.ndarray]],
    result: Mapping[str, Any],
) -> dict[str, Any]:
    """Every figure of a run's task into RUN_DIR/plots/ (a multi-task run's: plots/TASK/, the training curves
    in plots/); returns their paths relative to RUN_DIR, per test set."""
    out_dir = run.task_plots(task.name)
    rel: dict[str, Any] = {}
    log = run.file(RunDir.TRAINING_LOG)
    if log.is_file():
        rel["training_curves"] = (
            training_curves(log, run.plots / "training_curves.png").relative_to(run.path).as_posix()
        )
    info = run.read_model_info()
    counts = info.get("class_counts")
    if counts and run.is_multitask():
        counts = counts.get(task.name)
    if counts:
        balance = str(info.get("config", {}).get("balance") or "")
        path = class_counts(counts, task.class_names, out_dir / "class_counts.png", balance)
        rel["class_counts"] = path.relative_to(run.path).as_posix()
    for name, arrays in sets.items():
        paths = plot_test_set(task, arrays, result["test_sets"][name], out_dir, name)
        rel[name] = {k: p.relative_to(run.path).as_posix() for k, p in paths.items()}
    return rel

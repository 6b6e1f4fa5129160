"""A run's section of the report: configuration, data, training, every metric of metrics.json, every plot,
and the analysis of performance against the truth — for each task of a multi-task run. It reads an
evaluated run; it never evaluates one."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nuclass.labels import get_task
from nuclass.report.data import data_section
from nuclass.report.html import esc, figure_html, flatten, fmt, table
from nuclass.report.tables import (
    WORDS,
    by_table,
    confusion_tables,
    dependence_html,
    efficiency_purity_table,
    in_short,
    per_class_table,
    summary_table,
)
from nuclass.run_dir import TEST_SETS, RunDir

__all__ = ["run_section"]


def _plots_html(run_dir: Path, plots: Mapping[str, Any], names: Sequence[str]) -> str:
    """Natural and balanced versions of each figure side by side."""
    sets = [s for s, figures in plots.items() if isinstance(figures, Mapping)]
    out = []
    for name in names:
        figures = [figure_html(run_dir / plots[s][name], f"{s} test set") for s in sets if name in plots[s]]
        if figures:
            out.append(f'<div class="grid">{"".join(figures)}</div>')
    return "".join(out)


def _configuration(run: RunDir) -> str:
    """config.yaml, and model.json's own fields (its copy of the configuration is config.yaml)."""
    scalars = [
        (k, v) for k, v in flatten(run.read_model_info())
        if not k.startswith("config.") and not isinstance(v, list)
    ]
    return (
        '<h3>Configuration</h3><div class="grid"><div><b>config.yaml</b>'
        + table(["setting", "value"], [[esc(k), fmt(v)] for k, v in flatten(run.read_config())], left=2)
        + "</div><div><b>model.json</b>"
        + (table(["field", "value"], [[esc(k), fmt(v)] for k, v in scalars], left=2) if scalars else " –")
        + "</div></div>"
    )


def _training(run: RunDir, plots: Mapping[str, Any]) -> str:
    if "training_curves" not in plots:
        return ""
    return "<h3>Training</h3>" + figure_html(
        run.path / plots["training_curves"], "Per-validation metrics from metrics.csv (Lightning CSVLogger)."
    )


def _task_body(run: RunDir, metrics: Mapping[str, Any], heading: str) -> str:
    """Everything about one task: in short, its data, class balance, metrics, plots, truth analysis."""
    task = get_task(metrics["task"])
    blocks = {
        s: metrics["test_sets"][s] for s in (*TEST_SETS, *metrics["test_sets"]) if s in metrics["test_sets"]
    }
    plots, run_dir = metrics.get("plots", {}), run.path
    parts = [in_short(task, blocks, metrics.get("notes", ())), data_section(run, metrics)]
    if "class_counts" in plots:
        parts.append(
            "<h4>Class balance</h4>"
            + figure_html(
                run_dir / plots["class_counts"], "Events per class before and after balancing, per split."
            )
        )
    parts.append(f"<{heading}>Metrics</{heading}><div class=note>{WORDS}</div>")
    parts.append(summary_table(blocks, task))
    if task.kind == "binary":
        parts.append(efficiency_purity_table(blocks, task.class_names[1]))
    grouped = task.metrics.grouped
    if task.is_classification:
        parts.append(confusion_tables(blocks) + per_class_table(blocks))
        parts.append(_plots_html(run_dir, plots, ("roc", "efficiency_purity", "scores", "confusion_matrix")))
    else:
        by_true = {s: {"by": {"by_true": b["by_true"]}} for s, b in blocks.items()}
        quantity = task.quantity or task.name
        parts.append(f"<h4>In bins of the true {esc(quantity)}</h4>" + by_table("by_true", by_true, grouped))
        parts.append(_plots_html(run_dir, plots, ("predicted_vs_true", "by_true")))
    parts.append(f"<{heading}>Performance against the truth</{heading}>" + dependence_html(blocks))
    for variable in next(iter(blocks.values()))["by"]:
        parts.append(f"<h4>By {esc(variable)}</h4>" + by_table(variable, blocks, grouped))
        parts.append(_plots_html(run_dir, plots, (f"by_{variable}",)))
    return "".join(parts)


def _selection(metrics: Mapping[str, Any]) -> str:
    if not metrics.get("selection"):
        return ""
    return (
        "<p><b>Truth selection</b> (the run was trained and tested on these events only): "
        + "; ".join(f"{esc(k)} <code>{esc(v)}</code>" for k, v in metrics["selection"].items())
        + "</p>"
    )


def run_section(run_dir: str | os.PathLike, anchor: str = "run") -> str:
    """The report section of one evaluated run (HTML): configuration, data, training, metrics, plots, truth
    analysis — per task for a multi-task run (anchors ANCHOR-TASK). A run without metrics.json raises
    FormatError asking for `nuclass evaluate` first."""
    run = RunDir(run_dir)
    run.read_config()  # a directory that is no run: the error names config.yaml
    per_task = run.read_task_metrics()
    first = next(iter(per_task.values()))
    model = esc(first.get("model"))
    head = f'<section class="run" id="{esc(anchor)}">'
    if len(per_task) == 1:
        task = get_task(first["task"])
        return (
            f"{head}<h2>{esc(run.path.name)}: {esc(task.name)} with {model}</h2>"
            f"<p class=muted>{esc(run.path.resolve())} — task: {esc(task.description)}</p>"
            + _selection(first) + _configuration(run) + _training(run, first.get("plots", {}))
            + _task_body(run, first, "h3") + "</section>"
        )
    links = " · ".join(f'<a href="#{esc(anchor)}-{esc(t)}">{esc(t)}</a>' for t in per_task)
    parts = [
        f"{head}<h2>{esc(run.path.name)}: {len(per_task)} tasks with one multi-task {model}</h2>"
        f"<p class=muted>{esc(run.path.resolve())} — one shared trunk, a head per task: {links}</p>",
        _selection(first), _configuration(run), _training(run, first.get("plots", {})),
    ]
    for name, metrics in per_task.items():
        task = get_task(name)
        parts.append(
            f'<h3 id="{esc(anchor)}-{esc(name)}">Task {esc(name)}: {esc(task.description)}</h3>'
            + _task_body(run, metrics, "h4")
        )
    return "".join(parts) + "</section>"

"""The report page: one self-contained HTML file (figures embedded, inline CSS, nothing fetched) of runs,
side by side when there are several, and of studies."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nuclass.atomic import atomic_path
from nuclass.errors import FormatError
from nuclass.labels import KIND_METRICS, get_task
from nuclass.report.html import CSS, esc, fmt, table
from nuclass.report.run import run_section
from nuclass.report.study import study_section
from nuclass.report.systematics import systematics_section
from nuclass.run_dir import TEST_SETS, RunDir, StudyDir, SystematicsDir

__all__ = ["comparison_table", "write_report"]


# How the best of several runs' values is picked: the highest, unless a figure is better lower (or near 0).
_BEST: dict[str, Callable[[list[float]], float]] = {
    "resolution": min,
    "resolution_unbiased": min,
    "mae": min,
    "bias": lambda values: min(values, key=abs),
}


def comparison_table(runs: Sequence[tuple[str, str, Mapping[str, Any]]]) -> str:
    """Runs side by side (anchor, label, metrics.json dict): task, model and headline metrics per test set,
    one table for classification and one for regression; the best of each task highlighted."""

    sets = [s for s in TEST_SETS if any(s in m["test_sets"] for _, _, m in runs)]
    tables = []
    for kind_metrics in KIND_METRICS.values():
        chosen = [r for r in runs if get_task(r[2]["task"]).metrics is kind_metrics]
        if not chosen:
            continue
        columns = [(s, name, _BEST.get(name, max)) for s in sets for name in kind_metrics.headline]
        best: dict[tuple[str, str, str], float] = {}
        for task_name in {m["task"] for _, _, m in chosen}:
            for s, name, pick in columns:
                values = [
                    v
                    for _, _, m in chosen
                    if m["task"] == task_name and (v := m["test_sets"].get(s, {}).get(name)) is not None
                ]
                if len(values) > 1:
                    best[(task_name, s, name)] = pick(values)
        rows = []
        for anchor, label, m in chosen:
            link = f'<a href="#{esc(anchor)}">{esc(label)}</a>'
            row: list[Any] = [link, esc(m["task"]), esc(m.get("model"))]
            for s, name, _ in columns:
                value = m["test_sets"].get(s, {}).get(name)
                is_best = value is not None and best.get((m["task"], s, name)) == value
                row.append((fmt(value), "best") if is_best else fmt(value))
            rows.append(row)
        tables.append(
            table(["run", "task", "model", *[f"{s}: {name}" for s, name, _ in columns]], rows, left=3)
        )
    return (
        "<p>Headline metrics of every run; the best value among runs of the same task is highlighted "
        "(highest accuracy and ROC AUC, lowest resolution, spread and MAE, bias closest to 0). Accuracy is "
        "at score ≥ 0.5 (binary) or the most probable class; accuracy_at_best_cut at the cut maximising "
        "efficiency × purity; a multi-task run has a row per task.</p>" + "".join(tables)
    )



def write_report(
    run_dirs: Sequence[str | os.PathLike],
    out_html: str | os.PathLike,
    *,
    studies: Sequence[Mapping[str, Any] | str | os.PathLike] = (),
    systematics: Sequence[str | os.PathLike] = (),
    title: str = "nuclass report",
) -> Path:
    """Write ONE self-contained HTML report of `run_dirs` (and `studies`: study directories, or study.json
    dicts without figures; `systematics`: systematics directories) to `out_html`, atomically.

    Every run must have been evaluated (metrics.json; FormatError otherwise). Figures are embedded as
    base64 PNG; nothing is loaded from the network when the page is opened.
    """
    from nuclass import __version__

    out_html = Path(out_html)
    run_dirs = [Path(r) for r in run_dirs]
    if not run_dirs and not studies and not systematics:
        expected = "at least one run, study or systematics directory to report on"
        raise FormatError(out_html, None, expected, "none")
    anchors = [f"run-{i + 1}" for i in range(len(run_dirs))]
    sections = [run_section(r, a) for r, a in zip(run_dirs, anchors, strict=True)]
    metrics = []  # (anchor, label, metrics of one task): a multi-task run gives a row per task
    for r, a in zip(run_dirs, anchors, strict=True):
        per_task = RunDir(r).read_task_metrics()
        single = len(per_task) == 1
        metrics += [(a if single else f"{a}-{t}", r.name if single else f"{r.name} [{t}]", m)
                    for t, m in per_task.items()]
    nav = "".join(f'<a href="#{esc(a)}">{esc(r.name)}</a>' for r, a in zip(run_dirs, anchors, strict=True))
    body = [
        f"<h1>{esc(title)}</h1><p class=muted>nuclass {esc(__version__)}, written "
        f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M')}, {len(run_dirs)} run(s)</p><nav>{nav}</nav>"
    ]
    if len(run_dirs) > 1:
        body.append('<section class="box"><h2>Comparison</h2>' + comparison_table(metrics) + "</section>")
    elif metrics:
        body.append('<section class="box"><h2>Summary</h2>' + comparison_table(metrics) + "</section>")
    body += sections
    if studies:
        rendered = [
            study_section(s) if isinstance(s, Mapping) else study_section(StudyDir(s).read(), s)
            for s in studies
        ]
        body.append("<h2>Studies</h2>" + "".join(rendered))
    if systematics:
        body.append("<h2>Systematics</h2>" + "".join(
            systematics_section(SystematicsDir(d).read(), d) for d in systematics))
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{CSS}</style></head><body><main>{''.join(body)}</main></body></html>\n"
    )
    with atomic_path(out_html) as tmp:  # missing folders made
        tmp.write_text(page, encoding="utf-8")
    return out_html

"""A run's section of the report: configuration, data, training, every metric of metrics.json, every plot,
and the analysis of performance against the truth. It reads an evaluated run; it never evaluates one."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nuclass.evaluation.truth import format_metric
from nuclass.labels import Task, get_task
from nuclass.labels.groups import grouping
from nuclass.report.data import data_section
from nuclass.report.html import esc, figure_html, flatten, fmt, table
from nuclass.run_dir import TEST_SETS, RunDir
from nuclass.stats import DEPENDENCE_SIGMA, MIN_GROUP_EVENTS, format_value

__all__ = ["run_section"]

_WORDS = (
    "<b>Efficiency</b> is the fraction of true signal events that are selected; <b>purity</b> is the "
    "fraction of selected events that are signal. Per-bin and per-category numbers are <b>accuracy</b> "
    "(the fraction of events classified correctly); seed 001 called this per-bin accuracy “efficiency”, "
    "which is not the efficiency defined here. Errors are statistical: binomial standard errors (±) in "
    "tables, 68 % Clopper–Pearson intervals in the plots; <i>bias</i> is the mean and <i>resolution</i> "
    "the RMS of (predicted − true)/true."
)


_ROW_NOTES = {
    "loss": "mean cross-entropy (nats)",
    "precision": "binary: purity at score ≥ 0.5; multi-class: macro average",
    "recall": "binary: efficiency at score ≥ 0.5; multi-class: macro average",
    "roc_auc": "multi-class: one-vs-rest, macro average",
    "n_relative": "events with true ≠ 0 (used for bias and resolution)",
    "mse": "mean squared error",
    "mae": "mean absolute error",
}


def _summary_table(blocks: Mapping[str, Mapping[str, Any]], task: Task) -> str:
    rows = []
    for key in task.metrics.summary:
        cells = []
        for block in blocks.values():
            value, err = block.get(key), block.get(f"{key}_err")
            cells.append(esc(format_value(value, err)) if value is not None and err else fmt(value))
        rows.append([f"{esc(key)} <span class=muted>{esc(_ROW_NOTES.get(key, ''))}</span>", *cells])
    for name in next(iter(blocks.values())).get("roc_auc_per_class", {}):
        rows.append(
            [
                f"roc_auc <span class=muted>{esc(name)} vs rest</span>",
                *[fmt(b["roc_auc_per_class"][name]) for b in blocks.values()],
            ]
        )
    return table(["metric", *blocks], rows)


def _efficiency_purity_table(blocks: Mapping[str, Mapping[str, Any]], signal: str) -> str:
    cuts = np.round(np.arange(0.1, 0.91, 0.1), 2)
    header = ["score cut"] + [f"{s}: {w}" for s in blocks for w in ("efficiency", "purity")]
    rows = []
    for c in cuts:
        row = [f"{c:.1f}"]
        for block in blocks.values():
            ep = block["efficiency_purity"]
            i = int(np.argmin(np.abs(np.asarray(ep["cut"]) - c)))
            row += [fmt(ep["efficiency"][i]), fmt(ep["purity"][i])]
        rows.append(row)
    best = ["<b>best (max. eff. × pur.)</b>"]
    for block in blocks.values():
        ep = block["efficiency_purity"]
        best += [f"{fmt(ep['best_efficiency'])} at cut {fmt(ep['best_cut'], 3)}", fmt(ep["best_purity"])]
    rows.append(best)
    return f"<h4>Efficiency and purity of the selection score ≥ cut (signal: {esc(signal)})</h4>" + table(
        header, rows
    )


def _confusion_tables(blocks: Mapping[str, Mapping[str, Any]]) -> str:
    out = ['<h4>Confusion matrices (rows: true class, columns: predicted class)</h4><div class="grid">']
    for set_name, block in blocks.items():
        names = block["class_names"]
        rows = [
            [esc(name)]
            + [
                f"{fmt(c)} <span class=muted>({fmt(r, 3)})</span>"
                for c, r in zip(cm_row, norm_row, strict=True)
            ]
            for name, cm_row, norm_row in zip(
                names, block["confusion_matrix"], block["confusion_matrix_normalised"], strict=True
            )
        ]
        out.append(
            f"<div><b>{esc(set_name)}</b>: counts (fraction of the true class)"
            + table(["true \\ predicted", *names], rows)
            + "</div>"
        )
    return "".join(out) + "</div>"


def _per_class_table(blocks: Mapping[str, Mapping[str, Any]]) -> str:
    first = next(iter(blocks.values()))
    if "per_class" not in first:
        return ""
    header = ["class"] + [f"{s}: {w}" for s in blocks for w in ("n", "efficiency", "purity")]
    rows = []
    for i, entry in enumerate(first["per_class"]):
        row = [esc(entry["class"])]
        for block in blocks.values():
            e = block["per_class"][i]
            row += [fmt(e["n"]), fmt(e["efficiency"]), fmt(e["purity"])]
        rows.append(row)
    return (
        "<h4>Per class: efficiency (fraction of the class predicted as it) and purity (fraction of "
        "events predicted as the class that belong to it)</h4>" + table(header, rows)
    )


def _group_label(variable: str, group: Mapping[str, Any]) -> str:
    return esc(grouping(variable).label(group))


def _by_table(variable: str, blocks: Mapping[str, Mapping[str, Any]], metrics: Sequence[str]) -> str:
    """One row per bin or category present in some test set; absent categories listed by name below."""
    per_set = [b["by"][variable] for b in blocks.values()]
    header = ["bin" if "lo" in per_set[0][0] else "category"]
    header += [f"{s}: {m}" for s in blocks for m in ("n", *metrics)]
    rows, absent = [], []
    for i, group in enumerate(per_set[0]):
        if all(groups[i]["n"] == 0 for groups in per_set):
            absent.append(str(group.get("category", _group_label(variable, group))))
            continue
        row = [_group_label(variable, group)]
        for groups in per_set:
            g = groups[i]
            row.append(
                fmt(g["n"]) if g["n"] >= MIN_GROUP_EVENTS else f"<span class=muted>{fmt(g['n'])}</span>"
            )
            row += [esc(format_metric(g, m)) for m in metrics]
        rows.append(row)
    note = (
        f'<p class="muted">Absent from every test set ({len(absent)}): {esc(", ".join(absent))}.</p>'
        if absent
        else ""
    )
    return table(header, rows) + note


def _dependence_html(blocks: Mapping[str, Mapping[str, Any]]) -> str:
    out = []
    for set_name, block in blocks.items():
        items = "".join(
            f"<li{' class=sig' if d['significant'] else ''}>{esc(d['sentence'])}</li>"
            for d in block["dependence"]
        )
        questions = "".join(f"<li>{esc(q['sentence'])}</li>" for q in block.get("questions", []))
        rows = [
            [
                esc(d["variable"]),
                esc(d["metric"]),
                fmt(d["n_groups"]),
                "–" if d["chi2"] is None else f"{d['chi2']:.1f} / {d['ndf']}",
                fmt(d["p_value"], 2),
                "–" if d["significance"] is None else f"{d['significance']:.1f}σ",
                "–" if d["high"] is None else f"{esc(d['high']['label'])}: {esc(d['high']['text'])}",
                "–" if d["low"] is None else f"{esc(d['low']['label'])}: {esc(d['low']['text'])}",
                "–" if d["difference_sigma"] is None else f"{d['difference_sigma']:.1f}σ",
            ]
            for d in block["dependence"]
        ]
        out.append(
            f"<h4>{esc(set_name)} test set</h4>"
            f"<p><b>The seeds' questions:</b></p><ul class=sentences>{questions}</ul>"
            f"<p><b>Which truth variables matter</b> (ranked by the χ² test that the metric is the same in "
            f"every group with ≥ {MIN_GROUP_EVENTS} events; red: ≥ {DEPENDENCE_SIGMA:g}σ):</p>"
            f"<ul class=sentences>{items}</ul>"
            + table(
                [
                    "variable",
                    "metric",
                    "groups",
                    "χ² / ndf",
                    "p",
                    "significance",
                    "highest",
                    "lowest",
                    "highest − lowest",
                ],
                rows,
                left=2,
            )
        )
    return "".join(out)


def _plots_html(run_dir: Path, plots: Mapping[str, Any], names: Sequence[str]) -> str:
    """Natural and balanced versions of each figure side by side."""
    sets = [s for s in plots if s != "training_curves"]
    out = []
    for name in names:
        figures = [figure_html(run_dir / plots[s][name], f"{s} test set") for s in sets if name in plots[s]]
        if figures:
            out.append(f'<div class="grid">{"".join(figures)}</div>')
    return "".join(out)


def _in_short(task: Task, blocks: Mapping[str, Mapping[str, Any]]) -> str:
    """A few lines for a hurried reader: headline numbers per test set, the seeds' questions, what matters."""
    items = []
    for name, block in blocks.items():
        if task.kind == "regression":
            head = f"resolution {format_metric(block, 'resolution')}, bias {format_metric(block, 'bias')}"
        else:
            head = (
                f"accuracy {block['accuracy']:.3f}, balanced accuracy {fmt(block['balanced_accuracy'], 3)}, "
                f"ROC AUC {fmt(block['roc_auc'], 3)}"
            )
            if "efficiency_purity" in block:
                ep = block["efficiency_purity"]
                head += (
                    f"; best cut {fmt(ep['best_cut'], 2)}: efficiency {fmt(ep['best_efficiency'], 3)}, "
                    f"purity {fmt(ep['best_purity'], 3)}"
                )
        items.append(f"<li><b>{esc(name)}</b> test set ({block['n_events']:,} events): {esc(head)}</li>")
    natural = blocks.get("natural", next(iter(blocks.values())))
    items += [f"<li>{esc(q['sentence'])}</li>" for q in natural.get("questions", [])]
    flagged = [d for d in natural["dependence"] if d["significant"]]
    items.append(
        f'<li class="sig">{esc(flagged[0]["sentence"])}</li>'
        if flagged
        else f"<li>No significant (≥ {DEPENDENCE_SIGMA:g}σ) dependence on any truth variable in the natural "
        "test set.</li>"
    )
    return f'<div class="note"><b>In short</b><ul class=sentences>{"".join(items)}</ul></div>'


def run_section(run_dir: str | os.PathLike, anchor: str = "run") -> str:
    """The report section of one evaluated run (HTML): configuration, data, training, metrics, plots, truth
    analysis. A run without metrics.json raises FormatError asking for `nuclass evaluate` first."""
    run = RunDir(run_dir)
    config = run.read_config()
    metrics = run.read_metrics()
    task = get_task(metrics["task"])
    blocks = {
        s: metrics["test_sets"][s] for s in (*TEST_SETS, *metrics["test_sets"]) if s in metrics["test_sets"]
    }
    plots = metrics.get("plots", {})
    model_info = run.read_model_info()
    run_dir = run.path

    parts = [
        f'<section class="run" id="{esc(anchor)}"><h2>{esc(run_dir.name)}: {esc(task.name)} with '
        f"{esc(metrics.get('model'))}</h2>"
        f"<p class=muted>{esc(run_dir.resolve())} — task: {esc(task.description)}</p>"
    ]
    if metrics.get("selection"):
        parts.append(
            "<p><b>Truth selection</b> (the run was trained and tested on these events only): "
            + "; ".join(f"{esc(k)} <code>{esc(v)}</code>" for k, v in metrics["selection"].items())
            + "</p>"
        )
    parts.append(_in_short(task, blocks))
    # model.json's own fields (its copy of the configuration is config.yaml)
    scalars = [
        (k, v) for k, v in flatten(model_info) if not k.startswith("config.") and not isinstance(v, list)
    ]
    parts.append(
        '<h3>Configuration</h3><div class="grid"><div><b>config.yaml</b>'
        + table(["setting", "value"], [[esc(k), fmt(v)] for k, v in flatten(config)], left=2)
        + "</div><div><b>model.json</b>"
        + (table(["field", "value"], [[esc(k), fmt(v)] for k, v in scalars], left=2) if scalars else " –")
        + "</div></div>"
    )
    parts.append(data_section(run, metrics))
    if "class_counts" in plots:
        parts.append(
            "<h4>Class balance</h4>"
            + figure_html(
                run_dir / plots["class_counts"], "Events per class before and after balancing, per split."
            )
        )
    if "training_curves" in plots:
        parts.append(
            "<h3>Training</h3>"
            + figure_html(
                run_dir / plots["training_curves"],
                "Per-epoch metrics from metrics.csv (Lightning CSVLogger).",
            )
        )
    parts.append(f"<h3>Metrics</h3><div class=note>{_WORDS}</div>")
    parts.append(_summary_table(blocks, task))
    if task.kind == "binary":
        parts.append(_efficiency_purity_table(blocks, task.class_names[1]))
    grouped = task.metrics.grouped
    if task.is_classification:
        parts.append(_confusion_tables(blocks) + _per_class_table(blocks))
        parts.append(_plots_html(run_dir, plots, ("roc", "efficiency_purity", "scores", "confusion_matrix")))
    else:
        by_true = {s: {"by": {"by_true": b["by_true"]}} for s, b in blocks.items()}
        parts.append("<h4>In bins of the true value</h4>" + _by_table("by_true", by_true, grouped))
        parts.append(_plots_html(run_dir, plots, ("predicted_vs_true", "by_true")))
    parts.append("<h3>Performance against the truth</h3>" + _dependence_html(blocks))
    for variable in next(iter(blocks.values()))["by"]:
        parts.append(f"<h4>By {esc(variable)}</h4>" + _by_table(variable, blocks, grouped))
        parts.append(_plots_html(run_dir, plots, (f"by_{variable}",)))
    parts.append("</section>")
    return "".join(parts)

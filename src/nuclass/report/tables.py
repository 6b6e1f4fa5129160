"""The report's tables of one task's metrics (a metrics.json block per test set): the summary, efficiency
and purity, confusion matrices, per class, per truth bin, the dependence on the truth, and "in short"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nuclass.evaluation.truth import format_metric
from nuclass.labels import Task
from nuclass.labels.groups import grouping
from nuclass.report.html import esc, fmt, table
from nuclass.stats import DEPENDENCE_SIGMA, MIN_GROUP_EVENTS, format_value

__all__ = [
    "WORDS",
    "summary_table",
    "efficiency_purity_table",
    "confusion_tables",
    "per_class_table",
    "by_table",
    "dependence_html",
    "in_short",
]

WORDS = (
    "<b>Efficiency</b> is the fraction of true signal events that are selected; <b>purity</b> is the "
    "fraction of selected events that are signal. Per-bin and per-category numbers are <b>accuracy</b> "
    "(the fraction of events classified correctly); seed 001 called this per-bin accuracy “efficiency”, "
    "which is not the efficiency defined here. <b>Accuracy</b> is at a score cut of 0.5 (binary) or for "
    "the most probable class: after balanced training it is not the best accuracy on the natural test "
    "set, so the accuracy at the efficiency × purity cut and that of calling every event the commonest "
    "class stand beside it. Errors are statistical: binomial standard errors (±) for accuracies, 68 % "
    "Clopper–Pearson intervals in the plots; for regressions standard errors of the mean (MAE, MSE, "
    "bias) and of the RMS and spread (delta method). <i>Bias</i> is the mean and <i>resolution</i> the "
    "RMS of (predicted − true)/true; the <i>spread</i> is its standard deviation, the resolution once the "
    "bias is removed (resolution² = spread² + bias²)."
)


_ROW_NOTES = {
    "accuracy": "at score ≥ 0.5 (binary) or the most probable class",
    "accuracy_at_best_cut": "at the cut maximising efficiency × purity (binary)",
    "majority_class_accuracy": "calling every event the commonest class",
    "loss": "mean cross-entropy (nats)",
    "precision": "binary: purity at score ≥ 0.5; multi-class: macro average",
    "recall": "binary: efficiency at score ≥ 0.5; multi-class: macro average",
    "roc_auc": "multi-class: one-vs-rest, macro average",
    "n_relative": "events with true ≠ 0 (used for bias and resolution)",
    "mse": "mean squared error",
    "mae": "mean absolute error",
    "bias_abs": "mean of predicted − true",
    "bias": "relative: mean of (predicted − true)/true",
    "resolution": "RMS of (predicted − true)/true, bias included",
    "resolution_unbiased": "spread: std of (predicted − true)/true, the bias removed",
}


def _row_label(key: str, block: Mapping[str, Any]) -> str:
    unit = block.get("units", {}).get(key)
    note = _ROW_NOTES.get(key, "") + (f" ({unit})" if unit else "")
    return f"{esc(key)} <span class=muted>{esc(note)}</span>"


def summary_table(blocks: Mapping[str, Mapping[str, Any]], task: Task) -> str:
    rows = []
    for key in task.metrics.summary:
        if all(block.get(key) is None for block in blocks.values()):
            continue  # e.g. no best-cut accuracy for a multi-class task
        cells = []
        for block in blocks.values():
            value, err = block.get(key), block.get(f"{key}_err")
            cells.append(esc(format_value(value, err)) if value is not None and err else fmt(value))
        rows.append([_row_label(key, next(iter(blocks.values()))), *cells])
    for name in next(iter(blocks.values())).get("roc_auc_per_class", {}):
        rows.append(
            [
                f"roc_auc <span class=muted>{esc(name)} vs rest</span>",
                *[fmt(b["roc_auc_per_class"][name]) for b in blocks.values()],
            ]
        )
    return table(["metric", *blocks], rows)


def efficiency_purity_table(blocks: Mapping[str, Mapping[str, Any]], signal: str) -> str:
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


def confusion_tables(blocks: Mapping[str, Mapping[str, Any]]) -> str:
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


def per_class_table(blocks: Mapping[str, Mapping[str, Any]]) -> str:
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


def by_table(variable: str, blocks: Mapping[str, Mapping[str, Any]], metrics: Sequence[str]) -> str:
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


def dependence_html(blocks: Mapping[str, Mapping[str, Any]]) -> str:
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


def in_short(task: Task, blocks: Mapping[str, Mapping[str, Any]], notes: Sequence[str] = ()) -> str:
    """A few lines for a hurried reader: headline numbers per test set (each with its cut or its unit), the
    seeds' questions, what matters."""
    items = []
    for name, block in blocks.items():
        if task.kind == "regression":
            unit = f" {task.unit}" if task.unit else ""
            head = (
                f"resolution {format_metric(block, 'resolution')}, spread with the bias removed "
                f"{format_metric(block, 'resolution_unbiased')}, relative bias "
                f"{format_metric(block, 'bias')}, MAE {format_metric(block, 'mae')}{unit}"
            )
        else:
            rule = block.get("accuracy_rule", "score ≥ 0.5")
            head = (
                f"accuracy ({rule}) {format_metric(block, 'accuracy')} — calling every event the commonest "
                f"class scores {fmt(block.get('majority_class_accuracy'), 3)}; balanced accuracy "
                f"{fmt(block['balanced_accuracy'], 3)}, ROC AUC {fmt(block['roc_auc'], 3)}"
            )
            if "efficiency_purity" in block:
                ep = block["efficiency_purity"]
                head += (
                    f"; at the best cut {fmt(ep['best_cut'], 2)} (max. efficiency × purity): accuracy "
                    f"{fmt(block.get('accuracy_at_best_cut'), 3)}, efficiency "
                    f"{fmt(ep['best_efficiency'], 3)}, purity {fmt(ep['best_purity'], 3)}"
                )
        items.append(f"<li><b>{esc(name)}</b> test set ({block['n_events']:,} events): {esc(head)}</li>")
    items += [f"<li>{esc(n)}</li>" for n in notes]
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

"""A study's section of the report: the answers to its questions, every variant on its own and the common
test set with its change against the baseline, and the study's figures (from study.json)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nuclass.labels import KIND_METRICS
from nuclass.report.html import esc, figure_html, flatten, fmt, table
from nuclass.stats import format_value

__all__ = ["study_section"]


def _study_cell(block: Mapping[str, Any], metric: str) -> str:
    value = block.get(metric)
    return "–" if value is None else esc(format_value(value, block.get(f"{metric}_err")))


def _delta_cell(delta: Mapping[str, Any] | None, metric: str) -> str | tuple[str, str]:
    if not delta or delta.get(metric) is None:
        return "–"
    text = esc(format_value(delta[metric], delta[f"{metric}_err"]))
    sigma = delta.get(f"{metric}_sigma")
    text += f" ({sigma:.1f}σ)" if sigma is not None else ""
    return (f"<b>{text}</b>", "best") if delta.get(f"{metric}_significant") else text


def _generic_study_section(study: Mapping[str, Any]) -> str:
    """Any other study-like dict: its scalar settings and its lists of result rows as tables."""
    scalars = [(k, v) for k, v in flatten({k: v for k, v in study.items() if not isinstance(v, list)})]
    parts = [
        f'<section class="box"><h3>{esc(study.get("name", "study"))}</h3>',
        table(["field", "value"], [[esc(k), fmt(v)] for k, v in scalars]),
    ]
    for key, value in study.items():
        if isinstance(value, list) and value and all(isinstance(r, Mapping) for r in value):
            columns = list(dict.fromkeys(c for r in value for c in r))
            parts.append(
                f"<h4>{esc(key)}</h4>" + table(columns, [[fmt(r.get(c)) for c in columns] for r in value])
            )
    return "".join(parts) + "</section>"


def study_section(study: Mapping[str, Any], directory: str | os.PathLike | None = None) -> str:
    """The report section of one study (a study.json dict; `directory` holds its plots/): the answers to
    its questions, a table of every variant on its own and the common test set with the change against its
    baseline, a figure per metric, the learning curve, and the binned evaluation's answers. A dict that is
    not a study.json is shown generically (its settings and result rows)."""
    if "variants" not in study:
        return _generic_study_section(study)
    directory = Path(directory) if directory is not None else None
    name = study.get("study", "study")
    metrics = KIND_METRICS["classification"].compared
    parts = [
        f'<section class="box" id="study-{esc(name)}"><h3>Study {esc(name)}</h3>',
        f"<p>{esc(study.get('description', ''))}</p>",
        f"<p class=muted>task {esc(study.get('task'))}, model {esc(study.get('model'))}, "
        f"{esc(study.get('repeats'))} repeat(s) per variant, {esc(study.get('max_minutes') or '–')} min per "
        f"training; {esc(len(study.get('data', [])))} data files. Own test: the variant's selected test set "
        "(balanced); common test: the natural, unselected test files of the same split. "
        f"Significance: {esc(study.get('significance_rule', ''))}.</p>",
    ]
    if study.get("budget_note"):
        parts.append(f"<div class=note>{esc(study['budget_note'])}</div>")
    if study.get("answers"):
        parts.append(
            "<h4>Answers</h4><ul class=sentences>"
            + "".join(
                f"<li><b>{esc(a['question'])}</b> "
                + (f"<span class=sig>{esc(a['sentence'])}</span>" if a.get("significant")
                   else esc(a["sentence"]))
                + "</li>"
                for a in study["answers"]
            )
            + "</ul>"
        )
    short = {"accuracy": "acc", "balanced_accuracy": "bal. acc", "roc_auc": "AUC", "loss": "loss"}
    common_metrics = ("accuracy", "roc_auc")
    header = ["variant", "selection", "K", "own n", *[f"own {short[m]}" for m in metrics], "common n"]
    header += [f"common {short[m]}" for m in common_metrics] + ["Δ acc own", "Δ acc common", "vs"]
    rows = []
    for v in study.get("variants", []):
        selection = "; ".join(f"{k}: {x}" for k, x in v.get("selection", {}).items())
        selection_keys = ("where", "signal", "background", "equalize_signal")
        settings = {k: x for k, x in v.get("settings", {}).items() if k not in selection_keys}
        extra = "; ".join(f"{k}: {x}" for k, x in settings.items())
        if v.get("simulation"):
            extra = "; ".join(filter(None, [f"trained on: {v['simulation']['label']}", extra]))
        delta = v.get("delta_vs_baseline")
        rows.append(
            [
                f"<b>{esc(v['name'])}</b><br><span class=muted>{esc(v.get('label', ''))}</span>",
                f"<code>{esc(selection)}</code>" if selection else esc(extra or "none"),
                fmt(v.get("repeats")),
                fmt(v["own_test"].get("n_events")),
                *[_study_cell(v["own_test"], m) for m in metrics],
                fmt(v["common_test"].get("n_events")),
                *[_study_cell(v["common_test"], m) for m in common_metrics],
                _delta_cell(delta, "accuracy"),
                _delta_cell(delta.get("common_test") if delta else None, "accuracy"),
                esc(delta["baseline"]) if delta else "reference",
            ]
        )
    parts.append(
        "<h4>Variants</h4><p class=muted>K repeats; mean ± err (err combines the spread across repeats and "
        "the test set's statistical error); significant changes against the baseline are highlighted; every "
        "metric on both test sets is in study.json.</p>"
        + table(header, rows, left=2)
    )
    figures = study.get("figures", {})
    if directory is not None:
        if "learning_curve" in figures:
            parts.append("<h4>Learning curve</h4>" + figure_html(directory / figures["learning_curve"],
                         "Test accuracy and loss against the number of training events (log scale)."))
        shown = [m for m in metrics if m in figures]
        if shown:
            parts.append(
                "<h4>Metrics per variant</h4><div class=grid>"
                + "".join(
                    figure_html(directory / figures[m], f"{m} per variant, with error bars") for m in shown
                )
                + "</div>"
            )
    if study.get("binned_answers"):
        parts.append(
            "<h4>The same questions from the reference model's binned evaluation (natural test set)</h4>"
            "<ul class=sentences>"
            + "".join(f"<li>{esc(a['variant'])}: {esc(a['sentence'])}</li>" for a in study["binned_answers"])
            + "</ul>"
        )
    return "".join(parts) + "</section>"

"""The HTML report: one self-contained file (figures embedded, inline CSS, nothing fetched) for one or more
runs.

Per run: configuration, data, training curves, every metric of metrics.json, every plot, and the analysis of
performance against the truth; a comparison table when several runs are given; studies (issue 7) via
`study_section`.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nuclass.atomic import atomic_path
from nuclass.errors import FormatError
from nuclass.evaluate import MIN_GROUP_EVENTS, TEST_SETS, evaluate_run, format_metric, format_value
from nuclass.labels import Interaction, get_task

__all__ = [
    "write_report",
    "run_section",
    "comparison_table",
    "study_section",
    "load_study_dir",
    "split_files",
]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d232a;
 background:#f6f7f9}
main{max-width:1240px;margin:0 auto;padding:16px 28px 60px}
h1{font-size:1.7em;margin:.4em 0 .1em}h2{border-bottom:2px solid #2c6fb7;padding-bottom:4px;margin-top:2em}
h3{margin-top:1.6em;color:#2c4d72}h4{margin:1.2em 0 .4em}
section.run,section.box{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:6px 22px 18px;
 margin:22px 0}
table{border-collapse:collapse;margin:8px 0 14px;font-size:.9em;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #d5dbe2;padding:3px 9px;text-align:right;vertical-align:top}
th{background:#eef2f7;text-align:center}td.l,th.l{text-align:left}
tr:nth-child(even) td{background:#fafbfc}td.best{background:#d9f2dc!important;font-weight:600}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:14px}.grid figure{margin:0}
figure{margin:10px 0}figure img{max-width:100%;height:auto;border:1px solid #e3e7ec;border-radius:4px;
 background:#fff}figcaption{font-size:.85em;color:#555;margin-top:2px}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 12px;font-size:.9em;margin:10px 0}
.sig{color:#a11}.muted{color:#666;font-size:.88em}ul.sentences li{margin:4px 0}
nav a{margin-right:14px}code{background:#eef1f4;padding:0 3px;border-radius:3px}
"""

_WORDS = (
    "<b>Efficiency</b> is the fraction of true signal events that are selected; <b>purity</b> is the "
    "fraction of selected events that are signal. Per-bin and per-category numbers are <b>accuracy</b> "
    "(the fraction of events classified correctly); seed 001 called this per-bin accuracy “efficiency”, "
    "which is not the efficiency defined here. Errors are statistical: binomial standard errors (±) in "
    "tables, 68 % Clopper–Pearson intervals in the plots; <i>bias</i> is the mean and <i>resolution</i> "
    "the RMS of (predicted − true)/true."
)


def _e(text: Any) -> str:
    return html.escape(str(text))


def _img(path: Path, caption: str = "") -> str:
    """An <img> with the PNG embedded as a base64 data URI (or a note if the file is missing)."""
    if not path.is_file():
        return f'<p class="muted">figure missing: {_e(path.name)}</p>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{_e(caption or path.stem)}" src="data:image/png;base64,{data}">{cap}</figure>'


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    if isinstance(value, list):
        shown = ", ".join(str(v) for v in value[:4]) + (
            f", … ({len(value)} in all)" if len(value) > 4 else ""
        )
        return _e(shown)
    return _e(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1) -> str:
    """An HTML table; the first `left` columns are left-aligned text. Cells are pre-formatted HTML strings,
    or (html, css class) pairs."""

    def cell(i: int, c: str | tuple[str, str]) -> str:
        text, cls = c if isinstance(c, tuple) else (c, "")
        classes = " ".join(filter(None, ("l" if i < left else "", cls)))
        return f'<td class="{classes}">{text}</td>' if classes else f"<td>{text}</td>"

    head = "".join(f"<th{' class=l' if i < left else ''}>{_e(h)}</th>" for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell(i, c) for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(data, Mapping):
        return [item for k, v in data.items() for item in _flatten(v, f"{prefix}{k}.")]
    return [(prefix.rstrip("."), data)]


# ----------------------------------------------------------------------------------------------------------
# Run directory contents


def split_files(run_dir: str | os.PathLike) -> dict[str, list[Path]]:
    """Data files of each split recorded in RUN_DIR/split.json ({split: [existing paths]}; {} if none).

    Accepts {split: [paths]} or {split: {"files": [paths]}}; a relative path is looked up from the current
    directory (where training ran), then from RUN_DIR. Files that no longer exist are left out.
    """
    run_dir = Path(run_dir)
    path = run_dir / "split.json"
    if not path.is_file():
        return {}
    try:
        split = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise FormatError(path, None, "JSON", str(exc)) from None
    out: dict[str, list[Path]] = {}
    for name, value in split.items() if isinstance(split, Mapping) else ():
        files = value.get("files") if isinstance(value, Mapping) else value
        if isinstance(files, list) and all(isinstance(f, str) for f in files):
            paths = [p if p.is_file() else run_dir / p for p in map(Path, files)]
            out[name] = [p for p in paths if p.is_file()]
    return out


def _load_metrics(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "metrics.json"
    if not path.is_file():
        return evaluate_run(run_dir)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise FormatError(path, None, "JSON written by `nuclass evaluate`", str(exc)) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(path.read_text()) if path.is_file() else {}


# ----------------------------------------------------------------------------------------------------------
# Data summary


def _typical_events(truth: Mapping[str, np.ndarray], task_name: str) -> list[tuple[int, str]]:
    """(row, title) of one event per class of the task: the one with Eν closest to its class's median."""
    task = get_task(task_name)
    mask, target = task.labels(truth)
    rows = np.flatnonzero(mask)
    energy = np.asarray(truth["nuenergy"])[rows]
    chosen = []
    if task.is_classification:
        for k, name in enumerate(task.class_names):
            members = np.flatnonzero(target == k)
            if len(members):
                best = members[np.argmin(np.abs(energy[members] - np.median(energy[members])))]
                code = Interaction(int(truth["interaction"][rows[best]])).name
                chosen.append((int(rows[best]), f"true class: {name} ({code})"))
    else:
        for q in (0.2, 0.5, 0.8):  # a low, a typical and a high value of the regression target
            best = int(np.argmin(np.abs(target - np.quantile(target, q))))
            chosen.append(
                (int(rows[best]), f"true {task.class_names[0]} = {target[best]:.3g} {task.unit}".strip())
            )
    return chosen


def _data_section(run_dir: Path, metrics: Mapping[str, Any]) -> str:
    """Files per split, class counts per test set, class and energy distributions, event displays."""
    from nuclass.io import read_truth
    from nuclass.plots import class_distributions, display_grid

    task_name = metrics["task"]
    parts = ["<h3>Data</h3>"]
    splits = split_files(run_dir)
    if splits:
        parts.append(
            _table(
                ["split", "files"],
                [
                    [
                        _e(name),
                        f"{len(files)}: "
                        + _e(", ".join(p.name for p in files[:8]) + (" …" if len(files) > 8 else "")),
                    ]
                    for name, files in splits.items()
                ],
            )
        )
    blocks = metrics["test_sets"]
    if "class_counts" in next(iter(blocks.values())):
        names = next(iter(blocks.values()))["class_names"]
        rows = [
            [_e(name)] + [_fmt(blocks[s]["class_counts"][i]) for s in blocks] for i, name in enumerate(names)
        ]
        rows.append(["<b>all</b>"] + [_fmt(blocks[s]["n_events"]) for s in blocks])
        parts.append(
            "<h4>Test-set composition (events per true class)</h4>" + _table(["class", *blocks], rows)
        )
    else:
        parts.append(
            _table(["test set", "events"], [[_e(s), _fmt(b["n_events"])] for s, b in blocks.items()])
        )
    files = [p for key in ("test", "train", "val") for p in splits.get(key, [])] or [
        p for files_ in splits.values() for p in files_
    ]
    out_dir = run_dir / "plots"
    if files:
        truths = [read_truth(p) for p in files]
        meta = {k: np.concatenate([t[k] for t in truths]) for k in ("interaction", "nuenergy", "lepenergy")}
        what = f"all {len(files)} files of the run's split"
    else:
        predictions = run_dir / "predictions" / "natural.npz"
        if not predictions.is_file():
            return "".join(parts)
        with np.load(predictions) as npz:
            meta = {k: npz[k] for k in ("interaction", "nuenergy", "lepenergy")}
        what = "the natural test set (data files not found from split.json)"
    dist = class_distributions(meta, out_dir / "data_distributions.png", log=True)
    parts.append(_img(dist, f"Composition and true energies of {what}."))
    display_files = splits.get("test") or (files[:1] if files else [])
    if display_files:
        first = display_files[0]
        chosen = _typical_events(read_truth(first), task_name)
        if chosen:
            grid = display_grid(
                first,
                [r for r, _ in chosen],
                out_dir / "data_event_displays.png",
                titles=[f"{t} — {first.name}, event {r}" for r, t in chosen],
            )
            parts.append("<h4>Event displays, one typical event (median Eν) per class</h4>")
            parts.append(_img(grid, f"Both views of each event, from {first.name}."))
    return "".join(parts)


# ----------------------------------------------------------------------------------------------------------
# Metrics and analysis


_SUMMARY_ROWS = {
    "classification": (
        "n_events",
        "accuracy",
        "balanced_accuracy",
        "precision",
        "recall",
        "f1",
        "cohen_kappa",
        "roc_auc",
        "loss",
    ),
    "regression": ("n_events", "n_relative", "mse", "mae", "bias", "resolution"),
}
_ROW_NOTES = {
    "loss": "mean cross-entropy (nats)",
    "precision": "binary: purity at score ≥ 0.5; multi-class: macro average",
    "recall": "binary: efficiency at score ≥ 0.5; multi-class: macro average",
    "roc_auc": "multi-class: one-vs-rest, macro average",
    "n_relative": "events with true ≠ 0 (used for bias and resolution)",
    "mse": "mean squared error",
    "mae": "mean absolute error",
}


def _summary_table(blocks: Mapping[str, Mapping[str, Any]], kind: str) -> str:
    rows = []
    for key in _SUMMARY_ROWS[kind]:
        cells = []
        for block in blocks.values():
            value, err = block.get(key), block.get(f"{key}_err")
            cells.append(_e(format_value(value, err)) if value is not None and err else _fmt(value))
        rows.append([f"{_e(key)} <span class=muted>{_e(_ROW_NOTES.get(key, ''))}</span>", *cells])
    for name in next(iter(blocks.values())).get("roc_auc_per_class", {}):
        rows.append(
            [
                f"roc_auc <span class=muted>{_e(name)} vs rest</span>",
                *[_fmt(b["roc_auc_per_class"][name]) for b in blocks.values()],
            ]
        )
    return _table(["metric", *blocks], rows)


def _efficiency_purity_table(blocks: Mapping[str, Mapping[str, Any]], signal: str) -> str:
    cuts = np.round(np.arange(0.1, 0.91, 0.1), 2)
    header = ["score cut"] + [f"{s}: {w}" for s in blocks for w in ("efficiency", "purity")]
    rows = []
    for c in cuts:
        row = [f"{c:.1f}"]
        for block in blocks.values():
            ep = block["efficiency_purity"]
            i = int(np.argmin(np.abs(np.asarray(ep["cut"]) - c)))
            row += [_fmt(ep["efficiency"][i]), _fmt(ep["purity"][i])]
        rows.append(row)
    best = ["<b>best (max. eff. × pur.)</b>"]
    for block in blocks.values():
        ep = block["efficiency_purity"]
        best += [f"{_fmt(ep['best_efficiency'])} at cut {_fmt(ep['best_cut'], 3)}", _fmt(ep["best_purity"])]
    rows.append(best)
    return f"<h4>Efficiency and purity of the selection score ≥ cut (signal: {_e(signal)})</h4>" + _table(
        header, rows
    )


def _confusion_tables(blocks: Mapping[str, Mapping[str, Any]]) -> str:
    out = ['<h4>Confusion matrices (rows: true class, columns: predicted class)</h4><div class="grid">']
    for set_name, block in blocks.items():
        names = block["class_names"]
        rows = [
            [_e(name)]
            + [
                f"{_fmt(c)} <span class=muted>({_fmt(r, 3)})</span>"
                for c, r in zip(cm_row, norm_row, strict=True)
            ]
            for name, cm_row, norm_row in zip(
                names, block["confusion_matrix"], block["confusion_matrix_normalised"], strict=True
            )
        ]
        out.append(
            f"<div><b>{_e(set_name)}</b>: counts (fraction of the true class)"
            + _table(["true \\ predicted", *names], rows)
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
        row = [_e(entry["class"])]
        for block in blocks.values():
            e = block["per_class"][i]
            row += [_fmt(e["n"]), _fmt(e["efficiency"]), _fmt(e["purity"])]
        rows.append(row)
    return (
        "<h4>Per class: efficiency (fraction of the class predicted as it) and purity (fraction of "
        "events predicted as the class that belong to it)</h4>" + _table(header, rows)
    )


def _group_label(variable: str, group: Mapping[str, Any]) -> str:
    if "category" in group:
        return _e(group["category"])
    unit = " GeV" if variable in ("nuenergy", "lepenergy") else ""
    return f"{group['lo']:.3g} – {group['hi']:.3g}{unit}"


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
                _fmt(g["n"]) if g["n"] >= MIN_GROUP_EVENTS else f"<span class=muted>{_fmt(g['n'])}</span>"
            )
            row += [_e(format_metric(g, m)) for m in metrics]
        rows.append(row)
    note = (
        f'<p class="muted">Absent from every test set ({len(absent)}): {_e(", ".join(absent))}.</p>'
        if absent
        else ""
    )
    return _table(header, rows) + note


def _dependence_html(blocks: Mapping[str, Mapping[str, Any]]) -> str:
    out = []
    for set_name, block in blocks.items():
        items = "".join(
            f"<li{' class=sig' if d['significant'] else ''}>{_e(d['sentence'])}</li>"
            for d in block["dependence"]
        )
        questions = "".join(f"<li>{_e(q['sentence'])}</li>" for q in block.get("questions", []))
        rows = [
            [
                _e(d["variable"]),
                _e(d["metric"]),
                _fmt(d["n_groups"]),
                "–" if d["chi2"] is None else f"{d['chi2']:.1f} / {d['ndf']}",
                _fmt(d["p_value"], 2),
                "–" if d["significance"] is None else f"{d['significance']:.1f}σ",
                "–" if d["high"] is None else f"{_e(d['high']['label'])}: {_e(d['high']['text'])}",
                "–" if d["low"] is None else f"{_e(d['low']['label'])}: {_e(d['low']['text'])}",
                "–" if d["difference_sigma"] is None else f"{d['difference_sigma']:.1f}σ",
            ]
            for d in block["dependence"]
        ]
        out.append(
            f"<h4>{_e(set_name)} test set</h4>"
            f"<p><b>The seeds' questions:</b></p><ul class=sentences>{questions}</ul>"
            f"<p><b>Which truth variables matter</b> (ranked by the χ² test that the metric is the same in "
            f"every group with ≥ {MIN_GROUP_EVENTS} events; red: ≥ 3σ):</p><ul class=sentences>{items}</ul>"
            + _table(
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
        figures = [_img(run_dir / plots[s][name], f"{s} test set") for s in sets if name in plots[s]]
        if figures:
            out.append(f'<div class="grid">{"".join(figures)}</div>')
    return "".join(out)


def _in_short(task, blocks: Mapping[str, Mapping[str, Any]]) -> str:
    """A few lines for a hurried reader: headline numbers per test set, the seeds' questions, what matters."""
    items = []
    for name, block in blocks.items():
        if task.kind == "regression":
            head = f"resolution {format_metric(block, 'resolution')}, bias {format_metric(block, 'bias')}"
        else:
            head = (
                f"accuracy {block['accuracy']:.3f}, balanced accuracy {_fmt(block['balanced_accuracy'], 3)}, "
                f"ROC AUC {_fmt(block['roc_auc'], 3)}"
            )
            if "efficiency_purity" in block:
                ep = block["efficiency_purity"]
                head += (
                    f"; best cut {_fmt(ep['best_cut'], 2)}: efficiency {_fmt(ep['best_efficiency'], 3)}, "
                    f"purity {_fmt(ep['best_purity'], 3)}"
                )
        items.append(f"<li><b>{_e(name)}</b> test set ({block['n_events']:,} events): {_e(head)}</li>")
    natural = blocks.get("natural", next(iter(blocks.values())))
    items += [f"<li>{_e(q['sentence'])}</li>" for q in natural.get("questions", [])]
    flagged = [d for d in natural["dependence"] if d["significant"]]
    items.append(
        f'<li class="sig">{_e(flagged[0]["sentence"])}</li>'
        if flagged
        else "<li>No significant (≥ 3σ) dependence on any truth variable in the natural test set.</li>"
    )
    return f'<div class="note"><b>In short</b><ul class=sentences>{"".join(items)}</ul></div>'


def run_section(run_dir: str | os.PathLike, anchor: str = "run") -> str:
    """The report section of one run (HTML): configuration, data, training, metrics, plots, truth analysis."""
    run_dir = Path(run_dir)
    metrics = _load_metrics(run_dir)
    task = get_task(metrics["task"])
    blocks = {
        s: metrics["test_sets"][s] for s in (*TEST_SETS, *metrics["test_sets"]) if s in metrics["test_sets"]
    }
    plots = metrics.get("plots", {})
    config = _read_yaml(run_dir / "config.yaml")
    model_json = run_dir / "model.json"
    model_info = json.loads(model_json.read_text()) if model_json.is_file() else {}
    kind = "regression" if task.kind == "regression" else "classification"

    parts = [
        f'<section class="run" id="{_e(anchor)}"><h2>{_e(run_dir.name)}: {_e(task.name)} with '
        f"{_e(metrics.get('model'))}</h2>"
        f"<p class=muted>{_e(run_dir.resolve())} — task: {_e(task.description)}</p>"
    ]
    if metrics.get("selection"):
        parts.append(
            "<p><b>Truth selection</b> (the run was trained and tested on these events only): "
            + "; ".join(f"{_e(k)} <code>{_e(v)}</code>" for k, v in metrics["selection"].items())
            + "</p>"
        )
    parts.append(_in_short(task, blocks))
    # model.json's own fields (its copy of the configuration is config.yaml)
    scalars = [
        (k, v) for k, v in _flatten(model_info) if not k.startswith("config.") and not isinstance(v, list)
    ]
    parts.append(
        '<h3>Configuration</h3><div class="grid"><div><b>config.yaml</b>'
        + _table(["setting", "value"], [[_e(k), _fmt(v)] for k, v in _flatten(config)], left=2)
        + "</div><div><b>model.json</b>"
        + (_table(["field", "value"], [[_e(k), _fmt(v)] for k, v in scalars], left=2) if scalars else " –")
        + "</div></div>"
    )
    parts.append(_data_section(run_dir, metrics))
    if "class_counts" in plots:
        parts.append(
            "<h4>Class balance</h4>"
            + _img(run_dir / plots["class_counts"], "Events per class before and after balancing, per split.")
        )
    if "training_curves" in plots:
        parts.append(
            "<h3>Training</h3>"
            + _img(
                run_dir / plots["training_curves"],
                "Per-epoch metrics from metrics.csv (Lightning CSVLogger).",
            )
        )
    parts.append(f"<h3>Metrics</h3><div class=note>{_WORDS}</div>")
    parts.append(_summary_table(blocks, kind))
    if task.kind == "binary":
        parts.append(_efficiency_purity_table(blocks, task.class_names[1]))
    if kind == "classification":
        parts.append(_confusion_tables(blocks) + _per_class_table(blocks))
        parts.append(_plots_html(run_dir, plots, ("roc", "efficiency_purity", "scores", "confusion_matrix")))
        metric_names = ("accuracy", "loss")
    else:
        parts.append("<h4>In bins of the true value</h4>" + _by_table_true(blocks))
        parts.append(_plots_html(run_dir, plots, ("predicted_vs_true", "by_true")))
        metric_names = ("bias", "resolution")
    parts.append("<h3>Performance against the truth</h3>" + _dependence_html(blocks))
    for variable in ("nuenergy", "lepenergy", "interaction", "mode", "finalstate"):
        if variable in next(iter(blocks.values()))["by"]:
            parts.append(f"<h4>By {_e(variable)}</h4>" + _by_table(variable, blocks, metric_names))
            parts.append(_plots_html(run_dir, plots, (f"by_{variable}",)))
    parts.append("</section>")
    return "".join(parts)


def _by_table_true(blocks: Mapping[str, Mapping[str, Any]]) -> str:
    return _by_table(
        "by_true", {s: {"by": {"by_true": b["by_true"]}} for s, b in blocks.items()}, ("bias", "resolution")
    )


# ----------------------------------------------------------------------------------------------------------
# Several runs, studies, the page


_COMPARE = {
    "classification": (("accuracy", max), ("balanced_accuracy", max), ("roc_auc", max)),
    "regression": (("resolution", min), ("bias", lambda values: min(values, key=abs))),
}


def comparison_table(runs: Sequence[tuple[str, str, Mapping[str, Any]]]) -> str:
    """Runs side by side (anchor, label, metrics.json dict): task, model and headline metrics per test set,
    one table for classification and one for regression; the best of each task highlighted."""

    def kind_of(m: Mapping[str, Any]) -> str:
        return "regression" if get_task(m["task"]).kind == "regression" else "classification"

    sets = [s for s in TEST_SETS if any(s in m["test_sets"] for _, _, m in runs)]
    tables = []
    for kind, spec in _COMPARE.items():
        chosen = [r for r in runs if kind_of(r[2]) == kind]
        if not chosen:
            continue
        columns = [(s, name, pick) for s in sets for name, pick in spec]
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
            row: list[Any] = [f'<a href="#{_e(anchor)}">{_e(label)}</a>', _e(m["task"]), _e(m.get("model"))]
            for s, name, _ in columns:
                value = m["test_sets"].get(s, {}).get(name)
                is_best = value is not None and best.get((m["task"], s, name)) == value
                row.append((_fmt(value), "best") if is_best else _fmt(value))
            rows.append(row)
        tables.append(
            _table(["run", "task", "model", *[f"{s}: {name}" for s, name, _ in columns]], rows, left=3)
        )
    return (
        "<p>Headline metrics of every run; the best value among runs of the same task is highlighted "
        "(highest accuracy and ROC AUC, lowest resolution, bias closest to 0).</p>" + "".join(tables)
    )


def _study_cell(block: Mapping[str, Any], metric: str) -> str:
    value = block.get(metric)
    return "–" if value is None else _e(format_value(value, block.get(f"{metric}_err")))


def _delta_cell(delta: Mapping[str, Any] | None, metric: str) -> str | tuple[str, str]:
    if not delta or delta.get(metric) is None:
        return "–"
    text = _e(format_value(delta[metric], delta[f"{metric}_err"]))
    sigma = delta.get(f"{metric}_sigma")
    text += f" ({sigma:.1f}σ)" if sigma is not None else ""
    return (f"<b>{text}</b>", "best") if delta.get(f"{metric}_significant") else text


def _generic_study_section(study: Mapping[str, Any]) -> str:
    """Any other study-like dict: its scalar settings and its lists of result rows as tables."""
    scalars = [(k, v) for k, v in _flatten({k: v for k, v in study.items() if not isinstance(v, list)})]
    parts = [
        f'<section class="box"><h3>{_e(study.get("name", "study"))}</h3>',
        _table(["field", "value"], [[_e(k), _fmt(v)] for k, v in scalars]),
    ]
    for key, value in study.items():
        if isinstance(value, list) and value and all(isinstance(r, Mapping) for r in value):
            columns = list(dict.fromkeys(c for r in value for c in r))
            parts.append(
                f"<h4>{_e(key)}</h4>" + _table(columns, [[_fmt(r.get(c)) for c in columns] for r in value])
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
    metrics = ("accuracy", "balanced_accuracy", "roc_auc", "loss")
    parts = [
        f'<section class="box" id="study-{_e(name)}"><h3>Study {_e(name)}</h3>',
        f"<p>{_e(study.get('description', ''))}</p>",
        f"<p class=muted>task {_e(study.get('task'))}, model {_e(study.get('model'))}, "
        f"{_e(study.get('repeats'))} repeat(s) per variant, {_e(study.get('max_minutes') or '–')} min per "
        f"training; {_e(len(study.get('data', [])))} data files. Own test: the variant's selected test set "
        "(balanced); common test: the natural, unselected test files of the same split. "
        f"Significance: {_e(study.get('significance_rule', ''))}.</p>",
    ]
    if study.get("budget_note"):
        parts.append(f"<div class=note>{_e(study['budget_note'])}</div>")
    if study.get("answers"):
        parts.append(
            "<h4>Answers</h4><ul class=sentences>"
            + "".join(
                f"<li><b>{_e(a['question'])}</b> "
                + (f"<span class=sig>{_e(a['sentence'])}</span>" if a.get("significant")
                   else _e(a["sentence"]))
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
        delta = v.get("delta_vs_baseline")
        rows.append(
            [
                f"<b>{_e(v['name'])}</b><br><span class=muted>{_e(v.get('label', ''))}</span>",
                f"<code>{_e(selection)}</code>" if selection else _e(extra or "none"),
                _fmt(v.get("repeats")),
                _fmt(v["own_test"].get("n_events")),
                *[_study_cell(v["own_test"], m) for m in metrics],
                _fmt(v["common_test"].get("n_events")),
                *[_study_cell(v["common_test"], m) for m in common_metrics],
                _delta_cell(delta, "accuracy"),
                _delta_cell(delta.get("common_test") if delta else None, "accuracy"),
                _e(delta["baseline"]) if delta else "reference",
            ]
        )
    parts.append(
        "<h4>Variants</h4><p class=muted>K repeats; mean ± err (err combines the spread across repeats and "
        "the test set's statistical error); significant changes against the baseline are highlighted; every "
        "metric on both test sets is in study.json.</p>"
        + _table(header, rows, left=2)
    )
    figures = study.get("figures", {})
    if directory is not None:
        if "learning_curve" in figures:
            parts.append("<h4>Learning curve</h4>" + _img(directory / figures["learning_curve"],
                         "Test accuracy and loss against the number of training events (log scale)."))
        shown = [m for m in metrics if m in figures]
        if shown:
            parts.append(
                "<h4>Metrics per variant</h4><div class=grid>"
                + "".join(_img(directory / figures[m], f"{m} per variant, with error bars") for m in shown)
                + "</div>"
            )
    if study.get("binned_answers"):
        parts.append(
            "<h4>The same questions from the reference model's binned evaluation (natural test set)</h4>"
            "<ul class=sentences>"
            + "".join(f"<li>{_e(a['variant'])}: {_e(a['sentence'])}</li>" for a in study["binned_answers"])
            + "</ul>"
        )
    return "".join(parts) + "</section>"


def load_study_dir(directory: str | os.PathLike) -> dict[str, Any]:
    """The study.json of a study directory (nuclass study --out)."""
    path = Path(directory) / "study.json"
    if not path.is_file():
        raise FormatError(
            path, None, "a study directory holding study.json (see nuclass study)", "no such file"
        )
    try:
        study = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise FormatError(path, None, "valid JSON", str(exc)) from None
    if not isinstance(study, dict) or "variants" not in study:
        raise FormatError(path, "variants", "a study.json with variants", type(study).__name__)
    return study


def write_report(
    run_dirs: Sequence[str | os.PathLike],
    out_html: str | os.PathLike,
    *,
    studies: Sequence[Mapping[str, Any] | str | os.PathLike] = (),
    title: str = "nuclass report",
) -> Path:
    """Write ONE self-contained HTML report of `run_dirs` (and `studies`: study directories, or study.json
    dicts without figures) to `out_html`, atomically.

    Runs without metrics.json are evaluated first. Figures are embedded as base64 PNG; nothing is loaded
    from the network when the page is opened.
    """
    from nuclass import __version__

    out_html = Path(out_html)
    run_dirs = [Path(r) for r in run_dirs]
    if not run_dirs and not studies:
        raise FormatError(out_html, None, "at least one run directory or study to report on", "none")
    anchors = [f"run-{i + 1}" for i in range(len(run_dirs))]
    sections = [run_section(r, a) for r, a in zip(run_dirs, anchors, strict=True)]
    metrics = [
        (a, r.name, json.loads((r / "metrics.json").read_text()))
        for r, a in zip(run_dirs, anchors, strict=True)
    ]
    nav = "".join(f'<a href="#{_e(a)}">{_e(r.name)}</a>' for r, a in zip(run_dirs, anchors, strict=True))
    body = [
        f"<h1>{_e(title)}</h1><p class=muted>nuclass {_e(__version__)}, written "
        f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M')}, {len(run_dirs)} run(s)</p><nav>{nav}</nav>"
    ]
    if len(run_dirs) > 1:
        body.append('<section class="box"><h2>Comparison</h2>' + comparison_table(metrics) + "</section>")
    elif metrics:
        body.append('<section class="box"><h2>Summary</h2>' + comparison_table(metrics) + "</section>")
    body += sections
    if studies:
        rendered = [
            study_section(s) if isinstance(s, Mapping) else study_section(load_study_dir(s), s)
            for s in studies
        ]
        body.append("<h2>Studies</h2>" + "".join(rendered))
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{_CSS}</style></head><body><main>{''.join(body)}</main></body></html>\n"
    )
    out_html.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_html) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out_html

"""Figures of a run's performance: ROC, efficiency and purity vs cut, scores, confusion matrices, binned
performance against the truth, regression residuals and training curves; each PNG written atomically.

Matplotlib is imported inside the functions (Figure objects, no pyplot state): importing this module is cheap.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nuclass.atomic import atomic_path
from nuclass.evaluate import MIN_GROUP_EVENTS
from nuclass.labels import Task

__all__ = [
    "VARIABLE_LABELS",
    "save_figure",
    "roc_curves",
    "efficiency_purity",
    "score_distributions",
    "confusion_matrices",
    "binned_performance",
    "category_performance",
    "predicted_vs_true",
    "training_curves",
    "class_counts",
    "read_training_log",
    "plot_test_set",
    "plot_run",
]

VARIABLE_LABELS = {
    "nuenergy": r"true neutrino energy $E_\nu$ (GeV)",
    "lepenergy": r"true lepton energy $E_\ell$ (GeV)",
    "interaction": "true interaction type",
    "finalstate": "true final state",
    "mode": "true interaction mode (all flavours)",
}
METRIC_LABELS = {
    "accuracy": "accuracy (fraction classified correctly)",
    "loss": "mean cross-entropy (nats)",
    "bias": r"bias $\langle (\hat{x} - x)/x \rangle$",
    "resolution": r"resolution RMS$[(\hat{x} - x)/x]$",
}
_DPI = 110


def _figure(width: float, height: float, **kwargs):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=_DPI, layout="constrained", **kwargs)


def save_figure(fig, out: str | os.PathLike) -> Path:
    """Write `fig` as PNG to `out` atomically (temporary name in the same directory, then rename)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    return out


def _probabilities(task: Task, score: np.ndarray) -> np.ndarray:
    score = np.asarray(score, dtype=np.float64)
    return score[:, 0] if task.kind != "multiclass" and score.ndim == 2 else score


# ----------------------------------------------------------------------------------------------------------
# Classification


def roc_curves(
    task: Task, y_true: np.ndarray, score: np.ndarray, out: str | os.PathLike, title: str = ""
) -> Path:
    """ROC curve: signal efficiency vs background acceptance (one-vs-rest per class for multi-class tasks)."""
    from sklearn.metrics import auc, roc_curve

    y = np.asarray(y_true).astype(np.int64).ravel()
    p = _probabilities(task, score)
    fig = _figure(5.6, 5.0)
    ax = fig.subplots()
    if task.kind == "binary":
        curves = [(task.class_names[1], y == 1, p)]
    else:
        curves = [(name, y == i, p[:, i]) for i, name in enumerate(task.class_names)]
    for name, is_signal, s in curves:
        if 0 < is_signal.sum() < len(y):
            fpr, tpr, _ = roc_curve(is_signal, s)
            ax.plot(fpr, tpr, lw=1.8, label=f"{name} vs rest (AUC = {auc(fpr, tpr):.3f})")
        else:
            ax.plot([], [], " ", label=f"{name}: absent or alone in this set")
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1, label="random guess")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.01),
        xlabel="background acceptance (false-positive rate)",
        ylabel="signal efficiency (true-positive rate)",
        title=title or "ROC curve",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return save_figure(fig, out)


def efficiency_purity(
    ep: Mapping[str, Any], out: str | os.PathLike, signal: str = "signal", title: str = ""
) -> Path:
    """Efficiency, purity and their product against the score cut; the cut maximising the product marked."""
    cut = np.asarray(ep["cut"], dtype=np.float64)
    eff = np.asarray([np.nan if v is None else v for v in ep["efficiency"]], dtype=np.float64)
    pur = np.asarray([np.nan if v is None else v for v in ep["purity"]], dtype=np.float64)
    fig = _figure(6.4, 4.6)
    ax = fig.subplots()
    ax.plot(cut, eff, lw=1.8, label=f"efficiency (fraction of true {signal} selected)")
    ax.plot(cut, pur, lw=1.8, label=f"purity (fraction of selected that is {signal})")
    ax.plot(cut, eff * pur, lw=1.4, ls="--", color="k", label="efficiency × purity")
    best = ep.get("best_cut")
    if best is not None and np.isfinite(best):
        merit = ep["best_efficiency"] * ep["best_purity"]
        ax.axvline(best, color="tab:red", lw=1, ls=":")
        ax.plot([best], [merit], "o", color="tab:red", ms=6)
        ax.annotate(
            f"max. efficiency × purity = {merit:.3f}\nat cut {best:.2f}: "
            f"efficiency {ep['best_efficiency']:.3f}, purity {ep['best_purity']:.3f}",
            xy=(best, merit),
            xytext=(12, -40),
            textcoords="offset points",
            fontsize=8,
            color="tab:red",
            bbox={"boxstyle": "round", "fc": "white", "ec": "tab:red", "lw": 0.6},
        )
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.02),
        xlabel=f"cut on network score P({signal}): select score ≥ cut",
        ylabel="fraction",
        title=title or "Efficiency and purity vs score cut",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    return save_figure(fig, out)


def score_distributions(
    task: Task,
    y_true: np.ndarray,
    score: np.ndarray,
    out: str | os.PathLike,
    title: str = "",
    best_cut: float | None = None,
) -> Path:
    """Distribution of each network score per true class (log y); one panel per output for multi-class."""
    y = np.asarray(y_true).astype(np.int64).ravel()
    p = _probabilities(task, score)
    outputs = (
        [(task.class_names[1], p)]
        if task.kind == "binary"
        else [(name, p[:, i]) for i, name in enumerate(task.class_names)]
    )
    ncols = min(3, len(outputs))
    nrows = math.ceil(len(outputs) / ncols)
    fig = _figure(5.2 * ncols, 3.8 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    bins = np.linspace(0, 1, 41)
    for k, (ax, (name, s)) in enumerate(zip(axes, outputs, strict=False)):
        for i, cls in enumerate(task.class_names):
            sel = s[y == i]
            if len(sel):
                ax.hist(sel, bins=bins, histtype="step", lw=1.6, label=f"true {cls} ({len(sel)})")
        if best_cut is not None and task.kind == "binary":
            ax.axvline(best_cut, color="tab:red", lw=1, ls="--", label=f"best cut {best_cut:.2f}")
        ax.set_yscale("log")
        ax.set(xlim=(0, 1), xlabel=f"network score P({name})", ylabel="events / 0.025")
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize=7, loc="upper center")
    for ax in axes[len(outputs) :]:
        ax.set_visible(False)
    fig.suptitle(title or "Score distributions by true class")
    return save_figure(fig, out)


def confusion_matrices(
    cm: Sequence[Sequence[int]], class_names: Sequence[str], out: str | os.PathLike, title: str = ""
) -> Path:
    """Confusion matrix as counts and normalised per true class (rows), class names on both axes."""
    cm = np.asarray(cm, dtype=np.float64)
    row = cm.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.where(row > 0, cm / np.maximum(row, 1), np.nan)
    k = len(class_names)
    size = 2.4 + 0.75 * k
    fig = _figure(2 * size + 0.8, size)
    for ax, values, what, fmt in zip(
        fig.subplots(1, 2),
        (cm, norm),
        ("events", "fraction of true class"),
        ("{:.0f}", "{:.3f}"),
        strict=True,
    ):
        image = ax.imshow(
            values, cmap="Blues", vmin=0, vmax=np.nanmax(values) if np.isfinite(values).any() else 1
        )
        fig.colorbar(image, ax=ax, shrink=0.8, label=what)
        for (i, j), v in np.ndenumerate(values):
            text = "–" if not np.isfinite(v) else fmt.format(v)
            dark = np.isfinite(v) and v > 0.6 * np.nanmax(values)
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if dark else "black")
        ax.set_xticks(range(k), class_names, rotation=30, ha="right")
        ax.set_yticks(range(k), class_names)
        ax.set(
            xlabel="predicted class",
            ylabel="true class",
            title="counts" if fmt.endswith("0f}") else "normalised by true class (rows sum to 1)",
        )
    fig.suptitle(title or "Confusion matrix")
    return save_figure(fig, out)


# ----------------------------------------------------------------------------------------------------------
# Performance against the truth


def _metric_errors(groups: Sequence[Mapping[str, Any]], metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper error bars of `metric` per group: Clopper–Pearson for accuracy, ± err otherwise."""
    value = np.array([g[metric] for g in groups], dtype=np.float64)
    if metric == "accuracy":
        lo = value - np.array([g["accuracy_lo"] for g in groups], dtype=np.float64)
        hi = np.array([g["accuracy_hi"] for g in groups], dtype=np.float64) - value
        return lo, hi
    err = np.array(
        [np.nan if g.get(f"{metric}_err") is None else g[f"{metric}_err"] for g in groups], np.float64
    )
    return err, err


def binned_performance(
    bins: Sequence[Mapping[str, Any]],
    variable: str,
    out: str | os.PathLike,
    metrics: Sequence[str] = ("accuracy", "loss"),
    overall: Mapping[str, float] | None = None,
    title: str = "",
) -> Path:
    """`metrics` in quantile bins of a truth variable, one panel each, with statistical error bars.

    bins: the `by[variable]` list of metrics.json (lo, hi, n and the metrics); x bars span each bin,
    y bars are Clopper–Pearson (68 %) for accuracy and ± 1 standard error otherwise; log x for wide ranges.
    """
    bins = [b for b in bins if b["n"] > 0]
    lo = np.array([b["lo"] for b in bins], dtype=np.float64)
    hi = np.array([b["hi"] for b in bins], dtype=np.float64)
    # Log x for wide positive ranges; a first bin starting at 0 (e.g. cosmics, E = 0) is drawn from hi / 3.
    left = lo[0] if len(bins) and lo[0] > 0 else (hi[0] / 3 if len(bins) else 0.0)
    log_x = len(bins) > 1 and left > 0 and hi[-1] / left > 5
    if log_x:
        lo = np.maximum(lo, left)
    x = np.sqrt(lo * hi) if log_x else (lo + hi) / 2
    fig = _figure(6.8, 2.2 + 2.4 * len(metrics))
    axes = np.atleast_1d(fig.subplots(len(metrics), 1, sharex=True))
    for ax, metric in zip(axes, metrics, strict=True):
        ok = np.array([b.get(metric) is not None for b in bins], dtype=bool)
        shown = [b for b, keep in zip(bins, ok, strict=True) if keep]
        if shown:
            yerr = _metric_errors(shown, metric)
            ax.errorbar(
                x[ok],
                [b[metric] for b in shown],
                xerr=(x[ok] - lo[ok], hi[ok] - x[ok]),
                yerr=yerr,
                fmt="o",
                ms=4,
                capsize=2,
                lw=1.2,
            )
        if overall and overall.get(metric) is not None:
            ax.axhline(
                overall[metric], color="grey", ls="--", lw=1, label=f"all events: {overall[metric]:.3f}"
            )
            ax.legend(fontsize=8, loc="best")
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        ax.grid(alpha=0.3)
    if log_x:
        axes[-1].set_xscale("log")
        axes[-1].set_xlim(left / 1.2, hi[-1] * 1.2)
    axes[-1].set_xlabel(VARIABLE_LABELS.get(variable, variable))
    n_text = f"{len(bins)} quantile bins, {sum(b['n'] for b in bins)} events"
    axes[0].set_title(
        title or f"Performance vs {VARIABLE_LABELS.get(variable, variable)} ({n_text})", fontsize=10
    )
    return save_figure(fig, out)


def category_performance(
    groups: Sequence[Mapping[str, Any]],
    variable: str,
    out: str | os.PathLike,
    metrics: Sequence[str] = ("accuracy",),
    overall: Mapping[str, float] | None = None,
    title: str = "",
    min_n: int = MIN_GROUP_EVENTS,
) -> Path:
    """Horizontal bars of `metrics` per truth category (only those present), with error bars and counts.

    Categories with fewer than `min_n` events (left out of the dependence test) are drawn in a paler colour.
    """
    from matplotlib.patches import Patch

    present = [g for g in groups if g["n"] > 0]
    absent = [g["category"] for g in groups if g["n"] == 0]
    names = [g["category"] for g in present]
    fig = _figure(4.2 + 3.4 * len(metrics), 1.6 + 0.3 * max(len(present), 2))
    axes = np.atleast_1d(fig.subplots(1, len(metrics), sharey=True))
    ypos = np.arange(len(present))
    few = np.array([g["n"] < min_n for g in present], dtype=bool)
    colours = np.where(few, "lightsteelblue", "tab:blue")
    for ax, metric in zip(axes, metrics, strict=True):
        value = np.array([np.nan if g.get(metric) is None else g[metric] for g in present], dtype=np.float64)
        err = _metric_errors(present, metric) if present else None
        ax.barh(ypos, np.nan_to_num(value), xerr=err, color=colours, capsize=2, error_kw={"lw": 1})
        if overall and overall.get(metric) is not None:
            ax.axvline(overall[metric], color="k", ls="--", lw=1, label=f"all events: {overall[metric]:.3f}")
        handles = ax.get_legend_handles_labels()[0]
        if few.any():
            handles.append(
                Patch(color="lightsteelblue", label=f"n < {min_n}: not used in the dependence test")
            )
        if handles:
            ax.legend(
                handles=handles,
                fontsize=7,
                loc="upper center",
                bbox_to_anchor=(0.5, -0.16),
                ncols=2,
                frameon=False,
            )
        ax.set_xlabel(METRIC_LABELS.get(metric, metric))
        if metric == "accuracy":
            ax.set_xlim(0, 1)
        ax.grid(axis="x", alpha=0.3)
    right = axes[-1]
    for y, g in zip(ypos, present, strict=True):
        right.annotate(
            f"n = {g['n']}",
            xy=(1, y),
            xycoords=("axes fraction", "data"),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    axes[0].set_yticks(ypos, names, fontsize=8)
    axes[0].invert_yaxis()
    axes[0].set_ylabel(VARIABLE_LABELS.get(variable, variable))
    note = f"; absent from this set: {len(absent)} categories" if absent else ""
    fig.suptitle(title or f"Performance per {VARIABLE_LABELS.get(variable, variable)}{note}", fontsize=10)
    return save_figure(fig, out)


# ----------------------------------------------------------------------------------------------------------
# Regression


def predicted_vs_true(
    true: np.ndarray,
    pred: np.ndarray,
    out: str | os.PathLike,
    quantity: str = "value",
    unit: str = "",
    title: str = "",
) -> Path:
    """2-D histogram of predicted vs true value (log colour scale) with the diagonal pred = true."""
    from matplotlib.colors import LogNorm

    true = np.asarray(true, dtype=np.float64).ravel()
    pred = np.asarray(pred, dtype=np.float64).ravel()
    lo, hi = np.quantile(np.concatenate([true, pred]), [0.0, 0.995]) if len(true) else (0.0, 1.0)
    edges = np.linspace(lo, hi if hi > lo else lo + 1, 61)
    counts, _, _ = np.histogram2d(true, pred, bins=(edges, edges))
    fig = _figure(6.0, 5.0)
    ax = fig.subplots()
    masked = np.ma.masked_equal(counts.T, 0)
    image = ax.pcolormesh(
        edges, edges, masked, norm=LogNorm(vmin=1, vmax=max(counts.max(), 2)), cmap="viridis"
    )
    fig.colorbar(image, ax=ax, label="events per cell")
    ax.plot(
        [edges[0], edges[-1]], [edges[0], edges[-1]], color="tab:red", lw=1, ls="--", label="predicted = true"
    )
    suffix = f" ({unit})" if unit else ""
    ax.set(
        xlabel=f"true {quantity}{suffix}",
        ylabel=f"predicted {quantity}{suffix}",
        aspect="equal",
        title=title or f"Predicted vs true {quantity}",
    )
    ax.legend(loc="upper left", fontsize=8)
    return save_figure(fig, out)


# ----------------------------------------------------------------------------------------------------------
# Training


def read_training_log(path: str | os.PathLike) -> dict[str, dict[int, float]]:
    """Per-epoch values of each metric in a Lightning CSVLogger metrics.csv ({column: {epoch: mean value}}).

    Rows logged per step and per epoch are merged by averaging the non-empty values of each epoch; a column
    `x_epoch` is preferred over `x_step`.
    """
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    values: dict[str, dict[int, list[float]]] = {}
    for row in rows:
        if not row.get("epoch"):
            continue
        epoch = int(float(row["epoch"]))
        for key, text in row.items():
            if key in ("epoch", "step") or not text:
                continue
            values.setdefault(key, {}).setdefault(epoch, []).append(float(text))
    out = {k: {e: float(np.mean(v)) for e, v in sorted(per.items())} for k, per in values.items()}
    for key in [k for k in out if k.endswith("_step") and k[: -len("_step")] + "_epoch" in out]:
        del out[key]
    return {k.removesuffix("_epoch"): v for k, v in out.items()}


def training_curves(metrics_csv: str | os.PathLike, out: str | os.PathLike, title: str = "") -> Path:
    """Loss (and accuracy or other metrics, if logged) vs epoch, training vs validation, best epoch marked."""
    from matplotlib.ticker import MaxNLocator

    log = read_training_log(metrics_csv)
    losses = {k: v for k, v in log.items() if "loss" in k}
    others = {k: v for k, v in log.items() if "loss" not in k and not k.startswith("lr") and k != "seconds"}
    panels = [("loss", losses)] + ([("metric", others)] if others else [])
    fig = _figure(5.4 * len(panels), 4.2)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    best = min(losses["val_loss"], key=losses["val_loss"].get) if "val_loss" in losses else None
    for ax, (what, series) in zip(axes, panels, strict=True):
        for key, per_epoch in sorted(series.items()):
            style = "--" if key.startswith("train") else "-"
            ax.plot(list(per_epoch), list(per_epoch.values()), style, marker="o", ms=3, label=key)
        if best is not None:
            ax.axvline(best, color="grey", ls=":", lw=1, label=f"lowest val_loss (epoch {best})")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        accuracy_only = all("acc" in k for k in series)
        ax.set(
            xlabel="epoch", ylabel="loss" if what == "loss" else ("accuracy" if accuracy_only else "metric")
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title or "Training curves (dashed: training, solid: validation)")
    return save_figure(fig, out)


def class_counts(
    counts: Mapping[str, Mapping[str, Sequence[float]]],
    class_names: Sequence[str],
    out: str | os.PathLike,
    balance: str = "",
    title: str = "",
) -> Path:
    """Events per class in each split before and after balancing (model.json's class_counts: {"before":
    {split: counts}, "after": {split: counts}}); for test, "after" is the balanced test set."""
    splits = [s for s in ("train", "val", "test") if s in counts["before"]]
    fig = _figure(3.6 * len(splits), 3.8)
    axes = np.atleast_1d(fig.subplots(1, len(splits), sharey=False))
    x = np.arange(len(class_names))
    after_label = {"weights": "after (weighted)", "sampler": "after (expected draws)"}.get(balance, "after")
    for ax, split in zip(axes, splits, strict=True):
        for shift, when, label, colour in (
            (-0.2, "before", "before", "#9aa7b5"),
            (0.2, "after", "balanced test set" if split == "test" else after_label, "#2c6fb7"),
        ):
            values = np.asarray(counts[when][split], dtype=np.float64)
            bars = ax.bar(x + shift, values, width=0.4, color=colour, label=label)
            ax.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=7)
        ax.set_xticks(x, class_names, fontsize=8)
        ax.set(title=split, ylabel="events")
        ax.legend(fontsize=7)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title or f"Class counts before and after balancing ({balance or 'none'})")
    return save_figure(fig, out)


# ----------------------------------------------------------------------------------------------------------
# Everything for a run


_BY_VARIABLES = ("nuenergy", "lepenergy")
_BY_CATEGORIES = ("interaction", "mode", "finalstate")


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
    if task.is_classification:
        metrics = ("accuracy", "loss")
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
        metrics = ("bias", "resolution")
        quantity = "y" if task.name == "y" else r"$E_\nu$"
        pred = _probabilities(task, score)
        paths["predicted_vs_true"] = predicted_vs_true(
            y,
            pred,
            out_dir / f"{prefix}_predicted_vs_true.png",
            quantity,
            task.unit,
            f"Predicted vs true ({label})",
        )
        paths["by_true"] = binned_performance(
            block["by_true"],
            task.class_names[0],
            out_dir / f"{prefix}_by_true.png",
            metrics,
            block,
            f"Bias and resolution vs true {quantity} ({label})",
        )
    for variable in _BY_VARIABLES:
        paths[f"by_{variable}"] = binned_performance(
            block["by"][variable],
            variable,
            out_dir / f"{prefix}_by_{variable}.png",
            metrics,
            block,
            f"Performance vs {VARIABLE_LABELS[variable]} ({label})",
        )
    for variable in _BY_CATEGORIES:
        paths[f"by_{variable}"] = category_performance(
            block["by"][variable],
            variable,
            out_dir / f"{prefix}_by_{variable}.png",
            metrics[:1] if task.is_classification else metrics,
            block,
            f"Performance per {variable} ({label})",
        )
    return paths


def plot_run(
    run_dir: str | os.PathLike,
    task: Task,
    sets: Mapping[str, Mapping[str, np.ndarray]],
    result: Mapping[str, Any],
) -> dict[str, Any]:
    """Every figure of a run into RUN_DIR/plots/; returns their paths relative to RUN_DIR, per test set."""
    run_dir = Path(run_dir)
    out_dir = run_dir / "plots"
    rel: dict[str, Any] = {}
    log = run_dir / "metrics.csv"
    if log.is_file():
        rel["training_curves"] = (
            training_curves(log, out_dir / "training_curves.png").relative_to(run_dir).as_posix()
        )
    info_path = run_dir / "model.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    if info.get("class_counts"):
        balance = str(info.get("config", {}).get("balance") or "")
        path = class_counts(info["class_counts"], task.class_names, out_dir / "class_counts.png", balance)
        rel["class_counts"] = path.relative_to(run_dir).as_posix()
    for name, arrays in sets.items():
        paths = plot_test_set(task, arrays, result["test_sets"][name], out_dir, name)
        rel[name] = {k: p.relative_to(run_dir).as_posix() for k, p in paths.items()}
    return rel

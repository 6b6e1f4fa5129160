"""Figures of a test set's performance: ROC, efficiency and purity vs cut, score distributions, confusion
matrices, performance in truth bins and categories, and predicted vs true values."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nuclass.labels import KIND_METRICS, Task
from nuclass.labels.groups import grouping
from nuclass.plots.canvas import figure, save_figure
from nuclass.stats import MIN_GROUP_EVENTS

__all__ = [
    "METRIC_LABELS",
    "roc_curves",
    "efficiency_purity",
    "score_distributions",
    "confusion_matrices",
    "binned_performance",
    "category_performance",
    "predicted_vs_true",
]

METRIC_LABELS = {
    "accuracy": "accuracy (fraction classified correctly)",
    "loss": "mean cross-entropy (nats)",
    "bias": r"bias $\langle (\hat{x} - x)/x \rangle$",
    "resolution": r"resolution RMS$[(\hat{x} - x)/x]$",
    "resolution_unbiased": r"spread std$[(\hat{x} - x)/x]$ (bias removed)",
}


def roc_curves(
    task: Task, y_true: np.ndarray, score: np.ndarray, out: str | os.PathLike, title: str = ""
) -> Path:
    """ROC curve: signal efficiency vs background acceptance (one-vs-rest per class for multi-class tasks)."""
    from sklearn.metrics import auc, roc_curve

    y = np.asarray(y_true).astype(np.int64).ravel()
    p = task.squeeze_scores(score)
    fig = figure(5.6, 5.0)
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
    fig = figure(6.4, 4.6)
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
    p = task.squeeze_scores(score)
    outputs = (
        [(task.class_names[1], p)]
        if task.kind == "binary"
        else [(name, p[:, i]) for i, name in enumerate(task.class_names)]
    )
    ncols = min(3, len(outputs))
    nrows = math.ceil(len(outputs) / ncols)
    fig = figure(5.2 * ncols, 3.8 * nrows)
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
    fig = figure(2 * size + 0.8, size)
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
    metrics: Sequence[str] = KIND_METRICS["classification"].grouped,
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
    fig = figure(6.8, 2.2 + 2.4 * len(metrics))
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
    axes[-1].set_xlabel(grouping(variable).axis_label)
    n_text = f"{len(bins)} quantile bins, {sum(b['n'] for b in bins)} events"
    axes[0].set_title(
        title or f"Performance vs {grouping(variable).axis_label} ({n_text})", fontsize=10
    )
    return save_figure(fig, out)


def category_performance(
    groups: Sequence[Mapping[str, Any]],
    variable: str,
    out: str | os.PathLike,
    metrics: Sequence[str] = KIND_METRICS["classification"].per_category,
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
    fig = figure(4.2 + 3.4 * len(metrics), 1.6 + 0.3 * max(len(present), 2))
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
    axes[0].set_ylabel(grouping(variable).axis_label)
    note = f"; absent from this set: {len(absent)} categories" if absent else ""
    fig.suptitle(title or f"Performance per {grouping(variable).axis_label}{note}", fontsize=10)
    return save_figure(fig, out)


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
    fig = figure(6.0, 5.0)
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

"""Figures of a training: curves per epoch from metrics.csv, and class counts before and after balancing."""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from nuclass.plots.canvas import figure, save_figure

__all__ = ["read_training_log", "training_curves", "class_counts"]


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
    fig = figure(5.4 * len(panels), 4.2)
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
    fig = figure(3.6 * len(splits), 3.8)
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

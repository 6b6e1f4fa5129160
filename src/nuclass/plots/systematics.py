"""Figures of a systematics run: one tornado plot per headline metric — each systematic's shifts with their
paired errors, largest first, the nominal sample's statistical error as a band, the extremes apart."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nuclass.plots.canvas import figure, save_figure

__all__ = ["plot_tornado", "plot_systematics"]

_COLOURS = ("#2c6fb7", "#d9822b", "#5a9e4b", "#8e5fa8")  # the variations of one systematic, in order
_MAX_EXTREME_BAR = 3.0  # extremes wider than this × the largest counted shift are drawn clipped


def plot_tornado(
    metric: str, words: str, total: Mapping[str, Any], variations: list[Mapping[str, Any]], out: Path
) -> Path:
    """A tornado plot of one metric: a row per systematic (counted ones largest first, then the extremes),
    a bar per variation from 0 to its shift with its paired error, ±stat shaded."""
    rows = [*total["contributions"], *total["extremes"]]
    by_name = {v["name"]: v for v in variations}
    fig = figure(7.0, 0.42 * max(len(rows), 3) + 1.6)
    ax = fig.subplots()
    counted = [c["size"] for c in total["contributions"]]
    limit = _MAX_EXTREME_BAR * max(counted + [total.get("stat") or 0.0, 1e-12])
    for i, row in enumerate(rows):
        names = list(row["shifts"])
        height = 0.8 / max(len(names), 1)
        for j, name in enumerate(names):
            result = by_name[name]["metrics"][metric]
            delta = float(np.clip(result["shift"], -limit, limit))
            y = i - 0.4 + height * (j + 0.5)
            style = {"hatch": "//", "alpha": 0.5} if not row["in_total"] else {}
            ax.barh(y, delta, height=height * 0.9, color=_COLOURS[j % len(_COLOURS)], **style)
            err = result.get("shift_err") or 0.0
            if err:
                ax.errorbar(delta, y, xerr=err, fmt="none", ecolor="#222", capsize=2, lw=0.8)
            clipped = " (clipped)" if delta != result["shift"] else ""
            mark = " *" if result.get("significant") else ""
            # the label on the other side of zero, clear of its own bar and error bar
            right = delta < 0
            ax.annotate(
                f"{by_name[name]['label']}{mark}{clipped}",
                (max(0.0, delta + err) if right else min(0.0, delta - err), y),
                xytext=(4 if right else -4, 0),
                textcoords="offset points",
                va="center",
                ha="left" if right else "right",
                fontsize=6.5,
            )
    if total.get("stat"):
        ax.axvspan(-total["stat"], total["stat"], color="#bbb", alpha=0.35, zorder=0)
    ax.axvline(0, color="#333", lw=0.8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r["systematic"] + ("" if r["in_total"] else " (extreme)") for r in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(-1.25 * limit, 1.25 * limit)
    ax.set_xlabel("shift (varied − nominal); grey: ± stat of the nominal value; * significant", fontsize=8)
    value = total.get("value")
    ax.set_title(
        f"{words}: nominal {value:.4g}, syst {total['syst']:.2g} (in quadrature)"
        if value is not None
        else words,
        fontsize=9,
    )
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, out)


def plot_systematics(
    result: Mapping[str, Any], out: str | os.PathLike, words: Mapping[str, str]
) -> dict[str, str]:
    """OUT/plots/tornado-{metric}.png for every metric of a systematics.json dict; paths relative to OUT."""
    out = Path(out)
    paths = {}
    for metric, total in result["totals"].items():
        if total.get("value") is None:
            continue
        relative = f"plots/tornado-{metric}.png"
        plot_tornado(metric, words.get(metric, metric), total, result["variations"], out / relative)
        paths[metric] = relative
    return paths

"""Figures of a study: each compared metric per variant (mean ± error, every repeat, significant changes
marked), and the learning curve."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nuclass.labels import KIND_METRICS, METRIC_WORDS
from nuclass.plots.canvas import figure, save_figure

__all__ = ["plot_study"]

METRICS = KIND_METRICS["classification"].compared

_SET_STYLE = {
    "own_test": ("o", "#2c6fb7", "own selected test set (balanced)"),
    "common_test": ("s", "#d9822b", "common natural test set"),
}


def plot_study(study: Mapping[str, Any], out: str | os.PathLike) -> dict[str, str]:
    """OUT/plots/{metric}.png (each variant's mean with its error, and each repeat as a dot, on its own and
    the common test set) and, for learning curves, OUT/plots/learning_curve.png; paths relative to OUT."""
    out = Path(out)
    variants = study["variants"]
    x = np.arange(len(variants))
    paths: dict[str, str] = {}
    for m in METRICS:
        fig = figure(max(5.5, 0.9 * len(variants) + 2.5), 4.2)
        ax = fig.subplots()
        for shift, test in ((-0.12, "own_test"), (0.12, "common_test")):
            marker, colour, label = _SET_STYLE[test]
            means = np.array([np.nan if v[test][m] is None else v[test][m] for v in variants], dtype=float)
            errs = np.array(
                [np.nan if v[test][f"{m}_err"] is None else v[test][f"{m}_err"] for v in variants]
            )
            ax.errorbar(x + shift, means, yerr=errs, fmt=marker, color=colour, capsize=3, label=label)
            for i, v in enumerate(variants):
                values = v[test][f"{m}_values"]
                if len(values) > 1:
                    ax.plot(
                        np.full(len(values), i + shift + 0.06), values, ".", color=colour, alpha=0.45, ms=4
                    )
        for i, v in enumerate(variants):
            delta = v.get("delta_vs_baseline")
            if delta and delta.get(f"{m}_significant"):
                ax.annotate(
                    f"{delta[f'{m}_sigma']:.1f}σ",
                    (i - 0.12, v["own_test"][m]),
                    xytext=(0, 10),
                    textcoords="offset points",
                    ha="center",
                    fontsize=7,
                    color="#a11",
                )
        ax.set_xticks(x, [v["name"] for v in variants], rotation=30, ha="right", fontsize=8)
        ax.set_xlim(-0.6, len(variants) - 0.4)
        ax.set(
            ylabel=METRIC_WORDS[m],
            title=f"{study['study']}: {METRIC_WORDS[m]} per variant\n"
            f"mean of {study['repeats']} repeat(s) ± err; dots: repeats; red: significant Δ vs baseline",
        )
        ax.title.set_fontsize(9)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7)
        paths[m] = save_figure(fig, out / "plots" / f"{m}.png").relative_to(out).as_posix()
    curve = study.get("learning_curve")
    if curve:
        fig = figure(10, 4.2)
        axes = fig.subplots(1, 2)
        n = np.array([c["n_train_events"] for c in curve], dtype=float)
        for ax, m in zip(axes, ("accuracy", "loss"), strict=True):
            for test in ("own_test", "common_test"):
                marker, colour, label = _SET_STYLE[test]
                y = np.array(
                    [np.nan if c[f"{test}_{m}"] is None else c[f"{test}_{m}"] for c in curve], dtype=float
                )
                e = np.array(
                    [np.nan if c[f"{test}_{m}_err"] is None else c[f"{test}_{m}_err"] for c in curve]
                )
                ax.errorbar(n, y, yerr=e, fmt=marker + "-", color=colour, capsize=3, label=label)
            for c, xi in zip(curve, n, strict=True):
                ax.annotate(
                    f"{c['train_files']} f",
                    (xi, 0),
                    xycoords=("data", "axes fraction"),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    fontsize=7,
                    color="#555",
                )
            ax.set_xscale("log", base=2)
            ax.set(xlabel="training events (after balancing)", ylabel=METRIC_WORDS[m])
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        fig.suptitle(f"Learning curve: test {', '.join(('accuracy', 'loss'))} against the training-set size")
        paths["learning_curve"] = (
            save_figure(fig, out / "plots" / "learning_curve.png").relative_to(out).as_posix()
        )
    return paths

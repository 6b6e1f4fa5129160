"""Performance against the truth: events grouped by truth (quantile bins, categories), which truth
variables the performance depends on beyond the statistical errors, and the seeds' questions answered."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nuclass.labels.groups import GROUPINGS, grouping
from nuclass.stats import (
    MIN_GROUP_EVENTS,
    chi2_significance,
    format_value,
    sigma_of,
    significant_dependence,
)

__all__ = [
    "N_ENERGY_BINS",
    "quantile_edges",
    "quantile_groups",
    "groups_by_truth",
    "format_metric",
    "dependence_summary",
    "seed_questions",
]

N_ENERGY_BINS = 10


def quantile_edges(values: np.ndarray, n_bins: int = N_ENERGY_BINS) -> np.ndarray:
    """Edges of up to `n_bins` bins holding about equal numbers of events (repeated edges merged)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return np.array([])
    return np.unique(np.quantile(values, np.linspace(0.0, 1.0, n_bins + 1)))


def _bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each value for bins [e_i, e_i+1), the last one closed on the right; −1 outside."""
    if len(edges) < 2:
        return np.zeros(len(values), dtype=np.int64) if len(edges) == 1 else np.full(len(values), -1)
    idx = np.searchsorted(edges, values, side="right") - 1
    idx[values == edges[-1]] = len(edges) - 2
    idx[(values < edges[0]) | (values > edges[-1])] = -1
    return idx


def quantile_groups(
    values: np.ndarray, n_bins: int = N_ENERGY_BINS
) -> list[tuple[dict[str, Any], np.ndarray]]:
    """Quantile bins of `values`: ({"lo", "hi"}, mask) per bin."""
    edges = quantile_edges(values, n_bins)
    if len(edges) == 1:  # every event has the same value
        return [({"lo": float(edges[0]), "hi": float(edges[0])}, np.ones(len(values), bool))]
    idx = _bin_index(np.asarray(values, dtype=np.float64), edges)
    return [({"lo": float(edges[i]), "hi": float(edges[i + 1])}, idx == i) for i in range(len(edges) - 1)]


def groups_by_truth(
    meta: Mapping[str, np.ndarray], n_bins: int = N_ENERGY_BINS
) -> dict[str, list[tuple[dict[str, Any], np.ndarray]]]:
    """Every grouping of the events by truth (labels.groups.GROUPINGS) that their truth allows: ({"lo",
    "hi"} or {"category"}, mask) per quantile bin or category."""
    out = {}
    for name, g in GROUPINGS.items():
        if not g.available(meta):
            continue
        if g.categories is None:
            out[name] = quantile_groups(meta[g.field], n_bins)
        else:
            codes = g.category_codes(meta)
            out[name] = [({"category": label}, codes == code) for label, code in g.categories]
    return out


def _label(variable: str, group: Mapping[str, Any]) -> str:
    return grouping(variable).label(group)


def format_metric(group: Mapping[str, Any], metric: str) -> str:
    """A group's metric and error as text; an accuracy of exactly 0 or 1 gets its 68 % CL range instead."""
    value = group.get(metric)
    if value is None:
        return "–"
    err = group.get(f"{metric}_err")
    if metric == "accuracy" and value in (0, 1) and group.get("accuracy_lo") is not None:
        return f"{value:.3f} (68 % CL {group['accuracy_lo']:.3f}–{group['accuracy_hi']:.3f})"
    return format_value(value, err)


def _errors_towards(group: Mapping[str, Any], metric: str, upward: bool) -> float:
    """The error of a group's value on the side facing the other group (Clopper–Pearson for accuracy)."""
    if metric == "accuracy":
        return group[metric] - group["accuracy_lo"] if not upward else group["accuracy_hi"] - group[metric]
    return group[f"{metric}_err"]


def _describe(variable: str, group: Mapping[str, Any], metric: str) -> dict[str, Any]:
    return {
        "label": _label(variable, group),
        "value": group[metric],
        "err": group.get(f"{metric}_err"),
        "n": group["n"],
        "text": format_metric(group, metric),
    }


def dependence_summary(
    by: Mapping[str, Sequence[Mapping[str, Any]]], metric: str = "accuracy", min_n: int = MIN_GROUP_EVENTS
) -> list[dict[str, Any]]:
    """How much `metric` varies with each truth variable, judged against the statistical errors; ranked.

    For each variable of `by`, among groups with ≥ `min_n` events: the highest and lowest value, their
    difference in σ, and a χ² test that the metric is the same in every group (the look-elsewhere-safe
    verdict: `significant` by stats.significant_dependence). Each entry carries a plain-English `sentence`.
    """
    out = []
    for variable, groups in by.items():
        used = [
            g
            for g in groups
            if g["n"] >= min_n
            and g.get(metric) is not None
            and (metric == "accuracy" or (g.get(f"{metric}_err") or 0) > 0)
        ]
        entry: dict[str, Any] = {
            "variable": variable,
            "metric": metric,
            "n_groups": len(used),
            "min_n": min_n,
        }
        if len(used) < 2:
            entry.update(
                dict.fromkeys(("high", "low", "difference", "difference_sigma", "chi2", "ndf", "p_value")),
                significance=None,
                significant=False,
                sentence=f"{metric} vs {grouping(variable).title}: fewer than two groups with "
                f"≥ {min_n} events, nothing to compare.",
            )
            out.append(entry)
            continue
        values = np.array([g[metric] for g in used], dtype=np.float64)
        if metric == "accuracy":  # null hypothesis: one pooled accuracy everywhere
            n = np.array([g["n"] for g in used], dtype=np.float64)
            pooled = float((values * n).sum() / n.sum())
            sigma0 = np.sqrt(pooled * (1 - pooled) / n)
            chi2 = float(((values - pooled) ** 2 / sigma0**2).sum()) if pooled * (1 - pooled) > 0 else 0.0
        else:
            w = 1 / np.array([g[f"{metric}_err"] for g in used], dtype=np.float64) ** 2
            mean = float((w * values).sum() / w.sum())
            chi2 = float((w * (values - mean) ** 2).sum())
        ndf = len(used) - 1
        p_value, z = chi2_significance(chi2, ndf)
        hi_g, lo_g = used[int(np.argmax(values))], used[int(np.argmin(values))]
        diff = hi_g[metric] - lo_g[metric]
        err = math.hypot(
            _errors_towards(hi_g, metric, upward=False), _errors_towards(lo_g, metric, upward=True)
        )
        diff_sigma = sigma_of(diff, err)

        high, low = _describe(variable, hi_g, metric), _describe(variable, lo_g, metric)
        what = grouping(variable).title
        pair = f"{metric} is {high['text']} for {high['label']} vs {low['text']} for {low['label']}"
        if diff_sigma is not None:
            pair += f": a {diff_sigma:.1f}σ difference"
        p_text = f"p = {p_value:.2g}" if p_value > 1e-300 else "p < 1e-300"
        test = f"χ²/ndf = {chi2:.1f}/{ndf} across {len(used)} groups, {p_text}, {z:.1f}σ"
        significant = significant_dependence(z)
        verdict = (
            f"{metric} depends significantly on {what}"
            if significant
            else f"no significant dependence of {metric} on {what}"
        )
        entry.update(
            high=high,
            low=low,
            difference=diff,
            difference_sigma=diff_sigma,
            chi2=chi2,
            ndf=ndf,
            p_value=p_value,
            significance=z,
            significant=significant,
            sentence=f"{verdict} ({test}); {pair}.",
        )
        out.append(entry)
    out.sort(key=lambda e: -(e["significance"] if e["significance"] is not None else -1.0))
    return out


def _compare(
    question: str,
    metric: str,
    a: Mapping[str, Any] | None,
    b: Mapping[str, Any] | None,
    label_a: str,
    label_b: str,
    min_n: int,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"question": question, "metric": metric, "a": label_a, "b": label_b}
    if not a or not b or a["n"] < min_n or b["n"] < min_n or a.get(metric) is None or b.get(metric) is None:
        entry.update(
            value_a=None,
            err_a=None,
            n_a=a["n"] if a else 0,
            value_b=None,
            err_b=None,
            n_b=b["n"] if b else 0,
            difference=None,
            difference_sigma=None,
            sentence=f"{question}: not enough events (need ≥ {min_n} in each group).",
        )
        return entry
    diff = a[metric] - b[metric]
    err = math.hypot(
        _errors_towards(a, metric, upward=diff < 0), _errors_towards(b, metric, upward=diff >= 0)
    )
    sigma = sigma_of(diff, err)
    sentence = (
        f"{question}: {metric} {format_metric(a, metric)} for {label_a} vs "
        f"{format_metric(b, metric)} for {label_b}"
    )
    sentence += f", a {sigma:.1f}σ difference." if sigma is not None else "."
    entry.update(
        value_a=a[metric],
        err_a=a.get(f"{metric}_err"),
        n_a=a["n"],
        value_b=b[metric],
        err_b=b.get(f"{metric}_err"),
        n_b=b["n"],
        difference=diff,
        difference_sigma=sigma,
        sentence=sentence,
    )
    return entry


def seed_questions(
    by: Mapping[str, Sequence[Mapping[str, Any]]], metric: str = "accuracy", min_n: int = MIN_GROUP_EVENTS
) -> list[dict[str, Any]]:
    """The seeds' Task 2 questions answered with numbers: QE vs DIS, low vs high neutrino and lepton energy.

    QE and DIS are the mode groups (all flavours); low and high energy are the lowest and highest quantile
    bins. Seed 001 called per-bin accuracy "efficiency"; here it is accuracy.
    """
    modes = {g["category"]: g for g in by.get("mode", [])}
    out = [_compare("QE vs DIS", metric, modes.get("QE"), modes.get("DIS"), "QE", "DIS", min_n)]
    for variable in ("nuenergy", "lepenergy"):
        bins = list(by.get(variable, []))
        lo, hi = (bins[0], bins[-1]) if bins else (None, None)
        out.append(
            _compare(
                f"low vs high {GROUPINGS[variable].title}",
                metric,
                lo,
                hi,
                _label(variable, lo) if lo else "lowest bin",
                _label(variable, hi) if hi else "highest bin",
                min_n,
            )
        )
    return out

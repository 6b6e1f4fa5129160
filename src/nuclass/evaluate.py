"""Evaluate a trained run: physics metrics, performance against the truth, metrics.json and plots.

Works on arrays (scores, targets, truth), so it does not care how the network was trained. Words as in
DESIGN §5: *efficiency* is the fraction of true signal selected, *purity* the fraction of the selected
that is signal; per-bin and per-category *accuracy* is plain accuracy (seed 001 called it "efficiency").
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nuclass.atomic import atomic_path, write_json
from nuclass.errors import ConfigError, FormatError
from nuclass.labels import FinalState, Interaction, Task, get_task, mode_index

__all__ = [
    "json_ready",
    "TRUTH_FIELDS",
    "TEST_SETS",
    "MIN_GROUP_EVENTS",
    "SIGNIFICANT_SIGMA",
    "efficiency_purity_curve",
    "binomial_error",
    "clopper_pearson",
    "relative_residual",
    "bias",
    "resolution",
    "bias_error",
    "resolution_error",
    "per_event_loss",
    "predicted_class",
    "quantile_edges",
    "metrics_for",
    "format_value",
    "format_metric",
    "dependence_summary",
    "seed_questions",
    "load_predictions",
    "evaluate_run",
    "predict_to_h5",
]

TRUTH_FIELDS = ("interaction", "finalstate", "nuenergy", "lepenergy")
TEST_SETS = ("natural", "balanced")
ENERGY_UNIT = "GeV"
N_ENERGY_BINS = 10
N_CUTS = 101  # score cuts 0.00, 0.01, … 1.00
MIN_GROUP_EVENTS = 30  # bins or categories with fewer events are listed but not compared
SIGNIFICANT_SIGMA = 3.0
ONE_SIGMA_CL = 0.682689492  # central probability within ±1σ of a Gaussian
_PROB_EPS = 1e-7  # probabilities are clipped to [eps, 1 − eps] before taking logs
_MODE_GROUPS = (*get_task("mode").class_names, "cosmic & other")


# ----------------------------------------------------------------------------------------------------------
# Physics metrics


def efficiency_purity_curve(
    y_true: np.ndarray, score: np.ndarray, cuts: Sequence[float] | np.ndarray | None = None
) -> dict[str, Any]:
    """Efficiency and purity of the selection `score >= cut` for each cut, and the cut maximising their
    product (NOvA's figure of merit).

    y_true: (N,) 0/1 (1 = signal); score: (N,) signal probability; cuts default to 0.00, 0.01, … 1.00.
    Purity is NaN where nothing is selected; efficiency is NaN if there is no true signal.
    """
    y = np.asarray(y_true).astype(bool).ravel()
    s = np.asarray(score, dtype=np.float64).ravel()
    cut = np.linspace(0.0, 1.0, N_CUTS) if cuts is None else np.asarray(cuts, dtype=np.float64)
    signal_sorted = np.sort(s[y])
    all_sorted = np.sort(s)
    n_signal_selected = len(signal_sorted) - np.searchsorted(signal_sorted, cut, side="left")
    n_selected = len(all_sorted) - np.searchsorted(all_sorted, cut, side="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        efficiency = n_signal_selected / (len(signal_sorted) if len(signal_sorted) else np.nan)
        purity = np.where(n_selected > 0, n_signal_selected / np.maximum(n_selected, 1), np.nan)
    merit = efficiency * purity
    if np.all(np.isnan(merit)):
        best_cut = best_eff = best_pur = math.nan
    else:
        i = int(np.nanargmax(merit))
        best_cut, best_eff, best_pur = float(cut[i]), float(efficiency[i]), float(purity[i])
    return {
        "cut": cut,
        "efficiency": efficiency,
        "purity": purity,
        "best_cut": best_cut,
        "best_efficiency": best_eff,
        "best_purity": best_pur,
    }


def binomial_error(k: np.ndarray | int, n: np.ndarray | int) -> np.ndarray:
    """Standard error sqrt(p (1 − p) / n) of a fraction p = k / n (NaN for n = 0)."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        return np.where(n > 0, np.sqrt(p * (1 - p) / n), np.nan)


def clopper_pearson(
    k: np.ndarray | int, n: np.ndarray | int, cl: float = ONE_SIGMA_CL
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper–Pearson) central interval (lo, hi) of a fraction k / n at confidence `cl` (NaN: n=0)."""
    from scipy.stats import beta

    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    alpha = 1.0 - cl
    with np.errstate(invalid="ignore"):
        lo = np.where(k > 0, beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        hi = np.where(k < n, beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    empty = n <= 0
    return np.where(empty, np.nan, lo), np.where(empty, np.nan, hi)


def relative_residual(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """(pred − true) / true per event; NaN where true = 0 (relative error undefined there)."""
    pred = np.asarray(pred, dtype=np.float64).ravel()
    true = np.asarray(true, dtype=np.float64).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(true != 0, (pred - true) / np.where(true != 0, true, 1.0), np.nan)


def _finite(values: np.ndarray) -> np.ndarray:
    return values[np.isfinite(values)]


def bias(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean of (pred − true) / true over events with true ≠ 0; NaN if there are none."""
    r = _finite(relative_residual(pred, true))
    return float(r.mean()) if len(r) else math.nan


def resolution(pred: np.ndarray, true: np.ndarray) -> float:
    """RMS of (pred − true) / true over events with true ≠ 0 (includes any bias); NaN if there are none."""
    r = _finite(relative_residual(pred, true))
    return float(np.sqrt(np.mean(r**2))) if len(r) else math.nan


def bias_error(pred: np.ndarray, true: np.ndarray) -> float:
    """Standard error of the bias: std((pred − true) / true) / sqrt(n); NaN for fewer than 2 events."""
    r = _finite(relative_residual(pred, true))
    return float(r.std(ddof=1) / np.sqrt(len(r))) if len(r) > 1 else math.nan


def resolution_error(pred: np.ndarray, true: np.ndarray) -> float:
    """Standard error of the resolution R = sqrt(mean r²), std(r²) / (2 R sqrt(n)); NaN below 2 events."""
    r = _finite(relative_residual(pred, true))
    if len(r) < 2:
        return math.nan
    rms = np.sqrt(np.mean(r**2))
    return float((r**2).std(ddof=1) / (2 * rms * np.sqrt(len(r)))) if rms > 0 else 0.0


# ----------------------------------------------------------------------------------------------------------
# Scores and per-event quantities


def _probabilities(task: Task, score: np.ndarray) -> np.ndarray:
    """Class-1 probability (N,) for binary tasks, (N, K) class probabilities, or (N,) regressed values."""
    score = np.asarray(score, dtype=np.float64)
    if task.kind == "multiclass":
        if score.ndim != 2 or score.shape[1] != len(task.class_names):
            raise ConfigError(
                f"task {task.name}: expected scores (N, {len(task.class_names)}), got shape {score.shape}"
            )
        return score
    if score.ndim == 2 and score.shape[1] == 1:
        score = score[:, 0]
    if score.ndim != 1:
        raise ConfigError(f"task {task.name}: expected scores (N,) or (N, 1), got shape {score.shape}")
    return score


def predicted_class(task: Task, score: np.ndarray) -> np.ndarray:
    """Predicted class (N,) int64: probability ≥ 0.5 (binary) or the most probable class (multi-class)."""
    p = _probabilities(task, score)
    if task.kind == "binary":
        return (p >= 0.5).astype(np.int64)
    if task.kind == "multiclass":
        return np.argmax(p, axis=1).astype(np.int64)
    raise ConfigError(f"task {task.name} is a regression; it has no predicted class")


def per_event_loss(task: Task, y_true: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Cross-entropy of each event (N,) in nats: binary −[y ln p + (1 − y) ln(1 − p)], multi-class −ln p_y."""
    p = np.clip(_probabilities(task, score), _PROB_EPS, 1 - _PROB_EPS)
    y = np.asarray(y_true).astype(np.int64).ravel()
    if task.kind == "binary":
        return -(y * np.log(p) + (1 - y) * np.log1p(-p))
    if task.kind == "multiclass":
        return -np.log(p[np.arange(len(y)), y])
    raise ConfigError(f"task {task.name} is a regression; it has no cross-entropy")


# ----------------------------------------------------------------------------------------------------------
# Grouping by truth


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


def _energy_groups(values: np.ndarray, n_bins: int) -> list[tuple[dict[str, Any], np.ndarray]]:
    edges = quantile_edges(values, n_bins)
    if len(edges) == 1:  # every event has the same value
        return [({"lo": float(edges[0]), "hi": float(edges[0])}, np.ones(len(values), bool))]
    idx = _bin_index(np.asarray(values, dtype=np.float64), edges)
    return [({"lo": float(edges[i]), "hi": float(edges[i + 1])}, idx == i) for i in range(len(edges) - 1)]


def _category_groups(
    codes: np.ndarray, names: Iterable[tuple[str, int]]
) -> list[tuple[dict[str, Any], np.ndarray]]:
    codes = np.asarray(codes).astype(np.int64)
    return [({"category": name}, codes == code) for name, code in names]


def _groups(
    meta: Mapping[str, np.ndarray], n_bins: int
) -> dict[str, list[tuple[dict[str, Any], np.ndarray]]]:
    """Every grouping of the events by truth: energy quantile bins, interaction, final state, mode group."""
    modes = mode_index(meta["interaction"])
    modes = np.where(modes < 0, len(_MODE_GROUPS) - 1, modes)
    return {
        "nuenergy": _energy_groups(meta["nuenergy"], n_bins),
        "lepenergy": _energy_groups(meta["lepenergy"], n_bins),
        "interaction": _category_groups(meta["interaction"], ((c.name, c.value) for c in Interaction)),
        "finalstate": _category_groups(meta["finalstate"], ((c.name, c.value) for c in FinalState)),
        "mode": _category_groups(modes, ((name, i) for i, name in enumerate(_MODE_GROUPS))),
    }


def _classification_group(correct: np.ndarray, loss: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    n = int(mask.sum())
    if n == 0:
        return {
            "n": 0,
            "accuracy": None,
            "accuracy_err": None,
            "accuracy_lo": None,
            "accuracy_hi": None,
            "loss": None,
            "loss_err": None,
        }
    k = int(correct[mask].sum())
    lo, hi = clopper_pearson(k, n)
    return {
        "n": n,
        "accuracy": k / n,
        "accuracy_err": float(binomial_error(k, n)),
        "accuracy_lo": float(lo),
        "accuracy_hi": float(hi),
        "loss": float(loss[mask].mean()),
        "loss_err": float(loss[mask].std(ddof=1) / np.sqrt(n)) if n > 1 else None,
    }


def _regression_group(pred: np.ndarray, true: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    n = int(mask.sum())
    if n == 0:
        return {"n": 0, "bias": None, "bias_err": None, "resolution": None, "resolution_err": None}
    p, t = pred[mask], true[mask]
    return {
        "n": n,
        "bias": bias(p, t),
        "bias_err": bias_error(p, t),
        "resolution": resolution(p, t),
        "resolution_err": resolution_error(p, t),
    }


# ----------------------------------------------------------------------------------------------------------
# Metrics of one test set


def _check_inputs(task: Task, y_true: np.ndarray, score: np.ndarray, meta: Mapping[str, np.ndarray]) -> None:
    missing = [f for f in TRUTH_FIELDS if f not in meta]
    if missing:
        raise ConfigError(f"truth arrays missing: {', '.join(missing)} (need {', '.join(TRUTH_FIELDS)})")
    n = len(y_true)
    bad = {k: len(v) for k, v in [("score", score), *((f, meta[f]) for f in TRUTH_FIELDS)] if len(v) != n}
    if bad:
        raise ConfigError(
            f"arrays must all have {n} events like target; got "
            + ", ".join(f"{k}: {v}" for k, v in bad.items())
        )


def metrics_for(
    task: Task | str,
    y_true: np.ndarray,
    score: np.ndarray,
    meta: Mapping[str, np.ndarray],
    *,
    n_bins: int = N_ENERGY_BINS,
) -> dict[str, Any]:
    """The DESIGN §5 metrics block of one test set, as plain Python (NaN → None), ready for metrics.json.

    y_true: (N,) class or physical value; score: (N,) or (N, 1) class-1 probability (binary), (N, K)
    probabilities (multi-class) or (N,) predicted physical value (regression); meta: truth arrays (N,)
    `interaction`, `finalstate`, `nuenergy`, `lepenergy` (GeV).
    """
    task = get_task(task) if isinstance(task, str) else task
    y_true = np.asarray(y_true).ravel()
    score = np.asarray(score)
    _check_inputs(task, y_true, score, meta)
    groups = _groups(meta, n_bins)
    if task.kind == "regression":
        block = _regression_metrics(
            task, y_true.astype(np.float64), _probabilities(task, score), groups, n_bins
        )
        metrics = ("resolution", "bias")
    else:
        block = _classification_metrics(task, y_true.astype(np.int64), score, groups)
        metrics = ("accuracy",)
    block["dependence"] = [entry for m in metrics for entry in dependence_summary(block["by"], metric=m)]
    block["dependence"].sort(key=lambda e: -(e["significance"] if e["significance"] is not None else -1.0))
    block["questions"] = seed_questions(block["by"], metric=metrics[0])
    return json_ready(block)


def _classification_metrics(
    task: Task, y: np.ndarray, score: np.ndarray, groups: dict[str, list[tuple[dict[str, Any], np.ndarray]]]
) -> dict[str, Any]:
    from sklearn import metrics as skm

    k = len(task.class_names)
    labels = np.arange(k)
    p = _probabilities(task, score)
    pred = predicted_class(task, p)
    loss = per_event_loss(task, y, p)
    correct = pred == y
    average = "binary" if task.kind == "binary" else "macro"
    with warnings.catch_warnings():
        # Degenerate subsets (one class only) give NaN and a warning; NaN becomes null in metrics.json.
        warnings.simplefilter("ignore")
        prf = {
            name: float(fn(y, pred, labels=labels, average=average, zero_division=np.nan))
            for name, fn in (
                ("precision", skm.precision_score),
                ("recall", skm.recall_score),
                ("f1", skm.f1_score),
            )
        }
        balanced_accuracy = float(skm.balanced_accuracy_score(y, pred)) if len(y) else math.nan
        kappa = float(skm.cohen_kappa_score(y, pred, labels=labels)) if len(y) else math.nan
    cm = skm.confusion_matrix(y, pred, labels=labels)
    row = cm.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        cm_norm = np.where(row > 0, cm / np.maximum(row, 1), np.nan)
    auc_per_class = _roc_auc_per_class(task, y, p)
    present = [a for a in auc_per_class if a is not None]
    if task.kind == "binary":
        roc_auc = auc_per_class[1]
    else:
        # One-vs-rest macro average over the classes that have both signal and background in this set.
        roc_auc = float(np.mean(present)) if present else None
    block: dict[str, Any] = {
        "n_events": len(y),
        "class_names": list(task.class_names),
        "class_counts": np.bincount(y, minlength=k)[:k].tolist(),
        "accuracy": float(correct.mean()) if len(y) else None,
        "balanced_accuracy": balanced_accuracy,
        **prf,
        "cohen_kappa": kappa,
        "roc_auc": roc_auc,
        "loss": float(loss.mean()) if len(y) else None,
        "confusion_matrix": cm.tolist(),
        "confusion_matrix_normalised": cm_norm.tolist(),
    }
    if task.kind == "binary":
        block["efficiency_purity"] = efficiency_purity_curve(y, p)
    else:
        block["roc_auc_per_class"] = dict(zip(task.class_names, auc_per_class, strict=True))
        tp = np.diag(cm)
        with np.errstate(invalid="ignore", divide="ignore"):
            eff = tp / cm.sum(axis=1)
            pur = tp / cm.sum(axis=0)
        block["per_class"] = [
            {"class": name, "n": int(cm[i].sum()), "efficiency": eff[i], "purity": pur[i]}
            for i, name in enumerate(task.class_names)
        ]
    block["by"] = {
        var: [{**key, **_classification_group(correct, loss, mask)} for key, mask in grp]
        for var, grp in groups.items()
    }
    return block


def _roc_auc_per_class(task: Task, y: np.ndarray, p: np.ndarray) -> list[float | None]:
    """One-vs-rest ROC AUC of each class (None where the set lacks that class or every other class)."""
    from sklearn.metrics import roc_auc_score

    columns = [1 - p, p] if task.kind == "binary" else [p[:, i] for i in range(p.shape[1])]
    out: list[float | None] = []
    for i, col in enumerate(columns):
        is_class = y == i
        out.append(float(roc_auc_score(is_class, col)) if 0 < is_class.sum() < len(y) else None)
    return out


def _regression_metrics(
    task: Task,
    true: np.ndarray,
    pred: np.ndarray,
    groups: dict[str, list[tuple[dict[str, Any], np.ndarray]]],
    n_bins: int,
) -> dict[str, Any]:
    from sklearn.metrics import mean_absolute_error, mean_squared_error

    finite = np.isfinite(relative_residual(pred, true))
    block: dict[str, Any] = {
        "n_events": len(true),
        "unit": task.unit,
        "mse": float(mean_squared_error(true, pred)) if len(true) else None,
        "mae": float(mean_absolute_error(true, pred)) if len(true) else None,
        "bias": bias(pred, true),
        "bias_err": bias_error(pred, true),
        "resolution": resolution(pred, true),
        "resolution_err": resolution_error(pred, true),
        "n_relative": int(finite.sum()),
    }
    block["by_true"] = [
        {**key, **_regression_group(pred, true, mask)} for key, mask in _energy_groups(true, n_bins)
    ]
    block["by"] = {
        var: [{**key, **_regression_group(pred, true, mask)} for key, mask in grp]
        for var, grp in groups.items()
    }
    return block


# ----------------------------------------------------------------------------------------------------------
# Which truth variables matter


_UNITS = {"nuenergy": ENERGY_UNIT, "lepenergy": ENERGY_UNIT}
_NAMES = {
    "nuenergy": "neutrino energy",
    "lepenergy": "lepton energy",
    "interaction": "interaction type",
    "finalstate": "final state",
    "mode": "interaction mode",
}


def _label(variable: str, group: Mapping[str, Any]) -> str:
    if "category" in group:
        return str(group["category"])
    return f"{group['lo']:.3g}–{group['hi']:.3g} {_UNITS.get(variable, '')}".strip()


def format_value(value: float, err: float) -> str:
    """'0.912 ± 0.011': the value rounded to the error's second significant figure."""
    if err is None or not np.isfinite(err) or err <= 0:
        return f"{value:.3g}"
    decimals = max(0, 1 - int(math.floor(math.log10(err))))
    return f"{value:.{decimals}f} ± {err:.{decimals}f}"


def format_metric(group: Mapping[str, Any], metric: str) -> str:
    """A group's metric and error as text; an accuracy of exactly 0 or 1 gets its 68 % CL range instead."""
    value = group.get(metric)
    if value is None:
        return "–"
    err = group.get(f"{metric}_err")
    if metric == "accuracy" and not err and group.get("accuracy_lo") is not None:
        return f"{value:.3f} (68 % CL {group['accuracy_lo']:.3f}–{group['accuracy_hi']:.3f})"
    return format_value(value, err)


def _errors_towards(group: Mapping[str, Any], metric: str, upward: bool) -> float:
    """The error of a group's value on the side facing the other group (Clopper–Pearson for accuracy)."""
    if metric == "accuracy":
        return group[metric] - group["accuracy_lo"] if not upward else group["accuracy_hi"] - group[metric]
    return group[f"{metric}_err"]


def _significance(chi2: float, ndf: int) -> tuple[float, float]:
    """p-value of χ² with `ndf` degrees of freedom, and its one-sided Gaussian equivalent in σ (≥ 0)."""
    from scipy.special import ndtri_exp
    from scipy.stats import chi2 as chi2_dist

    log_p = float(chi2_dist.logsf(chi2, ndf))
    return math.exp(log_p), max(0.0, float(-ndtri_exp(log_p)))


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
    verdict: `significant` if it is ≥ 3σ). Each entry carries a plain-English `sentence`.
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
                high=None,
                low=None,
                difference=None,
                difference_sigma=None,
                chi2=None,
                ndf=None,
                p_value=None,
                significance=None,
                significant=False,
                sentence=f"{metric} vs {_NAMES.get(variable, variable)}: fewer than two groups with "
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
        p_value, z = _significance(chi2, ndf)
        hi_g, lo_g = used[int(np.argmax(values))], used[int(np.argmin(values))]
        diff = hi_g[metric] - lo_g[metric]
        err = math.hypot(
            _errors_towards(hi_g, metric, upward=False), _errors_towards(lo_g, metric, upward=True)
        )
        diff_sigma = diff / err if err > 0 else None

        high, low = _describe(variable, hi_g, metric), _describe(variable, lo_g, metric)
        what = _NAMES.get(variable, variable)
        pair = f"{metric} is {high['text']} for {high['label']} vs {low['text']} for {low['label']}"
        if diff_sigma is not None:
            pair += f": a {diff_sigma:.1f}σ difference"
        p_text = f"p = {p_value:.2g}" if p_value > 1e-300 else "p < 1e-300"
        test = f"χ²/ndf = {chi2:.1f}/{ndf} across {len(used)} groups, {p_text}, {z:.1f}σ"
        verdict = (
            f"{metric} depends significantly on {what}"
            if z >= SIGNIFICANT_SIGMA
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
            significant=bool(z >= SIGNIFICANT_SIGMA),
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
    sigma = abs(diff) / err if err > 0 else None
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
                f"low vs high {_NAMES[variable]}",
                metric,
                lo,
                hi,
                _label(variable, lo) if lo else "lowest bin",
                _label(variable, hi) if hi else "highest bin",
                min_n,
            )
        )
    return out


def json_ready(value: Any) -> Any:
    """Numpy → Python, NaN/inf → None, recursively: the JSON form of a metrics block."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return value


# ----------------------------------------------------------------------------------------------------------
# A run directory


def _read_config(run_dir: Path) -> dict[str, Any]:
    import yaml

    path = run_dir / "config.yaml"
    if not path.is_file():
        raise FormatError(path, None, "a run directory holding config.yaml", "no such file")
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise FormatError(path, None, "valid YAML", str(exc).splitlines()[0]) from None
    if not isinstance(config, dict) or "task" not in config:
        raise FormatError(path, "task", "a mapping with the run's task", f"{type(config).__name__}")
    return config


def _model_name(config: Mapping[str, Any]) -> str | None:
    model = config.get("model")
    return model.get("name") if isinstance(model, Mapping) else model


def load_predictions(path: str | os.PathLike, task: Task | str) -> dict[str, np.ndarray]:
    """Arrays of one predictions file (score, target and truth, N events each), checked against the task."""
    path = Path(path)
    task = get_task(task) if isinstance(task, str) else task
    if not path.is_file():
        raise FormatError(path, None, "a predictions file (.npz)", "no such file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise FormatError(path, None, "a numpy .npz file", str(exc)) from None
    for name in ("score", "target", *TRUTH_FIELDS):
        if name not in arrays:
            raise FormatError.missing(path, name, arrays)
    n = len(arrays["target"])
    for name in ("score", *TRUTH_FIELDS, "evt", "file_index"):
        if name in arrays and len(arrays[name]) != n:
            raise FormatError(path, name, f"{n} rows like target", f"{len(arrays[name])}")
    score = arrays["score"]
    expected = (n, len(task.class_names)) if task.kind == "multiclass" else (n, 1)
    if score.shape not in (expected, (n,)) or (task.kind == "multiclass" and score.shape != expected):
        raise FormatError(path, "score", f"shape {expected} for task {task.name}", f"{score.shape}")
    if task.is_classification:
        bad = (score < 0) | (score > 1) | ~np.isfinite(score)
        if bad.any():
            raise FormatError(path, "score", "probabilities in [0, 1]", f"{score[bad][0]!r}")
        target = arrays["target"]
        if np.any((target < 0) | (target >= len(task.class_names)) | (target != np.round(target))):
            raise FormatError(path, "target", f"classes 0–{len(task.class_names) - 1}", "other values")
    return arrays


def _iter_predictions(run_dir: Path, paths: Sequence[Path], batch_size: int):
    """(Events, scores for every event of that batch) from the trained run, over `paths`."""
    from nuclass.train import predict_files

    yield from predict_files(run_dir, list(paths), batch_size)


def _run_selection(config: Mapping[str, Any]) -> dict[str, str]:
    """The truth selection a run was trained with (canonical expressions), {} if none."""
    from nuclass.selection import EventSelection

    selection = EventSelection(*(config.get(k) for k in ("where", "signal", "background"))).to_dict()
    if config.get("equalize_signal"):
        selection["equalize_signal"] = str(config["equalize_signal"])
    return selection


def _predict_sets(
    run_dir: Path, task: Task, paths: Sequence[Path], batch_size: int, seed: int, config: Mapping[str, Any]
) -> dict[str, dict]:
    """Natural and balanced test sets made by running the run's model over `paths` (for --data), restricted
    by the run's selection (where / signal / background); the balanced set is drawn as training draws its own
    (undersampling, generator seeded with [seed, 2])."""
    from nuclass.data import undersample_to_balance
    from nuclass.selection import EventSelection

    selection = EventSelection(*(config.get(k) for k in ("where", "signal", "background")))

    index_of = {Path(p).resolve(): i for i, p in enumerate(paths)}
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("score", "target", *TRUTH_FIELDS, "evt", "file_index")
    }
    for events, score in _iter_predictions(run_dir, paths, batch_size):
        mask, target = task.labels(events.meta)
        if selection.active:
            used = np.flatnonzero(mask)
            keep = selection.mask({k: np.asarray(v)[used] for k, v in events.meta.items()}, target)
            mask[used[~keep]] = False
            target = target[keep]
        score = np.asarray(score)
        if len(score) == len(events):
            score = score[mask]
        elif len(score) != int(mask.sum()):
            raise FormatError(
                events.source or "predictions",
                "score",
                f"{len(events)} scores (one per event)",
                f"{len(score)}",
            )
        parts["score"].append(score)
        parts["target"].append(target)
        for name in (*TRUTH_FIELDS, "evt"):
            parts[name].append(np.asarray(events.meta[name])[mask])
        source = index_of.get(Path(events.source).resolve(), -1) if events.source else -1
        parts["file_index"].append(np.full(int(mask.sum()), source, dtype=np.int64))
    if not parts["target"]:
        raise ConfigError("no events to evaluate in the given --data files")
    natural = {k: np.concatenate(v) for k, v in parts.items()}
    if task.kind == "regression":
        return {"natural": natural, "balanced": natural}
    keep = undersample_to_balance(natural["target"], len(task.class_names), np.random.default_rng([seed, 2]))
    return {"natural": natural, "balanced": {k: v[keep] for k, v in natural.items()}}


def evaluate_run(
    run_dir: str | os.PathLike,
    data: Sequence[str | os.PathLike] | None = None,
    *,
    batch_size: int = 256,
    plots: bool = True,
) -> dict[str, Any]:
    """Metrics of a trained run on its natural and balanced test sets → RUN_DIR/metrics.json, RUN_DIR/plots/.

    Uses RUN_DIR/predictions/{natural,balanced}.npz, or, if `data` names HDF5 files (or directories), the
    run's model's predictions on those (natural: every event the task uses; balanced: classes undersampled
    to equal counts as in training; regression: the natural set). Returns the metrics.json content, with
    the plots' paths relative to RUN_DIR under "plots" (`plots=False`: metrics only, "plots" empty).
    """
    from nuclass.data import expand_paths
    from nuclass.metric_plots import plot_run

    run_dir = Path(run_dir)
    config = _read_config(run_dir)
    task = get_task(str(config["task"]))
    files = expand_paths(data) if data else []
    if files:
        sets = _predict_sets(run_dir, task, files, batch_size, int(config.get("seed") or 0), config)
    else:
        sets = {name: load_predictions(run_dir / "predictions" / f"{name}.npz", task) for name in TEST_SETS}
    result: dict[str, Any] = {
        "task": task.name,
        "model": _model_name(config),
        "test_sets": {
            name: metrics_for(task, arrays["target"], arrays["score"], arrays)
            for name, arrays in sets.items()
        },
    }
    if selection := _run_selection(config):
        result["selection"] = selection
    if files:
        result["data"] = [str(p) for p in files]
    result["plots"] = plot_run(run_dir, task, sets, result) if plots else {}
    write_json(run_dir / "metrics.json", result)
    return result


def predict_to_h5(
    run_dir: str | os.PathLike,
    paths: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    batch_size: int = 256,
) -> Path:
    """Per-event scores of the run's model on `paths`, streamed file by file into one HDF5 file (atomic).

    Datasets: `score` ((N,) class-1 probability or regressed value, (N, K) probabilities for multi-class),
    `predicted_class` (classification), `evt`, `file_index` into `files` (names), and the truth in
    `neutrino/` ((N, 1) each, the teaching files' layout); attributes `task`, `model`, `class_names`.
    """
    import h5py

    from nuclass.data import expand_paths

    run_dir, out = Path(run_dir), Path(out)
    config = _read_config(run_dir)
    task = get_task(str(config["task"]))
    paths = expand_paths(paths)
    index_of = {p.resolve(): i for i, p in enumerate(paths)}
    n = 0
    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["task"] = task.name
            f.attrs["model"] = _model_name(config) or ""
            f.attrs["class_names"] = list(task.class_names)
            f.create_dataset("files", data=np.array([p.name for p in paths], dtype=h5py.string_dtype()))
            columns: dict[str, h5py.Dataset] = {}

            def append(name: str, values: np.ndarray) -> None:
                values = np.asarray(values)
                if name not in columns:
                    columns[name] = f.create_dataset(
                        name,
                        shape=(0, *values.shape[1:]),
                        dtype=values.dtype,
                        maxshape=(None, *values.shape[1:]),
                        chunks=True,
                    )
                ds = columns[name]
                ds.resize(n + len(values), axis=0)
                ds[n:] = values

            for events, score in _iter_predictions(run_dir, paths, batch_size):
                score = np.asarray(score, dtype=np.float32)
                if len(score) != len(events):
                    raise FormatError(
                        events.source or "predictions",
                        "score",
                        f"{len(events)} scores (one per event)",
                        f"{len(score)}",
                    )
                score = _probabilities(task, score).astype(np.float32)
                append("score", score)
                if task.is_classification:
                    append("predicted_class", predicted_class(task, score))
                append("evt", np.asarray(events.meta["evt"]))
                source = index_of.get(Path(events.source).resolve(), -1) if events.source else -1
                append("file_index", np.full(len(events), source, dtype=np.int64))
                for name in ("interaction", "finalstate", "nuenergy", "lepenergy"):
                    if name in events.meta:
                        append(f"neutrino/{name}", np.asarray(events.meta[name]).reshape(-1, 1))
                n += len(events)
    return out

"""The metrics of one test set (DESIGN §5): the physics metrics of classifiers and regressions, overall,
per truth group and against the truth, as the plain-data block that metrics.json holds.

Works on arrays (scores, targets, truth), so it does not care how the network was trained. Words as in
DESIGN §5: *efficiency* is the fraction of true signal selected, *purity* the fraction of the selected
that is signal; per-bin and per-category *accuracy* is plain accuracy (seed 001 called it "efficiency").
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nuclass.errors import ConfigError
from nuclass.evaluation.truth import (
    N_ENERGY_BINS,
    dependence_summary,
    groups_by_truth,
    quantile_groups,
    seed_questions,
)
from nuclass.labels import Task, get_task
from nuclass.labels.truth import ANALYSIS_TRUTH
from nuclass.stats import binomial_error, clopper_pearson, mean_error

__all__ = [
    "efficiency_purity_curve",
    "relative_residual",
    "bias",
    "resolution",
    "bias_error",
    "resolution_error",
    "spread",
    "spread_error",
    "per_event_loss",
    "metrics_for",
    "json_ready",
]

N_CUTS = 101  # score cuts 0.00, 0.01, … 1.00
_PROB_EPS = 1e-7  # probabilities are clipped to [eps, 1 − eps] before taking logs


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
    return mean_error(_finite(relative_residual(pred, true)))


def resolution_error(pred: np.ndarray, true: np.ndarray) -> float:
    """Standard error of the resolution R = sqrt(mean r²), std(r²) / (2 R sqrt(n)); NaN below 2 events."""
    r = _finite(relative_residual(pred, true))
    if len(r) < 2:
        return math.nan
    rms = np.sqrt(np.mean(r**2))
    return float((r**2).std(ddof=1) / (2 * rms * np.sqrt(len(r)))) if rms > 0 else 0.0


def spread(pred: np.ndarray, true: np.ndarray) -> float:
    """Resolution after removing the bias: standard deviation of (pred − true) / true over events with
    true ≠ 0 (resolution² = spread² + bias²); NaN if there are none."""
    r = _finite(relative_residual(pred, true))
    return float(r.std()) if len(r) else math.nan


def spread_error(pred: np.ndarray, true: np.ndarray) -> float:
    """Standard error of the spread S = std(r), std((r − r̄)²) / (2 S sqrt(n)) (the delta method on the
    variance, no Gaussian assumption); NaN below 2 events."""
    r = _finite(relative_residual(pred, true))
    if len(r) < 2:
        return math.nan
    centred = (r - r.mean()) ** 2
    s = np.sqrt(centred.mean())
    return float(centred.std(ddof=1) / (2 * s * np.sqrt(len(r)))) if s > 0 else 0.0


def per_event_loss(task: Task, y_true: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Cross-entropy of each event (N,) in nats: binary −[y ln p + (1 − y) ln(1 − p)], multi-class −ln p_y."""
    p = np.clip(task.squeeze_scores(score), _PROB_EPS, 1 - _PROB_EPS)
    y = np.asarray(y_true).astype(np.int64).ravel()
    if task.kind == "binary":
        return -(y * np.log(p) + (1 - y) * np.log1p(-p))
    if task.kind == "multiclass":
        return -np.log(p[np.arange(len(y)), y])
    raise ConfigError(f"task {task.name} is a regression; it has no cross-entropy")


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
        "loss_err": mean_error(loss[mask]) if n > 1 else None,
    }


def _regression_group(pred: np.ndarray, true: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    n = int(mask.sum())
    if n == 0:
        return {"n": 0, **dict.fromkeys(("bias", "bias_err", "resolution", "resolution_err",
                                         "resolution_unbiased", "resolution_unbiased_err"))}
    p, t = pred[mask], true[mask]
    return {
        "n": n,
        "bias": bias(p, t),
        "bias_err": bias_error(p, t),
        "resolution": resolution(p, t),
        "resolution_err": resolution_error(p, t),
        "resolution_unbiased": spread(p, t),
        "resolution_unbiased_err": spread_error(p, t),
    }


def _check_inputs(task: Task, y_true: np.ndarray, score: np.ndarray, meta: Mapping[str, np.ndarray]) -> None:
    missing = [f for f in ANALYSIS_TRUTH if f not in meta]
    if missing:
        raise ConfigError(f"truth arrays missing: {', '.join(missing)} (need {', '.join(ANALYSIS_TRUTH)})")
    n = len(y_true)
    bad = {k: len(v) for k, v in [("score", score), *((f, meta[f]) for f in ANALYSIS_TRUTH)] if len(v) != n}
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
    groups = groups_by_truth(meta, n_bins)
    if task.kind == "regression":
        pred = task.squeeze_scores(score)
        block = _regression_metrics(task, y_true.astype(np.float64), pred, groups, n_bins)
    else:
        block = _classification_metrics(task, y_true.astype(np.int64), score, groups)
    metrics = task.metrics.dependence
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
    p = task.squeeze_scores(score)
    pred = task.predicted_class(p)
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
    counts = np.bincount(y, minlength=k)[:k]
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
        "class_counts": counts.tolist(),
        "accuracy": float(correct.mean()) if len(y) else None,
        "accuracy_err": float(binomial_error(int(correct.sum()), len(y))) if len(y) else None,
        # what the accuracy means: its cut, and what calling every event the commonest class would score
        "accuracy_rule": "score ≥ 0.5" if task.kind == "binary" else "most probable class",
        "majority_class_accuracy": float(counts.max() / len(y)) if len(y) else None,
        "balanced_accuracy": balanced_accuracy,
        **prf,
        "cohen_kappa": kappa,
        "roc_auc": roc_auc,
        "loss": float(loss.mean()) if len(y) else None,
        "confusion_matrix": cm.tolist(),
        "confusion_matrix_normalised": cm_norm.tolist(),
    }
    if task.kind == "binary":
        block["efficiency_purity"] = curve = efficiency_purity_curve(y, p)
        at_best = (p >= curve["best_cut"]).astype(np.int64) == y if np.isfinite(curve["best_cut"]) else None
        block["accuracy_at_best_cut"] = float(at_best.mean()) if at_best is not None and len(y) else None
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
    finite = np.isfinite(relative_residual(pred, true))
    error = np.asarray(pred, dtype=np.float64) - true
    unit = task.unit
    block: dict[str, Any] = {
        "n_events": len(true),
        "unit": unit,
        # the unit of each figure ("" for a dimensionless one): absolute ones in the task's unit
        "units": {"mae": unit, "mse": f"{unit}²" if unit else "", "bias_abs": unit, "bias": "",
                  "resolution": "", "resolution_unbiased": ""},
        "mse": float(np.mean(error**2)) if len(true) else None,
        "mse_err": mean_error(error**2),
        "mae": float(np.mean(np.abs(error))) if len(true) else None,
        "mae_err": mean_error(np.abs(error)),
        "bias_abs": float(np.mean(error)) if len(true) else None,
        "bias_abs_err": mean_error(error),
        "bias": bias(pred, true),
        "bias_err": bias_error(pred, true),
        "resolution": resolution(pred, true),
        "resolution_err": resolution_error(pred, true),
        "resolution_unbiased": spread(pred, true),
        "resolution_unbiased_err": spread_error(pred, true),
        "n_relative": int(finite.sum()),
    }
    block["by_true"] = [
        {**key, **_regression_group(pred, true, mask)} for key, mask in quantile_groups(true, n_bins)
    ]
    block["by"] = {
        var: [{**key, **_regression_group(pred, true, mask)} for key, mask in grp]
        for var, grp in groups.items()
    }
    return block


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

"""Shifts of a metric between the nominal and a varied sample, with paired errors: the headline metrics of
weighted events, computed for a whole stack of bootstrap weights at once, and the Poisson bootstrap that
gives the same interaction the same weight in both samples.

The bootstrap: every interaction (a candidate number of the generator) draws a weight w ~ Poisson(1) per
replica; an event counts w times in the nominal and w times in the varied sample when both hold that
interaction, so what the two samples share cancels in the shift and what they do not share (events that
pass the 15-hit cut in one sample only) adds its own spread. Unpaired samples draw their weights apart.
Row 0 of every weight stack is the sample itself (weights 1, or a variation's reweighting).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from nuclass.evaluation.metrics import relative_residual
from nuclass.labels import Task
from nuclass.stats import sigma_of, significant_difference

__all__ = [
    "DEFAULT_BOOTSTRAP",
    "HEADLINE",
    "METRIC_WORDS",
    "bootstrap_weights",
    "headline_metrics",
    "weighted_roc_auc",
    "shift",
    "nominal_value",
    "summarise_stacks",
]

DEFAULT_BOOTSTRAP = 200  # replicas: the error of an error is ≈ 1 / sqrt(2 × 200) = 5 % of it
# The headline metrics of each kind of task; binary efficiency and purity are at the cut that maximises
# efficiency × purity on the nominal sample, kept fixed for every variation.
HEADLINE = {
    "binary": ("efficiency", "purity", "roc_auc", "balanced_accuracy"),
    "multiclass": ("balanced_accuracy", "roc_auc", "accuracy"),
    "regression": ("resolution", "bias"),
}
METRIC_WORDS = {
    "efficiency": "efficiency at the efficiency × purity cut",
    "purity": "purity at the efficiency × purity cut",
    "roc_auc": "ROC AUC",
    "balanced_accuracy": "balanced accuracy",
    "accuracy": "accuracy",
    "resolution": "resolution",
    "bias": "bias",
}


def bootstrap_weights(
    keys_a: np.ndarray, keys_b: np.ndarray, n_boot: int, seed: int, *, paired: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Weight stacks (1 + n_boot, N_a) and (1 + n_boot, N_b) float64 of two samples whose events are
    interactions `keys_a`, `keys_b` (unique per sample): row 0 ones, the rest Poisson(1) per interaction,
    the same for a key both samples hold when `paired`, independent otherwise."""
    rng = np.random.default_rng(seed)
    keys_a, keys_b = np.asarray(keys_a), np.asarray(keys_b)
    if paired:
        union, inverse = np.unique(np.concatenate([keys_a, keys_b]), return_inverse=True)
        draws = rng.poisson(1.0, (n_boot, len(union))).astype(np.float64)
        w_a, w_b = draws[:, inverse[: len(keys_a)]], draws[:, inverse[len(keys_a) :]]
    else:
        w_a = rng.poisson(1.0, (n_boot, len(keys_a))).astype(np.float64)
        w_b = rng.poisson(1.0, (n_boot, len(keys_b))).astype(np.float64)
    return np.vstack([np.ones(len(keys_a)), w_a]), np.vstack([np.ones(len(keys_b)), w_b])


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def weighted_roc_auc(w: np.ndarray, is_signal: np.ndarray, score: np.ndarray) -> np.ndarray:
    """ROC AUC (1 + B,) of each row of weights w (1 + B, N): the weighted chance that a signal event scores
    above a background one, ties counting one half (as sklearn's roc_auc_score with sample_weight)."""
    order = np.argsort(score, kind="stable")
    s, sig = np.asarray(score)[order], np.asarray(is_signal, dtype=bool)[order]
    wo = w[:, order]
    w_bkg, w_sig = wo * ~sig, wo * sig
    new = np.r_[True, s[1:] != s[:-1]] if len(s) else np.zeros(0, bool)
    group = np.cumsum(new) - 1
    start = np.flatnonzero(new)
    end = np.r_[start[1:], len(s)] - 1
    cum = np.cumsum(w_bkg, axis=1)
    below = np.hstack([np.zeros((len(w), 1)), cum[:, start[1:] - 1]])  # background under each score
    tied = cum[:, end] - below
    credit = below[:, group] + 0.5 * tied[:, group]
    return _ratio((w_sig * credit).sum(axis=1), w_sig.sum(axis=1) * w_bkg.sum(axis=1))


def _balanced_accuracy(w: np.ndarray, y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    recalls = [_ratio(w @ ((y == k) & (pred == k)), w @ (y == k)) for k in range(n_classes) if np.any(y == k)]
    return np.mean(recalls, axis=0) if recalls else np.full(len(w), np.nan)


def headline_metrics(
    task: Task, target: np.ndarray, score: np.ndarray, w: np.ndarray, cut: float | None = None
) -> dict[str, np.ndarray]:
    """Each headline metric of the task (HEADLINE) for every row of weights w (1 + B, N): {name: (1 + B,)}.

    target: (N,) class or true value; score: as predictions hold it. `cut`: the binary score cut of
    efficiency and purity (selected: score ≥ cut)."""
    y = np.asarray(target).ravel()
    p = task.squeeze_scores(score)
    if task.kind == "regression":
        r = relative_residual(p, y)
        ok = np.isfinite(r)
        r, wr = r[ok], w[:, ok]
        total = wr.sum(axis=1)
        return {
            "resolution": np.sqrt(_ratio(wr @ r**2, total)),
            "bias": _ratio(wr @ r, total),
        }
    y = y.astype(np.int64)
    pred = task.predicted_class(p)
    out = {"balanced_accuracy": _balanced_accuracy(w, y, pred, len(task.class_names))}
    if task.kind == "binary":
        signal, selected = y == 1, p >= (0.5 if cut is None else cut)
        out["efficiency"] = _ratio(w @ (signal & selected), w @ signal)
        out["purity"] = _ratio(w @ (signal & selected), w @ selected)
        out["roc_auc"] = weighted_roc_auc(w, signal, p)
    else:
        aucs = [
            weighted_roc_auc(w, y == k, p[:, k]) for k in range(p.shape[1]) if 0 < np.sum(y == k) < len(y)
        ]
        out["roc_auc"] = np.mean(aucs, axis=0) if aucs else np.full(len(w), np.nan)
        out["accuracy"] = _ratio(w @ (pred == y), w.sum(axis=1))
    return {name: out[name] for name in HEADLINE[task.kind]}


def _spread(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.std(ddof=1)) if len(finite) > 1 else None


def shift(nominal: np.ndarray, varied: np.ndarray) -> dict[str, Any]:
    """A metric's shift between bootstrap stacks (1 + B,) of the nominal and the varied sample: the varied
    value, the shift, its error (the spread of the replicas' shifts), its size in σ and significance (the
    project's rule for a planned comparison, stats.significant_difference)."""
    value, delta = float(varied[0]), float(varied[0] - nominal[0])
    if not (math.isfinite(value) and math.isfinite(delta)):
        return {"value": None, "shift": None, "shift_err": None, "sigma": None, "significant": False}
    err = _spread(varied[1:] - nominal[1:])
    return {
        "value": value,
        "value_err": _spread(varied[1:]),
        "shift": delta,
        "shift_err": err,
        "sigma": sigma_of(delta, err) if err is not None else None,
        "significant": significant_difference(delta, err) if err is not None else False,
    }


def nominal_value(stack: np.ndarray) -> dict[str, Any]:
    """The nominal sample's value of a metric and its statistical error (the replicas' spread)."""
    value = float(stack[0])
    return {"value": value if math.isfinite(value) else None, "stat": _spread(stack[1:])}


def summarise_stacks(stacks: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """nominal_value of every metric of a {name: stack} mapping."""
    return {name: nominal_value(stack) for name, stack in stacks.items()}

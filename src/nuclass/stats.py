"""Statistics, each stated once: the errors of a fraction, a mean and a ROC AUC, exact intervals, the
paired error of two ROC AUCs on the same events (DeLong), the significance of a difference and of a χ²,
the rules that call them significant, and how a value is written with its error. Evaluation, studies,
plots, the report and the command line use these."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = [
    "ONE_SIGMA_CL",
    "MIN_GROUP_EVENTS",
    "DEPENDENCE_SIGMA",
    "DIFFERENCE_SIGMA",
    "binomial_error",
    "clopper_pearson",
    "mean_error",
    "roc_auc_error",
    "PairedAUC",
    "paired_roc_auc",
    "sigma_of",
    "chi2_significance",
    "significant_dependence",
    "significant_difference",
    "format_value",
    "format_value_errors",
]

ONE_SIGMA_CL = 0.682689492  # central probability within ±1σ of a Gaussian
MIN_GROUP_EVENTS = 30  # bins or categories with fewer events are listed but not compared
# The significance rules. A scan of every truth variable for a dependence of the performance looks in many
# places at once, so it asks for 3σ (the one-sided Gaussian equivalent of a χ² test's p-value); a planned
# comparison of one study variant with its baseline asks for |Δ| > 2σ of their combined error.
DEPENDENCE_SIGMA = 3.0
DIFFERENCE_SIGMA = 2.0


def binomial_error(k: np.ndarray | int, n: np.ndarray | int) -> np.ndarray:
    """Standard error sqrt(p (1 − p) / n) of a fraction p = k / n; for k = 0 or n, where it would be 0, that
    of Laplace's (k + 1) / (n + 2), so that a fraction of 0 or 1 still carries an uncertainty (NaN: n = 0)."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where((k > 0) & (k < n), k / n, (k + 1) / (n + 2))
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


def mean_error(values: np.ndarray) -> float:
    """Standard error of the mean of `values`, std (ddof 1) / sqrt(n); NaN for fewer than 2 values."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else math.nan


def roc_auc_error(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of a ROC AUC of `n_pos` signal and `n_neg` background events (Hanley & McNeil 1982)."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    return math.sqrt(max(var, 0.0))


class PairedAUC(NamedTuple):
    """Two ROC AUCs of the same events, each with its error, and their difference a − b with its paired
    error (DeLong et al. 1988)."""

    auc_a: float
    auc_b: float
    error_a: float
    error_b: float
    difference: float
    difference_error: float


def _midranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1…n of `values`, ties sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values))
    ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)
    return ranks


def paired_roc_auc(target: np.ndarray, score_a: np.ndarray, score_b: np.ndarray) -> PairedAUC:
    """ROC AUCs of two scores of the same events (target 1 = signal) and the error of their difference,
    which counts that both are measured on the same events: DeLong, DeLong & Clarke-Pearson, Biometrics 44
    (1988) 837, with the midrank algorithm of Sun & Xu, IEEE SPL 21 (2014) 1389.

    Each signal event's placement V10 is the fraction of background events it outscores (ties ½), each
    background event's V01 the fraction of signal events that outscore it; AUC = mean V10 = mean V01, and
    var(AUC_a − AUC_b) = var(V10_a − V10_b) / m + var(V01_a − V01_b) / n for m signal and n background
    events (sample variances). NaN errors with fewer than 2 events of a class.
    """
    target = np.asarray(target)
    positive = target == 1
    m, n = int(positive.sum()), int((~positive).sum())
    if m == 0 or n == 0:
        raise ValueError(f"a ROC AUC needs signal and background events, got {m} and {n}")
    v10, v01 = [], []
    for score in (score_a, score_b):
        score = np.asarray(score, dtype=np.float64)
        x, y = score[positive], score[~positive]
        ranks = _midranks(np.concatenate([x, y]))
        v10.append((ranks[:m] - _midranks(x)) / n)
        v01.append(1 - (ranks[m:] - _midranks(y)) / m)
    auc = [float(v.mean()) for v in v10]

    def variance(values: np.ndarray, count: int) -> float:
        return float(values.var(ddof=1)) / count if count > 1 else math.nan

    errors = [math.sqrt(variance(v10[k], m) + variance(v01[k], n)) for k in (0, 1)]
    diff_var = variance(v10[0] - v10[1], m) + variance(v01[0] - v01[1], n)
    return PairedAUC(auc[0], auc[1], errors[0], errors[1], auc[0] - auc[1], math.sqrt(max(diff_var, 0.0)))


def sigma_of(delta: float, err: float) -> float | None:
    """|delta| in units of its error `err` (None when the error is 0: no spread to judge by)."""
    return abs(delta) / err if err > 0 else None


def chi2_significance(chi2: float, ndf: int) -> tuple[float, float]:
    """p-value of χ² with `ndf` degrees of freedom, and its one-sided Gaussian equivalent in σ (≥ 0)."""
    from scipy.special import ndtri_exp
    from scipy.stats import chi2 as chi2_dist

    log_p = float(chi2_dist.logsf(chi2, ndf))
    return math.exp(log_p), max(0.0, float(-ndtri_exp(log_p)))


def significant_dependence(z: float) -> bool:
    """Whether a χ² scan's significance `z` (σ) shows a dependence: z ≥ DEPENDENCE_SIGMA."""
    return bool(z >= DEPENDENCE_SIGMA)


def significant_difference(delta: float, err: float) -> bool:
    """Whether a difference `delta` with error `err` is significant: |Δ| > DIFFERENCE_SIGMA × err."""
    return bool(err > 0 and abs(delta) > DIFFERENCE_SIGMA * err)


def _decimals(err: float) -> int:
    """Decimals that keep two significant figures of `err` (> 0)."""
    return max(0, 1 - int(math.floor(math.log10(err))))


def format_value(value: float, err: float | None) -> str:
    """'0.912 ± 0.011': the value rounded to the error's second significant figure."""
    if err is None or not np.isfinite(err) or err <= 0:
        return f"{value:.3g}"
    decimals = _decimals(err)
    return f"{value:.{decimals}f} ± {err:.{decimals}f}"


def format_value_errors(value: float, errors: dict[str, float | None]) -> str:
    """'0.912 ± 0.003 (stat) ± 0.015 (syst)' from {"stat": 0.0031, "syst": 0.0149}: the value and each named
    error rounded to the second significant figure of the smallest error (a missing error reads 'n/a')."""
    positive = [e for e in errors.values() if e is not None and np.isfinite(e) and e > 0]
    decimals = _decimals(min(positive)) if positive else 3
    parts = [f"{value:.{decimals}f}"]
    for name, err in errors.items():
        text = f"{err:.{decimals}f}" if err is not None and np.isfinite(err) else "n/a"
        parts.append(f"{text} ({name})")
    return " ± ".join(parts)

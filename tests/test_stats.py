"""nuclass.stats: the paired error of two ROC AUCs on the same events (DeLong), against a hand-worked
example, the O(m·n) definition, sklearn and a paired bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from nuclass.stats import paired_roc_auc


def test_delong_hand_worked_example() -> None:
    # signal (target 1) then background; model a: signal 0.9 0.7 0.4, background 0.6 0.3;
    # model b: signal 0.8 0.5 0.35, background 0.6 0.2
    target = np.array([1, 1, 1, 0, 0])
    a = np.array([0.9, 0.7, 0.4, 0.6, 0.3])
    b = np.array([0.8, 0.5, 0.35, 0.6, 0.2])
    result = paired_roc_auc(target, a, b)
    # placements V10 (background outscored): a 1, 1, 1/2 -> AUC 5/6; b 1, 1/2, 1/2 -> 2/3
    # V01 (signal above each background event): a 2/3, 1; b 1/3, 1
    assert result.auc_a == pytest.approx(5 / 6) and result.auc_b == pytest.approx(2 / 3)
    assert result.difference == pytest.approx(1 / 6)
    # var V10_a = 1/12, var V01_a = 1/18: var AUC_a = (1/12)/3 + (1/18)/2 = 1/18
    assert result.error_a == pytest.approx(math.sqrt(1 / 18))
    # var V10_b = 1/12, var V01_b = 2/9: var AUC_b = 1/36 + 1/9 = 5/36
    assert result.error_b == pytest.approx(math.sqrt(5 / 36))
    # cov V10 = 1/24, cov V01 = 1/9: var(a − b) = (1/12 + 1/12 − 1/12)/3 + (1/18 + 2/9 − 2/9)/2 = 1/18
    assert result.difference_error == pytest.approx(math.sqrt(1 / 18))


def _placements(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The definition: ψ(x, y) = 1 if x > y, ½ if equal, 0 otherwise; V10 and V01 by brute force."""
    psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
    return psi.mean(axis=1), psi.mean(axis=0)


def test_midrank_algorithm_agrees_with_the_definition_and_sklearn() -> None:
    rng = np.random.default_rng(3)
    target = rng.integers(0, 2, 300)
    a = np.round(rng.normal(target * 0.8, 1.0), 1)  # rounded: many ties
    b = np.round(0.5 * a + rng.normal(target * 0.5, 1.0), 1)
    result = paired_roc_auc(target, a, b)
    pos = target == 1
    (va10, va01), (vb10, vb01) = (_placements(s[pos], s[~pos]) for s in (a, b))
    m, n = pos.sum(), (~pos).sum()
    expected = (np.var(va10 - vb10, ddof=1) / m + np.var(va01 - vb01, ddof=1) / n) ** 0.5
    assert result.auc_a == pytest.approx(roc_auc_score(target, a))
    assert result.auc_b == pytest.approx(roc_auc_score(target, b))
    assert result.difference_error == pytest.approx(expected)


def test_delong_error_matches_a_paired_bootstrap() -> None:
    rng = np.random.default_rng(7)
    target = rng.integers(0, 2, 2000)
    shared = rng.normal(size=2000)  # what both models see: their errors are correlated
    a = target * 1.0 + shared + 0.5 * rng.normal(size=2000)
    b = target * 0.9 + shared + 0.5 * rng.normal(size=2000)
    result = paired_roc_auc(target, a, b)
    deltas = []
    for _ in range(300):
        k = rng.integers(0, 2000, 2000)
        deltas.append(roc_auc_score(target[k], a[k]) - roc_auc_score(target[k], b[k]))
    assert result.difference_error == pytest.approx(np.std(deltas), rel=0.15)
    assert result.difference_error < 0.6 * math.hypot(result.error_a, result.error_b)  # pairing helps


def test_a_roc_auc_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="signal and background"):
        paired_roc_auc(np.ones(4), np.arange(4), np.arange(4))

"""How a study compares its variants: headline metrics with statistical errors, their mean over repeats,
differences against a baseline judged by one rule, and the seed questions answered in sentences."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nuclass.evaluation.metrics import per_event_loss
from nuclass.labels import METRIC_WORDS, Task
from nuclass.run_dir import RunDir, StudyDir
from nuclass.stats import (
    DIFFERENCE_SIGMA,
    binomial_error,
    format_value,
    mean_error,
    roc_auc_error,
    sigma_of,
    significant_difference,
)
from nuclass.study.spec import METRICS, Question, Variant, resolve_reference

__all__ = [
    "SIGNIFICANCE_RULE",
    "headline_metrics",
    "combine_repeats",
    "compare",
    "format_result",
    "answer",
    "binned_answers",
]

SIGNIFICANCE_RULE = (
    f"a difference is significant when |Δ| > {DIFFERENCE_SIGMA:g} × sqrt(err_a² + err_b²); each err = "
    "sqrt((sd² + stat²) / K) over K repeats (sd: spread across repeats, stat: the test set's statistical "
    "error averaged over repeats); with K = 1 the spread is unknown and err = stat"
)


def headline_metrics(task: Task, y_true: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """Headline metrics of one test set with their statistical errors: accuracy (binomial), balanced
    accuracy (binomial per class), ROC AUC (Hanley–McNeil; one-vs-rest macro for multi-class) and mean
    cross-entropy loss (std / √n); see stats.binomial_error for fractions of 0 or 1. y_true: (N,) classes;
    score as in predictions/*.npz."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y_true).astype(np.int64).ravel()
    n = len(y)
    out: dict[str, Any] = {"n_events": n}
    if n == 0:
        return out | {k: None for m in METRICS for k in (m, f"{m}_err")}
    p = task.squeeze_scores(score)
    correct = task.predicted_class(p) == y
    loss = per_event_loss(task, y, p)
    recalls, variances = [], []
    for c in range(len(task.class_names)):
        n_c = int((y == c).sum())
        if n_c:
            k_c = int(correct[y == c].sum())
            recalls.append(k_c / n_c)
            variances.append(float(binomial_error(k_c, n_c)) ** 2)
    columns = [(y == 1, p)] if task.kind == "binary" else [(y == c, p[:, c]) for c in range(p.shape[1])]
    aucs, auc_vars = [], []
    for is_class, s in columns:
        n_pos = int(is_class.sum())
        if 0 < n_pos < n:
            auc = float(roc_auc_score(is_class, s))
            aucs.append(auc)
            auc_vars.append(roc_auc_error(auc, n_pos, n - n_pos) ** 2)
    k = int(correct.sum())
    out.update(
        accuracy=k / n,
        accuracy_err=float(binomial_error(k, n)),
        balanced_accuracy=float(np.mean(recalls)),
        balanced_accuracy_err=math.sqrt(sum(variances)) / len(recalls),
        roc_auc=float(np.mean(aucs)) if aucs else None,
        roc_auc_err=math.sqrt(sum(auc_vars)) / len(aucs) if aucs else None,
        loss=float(loss.mean()),
        loss_err=mean_error(loss) if n > 1 else None,
    )
    return out


def combine_repeats(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean over repeats of each metric with `_sd` (spread, None for one repeat), `_stat` (mean statistical
    error), `_err` = sqrt((sd² + stat²) / K) (stat alone for K = 1) and `_values` (one per repeat)."""
    out: dict[str, Any] = {
        "n_events": int(round(float(np.mean([r["n_events"] for r in results])))) if results else 0,
        "repeats": len(results),
    }
    for m in METRICS:
        values = np.array([r[m] for r in results if r.get(m) is not None], dtype=np.float64)
        errors = [r[f"{m}_err"] for r in results if r.get(f"{m}_err") is not None]
        if len(values) == 0:
            out.update({m: None, f"{m}_sd": None, f"{m}_stat": None, f"{m}_err": None, f"{m}_values": []})
            continue
        stat = float(np.mean(errors)) if errors else 0.0
        sd = float(values.std(ddof=1)) if len(values) > 1 else None
        err = math.sqrt((sd**2 + stat**2) / len(values)) if sd is not None else stat
        out.update(
            {
                m: float(values.mean()),
                f"{m}_sd": sd,
                f"{m}_stat": stat,
                f"{m}_err": err,
                f"{m}_values": values.tolist(),
            }
        )
    return out


def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """a − b for every metric with its error, σ and significance (SIGNIFICANCE_RULE); `significant` is
    the accuracy's verdict."""
    out: dict[str, Any] = {}
    for m in METRICS:
        if a.get(m) is None or b.get(m) is None:
            out.update({m: None, f"{m}_err": None, f"{m}_sigma": None, f"{m}_significant": None})
            continue
        delta = a[m] - b[m]
        err = math.hypot(a.get(f"{m}_err") or 0.0, b.get(f"{m}_err") or 0.0)
        sigma = sigma_of(delta, err)
        significant = significant_difference(delta, err)
        out.update({m: delta, f"{m}_err": err, f"{m}_sigma": sigma, f"{m}_significant": significant})
    out["significant"] = out["accuracy_significant"]
    return out


def format_result(value: float | None, err: float | None) -> str:
    """A study figure with its error as text ('–' if undefined)."""
    return "–" if value is None else format_value(value, err)


_TEST_WORDS = {
    "own_test": "on its own selected (balanced) test set",
    "own_test_natural": "on its own selected natural test set",
    "common_test": "on the common natural test set",
}


def answer(
    question: Question, by_name: Mapping[str, dict[str, Any]], plan: Sequence[Variant]
) -> dict[str, Any]:
    """One seed question answered with numbers: a sentence and the comparison behind it."""
    names = [v.name for v in plan]
    name = resolve_reference(question.variant, names)
    variant = by_name[name]
    against = resolve_reference(question.against, names) if question.against else variant["baseline"]
    entry: dict[str, Any] = {
        "question": question.ask,
        "variant": name,
        "against": against,
        "metric": question.metric,
        "test": question.test,
    }
    if against is None or against not in by_name or against == name:
        return entry | {"sentence": f"{question.ask} No reference variant to compare {name} with."}
    m, a, b = question.metric, variant[question.test], by_name[against][question.test]
    delta = compare(a, b)
    sigma, significant = delta[f"{m}_sigma"], delta[f"{m}_significant"]
    if a.get(m) is None or b.get(m) is None:
        return entry | {"sentence": f"{question.ask} Not answered: {m} is undefined on one of the test sets."}
    conclusion = (question.higher if a[m] > b[m] else question.lower) if significant else question.same
    sigma_text = (
        "no spread" if sigma is None else f"{sigma:.1f}σ" + ("" if significant else ", not significant")
    )
    label = by_name[against]["label"]
    sentence = (
        f"{question.subject} gives {METRIC_WORDS[m]} {format_result(a[m], a[f'{m}_err'])} vs "
        f"{format_result(b[m], b[f'{m}_err'])} for {against}{f' ({label})' if label else ''} "
        f"{_TEST_WORDS[question.test]}: {conclusion} ({sigma_text})."
    )
    if question.test != "common_test":
        ca, cb = variant["common_test"], by_name[against]["common_test"]
        common_a, common_b = format_result(ca[m], ca[f"{m}_err"]), format_result(cb[m], cb[f"{m}_err"])
        sentence += f" On the common natural test set: {common_a} vs {common_b}."
    return entry | {
        "value": a[m],
        "value_err": a[f"{m}_err"],
        "reference": b[m],
        "reference_err": b[f"{m}_err"],
        "difference": delta[m],
        "difference_err": delta[f"{m}_err"],
        "sigma": sigma,
        "significant": significant,
        "sentence": sentence,
    }


def binned_answers(variants: Sequence[Mapping[str, Any]], out: StudyDir) -> list[dict[str, Any]]:
    """The same questions answered the other way: the reference models' binned evaluation (first repeat's
    metrics.json, natural test set): QE vs DIS, low vs high Eν and lepton energy."""
    answers = []
    for v in variants:
        if v["baseline"] is not None or not v["runs"]:
            continue
        run = RunDir(out.path / v["runs"][0])
        if not run.file(RunDir.METRICS).is_file():
            continue
        natural = run.read_metrics()["test_sets"]["natural"]
        for q in natural.get("questions", []):
            answers.append(
                {
                    "variant": v["name"],
                    "question": q["question"],
                    "sentence": q["sentence"],
                    "difference_sigma": q.get("difference_sigma"),
                }
            )
    return answers

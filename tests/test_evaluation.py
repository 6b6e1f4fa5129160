"""Evaluation: physics metrics against hand-worked numbers, metrics blocks per task kind, truth dependence,
and a whole run directory (metrics.json, plots, predictions on new files)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from nuclass.errors import FormatError
from nuclass.evaluation import evaluate_run
from nuclass.evaluation.metrics import (
    bias,
    bias_error,
    efficiency_purity_curve,
    metrics_for,
    per_event_loss,
    resolution,
    resolution_error,
    spread,
    spread_error,
)
from nuclass.evaluation.truth import dependence_summary, quantile_edges
from nuclass.io import iter_batches, read_truth
from nuclass.labels import FinalState, Interaction, get_task
from nuclass.plots.training import read_training_log
from nuclass.predict import predict_to_h5
from nuclass.run_dir import load_predictions
from nuclass.stats import binomial_error, clopper_pearson

# ----------------------------------------------------------------------------------------------------------
# Synthetic test sets (also used by test_report.py)

_CODES = np.array([0, 1, 2, 3, 4, 5, 6, 7, 13, 15])
_CODE_P = np.array([0.12, 0.19, 0.50, 0.03, 0.03, 0.03, 0.03, 0.01, 0.05, 0.01])


def synthetic_truth(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Truth arrays shaped like a NOvA test set: interaction, finalstate, energies (GeV), evt, file_index."""
    interaction = rng.choice(_CODES, size=n, p=_CODE_P)
    nuenergy = rng.lognormal(1.0, 0.7, n)
    lepenergy = nuenergy * rng.uniform(0.1, 0.9, n)
    nuenergy[interaction == 15] = 0
    lepenergy[interaction == 15] = 0
    finalstate = np.select(
        [interaction < 4, interaction < 8, interaction == 13], [rng.choice([4, 5, 8], n), 17, 33], default=49
    )
    return {
        "interaction": interaction,
        "finalstate": finalstate,
        "nuenergy": nuenergy.astype(np.float32),
        "lepenergy": lepenergy.astype(np.float32),
        "evt": np.arange(n, dtype=np.uint32),
        "file_index": rng.integers(0, 3, n),
    }


def synthetic_set(task_name: str, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A predictions file's arrays for `task_name`: a decent classifier (or a 10 %-resolution regressor)."""
    rng = np.random.default_rng(seed)
    task = get_task(task_name)
    truth = synthetic_truth(n, rng)
    mask, target = task.labels(truth)
    truth = {k: v[mask] for k, v in truth.items()}
    m = len(target)
    if task.kind == "binary":
        logit = (2 * target - 1) * 2.5 + rng.normal(0, 1.5, m)
        score = (1 / (1 + np.exp(-logit)))[:, None]
    elif task.kind == "multiclass":
        logits = rng.normal(0, 1.0, (m, len(task.class_names)))
        logits[np.arange(m), target] += 2.0
        score = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    else:
        score = target * (1 + rng.normal(0.0, 0.1, m))
    return {"score": score.astype(np.float32), "target": target, **truth}


def balanced_subset(arrays: dict[str, np.ndarray], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = arrays["target"]
    classes, counts = np.unique(t, return_counts=True)
    keep = np.sort(
        np.concatenate([rng.choice(np.flatnonzero(t == c), counts.min(), replace=False) for c in classes])
    )
    return {k: v[keep] for k, v in arrays.items()}


def write_fake_run(run_dir: Path, task_name: str, model: str = "cvn", n: int = 400, seed: int = 0) -> Path:
    """A run directory as training leaves it: config.yaml, predictions/{natural,balanced}.npz, metrics.csv."""
    (run_dir / "predictions").mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump({"task": task_name, "model": model, "max_epochs": 4}))
    natural = synthetic_set(task_name, n, seed)
    balanced = natural if task_name in ("energy", "y") else balanced_subset(natural, seed)
    np.savez(run_dir / "predictions" / "natural.npz", **natural)
    np.savez(run_dir / "predictions" / "balanced.npz", **balanced)
    lines = ["epoch,step,train_loss_step,train_loss_epoch,val_loss,val_acc"]
    for epoch in range(4):
        lines.append(f"{epoch},{10 * epoch + 4},{0.9 - 0.1 * epoch:.2f},,,")
        train, val, acc = 0.8 - 0.1 * epoch, 0.85 - 0.08 * epoch, 0.6 + 0.05 * epoch
        lines.append(f"{epoch},{10 * epoch + 9},,{train:.2f},{val:.2f},{acc:.2f}")
    (run_dir / "metrics.csv").write_text("\n".join(lines) + "\n")
    return run_dir


def write_fake_multitask_run(run_dir: Path, tasks: list[str], n: int = 400, seed: int = 0) -> Path:
    """A multi-task run directory: config.yaml naming the tasks, predictions/TASK/{natural,balanced}.npz, and
    for comparison a one-task run with the same predictions beside it in RUN_DIR.single/TASK."""
    write_fake_run(run_dir, tasks[0], n=n, seed=seed)
    for name in ("natural", "balanced"):
        (run_dir / "predictions" / f"{name}.npz").unlink()
    (run_dir / "config.yaml").write_text(yaml.safe_dump({"task": ",".join(tasks), "model": "cvn"}))
    for k, task in enumerate(tasks):
        single = write_fake_run(run_dir.with_suffix(".single") / task, task, n=n, seed=seed + k)
        (run_dir / "predictions" / task).mkdir()
        for name in ("natural", "balanced"):
            target = run_dir / "predictions" / task / f"{name}.npz"
            shutil.copyfile(single / "predictions" / f"{name}.npz", target)
    return run_dir


# ----------------------------------------------------------------------------------------------------------
# Physics metrics against numbers worked out by hand


def test_efficiency_purity_tiny_example():
    # signal scores 0.9, 0.8, 0.3; background 0.6, 0.1
    y = np.array([1, 1, 1, 0, 0])
    s = np.array([0.9, 0.8, 0.3, 0.6, 0.1])
    ep = efficiency_purity_curve(y, s, cuts=[0.0, 0.5, 0.7, 1.0])
    # cut 0: all 5 selected, 3 signal; cut 0.5: {0.9, 0.8, 0.6}; cut 0.7: {0.9, 0.8}; cut 1: none
    assert ep["efficiency"] == pytest.approx([1.0, 2 / 3, 2 / 3, 0.0])
    assert ep["purity"][:3] == pytest.approx([3 / 5, 2 / 3, 1.0])
    assert math.isnan(ep["purity"][3])
    # efficiency × purity = 0.6, 0.444, 0.667, nan → best at 0.7
    assert ep["best_cut"] == pytest.approx(0.7)
    assert ep["best_efficiency"] == pytest.approx(2 / 3)
    assert ep["best_purity"] == pytest.approx(1.0)


def test_efficiency_purity_default_cuts_and_inclusive_threshold():
    ep = efficiency_purity_curve(np.array([1, 0]), np.array([0.5, 0.49]))
    assert len(ep["cut"]) == 101 and ep["cut"][50] == pytest.approx(0.5)
    assert ep["efficiency"][50] == 1.0  # score 0.5 passes "score >= 0.5"
    assert ep["purity"][50] == 1.0 and ep["purity"][49] == pytest.approx(0.5)


def test_binomial_error_and_clopper_pearson():
    assert binomial_error(8, 10) == pytest.approx(math.sqrt(0.8 * 0.2 / 10))  # 0.12649
    assert binomial_error(8, 10) == pytest.approx(0.126491, abs=1e-6)
    assert np.isnan(binomial_error(0, 0))
    # k = 0: upper limit 1 − (α/2)^(1/n); at 95 % CL and n = 10 the textbook value 0.3085
    lo, hi = clopper_pearson(0, 10, cl=0.95)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 10)) and hi == pytest.approx(0.3085, abs=1e-4)
    lo, hi = clopper_pearson(10, 10, cl=0.95)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** (1 / 10))
    # 5/10 at 95 %: the classic (0.1871, 0.8129)
    lo, hi = clopper_pearson(5, 10, cl=0.95)
    assert (lo, hi) == (pytest.approx(0.18709, abs=1e-4), pytest.approx(0.81291, abs=1e-4))
    # the default 68.27 % (1σ) interval is exact, so a bit wider than the binomial ±1σ (0.0253 for 800/1000)
    lo, hi = clopper_pearson(800, 1000)
    assert 2 * binomial_error(800, 1000) < hi - lo < 1.05 * 2 * binomial_error(800, 1000)


def test_resolution_bias_and_errors():
    pred = np.array([1.1, 0.9, 2.4, 1.6])
    true = np.array([1.0, 1.0, 2.0, 2.0])  # (pred − true)/true = 0.1, −0.1, 0.2, −0.2
    assert bias(pred, true) == pytest.approx(0.0, abs=1e-12)
    assert resolution(pred, true) == pytest.approx(math.sqrt((0.01 + 0.01 + 0.04 + 0.04) / 4))  # 0.1581
    assert bias_error(pred, true) == pytest.approx(math.sqrt(0.1 / 3) / 2)  # std(ddof=1)/sqrt(4) = 0.0913
    # r² = 0.01, 0.01, 0.04, 0.04: std (ddof=1) = 0.017321; error = 0.017321 / (2 × 0.15811 × 2)
    assert resolution_error(pred, true) == pytest.approx(0.0173205 / (2 * 0.158114 * 2), rel=1e-4)
    # a pure 20 % overestimate: bias and resolution (an RMS, so it includes the bias) are both 0.2
    assert bias([1.2, 2.4], [1.0, 2.0]) == pytest.approx(0.2)
    assert resolution([1.2, 2.4], [1.0, 2.0]) == pytest.approx(0.2)
    # events with true = 0 have no relative error and are left out
    assert bias([1.2, 5.0], [1.0, 0.0]) == pytest.approx(0.2)
    # the spread removes the bias: a pure 20 % overestimate has none; resolution² = spread² + bias²
    assert spread([1.2, 2.4], [1.0, 2.0]) == pytest.approx(0.0, abs=1e-12)
    shifted = pred * 1.3  # r = 0.43, 0.17, 0.56, 0.04: mean 0.3, deviations ±0.13, ±0.26
    assert spread(shifted, true) == pytest.approx(math.sqrt((2 * 0.13**2 + 2 * 0.26**2) / 4))
    s, b = spread(shifted, true), bias(shifted, true)
    assert resolution(shifted, true) ** 2 == pytest.approx(s**2 + b**2)
    # (r − r̄)² = 0.0169, 0.0169, 0.0676, 0.0676: std (ddof=1) 0.029271; S = 0.20555; error = that / (2 S 2)
    assert spread_error(shifted, true) == pytest.approx(0.0292713 / (2 * 0.205548 * 2), rel=1e-4)
    assert spread_error(pred, true) == pytest.approx(resolution_error(pred, true))  # no bias: the same


def test_per_event_cross_entropy():
    binary = get_task("numu-cc")
    loss = per_event_loss(binary, np.array([1, 0]), np.array([[0.8], [0.8]]))
    assert loss == pytest.approx([-math.log(0.8), -math.log(0.2)])  # 0.2231, 1.6094
    mode = get_task("mode")
    p = np.full((1, 5), 0.1)
    p[0, 2] = 0.6
    assert per_event_loss(mode, np.array([2]), p) == pytest.approx([-math.log(0.6)])


def test_quantile_edges_merge_repeated_values():
    values = np.concatenate([np.zeros(50), np.linspace(1, 10, 50)])
    edges = quantile_edges(values, 10)
    assert edges[0] == 0 and edges[-1] == 10
    assert len(edges) == len(np.unique(edges)) and len(edges) <= 11


# ----------------------------------------------------------------------------------------------------------
# metrics_for: stable keys and sensible values

STABLE = {
    "n_events",
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "cohen_kappa",
    "roc_auc",
    "confusion_matrix",
    "confusion_matrix_normalised",
    "by",
    "dependence",
}
EXTRA_CLASSIFICATION = {"class_names", "class_counts", "loss", "questions", "accuracy_err", "accuracy_rule",
                        "majority_class_accuracy"}
BY_KEYS = {"nuenergy", "lepenergy", "interaction", "finalstate", "mode"}
CLASS_GROUP_KEYS = {"n", "accuracy", "accuracy_err", "accuracy_lo", "accuracy_hi", "loss", "loss_err"}
REGRESSION_KEYS = {
    "n_events",
    "unit",
    "units",
    "mse",
    "mse_err",
    "mae",
    "mae_err",
    "bias_abs",
    "bias_abs_err",
    "bias",
    "bias_err",
    "resolution",
    "resolution_err",
    "resolution_unbiased",
    "resolution_unbiased_err",
    "n_relative",
    "by_true",
    "by",
    "dependence",
    "questions",
}
REG_GROUP_KEYS = {"n", "bias", "bias_err", "resolution", "resolution_err", "resolution_unbiased",
                  "resolution_unbiased_err"}


def _check_groups(by: dict, group_keys: set[str]) -> None:
    assert set(by) == BY_KEYS
    for variable in ("nuenergy", "lepenergy"):
        assert by[variable], variable
        for g in by[variable]:
            assert set(g) == group_keys | {"lo", "hi"} and g["lo"] <= g["hi"]
    assert [g["category"] for g in by["interaction"]] == [c.name for c in Interaction]
    assert [g["category"] for g in by["finalstate"]] == [c.name for c in FinalState]
    for variable in ("interaction", "finalstate", "mode"):
        for g in by[variable]:
            assert set(g) == group_keys | {"category"}


def test_binary_block_has_the_stable_keys():
    arrays = synthetic_set("numu-cc", 1500, seed=1)
    block = metrics_for("numu-cc", arrays["target"], arrays["score"], arrays)
    assert set(block) == STABLE | EXTRA_CLASSIFICATION | {"efficiency_purity", "accuracy_at_best_cut"}
    assert block["accuracy_rule"] == "score ≥ 0.5"
    y, p = arrays["target"], arrays["score"][:, 0]
    cut = block["efficiency_purity"]["best_cut"]
    assert block["accuracy_at_best_cut"] == pytest.approx(np.mean((p >= cut) == y))
    assert block["majority_class_accuracy"] == pytest.approx(max(np.mean(y), 1 - np.mean(y)))
    assert set(block["efficiency_purity"]) == {
        "cut",
        "efficiency",
        "purity",
        "best_cut",
        "best_efficiency",
        "best_purity",
    }
    assert len(block["efficiency_purity"]["cut"]) == 101
    _check_groups(block["by"], CLASS_GROUP_KEYS)
    assert block["n_events"] == 1500 and np.sum(block["confusion_matrix"]) == 1500
    # the energy bins hold every event, in about equal numbers
    assert sum(g["n"] for g in block["by"]["nuenergy"]) == 1500
    assert sum(g["n"] for g in block["by"]["interaction"]) == 1500
    json.dumps(block, allow_nan=False)  # plain JSON, NaN turned into null


def test_multiclass_block_has_the_stable_keys():
    arrays = synthetic_set("mode", 1500, seed=2)
    block = metrics_for("mode", arrays["target"], arrays["score"], arrays)
    assert set(block) == STABLE | EXTRA_CLASSIFICATION | {"roc_auc_per_class", "per_class"}
    assert np.shape(block["confusion_matrix"]) == (5, 5)
    assert np.nansum(np.array(block["confusion_matrix_normalised"], dtype=float), axis=1) == pytest.approx(
        1.0
    )
    _check_groups(block["by"], CLASS_GROUP_KEYS)
    # the mode task leaves out cosmic and other (codes 14, 15): reported absent, with null metrics
    other = {g["category"]: g for g in block["by"]["interaction"]}["kOther"]
    assert other == {"category": "kOther", "n": 0, **dict.fromkeys(CLASS_GROUP_KEYS - {"n"})}
    auc = [a for a in block["roc_auc_per_class"].values()]
    assert block["roc_auc"] == pytest.approx(np.mean(auc))
    json.dumps(block, allow_nan=False)


def test_regression_block_has_the_stable_keys():
    arrays = synthetic_set("energy", 1500, seed=3)
    block = metrics_for("energy", arrays["target"], arrays["score"], arrays)
    assert set(block) == REGRESSION_KEYS
    _check_groups(block["by"], REG_GROUP_KEYS)
    for g in block["by_true"]:
        assert set(g) == REG_GROUP_KEYS | {"lo", "hi"}
    # pred = true (1 + N(0, 0.1)): bias ≈ 0, resolution ≈ 0.1, with errors ≈ 0.1/sqrt(n)
    assert block["bias"] == pytest.approx(0.0, abs=4 * 0.1 / math.sqrt(1500))
    assert block["resolution"] == pytest.approx(0.1, rel=0.08)
    assert block["bias_err"] == pytest.approx(0.1 / math.sqrt(block["n_relative"]), rel=0.1)
    assert block["unit"] == "GeV" and block["units"]["mae"] == "GeV" and block["units"]["mse"] == "GeV²"
    error = arrays["score"] - arrays["target"]
    assert block["mae"] == pytest.approx(np.mean(np.abs(error)))
    assert block["mae_err"] == pytest.approx(np.std(np.abs(error), ddof=1) / math.sqrt(len(error)), rel=1e-4)
    assert block["bias_abs"] == pytest.approx(np.mean(error)) and block["units"]["bias"] == ""
    assert block["resolution_unbiased"] <= block["resolution"]
    json.dumps(block, allow_nan=False)


def test_regression_known_bias_in_every_bin():
    arrays = synthetic_set("energy", 600, seed=4)
    block = metrics_for("energy", arrays["target"], 1.1 * arrays["target"], arrays)
    assert block["bias"] == pytest.approx(0.1) and block["resolution"] == pytest.approx(0.1)
    assert block["mae"] == pytest.approx(0.1 * np.mean(arrays["target"]), rel=1e-5)
    for g in block["by_true"] + block["by"]["nuenergy"]:
        assert g["bias"] == pytest.approx(0.1) and g["resolution"] == pytest.approx(0.1)


def test_perfect_classifier():
    arrays = synthetic_set("numu-cc", 800, seed=5)
    block = metrics_for("numu-cc", arrays["target"], arrays["target"].astype(float), arrays)
    for key in ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "cohen_kappa", "roc_auc"):
        assert block[key] == pytest.approx(1.0), key
    ep = block["efficiency_purity"]
    assert ep["best_efficiency"] == 1.0 and ep["best_purity"] == 1.0
    assert all(g["accuracy"] == 1.0 for g in block["by"]["interaction"] if g["n"])
    multi = synthetic_set("flavour", 800, seed=5)
    onehot = np.eye(3)[multi["target"]]
    block = metrics_for("flavour", multi["target"], onehot, multi)
    assert block["accuracy"] == 1.0 and block["roc_auc"] == 1.0
    assert [c["efficiency"] for c in block["per_class"]] == [1.0, 1.0, 1.0]


def test_random_classifier():
    rng = np.random.default_rng(6)
    arrays = synthetic_set("numu-cc", 4000, seed=6)
    arrays = balanced_subset(arrays)
    block = metrics_for("numu-cc", arrays["target"], rng.uniform(size=len(arrays["target"])), arrays)
    assert block["accuracy"] == pytest.approx(0.5, abs=0.05)
    assert block["roc_auc"] == pytest.approx(0.5, abs=0.05)
    assert block["cohen_kappa"] == pytest.approx(0.0, abs=0.1)
    p = rng.dirichlet(np.ones(5), size=2000)
    mode = synthetic_set("mode", 2000, seed=7)
    block = metrics_for("mode", mode["target"], p[: len(mode["target"])], mode)
    assert block["roc_auc"] == pytest.approx(0.5, abs=0.06)
    assert block["accuracy"] == pytest.approx(0.2, abs=0.05)


def test_absent_categories_and_single_class_sets_do_not_crash():
    n = 200
    rng = np.random.default_rng(8)
    meta = {
        "interaction": np.zeros(n, int),  # only kNumuQE: a single class for numu-cc
        "finalstate": np.full(n, 4),
        "nuenergy": rng.uniform(1, 5, n),
        "lepenergy": rng.uniform(0.5, 1, n),
    }
    target = np.ones(n, int)
    block = metrics_for("numu-cc", target, rng.uniform(0.3, 1.0, n), meta)
    assert block["roc_auc"] is None
    assert block["accuracy"] == pytest.approx(np.mean(rng.uniform(0.3, 1.0, n) >= 0.5), abs=0.15)
    groups = {g["category"]: g for g in block["by"]["interaction"]}
    assert groups["kNumuQE"]["n"] == n and groups["kNC"] == {
        "category": "kNC",
        "n": 0,
        **dict.fromkeys(CLASS_GROUP_KEYS - {"n"}),
    }
    multi = metrics_for("mode", np.zeros(n, int), np.tile([0.6, 0.1, 0.1, 0.1, 0.1], (n, 1)), meta)
    assert multi["roc_auc"] is None and multi["accuracy"] == 1.0
    assert multi["per_class"][1]["n"] == 0 and multi["per_class"][1]["efficiency"] is None
    json.dumps(multi, allow_nan=False)


# ----------------------------------------------------------------------------------------------------------
# Which truth variables performance depends on


def _planted_qe_dis(seed: int = 9) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """2,000 νμ CC QE events classified right 95 % of the time, 2,000 DIS ones 70 %; energies independent."""
    rng = np.random.default_rng(seed)
    n = 2000
    interaction = np.repeat([0, 2], n)
    correct = np.concatenate([rng.permutation(np.arange(n) < 1900), rng.permutation(np.arange(n) < 1400)])
    score = np.where(correct, 0.9, 0.1)  # all are νμ CC (target 1): right when score ≥ 0.5
    nuenergy = rng.lognormal(1, 0.6, 2 * n)
    meta = {
        "interaction": interaction,
        "finalstate": np.where(interaction == 0, 4, 9),
        "nuenergy": nuenergy,
        "lepenergy": nuenergy * rng.uniform(0.1, 0.9, 2 * n),
    }
    return np.ones(2 * n, int), score, meta


def test_dependence_flags_a_planted_qe_dis_difference():
    target, score, meta = _planted_qe_dis()
    block = metrics_for("numu-cc", target, score, meta)
    by_name = {d["variable"]: d for d in block["dependence"]}
    qe_dis = by_name["interaction"]
    assert qe_dis["significant"] and qe_dis["significance"] > 10
    assert qe_dis["high"]["label"] == "kNumuQE" and qe_dis["high"]["value"] == pytest.approx(0.95)
    assert qe_dis["low"]["label"] == "kNumuDIS" and qe_dis["low"]["value"] == pytest.approx(0.70)
    # (0.95 − 0.70) / sqrt(0.95·0.05/2000 + 0.7·0.3/2000) = 22σ (Clopper–Pearson sides: within 5 %)
    assert qe_dis["difference"] == pytest.approx(0.25)
    assert qe_dis["difference_sigma"] == pytest.approx(
        0.25 / math.sqrt(0.95 * 0.05 / 2000 + 0.21 / 2000), rel=0.05
    )
    assert "kNumuQE" in qe_dis["sentence"] and "kNumuDIS" in qe_dis["sentence"] and "σ" in qe_dis["sentence"]
    assert block["dependence"][0]["variable"] in ("interaction", "mode", "finalstate")  # ranked first
    # energies were drawn independently of correctness: not flagged
    assert not by_name["nuenergy"]["significant"] and not by_name["lepenergy"]["significant"]
    question = block["questions"][0]
    assert question["question"] == "QE vs DIS" and question["difference"] == pytest.approx(0.25)
    assert question["difference_sigma"] > 15


def test_dependence_does_not_flag_noise():
    rng = np.random.default_rng(10)
    truth = synthetic_truth(6000, rng)
    target = np.isin(truth["interaction"], (0, 1, 2, 3)).astype(int)
    correct = rng.uniform(size=6000) < 0.85  # the same accuracy for every kind of event
    score = np.where(correct == (target == 1), 0.8, 0.2)
    block = metrics_for("numu-cc", target, score, truth)
    assert block["accuracy"] == pytest.approx(0.85, abs=0.015)
    for entry in block["dependence"]:
        assert not entry["significant"], entry["sentence"]
        assert entry["p_value"] > 0.00135


def test_dependence_of_resolution_on_energy():
    rng = np.random.default_rng(11)
    truth = synthetic_truth(3000, rng)
    mask = truth["nuenergy"] > 0
    truth = {k: v[mask] for k, v in truth.items()}
    true = truth["nuenergy"].astype(float)
    width = np.where(true < 2.5, 0.3, 0.1)  # worse resolution at low energy
    block = metrics_for("energy", true, true * (1 + rng.normal(0, width)), truth)
    entry = next(
        d for d in block["dependence"] if d["variable"] == "nuenergy" and d["metric"] == "resolution"
    )
    assert entry["significant"] and entry["low"]["value"] == pytest.approx(0.1, rel=0.2)
    assert entry["high"]["value"] == pytest.approx(0.3, rel=0.2)
    bias_entry = next(d for d in block["dependence"] if d["variable"] == "nuenergy" and d["metric"] == "bias")
    assert not bias_entry["significant"]


def test_dependence_summary_needs_two_groups_with_enough_events():
    by = {
        "interaction": [
            {
                "category": "kNumuQE",
                "n": 10,
                "accuracy": 1.0,
                "accuracy_err": 0.0,
                "accuracy_lo": 0.83,
                "accuracy_hi": 1.0,
            }
        ]
    }
    (entry,) = dependence_summary(by)
    assert (
        entry["significance"] is None
        and not entry["significant"]
        and "nothing to compare" in entry["sentence"]
    )


# ----------------------------------------------------------------------------------------------------------
# A run directory


@pytest.mark.slow
@pytest.mark.parametrize("task_name", ["numu-cc", "mode", "energy"])
def test_evaluate_run_writes_metrics_json_and_plots(tmp_path, task_name):
    run = write_fake_run(tmp_path / "run", task_name, n=300)
    result = evaluate_run(run)
    on_disk = json.loads((run / "metrics.json").read_text())
    assert on_disk == result
    regression = task_name == "energy"
    assert set(on_disk) == {"task", "model", "test_sets", "plots"} | ({"notes"} if regression else set())
    assert on_disk["task"] == task_name and on_disk["model"] == "cvn"
    # a regression has no classes to balance: no balanced column
    assert set(on_disk["test_sets"]) == ({"natural"} if regression else {"natural", "balanced"})
    natural = load_predictions(run / "predictions" / "natural.npz", task_name)
    assert on_disk["test_sets"]["natural"]["n_events"] == len(natural["target"])
    expected = (
        {"roc", "scores", "confusion_matrix"} if task_name != "energy" else {"predicted_vs_true", "by_true"}
    )
    if task_name == "numu-cc":
        expected.add("efficiency_purity")
    expected |= {f"by_{v}" for v in ("nuenergy", "lepenergy", "interaction", "mode", "finalstate")}
    assert set(on_disk["plots"]["natural"]) == expected
    paths = [
        on_disk["plots"]["training_curves"],
        *on_disk["plots"]["natural"].values(),
        *on_disk["plots"].get("balanced", {}).values(),
    ]
    for rel in paths:
        data = (run / rel).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, rel
    assert not [p for p in (run / "plots").iterdir() if p.name.startswith(".")]  # no temporary files left


def test_a_multitask_run_gets_each_tasks_metrics_in_the_one_task_layout(tmp_path):
    """metrics.json of a multi-task run maps each task to exactly what a one-task run with the same
    predictions gets (so existing readers of a task's block keep working); figures in plots/TASK/."""
    from nuclass.run_dir import RunDir

    tasks = ["numu-cc", "flavour", "energy"]
    run = write_fake_multitask_run(tmp_path / "multi", tasks, n=200)
    result = evaluate_run(run, plots=False)
    assert set(result) == {"task", "model", "tasks"} and result["task"] == "numu-cc,flavour,energy"
    for task in tasks:
        single = evaluate_run(tmp_path / "multi.single" / task, plots=False)
        assert result["tasks"][task] == single, task
    assert RunDir(run).read_task_metrics() == result["tasks"]
    with_plots = evaluate_run(run)
    assert with_plots["tasks"]["flavour"]["plots"]["natural"]["roc"] == "plots/flavour/natural_roc.png"
    assert (run / "plots" / "energy" / "natural_predicted_vs_true.png").is_file()


def test_bad_run_directories_raise_clear_errors(tmp_path):
    with pytest.raises(FormatError, match="config.yaml"):
        evaluate_run(tmp_path)
    run = write_fake_run(tmp_path / "run", "mode", n=100)
    arrays = dict(np.load(run / "predictions" / "natural.npz"))
    del arrays["nuenergy"]
    np.savez(run / "predictions" / "natural.npz", **arrays)
    with pytest.raises(FormatError, match="nuenergy"):
        evaluate_run(run)
    arrays = synthetic_set("mode", 100)
    arrays["score"] = arrays["score"][:, :3]
    np.savez(run / "predictions" / "natural.npz", **arrays)
    with pytest.raises(FormatError, match=r"score.*\(\d+, 5\)"):
        load_predictions(run / "predictions" / "natural.npz", "mode")


def test_training_log_merges_step_and_epoch_rows(tmp_path):
    run = write_fake_run(tmp_path / "run", "numu-cc", n=50)
    log = read_training_log(run / "metrics.csv")
    assert set(log) == {"train_loss", "val_loss", "val_acc"}  # the _epoch column replaces the _step one
    assert log["train_loss"] == pytest.approx({0: 0.8, 1: 0.7, 2: 0.6, 3: 0.5})
    assert log["val_acc"][3] == pytest.approx(0.75)


# ----------------------------------------------------------------------------------------------------------
# Predictions on new files (a stand-in for nuclass.predict.predict_files)


@pytest.fixture
def fake_predict_files(monkeypatch):
    """A predict_files yielding (Events, a score for every event): P(νμ CC) from the truth plus noise."""
    calls = []

    def predict_files(run_dir, paths, batch_size):
        calls.append((Path(run_dir), list(paths), batch_size))
        rng = np.random.default_rng(0)
        for events in iter_batches(paths, batch_size):
            signal = np.isin(events.meta["interaction"], (0, 1, 2, 3))
            yield (
                events,
                {"numu-cc": np.clip(np.where(signal, 0.8, 0.2) + rng.normal(0, 0.25, len(events)), 0, 1)[
                    :, None
                ]},
            )

    monkeypatch.setattr("nuclass.predict.predict_files", predict_files)
    return calls


def test_evaluate_run_on_other_data(tmp_path, sim_dir, fake_predict_files):
    run = write_fake_run(tmp_path / "run", "numu-cc", n=100)
    files = sorted(sim_dir.glob("neutrino*.h5"))[:2]
    result = evaluate_run(run, data=files, batch_size=128, plots=False)
    assert fake_predict_files == [(run, files, 128)]
    n_total = sum(len(read_truth(f)["evt"]) for f in files)
    natural, balanced = result["test_sets"]["natural"], result["test_sets"]["balanced"]
    assert natural["n_events"] == n_total
    assert balanced["class_counts"][0] == balanced["class_counts"][1] == min(natural["class_counts"])
    assert result["data"] == [str(f) for f in files] and result["plots"] == {}
    assert natural["accuracy"] > 0.8  # scores 0.8 / 0.2 ± 0.25 are on the right side ~88 % of the time


def test_predict_to_h5(tmp_path, sim_dir, fake_predict_files):
    run = write_fake_run(tmp_path / "run", "numu-cc", n=100)
    files = sorted(sim_dir.glob("neutrino*.h5"))[:3]
    out = predict_to_h5(run, files, tmp_path / "scores.h5", batch_size=100)
    truths = [read_truth(f) for f in files]
    n = sum(len(t["evt"]) for t in truths)
    with h5py.File(out) as f:
        assert f.attrs["task"] == "numu-cc" and list(f.attrs["class_names"]) == ["not νμ CC", "νμ CC"]
        assert f["score"].shape == (n,) and f["predicted_class"].shape == (n,)
        assert np.all((f["score"][()] >= 0) & (f["score"][()] <= 1))
        assert np.array_equal(f["predicted_class"][()], (f["score"][()] >= 0.5).astype(int))
        assert [name.decode() for name in f["files"][()]] == [p.name for p in files]
        file_index = f["file_index"][()]
        assert np.array_equal(np.bincount(file_index), [len(t["evt"]) for t in truths])
        assert np.array_equal(f["evt"][()], np.concatenate([t["evt"] for t in truths]))
        # each event's row in its file (what `nuclass display --event` takes)
        assert np.array_equal(f["row"][()], np.concatenate([np.arange(len(t["evt"])) for t in truths]))
        assert f["neutrino/interaction"].shape == (n, 1)
        assert np.array_equal(
            f["neutrino/interaction"][:, 0], np.concatenate([t["interaction"] for t in truths])
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "scores.h5"]  # no temporary file left


def test_performance_by_vertex_location_when_the_truth_has_the_vertex():
    arrays = synthetic_set("numu-cc", 600, seed=9)
    assert "location" not in metrics_for("numu-cc", arrays["target"], arrays["target"] * 0.9, arrays)["by"]
    rng = np.random.default_rng(9)
    arrays |= {"vtxx": rng.uniform(-300, 300, 600), "vtxy": rng.uniform(-150, 150, 600),
               "vtxz": rng.uniform(-2000, 1500, 600)}
    score = np.where(np.abs(arrays["vtxx"]) < 191.52, arrays["target"], 1 - arrays["target"]).astype(float)
    by = metrics_for("numu-cc", arrays["target"], score, arrays)["by"]
    groups = {g["category"]: g for g in by["location"]}
    assert set(groups) == {"active", "muon catcher", "outside"}
    assert groups["active"]["accuracy"] == 1.0  # right wherever |x| is inside the detector
    assert 0.0 < groups["outside"]["accuracy"] < 1.0
    assert sum(g["n"] for g in groups.values()) == 600 and len(by["vtxz"]) == 10

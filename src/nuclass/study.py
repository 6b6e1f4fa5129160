"""Studies: a grid of trainings on truth-selected data, described in YAML (seed 000's Task 2 experiments,
learning curves, balancing methods), each repeated over seeds and compared with its baseline → study.json.

Every variant is tested on its own selected test set (balanced, as seed 000 tested; `own_test_natural` too)
and on the common test set: the natural, unselected test files of the same split. Repeat r of every variant
uses seed `seed + r`, so all variants of one repeat share the split. Uncertainties: mean over K repeats,
err = sqrt((sd² + stat²) / K) with sd the spread across repeats and stat the test set's statistical error
(K = 1: err = stat); a difference is significant when |Δ| > 2 × sqrt(err_a² + err_b²).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from nuclass.atomic import write_json
from nuclass.errors import ConfigError, NuclassError
from nuclass.evaluate import json_ready
from nuclass.labels import Task, get_task
from nuclass.selection import EventSelection

__all__ = [
    "STUDY_FILE",
    "METRICS",
    "SIGNIFICANCE_SIGMA",
    "SIGNIFICANCE_RULE",
    "DEFAULT_REPEATS",
    "Variant",
    "Question",
    "StudySpec",
    "list_studies",
    "load_study",
    "plan_variants",
    "headline_metrics",
    "combine_repeats",
    "compare",
    "run_study",
    "plot_study",
]

STUDY_FILE = "study.json"
BUILTIN_DIR = Path(__file__).with_name("studies")
METRICS = ("accuracy", "balanced_accuracy", "roc_auc", "loss")
SIGNIFICANCE_SIGMA = 2.0
SIGNIFICANCE_RULE = (
    f"a difference is significant when |Δ| > {SIGNIFICANCE_SIGMA:g} × sqrt(err_a² + err_b²); each err = "
    "sqrt((sd² + stat²) / K) over K repeats (sd: spread across repeats, stat: the test set's statistical "
    "error averaged over repeats); with K = 1 the spread is unknown and err = stat"
)
DEFAULT_REPEATS = 3  # at most; fewer when the study's budget does not allow them
_RUN_RESULT = "study_run.json"
_TEST_SETS = ("own_test", "common_test", "own_test_natural")
_STUDY_KEYS = {
    "study",
    "description",
    "task",
    "baseline",
    "budget_minutes",
    "train",
    "variants",
    "learning_curve",
    "questions",
}
_VARIANT_KEYS = {"label", "baseline"}
_QUESTION_KEYS = {"ask", "variant", "against", "subject", "higher", "lower", "same", "metric", "test"}
_LAST, _PREVIOUS = "$last", "$previous"  # references to the last two variants (learning curves)


# ---------------------------------------------------------------------------------------------- the spec


@dataclass(frozen=True)
class Variant:
    """One cell of the grid: its name, its own training-config settings (at least the task), a label, and
    the variant it is compared with (None: a reference itself)."""

    name: str
    settings: Mapping[str, Any]
    label: str = ""
    baseline: str | None = None

    @property
    def task(self) -> str:
        return str(self.settings["task"])

    @property
    def selection(self) -> dict[str, str]:
        """The truth selection in canonical form, plus equalize_signal if set ({} for none)."""
        s = self.settings
        out = EventSelection(s.get("where"), s.get("signal"), s.get("background")).to_dict()
        if s.get("equalize_signal"):
            out["equalize_signal"] = str(s["equalize_signal"])
        return out


@dataclass(frozen=True)
class Question:
    """A seed question answered by comparing `metric` of `variant` with `against` (default: its baseline)
    on `test`; `higher` / `lower` / `same` conclude when the variant's value is significantly higher, lower,
    or neither."""

    ask: str
    variant: str
    subject: str
    higher: str
    lower: str
    same: str
    against: str | None = None
    metric: str = "accuracy"
    test: str = "own_test"


@dataclass(frozen=True)
class StudySpec:
    """A parsed study: training defaults, variants (plan_variants expands a learning curve), questions."""

    name: str
    description: str
    task: str
    train: Mapping[str, Any]
    variants: tuple[Variant, ...]
    questions: tuple[Question, ...]
    budget_minutes: float | None = 30.0
    baseline: str | None = None
    learning_curve: Mapping[str, Any] | None = None
    source: str = ""


def list_studies() -> list[str]:
    """Names of the built-in studies (src/nuclass/studies/*.yaml)."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def _check_keys(where: str, values: Mapping[str, Any], valid: set[str]) -> None:
    unknown = sorted(set(values) - valid)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}")


def _train_keys() -> set[str]:
    import dataclasses

    from nuclass.train import TrainConfig

    return {f.name for f in dataclasses.fields(TrainConfig)} - {"data", "out", "resume"}


def _check_config(where: str, settings: Mapping[str, Any]) -> None:
    """Settings make a valid training config of a classification task, with selections that parse."""
    from nuclass.train import TrainConfig

    try:
        config = TrainConfig.from_dict(dict(settings))
        task = get_task(config.task)
        EventSelection(config.where, config.signal, config.background).check_task(task.name, task.kind)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if not task.is_classification:
        raise ConfigError(f"{where}: studies compare classifiers; task '{task.name}' is a regression")


def load_study(name_or_path: str | os.PathLike) -> StudySpec:
    """A study from a built-in name (see list_studies) or a YAML file. Every key, task, selection and
    reference is checked here, so a bad study fails before any training (ConfigError)."""
    text = str(name_or_path)
    path = BUILTIN_DIR / f"{text}.yaml" if text in list_studies() else Path(text)
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        raise ConfigError(
            f"unknown study '{text}': give a built-in name ({', '.join(list_studies())}) "
            "or a study .yaml file"
        )
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of study keys, got {type(raw).__name__}")
    _check_keys(str(path), raw, _STUDY_KEYS)
    train = dict(raw.get("train") or {})
    train_keys = _train_keys()
    _check_keys(f"{path}: train", train, train_keys)
    task = str(raw.get("task") or train.pop("task", None) or "numu-cc")
    variants_raw, curve = raw.get("variants"), raw.get("learning_curve")
    if (variants_raw is None) == (curve is None):
        raise ConfigError(f"{path}: give either 'variants' (a mapping name → settings) or 'learning_curve'")
    if variants_raw is not None and (not isinstance(variants_raw, dict) or not variants_raw):
        raise ConfigError(f"{path}: 'variants' must map variant names to settings")
    if curve is not None:
        curve = dict(curve) if isinstance(curve, dict) else {}
        _check_keys(f"{path}: learning_curve", curve, {"max_files"})
    baseline = raw.get("baseline")
    variants = []
    for vname, settings in (variants_raw or {}).items():
        settings = dict(settings or {})
        _check_keys(f"{path}: variant {vname}", settings, train_keys | _VARIANT_KEYS)
        label = str(settings.pop("label", "") or "")
        reference = settings.pop("baseline", baseline)
        settings = {"task": task, **settings}
        _check_config(f"{path}: variant {vname}", {**train, **settings})
        variants.append(Variant(str(vname), settings, label, None if reference == vname else reference))
    if curve is not None:
        _check_config(f"{path}: learning_curve", {**train, "task": task})
    names = [v.name for v in variants]
    for v in variants:
        if v.baseline is not None and v.baseline not in names:
            raise ConfigError(
                f"{path}: variant {v.name}: baseline '{v.baseline}' is not a variant ({', '.join(names)})"
            )
    questions = []
    for i, q in enumerate(raw.get("questions") or [], start=1):
        if not isinstance(q, dict):
            raise ConfigError(f"{path}: question {i} must be a mapping")
        _check_keys(f"{path}: question {i}", q, _QUESTION_KEYS)
        missing = [k for k in ("ask", "variant", "subject", "higher", "lower", "same") if k not in q]
        if missing:
            raise ConfigError(f"{path}: question {i} lacks {', '.join(missing)}")
        question = Question(**{k: str(v) for k, v in q.items()})
        if question.metric not in METRICS or question.test not in _TEST_SETS:
            raise ConfigError(
                f"{path}: question {i}: metric must be one of {', '.join(METRICS)}, "
                f"test one of {', '.join(_TEST_SETS)}"
            )
        for ref in (question.variant, question.against):
            if ref is not None and ref not in (*names, _LAST, _PREVIOUS):
                raise ConfigError(
                    f"{path}: question {i} names unknown variant '{ref}' (have {', '.join(names)})"
                )
        questions.append(question)
    budget = raw.get("budget_minutes", 30.0)
    return StudySpec(
        name=str(raw.get("study") or path.stem),
        description=str(raw.get("description") or "").strip(),
        task=task,
        train=train,
        variants=tuple(variants),
        questions=tuple(questions),
        budget_minutes=None if budget is None else float(budget),
        baseline=baseline,
        learning_curve=curve,
        source=str(path),
    )


def plan_variants(
    spec: StudySpec, n_train_files: int, max_variants: int | None = None
) -> tuple[Variant, ...]:
    """The variants to train: the spec's, or for a learning curve files-1, files-2, files-4, … and the
    split's full training set (at most `max_variants`, dropping the largest); resolves `$last` and
    `$previous`."""
    variants = spec.variants
    if spec.learning_curve is not None:
        top = min(n_train_files, int(spec.learning_curve.get("max_files") or n_train_files))
        sizes = [2**i for i in range(top.bit_length()) if 2**i < top] + [top]
        if max_variants is not None:
            sizes = sizes[: max(max_variants, 2)]
        variants = tuple(
            Variant(
                f"files-{k}",
                {"task": spec.task, "train_files": k},
                f"{k} training file{'s' if k > 1 else ''}",
                spec.baseline,
            )
            for k in sizes
        )
    names = [v.name for v in variants]
    refs = {_LAST: names[-1], _PREVIOUS: names[-2] if len(names) > 1 else names[-1]}
    return tuple(
        replace(
            v,
            baseline=None if refs.get(v.baseline, v.baseline) == v.name else refs.get(v.baseline, v.baseline),
        )
        for v in variants
    )


# ---------------------------------------------------------------------------------------------- statistics


def _hanley_mcneil(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of a ROC AUC (Hanley & McNeil 1982)."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    return math.sqrt(max(var, 0.0))


def _fraction_error(k: int, n: int) -> float:
    """Binomial standard error of k / n; for k = 0 or n, where it would be 0, that of Laplace's
    (k + 1) / (n + 2), so that a class always (or never) classified right still carries an uncertainty."""
    p = k / n if 0 < k < n else (k + 1) / (n + 2)
    return math.sqrt(p * (1 - p) / n)


def headline_metrics(task: Task, y_true: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """Headline metrics of one test set with their statistical errors: accuracy (binomial), balanced
    accuracy (binomial per class), ROC AUC (Hanley–McNeil; one-vs-rest macro for multi-class) and mean
    cross-entropy loss (std / √n); see _fraction_error for fractions of 0 or 1. y_true: (N,) classes;
    score as in predictions/*.npz."""
    from sklearn.metrics import roc_auc_score

    from nuclass.evaluate import per_event_loss, predicted_class

    y = np.asarray(y_true).astype(np.int64).ravel()
    n = len(y)
    out: dict[str, Any] = {"n_events": n}
    if n == 0:
        return out | {k: None for m in METRICS for k in (m, f"{m}_err")}
    score = np.asarray(score, dtype=np.float64)
    p = score[:, 0] if task.kind == "binary" and score.ndim == 2 else score
    correct = predicted_class(task, p) == y
    loss = per_event_loss(task, y, p)
    recalls, variances = [], []
    for c in range(len(task.class_names)):
        n_c = int((y == c).sum())
        if n_c:
            k_c = int(correct[y == c].sum())
            recalls.append(k_c / n_c)
            variances.append(_fraction_error(k_c, n_c) ** 2)
    columns = [(y == 1, p)] if task.kind == "binary" else [(y == c, p[:, c]) for c in range(p.shape[1])]
    aucs, auc_vars = [], []
    for is_class, s in columns:
        n_pos = int(is_class.sum())
        if 0 < n_pos < n:
            auc = float(roc_auc_score(is_class, s))
            aucs.append(auc)
            auc_vars.append(_hanley_mcneil(auc, n_pos, n - n_pos) ** 2)
    k = int(correct.sum())
    out.update(
        accuracy=k / n,
        accuracy_err=_fraction_error(k, n),
        balanced_accuracy=float(np.mean(recalls)),
        balanced_accuracy_err=math.sqrt(sum(variances)) / len(recalls),
        roc_auc=float(np.mean(aucs)) if aucs else None,
        roc_auc_err=math.sqrt(sum(auc_vars)) / len(aucs) if aucs else None,
        loss=float(loss.mean()),
        loss_err=float(loss.std(ddof=1) / math.sqrt(n)) if n > 1 else None,
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
        sigma = abs(delta) / err if err > 0 else None
        significant = bool(err > 0 and abs(delta) > SIGNIFICANCE_SIGMA * err)
        out.update({m: delta, f"{m}_err": err, f"{m}_sigma": sigma, f"{m}_significant": significant})
    out["significant"] = out["accuracy_significant"]
    return out


# ---------------------------------------------------------------------------------------------- one training


def _config_overrides(source: str | os.PathLike | None) -> dict[str, Any]:
    """Training-config keys from a preset name or a YAML file (only the keys it sets)."""
    from nuclass.train import TrainConfig, config_values

    if source is None:
        return {}
    values = config_values(source)
    TrainConfig.from_dict(values)  # unknown keys and wrong types fail here
    return values


def _common_test(run_dir: Path, task: Task, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(target, score) of the run's model on the natural, unselected test files of its split: every event
    the task uses (the first `limit` per file, as training indexes them)."""
    from nuclass.train import predict_files

    files = json.loads((run_dir / "split.json").read_text())["test"]
    targets, scores, taken = [], [], {}
    for events, score in predict_files(run_dir, files, batch_size=512):
        mask, target = task.labels(events.meta)
        used = np.flatnonzero(mask)
        if limit is not None:
            room = max(limit - taken.get(events.source, 0), 0)
            used, target = used[:room], target[:room]
            taken[events.source] = taken.get(events.source, 0) + len(used)
        targets.append(target)
        scores.append(np.asarray(score)[used])
    return np.concatenate(targets), np.concatenate(scores)


def _train_one(variant: Variant, config: Mapping[str, Any], run_dir: Path) -> dict[str, Any]:
    """Train one variant in `run_dir`, evaluate it on its own and the common test set; the result (also
    written to RUN_DIR/study_run.json, so a rerun of the study reuses finished trainings)."""
    from nuclass.evaluate import evaluate_run, load_predictions
    from nuclass.train import TrainConfig, train

    started = time.monotonic()
    last = run_dir / "checkpoints" / "last.ckpt"
    if run_dir.exists() and not last.is_file():
        shutil.rmtree(run_dir)  # an attempt that stopped before its first checkpoint: start again
    cfg = TrainConfig.from_dict({**config, "out": str(run_dir), "resume": last.is_file()})
    summary = train(cfg)
    evaluate_run(run_dir, plots=False)  # metrics.json of the run's own (selected) test sets
    task = get_task(cfg.task)
    own = {
        name: load_predictions(run_dir / "predictions" / f"{name}.npz", task)
        for name in ("natural", "balanced")
    }
    selected = bool(variant.selection)
    if selected:
        common_target, common_score = _common_test(run_dir, task, cfg.max_events_per_file)
    else:
        common_target, common_score = own["natural"]["target"], own["natural"]["score"]
    result = {
        "variant": variant.name,
        "seed": cfg.seed,
        "n_train_events": summary["n_events"]["train"],
        "epochs_run": summary["epochs_run"],
        "own_test": headline_metrics(task, own["balanced"]["target"], own["balanced"]["score"]),
        "own_test_natural": headline_metrics(task, own["natural"]["target"], own["natural"]["score"]),
        "common_test": headline_metrics(task, common_target, common_score),
        "seconds": round(time.monotonic() - started, 1),
    }
    write_json(run_dir / _RUN_RESULT, json_ready(result))
    return result


# ---------------------------------------------------------------------------------------------- the study


def _format(value: float | None, err: float | None) -> str:
    from nuclass.evaluate import format_value

    return "–" if value is None else format_value(value, err)


_METRIC_WORDS = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
    "roc_auc": "ROC AUC",
    "loss": "loss",
}
_TEST_WORDS = {
    "own_test": "on its own selected (balanced) test set",
    "own_test_natural": "on its own selected natural test set",
    "common_test": "on the common natural test set",
}


def _answer(
    question: Question, by_name: Mapping[str, dict[str, Any]], plan: Sequence[Variant]
) -> dict[str, Any]:
    """One seed question answered with numbers: a sentence and the comparison behind it."""
    names = [v.name for v in plan]
    refs = {_LAST: names[-1], _PREVIOUS: names[-2] if len(names) > 1 else names[-1]}
    name = refs.get(question.variant, question.variant)
    variant = by_name[name]
    against = refs.get(question.against, question.against) if question.against else variant["baseline"]
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
        f"{question.subject} gives {_METRIC_WORDS[m]} {_format(a[m], a[f'{m}_err'])} vs "
        f"{_format(b[m], b[f'{m}_err'])} for {against}{f' ({label})' if label else ''} "
        f"{_TEST_WORDS[question.test]}: {conclusion} ({sigma_text})."
    )
    if question.test != "common_test":
        ca, cb = variant["common_test"], by_name[against]["common_test"]
        common_a, common_b = _format(ca[m], ca[f"{m}_err"]), _format(cb[m], cb[f"{m}_err"])
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


def _run_path(variant: str, seed: int) -> str:
    """A training's directory, relative to the study directory."""
    return f"runs/{variant}/seed{seed}"


def _binned_answers(variants: Sequence[Mapping[str, Any]], out: Path) -> list[dict[str, Any]]:
    """The same questions answered the other way: the reference models' binned evaluation (first repeat's
    metrics.json, natural test set): QE vs DIS, low vs high Eν and lepton energy."""
    answers = []
    for v in variants:
        if v["baseline"] is not None or not v["runs"]:
            continue
        path = out / v["runs"][0] / "metrics.json"
        if not path.is_file():
            continue
        natural = json.loads(path.read_text())["test_sets"]["natural"]
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


def run_study(
    spec: StudySpec,
    data: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    model: str | None = None,
    max_minutes: float | None = None,
    repeats: int | None = None,
    budget_minutes: float | None = None,
    config: str | os.PathLike | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train and evaluate every variant of `spec` (repeats × variants, repeat by repeat) into OUT/runs/,
    then write OUT/study.json and OUT/plots/*.png; returns the study.json content.

    `config` (a preset such as "tiny" or a YAML of training keys) overrides the study's training defaults;
    each variant's own settings override those; `model` and `max_minutes` override everything. Without
    `repeats`, up to DEFAULT_REPEATS are run while the whole study fits in the budget (the first repeat
    always runs). Finished trainings found in OUT/runs/ are reused.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from nuclass.data import expand_paths, split_files
    from nuclass.train import TrainConfig

    out = Path(out)
    files = expand_paths(data)
    overrides = _config_overrides(config)
    cli = {k: v for k, v in (("model", model), ("max_minutes", max_minutes)) if v is not None}
    if repeats is not None and repeats < 1:
        raise ConfigError(f"repeats must be ≥ 1, got {repeats}")
    base = TrainConfig.from_dict(
        {**spec.train, **overrides, **cli, "task": spec.task, "data": [str(f) for f in files]}
    )
    n_train = len(split_files(files, base.seed, base.val_fraction, base.test_fraction)["train"])
    budget = budget_minutes if budget_minutes is not None else spec.budget_minutes
    per_training = base.max_minutes * 1.25 if base.max_minutes else None  # + data, prediction, evaluation
    max_variants = int(budget // per_training) if budget and per_training else None
    plan = plan_variants(spec, n_train, max_variants)
    max_repeats = repeats or DEFAULT_REPEATS
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: dict[str, list[dict[str, Any]]] = {v.name: [] for v in plan}
    trained_seconds: list[float] = []
    failures: list[dict[str, Any]] = []
    budget_note = None
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not progress,
        transient=False,
    ) as bar:
        job = bar.add_task(f"study {spec.name}", total=len(plan) * max_repeats)
        for r in range(max_repeats):
            if r > 0 and repeats is None and budget and trained_seconds:
                expected = (time.monotonic() - started + len(plan) * float(np.mean(trained_seconds))) / 60
                if expected > budget:
                    budget_note = (
                        f"stopped after {r} repeat(s): another would end at about {expected:.0f} min, "
                        f"over the {budget:g}-minute budget (pass --repeats to insist)"
                    )
                    bar.update(job, total=len(plan) * r)
                    break
            for variant in plan:
                settings = {**spec.train, **overrides, **variant.settings, **cli}
                seed = int(settings.get("seed", 0)) + r
                run_dir = out / _run_path(variant.name, seed)
                bar.update(job, description=f"{spec.name}: {variant.name} (seed {seed})")
                done = run_dir / _RUN_RESULT
                if done.is_file():
                    result = json.loads(done.read_text())
                else:
                    config_values = {
                        **settings,
                        "data": [str(f) for f in files],
                        "seed": seed,
                        "progress": False,
                    }
                    try:
                        result = _train_one(variant, config_values, run_dir)
                    except NuclassError as exc:  # e.g. a selection that leaves a split empty: note it, go on
                        failures.append({"variant": variant.name, "seed": seed, "error": str(exc)})
                        bar.console.print(f"  {variant.name} seed {seed}: failed: {exc}")
                        bar.advance(job)
                        continue
                    trained_seconds.append(result["seconds"])
                    if progress:
                        own, common = result["own_test"], result["common_test"]
                        bar.console.print(
                            f"  {variant.name} seed {seed}: accuracy "
                            f"{_format(own['accuracy'], own['accuracy_err'])}"
                            f" own test, {_format(common['accuracy'], common['accuracy_err'])} common test; "
                            f"{result['epochs_run']} epochs in {result['seconds'] / 60:.1f} min"
                        )
                results[variant.name].append(result)
                bar.advance(job)
    if not any(results.values()):
        raise ConfigError(f"study {spec.name}: no training finished; first error: {failures[0]['error']}")
    study = _summarise(spec, plan, results, out, base, files, repeats, budget, budget_note, started)
    study["failures"] = failures
    write_json(out / STUDY_FILE, json_ready(study))
    return study


def _summarise(
    spec: StudySpec,
    plan: Sequence[Variant],
    results: Mapping[str, Sequence[Mapping[str, Any]]],
    out: Path,
    base: Any,
    files: Sequence[Path],
    repeats: int | None,
    budget: float | None,
    budget_note: str | None,
    started: float,
) -> dict[str, Any]:
    variants = []
    for v in plan:
        rs = results[v.name]
        entry: dict[str, Any] = {
            "name": v.name,
            "label": v.label,
            "task": v.task,
            "selection": v.selection,
            "settings": {k: val for k, val in v.settings.items() if k != "task"},
            "baseline": v.baseline,
            "repeats": len(rs),
            "seeds": [r["seed"] for r in rs],
            "n_train_events": float(np.mean([r["n_train_events"] for r in rs])) if rs else None,
            "epochs_run": [r["epochs_run"] for r in rs],
            "seconds": round(sum(r["seconds"] for r in rs), 1),
            "runs": [_run_path(v.name, r["seed"]) for r in rs],
        }
        entry.update({name: combine_repeats([r[name] for r in rs]) for name in _TEST_SETS})
        variants.append(entry)
    by_name = {v["name"]: v for v in variants}
    for v in variants:
        ref = by_name.get(v["baseline"]) if v["baseline"] else None
        if ref is None:
            v["delta_vs_baseline"] = None
            continue
        delta = {"baseline": ref["name"], "test": "own_test", **compare(v["own_test"], ref["own_test"])}
        delta["common_test"] = compare(v["common_test"], ref["common_test"])
        v["delta_vs_baseline"] = delta
    tasks = list(dict.fromkeys(v.task for v in plan))
    study: dict[str, Any] = {
        "study": spec.name,
        "description": spec.description,
        "source": spec.source,
        "task": tasks[0] if len(tasks) == 1 else tasks,
        "model": base.model,
        "max_minutes": base.max_minutes,
        "repeats": min((v["repeats"] for v in variants), default=0),
        "repeats_requested": repeats,
        "budget_minutes": budget,
        "budget_note": budget_note,
        "significance_rule": SIGNIFICANCE_RULE,
        "data": [str(f) for f in files],
        "seconds": round(time.monotonic() - started, 1),
        "training_seconds": round(sum(v["seconds"] for v in variants), 1),
        "variants": variants,
    }
    study["answers"] = [_answer(q, by_name, plan) for q in spec.questions]
    study["binned_answers"] = _binned_answers(variants, out)
    if spec.learning_curve is not None:
        study["learning_curve"] = [
            {
                "variant": v["name"],
                "train_files": v["settings"]["train_files"],
                "n_train_events": v["n_train_events"],
                **{
                    f"{t}_{m}{s}": v[t][f"{m}{s}"]
                    for t in ("own_test", "common_test")
                    for m in METRICS
                    for s in ("", "_err")
                },
            }
            for v in variants
        ]
    study["figures"] = plot_study(study, out)
    return study


# ---------------------------------------------------------------------------------------------- figures


_SET_STYLE = {
    "own_test": ("o", "#2c6fb7", "own selected test set (balanced)"),
    "common_test": ("s", "#d9822b", "common natural test set"),
}


def plot_study(study: Mapping[str, Any], out: str | os.PathLike) -> dict[str, str]:
    """OUT/plots/{metric}.png (each variant's mean with its error, and each repeat as a dot, on its own and
    the common test set) and, for learning curves, OUT/plots/learning_curve.png; paths relative to OUT."""
    from matplotlib.figure import Figure

    from nuclass.metric_plots import save_figure

    def figure(width: float, height: float) -> Figure:
        return Figure(figsize=(width, height), dpi=110, layout="constrained")

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
            ylabel=_METRIC_WORDS[m],
            title=f"{study['study']}: {_METRIC_WORDS[m]} per variant\n"
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
            ax.set(xlabel="training events (after balancing)", ylabel=_METRIC_WORDS[m])
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        fig.suptitle(f"Learning curve: test {', '.join(('accuracy', 'loss'))} against the training-set size")
        paths["learning_curve"] = (
            save_figure(fig, out / "plots" / "learning_curve.png").relative_to(out).as_posix()
        )
    return paths

"""Study specs: a grid of trainings on truth-selected data described in YAML (built-in ones in builtin/),
checked whole before any training, and the variants a study plans to train. A variant may also train on
a varied simulation (`simulation`: a systematics variation), to be tested on the nominal one."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from nuclass.errors import ConfigError
from nuclass.labels import KIND_METRICS, get_task
from nuclass.labels.selection import describe_selection
from nuclass.systematics.catalogue import Variation, parse_variation, select_variations
from nuclass.training.config import TrainConfig

__all__ = [
    "METRICS",
    "VARIANT_TEST_SETS",
    "DEFAULT_BUDGET_MINUTES",
    "DEFAULT_REPEATS",
    "Variant",
    "Question",
    "StudySpec",
    "list_studies",
    "load_study",
    "plan_variants",
    "resolve_reference",
]

BUILTIN_DIR = Path(__file__).with_name("builtin")
METRICS = KIND_METRICS["classification"].compared  # what studies compare (they compare classifiers)
# Each variant's test sets: its own selected one (balanced, as seed 000 tested, and natural), and the
# common one: the natural, unselected test files of the same split.
VARIANT_TEST_SETS = ("own_test", "common_test", "own_test_natural")
DEFAULT_BUDGET_MINUTES = 30.0  # extra repeats only while the whole study fits in this
DEFAULT_REPEATS = 3  # at most; fewer when the study's budget does not allow them
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
_VARIANT_KEYS = {"label", "baseline", "simulation"}
_QUESTION_KEYS = {"ask", "variant", "against", "subject", "higher", "lower", "same", "metric", "test"}
_LAST, _PREVIOUS = "$last", "$previous"  # references to the last two variants (learning curves)


@dataclass(frozen=True)
class Variant:
    """One cell of the grid: its name, its own training-config settings (at least the task), a label, the
    variant it is compared with (None: a reference itself), and the variation of the simulation it trains
    on (None: the data given)."""

    name: str
    settings: Mapping[str, Any]
    label: str = ""
    baseline: str | None = None
    simulation: Variation | None = None

    @property
    def task(self) -> str:
        return str(self.settings["task"])

    @property
    def selection(self) -> dict[str, str]:
        """The truth selection in canonical form, plus equalize_signal if set ({} for none)."""
        return describe_selection(self.settings)


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
    budget_minutes: float | None = DEFAULT_BUDGET_MINUTES
    baseline: str | None = None
    learning_curve: Mapping[str, Any] | None = None
    source: str = ""


def list_studies() -> list[str]:
    """Names of the built-in studies (src/nuclass/study/builtin/*.yaml)."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def _check_keys(where: str, values: Mapping[str, Any], valid: set[str]) -> None:
    unknown = sorted(set(values) - valid)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}")


def _train_keys() -> set[str]:
    return {f.name for f in dataclasses.fields(TrainConfig)} - {"data", "out", "resume"}


def _check_config(where: str, settings: Mapping[str, Any]) -> None:
    """Settings make a valid training config of a classification task, with selections that parse."""
    try:
        config = TrainConfig.from_dict(dict(settings))
        task = get_task(config.task)
        config.selection.check_task(task.name, task.kind)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if not task.is_classification:
        raise ConfigError(f"{where}: studies compare classifiers; task '{task.name}' is a regression")


def _simulation(where: str, name: str, value: Any) -> Variation | None:
    """A variant's `simulation`: a built-in variation's name or a variation's mapping (systematics'
    catalogue keys); it must change the simulation (a reweighting cannot be trained on)."""
    if value is None:
        return None
    try:
        if isinstance(value, Mapping):
            found = [parse_variation(name, dict(value), "study", source=where)]
        else:
            found = select_variations([str(value)])
    except ConfigError as exc:
        raise ConfigError(f"{where}: simulation: {exc}") from None
    if len(found) != 1 or not found[0].simulates:
        raise ConfigError(
            f"{where}: simulation must name one variation that changes the simulation (e.g. "
            f"energy-scale-up), got {value!r}"
        )
    return found[0]


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
        simulation = _simulation(f"{path}: variant {vname}", str(vname), settings.pop("simulation", None))
        settings = {"task": task, **settings}
        _check_config(f"{path}: variant {vname}", {**train, **settings})
        reference = None if reference == vname else reference
        variants.append(Variant(str(vname), settings, label, reference, simulation))
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
        if question.metric not in METRICS or question.test not in VARIANT_TEST_SETS:
            raise ConfigError(
                f"{path}: question {i}: metric must be one of {', '.join(METRICS)}, "
                f"test one of {', '.join(VARIANT_TEST_SETS)}"
            )
        for ref in (question.variant, question.against):
            if ref is not None and ref not in (*names, _LAST, _PREVIOUS):
                raise ConfigError(
                    f"{path}: question {i} names unknown variant '{ref}' (have {', '.join(names)})"
                )
        questions.append(question)
    budget = raw.get("budget_minutes", DEFAULT_BUDGET_MINUTES)
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
    return tuple(
        replace(v, baseline=None if (ref := resolve_reference(v.baseline, names)) == v.name else ref)
        for v in variants
    )


def resolve_reference(name: str | None, names: Sequence[str]) -> str | None:
    """A variant named in a study: `$last` and `$previous` stand for the last two of `names` (the planned
    variants, in order); any other name for itself."""
    if name == _LAST:
        return names[-1]
    if name == _PREVIOUS:
        return names[-2] if len(names) > 1 else names[-1]
    return name

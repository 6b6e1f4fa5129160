"""Studies: a grid of trainings on truth-selected data (seed 000's Task 2 experiments, learning curves,
balancing methods): the spec (`spec`, built-in ones in builtin/), the comparison of variants (`compare`)
and the runner (`run`, which imports training on first use)."""

from __future__ import annotations

import importlib
from typing import Any

from nuclass.study.compare import SIGNIFICANCE_RULE, combine_repeats, compare, headline_metrics
from nuclass.study.spec import (
    DEFAULT_BUDGET_MINUTES,
    DEFAULT_REPEATS,
    METRICS,
    Question,
    StudySpec,
    Variant,
    list_studies,
    load_study,
    plan_variants,
)

__all__ = [
    "METRICS",
    "SIGNIFICANCE_RULE",
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
    "DEFAULT_REPEATS",
    "DEFAULT_BUDGET_MINUTES",
]


def __getattr__(name: str) -> Any:
    if name == "run_study":
        return importlib.import_module("nuclass.study.run").run_study
    raise AttributeError(f"module 'nuclass.study' has no attribute '{name}'")

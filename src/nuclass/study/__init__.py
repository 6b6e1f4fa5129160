"""Studies: a grid of trainings on truth-selected data (seed 000's Task 2 experiments, learning curves,
balancing methods): the spec (`spec`, built-in ones in builtin/), the comparison of variants (`compare`)
and the runner (`run`, which imports training on first use)."""

from __future__ import annotations

from nuclass.lazy import lazy_attributes
from nuclass.study.spec import StudySpec, list_studies, load_study

__all__ = ["StudySpec", "list_studies", "load_study", "run_study"]

__getattr__ = lazy_attributes(__name__, {"run_study": "nuclass.study.run"})

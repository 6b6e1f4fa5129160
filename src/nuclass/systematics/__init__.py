"""Systematics: how much each result depends on what the simulation assumes. The catalogue of variations
(`catalogue`, built-in ones in builtin/), the paired metrics and errors (`paired`), the totals (`totals`),
the model under test (`source`) and the runner (`run`, which imports torch on first use)."""

from __future__ import annotations

from nuclass.lazy import lazy_attributes
from nuclass.systematics.catalogue import Variation, load_catalogue, select_variations

__all__ = ["Variation", "load_catalogue", "select_variations", "ModelSource", "run_systematics"]

__getattr__ = lazy_attributes(
    __name__, {"ModelSource": "nuclass.systematics.source", "run_systematics": "nuclass.systematics.run"}
)

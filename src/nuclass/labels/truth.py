"""The truth fields of an event: the real files' columns and their dtypes, which ones the pipeline needs,
and the fields derived from them (one table each: add a field here and selections see it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "TRUTH_DTYPES",
    "ANALYSIS_TRUTH",
    "REQUIRED_TRUTH",
    "Derived",
    "DERIVED_TRUTH",
    "SELECTABLE_FIELDS",
]

# The 16 truth fields of the real files and their dtypes (reference/real-dataset.md).
TRUTH_DTYPES: dict[str, np.dtype] = {
    name: np.dtype(dt)
    for name, dt in [
        ("cycle", "int32"),
        ("evt", "uint32"),
        ("finalstate", "uint32"),
        ("finalstateprong", "uint32"),
        ("interaction", "uint32"),
        ("lepenergy", "float32"),
        ("nuenergy", "float32"),
        ("parent", "uint32"),
        ("particles", "uint32"),
        ("rec.training.trainingdata_idx", "uint32"),
        ("run", "uint32"),
        ("subevt", "uint16"),
        ("subrun", "uint32"),
        ("vtxx", "float64"),
        ("vtxy", "float64"),
        ("vtxz", "float64"),
    ]
}
# What tasks, truth groupings and evaluation read of every event (energies in GeV).
ANALYSIS_TRUTH = ("interaction", "finalstate", "nuenergy", "lepenergy")
# Every file must hold these; they are kept beside each test event's prediction.
REQUIRED_TRUTH = ("evt", *ANALYSIS_TRUTH)


@dataclass(frozen=True)
class Derived:
    """A truth field computed from others: `needs` the columns it reads, `compute` maps them to values."""

    needs: tuple[str, ...]
    compute: Callable[[Mapping[str, np.ndarray]], np.ndarray]


def _y(truth: Mapping[str, np.ndarray]) -> np.ndarray:
    """lepenergy / nuenergy; NaN where nuenergy = 0."""
    lep = np.asarray(truth["lepenergy"], dtype=np.float64)
    nu = np.asarray(truth["nuenergy"], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(nu != 0, lep / np.where(nu != 0, nu, 1.0), np.nan)


DERIVED_TRUTH: dict[str, Derived] = {"y": Derived(("lepenergy", "nuenergy"), _y)}
# Every field a selection expression may name.
SELECTABLE_FIELDS: tuple[str, ...] = (*TRUTH_DTYPES, *DERIVED_TRUTH)

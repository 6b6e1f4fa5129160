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
    "VERTEX_TRUTH",
    "KEPT_TRUTH",
    "Derived",
    "DERIVED_TRUTH",
    "SELECTABLE_FIELDS",
    "LOCATIONS",
    "vertex_location",
    "ND_HALF_WIDTH_CM",
    "ND_ACTIVE_LENGTH_CM",
    "ND_LENGTH_CM",
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
# The interaction vertex (cm, detector coordinates): kept beside the predictions too where the files hold
# it (the real files and nuclass's do), for the groupings by where the interaction happened.
VERTEX_TRUTH = ("vtxx", "vtxy", "vtxz")
KEPT_TRUTH = (*REQUIRED_TRUTH, *VERTEX_TRUTH)

# The near detector in the real files' coordinates (near-detector.md): 96 cells of 3.99 cm across (x = y
# = 0 on its axis), 192 active planes of 6.61 cm from z = 0, then the muon catcher (22 planes of 6.61 cm
# and 10 steel plates of 10.16 cm). nuclass.sim's default geometry is the same detector.
ND_HALF_WIDTH_CM = 96 * 3.99 / 2
ND_ACTIVE_LENGTH_CM = 192 * 6.61
ND_LENGTH_CM = ND_ACTIVE_LENGTH_CM + 22 * 6.61 + 10 * 10.16
LOCATIONS = ("active", "muon catcher", "outside")  # codes 0, 1, 2 of vertex_location


def vertex_location(truth: Mapping[str, np.ndarray]) -> np.ndarray:
    """Where each vertex lies: 0 in the ND's fully active region, 1 in its muon catcher, 2 outside (rock,
    hall); (N,) int64."""
    x, y, z = (np.asarray(truth[k], dtype=np.float64) for k in VERTEX_TRUTH)
    across = (np.abs(x) <= ND_HALF_WIDTH_CM) & (np.abs(y) <= ND_HALF_WIDTH_CM)
    active = across & (z >= 0.0) & (z < ND_ACTIVE_LENGTH_CM)
    catcher = across & (z >= ND_ACTIVE_LENGTH_CM) & (z < ND_LENGTH_CM)
    return np.select([active, catcher], [0, 1], 2).astype(np.int64)


@dataclass(frozen=True)
class Derived:
    """A truth field computed from others: `needs` the columns it reads, `compute` maps them to values.
    A `flag` is true or false: a selection may name it alone (``--where contained``)."""

    needs: tuple[str, ...]
    compute: Callable[[Mapping[str, np.ndarray]], np.ndarray]
    flag: bool = False


def _y(truth: Mapping[str, np.ndarray]) -> np.ndarray:
    """lepenergy / nuenergy; NaN where nuenergy = 0."""
    lep = np.asarray(truth["lepenergy"], dtype=np.float64)
    nu = np.asarray(truth["nuenergy"], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(nu != 0, lep / np.where(nu != 0, nu, 1.0), np.nan)


DERIVED_TRUTH: dict[str, Derived] = {
    "y": Derived(("lepenergy", "nuenergy"), _y),
    # the vertex in the ND's fully active volume (the containment a physicist cuts on)
    "contained": Derived(VERTEX_TRUTH, lambda truth: vertex_location(truth) == 0, flag=True),
    "location": Derived(VERTEX_TRUTH, vertex_location),  # 0 active, 1 muon catcher, 2 outside
}
# Every field a selection expression may name.
SELECTABLE_FIELDS: tuple[str, ...] = (*TRUTH_DTYPES, *DERIVED_TRUTH)

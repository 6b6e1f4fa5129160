"""Validate NOvA teaching files and summarise them: events, composition, energies, map occupancy, as plain
JSON-ready data (for `nuclass inspect`, its --json, and scripts)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from nuclass.errors import ConfigError, FormatError, ManyErrors, NuclassError
from nuclass.io.nova_h5 import iter_batches, read_truth
from nuclass.io.paths import expand_paths
from nuclass.labels import TASKS, FinalState, Interaction, flavour_index, mode_index
from nuclass.labels.truth import ANALYSIS_TRUTH, LOCATIONS, VERTEX_TRUTH, vertex_location
from nuclass.progress import NO_PROGRESS, Progress

__all__ = ["summarise", "QUANTILES", "VIEWS"]

QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90)  # reported with min, max and mean
_MAP_BATCH = 2048  # events per read while gathering map statistics (≈ 33 MB of maps)
_SATURATED = 255  # the top of the 8-bit charge scale
VIEWS = ("xz", "yz")  # the keys of a summary's per-view map statistics


def _counts(names: Sequence[str], values: np.ndarray, keep_empty: bool) -> dict:
    """{name: {"code", "count", "fraction"}} of integer codes `values`, code k being called names[k]."""
    n = len(values)
    tally = np.bincount(values, minlength=len(names)) if n else np.zeros(len(names), dtype=np.int64)
    return {
        name: {"code": code, "count": int(count), "fraction": float(count / n) if n else 0.0}
        for code, (name, count) in enumerate(zip(names, tally, strict=True))
        if count or keep_empty
    }


def _stats(values: np.ndarray) -> dict[str, float] | None:
    """min, the QUANTILES, max and mean of `values` (None when empty)."""
    if len(values) == 0:
        return None
    values = np.asarray(values, dtype=np.float64)
    quantiles = np.quantile(values, QUANTILES)
    out = {"n": int(len(values)), "min": float(values.min())}
    out |= {f"q{round(100 * q)}": float(v) for q, v in zip(QUANTILES, quantiles, strict=True)}
    out |= {"max": float(values.max()), "mean": float(values.mean())}
    return out


def _composition(meta: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Event counts and fractions by interaction, flavour, mode and final state (rules: nuclass.labels)."""
    interaction = np.asarray(meta["interaction"], dtype=np.int64)
    finalstate = np.asarray(meta["finalstate"], dtype=np.int64)
    flavour_names = TASKS["flavour"].class_names
    mode_names = (*TASKS["mode"].class_names, "not used")
    mode = mode_index(interaction)
    mode = np.where(mode < 0, len(mode_names) - 1, mode)  # codes the mode task leaves out
    return {
        "interaction": _counts([i.name for i in Interaction], interaction, False),
        "flavour": _counts(flavour_names, flavour_index(interaction), True),
        "mode": _counts(mode_names, mode, True),
        "finalstate": _counts([f.name for f in FinalState], finalstate, False),
    }


def _energies(meta: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Quantiles of nuenergy, lepenergy (GeV) and y over the events with nuenergy > 0."""
    used, nuenergy = TASKS["energy"].labels(meta)
    _, y = TASKS["y"].labels(meta)
    return {
        "zero_energy_events": int(np.count_nonzero(np.asarray(meta["nuenergy"]) == 0)),
        "nuenergy": _stats(nuenergy),
        "lepenergy": _stats(np.asarray(meta["lepenergy"])[used]),
        "y": _stats(y),
    }


class _MapTally:
    """Map statistics gathered batch by batch: lit pixels per event and view, and the charge histogram."""

    def __init__(self) -> None:
        self.lit: list[np.ndarray] = []  # (n, 2) lit pixels per event and view
        self.charge = np.zeros(256, dtype=np.int64)  # pixels per ADC value, over all events and views

    def add(self, maps: np.ndarray) -> None:
        flat = maps.reshape(len(maps), 2, -1)
        self.lit.append(np.count_nonzero(flat, axis=2).astype(np.int32))
        charges = maps[maps != 0]  # about 1 % of the pixels: histogram those, count the zeros
        self.charge += np.bincount(charges, minlength=256)
        self.charge[0] += maps.size - charges.size

    def merge(self, other: _MapTally) -> None:
        self.lit.extend(other.lit)
        self.charge += other.charge

    def result(self) -> dict[str, Any]:
        lit = np.concatenate(self.lit) if self.lit else np.zeros((0, 2), np.int32)
        lit_pixels = self.charge[1:].sum()
        charge_values = np.arange(1, 256)
        return {
            "lit_pixels": {view: _stats(lit[:, v]) for v, view in enumerate(VIEWS)},
            "empty_events": int(np.count_nonzero(lit.sum(axis=1) == 0)),
            "lit_fraction": float(lit_pixels / self.charge.sum()) if self.charge.sum() else 0.0,
            "saturated_fraction": float(self.charge[_SATURATED] / lit_pixels) if lit_pixels else 0.0,
            "median_lit_charge": (
                int(charge_values[np.searchsorted(np.cumsum(self.charge[1:]), lit_pixels / 2)])
                if lit_pixels
                else None
            ),
        }


def _vertices(meta: Mapping[str, np.ndarray]) -> dict[str, Any] | None:
    """Where the vertices lie (labels.truth.vertex_location: active / muon catcher / outside), the median
    Eν of each location, and the quantiles of vtxx, vtxy, vtxz (cm); None without vertex fields."""
    if not all(k in meta for k in VERTEX_TRUTH):
        return None
    location = vertex_location(meta)
    nuenergy = np.asarray(meta["nuenergy"])
    counts = _counts(LOCATIONS, location, True)
    for code, name in enumerate(LOCATIONS):
        energies = nuenergy[(location == code) & (nuenergy > 0)]
        counts[name]["median_nuenergy"] = float(np.median(energies)) if len(energies) else None
    return {"location": counts, **{k: _stats(meta[k]) for k in VERTEX_TRUTH}}


def _summarise_truth(meta: Mapping[str, np.ndarray], tally: _MapTally) -> dict[str, Any]:
    return {
        "events": int(len(meta["interaction"])),
        **_composition(meta),
        "energy": _energies(meta),
        "vertex": _vertices(meta),
        "maps": tally.result(),
    }


def summarise(paths: Iterable[str | os.PathLike], progress: Progress | None = None) -> dict[str, Any]:
    """Validate every file (truth and every map) and summarise each file and all of them together.

    Returns {"files": [{"path", "events", "interaction", "flavour", "mode", "finalstate", "energy",
    "vertex", "maps"}, ...], "total": {the same keys, plus "files"}}; energies in GeV, fractions of
    events, vertices in cm ("vertex" None for files without vertex fields).
    Every path is checked: a bad one raises FormatError (ConfigError for a path naming no file) naming
    it, several bad ones ManyErrors, one line each. `progress` hears of each file inspected.
    """
    errors: list[NuclassError] = []
    named = []
    for p in paths:  # every path is checked, and every bad one reported (ManyErrors)
        try:
            expand_paths([p])
            named.append(p)
        except ConfigError as exc:
            errors.append(exc)
    files = expand_paths(named) if named else []
    if not files and not errors:
        raise ConfigError("no files to inspect")
    progress = progress or NO_PROGRESS
    per_file, metas, total_tally = [], [], _MapTally()
    progress.start("inspecting", total=len(files))
    for path in files:
        try:
            meta = {k: v for k, v in read_truth(path).items() if k in (*ANALYSIS_TRUTH, *VERTEX_TRUTH)}
            tally = _MapTally()
            for batch in iter_batches([path], batch_size=_MAP_BATCH):  # reads and validates every map
                tally.add(batch.maps)
        except FormatError as exc:
            errors.append(exc)
            continue
        finally:
            progress.update(advance=1)
        per_file.append({"path": str(path), **_summarise_truth(meta, tally)})
        metas.append(meta)
        total_tally.merge(tally)
    progress.finish()
    if errors:
        raise errors[0] if len(errors) == 1 else ManyErrors(errors)
    kept = [k for k in (*ANALYSIS_TRUTH, *VERTEX_TRUTH) if all(k in m for m in metas)]
    total_meta = {k: np.concatenate([m[k] for m in metas]) for k in kept}
    return {"files": per_file, "total": {"files": len(files), **_summarise_truth(total_meta, total_tally)}}

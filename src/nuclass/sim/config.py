"""Simulator configuration: every number a user may vary, with its unit, allowed range and source.

Marks as in shared/reference: (source) read in NOvA papers, NOvA's code or the teaching files, (derived)
computed from sourced numbers, (approx.) textbook or recalled, (calibrated) fitted to the teaching
files' statistics and displays. Named presets (`PRESETS`) bundle consistent changes: `nd`, the default
(NOvA's near detector with its rock and hall), and `fd-like`, the geometry of earlier releases.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nuclass.errors import ConfigError

__all__ = ["SimConfig", "PRESETS", "SAMPLE_SPECTRUM_GEV", "SAMPLE_SPECTRUM_CDF", "ND_SPECTRUM_CDF"]


def _p(default: Any, unit: str = "", lo: float | None = None, hi: float | None = None, *,
       lo_open: bool = False, kind: type = float, length: int | None = None) -> Any:
    """A config field with its unit and allowed range, checked when a config is made."""
    meta = {"unit": unit, "lo": lo, "hi": hi, "lo_open": lo_open, "kind": kind, "length": length}
    return field(default=default, metadata=meta)


# The teaching sample's own nuenergy CDF (reference/real-dataset.md): deciles 1.80 … 24.37 GeV, the
# 8.23 GeV-bin histogram of file 1, a beam peak at 1.7–2.3 GeV and 35.6 % at or below 3.5 GeV. The
# `fd-like` preset draws interactions from it directly (nothing is lost to a selection there).
SAMPLE_SPECTRUM_GEV = (0.5, 1.0, 1.5, 1.8, 2.24, 2.79, 3.5, 4.69, 8.72, 9.6, 11.78, 14.34, 17.93, 24.37,
                       32.92, 41.15, 49.38, 57.6, 65.8, 74.1, 82.3, 102.0)
SAMPLE_SPECTRUM_CDF = (0.0, 0.02, 0.05, 0.10, 0.20, 0.30, 0.356, 0.40, 0.50, 0.52, 0.60, 0.70, 0.80, 0.90,
                       0.951, 0.977, 0.989, 0.9953, 0.9973, 0.9984, 0.9993, 1.0)
# The interaction spectrum at the ND (flux × cross section per unit target mass, calibrated): on the
# same knots, unfolded by docs/calibrate_spectrum.py so that the *written* sample — harder, since rock
# events need an energetic muon to reach the detector — has the teaching sample's spectrum.
ND_SPECTRUM_CDF = (0.0, 0.05722, 0.12098, 0.21094, 0.37357, 0.5163, 0.58744, 0.63952, 0.72939, 0.74474,
                   0.80068, 0.86448, 0.91907, 0.96637, 0.98529, 0.99386, 0.99746, 0.99901, 0.9995, 0.99974,
                   0.99986, 1.0)


@dataclass(frozen=True)
class SimConfig:
    """Every number the simulator uses that a user may want to change; the defaults are the ND's."""

    # --- spectrum and interaction mix (per interaction, before any selection) ---
    spectrum_gev: tuple[float, ...] = _p(SAMPLE_SPECTRUM_GEV, "GeV", 0.0)
    spectrum_cdf: tuple[float, ...] = _p(ND_SPECTRUM_CDF, "", 0.0, 1.0)
    nc_to_cc: float = _p(0.30, "", 0.0, 2.0)  # σ_NC/σ_CC for ν on an isoscalar target (source: ≈ 0.31)
    share_nue_cc: float = _p(0.023, "", 0.0, 1.0)  # νe share of CC interactions (calibrated)
    nue_energy_pivot_gev: float = _p(12.0, "GeV", 0.0, lo_open=True)  # P(νe | E) ∝ E / (E + pivot)
    share_other15: float = _p(0.02, "", 0.0, 1.0)  # code 15 share of interactions (calibrated)
    share_cosmic: float = _p(0.0002, "", 0.0, 1.0)  # cosmic muons (100 m underground: rare)
    antineutrino_fraction: float = _p(0.03, "", 0.0, 1.0)  # wrong-sign ν̄ in the ν-mode beam (source)
    mode_energies_gev: tuple[float, ...] = _p((1.0, 2.0, 5.0, 10.0, 20.0), "GeV", 0.0, lo_open=True)
    mode_qe: tuple[float, ...] = _p((0.55, 0.333, 0.15, 0.07, 0.04), "", 0.0, 1.0)  # GENIE-like (approx.)
    mode_res: tuple[float, ...] = _p((0.30, 0.333, 0.18, 0.09, 0.05), "", 0.0, 1.0)
    qe_scale: float = _p(0.75, "", 0.0)  # (calibrated to the real QE/RES/DIS totals)
    res_scale: float = _p(1.15, "", 0.0)  # (calibrated)
    other_cc_fraction: float = _p(0.031, "", 0.0, 1.0)  # coherent π and 2p2h (source: real totals)
    pi0_fraction: float = _p(1.0 / 3.0, "", 0.0, 1.0)  # neutral share of pions in hadronic systems
    kaon_parent_energy_gev: float = _p(5.8, "GeV", 0.0)  # `parent` 1 (kaon-like) above ≈ this (source)

    # --- the detector (NOvA ND, source: near-detector.md) ---
    active_planes: int = _p(192, "planes", 2, kind=int)
    plane_pitch_cm: float = _p(6.61, "cm", 0.0, lo_open=True)
    cells: int = _p(96, "cells", 8, kind=int)
    cell_width_cm: float = _p(3.99, "cm", 0.0, lo_open=True)
    catcher_plates: int = _p(10, "plates", 0, kind=int)  # muon catcher: steel plates (source)
    catcher_plate_cm: float = _p(10.16, "cm", 0.0, lo_open=True)  # 4 inches (source)
    catcher_top_cm: float = _p(63.8, "cm")  # catcher 2/3 of the detector's height (approx., recalled)
    planes_per_row: int = _p(1, "planes of a view", 1, 8, kind=int)  # NOvA: one plane of a view a row

    # --- the hall and the rock around it (approx.: every printed outside vertex lies in the rock) ---
    rock_events: bool = _p(True, kind=bool)
    hall_x_cm: tuple[float, float] = _p((-250.0, 250.0), "cm", length=2)
    hall_y_cm: tuple[float, float] = _p((-200.0, 300.0), "cm", length=2)
    hall_z_cm: tuple[float, float] = _p((-1300.0, 1700.0), "cm", length=2)
    rock_shell_cm: float = _p(200.0, "cm", 0.0, lo_open=True)  # every event simulated in this shell
    rock_rate_scale: float = _p(1.0, "", 0.0)  # rock target mass relative to the physical one
    world_half_width_cm: float = _p(5000.0, "cm", 0.0, lo_open=True)
    world_upstream_cm: float = _p(20000.0, "cm", 0.0, lo_open=True)

    # --- the active material (scintillator in PVC; derived from the FD's mix unless noted) ---
    active_density_g_cm3: float = _p(0.99, "g/cm³", 0.0, lo_open=True)
    active_z_over_a: float = _p(0.536, "", 0.0, 1.0, lo_open=True)
    active_excitation_ev: float = _p(65.0, "eV", 0.0, lo_open=True)  # (approx.)
    radiation_length_cm: float = _p(38.0, "cm", 0.0, lo_open=True)  # X0 often quoted for NOvA (source)
    moliere_radius_cm: float = _p(10.0, "cm", 0.0, lo_open=True)  # ≈ 9 cm + cell granularity (approx.)
    critical_energy_mev: float = _p(80.0, "MeV", 0.0, lo_open=True)  # (approx.)
    pion_interaction_length_cm: float = _p(90.0, "cm", 0.0, lo_open=True)  # (approx.)
    proton_interaction_length_cm: float = _p(85.0, "cm", 0.0, lo_open=True)  # (approx.)
    neutron_scatter_length_cm: float = _p(70.0, "cm", 0.0, lo_open=True)  # between n–p recoils (approx.)
    active_fraction: float = _p(0.70, "", 0.0, 1.0, lo_open=True)  # deposit in scintillator, not PVC
    birks_cm_per_mev: float = _p(0.01, "cm/MeV", 0.0)  # Birks' constant, liquid scintillator (approx.)
    mcs_scale: float = _p(1.0, "", 0.0)  # multiple-scattering angles relative to the Highland formula

    # --- response and NOvA's map-making (source: NOvA's CVN code of 2016, near-detector.md) ---
    pe_per_mev: float = _p(12.0, "p.e./MeV", 0.0, lo_open=True)  # at the readout end (approx.)
    attenuation_short_cm: float = _p(200.0, "cm", 0.0, lo_open=True)  # fibre double exponential
    attenuation_long_cm: float = _p(1200.0, "cm", 0.0, lo_open=True)
    attenuation_short_weight: float = _p(0.3, "", 0.0, 1.0)
    threshold_pe: float = _p(12.0, "p.e.", 0.0)  # hit threshold (calibrated)
    energy_scale: float = _p(1.0, "", 0.0, lo_open=True)  # calibrated energy relative to the true one
    mev_per_adc: float = _p(1.089, "MeV", 0.0, lo_open=True)  # pixel = ceil(E / 1.089 MeV), cap 255
    min_slice_hits: int = _p(15, "hits", 0, kind=int)  # NOvA's MinClusterHits
    pileup_hits_per_plane: float = _p(0.05, "hits/plane", 0.0)  # strays in time with a slice (calibrated)
    pileup_mean_mev: float = _p(3.0, "MeV", 0.0, lo_open=True)  # their mean deposit (approx.)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            _check(f, getattr(self, f.name))
        knots, cdf = np.asarray(self.spectrum_gev), np.asarray(self.spectrum_cdf)
        rising = np.all(np.diff(cdf) >= 0) and np.all(np.diff(knots) > 0)
        if len(knots) != len(cdf) or len(knots) < 2 or not rising:
            raise ConfigError("spectrum_gev and spectrum_cdf must be equally long, with rising energies "
                              "and a CDF rising from 0 to 1")
        if not (cdf[0] == 0.0 and cdf[-1] == 1.0):
            raise ConfigError(f"spectrum_cdf must run from 0 to 1, got {cdf[0]} … {cdf[-1]}")
        lengths = {len(self.mode_energies_gev), len(self.mode_qe), len(self.mode_res)}
        if len(lengths) != 1:
            raise ConfigError("mode_energies_gev, mode_qe and mode_res must be equally long")
        for name in ("hall_x_cm", "hall_y_cm", "hall_z_cm"):
            lo, hi = getattr(self, name)
            if lo >= hi:
                raise ConfigError(f"{name} must be (low, high) with low < high, got ({lo}, {hi})")
        half = 0.5 * self.cells * self.cell_width_cm
        if self.rock_events and not (self.hall_x_cm[0] <= -half and self.hall_x_cm[1] >= half
                                     and self.hall_y_cm[0] <= -half and self.hall_y_cm[1] >= half
                                     and self.hall_z_cm[0] <= 0.0 and self.hall_z_cm[1] >= self.length_cm):
            raise ConfigError(f"the hall (hall_x_cm, hall_y_cm, hall_z_cm) must contain the detector: "
                              f"±{half:.1f} cm across, 0–{self.length_cm:.0f} cm along the beam")
        if not -half < self.catcher_top_cm <= half:
            raise ConfigError(f"catcher_top_cm must lie within the detector's height (±{half:.1f} cm), "
                              f"got {self.catcher_top_cm}")

    # --- derived geometry ---
    @property
    def half_width_cm(self) -> float:
        """Half of the detector's width and height (cm): cells × cell width / 2."""
        return 0.5 * self.cells * self.cell_width_cm

    @property
    def active_length_cm(self) -> float:
        """Length of the fully active region along the beam (cm)."""
        return self.active_planes * self.plane_pitch_cm

    @property
    def catcher_planes(self) -> int:
        """Scintillator planes of the muon catcher: a pair before the first plate and after each."""
        return 2 * (self.catcher_plates + 1) if self.catcher_plates else 0

    @property
    def length_cm(self) -> float:
        """Length of the whole detector, muon catcher included (cm)."""
        return (self.active_length_cm + self.catcher_planes * self.plane_pitch_cm
                + self.catcher_plates * self.catcher_plate_cm)

    # --- reading and writing ---
    @classmethod
    def from_yaml(cls, path: str | Path) -> SimConfig:
        """A preset (`preset: fd-like`, default `nd`) overridden by a YAML mapping of keys."""
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text())
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read simulator config ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else 'unreadable'})") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of simulator keys, got {type(data).__name__}")
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict, source: str = "config") -> SimConfig:
        """Like from_yaml, from a mapping; unknown keys raise ConfigError listing the valid ones."""
        data = dict(data)
        preset = data.pop("preset", "nd")
        if preset not in PRESETS:
            raise ConfigError(f"{source}: unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - valid)
        if unknown:
            near = [m for key in unknown for m in difflib.get_close_matches(key, sorted(valid), n=1)]
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise ConfigError(f"{source}: unknown simulator keys {unknown}{hint}; valid keys: "
                              f"preset, {', '.join(sorted(valid))}")
        values = {**PRESETS[preset], **data}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        try:
            return cls(**values)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    def to_dict(self) -> dict:
        """Every key and value, as `from_dict` takes them (tuples as lists)."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
                for f in dataclasses.fields(self)}


def _check(f: dataclasses.Field, value: Any) -> None:
    """One field's value against its kind, length and range; ConfigError naming key, unit and value."""
    meta = f.metadata
    kind, unit = meta.get("kind", float), meta.get("unit", "")
    unit_text = f" ({unit})" if unit else ""
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{f.name} must be true or false, got {value!r}")
        return
    items = value if isinstance(value, tuple) else (value,)
    if isinstance(f.default, tuple):
        if not isinstance(value, tuple) or not value:
            raise ConfigError(f"{f.name} must be a list of numbers{unit_text}, got {value!r}")
        if meta.get("length") and len(value) != meta["length"]:
            raise ConfigError(
                f"{f.name} must be a list of {meta['length']} numbers{unit_text}, got {value!r}")
    for item in items:
        number_ok = isinstance(item, int | float) and not isinstance(item, bool)
        if kind is int and not (number_ok and float(item).is_integer()):
            raise ConfigError(f"{f.name} must be a whole number{unit_text}, got {item!r}")
        if not number_ok or not math.isfinite(item):
            raise ConfigError(f"{f.name} must be a finite number{unit_text}, got {item!r}")
        lo, hi = meta.get("lo"), meta.get("hi")
        below = lo is not None and (item <= lo if meta.get("lo_open") else item < lo)
        if below or (hi is not None and item > hi):
            bounds = " and ".join(filter(None, [
                None if lo is None else f"{'>' if meta.get('lo_open') else '≥'} {lo:g}",
                None if hi is None else f"≤ {hi:g}"]))
            raise ConfigError(f"{f.name} must be {bounds}{unit_text}, got {item!r}")


# Named configurations: consistent sets of changes from the defaults.
PRESETS: dict[str, dict[str, Any]] = {
    "nd": {},
    # The geometry of releases before the near detector: an FD-sized box (896 planes × 384 cells of
    # 3.97 cm, 6.654 cm pitch), no catcher and no rock, rows of two planes of a view (26.6 cm), vertices
    # uniform inside; its spectrum is the teaching sample's own (nothing is lost to a rock selection).
    "fd-like": {
        "active_planes": 896, "plane_pitch_cm": 6.654, "cells": 384, "cell_width_cm": 3.97,
        "catcher_plates": 0, "catcher_top_cm": 762.24, "planes_per_row": 2, "rock_events": False,
        "spectrum_cdf": SAMPLE_SPECTRUM_CDF, "nc_to_cc": 0.111, "share_nue_cc": 0.0138,
        "share_other15": 0.0083, "qe_scale": 0.84, "res_scale": 1.32,
    },
}

"""Simulator configuration: the calibrated defaults, each with its unit and source, overridable from YAML.

Marks as in shared/reference/nova-physics.md: (source) read in NOvA papers or the teaching files,
(derived) computed from sourced numbers, (calibrated) fitted to the teaching files' statistics/displays.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nuclass.errors import ConfigError

__all__ = ["SimConfig", "NOMINAL_GEOMETRY"]

# The teaching sample's nuenergy CDF (calibrated): deciles 1.80 … 24.37 GeV and the 8.23 GeV-bin histogram
# of file 1 (reference/real-dataset.md), a beam peak at 1.7–2.3 GeV and 35.6 % at or below 3.5 GeV.
_SPECTRUM_GEV = (0.5, 1.0, 1.5, 1.8, 2.24, 2.79, 3.5, 4.69, 8.72, 9.6, 11.78, 14.34, 17.93, 24.37,
                 32.92, 41.15, 49.38, 57.6, 65.8, 74.1, 82.3, 102.0)
_SPECTRUM_CDF = (0.0, 0.02, 0.05, 0.10, 0.20, 0.30, 0.356, 0.40, 0.50, 0.52, 0.60, 0.70, 0.80, 0.90,
                 0.951, 0.977, 0.989, 0.9953, 0.9973, 0.9984, 0.9993, 1.0)

# Nominal NOvA far-detector geometry (source), kept as an alternative: one map row per plane of a view.
NOMINAL_GEOMETRY = {"row_depth_cm": 13.3, "cell_width_cm": 3.97}


@dataclass(frozen=True)
class SimConfig:
    """Every number the simulator uses that a user may want to change; the defaults are calibrated."""

    # --- spectrum and interaction mix ---
    spectrum_gev: tuple[float, ...] = _SPECTRUM_GEV
    spectrum_cdf: tuple[float, ...] = _SPECTRUM_CDF
    # Shares of all events (reference/real-dataset.md): νμ CC 88.2 %, νe CC 1.23 %, NC 9.9 %,
    # code 15 0.83 % (zero truth energies), cosmic (14) nearly absent, ν-e elastic (12) and ντ never seen.
    share_nue_cc: float = 0.0123
    share_nc: float = 0.099
    share_other15: float = 0.0083
    share_cosmic: float = 0.0002
    # νe CC come from kaon decays: a harder spectrum (νe QE is only ≈ 0.1 % of all, 8 % of νe CC).
    nue_energy_pivot_gev: float = 12.0  # P(νe | E) ∝ E / (E + pivot)  (calibrated)
    # Wrong-sign ν̄ folded into the ν codes (NOvA ν-mode beam: a few %); finalstate kOtherFS (hypothesis
    # for the real files' kOtherFS on νμ CC QE and DIS events).
    antineutrino_fraction: float = 0.03
    # νμ CC mode fractions vs Eν (GENIE-like, nova-physics.md), QE and RES scaled to the real totals
    # (within νμ CC: QE 14.2 %, RES 21.5 %, DIS 61.2 %, other 3.1 %).
    mode_energies_gev: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 20.0)
    mode_qe: tuple[float, ...] = (0.55, 0.333, 0.15, 0.07, 0.04)
    mode_res: tuple[float, ...] = (0.30, 0.333, 0.18, 0.09, 0.05)
    qe_scale: float = 0.84  # (calibrated)
    res_scale: float = 1.32  # (calibrated)
    other_cc_fraction: float = 0.031  # coherent π and 2p2h (source: real totals)

    # --- geometry ---
    # The scale question (nova-physics.md): a 1.85 GeV muon spans ≈ 20–30 rows in the teaching maps,
    # not the ≈ 63 of one view-plane per row, so rows are coarser: 2 view-planes (26.6 cm) per row fit
    # the track lengths. Across the beam the nominal cell fits: hadronic sprays 50–65 cells wide, DIS
    # cores 5–10 cells wide, muons 1–2 cells wide (calibrated against docs/sim_vs_real.png;
    # NOMINAL_GEOMETRY is the alternative).
    row_depth_cm: float = 26.6
    cell_width_cm: float = 3.97
    plane_pitch_cm: float = 6.654  # one detector plane, alternating x / y views (source)
    detector_half_width_cm: float = 780.0  # FD cells 15.5 m long (source)
    detector_length_cm: float = 5960.0  # 896 planes × 6.654 cm (derived)

    # --- materials (derived from the scintillator/PVC mix, density ≈ 0.99 g/cm³) ---
    radiation_length_cm: float = 38.0  # X0 often quoted for NOvA (source)
    moliere_radius_cm: float = 10.0  # ≈ 9 cm plus the cell granularity (approx.)
    critical_energy_mev: float = 80.0  # (approx.)
    pion_interaction_length_cm: float = 90.0  # (approx.)
    proton_interaction_length_cm: float = 85.0  # (approx.)
    neutron_scatter_length_cm: float = 70.0  # mean path between visible n–p recoils (approx.)
    active_fraction: float = 0.70  # energy deposited in scintillator, not in PVC (derived: 62.8 % by mass)
    birks_cm_per_mev: float = 0.01  # Birks' constant for liquid scintillator (approx.)

    # --- response ---
    pe_per_mev_near: float = 12.0  # photo-electrons per visible MeV at the readout end (approx.)
    attenuation_short_cm: float = 200.0  # fibre double exponential (approx.)
    attenuation_long_cm: float = 1200.0
    attenuation_short_weight: float = 0.3
    threshold_pe: float = 12.0  # pixel threshold in photo-electrons (calibrated)
    # 8-bit scale: a MIP row near 80 of 255, Bragg peaks and shower cores saturate (calibrated)
    adc_per_mev: float = 4.0
    noise_hits_per_view: float = 0.3  # CVN maps hold the slice's hits only (source)

    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if len(self.spectrum_gev) != len(self.spectrum_cdf) or np.any(np.diff(self.spectrum_cdf) < 0):
            raise ConfigError(
                "spectrum_gev and spectrum_cdf must have equal lengths and a rising CDF from 0 to 1"
            )

    @classmethod
    def from_yaml(cls, path: str | Path) -> SimConfig:
        """Defaults overridden by a YAML mapping; unknown keys raise ConfigError listing the valid ones."""
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read simulator config ({exc})") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict, source: str = "config") -> SimConfig:
        valid = {f.name for f in dataclasses.fields(cls) if f.name != "extra"}
        unknown = sorted(set(data) - valid)
        if unknown:
            raise ConfigError(
                f"{source}: unknown simulator keys {unknown}; valid keys: {', '.join(sorted(valid))}"
            )
        data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**data)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}

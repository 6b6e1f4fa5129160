"""Physical constants of the simulator, each with its unit and source; nothing here is tuned.

Marks as in shared/reference: (PDG) the Review of Particle Physics or its atomic and nuclear properties
tables, (source) a NOvA publication or NOvA's own code, (derived) computed from sourced numbers,
(approx.) a textbook value to the precision that matters here. Numbers a user may want to vary (the
detector response, the active material, the hall) live in `SimConfig` instead.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MU", "ELECTRON", "GAMMA", "PROTON", "PION", "NEUTRON", "PI0", "MASS_GEV", "M_NUCLEON_GEV",
    "BINDING_GEV", "FERMI_MOMENTUM_GEV", "PION_CTAU_CM", "MICHEL_MAX_MEV", "ELECTRON_MASS_MEV",
    "BETHE_K_MEV_CM2_G", "CAPTURE_GAMMA_MEV", "AIR", "ACTIVE", "STEEL", "ROCK", "STEEL_PROPERTIES",
    "ROCK_PROPERTIES",
]

# --- particles (PDG) ---
MU, ELECTRON, GAMMA, PROTON, PION, NEUTRON, PI0 = range(7)
MASS_GEV = np.array([0.105658, 0.000511, 0.0, 0.938272, 0.139570, 0.939565, 0.134977])
M_NUCLEON_GEV = 0.938919  # mean of proton and neutron
ELECTRON_MASS_MEV = 0.51100
PION_CTAU_CM = 780.45  # charged pion cτ (PDG)
MICHEL_MAX_MEV = 52.8  # end point of the Michel electron spectrum (PDG)
BETHE_K_MEV_CM2_G = 0.307075  # 4π N_A r_e² m_e c² (PDG)

# --- the nucleus (carbon, the main target of scintillator) ---
BINDING_GEV = 0.025  # removal energy of a QE nucleon from carbon (approx.)
FERMI_MOMENTUM_GEV = 0.221  # carbon Fermi momentum (source: Moniz et al. 1971)
CAPTURE_GAMMA_MEV = 2.224  # thermal neutron capture on hydrogen, n p → d γ (PDG)

# --- materials: kernel ids ---
AIR, ACTIVE, STEEL, ROCK = range(4)

# Columns of a material row (see sim.geometry.material_table): density g/cm³, <Z/A>, mean excitation eV,
# radiation length cm, nuclear interaction length cm, critical energy MeV, muon radiative-loss b per cm.
# Steel plates of the muon catcher: iron (PDG atomic and nuclear properties, "iron"; b from Groom,
# Mokhov & Striganov 2001: ≈ 6e-6 g⁻¹ cm² near 100 GeV).
STEEL_PROPERTIES = {
    "density_g_cm3": 7.874, "z_over_a": 0.46557, "excitation_ev": 286.0, "radiation_length_cm": 1.757,
    "interaction_length_cm": 16.77, "critical_energy_mev": 21.68, "radiative_b_per_cm": 7.874 * 6.0e-6,
}
# "Standard rock" (PDG: Z = 11, A = 22, ρ = 2.65 g/cm³; X0 = 26.54 g/cm², λ_I ≈ 101 g/cm²,
# E_c ≈ 49 MeV; muon b ≈ 4e-6 g⁻¹ cm², muon critical energy ≈ 0.7 TeV). Values as tabulated by the PDG
# to the precision recalled here (approx.); the rock around the NOvA ND is shale and dolomite of
# similar density.
ROCK_PROPERTIES = {
    "density_g_cm3": 2.65, "z_over_a": 0.5, "excitation_ev": 136.4, "radiation_length_cm": 10.02,
    "interaction_length_cm": 38.2, "critical_energy_mev": 49.1, "radiative_b_per_cm": 2.65 * 4.0e-6,
}

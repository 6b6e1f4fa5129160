"""Where interactions happen: the target mass of the detector and of the rock, as stream rates.

Per unit of flux × cross section the interaction rate of a region is its mass. The kernel draws
vertices from three streams (sim.kernel); their rates here are the detector's mass, the rock mass of
the shell around it, and — for the rock beyond, where only muons reach — the rock mass of the largest
prism a muon could come through: the detector's largest projected area times the muon's reach (its
CSDA range in rock plus the longest straight path through the hall's air). The kernel then accepts
each far candidate with the share of that bound its own muon fills.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from nuclass.sim.config import SimConfig
from nuclass.sim.constants import MASS_GEV, MU, ROCK, ROCK_PROPERTIES, STEEL_PROPERTIES
from nuclass.sim.kernel import N_VERTEX, V_AREA_BOUND, V_HALL_DIAGONAL, V_P_ACTIVE, V_P_STEEL, V_REACH_MARGIN
from nuclass.sim.transport import dedx_mev_cm

__all__ = ["StreamRates", "muon_range_table", "REACH_MARGIN"]

REACH_MARGIN = 1.3  # a far vertex is simulated if its rock path is below 1.3 × the muon's CSDA range
_RANGE_T_GEV = np.geomspace(0.01, 300.0, 600)


@njit(cache=True)
def _range_cm(kinetic_gev, mass, row):
    """CSDA range (cm) of a muon: ∫ dT / (dE/dx), in 1 % steps of its kinetic energy."""
    out = np.zeros(kinetic_gev.shape[0])
    t, travelled, j = 0.0005, 0.0, 0
    while j < kinetic_gev.shape[0]:
        step = max(0.0005, 0.01 * t)
        travelled += step * 1000.0 / dedx_mev_cm(t + 0.5 * step, mass, row, True)
        t += step
        while j < kinetic_gev.shape[0] and kinetic_gev[j] <= t:
            out[j] = travelled
            j += 1
    return out


def muon_range_table(material_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(kinetic energies GeV, CSDA ranges cm) of muons in the material of `material_row`."""
    return _RANGE_T_GEV, _range_cm(_RANGE_T_GEV, MASS_GEV[MU], material_row)


class StreamRates:
    """The three streams' relative rates and what the kernel needs to draw their vertices."""

    def __init__(self, cfg: SimConfig, materials: np.ndarray, spectrum_pdf: tuple[np.ndarray, np.ndarray]):
        """spectrum_pdf: (energies GeV, density) of the interaction spectrum on a fine grid."""
        w = 2.0 * cfg.half_width_cm
        catcher_area = w * (cfg.catcher_top_cm + cfg.half_width_cm)
        masses = np.array([
            cfg.active_density_g_cm3 * w * w * cfg.active_length_cm,
            STEEL_PROPERTIES["density_g_cm3"] * cfg.catcher_plates * cfg.catcher_plate_cm * catcher_area,
            cfg.active_density_g_cm3 * cfg.catcher_planes * cfg.plane_pitch_cm * catcher_area,
        ])
        self.detector_mass_g = masses.sum()
        self.range_t, self.range_cm = muon_range_table(materials[ROCK])
        hall = np.array([cfg.hall_x_cm, cfg.hall_y_cm, cfg.hall_z_cm])
        self.hall_diagonal_cm = float(np.linalg.norm(hall[:, 1] - hall[:, 0]))
        length = cfg.length_cm
        areas = np.array([w * w, w * length, w * length])
        self.area_bound_cm2 = float(np.linalg.norm(areas))  # max over d of Σ A_i |d_i| (Cauchy–Schwarz)
        self.vertex = np.zeros(N_VERTEX)
        self.vertex[V_P_ACTIVE], self.vertex[V_P_STEEL] = masses[0] / masses.sum(), masses[1] / masses.sum()
        self.vertex[V_AREA_BOUND], self.vertex[V_HALL_DIAGONAL] = self.area_bound_cm2, self.hall_diagonal_cm
        self.vertex[V_REACH_MARGIN] = REACH_MARGIN
        rock_density = ROCK_PROPERTIES["density_g_cm3"] * cfg.rock_rate_scale
        if cfg.rock_events:
            shell = _shell_rock_volume(cfg)
            energies, pdf = spectrum_pdf
            reach = self.far_reach_cm(energies - MASS_GEV[MU])
            self.mean_far_reach_cm = float(np.sum(pdf * reach) / np.sum(pdf))
            rates = [self.detector_mass_g, rock_density * shell,
                     rock_density * self.area_bound_cm2 * self.mean_far_reach_cm]
        else:
            rates = [self.detector_mass_g, 0.0, 0.0]
        self.rates = np.array(rates)
        self.probabilities = self.rates / self.rates.sum()

    def far_reach_cm(self, kinetic_gev: np.ndarray) -> np.ndarray:
        """Length (cm) of a muon's prism: its range in rock plus the hall's diagonal."""
        return np.interp(kinetic_gev, self.range_t, self.range_cm) + self.hall_diagonal_cm


def _shell_rock_volume(cfg: SimConfig) -> float:
    """Rock volume (cm³) of the shell box: the detector's box grown by the shell, within the world, less
    its part inside the hall."""
    s, half = cfg.rock_shell_cm, cfg.half_width_cm
    shell = np.array([[-half - s, half + s], [-half - s, half + s], [-s, cfg.length_cm + s]])
    world = np.array([[-cfg.world_half_width_cm, cfg.world_half_width_cm]] * 2
                     + [[-cfg.world_upstream_cm, cfg.hall_z_cm[1] + cfg.world_half_width_cm]])
    hall = np.array([cfg.hall_x_cm, cfg.hall_y_cm, cfg.hall_z_cm])

    def volume(a, b):
        lo, hi = np.maximum(a[:, 0], b[:, 0]), np.minimum(a[:, 1], b[:, 1])
        return float(np.prod(np.clip(hi - lo, 0.0, None)))

    inside_world = np.stack([np.maximum(shell[:, 0], world[:, 0]), np.minimum(shell[:, 1], world[:, 1])], 1)
    return volume(inside_world, inside_world) - volume(inside_world, hall)

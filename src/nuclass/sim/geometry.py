"""The detector, its hall and the rock as the kernel sees them: materials, regions and distances.

Detector coordinates are those of the real files (cm): x = y = 0 on the detector's axis, z = 0 at the
front face of the first plane, z along the beam. The fully active region is `active_planes` planes of
`cells` cells, alternating views (even planes measure x: the x–z view, view 0); the muon catcher
follows: a pair of planes, then steel plate and pair of planes, `catcher_plates` times, its planes only
`catcher_top_cm` high. Around the detector is the hall (air), around the hall the rock, up to the world's
edge. `pack_geometry` and `material_table` turn a SimConfig into the arrays the numba functions read.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from nuclass.sim.config import SimConfig
from nuclass.sim.constants import (
    ACTIVE,
    AIR,
    BETHE_K_MEV_CM2_G,
    ROCK,
    ROCK_PROPERTIES,
    STEEL,
    STEEL_PROPERTIES,
)

__all__ = ["pack_geometry", "catcher_slots", "material_table", "locate", "plane_of", "EXIT"]

EXIT = -1  # "material" beyond the world: particles there are no longer followed
EPS_CM = 1e-4  # steps cross a region boundary by this much

# Indices of the packed geometry vector.
(G_HX, G_HY, G_CELL, G_NCELLS, G_PITCH, G_NPLANES, G_ACTIVE_PLANES, G_ZA, G_ZEND, G_CTOP, G_PPR, G_ROCK,
 G_HALL_X0, G_HALL_X1, G_HALL_Y0, G_HALL_Y1, G_HALL_Z0, G_HALL_Z1, G_WORLD_HALF, G_WORLD_Z0, G_WORLD_Z1,
 G_SHELL) = range(22)
N_GEOMETRY = 22

# Columns of the material table.
(M_DENSITY, M_BETHE, M_EXCITATION, M_X0, M_LAMBDA_PI, M_LAMBDA_P, M_EC, M_RM, M_RADIATIVE_B, M_LAMBDA_N,
 M_VISIBLE) = range(11)
N_MATERIAL = 11


def pack_geometry(cfg: SimConfig) -> np.ndarray:
    """The geometry of `cfg` as the float64 vector the kernel reads (indices G_*)."""
    g = np.zeros(N_GEOMETRY)
    g[G_HX] = g[G_HY] = cfg.half_width_cm
    g[G_CELL], g[G_NCELLS], g[G_PITCH] = cfg.cell_width_cm, cfg.cells, cfg.plane_pitch_cm
    g[G_NPLANES] = cfg.active_planes + cfg.catcher_planes
    g[G_ACTIVE_PLANES] = cfg.active_planes
    g[G_ZA], g[G_ZEND] = cfg.active_length_cm, cfg.length_cm
    g[G_CTOP] = cfg.catcher_top_cm if cfg.catcher_plates else cfg.half_width_cm
    g[G_PPR] = cfg.planes_per_row
    g[G_ROCK] = 1.0 if cfg.rock_events else 0.0
    g[G_HALL_X0], g[G_HALL_X1] = cfg.hall_x_cm
    g[G_HALL_Y0], g[G_HALL_Y1] = cfg.hall_y_cm
    g[G_HALL_Z0], g[G_HALL_Z1] = cfg.hall_z_cm
    g[G_WORLD_HALF] = cfg.world_half_width_cm
    g[G_WORLD_Z0] = -cfg.world_upstream_cm
    g[G_WORLD_Z1] = cfg.hall_z_cm[1] + cfg.world_half_width_cm
    g[G_SHELL] = cfg.rock_shell_cm
    return g


def catcher_slots(cfg: SimConfig) -> np.ndarray:
    """(n, 3) float64: z from, z to (cm) and plane number (−1 for a steel plate) of each catcher slot."""
    slots = []
    z, plane = cfg.active_length_cm, cfg.active_planes
    for pair in range(cfg.catcher_plates + 1 if cfg.catcher_plates else 0):
        if pair:
            slots.append((z, z + cfg.catcher_plate_cm, -1.0))
            z += cfg.catcher_plate_cm
        for _ in range(2):
            slots.append((z, z + cfg.plane_pitch_cm, float(plane)))
            z += cfg.plane_pitch_cm
            plane += 1
    return np.array(slots, dtype=np.float64).reshape(-1, 3)


def material_table(cfg: SimConfig) -> np.ndarray:
    """(4, N_MATERIAL) float64: the properties of air, the active mix, steel and rock (columns M_*)."""
    t = np.zeros((4, N_MATERIAL))
    t[AIR, M_X0] = t[AIR, M_LAMBDA_PI] = t[AIR, M_LAMBDA_P] = t[AIR, M_LAMBDA_N] = 1e12  # empty
    t[AIR, M_EXCITATION], t[AIR, M_EC], t[AIR, M_RM] = 85.7, 87.9, 7.3e3
    t[ACTIVE] = _row(cfg.active_density_g_cm3, cfg.active_z_over_a, cfg.active_excitation_ev,
                     cfg.radiation_length_cm, cfg.pion_interaction_length_cm,
                     cfg.proton_interaction_length_cm, cfg.critical_energy_mev, cfg.moliere_radius_cm, 0.0,
                     cfg.neutron_scatter_length_cm, cfg.active_fraction)
    for material, props in ((STEEL, STEEL_PROPERTIES), (ROCK, ROCK_PROPERTIES)):
        x0, ec = props["radiation_length_cm"], props["critical_energy_mev"]
        lam = props["interaction_length_cm"]
        # Molière radius R_M = 21.2 MeV × X0 / E_c (PDG); neutrons scatter about once per λ_I (approx.)
        t[material] = _row(props["density_g_cm3"], props["z_over_a"], props["excitation_ev"], x0, lam, lam,
                           ec, 21.2 * x0 / ec, props["radiative_b_per_cm"], lam, 0.0)
    return t


def _row(density, z_over_a, excitation, x0, lam_pi, lam_p, ec, rm, radiative_b, lam_n, visible):
    row = np.zeros(N_MATERIAL)
    row[M_DENSITY], row[M_EXCITATION] = density, excitation
    row[M_BETHE] = BETHE_K_MEV_CM2_G * z_over_a * density
    row[M_X0], row[M_LAMBDA_PI], row[M_LAMBDA_P], row[M_EC], row[M_RM] = x0, lam_pi, lam_p, ec, rm
    row[M_RADIATIVE_B], row[M_LAMBDA_N], row[M_VISIBLE] = radiative_b, lam_n, visible
    return row


# ----------------------------------------------------------------------------------------------------
# Boxes and rays
# ----------------------------------------------------------------------------------------------------
@njit(cache=True)
def _axis_exit(p, d, lo, hi):
    if d > 0.0:
        return (hi - p) / d
    if d < 0.0:
        return (lo - p) / d
    return 1e30


@njit(cache=True)
def box_exit(x, y, z, dx, dy, dz, x0, x1, y0, y1, z0, z1):
    """Path length (cm) from a point inside the box to its surface along the unit vector d."""
    return max(0.0, min(_axis_exit(x, dx, x0, x1), _axis_exit(y, dy, y0, y1), _axis_exit(z, dz, z0, z1)))


@njit(cache=True)
def _slab(p, d, lo, hi, t_in, t_out):
    """Narrow (t_in, t_out) to where the ray is between lo and hi along one axis (slab method)."""
    if abs(d) < 1e-15:
        if p < lo or p > hi:
            return 1.0, 0.0  # parallel and outside: an empty interval
        return t_in, t_out
    a, b = (lo - p) / d, (hi - p) / d
    if a > b:
        a, b = b, a
    return max(t_in, a), min(t_out, b)


@njit(cache=True)
def box_entry(x, y, z, dx, dy, dz, x0, x1, y0, y1, z0, z1):
    """Path length (cm) from a point outside the box until the ray along d enters it; 1e30 if it misses."""
    t_in, t_out = _slab(x, dx, x0, x1, -1e30, 1e30)
    t_in, t_out = _slab(y, dy, y0, y1, t_in, t_out)
    t_in, t_out = _slab(z, dz, z0, z1, t_in, t_out)
    if t_in > t_out or t_out < 0.0:
        return 1e30
    return max(t_in, 0.0)


@njit(cache=True)
def box_distance(x, y, z, x0, x1, y0, y1, z0, z1):
    """Euclidean distance (cm) from a point to a box (0 inside)."""
    ax = max(x0 - x, 0.0, x - x1)
    ay = max(y0 - y, 0.0, y - y1)
    az = max(z0 - z, 0.0, z - z1)
    return math.sqrt(ax * ax + ay * ay + az * az)


@njit(cache=True)
def in_box(x, y, z, x0, x1, y0, y1, z0, z1):
    return x0 <= x <= x1 and y0 <= y <= y1 and z0 <= z < z1


@njit(cache=True)
def in_detector(g, x, y, z):
    """Inside the detector's bounding box (the catcher's missing top included)."""
    return in_box(x, y, z, -g[G_HX], g[G_HX], -g[G_HY], g[G_HY], 0.0, g[G_ZEND])


@njit(cache=True)
def in_hall(g, x, y, z):
    return in_box(x, y, z, g[G_HALL_X0], g[G_HALL_X1], g[G_HALL_Y0], g[G_HALL_Y1], g[G_HALL_Z0], g[G_HALL_Z1])


@njit(cache=True)
def in_world(g, x, y, z):
    w = g[G_WORLD_HALF]
    return in_box(x, y, z, -w, w, -w, w, g[G_WORLD_Z0], g[G_WORLD_Z1])


# ----------------------------------------------------------------------------------------------------
# Where a point is
# ----------------------------------------------------------------------------------------------------
@njit(cache=True)
def locate(g, slots, x, y, z, dx, dy, dz):
    """(material, path length to the region's boundary along d) at an absolute point; EXIT past the world.

    Regions: the fully active block, each catcher slot (a plane or a steel plate), the air above the
    catcher, the hall's air, the rock. Within a region the material is uniform.
    """
    hx, hy, za, zend = g[G_HX], g[G_HY], g[G_ZA], g[G_ZEND]
    if in_box(x, y, z, -hx, hx, -hy, hy, 0.0, zend):
        if z < za:
            return ACTIVE, box_exit(x, y, z, dx, dy, dz, -hx, hx, -hy, hy, 0.0, za)
        ctop = g[G_CTOP]
        if y > ctop:
            return AIR, box_exit(x, y, z, dx, dy, dz, -hx, hx, ctop, hy, za, zend)
        for k in range(slots.shape[0]):
            if slots[k, 0] <= z < slots[k, 1]:
                dist = box_exit(x, y, z, dx, dy, dz, -hx, hx, -hy, ctop, slots[k, 0], slots[k, 1])
                return (ACTIVE if slots[k, 2] >= 0.0 else STEEL), dist
        return AIR, 0.0
    if g[G_ROCK] == 0.0:
        return EXIT, 0.0
    if in_hall(g, x, y, z):
        out = box_exit(x, y, z, dx, dy, dz, g[G_HALL_X0], g[G_HALL_X1], g[G_HALL_Y0], g[G_HALL_Y1],
                       g[G_HALL_Z0], g[G_HALL_Z1])
        into = box_entry(x, y, z, dx, dy, dz, -hx, hx, -hy, hy, 0.0, zend)
        return AIR, min(out, into)
    if in_world(g, x, y, z):
        w = g[G_WORLD_HALF]
        out = box_exit(x, y, z, dx, dy, dz, -w, w, -w, w, g[G_WORLD_Z0], g[G_WORLD_Z1])
        into = box_entry(x, y, z, dx, dy, dz, g[G_HALL_X0], g[G_HALL_X1], g[G_HALL_Y0], g[G_HALL_Y1],
                         g[G_HALL_Z0], g[G_HALL_Z1])
        return ROCK, min(out, into)
    return EXIT, 0.0


@njit(cache=True)
def material_at(g, slots, x, y, z):
    return locate(g, slots, x, y, z, 0.0, 0.0, 1.0)[0]


@njit(cache=True)
def plane_of(g, slots, x, y, z):
    """Detector plane (0 … n_planes − 1) whose scintillator holds the point, or −1."""
    hx, hy = g[G_HX], g[G_HY]
    if not (-hx <= x <= hx and -hy <= y <= hy and 0.0 <= z < g[G_ZEND]):
        return -1
    if z < g[G_ZA]:
        return min(int(z / g[G_PITCH]), int(g[G_ACTIVE_PLANES]) - 1)
    if y > g[G_CTOP]:
        return -1
    for k in range(slots.shape[0]):
        if slots[k, 0] <= z < slots[k, 1]:
            return int(slots[k, 2])
    return -1

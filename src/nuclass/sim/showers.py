"""Electromagnetic showers as energy spots, developing in radiation lengths of whatever they cross.

A shower is a few sub-showers (the first hard bremsstrahlung photons travel before converting, so real
showers are clumpy and start in pieces). Each has a gamma-law longitudinal profile in radiation lengths
(t_max ≈ ln(E/E_c) ∓ 0.5, fluctuating shower to shower) and a core + halo lateral profile of the
Grindhammer form in Molière radii. Depth is counted in X0 along the axis through the materials it
crosses: a shower from the rock is mostly over within a metre (X0 ≈ 10 cm), one in the detector takes
metres (X0 ≈ 38 cm), and none develops in air. Only spots in active planes are seen.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from nuclass.sim.constants import AIR, ELECTRON, GAMMA, ROCK
from nuclass.sim.geometry import (
    EPS_CM,
    EXIT,
    G_HX,
    G_HY,
    G_ZEND,
    M_EC,
    M_RM,
    M_VISIBLE,
    M_X0,
    box_entry,
    locate,
)
from nuclass.sim.readout import deposit
from nuclass.sim.transport import S_DX, S_DY, S_DZ, S_KIND, S_T, S_X, S_Y, S_Z
from nuclass.sim.vectors import deflect, perpendiculars, random_shares

__all__ = ["shower", "axis_table", "MAX_DEPTH_X0"]

MAX_DEPTH_X0 = 30.0  # a shower is followed this many radiation lengths along its axis
MAX_SEGMENTS = 64
GAMMA_GAP_X0 = 9.0 / 7.0  # mean free path of a photon to pair production (PDG)
# Columns of the axis table: depth at the segment's start (X0), path at its start (cm), X0 (cm), material.
A_T0, A_S0, A_X0, A_MAT = range(4)


@njit(cache=True)
def axis_table(g, slots, mat, x, y, z, dx, dy, dz, table):
    """Walk the axis from (x, y, z) along d through the materials up to MAX_DEPTH_X0 or the world's edge.

    Fills `table` (MAX_SEGMENTS, 4) and returns (segments, path length in cm at the walk's end).
    """
    t, s = 0.0, 0.0
    n = 0
    while n < MAX_SEGMENTS and t < MAX_DEPTH_X0:
        material, boundary = locate(g, slots, x + s * dx, y + s * dy, z + s * dz, dx, dy, dz)
        if material == EXIT:
            break
        x0 = mat[material, M_X0]
        step = min(boundary + EPS_CM, (MAX_DEPTH_X0 - t) * x0 + EPS_CM)
        table[n, A_T0], table[n, A_S0], table[n, A_X0], table[n, A_MAT] = t, s, x0, material
        n += 1
        s += step
        t += step / x0
    return n, s


@njit(cache=True)
def _along_axis(table, n, t):
    """Path (cm) and material at depth t (X0) from the axis table; material −1 beyond the walk."""
    for k in range(n - 1, -1, -1):
        if t >= table[k, A_T0]:
            s = table[k, A_S0] + (t - table[k, A_T0]) * table[k, A_X0]
            if k + 1 < n and s > table[k + 1, A_S0]:
                return s, -1  # inside a segment that the walk ended in (rounding), or past it
            return s, int(table[k, A_MAT])
    return 0.0, -1


@njit(cache=True)
def shower(stack, i, buf_e, buf_pe, bbox, g, slots, mat, resp, table, fluct_tmax):
    """Deposit the shower of the electron or photon at stack row i (a photon first travels its gap)."""
    kind = int(stack[i, S_KIND])
    e_mev = stack[i, S_T] * 1000.0
    x, y, z = stack[i, S_X], stack[i, S_Y], stack[i, S_Z]
    dx, dy, dz = stack[i, S_DX], stack[i, S_DY], stack[i, S_DZ]
    if kind == GAMMA:  # an exponential gap of 9/7 X0 of the material it starts in (none in air)
        material, boundary = locate(g, slots, x, y, z, dx, dy, dz)
        if material == EXIT:
            return
        gap = GAMMA_GAP_X0 * mat[material, M_X0] * -math.log(1.0 - np.random.random())
        if gap > boundary:  # crosses into the next region: start the shower at its boundary (approx.)
            gap = boundary + EPS_CM
        x, y, z = x + gap * dx, y + gap * dy, z + gap * dz
    material, _ = locate(g, slots, x, y, z, dx, dy, dz)
    if material == EXIT:
        return
    if material == ROCK:  # from the rock: skip it unless its axis passes near the detector
        n_seg, s_end = axis_table(g, slots, mat, x, y, z, dx, dy, dz, table)
        margin = 60.0
        if box_entry(x, y, z, dx, dy, dz, -g[G_HX] - margin, g[G_HX] + margin, -g[G_HY] - margin,
                     g[G_HY] + margin, -margin, g[G_ZEND] + margin) > s_end:
            return
    ec = mat[material, M_EC]
    x0 = mat[material, M_X0]
    # hard photons radiated in the first radiation lengths: more of them at higher energy
    shares = e_mev * random_shares(1 + np.random.poisson(0.4 * math.log(max(e_mev / ec, 1.0))))
    _spots(buf_e, buf_pe, bbox, g, slots, mat, resp, table, shares[0], x, y, z, dx, dy, dz,
           kind == ELECTRON, fluct_tmax)
    for k in range(1, shares.shape[0]):
        # emitted after ≈ 1 X0 of the parent's path, converts after 9/7 X0 more, within a few degrees
        depth = x0 * (-math.log(1.0 - np.random.random()) - GAMMA_GAP_X0 * math.log(1.0 - np.random.random()))
        sx, sy, sz = deflect(dx, dy, dz, abs(np.random.normal(0.0, 0.05)))
        _spots(buf_e, buf_pe, bbox, g, slots, mat, resp, table, shares[k], x + depth * sx, y + depth * sy,
               z + depth * sz, sx, sy, sz, False, fluct_tmax)


@njit(cache=True)
def _spots(buf_e, buf_pe, bbox, g, slots, mat, resp, table, e_mev, x, y, z, dx, dy, dz, electron_like,
           fluct_tmax):
    """Energy spots of one (sub-)shower: f(r) ∝ r R² / (r² + R²)², a narrow core and a halo of about a
    Molière radius made by soft photons whose share grows past the shower maximum."""
    material, _ = locate(g, slots, x, y, z, dx, dy, dz)
    if material == EXIT:
        return
    n_seg, _ = axis_table(g, slots, mat, x, y, z, dx, dy, dz, table)
    c = -0.5 if electron_like else 0.5
    tmax = max(0.3, math.log(max(e_mev, 1.0) / mat[material, M_EC]) + c)
    if fluct_tmax:
        tmax *= math.exp(np.random.normal(0.0, 0.25))
    b = 0.5
    a = b * tmax + 1.0
    n_spots = min(500, max(3, int(e_mev / 8.0)))
    e_spot = e_mev / n_spots
    e1x, e1y, e1z, e2x, e2y, e2z = perpendiculars(dx, dy, dz)
    for _ in range(n_spots):
        t = np.random.gamma(a, 1.0 / b)
        s, where = _along_axis(table, n_seg, t)
        if where < 0 or where == AIR:
            continue  # beyond the walk (leaked), or in air (no shower develops there)
        tau = min(t / tmax, 3.0)
        rm = mat[where, M_RM]
        if np.random.random() < 0.85 - 0.12 * tau:
            radius = (0.1 + 0.15 * tau) * rm  # core
        else:
            radius = (0.6 + 0.35 * tau) * rm  # halo
        u = np.random.random()
        r = min(radius * math.sqrt(u / (1.0 - u)), 4.0 * rm)
        phi = 2.0 * math.pi * np.random.random()
        cr, sr = r * math.cos(phi), r * math.sin(phi)
        px = x + s * dx + cr * e1x + sr * e2x
        py = y + s * dy + cr * e1y + sr * e2y
        pz = z + s * dz + cr * e1z + sr * e2z
        spot, _ = locate(g, slots, px, py, pz, dx, dy, dz)
        if spot >= 0 and mat[spot, M_VISIBLE] > 0.0:
            deposit(buf_e, buf_pe, bbox, g, slots, resp, px, py, pz,
                    e_spot * mat[spot, M_VISIBLE] * np.random.gamma(4.0, 0.25))

"""From energy in cells to a NOvA pixel map: light, threshold, pile-up, slice cut and NOvA's map rules.

Deposits are collected per detector plane and cell (`deposit`, `deposit_step`); light reaching the
readout falls with the distance along the cell (a double exponential), photo-electrons are Poisson,
a hit needs `threshold_pe`. Stray hits in time with the slice (other interactions of the spill,
neutron captures) join it. A slice of fewer than `min_slice_hits` hits is not written; otherwise the
map follows NOvA's CVN code (near-detector.md): the first plane is the first hit plane with at least 4
hits in the 8 planes from it, each view is centred on its hits' median cell (window median − 40 …
+ 39), a row is one plane of its view, and a pixel is ceil(calibrated MeV in the cell / 1.089) capped
at 255.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from nuclass.sim.config import SimConfig
from nuclass.sim.geometry import (
    G_ACTIVE_PLANES,
    G_CELL,
    G_CTOP,
    G_HX,
    G_HY,
    G_NCELLS,
    G_NPLANES,
    G_PITCH,
    G_PPR,
    G_ZA,
    plane_of,
)

__all__ = ["pack_response", "new_buffers", "deposit", "deposit_step", "make_map", "MAP_ROWS", "MAP_CELLS"]

MAP_ROWS, MAP_CELLS = 100, 80  # a view's rows (planes of that view) and cells: the real files' layout
FIRST_PLANE_SPAN, FIRST_PLANE_MIN_HITS = 8, 4  # NOvA's first-plane rule (source)
MAX_ADC = 255
MAX_HITS = 20000  # hits kept per slice (an event of 100 GeV lights a few thousand)
# A stray hit joins the slice within this many planes of its view and cells of a slice hit (approx.: the
# real displays show isolated hits 10–30 cells from the event)
PILEUP_REACH_PLANES, PILEUP_REACH_CELLS = 10, 30

# Indices of the packed response vector.
(R_PE, R_ATT_S, R_ATT_L, R_ATT_W, R_THRESH, R_ESCALE, R_MEV_PER_ADC, R_MIN_HITS, R_PILEUP,
 R_PILEUP_MEV) = range(10)
N_RESPONSE = 10

# Bounding box of the cells touched by an event: first and last plane, first and last cell.
B_K0, B_K1, B_C0, B_C1 = range(4)


def pack_response(cfg: SimConfig) -> np.ndarray:
    """The response and map-making numbers of `cfg` as the float64 vector the kernel reads (R_*)."""
    r = np.zeros(N_RESPONSE)
    r[R_PE], r[R_ATT_S], r[R_ATT_L] = cfg.pe_per_mev, cfg.attenuation_short_cm, cfg.attenuation_long_cm
    r[R_ATT_W], r[R_THRESH], r[R_ESCALE] = cfg.attenuation_short_weight, cfg.threshold_pe, cfg.energy_scale
    r[R_MEV_PER_ADC], r[R_MIN_HITS] = cfg.mev_per_adc, cfg.min_slice_hits
    r[R_PILEUP], r[R_PILEUP_MEV] = cfg.pileup_hits_per_plane, cfg.pileup_mean_mev
    return r


def new_buffers(geometry: np.ndarray):
    """The per-event work arrays: energy and light per (plane, cell), the touched box, hit lists."""
    n_planes, n_cells = int(geometry[G_NPLANES]), int(geometry[G_NCELLS])
    buf_e = np.zeros((n_planes, n_cells))
    buf_pe = np.zeros((n_planes, n_cells))
    bbox = np.array([n_planes, -1, n_cells, -1], dtype=np.int64)
    hits = np.zeros((MAX_HITS, 3))
    return buf_e, buf_pe, bbox, hits


@njit(cache=True)
def _attenuation(g, r, k, x, y):
    """Share of the light that reaches the readout from (x, y) in plane k (the double exponential).

    Vertical cells (even planes, measuring x) are read out at the top, horizontal ones at the +x side.
    """
    if k & 1 == 0:
        top = g[G_HY] if k < int(g[G_ACTIVE_PLANES]) else g[G_CTOP]
        along = top - y
    else:
        along = g[G_HX] - x
    w = r[R_ATT_W]
    return w * math.exp(-along / r[R_ATT_S]) + (1.0 - w) * math.exp(-along / r[R_ATT_L])


@njit(cache=True)
def deposit_cell(buf_e, buf_pe, bbox, k, c, e_mev, light):
    """Add visible energy e_mev (and its photo-electrons `light`) to cell c of plane k."""
    buf_e[k, c] += e_mev
    buf_pe[k, c] += light
    if k < bbox[B_K0]:
        bbox[B_K0] = k
    if k > bbox[B_K1]:
        bbox[B_K1] = k
    if c < bbox[B_C0]:
        bbox[B_C0] = c
    if c > bbox[B_C1]:
        bbox[B_C1] = c


@njit(cache=True)
def deposit(buf_e, buf_pe, bbox, g, slots, r, x, y, z, e_mev):
    """Visible energy e_mev (MeV, in scintillator) at an absolute point; nothing outside a plane."""
    k = plane_of(g, slots, x, y, z)
    if k < 0:
        return
    u = x + g[G_HX] if k & 1 == 0 else y + g[G_HY]
    c = int(u / g[G_CELL])
    if c < 0 or c >= int(g[G_NCELLS]):
        return
    deposit_cell(buf_e, buf_pe, bbox, k, c, e_mev, e_mev * r[R_PE] * _attenuation(g, r, k, x, y))


@njit(cache=True)
def deposit_step(buf_e, buf_pe, bbox, g, slots, r, x, y, z, dx, dy, dz, ds, e_mev):
    """Share e_mev along a straight step of length ds (within one region) among the planes it crosses."""
    pitch = g[G_PITCH]
    z_end = z + ds * dz
    lo, hi = min(z, z_end), max(z, z_end)
    if hi >= g[G_ZA] or abs(dz) < 1e-9 or int(lo / pitch) == int(hi / pitch):
        h = 0.5 * ds  # one plane (or a catcher slot): the step's midpoint
        deposit(buf_e, buf_pe, bbox, g, slots, r, x + h * dx, y + h * dy, z + h * dz, e_mev)
        return
    span = hi - lo
    for k in range(int(lo / pitch), int(hi / pitch) + 1):
        a = max(lo, k * pitch)
        b = min(hi, (k + 1) * pitch)
        if b <= a:
            continue
        s = (0.5 * (a + b) - z) / dz  # path length to the piece's centre
        deposit(buf_e, buf_pe, bbox, g, slots, r, x + s * dx, y + s * dy, z + s * dz, e_mev * (b - a) / span)


@njit(cache=True)
def _near_slice(buf_pe, k, c, planes, cells):
    """Whether any cell of the slice lies within ± planes (same view) and ± cells of (k, c)."""
    k0, k1 = max(k - 2 * planes, 0), min(k + 2 * planes, buf_pe.shape[0] - 1)
    c0, c1 = max(c - cells, 0), min(c + cells, buf_pe.shape[1] - 1)
    for kk in range(k0 + (k - k0) % 2, k1 + 1, 2):
        for cc in range(c0, c1 + 1):
            if buf_pe[kk, cc] > 0.0:
                return True
    return False


@njit(cache=True)
def _add_pileup(buf_e, buf_pe, bbox, g, r):
    """Stray hits in time with the slice: uniform over the cells of the planes around it, joining the
    slice when within the slicer's reach of it (PILEUP_REACH planes of the view and cells)."""
    n_planes, n_cells = int(g[G_NPLANES]), int(g[G_NCELLS])
    k0 = max(0, bbox[B_K0] - 2 * PILEUP_REACH_PLANES)
    k1 = min(n_planes - 1, bbox[B_K1] + 2 * PILEUP_REACH_PLANES)
    for _ in range(np.random.poisson(r[R_PILEUP] * (k1 - k0 + 1))):
        k = k0 + int((k1 - k0 + 1) * np.random.random())
        c = int(n_cells * np.random.random())
        if not _near_slice(buf_pe, k, c, PILEUP_REACH_PLANES, PILEUP_REACH_CELLS):
            continue
        e = -r[R_PILEUP_MEV] * math.log(1.0 - np.random.random())
        deposit_cell(buf_e, buf_pe, bbox, k, c, e, e * r[R_PE])


@njit(cache=True)
def _clear(buf_e, buf_pe, bbox):
    if bbox[B_K1] >= bbox[B_K0]:
        buf_e[bbox[B_K0]:bbox[B_K1] + 1, bbox[B_C0]:bbox[B_C1] + 1] = 0.0
        buf_pe[bbox[B_K0]:bbox[B_K1] + 1, bbox[B_C0]:bbox[B_C1] + 1] = 0.0
    bbox[B_K0], bbox[B_K1], bbox[B_C0], bbox[B_C1] = buf_e.shape[0], -1, buf_e.shape[1], -1


@njit(cache=True)
def _collect_hits(buf_e, buf_pe, bbox, r, hits):
    """Photo-statistics and threshold on every touched cell: rows (plane, cell, calibrated MeV)."""
    n = 0
    for k in range(bbox[B_K0], bbox[B_K1] + 1):
        for c in range(bbox[B_C0], bbox[B_C1] + 1):
            mean_pe = buf_pe[k, c]
            if mean_pe <= 0.0:
                continue
            pe = np.random.poisson(mean_pe)
            if pe < r[R_THRESH] or pe == 0 or n >= hits.shape[0]:
                continue
            hits[n, 0], hits[n, 1] = k, c
            # calibration undoes the attenuation on average; the energy scale is a calibration knob
            hits[n, 2] = pe * buf_e[k, c] / mean_pe * r[R_ESCALE]
            n += 1
    return n


@njit(cache=True)
def first_plane(hits, n):
    """NOvA's first plane: the first hit plane with ≥ 4 hits in the 8 planes from it, else the first."""
    k_min = 1 << 30
    for i in range(n):
        k_min = min(k_min, int(hits[i, 0]))
    k_max = 0
    for i in range(n):
        k_max = max(k_max, int(hits[i, 0]))
    counts = np.zeros(k_max - k_min + FIRST_PLANE_SPAN + 1, np.int64)
    for i in range(n):
        counts[int(hits[i, 0]) - k_min] += 1
    for p in range(k_max - k_min + 1):
        if counts[p] > 0 and counts[p:p + FIRST_PLANE_SPAN].sum() >= FIRST_PLANE_MIN_HITS:
            return k_min + p
    return k_min


@njit(cache=True)
def median_cells(hits, n, n_cells):
    """Per view, the median cell of its hits (the element at n // 2 of the sorted cells)."""
    hist = np.zeros((2, n_cells), np.int64)
    for i in range(n):
        hist[int(hits[i, 0]) & 1, int(hits[i, 1])] += 1
    medians = np.full(2, n_cells // 2, np.int64)
    for v in range(2):
        total = hist[v].sum()
        if total == 0:
            continue
        acc = 0
        for c in range(n_cells):
            acc += hist[v, c]
            if acc > total // 2:
                medians[v] = c
                break
    return medians


@njit(cache=True)
def window_map(hits, n, first, medians, planes_per_row, r, out):
    """Fill out (2, 100, 80) uint8 from the hits; returns the lit pixels. Hits outside are dropped."""
    energy = np.zeros((2, MAP_ROWS, MAP_CELLS))
    for i in range(n):
        k, c = int(hits[i, 0]), int(hits[i, 1])
        if k < first:
            continue
        row = ((k - first) // 2) // planes_per_row
        v = k & 1
        col = c - (medians[v] - MAP_CELLS // 2)
        if row < MAP_ROWS and 0 <= col < MAP_CELLS:
            energy[v, row, col] += hits[i, 2]
    lit = 0
    for v in range(2):
        for row in range(MAP_ROWS):
            for col in range(MAP_CELLS):
                e = energy[v, row, col]
                if e > 0.0:
                    out[v, row, col] = min(MAX_ADC, int(math.ceil(e / r[R_MEV_PER_ADC])))
                    lit += 1
    return lit


@njit(cache=True)
def make_map(buf_e, buf_pe, bbox, hits, g, r, out):
    """Read out one event into out (2, 100, 80) uint8; clears the buffers.

    Returns (slice hits, lit pixels, calibrated MeV of the slice, first plane); a slice below the
    minimum hit count, or one with no hit in the window, is left unwritten (lit pixels 0).
    """
    if bbox[B_K1] < bbox[B_K0]:
        return 0, 0, 0.0, -1
    _add_pileup(buf_e, buf_pe, bbox, g, r)
    n = _collect_hits(buf_e, buf_pe, bbox, r, hits)
    _clear(buf_e, buf_pe, bbox)
    if n == 0 or n < r[R_MIN_HITS]:
        return n, 0, 0.0, -1
    visible = 0.0
    for i in range(n):
        visible += hits[i, 2]
    first = first_plane(hits, n)
    medians = median_cells(hits, n, int(g[G_NCELLS]))
    lit = window_map(hits, n, first, medians, int(g[G_PPR]), r, out)
    return n, lit, visible, first

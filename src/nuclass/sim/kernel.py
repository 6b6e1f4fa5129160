"""The compiled event loop: place each candidate interaction, transport its particles, read it out.

Candidates come from three streams (sim.vertices computes their rates): interactions in the detector
(vertex uniform in its mass), in the rock shell within `rock_shell_cm` of it (every channel: shower
tails and muons), and in the rock beyond, where only a νμ CC muon can reach the detector — there the
vertex is drawn in the prism that the detector's shadow casts upstream along the muon's direction,
as deep as the muon's range in rock. A candidate is written only if its slice has enough hits.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from nuclass.sim.constants import ELECTRON, GAMMA, MASS_GEV, MU, NEUTRON, PI0, PION, PROTON, ROCK
from nuclass.sim.geometry import (
    G_CTOP,
    G_HALL_X0,
    G_HALL_X1,
    G_HALL_Y0,
    G_HALL_Y1,
    G_HALL_Z0,
    G_HALL_Z1,
    G_HX,
    G_HY,
    G_NCELLS,
    G_NPLANES,
    G_SHELL,
    G_WORLD_HALF,
    G_WORLD_Z0,
    G_WORLD_Z1,
    G_ZA,
    G_ZEND,
    box_entry,
    in_box,
    material_at,
)
from nuclass.sim.kinematics import (
    CHANNEL_COSMIC,
    CHANNEL_NUMU_CC,
    INFO_FIRST_PLANE,
    INFO_HITS,
    INFO_SHOWERS,
    INFO_STREAM,
    INFO_TRACKS,
    INFO_VISIBLE_GEV,
    INFO_VTX_X,
    INFO_VTX_Y,
    INFO_VTX_Z,
    N_INFO,
    primaries,
)
from nuclass.sim.readout import MAX_HITS, R_MIN_HITS, make_map
from nuclass.sim.showers import MAX_SEGMENTS, shower
from nuclass.sim.transport import (
    F_PI0,
    MAX_PARTICLES,
    N_STACK,
    S_DX,
    S_DY,
    S_DZ,
    S_KIND,
    S_T,
    S_X,
    S_Y,
    S_Z,
    decay_pi0,
    push,
    transport_charged,
    transport_neutron,
)

__all__ = ["simulate_block", "inject", "STREAM_INSIDE", "STREAM_ROCK_NEAR", "STREAM_ROCK_FAR", "STREAM_FIXED",
           "STATUS_WRITTEN"]

STREAM_INSIDE, STREAM_ROCK_NEAR, STREAM_ROCK_FAR, STREAM_FIXED = 0, 1, 2, 3  # FIXED: a given vertex
# What became of a candidate.
(STATUS_WRITTEN, STATUS_CHANNEL, STATUS_ACCEPTANCE, STATUS_NOT_ROCK, STATUS_OUT_OF_REACH, STATUS_FEW_HITS,
 STATUS_EMPTY_WINDOW) = range(7)
N_STATUS = 7

# Indices of the packed vertex-sampling vector.
V_P_ACTIVE, V_P_STEEL, V_AREA_BOUND, V_HALL_DIAGONAL, V_REACH_MARGIN = range(5)
N_VERTEX = 5


@njit(cache=True)
def count_visible(stack, n_primary):
    """Tracks (μ, p above 100 MeV, π± above 50 MeV) and showers (e, γ above 50 MeV) among the primaries."""
    tracks = 0
    showers = 0
    for k in range(n_primary):
        kind = int(stack[k, S_KIND])
        t = stack[k, S_T]
        if kind == MU or (kind == PROTON and t > 0.1) or (kind == PION and t > 0.05):
            tracks += 1
        elif (kind == ELECTRON or kind == GAMMA) and t > 0.05:
            showers += 1
    return tracks, showers


@njit(cache=True)
def simulate_particles(stack, n, buf_e, buf_pe, bbox, g, slots, mat, phys, resp, table):
    """Process the stack in order until every particle and its secondaries are done."""
    i = 0
    while i < n:
        kind = int(stack[i, S_KIND])
        if kind == MU or kind == PROTON or kind == PION:
            n = transport_charged(stack, n, i, buf_e, buf_pe, bbox, g, slots, mat, phys, resp)
        elif kind == ELECTRON or kind == GAMMA:
            shower(stack, i, buf_e, buf_pe, bbox, g, slots, mat, resp, table, True)
        elif kind == NEUTRON:
            n = transport_neutron(stack, n, i, g, slots, mat)
        elif kind == PI0:
            n = decay_pi0(stack, n, i)
        i += 1
    return n


@njit(cache=True)
def _inside_vertex(g, slots, vtx):
    """A vertex uniform in the detector's mass: the active block, a catcher plate or a catcher plane."""
    hx, hy = g[G_HX], g[G_HY]
    x = hx * (2.0 * np.random.random() - 1.0)
    u = np.random.random()
    if u < vtx[V_P_ACTIVE] or slots.shape[0] == 0:
        return x, hy * (2.0 * np.random.random() - 1.0), g[G_ZA] * np.random.random()
    steel = u < vtx[V_P_ACTIVE] + vtx[V_P_STEEL]
    n_kind = 0
    for k in range(slots.shape[0]):
        if (slots[k, 2] < 0.0) == steel:
            n_kind += 1
    pick = int(n_kind * np.random.random())
    for k in range(slots.shape[0]):
        if (slots[k, 2] < 0.0) == steel:
            if pick == 0:
                z = slots[k, 0] + (slots[k, 1] - slots[k, 0]) * np.random.random()
                y = -hy + (g[G_CTOP] + hy) * np.random.random()
                return x, y, z
            pick -= 1
    return x, 0.0, 0.0


@njit(cache=True)
def _in_shell(g, x, y, z):
    s = g[G_SHELL]
    return in_box(x, y, z, -g[G_HX] - s, g[G_HX] + s, -g[G_HY] - s, g[G_HY] + s, -s, g[G_ZEND] + s)


@njit(cache=True)
def _shell_vertex(g):
    """A point uniform in the shell box (the detector's box grown by the shell), within the world."""
    s, w = g[G_SHELL], g[G_WORLD_HALF]
    x0, x1 = max(-g[G_HX] - s, -w), min(g[G_HX] + s, w)
    y0, y1 = max(-g[G_HY] - s, -w), min(g[G_HY] + s, w)
    z0, z1 = max(-s, g[G_WORLD_Z0]), min(g[G_ZEND] + s, g[G_WORLD_Z1])
    return (x0 + (x1 - x0) * np.random.random(), y0 + (y1 - y0) * np.random.random(),
            z0 + (z1 - z0) * np.random.random())


@njit(cache=True)
def _projected_area(g, dx, dy, dz):
    """Area (cm²) of the detector's box seen along the unit vector d."""
    w, h, length = 2.0 * g[G_HX], 2.0 * g[G_HY], g[G_ZEND]
    return w * h * abs(dz) + h * length * abs(dx) + w * length * abs(dy)


@njit(cache=True)
def _entry_point(g, dx, dy, dz):
    """A point on the faces of the detector's box that d enters through, uniform in projected area."""
    hx, hy, length = g[G_HX], g[G_HY], g[G_ZEND]
    a_z, a_x, a_y = 4.0 * hx * hy * abs(dz), 2.0 * hy * length * abs(dx), 2.0 * hx * length * abs(dy)
    u = (a_z + a_x + a_y) * np.random.random()
    x = hx * (2.0 * np.random.random() - 1.0)
    y = hy * (2.0 * np.random.random() - 1.0)
    z = length * np.random.random()
    if u < a_z:
        return x, y, (0.0 if dz > 0.0 else length)
    if u < a_z + a_x:
        return (-hx if dx > 0.0 else hx), y, z
    return x, (-hy if dy > 0.0 else hy), z


@njit(cache=True)
def _far_vertex(g, slots, vtx, range_t, range_cm, stack, e_nu):
    """Vertex in the rock beyond the shell from which the muon at stack row 0 may reach the detector.

    Accepted with probability A(d) L(E_μ) / (A_max L(E_ν)), the share of the prism bound that this
    muon's prism fills, so that the accepted vertices are uniform in the rock; returns (status, x, y, z).
    """
    dx, dy, dz = stack[0, S_DX], stack[0, S_DY], stack[0, S_DZ]
    reach_mu = np.interp(stack[0, S_T], range_t, range_cm)
    length_mu = reach_mu + vtx[V_HALL_DIAGONAL]
    length_nu = np.interp(e_nu, range_t, range_cm) + vtx[V_HALL_DIAGONAL]
    if np.random.random() * vtx[V_AREA_BOUND] * length_nu > _projected_area(g, dx, dy, dz) * length_mu:
        return STATUS_ACCEPTANCE, 0.0, 0.0, 0.0
    qx, qy, qz = _entry_point(g, dx, dy, dz)
    s = length_mu * np.random.random()
    x, y, z = qx - s * dx, qy - s * dy, qz - s * dz
    if _in_shell(g, x, y, z) or material_at(g, slots, x, y, z) != ROCK:
        return STATUS_NOT_ROCK, 0.0, 0.0, 0.0
    rock = box_entry(x, y, z, dx, dy, dz, g[G_HALL_X0], g[G_HALL_X1], g[G_HALL_Y0], g[G_HALL_Y1],
                     g[G_HALL_Z0], g[G_HALL_Z1])
    if rock > vtx[V_REACH_MARGIN] * reach_mu:
        return STATUS_OUT_OF_REACH, 0.0, 0.0, 0.0
    return STATUS_WRITTEN, x, y, z


@njit(cache=True)
def candidate_seed(base, index, stage):
    """The random seed of one stage (0 kinematics and vertex, 1 transport, 2 readout) of candidate
    `index`: a sample simulated again with another detector draws the same interactions, and one with
    another response the same particles (integer hash, 32 bits)."""
    x = (base * 1000003 + index * 2654435761 + stage * 40503) % 4294967296
    x = ((x >> 16) ^ x) * 73244475 % 4294967296
    x = ((x >> 16) ^ x) * 73244475 % 4294967296
    return (x >> 16) ^ x


@njit(cache=True)
def simulate_block(seed, first_index, energy, channel, mode, anti, stream, fixed_vertex, g, slots, mat, phys,
                   resp, vtx, range_t, range_cm, maps, info, status, hits_of):
    """Simulate candidates in order until `maps` (M, 2, 100, 80) is full or the candidates run out.

    energy (N,) GeV, channel / mode / anti / stream (N,) int, fixed_vertex (N, 3) cm the vertices of
    STREAM_FIXED candidates (unused otherwise); writes maps[j] and info[j] (N_INFO columns)
    of each written event, status[i] (STATUS_*) and hits_of[i] (slice hits) of every candidate tried.
    Candidate i draws its random numbers from seeds of (seed, first_index + i): see `candidate_seed`.
    Returns (events written, candidates tried).
    """
    stack = np.zeros((MAX_PARTICLES, N_STACK))
    n_planes, n_cells = int(g[G_NPLANES]), int(g[G_NCELLS])
    buf_e = np.zeros((n_planes, n_cells))
    buf_pe = np.zeros((n_planes, n_cells))
    bbox = np.array([n_planes, -1, n_cells, -1], dtype=np.int64)
    hits = np.zeros((MAX_HITS, 3))
    table = np.zeros((MAX_SEGMENTS, 4))
    row = np.zeros(N_INFO)
    written = 0
    i = 0
    while i < energy.shape[0] and written < maps.shape[0]:
        row[:] = 0.0
        hits_of[i] = 0
        np.random.seed(candidate_seed(seed, first_index + i, 0))
        n = primaries(stack, channel[i], mode[i], anti[i], energy[i], phys[F_PI0], row)
        if channel[i] == CHANNEL_COSMIC:
            if stream[i] != STREAM_INSIDE:
                status[i] = STATUS_CHANNEL
                i += 1
                continue
            x, _, z = _inside_vertex(g, slots, vtx)
            y = (g[G_CTOP] if z >= g[G_ZA] else g[G_HY]) - 0.01  # enters through the top
        elif stream[i] == STREAM_ROCK_FAR:
            if channel[i] != CHANNEL_NUMU_CC or int(stack[0, S_KIND]) != MU:
                status[i] = STATUS_CHANNEL
                i += 1
                continue
            outcome, x, y, z = _far_vertex(g, slots, vtx, range_t, range_cm, stack, energy[i] - MASS_GEV[MU])
            if outcome != STATUS_WRITTEN:
                status[i] = outcome
                i += 1
                continue
        elif stream[i] == STREAM_ROCK_NEAR:
            x, y, z = _shell_vertex(g)
            if material_at(g, slots, x, y, z) != ROCK:
                status[i] = STATUS_NOT_ROCK
                i += 1
                continue
        elif stream[i] == STREAM_FIXED:
            x, y, z = fixed_vertex[i, 0], fixed_vertex[i, 1], fixed_vertex[i, 2]
        else:
            x, y, z = _inside_vertex(g, slots, vtx)
        for k in range(n):
            stack[k, S_X] += x
            stack[k, S_Y] += y
            stack[k, S_Z] += z
        n_primary = n
        for k in range(n_primary):  # π⁰ primaries decay first so that their photons count as primary showers
            if int(stack[k, S_KIND]) == PI0:
                n = decay_pi0(stack, n, k)
                stack[k, S_KIND] = -1
        tracks, showers = count_visible(stack, n)
        np.random.seed(candidate_seed(seed, first_index + i, 1))
        simulate_particles(stack, n, buf_e, buf_pe, bbox, g, slots, mat, phys, resp, table)
        np.random.seed(candidate_seed(seed, first_index + i, 2))
        n_hits, lit, visible, first = make_map(buf_e, buf_pe, bbox, hits, g, resp, maps[written])
        hits_of[i] = n_hits
        if lit == 0:
            status[i] = STATUS_FEW_HITS if n_hits < resp[R_MIN_HITS] else STATUS_EMPTY_WINDOW
            i += 1
            continue
        status[i] = STATUS_WRITTEN
        row[INFO_TRACKS], row[INFO_SHOWERS] = tracks, showers
        row[INFO_VISIBLE_GEV] = visible / 1000.0
        row[INFO_VTX_X], row[INFO_VTX_Y], row[INFO_VTX_Z] = x, y, z
        row[INFO_HITS], row[INFO_FIRST_PLANE], row[INFO_STREAM] = n_hits, first, stream[i]
        info[written] = row
        written += 1
        i += 1
    return written, i



@njit(cache=True)
def inject(seed, kind, kinetic, position, direction, g, slots, mat, phys, resp, out):
    """One particle (kinetic GeV) from `position` along `direction` (cm, absolute), read out into out
    (2, 100, 80) with the configured rules; returns (slice hits, lit pixels, first plane, stack, size).

    The stack after transport shows what the particle left behind (a Michel electron marks where a
    muon stopped). For tests and studies of single particles.
    """
    np.random.seed(seed)
    stack = np.zeros((MAX_PARTICLES, N_STACK))
    n_planes, n_cells = int(g[G_NPLANES]), int(g[G_NCELLS])
    buf_e = np.zeros((n_planes, n_cells))
    buf_pe = np.zeros((n_planes, n_cells))
    bbox = np.array([n_planes, -1, n_cells, -1], dtype=np.int64)
    hits = np.zeros((MAX_HITS, 3))
    table = np.zeros((MAX_SEGMENTS, 4))
    n = push(stack, 0, kind, kinetic, position[0], position[1], position[2], direction[0], direction[1],
             direction[2], 1.0)
    n = simulate_particles(stack, n, buf_e, buf_pe, bbox, g, slots, mat, phys, resp, table)
    n_hits, lit, _, first = make_map(buf_e, buf_pe, bbox, hits, g, resp, out)
    return n_hits, lit, first, stack, n

"""Compiled event generation: final-state kinematics, particles through a NOvA-like detector, the response.

One numba kernel (`render_events`) simulates a block of events given their energy, channel, mode and
vertex: it builds the primary particles, transports them through alternating x/y scintillator planes
(stepping tracks with Bethe–Bloch losses, Birks quenching, Landau-like fluctuations and multiple Coulomb
scattering; hadronic interactions and decays push secondaries; EM showers deposit gamma-profile
spots), collects light with fibre attenuation and Poisson photo-statistics, applies a threshold and
writes 8-bit maps in the 100-row × 80-cell window of each view. Units: GeV for kinematics, MeV for
deposits, cm for lengths. Parameters arrive packed in one float64 vector (see `pack_params`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from nuclass.sim.config import SimConfig

__all__ = [
    "CHANNEL_NUMU_CC", "CHANNEL_NUE_CC", "CHANNEL_NC", "CHANNEL_COSMIC", "CHANNEL_OTHER",
    "MODE_QE", "MODE_RES", "MODE_DIS", "MODE_OTHER",
    "N_INFO", "INFO_LEPENERGY", "INFO_TRACKS", "INFO_SHOWERS", "INFO_VISIBLE_GEV", "INFO_W", "INFO_Q2",
    "pack_params", "render_events",
]

# Event channels and modes (the generator's own, mapped to NOvA codes in sim/generate.py).
CHANNEL_NUMU_CC, CHANNEL_NUE_CC, CHANNEL_NC, CHANNEL_COSMIC, CHANNEL_OTHER = 0, 1, 2, 3, 4
MODE_QE, MODE_RES, MODE_DIS, MODE_OTHER = 0, 1, 2, 3

# Particle species and masses (GeV, PDG).
MU, ELECTRON, GAMMA, PROTON, PION, NEUTRON, PI0 = 0, 1, 2, 3, 4, 5, 6
MASS = np.array([0.105658, 0.000511, 0.0, 0.938272, 0.139570, 0.939565, 0.134977])
M_NUCLEON = 0.938919  # average nucleon mass (GeV)
BINDING_GEV = 0.025  # carbon binding energy removed from QE nucleons (approx.)
FERMI_MOMENTUM_GEV = 0.221  # carbon Fermi momentum (source: Moniz)
PION_CTAU_CM = 780.45  # charged pion cτ (PDG)
BETHE_K_CM = 0.163  # K·Z/A·ρ = 0.307 MeV cm²/g × 0.536 × 0.99 g/cm³ (derived, CH + PVC mix)
IONISATION_EV = 65.0  # mean excitation energy of the mix (approx.)
MICHEL_MAX_MEV = 52.8  # Michel electron end point (PDG)

# Event-information columns returned beside the maps.
N_INFO = 6
INFO_LEPENERGY, INFO_TRACKS, INFO_SHOWERS, INFO_VISIBLE_GEV, INFO_W, INFO_Q2 = range(N_INFO)

# Indices into the packed parameter vector.
(P_ROW, P_CELL, P_PITCH, P_HALFW, P_LENGTH, P_X0, P_RM, P_EC, P_LPI, P_LP, P_LN, P_ACTIVE, P_BIRKS,
 P_PE, P_ATT_S, P_ATT_L, P_ATT_W, P_THRESH, P_ADC, P_NOISE) = range(20)

ROWS_BEFORE = 20  # buffer rows before the vertex row, for backward-going particles
SLICE_ROWS_BEFORE_VERTEX = 3  # the window may start this many rows upstream of the vertex, no more
BUF_ROWS = 140
BUF_COLS = 256
COL_VERTEX = 128
MAX_PARTICLES = 1000


def pack_params(cfg: SimConfig) -> np.ndarray:
    """The detector and response numbers of `cfg` as the float64 vector the kernel reads."""
    return np.array(
        [cfg.row_depth_cm, cfg.cell_width_cm, cfg.plane_pitch_cm, cfg.detector_half_width_cm,
         cfg.detector_length_cm, cfg.radiation_length_cm, cfg.moliere_radius_cm, cfg.critical_energy_mev,
         cfg.pion_interaction_length_cm, cfg.proton_interaction_length_cm, cfg.neutron_scatter_length_cm,
         cfg.active_fraction, cfg.birks_cm_per_mev, cfg.pe_per_mev_near, cfg.attenuation_short_cm,
         cfg.attenuation_long_cm, cfg.attenuation_short_weight, cfg.threshold_pe, cfg.adc_per_mev,
         cfg.noise_hits_per_view],
        dtype=np.float64,
    )


# ----------------------------------------------------------------------------------------------------
# Small vector helpers
# ----------------------------------------------------------------------------------------------------
@njit(cache=True)
def _isotropic():
    cos_t = 2.0 * np.random.random() - 1.0
    sin_t = math.sqrt(max(0.0, 1.0 - cos_t * cos_t))
    phi = 2.0 * math.pi * np.random.random()
    return sin_t * math.cos(phi), sin_t * math.sin(phi), cos_t


@njit(cache=True)
def _perpendiculars(dx, dy, dz):
    """Two unit vectors perpendicular to the unit vector d and to each other."""
    if abs(dz) < 0.9:
        ax, ay, az = 0.0, 0.0, 1.0
    else:
        ax, ay, az = 1.0, 0.0, 0.0
    e1x, e1y, e1z = ay * dz - az * dy, az * dx - ax * dz, ax * dy - ay * dx
    n = math.sqrt(e1x * e1x + e1y * e1y + e1z * e1z)
    e1x, e1y, e1z = e1x / n, e1y / n, e1z / n
    return e1x, e1y, e1z, dy * e1z - dz * e1y, dz * e1x - dx * e1z, dx * e1y - dy * e1x


@njit(cache=True)
def _deflect(dx, dy, dz, theta):
    """Turn the unit vector d by polar angle `theta` at a random azimuth."""
    e1x, e1y, e1z, e2x, e2y, e2z = _perpendiculars(dx, dy, dz)
    phi = 2.0 * math.pi * np.random.random()
    s, c = math.sin(theta), math.cos(theta)
    cp, sp = math.cos(phi), math.sin(phi)
    nx = c * dx + s * (cp * e1x + sp * e2x)
    ny = c * dy + s * (cp * e1y + sp * e2y)
    nz = c * dz + s * (cp * e1z + sp * e2z)
    n = math.sqrt(nx * nx + ny * ny + nz * nz)
    return nx / n, ny / n, nz / n


@njit(cache=True)
def _boost(px, py, pz, e, bx, by, bz):
    """Lorentz-boost four-momentum (p, e) by velocity b; returns (px, py, pz, e)."""
    b2 = bx * bx + by * by + bz * bz
    if b2 < 1e-12:
        return px, py, pz, e
    gamma = 1.0 / math.sqrt(1.0 - b2)
    bp = bx * px + by * py + bz * pz
    g2 = (gamma - 1.0) / b2
    f = g2 * bp + gamma * e
    return px + f * bx, py + f * by, pz + f * bz, gamma * (e + bp)


@njit(cache=True)
def _random_shares(n):
    """n fractions summing to 1, uniform on the simplex (normalised exponential draws)."""
    weights = np.empty(n)
    for k in range(n):
        weights[k] = -math.log(1.0 - np.random.random())
    return weights / weights.sum()


# ----------------------------------------------------------------------------------------------------
# The particle stack
# ----------------------------------------------------------------------------------------------------
@njit(cache=True)
def _push(stack, n, kind, kinetic, x, y, z, dx, dy, dz, primary):
    """Append a particle (kinetic energy in GeV) to the stack; returns the new count."""
    if n >= MAX_PARTICLES or kinetic <= 0.0:
        return n
    norm = math.sqrt(dx * dx + dy * dy + dz * dz)
    if norm == 0.0:
        dx, dy, dz = _isotropic()
        norm = 1.0
    stack[n, 0] = kind
    stack[n, 1] = kinetic
    stack[n, 2] = x
    stack[n, 3] = y
    stack[n, 4] = z
    stack[n, 5] = dx / norm
    stack[n, 6] = dy / norm
    stack[n, 7] = dz / norm
    stack[n, 8] = primary
    return n + 1


@njit(cache=True)
def _push_momentum(stack, n, kind, px, py, pz, x, y, z, primary):
    m = MASS[kind]
    p = math.sqrt(px * px + py * py + pz * pz)
    return _push(stack, n, kind, math.sqrt(p * p + m * m) - m, x, y, z, px, py, pz, primary)


# ----------------------------------------------------------------------------------------------------
# Energy deposition into the buffer of both views
# ----------------------------------------------------------------------------------------------------
@njit(cache=True)
def _deposit(buf_e, buf_pe, bbox, vtx, P, x, y, z, e_mev):
    """Visible energy e_mev at (x, y, z) relative to the vertex (cm) into the plane's view.

    The detector plane (absolute z) decides the view: even planes measure x (view 0), odd planes y.
    Light reaching the readout falls with the distance along the cell (fibre double exponential).
    """
    ax, ay, az = vtx[0] + x, vtx[1] + y, vtx[2] + z
    half = P[P_HALFW]
    if az < 0.0 or az > P[P_LENGTH] or abs(ax) > half or abs(ay) > half:
        return
    view = int(az / P[P_PITCH]) & 1
    row = int(math.floor(z / P[P_ROW])) + ROWS_BEFORE
    u = x if view == 0 else y
    col = int(math.floor(u / P[P_CELL])) + COL_VERTEX
    if row < 0 or row >= BUF_ROWS or col < 0 or col >= BUF_COLS:
        return
    along = half - (ay if view == 0 else ax)  # distance to the readout end of the cell
    w = P[P_ATT_W]
    att = w * math.exp(-along / P[P_ATT_S]) + (1.0 - w) * math.exp(-along / P[P_ATT_L])
    buf_e[view, row, col] += e_mev
    buf_pe[view, row, col] += e_mev * P[P_PE] * att
    b = view * 4
    if row < bbox[b]:
        bbox[b] = row
    if row > bbox[b + 1]:
        bbox[b + 1] = row
    if col < bbox[b + 2]:
        bbox[b + 2] = col
    if col > bbox[b + 3]:
        bbox[b + 3] = col


@njit(cache=True)
def _deposit_segment(buf_e, buf_pe, bbox, vtx, P, x, y, z, dx, dy, dz, ds, e_mev):
    """Share e_mev along a straight step of length ds among the detector planes it crosses."""
    pitch = P[P_PITCH]
    z_abs = vtx[2] + z
    z_end = z_abs + ds * dz
    lo, hi = min(z_abs, z_end), max(z_abs, z_end)
    first, last = int(math.floor(lo / pitch)), int(math.floor(hi / pitch))
    if first == last or abs(dz) < 1e-9:
        h = 0.5 * ds
        _deposit(buf_e, buf_pe, bbox, vtx, P, x + h * dx, y + h * dy, z + h * dz, e_mev)
        return
    span = hi - lo
    for k in range(first, last + 1):
        a = max(lo, k * pitch)
        b = min(hi, (k + 1) * pitch)
        frac = (b - a) / span
        mid = 0.5 * (a + b) - vtx[2]  # relative z of the piece's centre
        s = (mid - z) / dz  # path length to it
        _deposit(buf_e, buf_pe, bbox, vtx, P, x + s * dx, y + s * dy, mid, e_mev * frac)


@njit(cache=True)
def _dedx_mev_cm(kinetic, mass):
    """Mean ionisation loss (MeV/cm) from the Bethe formula, with a Fermi plateau above βγ ≈ 4."""
    e = kinetic + mass
    p2 = kinetic * (kinetic + 2.0 * mass)
    beta2 = p2 / (e * e)
    bg2 = min(p2 / (mass * mass), 16.0)
    arg = 2.0 * 0.511e6 * bg2 / IONISATION_EV
    term = math.log(arg) - beta2 if arg > 1.0 else 0.0
    return BETHE_K_CM / beta2 * max(term, 1.0)


# ----------------------------------------------------------------------------------------------------
# Transport
# ----------------------------------------------------------------------------------------------------
@njit(cache=True)
def _transport_charged(stack, n, i, buf_e, buf_pe, bbox, vtx, P):
    """Step a muon, proton or charged pion until it stops, interacts, decays or leaves; returns stack size."""
    kind = int(stack[i, 0])
    kinetic = stack[i, 1]
    x, y, z = stack[i, 2], stack[i, 3], stack[i, 4]
    dx, dy, dz = stack[i, 5], stack[i, 6], stack[i, 7]
    mass = MASS[kind]
    x0 = P[P_X0]
    birks = P[P_BIRKS]
    active = P[P_ACTIVE]
    row_limit = (BUF_ROWS - ROWS_BEFORE) * P[P_ROW]
    col_limit = COL_VERTEX * P[P_CELL]
    # distances to a hadronic interaction and (pions) to a decay in flight
    s_int = 1e12
    if kind == PION:
        s_int = -P[P_LPI] * math.log(1.0 - np.random.random())
    elif kind == PROTON and kinetic > 0.15:
        s_int = -P[P_LP] * math.log(1.0 - np.random.random())
    s_dec = 1e12
    if kind == PION:
        bg = math.sqrt(kinetic * (kinetic + 2.0 * mass)) / mass
        s_dec = -PION_CTAU_CM * bg * math.log(1.0 - np.random.random())
    travelled = 0.0
    while True:
        if kinetic < 0.002:
            break
        if z > row_limit or z < -ROWS_BEFORE * P[P_ROW] or abs(x) > col_limit or abs(y) > col_limit:
            return n  # left the region the maps can see
        dedx = _dedx_mev_cm(kinetic, mass)
        # step: up to 8 cm, shorter near the end of the range so that Bragg peaks are resolved
        ds = min(8.0, max(0.3, 0.25 * kinetic * 1000.0 / dedx))
        loss = dedx * ds / 1000.0
        if loss > kinetic:
            ds *= kinetic / loss
            loss = kinetic
        # Landau-like fluctuation of the deposit (gamma, mean 1, rms ≈ 0.4)
        fluct = np.random.gamma(6.0, 1.0 / 6.0)
        visible = dedx * ds * fluct / (1.0 + birks * dedx) * active
        _deposit_segment(buf_e, buf_pe, bbox, vtx, P, x, y, z, dx, dy, dz, ds, visible)
        x += ds * dx
        y += ds * dy
        z += ds * dz
        kinetic -= loss
        travelled += ds
        # multiple Coulomb scattering (PDG Highland formula)
        if kinetic > 0.0:
            p_mev = 1000.0 * math.sqrt(kinetic * (kinetic + 2.0 * mass))
            beta = p_mev / (1000.0 * (kinetic + mass))
            t = ds / x0
            theta0 = 13.6 / (beta * p_mev) * math.sqrt(t) * (1.0 + 0.038 * math.log(t))
            dx, dy, dz = _deflect(dx, dy, dz, theta0 * math.sqrt(-2.0 * math.log(1.0 - np.random.random())))
        if travelled >= s_dec and kinetic > 0.002:
            # π → μ ν in flight: the muon keeps 57–100 % of the pion energy, close to its direction
            share = 0.57 + 0.43 * np.random.random()
            mx, my, mz = _deflect(dx, dy, dz, 0.03 * np.random.random())
            return _push(stack, n, MU, (kinetic + mass) * share - MASS[MU], x, y, z, mx, my, mz, 0.0)
        if travelled >= s_int and kinetic > 0.02:
            return _hadronic_interaction(stack, n, kind, kinetic, x, y, z, dx, dy, dz)
    # at rest
    if kind == MU:
        if np.random.random() < 0.92:  # μ⁻ capture on carbon ≈ 8 %
            e_michel = MICHEL_MAX_MEV * max(np.random.random(), np.random.random()) / 1000.0
            ex, ey, ez = _isotropic()
            n = _push(stack, n, ELECTRON, e_michel, x, y, z, ex, ey, ez, 0.0)
    elif kind == PION:
        ex, ey, ez = _isotropic()
        if np.random.random() < 0.5:  # π⁺ → μ⁺ (4.1 MeV) → Michel e⁺
            n = _push(stack, n, MU, 0.0041, x, y, z, ex, ey, ez, 0.0)
        else:  # π⁻ absorbed: a nuclear fragment
            n = _push(stack, n, PROTON, 0.01 + 0.04 * np.random.random(), x, y, z, ex, ey, ez, 0.0)
    return n


@njit(cache=True)
def _hadronic_interaction(stack, n, kind, kinetic, x, y, z, dx, dy, dz):
    """A pion or proton interacts on a nucleus: elastic kink, absorption, or inelastic with secondaries."""
    r = np.random.random()
    if r < 0.25:  # quasi-elastic: a kink and a little energy to a recoil proton
        kept = kinetic * (0.8 + 0.15 * np.random.random())
        nx, ny, nz = _deflect(dx, dy, dz, abs(np.random.normal(0.0, 0.35)))
        n = _push(stack, n, kind, kept, x, y, z, nx, ny, nz, 0.0)
        px, py, pz = _deflect(dx, dy, dz, 0.6 + 0.6 * np.random.random())
        return _push(stack, n, PROTON, 0.3 * (kinetic - kept), x, y, z, px, py, pz, 0.0)
    if kind == PION and r < 0.45 and kinetic < 0.6:  # absorption: nucleons share the energy
        for _ in range(2):
            px, py, pz = _deflect(dx, dy, dz, 1.2 * np.random.random())
            sp = NEUTRON if np.random.random() < 0.5 else PROTON
            n = _push(stack, n, sp, 0.4 * kinetic * np.random.random(), x, y, z, px, py, pz, 0.0)
        return n
    # inelastic: the struck nucleus breaks up, evaporating slow protons (a few tens of MeV each: bright
    # dots at the interaction point) and neutrons, and binds a share of the energy
    n_frag = np.random.poisson(1.0 + min(kinetic, 2.0))
    for _ in range(n_frag):
        fx, fy, fz = _isotropic()
        sp = PROTON if np.random.random() < 0.5 else NEUTRON
        n = _push(stack, n, sp, min(-0.03 * math.log(1.0 - np.random.random()), 0.05 * kinetic), x, y, z,
                  fx, fy, fz, 0.0)
    # the leading particle and 1 + Poisson(T/0.8 GeV) secondaries share ≈ 75 % of the energy (the rest:
    # the nucleus, binding)
    shares = 0.75 * kinetic * _random_shares(2 + np.random.poisson(kinetic / 0.8))
    for k, share in enumerate(shares):
        spread = min(1.2, 0.25 / math.sqrt(max(share, 0.02)))
        px, py, pz = _deflect(dx, dy, dz, abs(np.random.normal(0.0, spread)))
        if k == 0:
            sp = kind  # the leading particle
        else:
            u = np.random.random()
            sp = PION if u < 0.45 else (PI0 if u < 0.65 else (PROTON if u < 0.85 else NEUTRON))
        n = _push(stack, n, sp, share, x, y, z, px, py, pz, 0.0)
    return n


@njit(cache=True)
def _transport_neutron(stack, n, i, P):
    """A neutron is invisible but scatters on protons every ≈ 70 cm, leaving short recoil stubs far away."""
    kinetic = stack[i, 1]
    x, y, z = stack[i, 2], stack[i, 3], stack[i, 4]
    dx, dy, dz = stack[i, 5], stack[i, 6], stack[i, 7]
    for _ in range(6):
        if kinetic < 0.02:
            break
        step = -P[P_LN] * math.log(1.0 - np.random.random())
        x += step * dx
        y += step * dy
        z += step * dz
        recoil = kinetic * (0.1 + 0.45 * np.random.random())
        px, py, pz = _deflect(dx, dy, dz, 0.2 + 1.1 * np.random.random())
        n = _push(stack, n, PROTON, recoil, x, y, z, px, py, pz, 0.0)
        kinetic -= recoil
        dx, dy, dz = _deflect(dx, dy, dz, 0.6 * np.random.random())
    return n


@njit(cache=True)
def _shower(stack, i, buf_e, buf_pe, bbox, vtx, P, fluct_tmax):
    """An EM shower as a few sub-showers: the first generations of hard bremsstrahlung and pair
    production hand the energy to photons that travel before they convert, so real showers are clumpy
    and start in pieces. A photon primary first travels its own exponential gap of 9/7 X0."""
    kind = int(stack[i, 0])
    e_mev = stack[i, 1] * 1000.0
    x, y, z = stack[i, 2], stack[i, 3], stack[i, 4]
    dx, dy, dz = stack[i, 5], stack[i, 6], stack[i, 7]
    x0 = P[P_X0]
    if kind == GAMMA:
        gap = -9.0 / 7.0 * x0 * math.log(1.0 - np.random.random())
        x += gap * dx
        y += gap * dy
        z += gap * dz
    # hard photons radiated in the first radiation lengths: more of them at higher energy
    shares = e_mev * _random_shares(1 + np.random.poisson(0.4 * math.log(max(e_mev / P[P_EC], 1.0))))
    _shower_spots(buf_e, buf_pe, bbox, vtx, P, shares[0], x, y, z, dx, dy, dz, kind == ELECTRON, fluct_tmax)
    for share in shares[1:]:
        # emitted after ≈ 1 X0 of the parent's path, converts after 9/7 X0 more, within a few degrees
        depth = -x0 * math.log(1.0 - np.random.random()) - 9.0 / 7.0 * x0 * math.log(1.0 - np.random.random())
        sx, sy, sz = _deflect(dx, dy, dz, abs(np.random.normal(0.0, 0.05)))
        _shower_spots(buf_e, buf_pe, bbox, vtx, P, share, x + depth * sx, y + depth * sy, z + depth * sz,
                      sx, sy, sz, False, fluct_tmax)


@njit(cache=True)
def _shower_spots(buf_e, buf_pe, bbox, vtx, P, e_mev, x, y, z, dx, dy, dz, electron_like, fluct_tmax):
    """Energy spots of one (sub-)shower: a gamma-law longitudinal profile (t_max ≈ ln(E/Ec) ∓ 0.5 X0,
    fluctuating shower to shower) and a two-component lateral profile f(r) ∝ r R² / (r² + R²)² (the
    Grindhammer form): a narrow core and a halo of about a Molière radius made by soft photons, whose
    share grows past the shower maximum."""
    x0 = P[P_X0]
    c = -0.5 if electron_like else 0.5
    tmax = max(0.3, math.log(max(e_mev, 1.0) / P[P_EC]) + c)
    if fluct_tmax:
        tmax *= math.exp(np.random.normal(0.0, 0.25))
    b = 0.5
    a = b * tmax + 1.0
    n_spots = min(500, max(3, int(e_mev / 8.0)))
    e_spot = e_mev / n_spots * P[P_ACTIVE]
    e1x, e1y, e1z, e2x, e2y, e2z = _perpendiculars(dx, dy, dz)
    rm = P[P_RM]
    for _ in range(n_spots):
        t = np.random.gamma(a, 1.0 / b)
        depth = t * x0
        tau = min(t / tmax, 3.0)
        if np.random.random() < 0.85 - 0.12 * tau:
            radius = (0.1 + 0.15 * tau) * rm  # core
        else:
            radius = (0.6 + 0.35 * tau) * rm  # halo
        u = np.random.random()
        r = min(radius * math.sqrt(u / (1.0 - u)), 4.0 * rm)
        phi = 2.0 * math.pi * np.random.random()
        cr, sr = r * math.cos(phi), r * math.sin(phi)
        sx = x + depth * dx + cr * e1x + sr * e2x
        sy = y + depth * dy + cr * e1y + sr * e2y
        sz = z + depth * dz + cr * e1z + sr * e2z
        _deposit(buf_e, buf_pe, bbox, vtx, P, sx, sy, sz, e_spot * np.random.gamma(4.0, 0.25))


@njit(cache=True)
def _decay_pi0(stack, n, i):
    """π⁰ → γγ, isotropic in its rest frame, boosted along its flight direction."""
    kinetic = stack[i, 1]
    m = MASS[PI0]
    e = kinetic + m
    p = math.sqrt(kinetic * (kinetic + 2.0 * m))
    bx, by, bz = p / e * stack[i, 5], p / e * stack[i, 6], p / e * stack[i, 7]
    ux, uy, uz = _isotropic()
    half = 0.5 * m
    primary = stack[i, 8]
    for sign in (1.0, -1.0):
        gx, gy, gz, ge = _boost(sign * half * ux, sign * half * uy, sign * half * uz, half, bx, by, bz)
        n = _push(stack, n, GAMMA, ge, stack[i, 2], stack[i, 3], stack[i, 4], gx, gy, gz, primary)
    return n


# ----------------------------------------------------------------------------------------------------
# Interaction kinematics
# ----------------------------------------------------------------------------------------------------
@njit(cache=True)
def _lepton_angle(e_nu, e_lep, m_lep, q2):
    """cos θ of the lepton from Q² = 2 Eν (E_l − p_l cos θ) − m², clipped to the physical range."""
    p_lep = math.sqrt(max(e_lep * e_lep - m_lep * m_lep, 1e-12))
    c = (2.0 * e_nu * e_lep - m_lep * m_lep - q2) / (2.0 * e_nu * p_lep)
    return min(1.0, max(-1.0, c)), p_lep


@njit(cache=True)
def _hadronic_system(stack, n, masses, kinds, n_had, w, qx, qy, qz, q0, longitudinal):
    """Decay a hadronic system of invariant mass w and lab four-momentum (q, q0) into `kinds`.

    longitudinal=False: isotropic phase space (resonance and 2p2h decays). True: DIS-like fragmentation,
    limited transverse momentum (⟨pT⟩ ≈ 0.35 GeV) and flat rapidity along q, the leading nucleon backward.
    Momenta are balanced and scaled so that the energies add up to w in the rest frame, then boosted.
    """
    pxs = np.zeros(n_had)
    pys = np.zeros(n_had)
    pzs = np.zeros(n_had)
    qn = math.sqrt(qx * qx + qy * qy + qz * qz)
    ux, uy, uz = (qx / qn, qy / qn, qz / qn) if qn > 0 else (0.0, 0.0, 1.0)
    e1x, e1y, e1z, e2x, e2y, e2z = _perpendiculars(ux, uy, uz)
    ymax = math.log(max(w, 1.2) / 0.3)
    for k in range(n_had):
        if longitudinal:
            pt = -0.35 * math.log(1.0 - np.random.random())
            phi = 2.0 * math.pi * np.random.random()
            rap = (np.random.random() - 1.0) * ymax if k == 0 else (2.0 * np.random.random() - 1.0) * ymax
            mt = math.sqrt(masses[k] ** 2 + pt * pt)
            pl = mt * math.sinh(rap)
            a, bb = pt * math.cos(phi), pt * math.sin(phi)
            pxs[k] = a * e1x + bb * e2x + pl * ux
            pys[k] = a * e1y + bb * e2y + pl * uy
            pzs[k] = a * e1z + bb * e2z + pl * uz
        else:
            ix, iy, iz = _isotropic()
            mag = -0.3 * math.log(1.0 - np.random.random())
            pxs[k], pys[k], pzs[k] = mag * ix, mag * iy, mag * iz
    if n_had == 2:  # exact two-body: back to back
        pxs[1], pys[1], pzs[1] = -pxs[0], -pys[0], -pzs[0]
    else:
        mx, my, mz = pxs.mean(), pys.mean(), pzs.mean()
        pxs -= mx
        pys -= my
        pzs -= mz
    # scale momenta so that Σ sqrt(m² + s² p²) = w (bisection)
    lo, hi = 0.0, 1.0
    while True:
        tot = 0.0
        for k in range(n_had):
            tot += math.sqrt(masses[k] ** 2 + hi * hi * (pxs[k] ** 2 + pys[k] ** 2 + pzs[k] ** 2))
        if tot >= w or hi > 1e4:
            break
        hi *= 2.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        tot = 0.0
        for k in range(n_had):
            tot += math.sqrt(masses[k] ** 2 + mid * mid * (pxs[k] ** 2 + pys[k] ** 2 + pzs[k] ** 2))
        if tot > w:
            hi = mid
        else:
            lo = mid
    s = 0.5 * (lo + hi)
    bx, by, bz = qx / q0, qy / q0, qz / q0
    for k in range(n_had):
        px, py, pz = s * pxs[k], s * pys[k], s * pzs[k]
        e = math.sqrt(masses[k] ** 2 + px * px + py * py + pz * pz)
        lx, ly, lz, _ = _boost(px, py, pz, e, bx, by, bz)
        n = _push_momentum(stack, n, int(kinds[k]), lx, ly, lz, 0.0, 0.0, 0.0, 1.0)
    return n


@njit(cache=True)
def _sample_kinematics(mode, e_nu, m_lep, anti):
    """(y_inel, Q², W) for a mode at energy e_nu, inside the physical region (GeV units)."""
    m = M_NUCLEON
    for _ in range(200):
        if mode == MODE_QE:
            q2 = -0.25 * math.log(1.0 - np.random.random())
            nu = q2 / (2.0 * m) + BINDING_GEV
            w = m
        elif mode == MODE_RES:
            w = 1.232 + 0.058 * math.tan(math.pi * (np.random.random() - 0.5))
            if w < 1.08 or w > 1.75:
                continue
            q2 = -0.35 * math.log(1.0 - np.random.random())
            nu = (w * w - m * m + q2) / (2.0 * m)
        elif mode == MODE_DIS:
            # dσ/dy ∝ 1 + 0.2 (1 − y)² for ν (quarks flat, antiquarks (1 − y)²) and 0.2 + (1 − y)² for ν̄,
            # whose lepton is harder; x ~ Beta(0.5, 2.5)
            yi = np.random.random()
            shape = 0.2 + (1.0 - yi) ** 2 if anti else 1.0 + 0.2 * (1.0 - yi) ** 2
            if np.random.random() * 1.2 > shape:
                continue
            xb = np.random.beta(0.5, 2.5)
            nu = e_nu * yi
            q2 = 2.0 * m * e_nu * xb * yi
            w2 = m * m + q2 * (1.0 / max(xb, 1e-6) - 1.0)
            if w2 < 1.7 * 1.7:
                continue
            w = math.sqrt(w2)
        else:  # 2p2h / coherent-like: small Q², modest energy transfer
            q2 = -0.2 * math.log(1.0 - np.random.random())
            nu = q2 / (2.0 * m) + 0.05 + 0.25 * np.random.random() * min(e_nu, 3.0)
            w = 2.0 * m
        e_lep = e_nu - nu
        if e_lep <= m_lep + 0.005:
            continue
        p_lep = math.sqrt(e_lep * e_lep - m_lep * m_lep)
        cos_theta = (2.0 * e_nu * e_lep - m_lep * m_lep - q2) / (2.0 * e_nu * p_lep)
        if abs(cos_theta) <= 1.0:  # inside the physical region
            return nu / e_nu, q2, w
    # fall back to a forward, soft interaction
    return 0.1, 0.05, m


@njit(cache=True)
def _primaries(stack, channel, mode, anti, e_nu, info):
    """Push the visible primaries of one interaction; returns the stack size and fills `info`."""
    n = 0
    if channel == CHANNEL_COSMIC:
        # a downward cosmic muon (cos² zenith), entering from above the window
        cos_z = math.sqrt(np.random.random())
        sin_z = math.sqrt(1.0 - cos_z * cos_z)
        phi = 2.0 * math.pi * np.random.random()
        kinetic = 1.0 + -3.0 * math.log(1.0 - np.random.random())
        start_z = 100.0 + 500.0 * np.random.random()
        n = _push(stack, n, MU, kinetic, -200.0 * sin_z * math.cos(phi), 250.0, start_z,
                  sin_z * math.cos(phi), -cos_z, sin_z * math.sin(phi), 1.0)
        info[INFO_LEPENERGY] = 0.0
        return n
    cc = channel == CHANNEL_NUMU_CC or channel == CHANNEL_NUE_CC
    lep_kind = MU if channel == CHANNEL_NUMU_CC else ELECTRON
    m_lep = MASS[lep_kind] if cc else 0.0
    y_inel, q2, w = _sample_kinematics(mode, e_nu, m_lep, anti)
    e_lep = e_nu * (1.0 - y_inel)
    c, p_lep = _lepton_angle(e_nu, e_lep, m_lep, q2)
    s = math.sqrt(max(0.0, 1.0 - c * c))
    phi = 2.0 * math.pi * np.random.random()
    lx, ly, lz = p_lep * s * math.cos(phi), p_lep * s * math.sin(phi), p_lep * c
    if cc:
        n = _push(stack, n, lep_kind, e_lep - m_lep, 0.0, 0.0, 0.0, lx, ly, lz, 1.0)
    info[INFO_LEPENERGY] = e_lep
    info[INFO_W] = w
    info[INFO_Q2] = q2
    # the hadronic system: four-momentum transfer q = p_ν − p_ℓ on a nucleon at rest (+ Fermi motion)
    nu = e_nu - e_lep
    qx, qy, qz = -lx, -ly, e_nu - lz
    fx, fy, fz = _isotropic()
    pf = FERMI_MOMENTUM_GEV * np.random.random() ** (1.0 / 3.0)
    masses = np.empty(24)
    kinds = np.empty(24)
    if mode == MODE_QE:
        if cc:
            kind = NEUTRON if anti else PROTON
        else:
            kind = PROTON if np.random.random() < 0.5 else NEUTRON
        kinetic = max(nu - BINDING_GEV, 0.001)
        return _push(stack, n, kind, kinetic, 0.0, 0.0, 0.0, qx + pf * fx, qy + pf * fy, qz + pf * fz, 1.0)
    if mode == MODE_RES:
        u = np.random.random()
        if cc and not anti:
            nk, pk = (PROTON, PION) if u < 0.67 else ((PROTON, PI0) if u < 0.89 else (NEUTRON, PION))
        elif cc:
            nk, pk = (NEUTRON, PION) if u < 0.67 else ((NEUTRON, PI0) if u < 0.89 else (PROTON, PION))
        else:
            nk, pk = (PROTON, PI0) if u < 0.35 else ((NEUTRON, PI0) if u < 0.5 else
                                                    ((NEUTRON, PION) if u < 0.75 else (PROTON, PION)))
        kinds[0], kinds[1] = nk, pk
        masses[0], masses[1] = MASS[nk], MASS[pk]
        return _hadronic_system(stack, n, masses, kinds, 2, w, qx, qy, qz, nu + M_NUCLEON, False)
    if mode == MODE_DIS:
        # ⟨n_π⟩ grows like ln W² (charged multiplicity ≈ 0.4 + 1.4 ln W²), a third of them π⁰
        n_pi = max(1, min(23, np.random.poisson(0.3 + 1.6 * math.log(w * w))))
        kinds[0] = PROTON if np.random.random() < 0.5 else NEUTRON
        masses[0] = MASS[int(kinds[0])]
        total_mass = masses[0]
        n_had = 1
        for _ in range(n_pi):
            sp = PI0 if np.random.random() < 1.0 / 3.0 else PION
            if total_mass + MASS[sp] >= w - 0.05:
                break
            kinds[n_had] = sp
            masses[n_had] = MASS[sp]
            total_mass += MASS[sp]
            n_had += 1
        return _hadronic_system(stack, n, masses, kinds, n_had, w, qx, qy, qz, nu + M_NUCLEON, True)
    # other CC: half coherent π (one forward pion, the nucleus recoils unseen), half 2p2h (two nucleons)
    if np.random.random() < 0.5:
        kind = PION if cc else PI0
        qn = math.sqrt(qx * qx + qy * qy + qz * qz)
        px, py, pz = _deflect(qx / qn, qy / qn, qz / qn, abs(np.random.normal(0.0, 0.1)))
        return _push(stack, n, kind, max(nu - MASS[kind], 0.001), 0.0, 0.0, 0.0, px, py, pz, 1.0)
    kinds[0] = PROTON
    kinds[1] = NEUTRON if (anti or np.random.random() < 0.5) else PROTON
    masses[0], masses[1] = MASS[PROTON], MASS[int(kinds[1])]
    q0 = nu + 2.0 * M_NUCLEON - 2.0 * BINDING_GEV
    w2 = q0 * q0 - (qx * qx + qy * qy + qz * qz)
    w_sys = math.sqrt(max(w2, (masses[0] + masses[1] + 0.002) ** 2))
    q0 = math.sqrt(w_sys * w_sys + qx * qx + qy * qy + qz * qz)
    return _hadronic_system(stack, n, masses, kinds, 2, w_sys, qx, qy, qz, q0, False)


# ----------------------------------------------------------------------------------------------------
# One event and a block of events
# ----------------------------------------------------------------------------------------------------
@njit(cache=True)
def _count_visible(stack, n_primary):
    """Tracks (μ, p above 100 MeV, π± above 50 MeV) and showers (e, γ above 50 MeV) among the primaries."""
    tracks = 0
    showers = 0
    for k in range(n_primary):
        kind = int(stack[k, 0])
        t = stack[k, 1]
        if kind == MU or (kind == PROTON and t > 0.1) or (kind == PION and t > 0.05):
            tracks += 1
        elif (kind == ELECTRON or kind == GAMMA) and t > 0.05:
            showers += 1
    return tracks, showers


@njit(cache=True)
def _simulate_particles(stack, n, buf_e, buf_pe, bbox, vtx, P):
    """Process the stack in order until every particle and secondary is done."""
    i = 0
    while i < n:
        kind = int(stack[i, 0])
        if kind == MU or kind == PROTON or kind == PION:
            n = _transport_charged(stack, n, i, buf_e, buf_pe, bbox, vtx, P)
        elif kind == ELECTRON or kind == GAMMA:
            _shower(stack, i, buf_e, buf_pe, bbox, vtx, P, True)
        elif kind == NEUTRON:
            n = _transport_neutron(stack, n, i, P)
        elif kind == PI0:
            n = _decay_pi0(stack, n, i)
        i += 1
    return n


@njit(cache=True)
def _digitise(buf_e, buf_pe, bbox, P, out):
    """Window, light statistics, threshold and 8-bit charge for one event; returns lit pixels and visible MeV.

    The window starts at the first row holding light in either view (at most a few rows upstream of the
    vertex) and is centred, per view, on the
    energy-weighted median cell, as NOvA's CVN maps are. Clears the buffer region it used.
    """
    r_first = BUF_ROWS
    for v in range(2):
        b = v * 4
        if bbox[b + 1] < bbox[b]:
            continue
        # stray light far upstream of the vertex (backward neutrons) is not part of the slice's start
        for r in range(max(bbox[b], ROWS_BEFORE - SLICE_ROWS_BEFORE_VERTEX), bbox[b + 1] + 1):
            found = False
            for c in range(bbox[b + 2], bbox[b + 3] + 1):
                if buf_pe[v, r, c] >= P[P_THRESH]:
                    found = True
                    break
            if found:
                if r < r_first:
                    r_first = r
                break
    lit = 0
    visible = 0.0
    if r_first < BUF_ROWS:
        for v in range(2):
            b = v * 4
            if bbox[b + 1] < bbox[b]:
                continue
            # energy-weighted median cell of the view
            total = 0.0
            for r in range(bbox[b], bbox[b + 1] + 1):
                for c in range(bbox[b + 2], bbox[b + 3] + 1):
                    total += buf_e[v, r, c]
            acc = 0.0
            median = COL_VERTEX
            for c in range(bbox[b + 2], bbox[b + 3] + 1):
                for r in range(bbox[b], bbox[b + 1] + 1):
                    acc += buf_e[v, r, c]
                if acc >= 0.5 * total:
                    median = c
                    break
            c0 = median - 40
            for r in range(max(r_first, bbox[b]), min(r_first + 100, bbox[b + 1] + 1)):
                for c in range(max(c0, bbox[b + 2]), min(c0 + 80, bbox[b + 3] + 1)):
                    mean_pe = buf_pe[v, r, c]
                    if mean_pe <= 0.0:
                        continue
                    pe = np.random.poisson(mean_pe)
                    if pe < P[P_THRESH]:
                        continue
                    e_cal = pe * buf_e[v, r, c] / mean_pe  # calibration undoes the attenuation on average
                    adc = int(e_cal * P[P_ADC] + 0.5)
                    out[v, r - r_first, c - c0] = min(255, max(1, adc))
                    lit += 1
                    visible += e_cal
            # a few stray hits of the slice near the event
            for _ in range(np.random.poisson(P[P_NOISE])):
                r = int(60 * np.random.random())
                c = int(80 * np.random.random())
                if out[v, r, c] == 0:
                    out[v, r, c] = min(255, 4 + int(-12.0 * math.log(1.0 - np.random.random())))
    for v in range(2):
        b = v * 4
        if bbox[b + 1] >= bbox[b]:
            buf_e[v, bbox[b]:bbox[b + 1] + 1, bbox[b + 2]:bbox[b + 3] + 1] = 0.0
            buf_pe[v, bbox[b]:bbox[b + 1] + 1, bbox[b + 2]:bbox[b + 3] + 1] = 0.0
        bbox[b], bbox[b + 1], bbox[b + 2], bbox[b + 3] = BUF_ROWS, -1, BUF_COLS, -1
    return lit, visible


@njit(cache=True)
def render_events(seed, energy, channel, mode, anti, vertex, P, maps, info):
    """Simulate events i = 0..N−1 into maps (N, 2, 100, 80) uint8 and info (N, N_INFO).

    energy (N,) GeV, channel/mode/anti (N,) int, vertex (N, 3) cm in detector coordinates (z along the
    beam from the front face), P from `pack_params`. Events that leave no light above threshold are
    generated again with new kinematics: every event of the real files has at least one lit pixel.
    """
    np.random.seed(seed)
    stack = np.zeros((MAX_PARTICLES, 9))
    buf_e = np.zeros((2, BUF_ROWS, BUF_COLS))
    buf_pe = np.zeros((2, BUF_ROWS, BUF_COLS))
    bbox = np.array([BUF_ROWS, -1, BUF_COLS, -1, BUF_ROWS, -1, BUF_COLS, -1])
    row = np.zeros(N_INFO)
    for i in range(energy.shape[0]):
        for _attempt in range(50):
            row[:] = 0.0
            n = _primaries(stack, channel[i], mode[i], anti[i], energy[i], row)
            n_primary = n
            # π⁰ primaries decay first so that their photons count as primary showers
            for k in range(n_primary):
                if int(stack[k, 0]) == PI0:
                    n = _decay_pi0(stack, n, k)
                    stack[k, 0] = -1
            tracks, showers = _count_visible(stack, n)
            _simulate_particles(stack, n, buf_e, buf_pe, bbox, vertex[i], P)
            lit, visible = _digitise(buf_e, buf_pe, bbox, P, maps[i])
            if lit > 0:
                break
            maps[i] = 0
        row[INFO_TRACKS] = tracks
        row[INFO_SHOWERS] = showers
        row[INFO_VISIBLE_GEV] = visible / (1000.0 * P[P_ACTIVE])
        info[i] = row

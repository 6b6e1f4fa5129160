"""Particles through matter: the particle stack, charged tracks, hadronic interactions, neutrons, π⁰.

Charged particles are stepped through whatever material they are in (the active mix, catcher steel,
rock; air is crossed in one step) with the Bethe mean loss plus the muon's radiative loss b·E,
Landau-like fluctuations, Birks quenching of the visible part, and Highland multiple scattering with
the material's radiation length. Hadronic interactions and decays are sampled in interaction lengths
of the materials crossed, so a pion born in rock usually interacts there, within a metre. Only the
active planes see anything; a particle that can no longer reach the hall is dropped.
Units: GeV for kinematics, MeV for deposits, cm for lengths.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from nuclass.sim.constants import (
    ACTIVE,
    AIR,
    BETHE_K_MEV_CM2_G,
    ELECTRON,
    ELECTRON_MASS_MEV,
    GAMMA,
    MASS_GEV,
    MICHEL_MAX_MEV,
    MU,
    NEUTRON,
    PI0,
    PION,
    PION_CTAU_CM,
    PROTON,
    ROCK,
)
from nuclass.sim.geometry import (
    EPS_CM,
    EXIT,
    G_HALL_X0,
    G_HALL_X1,
    G_HALL_Y0,
    G_HALL_Y1,
    G_HALL_Z0,
    G_HALL_Z1,
    M_BETHE,
    M_EXCITATION,
    M_LAMBDA_N,
    M_LAMBDA_P,
    M_LAMBDA_PI,
    M_RADIATIVE_B,
    M_VISIBLE,
    M_X0,
    box_distance,
    locate,
)
from nuclass.sim.readout import deposit_step
from nuclass.sim.vectors import boost, deflect, isotropic, random_shares

__all__ = ["push", "push_momentum", "dedx_mev_cm", "visible_dedx_mev_cm", "transport_charged",
           "hadronic_interaction",
           "transport_neutron", "decay_pi0", "F_BIRKS", "F_MCS", "F_PI0", "N_PHYSICS", "MAX_PARTICLES"]

MAX_PARTICLES = 1000
# Stack columns: kind, kinetic energy (GeV), x, y, z (cm, absolute), direction, primary flag.
S_KIND, S_T, S_X, S_Y, S_Z, S_DX, S_DY, S_DZ, S_PRIMARY = range(9)
N_STACK = 9

# Indices of the packed physics-knob vector.
F_BIRKS, F_MCS, F_PI0 = range(3)
N_PHYSICS = 3

# Step limits (cm) per material: dense matter in shorter steps.
_MAX_STEP = np.array([1e9, 8.0, 2.0, 20.0])  # air, active, steel, rock


@njit(cache=True)
def push(stack, n, kind, kinetic, x, y, z, dx, dy, dz, primary):
    """Append a particle (kinetic energy in GeV) to the stack; returns the new count."""
    if n >= MAX_PARTICLES or kinetic <= 0.0:
        return n
    norm = math.sqrt(dx * dx + dy * dy + dz * dz)
    if norm == 0.0:
        dx, dy, dz = isotropic()
        norm = 1.0
    stack[n, S_KIND], stack[n, S_T] = kind, kinetic
    stack[n, S_X], stack[n, S_Y], stack[n, S_Z] = x, y, z
    stack[n, S_DX], stack[n, S_DY], stack[n, S_DZ] = dx / norm, dy / norm, dz / norm
    stack[n, S_PRIMARY] = primary
    return n + 1


@njit(cache=True)
def push_momentum(stack, n, kind, px, py, pz, x, y, z, primary):
    m = MASS_GEV[kind]
    p = math.sqrt(px * px + py * py + pz * pz)
    return push(stack, n, kind, math.sqrt(p * p + m * m) - m, x, y, z, px, py, pz, primary)


@njit(cache=True)
def dedx_mev_cm(kinetic, mass, mat_row, muon):
    """Mean energy loss (MeV/cm): Bethe with the full T_max and the density effect in its high-energy
    form (δ/2 = ln(ħω_p/I) + ln βγ − 1/2, PDG), plus b·E for muons (bremsstrahlung, pairs, photonuclear)."""
    bethe_k = mat_row[M_BETHE]
    if bethe_k <= 0.0:
        return 0.0
    e = kinetic + mass
    p2 = kinetic * (kinetic + 2.0 * mass)
    beta2 = p2 / (e * e)
    bg2 = p2 / (mass * mass)
    gamma = e / mass
    me = ELECTRON_MASS_MEV / 1000.0
    t_max = 2.0 * me * bg2 / (1.0 + 2.0 * gamma * me / mass + (me / mass) ** 2)  # GeV
    i_gev = mat_row[M_EXCITATION] * 1e-9
    plasma_gev = 28.816e-9 * math.sqrt(bethe_k / BETHE_K_MEV_CM2_G)
    half_delta = max(0.0, math.log(plasma_gev / i_gev) + 0.5 * math.log(bg2) - 0.5)
    term = 0.5 * math.log(2.0 * me * bg2 * t_max / (i_gev * i_gev)) - beta2 - half_delta
    loss = bethe_k / beta2 * max(term, 0.5)
    if muon:
        loss += mat_row[M_RADIATIVE_B] * e * 1000.0
    return loss


@njit(cache=True)
def visible_dedx_mev_cm(kinetic, mass, mat_row):
    """The part of the loss deposited along the track (MeV/cm): the restricted loss, which stops rising
    above βγ ≈ 4 (the Fermi plateau) because energetic δ electrons carry the rest away."""
    bethe_k = mat_row[M_BETHE]
    e = kinetic + mass
    p2 = kinetic * (kinetic + 2.0 * mass)
    beta2 = p2 / (e * e)
    bg2 = min(p2 / (mass * mass), 16.0)
    arg = 2.0 * ELECTRON_MASS_MEV * 1e6 * bg2 / mat_row[M_EXCITATION]
    term = math.log(arg) - beta2 if arg > 1.0 else 0.0
    return bethe_k / beta2 * max(term, 1.0)


@njit(cache=True)
def _exp_draw():
    return -math.log(1.0 - np.random.random())


@njit(cache=True)
def transport_charged(stack, n, i, buf_e, buf_pe, bbox, g, slots, mat, phys, resp):
    """Step a muon, proton or charged pion until it stops, interacts, decays or leaves; returns stack size."""
    kind = int(stack[i, S_KIND])
    kinetic = stack[i, S_T]
    x, y, z = stack[i, S_X], stack[i, S_Y], stack[i, S_Z]
    dx, dy, dz = stack[i, S_DX], stack[i, S_DY], stack[i, S_DZ]
    mass = MASS_GEV[kind]
    muon = kind == MU
    # interaction lengths to go before a hadronic interaction, path to a decay in flight
    to_interaction = _exp_draw() if (kind == PION or (kind == PROTON and kinetic > 0.15)) else 1e30
    to_decay = 1e30
    if kind == PION:
        to_decay = PION_CTAU_CM * math.sqrt(kinetic * (kinetic + 2.0 * mass)) / mass * _exp_draw()
    lambda_col = M_LAMBDA_PI if kind == PION else M_LAMBDA_P
    while kinetic >= 0.002:
        material, boundary = locate(g, slots, x, y, z, dx, dy, dz)
        if material == EXIT:
            return n
        row = mat[material]
        if material == ROCK:
            # dropped once it cannot reach the hall even at the minimum loss rate of the rock
            reach = kinetic * 1000.0 / (0.9 * dedx_mev_cm(3.5 * mass, mass, row, False))
            if box_distance(x, y, z, g[G_HALL_X0], g[G_HALL_X1], g[G_HALL_Y0], g[G_HALL_Y1], g[G_HALL_Z0],
                            g[G_HALL_Z1]) > reach + 3.0 * row[M_LAMBDA_PI]:
                return n
        dedx = dedx_mev_cm(kinetic, mass, row, muon)
        ds = boundary + EPS_CM
        if dedx > 0.0:  # a step shorter near the end of the range, so that Bragg peaks are resolved
            ds = min(ds, _MAX_STEP[material], max(0.3, 0.25 * kinetic * 1000.0 / dedx))
        ds = min(ds, to_decay + EPS_CM, to_interaction * row[lambda_col] + EPS_CM)
        loss = dedx * ds / 1000.0
        if loss > kinetic:
            ds *= kinetic / loss
            loss = kinetic
        if material == ACTIVE:  # Landau-like fluctuation of the deposit (gamma, mean 1, rms ≈ 0.4)
            local = min(dedx, visible_dedx_mev_cm(kinetic, mass, row))
            visible = local * ds * np.random.gamma(6.0, 1.0 / 6.0) / (1.0 + phys[F_BIRKS] * local)
            deposit_step(buf_e, buf_pe, bbox, g, slots, resp, x, y, z, dx, dy, dz, ds,
                         visible * row[M_VISIBLE])
        x += ds * dx
        y += ds * dy
        z += ds * dz
        kinetic -= loss
        to_decay -= ds
        to_interaction -= ds / row[lambda_col]
        if kinetic > 0.0 and material != AIR:  # multiple Coulomb scattering (PDG Highland formula)
            p_mev = 1000.0 * math.sqrt(kinetic * (kinetic + 2.0 * mass))
            beta = p_mev / (1000.0 * (kinetic + mass))
            t = ds / row[M_X0]
            theta0 = 13.6 / (beta * p_mev) * math.sqrt(t) * (1.0 + 0.038 * math.log(t)) * phys[F_MCS]
            dx, dy, dz = deflect(dx, dy, dz, theta0 * math.sqrt(-2.0 * math.log(1.0 - np.random.random())))
        if to_decay <= 0.0 and kinetic > 0.002:
            # π → μ ν in flight: the muon keeps 57–100 % of the pion energy, close to its direction
            share = 0.57 + 0.43 * np.random.random()
            mx, my, mz = deflect(dx, dy, dz, 0.03 * np.random.random())
            return push(stack, n, MU, (kinetic + mass) * share - MASS_GEV[MU], x, y, z, mx, my, mz, 0.0)
        if to_interaction <= 0.0 and kinetic > 0.02:
            return hadronic_interaction(stack, n, kind, kinetic, x, y, z, dx, dy, dz, phys)
    # at rest
    if kind == MU:
        if np.random.random() < 0.92:  # μ⁻ capture on carbon ≈ 8 %
            e_michel = MICHEL_MAX_MEV * max(np.random.random(), np.random.random()) / 1000.0
            ex, ey, ez = isotropic()
            n = push(stack, n, ELECTRON, e_michel, x, y, z, ex, ey, ez, 0.0)
    elif kind == PION:
        ex, ey, ez = isotropic()
        if np.random.random() < 0.5:  # π⁺ → μ⁺ (4.1 MeV) → Michel e⁺
            n = push(stack, n, MU, 0.0041, x, y, z, ex, ey, ez, 0.0)
        else:  # π⁻ absorbed: a nuclear fragment
            n = push(stack, n, PROTON, 0.01 + 0.04 * np.random.random(), x, y, z, ex, ey, ez, 0.0)
    return n


@njit(cache=True)
def hadronic_interaction(stack, n, kind, kinetic, x, y, z, dx, dy, dz, phys):
    """A pion or proton hits a nucleus: an elastic kink, absorption, or inelastic with secondaries."""
    r = np.random.random()
    if r < 0.25:  # quasi-elastic: a kink and a little energy to a recoil proton
        kept = kinetic * (0.8 + 0.15 * np.random.random())
        nx, ny, nz = deflect(dx, dy, dz, abs(np.random.normal(0.0, 0.35)))
        n = push(stack, n, kind, kept, x, y, z, nx, ny, nz, 0.0)
        px, py, pz = deflect(dx, dy, dz, 0.6 + 0.6 * np.random.random())
        return push(stack, n, PROTON, 0.3 * (kinetic - kept), x, y, z, px, py, pz, 0.0)
    if kind == PION and r < 0.45 and kinetic < 0.6:  # absorption: nucleons share the energy
        for _ in range(2):
            px, py, pz = deflect(dx, dy, dz, 1.2 * np.random.random())
            sp = NEUTRON if np.random.random() < 0.5 else PROTON
            n = push(stack, n, sp, 0.4 * kinetic * np.random.random(), x, y, z, px, py, pz, 0.0)
        return n
    # inelastic: the struck nucleus breaks up, evaporating slow protons (a few tens of MeV each: bright
    # dots at the interaction point) and neutrons, and binds a share of the energy
    for _ in range(np.random.poisson(1.0 + min(kinetic, 2.0))):
        fx, fy, fz = isotropic()
        sp = PROTON if np.random.random() < 0.5 else NEUTRON
        n = push(stack, n, sp, min(-0.03 * math.log(1.0 - np.random.random()), 0.05 * kinetic), x, y, z,
                 fx, fy, fz, 0.0)
    # the leading particle and 1 + Poisson(T / 0.8 GeV) secondaries share ≈ 75 % of the energy (the
    # rest: the nucleus, binding); 65 % of the secondaries are pions, `pi0_fraction` of them neutral
    shares = 0.75 * kinetic * random_shares(2 + np.random.poisson(kinetic / 0.8))
    for k in range(shares.shape[0]):
        spread = min(1.2, 0.25 / math.sqrt(max(shares[k], 0.02)))
        px, py, pz = deflect(dx, dy, dz, abs(np.random.normal(0.0, spread)))
        sp = kind
        if k > 0:
            u = np.random.random()
            if u < 0.65:
                sp = PI0 if np.random.random() < phys[F_PI0] else PION
            else:
                sp = PROTON if u < 0.85 else NEUTRON
        n = push(stack, n, sp, shares[k], x, y, z, px, py, pz, 0.0)
    return n


@njit(cache=True)
def transport_neutron(stack, n, i, g, slots, mat):
    """A neutron is invisible but scatters; in scintillator each scatter leaves a recoil-proton stub."""
    kinetic = stack[i, S_T]
    x, y, z = stack[i, S_X], stack[i, S_Y], stack[i, S_Z]
    dx, dy, dz = stack[i, S_DX], stack[i, S_DY], stack[i, S_DZ]
    scatters = 0
    while scatters < 8 and kinetic >= 0.02:
        material, boundary = locate(g, slots, x, y, z, dx, dy, dz)
        if material == EXIT:
            break
        # through air in one step; in matter an exponential path between scatters
        step = boundary + EPS_CM if material == AIR else mat[material, M_LAMBDA_N] * _exp_draw()
        x += step * dx
        y += step * dy
        z += step * dz
        if material == AIR:
            continue
        material, boundary = locate(g, slots, x, y, z, dx, dy, dz)
        if material == EXIT:
            break
        scatters += 1
        if material == ACTIVE:  # n p elastic: the proton takes 10–55 % of the energy, visibly
            recoil = kinetic * (0.1 + 0.45 * np.random.random())
            px, py, pz = deflect(dx, dy, dz, 0.2 + 1.1 * np.random.random())
            n = push(stack, n, PROTON, recoil, x, y, z, px, py, pz, 0.0)
        else:  # on a heavier nucleus (or after drifting into air): ≈ 10 % lost, unseen
            recoil = 0.1 * kinetic
        kinetic -= recoil
        dx, dy, dz = deflect(dx, dy, dz, 0.6 * np.random.random())
    return n


@njit(cache=True)
def decay_pi0(stack, n, i):
    """π⁰ → γγ, isotropic in its rest frame, boosted along its flight direction."""
    kinetic = stack[i, S_T]
    m = MASS_GEV[PI0]
    e = kinetic + m
    p = math.sqrt(kinetic * (kinetic + 2.0 * m))
    bx, by, bz = p / e * stack[i, S_DX], p / e * stack[i, S_DY], p / e * stack[i, S_DZ]
    ux, uy, uz = isotropic()
    half = 0.5 * m
    for sign in (1.0, -1.0):
        gx, gy, gz, ge = boost(sign * half * ux, sign * half * uy, sign * half * uz, half, bx, by, bz)
        n = push(stack, n, GAMMA, ge, stack[i, S_X], stack[i, S_Y], stack[i, S_Z], gx, gy, gz,
                 stack[i, S_PRIMARY])
    return n

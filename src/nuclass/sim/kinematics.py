"""Interaction kinematics: the lepton and the hadronic system of each mode, pushed as primaries.

Modes (QE, RES, DIS, other CC) are sampled within the physical region: QE a dipole-like Q² and one
nucleon with Fermi motion; RES a Δ Breit–Wigner decaying to N π; DIS x ~ Beta(0.5, 2.5) and
dσ/dy ∝ 1 + 0.2 (1 − y)² for ν (0.2 + (1 − y)² for ν̄), W > 1.7 GeV, a multiplicity ∝ ln W² with
limited-pT fragmentation along q; other CC half coherent π, half 2p2h. NC's outgoing ν carries its
energy away unseen and is the "lepton" of `lepenergy`. Units: GeV.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from nuclass.sim.constants import (
    BINDING_GEV,
    ELECTRON,
    FERMI_MOMENTUM_GEV,
    M_NUCLEON_GEV,
    MASS_GEV,
    MU,
    NEUTRON,
    PI0,
    PION,
    PROTON,
)
from nuclass.sim.transport import push, push_momentum
from nuclass.sim.vectors import boost, deflect, isotropic, perpendiculars

__all__ = ["primaries", "sample_kinematics", "lepton_angle", "hadronic_system", "CHANNEL_NUMU_CC",
           "CHANNEL_NUE_CC", "CHANNEL_NC", "CHANNEL_COSMIC", "CHANNEL_OTHER", "MODE_QE", "MODE_RES",
           "MODE_DIS", "MODE_OTHER", "N_INFO"]

# Event channels and modes (the generator's own, mapped to NOvA codes in sim/generate.py).
CHANNEL_NUMU_CC, CHANNEL_NUE_CC, CHANNEL_NC, CHANNEL_COSMIC, CHANNEL_OTHER = 0, 1, 2, 3, 4
MODE_QE, MODE_RES, MODE_DIS, MODE_OTHER = 0, 1, 2, 3

# Event-information columns the kernel returns beside the maps.
(INFO_NUENERGY, INFO_LEPENERGY, INFO_TRACKS, INFO_SHOWERS, INFO_VISIBLE_GEV, INFO_W, INFO_Q2, INFO_VTX_X,
 INFO_VTX_Y, INFO_VTX_Z, INFO_HITS, INFO_FIRST_PLANE, INFO_STREAM) = range(13)
N_INFO = 13


@njit(cache=True)
def lepton_angle(e_nu, e_lep, m_lep, q2):
    """cos θ of the lepton from Q² = 2 Eν (E_l − p_l cos θ) − m², clipped to the physical range."""
    p_lep = math.sqrt(max(e_lep * e_lep - m_lep * m_lep, 1e-12))
    c = (2.0 * e_nu * e_lep - m_lep * m_lep - q2) / (2.0 * e_nu * p_lep)
    return min(1.0, max(-1.0, c)), p_lep


@njit(cache=True)
def hadronic_system(stack, n, masses, kinds, n_had, w, qx, qy, qz, q0, longitudinal):
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
    e1x, e1y, e1z, e2x, e2y, e2z = perpendiculars(ux, uy, uz)
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
            ix, iy, iz = isotropic()
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
        lx, ly, lz, _ = boost(px, py, pz, e, bx, by, bz)
        n = push_momentum(stack, n, int(kinds[k]), lx, ly, lz, 0.0, 0.0, 0.0, 1.0)
    return n


@njit(cache=True)
def sample_kinematics(mode, e_nu, m_lep, anti):
    """(y_inel, Q², W) for a mode at energy e_nu, inside the physical region (GeV units)."""
    m = M_NUCLEON_GEV
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
def primaries(stack, channel, mode, anti, e_nu, pi0_fraction, info):
    """Push the primaries of one interaction at the origin; returns the stack size and fills `info`.

    A cosmic is a downward muon (cos² zenith) starting at the origin, which the caller puts above the
    detector; its energy stands in both truth energies.
    """
    n = 0
    if channel == CHANNEL_COSMIC:
        cos_z = math.sqrt(np.random.random())
        sin_z = math.sqrt(1.0 - cos_z * cos_z)
        phi = 2.0 * math.pi * np.random.random()
        kinetic = 1.0 + -3.0 * math.log(1.0 - np.random.random())
        n = push(stack, n, MU, kinetic, 0.0, 0.0, 0.0, sin_z * math.cos(phi), -cos_z, sin_z * math.sin(phi),
                 1.0)
        info[INFO_LEPENERGY] = info[INFO_NUENERGY] = kinetic + MASS_GEV[MU]
        return n
    info[INFO_NUENERGY] = e_nu
    cc = channel == CHANNEL_NUMU_CC or channel == CHANNEL_NUE_CC
    lep_kind = MU if channel == CHANNEL_NUMU_CC else ELECTRON
    m_lep = MASS_GEV[lep_kind] if cc else 0.0
    y_inel, q2, w = sample_kinematics(mode, e_nu, m_lep, anti)
    e_lep = e_nu * (1.0 - y_inel)
    c, p_lep = lepton_angle(e_nu, e_lep, m_lep, q2)
    s = math.sqrt(max(0.0, 1.0 - c * c))
    phi = 2.0 * math.pi * np.random.random()
    lx, ly, lz = p_lep * s * math.cos(phi), p_lep * s * math.sin(phi), p_lep * c
    if cc:
        n = push(stack, n, lep_kind, e_lep - m_lep, 0.0, 0.0, 0.0, lx, ly, lz, 1.0)
    info[INFO_LEPENERGY] = e_lep
    info[INFO_W] = w
    info[INFO_Q2] = q2
    # the hadronic system: four-momentum transfer q = p_ν − p_ℓ on a nucleon at rest (+ Fermi motion)
    nu = e_nu - e_lep
    qx, qy, qz = -lx, -ly, e_nu - lz
    fx, fy, fz = isotropic()
    pf = FERMI_MOMENTUM_GEV * np.random.random() ** (1.0 / 3.0)
    masses = np.empty(24)
    kinds = np.empty(24)
    if mode == MODE_QE:
        if cc:
            kind = NEUTRON if anti else PROTON
        else:
            kind = PROTON if np.random.random() < 0.5 else NEUTRON
        kinetic = max(nu - BINDING_GEV, 0.001)
        return push(stack, n, kind, kinetic, 0.0, 0.0, 0.0, qx + pf * fx, qy + pf * fy, qz + pf * fz, 1.0)
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
        masses[0], masses[1] = MASS_GEV[nk], MASS_GEV[pk]
        return hadronic_system(stack, n, masses, kinds, 2, w, qx, qy, qz, nu + M_NUCLEON_GEV, False)
    if mode == MODE_DIS:
        # ⟨n_π⟩ grows like ln W² (charged multiplicity ≈ 0.4 + 1.4 ln W²), `pi0_fraction` of them π⁰
        n_pi = max(1, min(23, np.random.poisson(0.3 + 1.6 * math.log(w * w))))
        kinds[0] = PROTON if np.random.random() < 0.5 else NEUTRON
        masses[0] = MASS_GEV[int(kinds[0])]
        total_mass = masses[0]
        n_had = 1
        for _ in range(n_pi):
            sp = PI0 if np.random.random() < pi0_fraction else PION
            if total_mass + MASS_GEV[sp] >= w - 0.05:
                break
            kinds[n_had] = sp
            masses[n_had] = MASS_GEV[sp]
            total_mass += MASS_GEV[sp]
            n_had += 1
        return hadronic_system(stack, n, masses, kinds, n_had, w, qx, qy, qz, nu + M_NUCLEON_GEV, True)
    # other CC: half coherent π (one forward pion, the nucleus recoils unseen), half 2p2h (two nucleons)
    if np.random.random() < 0.5:
        kind = PION if cc else PI0
        qn = math.sqrt(qx * qx + qy * qy + qz * qz)
        px, py, pz = deflect(qx / qn, qy / qn, qz / qn, abs(np.random.normal(0.0, 0.1)))
        return push(stack, n, kind, max(nu - MASS_GEV[kind], 0.001), 0.0, 0.0, 0.0, px, py, pz, 1.0)
    kinds[0] = PROTON
    kinds[1] = NEUTRON if (anti or np.random.random() < 0.5) else PROTON
    masses[0], masses[1] = MASS_GEV[PROTON], MASS_GEV[int(kinds[1])]
    q0 = nu + 2.0 * M_NUCLEON_GEV - 2.0 * BINDING_GEV
    w2 = q0 * q0 - (qx * qx + qy * qy + qz * qz)
    w_sys = math.sqrt(max(w2, (masses[0] + masses[1] + 0.002) ** 2))
    q0 = math.sqrt(w_sys * w_sys + qx * qx + qy * qy + qz * qz)
    return hadronic_system(stack, n, masses, kinds, 2, w_sys, qx, qy, qz, q0, False)

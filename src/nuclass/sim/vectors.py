"""Small compiled helpers for directions and four-momenta shared by the kinematics and the transport."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["isotropic", "perpendiculars", "deflect", "boost", "random_shares"]


@njit(cache=True)
def isotropic():
    """A unit vector uniform on the sphere."""
    cos_t = 2.0 * np.random.random() - 1.0
    sin_t = math.sqrt(max(0.0, 1.0 - cos_t * cos_t))
    phi = 2.0 * math.pi * np.random.random()
    return sin_t * math.cos(phi), sin_t * math.sin(phi), cos_t


@njit(cache=True)
def perpendiculars(dx, dy, dz):
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
def deflect(dx, dy, dz, theta):
    """The unit vector d turned by the polar angle `theta` (rad) at a random azimuth."""
    e1x, e1y, e1z, e2x, e2y, e2z = perpendiculars(dx, dy, dz)
    phi = 2.0 * math.pi * np.random.random()
    s, c = math.sin(theta), math.cos(theta)
    cp, sp = math.cos(phi), math.sin(phi)
    nx = c * dx + s * (cp * e1x + sp * e2x)
    ny = c * dy + s * (cp * e1y + sp * e2y)
    nz = c * dz + s * (cp * e1z + sp * e2z)
    n = math.sqrt(nx * nx + ny * ny + nz * nz)
    return nx / n, ny / n, nz / n


@njit(cache=True)
def boost(px, py, pz, e, bx, by, bz):
    """Lorentz-boost the four-momentum (p, e) by the velocity b; returns (px, py, pz, e)."""
    b2 = bx * bx + by * by + bz * bz
    if b2 < 1e-12:
        return px, py, pz, e
    gamma = 1.0 / math.sqrt(1.0 - b2)
    bp = bx * px + by * py + bz * pz
    g2 = (gamma - 1.0) / b2
    f = g2 * bp + gamma * e
    return px + f * bx, py + f * by, pz + f * bz, gamma * (e + bp)


@njit(cache=True)
def random_shares(n):
    """n fractions summing to 1, uniform on the simplex (normalised exponential draws)."""
    weights = np.empty(n)
    for k in range(n):
        weights[k] = -math.log(1.0 - np.random.random())
    return weights / weights.sum()

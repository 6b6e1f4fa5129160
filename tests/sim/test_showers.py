"""Electromagnetic showers: lateral halo, the photon's conversion gap, absorption in rock."""

from __future__ import annotations

import numpy as np
import pytest

from nuclass.sim.constants import ELECTRON, GAMMA
from nuclass.sim.generate import simulate_particle


def test_electron_showers_have_a_halo_beyond_a_moliere_radius(bare_config):
    """The lateral profile has a tail (Grindhammer form): ≈ 10–30 % of the charge lies beyond 1 R_M."""
    outside = []
    for seed in range(60):
        m, _, _, _ = simulate_particle(ELECTRON, 3.0, (0.0, 0.0, 300.0), (0, 0, 1), seed=seed,
                                       config=bare_config)
        charge = m[0].sum(axis=0).astype(float)  # x view, per column
        axis = (charge * np.arange(80)).sum() / charge.sum()
        beyond = np.abs(np.arange(80) - axis) > bare_config.moliere_radius_cm / bare_config.cell_width_cm
        outside.append(charge[beyond].sum() / charge.sum())
    assert 0.1 <= np.mean(outside) <= 0.3


def test_photon_showers_start_after_a_conversion_gap(bare_config):
    """A photon converts after an exponential gap of mean 9/7 X0 (≈ 49 cm); an electron showers at once."""
    def first_z(kind):
        firsts = [simulate_particle(kind, 1.0, (0.0, 0.0, 300.0), (0, 0, 1), seed=s, config=bare_config)[2]
                  for s in range(150)]
        return np.array(firsts) * bare_config.plane_pitch_cm - 300.0

    electron, photon = first_z(ELECTRON), first_z(GAMMA)
    assert electron.mean() < 10.0
    assert photon.mean() - electron.mean() == pytest.approx(9 / 7 * bare_config.radiation_length_cm, rel=0.3)
    assert photon.std() > 2 * electron.std()  # the gap fluctuates event to event


def test_a_shower_from_the_rock_is_absorbed_within_a_metre(bare_config):
    """X0 of rock ≈ 10 cm: a 3 GeV electron 10 cm under the floor still lights the detector above; from
    2.5 m (25 X0) down almost nothing arrives."""
    def hits(depth):
        return np.array([simulate_particle(ELECTRON, 3.0, (0.0, -200.0 - depth, 600.0), (0, 1, 0.3), seed=s,
                                           config=bare_config)[1] for s in range(30)])

    near, deep = hits(10.0), hits(250.0)
    assert np.median(near) > 20
    assert np.mean(deep) < 0.02 * np.mean(near)

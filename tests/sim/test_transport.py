"""Particles through matter: ranges in scintillator, rock and steel; hadronic interactions."""

from __future__ import annotations

import numpy as np
import pytest

from nuclass.sim import SimConfig
from nuclass.sim.constants import ACTIVE, ELECTRON, MASS_GEV, MU, PION, PROTON, ROCK, STEEL
from nuclass.sim.generate import simulate_particle
from nuclass.sim.geometry import material_table
from nuclass.sim.transport import MAX_PARTICLES, N_STACK, dedx_mev_cm, hadronic_interaction
from nuclass.sim.vertices import muon_range_table

MATERIALS = material_table(SimConfig())


def muon_range_cm(material: int, kinetic_gev: float) -> float:
    t, r = muon_range_table(MATERIALS[material])
    return float(np.interp(kinetic_gev, t, r))


def stop_z(kinetic, start, direction, config, n=30):
    """Mean z (cm) where muons stopped, from their Michel electrons (92 % of stopping μ⁻ make one)."""
    stops = []
    for seed in range(n):
        _, _, _, stack = simulate_particle(MU, kinetic, start, direction, seed=seed, config=config)
        michel = stack[stack[:, 0] == ELECTRON]
        if len(michel):
            stops.append(michel[0, 4])
    return np.mean(stops), len(stops)


def test_muon_ranges_match_the_csda_tables():
    """Scintillator ≈ 4.7–4.8 m per GeV (nova-physics.md); standard rock ≈ 4.9e3 g/cm² at 10 GeV and
    ≈ 4.1e4 g/cm² at 100 GeV, where the radiative losses (b·E) already shorten it (PDG muon tables)."""
    assert muon_range_cm(ACTIVE, 1.0) == pytest.approx(475, rel=0.05)
    rho = MATERIALS[ROCK, 0]
    assert muon_range_cm(ROCK, 10.0) * rho == pytest.approx(4.9e3, rel=0.08)
    assert muon_range_cm(ROCK, 100.0) * rho == pytest.approx(4.1e4, rel=0.1)
    # ≈ 0.12 GeV per 4-inch steel plate (near-detector.md)
    steel_loss = dedx_mev_cm(1.0, MASS_GEV[MU], MATERIALS[STEEL], True) * 10.16 / 1000
    assert steel_loss == pytest.approx(0.12, rel=0.15)
    assert dedx_mev_cm(0.02, MASS_GEV[PROTON], MATERIALS[ACTIVE], False) > 10 * dedx_mev_cm(
        1.0, MASS_GEV[MU], MATERIALS[ACTIVE], True)  # a Bragg peak


def test_a_rock_muon_enters_with_the_energy_the_rock_left_it(bare_config):
    """A 4 GeV muon born 5 m of rock upstream of the hall crosses the hall's air for free and stops in the
    detector where a muon of the energy left after 5 m of rock would (range tables, both materials)."""
    t, r = muon_range_table(MATERIALS[ROCK])
    kinetic_left = np.interp(np.interp(4.0, t, r) - 500.0, r, t)
    expected = muon_range_cm(ACTIVE, kinetic_left)  # the detector starts at z = 0
    z, stopped = stop_z(4.0, (0.0, 0.0, -1300.0 - 500.0), (0, 0, 1), bare_config)
    assert stopped >= 20
    assert 1.0 < kinetic_left < 2.0 and z == pytest.approx(expected, rel=0.1)


def test_a_muon_aimed_at_the_side_leaves_where_the_detector_ends(bare_config, lit_rows):
    """From x = 150 cm with a slope of 0.2 the muon leaves through the side after ≈ 2.1 m (16 rows a view),
    although its range (9.5 m) would carry it 70 rows: the x view's track ends at the last cell."""
    maps = []
    for seed in range(10):
        m, _, _, _ = simulate_particle(MU, 2.0, (150.0, 0.0, 3.0), (0.2, 0.0, 1.0), seed=seed,
                                       config=bare_config)
        maps.append(m)
    maps = np.array(maps)
    rows = lit_rows(maps)
    assert np.all((rows[:, 0] >= 13) & (rows[:, 0] <= 19))  # (a rare stray hit from its Michel electron,
    assert 13 <= np.median(rows[:, 1]) <= 19                # which decays in the rock, may light the y view)
    for m in maps:  # the last lit column of the x view is the detector's edge cell (95), nothing beyond
        cols = np.flatnonzero(m[0].any(axis=0))
        edge = cols.max()
        assert m[0][:, edge + 1:].sum() == 0 and 8 <= edge - cols.min() <= 14


def test_a_muon_reaching_the_catcher_stops_in_its_steel(bare_config, lit_rows):
    """0.7 GeV from z = 1050: in scintillator alone it would stop ≈ 3.3 m on (25 rows); the catcher's
    plates (≈ 0.12 GeV each) stop it within a few plates, at fewer rows and a shorter z."""
    all_active = SimConfig(min_slice_hits=0, pileup_hits_per_plane=0.0, active_planes=214, catcher_plates=0)
    start = (0.0, 0.0, 1050.0)
    z_catcher, _ = stop_z(0.7, start, (0, 0, 1), bare_config)
    z_active, _ = stop_z(0.7, start, (0, 0, 1), all_active)
    assert z_active == pytest.approx(1050 + muon_range_cm(ACTIVE, 0.7), rel=0.03)
    assert 1269 < z_catcher < 1340 < z_active
    def rows(config):
        maps = [simulate_particle(MU, 0.7, start, (0, 0, 1), seed=s, config=config)[0] for s in range(10)]
        return lit_rows(np.array(maps))

    rows_catcher, rows_active = rows(bare_config), rows(all_active)
    assert np.median(rows_catcher) + 4 <= np.median(rows_active)


def test_hadronic_interactions_leave_slow_nuclear_protons():
    """A 1 GeV pion interacting inelastically breaks the nucleus: slow protons (tens of MeV) appear."""
    np.random.seed(4)
    phys = np.array([0.01, 1.0, 1 / 3])
    slow = []
    for _ in range(300):
        stack = np.zeros((MAX_PARTICLES, N_STACK))
        n = hadronic_interaction(stack, 0, PION, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, phys)
        kinds, kinetic = stack[:n, 0].astype(int), stack[:n, 1]
        slow.append(((kinds == PROTON) & (kinetic < 0.06)).sum())
        assert kinetic.sum() <= 1.0  # energy is not created
    assert 0.5 < np.mean(slow) < 2.0


def test_pions_from_the_rock_rarely_reach_the_detector(bare_config):
    """A 1 GeV pion born 2 m (5 λ_I) deep in the floor, heading up, is absorbed there with its
    secondaries; from 10 cm it lights the detector."""
    def hits(depth):
        start = (0.0, -200.0 - depth, 600.0)
        return np.array([simulate_particle(PION, 1.0, start, (0, 1, 0.2), seed=s, config=bare_config)[1]
                         for s in range(40)])

    near, deep = hits(10.0), hits(200.0)
    assert np.mean(near > 5) > 0.5
    assert deep.mean() < 0.1 * near.mean()

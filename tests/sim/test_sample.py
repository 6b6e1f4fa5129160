"""The written sample against the real files: composition, spectra, vertices, maps, truth."""

from __future__ import annotations

import numpy as np
import pytest

from nuclass.labels import Interaction
from nuclass.sim import SimConfig, generate, simulate_events
from nuclass.sim.generate import mode_fractions


@pytest.fixture(scope="module")
def sample():
    return simulate_events(4000, seed=11)


def test_composition_and_spectrum_match_the_real_files(sample):
    code = sample.meta["interaction"]
    e = sample.meta["nuenergy"]
    assert np.isin(code, range(4)).mean() == pytest.approx(0.882, abs=0.02)
    assert np.isin(code, range(4, 8)).mean() == pytest.approx(0.0123, abs=0.006)
    assert np.isin(code, (12, 13)).mean() == pytest.approx(0.099, abs=0.025)
    assert np.isin(code, range(8, 12)).sum() == 0  # no ντ in the teaching files
    within_numu = np.bincount(code[code < 4], minlength=4) / (code < 4).sum()
    assert within_numu == pytest.approx([0.142, 0.215, 0.612, 0.031], abs=0.03)
    pos = e[e > 0]
    assert np.median(pos) == pytest.approx(8.72, abs=1.0)
    assert (pos <= 3.5).mean() == pytest.approx(0.356, abs=0.03)


def test_energy_deciles_match_the_real_files(sample):
    """Both spectra decile by decile (reference/real-dataset.md), as the share below each real decile."""
    e = sample.meta["nuenergy"]
    deciles = np.arange(1, 10) / 10
    real_nu = [1.80, 2.24, 2.79, 4.69, 8.72, 11.78, 14.34, 17.93, 24.37]
    real_lep = [0.71, 1.17, 1.59, 2.13, 3.24, 5.32, 7.81, 10.80, 15.45]
    below_nu = (e[e > 0][:, None] < real_nu).mean(axis=0)
    below_lep = (sample.meta["lepenergy"][e > 0][:, None] < real_lep).mean(axis=0)
    assert below_nu == pytest.approx(deciles, abs=0.04)
    assert below_lep == pytest.approx(deciles, abs=0.06)


def test_most_vertices_lie_outside_and_the_outside_events_are_the_energetic_ones(sample):
    """near-detector.md: 10 of 25 printed vertices in the active volume, 14 outside; median Eν ≈ 4 GeV
    inside against ≈ 15 GeV outside. Here these are outcomes of the rock's muon acceptance."""
    x, y, z = sample.meta["vtxx"], sample.meta["vtxy"], sample.meta["vtxz"]
    across = (np.abs(x) < 191.52) & (np.abs(y) < 191.52)
    active = across & (z >= 0) & (z < 1269.12)
    outside = ~(across & (z >= 0) & (z < 1600))
    assert active.mean() == pytest.approx(0.40, abs=0.1)
    assert outside.mean() == pytest.approx(0.56, abs=0.1)
    e = sample.meta["nuenergy"]
    assert np.median(e[active & (e > 0)]) < 5.0 < 9.0 < np.median(e[outside & (e > 0)])
    # NC and νe CC need their shower in the detector: hardly ever from the rock
    code = sample.meta["interaction"]
    assert np.isin(code[outside], range(4)).mean() > 0.9
    showering = (4, 5, 6, 7, 13)
    assert np.isin(code[active], showering).mean() > 3 * np.isin(code[outside], showering).mean()


def test_no_slice_of_fewer_than_15_hits_is_written(sample):
    assert sample.extra["slice_hits"].min() >= 15
    lit = (sample.maps > 0).sum(axis=(1, 2, 3))
    assert (lit < 15).mean() < 0.02  # a few hits may fall outside the window


def test_slices_share_readouts_with_gaps_where_small_slices_were_dropped(sample):
    """As in the real files (run 12053, cycle 15, evt 1: subevt 1, 2, 3, 5, 7)."""
    evt, sub = sample.meta["evt"], sample.meta["subevt"]
    assert np.all(np.diff(evt.astype(np.int64)) >= 0)
    per_readout = np.bincount(evt)
    assert per_readout[per_readout > 0].mean() > 1.5
    same = np.diff(evt.astype(np.int64)) == 0
    assert (np.diff(sub.astype(np.int64))[same] > 1).any()  # a gap within a readout


def test_truth_is_consistent(sample):
    m = sample.meta
    pos = m["nuenergy"] > 0
    assert np.all(m["lepenergy"][pos] <= m["nuenergy"][pos] * 1.0001)
    unknown = m["interaction"] == Interaction.kOther
    assert unknown.any() and np.all(m["nuenergy"][unknown] == 0) and np.all(m["lepenergy"][unknown] == 0)
    assert np.all(m["nuenergy"][~unknown] > 0)  # only code 15 has zero energies (cosmics included)
    fs, code = m["finalstate"], m["interaction"]
    numu, nue, nc = code < 4, (code >= 4) & (code < 8), code == Interaction.kNC
    assert np.all((fs[numu] < 16) | (fs[numu] == 49))
    assert np.all(((fs[nue] >= 16) & (fs[nue] < 32)) | (fs[nue] == 49))
    assert np.all((fs[nc] >= 32) & (fs[nc] < 48))
    assert np.all(fs[numu & (fs < 16)] // 4 >= 1)  # a νμ CC event always has its muon track
    # `parent` as the real field seems to mean it: 0 at low energy, mostly 1 above ≈ 7 GeV
    parent, e = m["parent"], m["nuenergy"]
    cc = code < 8
    assert np.all(np.isin(parent, (0, 1, 3, 4)))
    assert (parent[cc & (e < 4)] == 0).mean() > 0.95 and (parent[cc & (e > 8)] == 1).mean() > 0.9


def test_maps_look_like_the_teaching_files(sample):
    maps = sample.maps
    lit = maps > 0
    per_view = lit.sum(axis=(2, 3))
    assert 20 <= np.median(per_view) <= 180  # displays: 20–300 lit pixels per view
    rows = lit.any(axis=(1, 3))
    assert (np.argmax(rows, axis=1) <= 3).mean() > 0.97  # NOvA's first plane starts the map
    assert lit.any(axis=(1, 2, 3)).all()  # never an empty event
    values = maps[lit]
    assert values.min() >= 1 and 0 < (values == 255).mean() < 0.05  # rare saturation
    cells = lit.any(axis=2)  # the event sits near the middle cell, as in the real displays (≈ 35–46)
    centre = np.array([np.median(np.flatnonzero(c)) for c in cells.reshape(-1, 80) if c.any()])
    assert 33 <= np.median(centre) <= 47


def test_qe_share_falls_with_energy():
    p = mode_fractions(np.array([1.0, 2.0, 5.0, 20.0]), SimConfig())
    assert np.all(np.diff(p[:, 0]) < 0) and np.all(np.diff(p[:, 2]) > 0)
    assert p.sum(axis=1) == pytest.approx(1.0)


def test_same_seed_same_arrays_and_the_cost_is_reported():
    a, report = generate(60, seed=3)
    b = simulate_events(60, seed=3)
    c = simulate_events(60, seed=4)
    assert np.array_equal(a.maps, b.maps) and all(np.array_equal(a.meta[k], b.meta[k]) for k in a.meta)
    assert not np.array_equal(a.maps, c.maps)
    assert report.written == 60 and report.candidates == sum(report.status_counts)
    assert report.candidates_per_written > 1 and sum(report.stream_probabilities) == pytest.approx(1)


def test_the_previous_fd_like_geometry_is_a_preset():
    events = simulate_events(300, seed=2, config=SimConfig.from_dict({"preset": "fd-like"}))
    assert np.isin(events.meta["interaction"], range(4)).mean() == pytest.approx(0.88, abs=0.05)
    assert np.abs(events.meta["vtxx"]).max() > 400  # the FD-sized box, no rock


def test_samples_from_the_same_seed_are_paired_event_by_event():
    """Another response (calibrated-energy scale + 5 %) or hadron physics (pions interacting 20 % later)
    with the same seed: the same candidates, vertices and interactions; the charge moves by the scale."""
    nominal = simulate_events(600, seed=4)
    scaled = simulate_events(600, seed=4, config=SimConfig(energy_scale=1.05))
    longer = simulate_events(600, seed=4, config=SimConfig(pion_interaction_length_cm=108.0))
    assert np.array_equal(nominal.extra["candidate"], scaled.extra["candidate"])  # hits do not depend on it
    for name in ("vtxx", "vtxz", "interaction", "nuenergy"):
        assert np.array_equal(nominal.meta[name], scaled.meta[name])
    charge = lambda e: e.maps.sum(dtype=np.int64)  # noqa: E731
    assert charge(scaled) / charge(nominal) == pytest.approx(1.05, abs=0.01)  # ceil(E / 1.089 MeV)
    common, a, b = np.intersect1d(nominal.extra["candidate"], longer.extra["candidate"], return_indices=True)
    assert len(common) > 0.97 * len(nominal)  # a few slices cross the 15-hit line
    assert np.array_equal(nominal.meta["vtxz"][a], longer.meta["vtxz"][b])
    assert not np.array_equal(nominal.maps[a], longer.maps[b])

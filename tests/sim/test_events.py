"""Whole interactions in the ND: the real displays' situations, and what tells the classes apart."""

from __future__ import annotations

import numpy as np

from nuclass.labels import Interaction
from nuclass.sim.generate import simulate_at

CENTRE = (0.0, 0.0, 300.0)


def test_the_real_qe_muon_near_the_top_leaves_within_tens_of_rows(lit_rows):
    """f1 #4 (near-detector.md): a 1.85 GeV muon from 16 cm below the top spans 20–31 rows a view, not
    the ≈ 63 of its range: from that vertex most of our muons leave before ranging out."""
    events, _ = simulate_at(500, Interaction.kNumuQE, 1.89, (-158.9, 175.1, 94.9), seed=1)
    span = lit_rows(events.maps).max(axis=1)
    assert np.mean(span < 45) > 0.5  # left the detector well before the end of its range
    assert np.mean((span >= 20) & (span <= 31)) > 0.05  # the real event's extent is not a rare one
    assert np.mean(span >= 60) < 0.4  # those that stay in range out after ≈ 63 rows


def test_nc_events_have_no_long_muon_like_track():
    """A νμ CC muon lights row after row with one or two cells; NC hadrons interact within ≈ a metre
    (7 rows) and scatter, so such runs of track-like rows stay short."""
    def longest_run(maps):
        cells = (maps > 0).sum(axis=3)  # (n, view, row)
        rows = (cells >= 1) & (cells <= 2)
        best = np.zeros(rows.shape[:2], int)
        run = np.zeros(rows.shape[:2], int)
        for r in range(rows.shape[2]):
            run = np.where(rows[:, :, r], run + 1, 0)
            best = np.maximum(best, run)
        return best.max(axis=1)

    cc, _ = simulate_at(300, Interaction.kNumuDIS, 8.0, CENTRE, seed=2)
    nc, _ = simulate_at(300, Interaction.kNC, 8.0, CENTRE, seed=2)
    assert np.mean(longest_run(cc.maps) >= 20) > 0.45  # (the rest: soft or steep muons)
    assert np.mean(longest_run(nc.maps) >= 20) < 0.1


def test_em_showers_are_wider_per_plane_than_muon_tracks():
    def cells_per_row(maps):
        per_row = (maps > 0).sum(axis=3)  # (n, view, row)
        return per_row[per_row > 0].mean()

    electrons, _ = simulate_at(60, Interaction.kNueQE, 3.0, CENTRE, seed=3)
    muons, _ = simulate_at(60, Interaction.kNumuQE, 3.0, CENTRE, seed=3)
    assert cells_per_row(electrons.maps) > 1.5 * cells_per_row(muons.maps)
    assert cells_per_row(muons.maps) < 2.0  # a track is 1–2 cells wide per plane


def test_shower_hits_are_mostly_faint_around_a_bright_core():
    """Real displays: shower hits sit at ≈ 0.1–0.2 of the view's brightest pixel, track hits near half."""
    def median_over_max(maps):
        views = maps.reshape(-1, 100, 80)
        return np.median([np.median(v[v > 0]) / v.max() for v in views if (v > 0).sum() >= 5])

    electrons, _ = simulate_at(60, Interaction.kNueQE, 6.0, CENTRE, seed=4)
    muons, _ = simulate_at(60, Interaction.kNumuQE, 2.0, CENTRE, seed=4)
    assert 0.05 <= median_over_max(electrons.maps) <= 0.3
    assert median_over_max(muons.maps) > 1.5 * median_over_max(electrons.maps)


def test_total_charge_grows_with_visible_energy():
    low, _ = simulate_at(60, Interaction.kNC, 3.0, CENTRE, seed=5)
    high, _ = simulate_at(60, Interaction.kNC, 20.0, CENTRE, seed=5)
    charge = lambda e: np.median(e.maps.sum(axis=(1, 2, 3), dtype=np.int64))  # noqa: E731
    assert charge(high) > 2.5 * charge(low)

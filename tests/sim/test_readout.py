"""NOvA's map rules on hand-made hits: first plane, median cell, window, pixel values, the slice cut."""

from __future__ import annotations

import numpy as np
import pytest

from nuclass.sim import SimConfig
from nuclass.sim.readout import first_plane, median_cells, pack_response, window_map

RESPONSE = pack_response(SimConfig())


def hits_of(rows) -> np.ndarray:
    """(plane, cell, MeV) rows as the readout's hit array."""
    return np.array(rows, dtype=float).reshape(-1, 3)


def test_first_plane_needs_four_hits_in_eight_planes():
    # an isolated stray hit at plane 3 (only 2 hits in planes 3–10), then a track from plane 10
    hits = hits_of([(3, 40, 5.0)] + [(k, 40, 10.0) for k in range(10, 20)])
    assert first_plane(hits, len(hits)) == 10
    # without 4 hits in any 8 planes the first hit plane counts
    sparse = hits_of([(5, 40, 1.0), (20, 40, 1.0), (40, 40, 1.0)])
    assert first_plane(sparse, 3) == 5


def test_window_is_the_median_cell_per_view_and_rows_are_planes_of_a_view():
    # x view (even planes): cells 50, 52, 54, 56, 58 -> median 54; y view (odd planes): cells 10, 12, 14
    rows = [(10 + 2 * i, 50 + 2 * i, 10.0) for i in range(5)]
    rows += [(11 + 2 * i, 10 + 2 * i, 10.0) for i in range(3)]
    hits = hits_of(rows)
    medians = median_cells(hits, len(hits), 96)
    assert medians.tolist() == [54, 12]
    out = np.zeros((2, 100, 80), np.uint8)
    lit = window_map(hits, len(hits), 10, medians, 1, RESPONSE, out)
    assert lit == 8
    # plane 10 + 2i -> x-view row i, column cell − (54 − 40); plane 11 + 2i -> y-view row i, cell − (12 − 40)
    assert [tuple(p) for p in np.argwhere(out[0])] == [(i, 50 + 2 * i - 14) for i in range(5)]
    assert [tuple(p) for p in np.argwhere(out[1])] == [(i, 10 + 2 * i + 28) for i in range(3)]


def test_cells_beyond_the_detector_and_hits_outside_the_window_stay_empty():
    # a track along the last cells: median 94, window 54 … 133; cells ≥ 96 do not exist
    track = [(k, 95 if k % 4 else 93, 10.0) for k in range(0, 40, 2)]
    hits = hits_of(track + [(2, 5, 10.0), (300, 94, 10.0)])
    medians = median_cells(hits, len(hits), 96)
    out = np.zeros((2, 100, 80), np.uint8)
    window_map(hits, len(hits), 0, medians, 1, RESPONSE, out)
    cols = np.flatnonzero(out[0].any(axis=0))
    assert cols.max() == 95 - (medians[0] - 40) and not out[0, :, cols.max() + 1:].any()
    assert out.sum(axis=(1, 2))[0] > 0 and not out[0, :, :cols.min()].any()  # cell 5 fell outside
    assert (out > 0).sum() == 20  # the hit 150 rows on is outside the window too


@pytest.mark.parametrize(("mev", "pixel"), [(0.5, 1), (1.089, 1), (1.09, 2), (10.0, 10), (100.0, 92),
                                            (277.0, 255), (5000.0, 255)])
def test_pixel_is_the_ceiling_of_mev_over_1_089_capped_at_255(mev, pixel):
    out = np.zeros((2, 100, 80), np.uint8)
    hits = hits_of([(0, 40, mev)])
    window_map(hits, 1, 0, np.array([40, 40]), 1, RESPONSE, out)
    assert out[0, 0, 40] == pixel


def test_coarser_rows_sum_the_planes_they_hold():
    hits = hits_of([(0, 40, 3.0), (2, 40, 4.0), (4, 40, 5.0)])  # three x planes
    out = np.zeros((2, 100, 80), np.uint8)
    window_map(hits, 3, 0, np.array([40, 40]), 2, RESPONSE, out)  # two planes of a view per row
    assert out[0, 0, 40] == np.ceil(7.0 / 1.089) and out[0, 1, 40] == np.ceil(5.0 / 1.089)

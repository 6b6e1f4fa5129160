"""The detector, hall and rock: materials where the real files' vertices say they are."""

from __future__ import annotations

import numpy as np
import pytest

from nuclass.sim import SimConfig
from nuclass.sim.constants import ACTIVE, AIR, ROCK, STEEL
from nuclass.sim.geometry import EXIT, box_entry, box_exit, catcher_slots, locate, pack_geometry, plane_of

# The 25 printed real vertices (near-detector.md), by where the reference says they lie.
REAL_INSIDE = [(47.2, -161.8, 871.8), (28.9, 128.2, 726.9), (-158.9, 175.1, 94.9), (-174.2, 86.9, 332.5),
               (97.2, 69.0, 319.7), (-66.5, 56.4, 330.1), (-186.1, 64.4, 970.7), (-81.8, -103.9, 36.7),
               (-71.9, -1.3, 26.2), (57.4, -133.0, 1041.1)]
REAL_CATCHER = [(43.5, -63.7, 1505.3)]
REAL_OUTSIDE = [(-76.1, 311.6, -1758.0), (376.3, 232.2, 389.1), (-111.4, 590.9, -1714.8),
                (253.1, -59.4, -479.4), (-12.5, -4.5, -1625.4), (-1.8, 45.3, -1374.0),
                (183.2, 606.7, -1596.1),
                (400.1, -135.8, -475.5), (-370.8, 312.0, -545.6), (-237.2, 323.5, -5063.2),
                (-131.7, -213.3, 1343.7), (-296.0, -256.7, 704.3), (107.6, 496.1, 905.1),
                (-281.0, 433.1, 1232.4)]


@pytest.fixture(scope="module")
def geometry():
    cfg = SimConfig()
    return pack_geometry(cfg), catcher_slots(cfg)


def material(geometry, point):
    return locate(*geometry, *point, 0.0, 0.0, 1.0)[0]


def test_every_printed_real_vertex_lies_in_matter_of_our_geometry(geometry):
    """A vertex needs matter: the ND's active planes, its catcher, or the rock — never the hall's air."""
    assert all(material(geometry, v) == ACTIVE for v in REAL_INSIDE)
    assert all(material(geometry, v) in (ACTIVE, STEEL) for v in REAL_CATCHER)
    assert all(material(geometry, v) == ROCK for v in REAL_OUTSIDE)


def test_catcher_layout_and_materials(geometry):
    g, slots = geometry
    steel = slots[slots[:, 2] < 0]
    planes = slots[slots[:, 2] >= 0]
    assert len(steel) == 10 and np.allclose(steel[:, 1] - steel[:, 0], 10.16)
    assert planes[:, 2].tolist() == list(range(192, 214))
    assert np.all(np.diff(slots[:, 0]) > 0) and np.allclose(slots[1:, 0], slots[:-1, 1])  # tiled
    z_steel = 0.5 * (steel[0, 0] + steel[0, 1])
    assert material(geometry, (0, -100, z_steel)) == STEEL
    assert material(geometry, (0, 150, z_steel)) == AIR  # above the shorter catcher
    assert material(geometry, (0, 0, -50)) == AIR  # the hall upstream of the detector
    assert material(geometry, (0, -260, 500)) == ROCK  # the floor
    assert material(geometry, (0, 0, -30000)) == EXIT  # beyond the world


def test_planes_alternate_views_and_map_to_cells(geometry):
    g, slots = geometry
    assert plane_of(g, slots, 0.0, 0.0, 0.1) == 0 and plane_of(g, slots, 0.0, 0.0, 6.7) == 1
    assert plane_of(g, slots, 0.0, 0.0, 1268.0) == 191
    assert plane_of(g, slots, 0.0, 0.0, -1.0) == -1 and plane_of(g, slots, 200.0, 0.0, 10.0) == -1


def test_rays_and_boxes():
    assert box_exit(0, 0, 0, 1, 0, 0, -1, 2, -1, 1, -1, 1) == pytest.approx(2.0)
    assert box_entry(-5, 0, 0, 1, 0, 0, -1, 1, -1, 1, -1, 1) == pytest.approx(4.0)
    assert box_entry(-5, 3, 0, 1, 0, 0, -1, 1, -1, 1, -1, 1) > 1e29  # misses
    assert box_entry(-5, 0, 0, -1, 0, 0, -1, 1, -1, 1, -1, 1) > 1e29  # points away


def test_the_simulated_detector_is_the_one_the_labels_place_vertices_in():
    """labels.truth's ND boundaries (the real files' coordinates) and the simulator's default geometry
    agree."""
    from nuclass.labels.truth import ND_ACTIVE_LENGTH_CM, ND_HALF_WIDTH_CM, ND_LENGTH_CM

    cfg = SimConfig()
    assert cfg.half_width_cm == pytest.approx(ND_HALF_WIDTH_CM)
    assert cfg.active_length_cm == pytest.approx(ND_ACTIVE_LENGTH_CM)
    assert cfg.length_cm == pytest.approx(ND_LENGTH_CM)

"""Simulator configuration: every key checked on load, with its unit, range and the file in the message."""

from __future__ import annotations

import pytest

from nuclass.errors import ConfigError
from nuclass.sim import PRESETS, SimConfig


@pytest.mark.parametrize(("values", "message"), [
    ({"plane_pitch_cm": 0}, r"plane_pitch_cm must be > 0 \(cm\), got 0"),
    ({"plane_pitch_cm": -3}, r"plane_pitch_cm must be > 0 \(cm\), got -3"),
    ({"plane_pitch_cm": "abc"}, r"plane_pitch_cm must be a finite number \(cm\), got 'abc'"),
    ({"nc_to_cc": True}, r"nc_to_cc must be a finite number"),
    ({"share_nue_cc": 1.5}, r"share_nue_cc must be ≥ 0 and ≤ 1, got 1.5"),
    ({"cells": 96.5}, r"cells must be a whole number \(cells\), got 96.5"),
    ({"hall_x_cm": [-250.0]}, r"hall_x_cm must be a list of 2 numbers \(cm\)"),
    ({"hall_x_cm": [250.0, -250.0]}, r"hall_x_cm must be \(low, high\) with low < high"),
    ({"hall_x_cm": [-100.0, 100.0]}, r"the hall .* must contain the detector"),
    ({"rock_events": "yes"}, r"rock_events must be true or false, got 'yes'"),
    ({"spectrum_cdf": [0.0, 0.5, 1.0]}, r"spectrum_gev and spectrum_cdf must be equally long"),
    ({"pileup_hits_per_plane": -0.1}, r"pileup_hits_per_plane must be ≥ 0 \(hits/plane\)"),
])
def test_bad_values_name_the_key_the_unit_and_the_value(values, message):
    with pytest.raises(ConfigError, match=message):
        SimConfig.from_dict(values, source="sim.yaml")
    with pytest.raises(ConfigError, match=r"^sim\.yaml: "):
        SimConfig.from_dict(values, source="sim.yaml")


def test_unknown_keys_are_listed_with_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown simulator keys \['row_depth'\]; valid keys: preset, "):
        SimConfig.from_dict({"row_depth": 13.3})


def test_presets_and_overrides(tmp_path):
    fd = SimConfig.from_dict({"preset": "fd-like"})
    assert (fd.active_planes, fd.cells, fd.planes_per_row, fd.rock_events) == (896, 384, 2, False)
    assert SimConfig.from_dict({"preset": "fd-like", "planes_per_row": 1}).planes_per_row == 1
    assert set(PRESETS) == {"nd", "fd-like"}
    with pytest.raises(ConfigError, match="unknown preset 'far'; valid presets: nd, fd-like"):
        SimConfig.from_dict({"preset": "far"})
    path = tmp_path / "c.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping of simulator keys, got list"):
        SimConfig.from_yaml(path)
    path.write_text("a: [1,\n")
    with pytest.raises(ConfigError, match="cannot read simulator config"):
        SimConfig.from_yaml(path)


def test_round_trip_and_derived_geometry():
    cfg = SimConfig()
    assert SimConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.half_width_cm == pytest.approx(191.52)  # 96 cells of 3.99 cm
    assert cfg.active_length_cm == pytest.approx(1269.12)  # 192 planes of 6.61 cm
    assert cfg.catcher_planes == 22  # 11 pairs around 10 plates: 214 planes in all, as the ND has
    assert cfg.length_cm == pytest.approx(1269.12 + 22 * 6.61 + 10 * 10.16)

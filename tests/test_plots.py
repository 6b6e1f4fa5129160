"""Event displays and distribution plots: pixels in the right place, truth in the title, PNGs on disk."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from conftest import make_events
from nuclass.errors import ConfigError
from nuclass.io import Events, read_file
from nuclass.plots import CHARGE_LABEL, class_distributions, display_event, display_grid, event_caption

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's IHDR header."""
    data = path.read_bytes()[:24]
    assert data[:8] == PNG_MAGIC
    return struct.unpack(">II", data[16:24])


def _one_pixel_event(plane: int, cell: int) -> Events:
    maps = np.zeros((1, 2, 100, 80), np.uint8)
    maps[0, 0, plane, cell] = 200
    maps[0, 1, plane, 79 - cell] = 100
    meta = {
        "evt": np.array([0]),
        "interaction": np.array([0]),
        "finalstate": np.array([4]),
        "nuenergy": np.array([2.0], np.float32),
        "lepenergy": np.array([1.5], np.float32),
    }
    return Events(maps, meta)


def test_display_of_a_file_event(sim_file, tmp_path):
    out = display_event(sim_file, 7, tmp_path / "sub" / "event.png")
    assert out == tmp_path / "sub" / "event.png"
    width, height = png_size(out)
    assert 1000 < width < 2000 and 400 < height < 900
    assert width > 1.8 * height  # both views side by side
    assert [p.name for p in out.parent.iterdir()] == ["event.png"]  # no temporary file left behind


def test_display_draws_planes_across_cells_up_with_zeros_blank(tmp_path):
    import matplotlib.image

    out = display_event(_one_pixel_event(plane=50, cell=70), 0, tmp_path / "pixel.png")
    rgb = matplotlib.image.imread(out)[..., :3]
    coloured = np.argwhere(np.ptp(rgb, axis=2) > 0.15)  # saturated colours: the two hits and the colour bar
    width = rgb.shape[1]
    hits = coloured[coloured[:, 1] < 0.88 * width]  # leave out the colour bar on the right
    # x–z hit: half way along the beam (plane 50 of 100) and high up (cell 70 of 80), in the left half
    left = hits[hits[:, 1] < width / 2]
    assert len(left) > 0 and np.mean(left[:, 0]) < 0.45 * rgb.shape[0]
    assert 0.15 * width < np.mean(left[:, 1]) < 0.35 * width
    right = hits[hits[:, 1] >= width / 2]
    # y–z hit at cell 9: low in the right panel
    assert len(right) > 0 and np.mean(right[:, 0]) > 0.55 * rgb.shape[0]
    # most of each panel is blank white, not the colour map's lowest colour
    assert np.mean(np.all(rgb > 0.99, axis=2)) > 0.8


def test_display_title_carries_the_truth():
    classes, energies = event_caption({"interaction": 0, "finalstate": 4, "nuenergy": 2.0, "lepenergy": 1.5})
    assert classes == "kNumuQE (νμ CC, QE) · final state kNumu1tr0sh"
    assert energies == "Eν = 2.00 GeV · E_ℓ = 1.50 GeV · E_ℓ/E_ν = 0.75"  # the seeds' y, named for what it is
    nc = {"interaction": 13, "finalstate": 32, "nuenergy": 2.0, "lepenergy": 1.5}
    assert "E_ν,out (NC: outgoing ν) = 1.50 GeV" in event_caption(nc)[1]  # NC's "lepton" is the neutrino
    other = {"interaction": 15, "finalstate": 49, "nuenergy": 0.0, "lepenergy": 0.0}
    classes, energies = event_caption(other)
    assert classes == "kOther (NC & other) · final state kOtherFS"  # code 15 has no mode class
    assert energies.endswith("E_ℓ/E_ν = –")


def test_event_index_out_of_range_names_file_and_range(sim_file, tmp_path):
    for index in (300, -1):
        message = rf"neutrino1\.h5: event {index} out of range; valid events are 0–299"
        with pytest.raises(ConfigError, match=message):
            display_event(sim_file, index, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_display_of_events_in_memory_replaces_an_old_png(tmp_path):
    out = tmp_path / "event.png"
    out.write_bytes(b"old")
    display_event(make_events(20, seed=3), 5, out)
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_grid_grows_with_the_number_of_events(sim_file, tmp_path):
    _, one = png_size(display_grid(sim_file, [3], tmp_path / "one.png"))
    _, three = png_size(display_grid(read_file(sim_file), [3, 150, 299], tmp_path / "three.png"))
    assert 2.5 * one < three < 3.5 * one
    with pytest.raises(ConfigError, match="2 titles for 3 events"):
        display_grid(sim_file, [0, 1, 2], tmp_path / "bad.png", titles=["a", "b"])
    with pytest.raises(ConfigError, match="out of range"):
        display_grid(sim_file, [0, 300], tmp_path / "bad.png")


def test_class_distributions_png(sim_file, tmp_path):
    meta = read_file(sim_file).meta
    for log in (False, True):
        width, height = png_size(class_distributions(meta, tmp_path / f"dist_{log}.png", log=log))
        assert width > 2 * height
    with pytest.raises(ConfigError):
        class_distributions({k: v[:0] for k, v in meta.items()}, tmp_path / "empty.png")


def test_charge_label_is_the_8bit_adc_scale():
    assert CHARGE_LABEL == "charge (ADC, 8-bit)"

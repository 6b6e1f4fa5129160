"""File summaries: composition by the label rules, energy quantiles and map statistics, worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

from nuclass.console import render_summary
from nuclass.errors import ConfigError, FormatError
from nuclass.io import Events, expand_paths, read_file, read_truth, write_file
from nuclass.io.summary import summarise


def _hand_made() -> Events:
    """Five events with known codes, energies and pixels."""
    maps = np.zeros((5, 2, 100, 80), np.uint8)
    maps[0, 0, :3, 40] = 100  # 3 lit in x–z, 1 in y–z
    maps[0, 1, 0, 40] = 255  # saturated
    maps[1, :, :5, 41] = 50  # 5 and 5
    maps[2, 0, :7, 39] = 20  # 7 and 2
    maps[2, 1, :2, 39] = 255
    maps[3, :, 0, 0] = 10  # 1 and 1
    maps[4, 0, 10, 10] = 30  # 1 and 0
    meta = {
        "evt": np.arange(5),
        "interaction": np.array([0, 0, 4, 13, 15]),  # νμ CC QE ×2, νe CC QE, NC, other
        "finalstate": np.array([4, 4, 17, 32, 49]),
        "nuenergy": np.array([1.0, 2.0, 3.0, 4.0, 0.0], np.float32),
        "lepenergy": np.array([0.5, 1.0, 3.0, 0.0, 0.0], np.float32),
    }
    return Events(maps, meta)


@pytest.fixture(scope="module")
def hand_file(tmp_path_factory):
    return write_file(tmp_path_factory.mktemp("hand") / "neutrino1.h5", _hand_made())


def test_composition_counts_and_fractions_by_hand(hand_file):
    total = summarise([hand_file])["total"]
    assert total["events"] == 5
    assert total["interaction"] == {
        "kNumuQE": {"code": 0, "count": 2, "fraction": 0.4},
        "kNueQE": {"code": 4, "count": 1, "fraction": 0.2},
        "kNC": {"code": 13, "count": 1, "fraction": 0.2},
        "kOther": {"code": 15, "count": 1, "fraction": 0.2},
    }
    flavour = {k: v["count"] for k, v in total["flavour"].items()}
    assert flavour == {"νμ CC": 2, "νe CC": 1, "NC & other": 2}
    # codes 0 and 4 are both QE; 13 is NC; 15 is left out of the mode task
    assert {k: v["count"] for k, v in total["mode"].items()} == {
        "QE": 3, "RES": 0, "DIS": 0, "other CC": 0, "NC": 1, "not used": 1
    }
    assert {k: v["count"] for k, v in total["finalstate"].items()} == {
        "kNumu1tr0sh": 2, "kNue0tr1sh": 1, "kNC0tr0sh": 1, "kOtherFS": 1
    }


def test_energy_quantiles_by_hand(hand_file):
    energy = summarise([hand_file])["total"]["energy"]
    assert energy["zero_energy_events"] == 1
    nu = energy["nuenergy"]  # the four events with Eν > 0: 1, 2, 3, 4 GeV
    assert nu["n"] == 4
    assert (nu["min"], nu["q50"], nu["max"], nu["mean"]) == pytest.approx((1.0, 2.5, 4.0, 2.5))
    assert nu["q25"] == pytest.approx(1.75)  # linear interpolation between 1 and 2 GeV
    lep = energy["lepenergy"]  # 0.5, 1, 3, 0 GeV over the same events
    assert (lep["min"], lep["q50"], lep["max"], lep["mean"]) == pytest.approx((0.0, 0.75, 3.0, 1.125))
    y = energy["y"]  # 0.5, 0.5, 1.0, 0.0
    assert (y["min"], y["q50"], y["max"]) == pytest.approx((0.0, 0.5, 1.0))


def test_map_statistics_by_hand(hand_file):
    maps = summarise([hand_file])["total"]["maps"]
    assert maps["lit_pixels"]["xz"]["q50"] == 3  # lit in x–z: 3, 5, 7, 1, 1
    assert maps["lit_pixels"]["yz"]["q50"] == 1  # lit in y–z: 1, 5, 2, 1, 0
    assert maps["lit_pixels"]["xz"]["max"] == 7
    assert maps["empty_events"] == 0
    assert maps["saturated_fraction"] == pytest.approx(3 / 26)  # 3 pixels at 255 among 26 lit
    assert maps["lit_fraction"] == pytest.approx(26 / (5 * 16000))
    assert maps["median_lit_charge"] == 50  # sorted charges: 10 10 20×7 30 50×10 100×3 255×3


def test_summary_of_files_matches_their_truth(sim_dir):
    summary = summarise([sim_dir])
    files = sorted(sim_dir.glob("*.h5"))
    assert [f["path"] for f in summary["files"]] == [str(p) for p in files]
    for entry in summary["files"]:
        truth = read_truth(entry["path"])
        codes, counts = np.unique(truth["interaction"], return_counts=True)
        assert {v["code"]: v["count"] for v in entry["interaction"].values()} == dict(
            zip(codes.tolist(), counts.tolist(), strict=True)
        )
        positive = truth["nuenergy"][truth["nuenergy"] > 0]
        assert entry["energy"]["nuenergy"]["q50"] == pytest.approx(float(np.median(positive)), rel=1e-6)
    total = summary["total"]
    assert total["files"] == 4
    assert total["events"] == sum(f["events"] for f in summary["files"])
    for key in ("interaction", "flavour", "mode", "finalstate"):
        assert sum(v["fraction"] for v in total[key].values()) == pytest.approx(1.0)
        for name, entry in total[key].items():
            assert entry["count"] == sum(f[key].get(name, {"count": 0})["count"] for f in summary["files"])


def test_map_statistics_match_a_direct_count(sim_file):
    events = read_file(sim_file)
    lit = np.count_nonzero(events.maps.reshape(len(events), 2, -1), axis=2)
    maps = summarise([sim_file])["total"]["maps"]
    assert maps["lit_pixels"]["xz"]["q50"] == pytest.approx(np.median(lit[:, 0]))
    assert maps["lit_pixels"]["yz"]["mean"] == pytest.approx(lit[:, 1].mean())
    n_lit = np.count_nonzero(events.maps)
    assert maps["saturated_fraction"] == pytest.approx(np.count_nonzero(events.maps == 255) / n_lit)


def test_directories_in_natural_number_order_and_duplicates_dropped(tmp_path):
    for k in (10, 2, 1):
        (tmp_path / f"neutrino{k}.h5").touch()
    (tmp_path / "notes.txt").touch()
    found = expand_paths([tmp_path, tmp_path / "neutrino2.h5"])
    assert [p.name for p in found] == ["neutrino1.h5", "neutrino2.h5", "neutrino10.h5"]


def test_empty_directory_and_bad_file_are_errors(tmp_path, sim_file):
    with pytest.raises(ConfigError, match="no \\*.h5 files"):
        summarise([tmp_path])
    bad = tmp_path / "neutrino3.h5"
    bad.write_text("not HDF5")
    with pytest.raises(FormatError, match="neutrino3.h5"):
        summarise([sim_file, bad])


def test_render_summary_shows_percentages_and_quantiles(hand_file):
    console = Console(record=True, width=160)
    render_summary(summarise([hand_file]), console)
    text = console.export_text()
    assert "kNumuQE" in text and "40.00 %" in text  # 2 of 5 events
    assert "νe CC" in text and "20.00 %" in text
    assert "2.50" in text  # median Eν of the events with Eν > 0
    assert "1 with Eν = 0" in text
    assert "11.54 %" in text  # saturated share of lit pixels, 3 / 26


def test_vertex_locations_and_their_energies_by_hand(tmp_path):
    """Active volume, muon catcher and outside, in the real files' coordinates (labels.truth)."""
    events = _hand_made()
    events.meta["vtxx"] = np.array([0.0, 10.0, 0.0, 300.0, 0.0])
    events.meta["vtxy"] = np.array([0.0, 0.0, -190.0, 0.0, 0.0])
    events.meta["vtxz"] = np.array([100.0, 1268.0, 1400.0, 100.0, -500.0])
    vertex = summarise([write_file(tmp_path / "neutrino1.h5", events)])["total"]["vertex"]
    where = vertex["location"]
    assert {k: v["count"] for k, v in where.items()} == {"active": 2, "muon catcher": 1, "outside": 2}
    assert where["active"]["median_nuenergy"] == pytest.approx(1.5)  # events 0 and 1
    assert where["outside"]["median_nuenergy"] == pytest.approx(4.0)  # event 4 has Eν = 0: left out
    assert vertex["vtxz"]["min"] == -500.0 and vertex["vtxz"]["max"] == 1400.0
    text = Console(record=True, width=120)
    render_summary(summarise([tmp_path / "neutrino1.h5"]), text)
    shown = text.export_text()
    assert "muon catcher" in shown and "40.0 %" in shown

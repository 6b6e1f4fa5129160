"""`nuclass simulate`: files the seed notebooks read unchanged, reproducible, written in parallel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

from nuclass.io import read_file
from nuclass.sim import simulate_files

NUCLASS = [sys.executable, "-m", "nuclass.cli"]


def test_parallel_files_are_reproducible_and_independent(tmp_path):
    a = simulate_files(tmp_path / "a", 2, 60, seed=7, workers=2)
    b = simulate_files(tmp_path / "b", 2, 60, seed=7, workers=1)
    assert [p.name for p in a] == ["neutrino1.h5", "neutrino2.h5"]
    for pa, pb in zip(a, b, strict=True):
        ea, eb = read_file(pa), read_file(pb)
        assert np.array_equal(ea.maps, eb.maps)
        assert np.array_equal(ea.meta["nuenergy"], eb.meta["nuenergy"])
    assert not np.array_equal(read_file(a[0]).maps, read_file(a[1]).maps)  # files seeded independently
    assert not list((tmp_path / "a").glob(".*tmp*"))  # nothing left from the atomic writes


def test_cli_writes_files_the_seed_notebooks_read(tmp_path):
    out = tmp_path / "sim"
    done = subprocess.run([*NUCLASS, "simulate", str(out), "--files", "1", "--events-per-file", "40",
                           "--seed", "2", "--workers", "1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with h5py.File(out / "neutrino1.h5", "r") as f:  # the seeds' own access pattern
        assert f["cvnmap"].shape == (40, 16000)
        event = f["cvnmap"][3].reshape((2, 100, 80))
        assert event.dtype == np.uint8 and event.any()
        assert f["neutrino"]["interaction"].shape == (40, 1)
        assert f["neutrino"]["interaction"][3] <= 15
        assert sorted(f["neutrino"]) == sorted([
            "cycle", "evt", "finalstate", "finalstateprong", "interaction", "lepenergy", "nuenergy", "parent",
            "particles", "rec.training.trainingdata_idx", "run", "subevt", "subrun", "vtxx", "vtxy", "vtxz"])
        assert "simtruth" in f  # extra truth kept apart


def test_cli_rejects_a_bad_config_with_one_line(tmp_path):
    bad = tmp_path / "sim.yaml"
    bad.write_text("row_depth: 13.3\n")
    done = subprocess.run([*NUCLASS, "simulate", str(tmp_path / "x"), "--files", "1",
                           "--events-per-file", "5", "--config", str(bad)], capture_output=True, text=True)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "row_depth" in lines[0] and "row_depth_cm" in lines[0]
    assert not Path(tmp_path / "x").exists() or not list(Path(tmp_path / "x").iterdir())

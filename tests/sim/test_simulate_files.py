"""`nuclass simulate`: files the seed notebooks read unchanged, reproducible, written in parallel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

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
    bad.write_text("plane_pitch: 13.3\n")
    done = subprocess.run([*NUCLASS, "simulate", str(tmp_path / "x"), "--files", "1",
                           "--events-per-file", "5", "--config", str(bad)], capture_output=True, text=True)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "['plane_pitch'] (did you mean plane_pitch_cm?)" in lines[0]
    assert not Path(tmp_path / "x").exists() or not list(Path(tmp_path / "x").iterdir())


def test_a_folder_with_a_data_set_is_refused_and_overwrite_replaces_it_whole(tmp_path):
    from nuclass.errors import ConfigError
    from nuclass.sim import read_manifest

    out = tmp_path / "sim"
    first = simulate_files(out, 2, 40, seed=1, workers=1)
    before = {p.name: p.read_bytes() for p in first}
    refused = r"already holds a data set \(2 NOvA files: neutrino1.h5, neutrino2.h5"
    with pytest.raises(ConfigError, match=refused):
        simulate_files(out, 3, 40, seed=2, workers=1)
    assert {p.name: p.read_bytes() for p in first} == before  # nothing touched
    manifest = read_manifest(out)
    assert manifest["seed"] == 1 and manifest["files"] == 2 and manifest["events"] == 80
    assert set(manifest["sha256"]) == {"neutrino1.h5", "neutrino2.h5"}
    assert manifest["config"]["active_planes"] == 192 and manifest["candidates_per_written_event"] > 1
    second = simulate_files(out, 1, 30, seed=2, workers=1, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["neutrino1.h5", "simulation.json"]
    assert read_file(second[0]).maps.shape[0] == 30 and read_manifest(out)["seed"] == 2


def test_an_existing_file_is_no_output_folder(tmp_path):
    from nuclass.errors import ConfigError

    target = tmp_path / "notes.txt"
    target.write_text("mine")
    with pytest.raises(ConfigError, match="expected a directory for the simulated files, got an existing"):
        simulate_files(target, 1, 10)
    assert target.read_text() == "mine"
    with pytest.raises(ConfigError, match="--events-per-file must be a whole number ≥ 1, got 0"):
        simulate_files(tmp_path / "new", 1, 0)
    assert not (tmp_path / "new").exists()


def _interrupt_simulation(out: Path, extra: list[str],
                          ready: Path) -> tuple[subprocess.CompletedProcess, float]:
    """Start `nuclass simulate` (16 × 1,500 events, 2 workers), Ctrl-C it once `ready` exists (or 60 s
    pass), and return the finished process and the seconds from the signal to its exit."""
    import signal
    import time

    proc = subprocess.Popen([*NUCLASS, "simulate", str(out), "--files", "16", "--events-per-file", "1500",
                             "--workers", "2", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not ready.exists() and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    return done, time.monotonic() - signalled


@pytest.mark.slow
def test_ctrl_c_stops_at_once_and_leaves_only_complete_files(tmp_path):
    out = tmp_path / "sim"
    done, seconds = _interrupt_simulation(out, [], ready=out / "neutrino1.h5")
    assert done.returncode == 130, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "files complete in" in lines[0] and "no manifest written" in lines[0]
    assert seconds < 3.0
    left = sorted(p.name for p in out.iterdir())
    assert not [n for n in left if n.startswith(".")]  # no temporaries
    assert "simulation.json" not in left
    for name in left:  # every file named is complete and valid, and named in the message
        assert name in lines[0] and read_file(out / name).maps.shape[0] == 1500
    assert len(left) < 16


@pytest.mark.slow
def test_ctrl_c_during_overwrite_keeps_the_old_set(tmp_path):
    out = tmp_path / "sim"
    old = simulate_files(out, 1, 20, seed=9, workers=1)
    before = old[0].read_bytes()
    done, _ = _interrupt_simulation(out, ["--overwrite"], ready=out / ".nuclass-simulate-staging")
    assert done.returncode == 130 and "unchanged" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["neutrino1.h5", "simulation.json"]
    assert old[0].read_bytes() == before

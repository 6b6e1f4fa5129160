"""`nuclass demo` end to end on tiny settings: simulate, train two models on the same split, evaluate both,
one report comparing them; a directory in the way of a run is refused before any work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nuclass.demo import DEMO_MODELS, run_demo
from nuclass.errors import ConfigError, NuclassError
from nuclass.io import read_truth
from nuclass.training import PRESETS

TINY = {**PRESETS["tiny"], "threads": 1}


@pytest.mark.slow
def test_tiny_demo_writes_a_report_comparing_both_models(tmp_path: Path) -> None:
    report = run_demo(
        tmp_path, files=3, events_per_file=150, seed=3, workers=1, max_minutes=None, train_options=TINY
    )

    assert report == tmp_path / "report.html"
    data = sorted((tmp_path / "data").glob("*.h5"))
    assert [p.name for p in data] == ["neutrino1.h5", "neutrino2.h5", "neutrino3.h5"]
    assert all(len(read_truth(p)["interaction"]) == 150 for p in data)

    runs = [tmp_path / "runs" / model for model in DEMO_MODELS]
    splits = [json.loads((run / "split.json").read_text()) for run in runs]
    assert splits[0] == splits[1]  # the same files in train, val and test for both models
    assert sorted(f for files in splits[0].values() for f in files) == [str(p) for p in data]
    for run, model in zip(runs, DEMO_MODELS, strict=True):
        metrics = json.loads((run / "metrics.json").read_text())
        assert (metrics["task"], metrics["model"]) == ("numu-cc", model)
        # 3 files split 1/1/1: the test set is the whole test file (numu-cc uses every event)
        assert metrics["test_sets"]["natural"]["n_events"] == 150
        assert 0.0 <= metrics["test_sets"]["balanced"]["accuracy"] <= 1.0

    html = report.read_text()
    assert html.startswith("<!DOCTYPE html>") and "Comparison" in html
    assert all(model in html for model in DEMO_MODELS)
    assert "nuclass demo: cvn vs seed-multiview on numu-cc" in html


def test_demo_refuses_to_replace_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    blocker = tmp_path / "runs" / "cvn"
    blocker.mkdir(parents=True)
    (blocker / "notes.txt").write_text("mine")
    with pytest.raises(NuclassError, match="exists and is not a nuclass run"):
        run_demo(tmp_path, files=3, events_per_file=150, train_options=TINY)
    assert not (tmp_path / "data").exists()  # refused before simulating anything
    assert (blocker / "notes.txt").read_text() == "mine"


def test_demo_needs_three_files_for_its_split(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs ≥ 3 files, got 2"):
        run_demo(tmp_path, files=2, events_per_file=150)
    assert not any(tmp_path.iterdir())

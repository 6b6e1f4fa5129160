"""The benchmark scripts that the suite can run: gpu_check's path without a GPU, the compute curves on a
tiny budget (the real ones take hours: benchmarks/README_train.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def test_gpu_check_without_a_gpu_says_so_and_exits_0() -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, str(BENCHMARKS / "gpu_check.py")], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "no CUDA GPU found" in result.stdout


@pytest.mark.slow
def test_compute_curves_on_a_tiny_budget(sim_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import compute_curves

    figure, markdown = tmp_path / "curves.png", tmp_path / "curves.md"
    points = compute_curves.main([
        "--data", str(sim_dir), "--tasks", "numu-cc", "--models", "cvn", "seed-multiview",
        "--budgets", "1", "2", "--max-events-per-file", "120", "--val-events", "64", "--parallel", "2",
        "--out", str(tmp_path / "runs"), "--markdown", str(markdown), "--figure", str(figure),
    ])
    expected = {(budget, model) for budget in (1, 2) for model in ("cvn", "seed-multiview")}
    assert {(p["budget"], p["model"]) for p in points} == expected
    for p in points:
        assert 0 <= p["auc"] <= 1 and p["auc_err"] > 0 and p["events"] > 0
        assert p["stopped"] in ("budget", "early stop")  # on these few events early stopping may come first
        assert p["cpu"] >= p["budget"] or p["stopped"] == "early stop"
        if p["model"] == "cvn":
            assert p["delta"] == 0 and p["delta_err"] == 0
        else:
            assert p["delta_err"] > 0
    text = markdown.read_text()
    assert "cvn leads by > 2σ?" in text and text.count("| numu-cc |") == 4
    assert figure.stat().st_size > 1000

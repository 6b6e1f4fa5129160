"""`nuclass evaluate`, `predict` and `report` on a real (tiny) training: metrics.json with the stable keys
and numbers that agree with the run's own predictions, one score per event of the given files, an HTML
report; a run directory that is missing or unfinished is one line on stderr and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from nuclass.cli import app
from nuclass.io import read_truth

NUCLASS = str(Path(sys.executable).with_name("nuclass"))
BLOCK_KEYS = {
    "n_events",
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "cohen_kappa",
    "roc_auc",
    "confusion_matrix",
    "efficiency_purity",
    "by",
}
runner = CliRunner()


def _predictions(run_dir: Path, name: str, *keys: str) -> list[np.ndarray]:
    with np.load(run_dir / "predictions" / f"{name}.npz") as npz:
        return [npz[k] for k in keys]


def _test_file(run_dir: Path) -> Path:
    (path,) = json.loads((run_dir / "split.json").read_text())["test"]
    return Path(path)


@pytest.mark.slow
def test_evaluate_writes_metrics_json_that_agrees_with_the_predictions(run_dir):
    result = runner.invoke(app, ["evaluate", str(run_dir)])
    assert result.exit_code == 0, result.stderr
    assert str(run_dir / "metrics.json") in result.stdout
    assert "balanced accuracy" in result.stdout and "ROC AUC" in result.stdout
    assert "accuracy (score ≥ 0.5)" in result.stdout  # the headline accuracy states its cut

    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (metrics["task"], metrics["model"]) == ("numu-cc", "seed-multiview")
    for name in ("natural", "balanced"):
        block = metrics["test_sets"][name]
        assert BLOCK_KEYS <= set(block), name
        assert {"nuenergy", "lepenergy", "interaction", "finalstate"} <= set(block["by"])
        target, score = _predictions(run_dir, name, "target", "score")
        predicted = (score[:, 0] >= 0.5).astype(int)
        confusion = np.array(block["confusion_matrix"])
        assert confusion.sum() == block["n_events"] == len(target)
        assert confusion.tolist() == [
            [np.sum((target == t) & (predicted == p)) for p in (0, 1)] for t in (0, 1)
        ]
        assert block["accuracy"] == pytest.approx(np.trace(confusion) / confusion.sum())
        assert sum(c["n"] for c in block["by"]["interaction"]) == len(target)
    # the tiny preset keeps 200 events of the test file: all are used by numu-cc (natural composition)
    assert metrics["test_sets"]["natural"]["n_events"] == 200
    balanced = np.array(metrics["test_sets"]["balanced"]["confusion_matrix"]).sum(axis=1)
    assert balanced[0] == balanced[1] > 0  # undersampled to equal classes


@pytest.mark.slow
def test_evaluate_on_other_files(run_dir, sim_dir):
    other = sim_dir / "neutrino1.h5"
    result = runner.invoke(app, ["evaluate", str(run_dir), "--data", str(other)])
    assert result.exit_code == 0, result.stderr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["data"] == [str(other)]
    assert metrics["test_sets"]["natural"]["n_events"] == 300  # the whole file, not the training's 200
    codes = read_truth(other)["interaction"]
    signal = int(np.sum(codes <= 3))
    assert metrics["test_sets"]["balanced"]["n_events"] == 2 * min(signal, 300 - signal)


@pytest.mark.slow
def test_predict_scores_every_event_of_the_files(run_dir, sim_dir, tmp_path):
    test_file = _test_file(run_dir)
    other = next(p for p in sim_dir.glob("*.h5") if p != test_file)
    files = sorted([test_file, other], key=lambda p: p.name)  # output follows the files' natural order
    offset = 300 * files.index(test_file)
    out = tmp_path / "scores.h5"
    result = runner.invoke(app, ["predict", str(run_dir), str(other), str(test_file), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert not list(tmp_path.glob(".*tmp*"))  # written under a temporary name, then renamed

    truth = [read_truth(p) for p in files]
    with h5py.File(out) as f:
        assert f.attrs["task"] == "numu-cc"
        assert [name.decode() for name in f["files"][:]] == [p.name for p in files]
        score = f["score"][:]
        assert score.shape == (600,) and np.all((score >= 0) & (score <= 1))
        assert f["file_index"][:].tolist() == [0] * 300 + [1] * 300
        assert f["evt"][:].tolist() == np.concatenate([t["evt"] for t in truth]).tolist()
        assert np.array_equal(
            f["neutrino/interaction"][:, 0], np.concatenate([t["interaction"] for t in truth])
        )
        assert np.array_equal(f["predicted_class"][:], (score >= 0.5).astype(int))
        assert f["row"][:].tolist() == list(range(300)) * 2  # each event's row in its file
    # the same network as the training's own test-set predictions (first 200 events of the test file)
    row, natural = _predictions(run_dir, "natural", "row", "score")
    assert np.allclose(score[offset + row], natural[:, 0], atol=1e-5)


@pytest.mark.slow
def test_report_writes_one_html_file(run_dir, tmp_path):
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(run_dir), str(run_dir), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html
    assert "seed-multiview" in html and "Comparison" in html
    assert "<script src=" not in html and 'href="http' not in html


@pytest.mark.parametrize("command", ["evaluate", "predict", "report"])
def test_missing_run_dir_is_one_line_and_exit_2(command, tmp_path, sim_file):
    missing = tmp_path / "no-such-run"
    args = [command, str(missing)] + ([str(sim_file)] if command == "predict" else [])
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"nuclass {command}: error: {missing}: no such run directory"]


def test_unfinished_run_dir_names_the_missing_file(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("task: numu-cc\n")
    result = subprocess.run([NUCLASS, "evaluate", str(run)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"nuclass evaluate: error: {run}: not a finished training run (no predictions/natural.npz); "
        "see nuclass train"
    ]


@pytest.mark.slow
def test_a_multitask_run_trains_evaluates_and_reports_from_the_cli(sim_dir, tmp_path):
    run = tmp_path / "multi"
    trained = runner.invoke(app, ["train", "--task", "energy,numu-cc", "--data", str(sim_dir), "--out",
                                  str(run), "--config", "tiny"])
    assert trained.exit_code == 0, trained.stderr
    assert "cvn on numu-cc,energy" in trained.stdout and "balanced numu-cc" in trained.stdout
    evaluated = runner.invoke(app, ["evaluate", str(run)])
    assert evaluated.exit_code == 0, evaluated.stderr
    assert "cvn on numu-cc" in evaluated.stdout and "cvn on energy" in evaluated.stdout
    assert "MAE (GeV)" in evaluated.stdout and "natural (" in evaluated.stdout
    metrics = json.loads((run / "metrics.json").read_text())
    assert list(metrics["tasks"]) == ["numu-cc", "energy"]
    report = tmp_path / "report.html"
    reported = runner.invoke(app, ["report", str(run), "--out", str(report)])
    assert reported.exit_code == 0, reported.stderr
    assert "Task energy" in report.read_text() and "Task numu-cc" in report.read_text()
    bad = runner.invoke(app, ["train", "--task", "numu-cc,tau", "--data", str(sim_dir), "--out",
                              str(tmp_path / "b")])
    assert bad.exit_code == 2 and "unknown task 'tau'" in bad.stderr

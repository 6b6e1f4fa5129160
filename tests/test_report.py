"""The HTML report: one self-contained file with every metric, plot and the truth analysis; it renders
in headless Chromium."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from nuclass.errors import FormatError
from nuclass.evaluation import evaluate_run
from nuclass.report import write_report
from test_evaluation import write_fake_run

pytestmark = pytest.mark.slow  # the runs are evaluated and every figure drawn once per module


@pytest.fixture(scope="module")
def runs(tmp_path_factory, sim_dir):
    """Two numu-cc runs (cvn, seed-2ch; the first with a split.json naming real files) and an energy run."""
    root = tmp_path_factory.mktemp("runs")
    cvn = write_fake_run(root / "cvn", "numu-cc", "cvn", n=400, seed=1)
    files = sorted(sim_dir.glob("neutrino*.h5"))
    (cvn / "split.json").write_text(
        json.dumps({"train": [str(f) for f in files[:2]], "val": [str(files[2])], "test": [str(files[3])]})
    )
    seed = write_fake_run(root / "seed", "numu-cc", "seed-2ch", n=400, seed=2)
    energy = write_fake_run(root / "energy", "energy", "cvn", n=400, seed=3)
    return [cvn, seed, energy]


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    study = {
        "name": "QE vs DIS training",
        "task": "numu-cc",
        "results": [{"train_on": "QE", "accuracy": 0.91}, {"train_on": "DIS", "accuracy": 0.83}],
    }
    out = tmp_path_factory.mktemp("report") / "report.html"
    for run in runs:  # the report reads evaluated runs (the CLI evaluates those that are not)
        evaluate_run(run)
    return write_report(runs, out, studies=[study])


def test_report_is_one_self_contained_file(report):
    text = report.read_text(encoding="utf-8")
    assert sorted(p.name for p in report.parent.iterdir()) == ["report.html"]  # nothing beside it
    # nothing is loaded from anywhere: no http(s) or protocol-relative src/href, no scripts or stylesheets
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I)
    assert not re.search(r"<(script|link|iframe)\b", text, re.I)
    sources = re.findall(r'<img[^>]*\ssrc="([^"]+)"', text)
    assert len(sources) >= 3 * 10  # every run's figures
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_holds_every_run_metric_and_the_truth_analysis(report, runs):
    text = report.read_text(encoding="utf-8")
    metrics = [json.loads((r / "metrics.json").read_text()) for r in runs]
    for run, m in zip(runs, metrics, strict=True):
        assert f"{run.name}: {m['task']} with {m['model']}" in text
        for block in m["test_sets"].values():
            for entry in block["dependence"] + block["questions"]:
                assert html.escape(entry["sentence"]) in text
    assert "balanced" not in metrics[2]["test_sets"]  # the energy run: a regression has none
    assert "mean absolute error (GeV)" in text and "mean squared error (GeV²)" in text
    for key in (
        "balanced_accuracy",
        "cohen_kappa",
        "roc_auc",
        "Efficiency and purity of the selection",
        "Confusion matrices",
        "resolution",
        "By finalstate",
        "Absent from every test set",
    ):
        assert key in text, key
    assert "seed 001 called this per-bin accuracy “efficiency”" in text
    assert "fraction of true signal events that are selected" in text
    # the data section of the run with a split.json shows event displays of each class
    assert "Event displays, one typical event (median Eν) per class" in text
    assert (runs[0] / "plots" / "data_event_displays.png").is_file()
    assert "QE vs DIS training" in text and "train_on" in text  # the studies hook


def test_comparison_table_highlights_the_best_run_of_each_task(report, runs):
    text = report.read_text(encoding="utf-8")
    metrics = [json.loads((r / "metrics.json").read_text()) for r in runs[:2]]
    for test_set in ("natural", "balanced"):
        for key in ("accuracy", "accuracy_at_best_cut", "balanced_accuracy", "roc_auc"):
            best = max(m["test_sets"][test_set][key] for m in metrics)
            assert f'<td class="best">{best:.4g}</td>' in text, (test_set, key)
    # 4 metrics × 2 test sets for numu-cc; the lone energy run has nothing to be compared with
    assert text.count('class="best"') == 8


def test_report_of_a_multitask_run_shows_every_task(tmp_path):
    from test_evaluation import write_fake_multitask_run

    run = write_fake_multitask_run(tmp_path / "multi", ["numu-cc", "mode", "y"], n=300)
    evaluate_run(run)
    out = write_report([run], tmp_path / "report.html")
    text = out.read_text(encoding="utf-8")
    assert "multi: 3 tasks with one multi-task cvn" in text
    for task in ("numu-cc", "mode", "y"):
        assert f'id="run-1-{task}"' in text and f"multi [{task}]" in text  # a section and a summary row
    # the output fixes: cuts stated, E_ℓ/E_ν named, no balanced column for the regression
    assert "accuracy_at_best_cut" in text and "calling every event the commonest class" in text
    assert "E_ℓ/E_ν" in text and "the inelasticity is 1 − E_ℓ/E_ν" in text
    assert "spread: std of (predicted − true)/true, the bias removed" in text


def test_report_of_a_missing_run_is_a_clear_error(tmp_path):
    with pytest.raises(FormatError, match="config.yaml"):
        write_report([tmp_path / "nope"], tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_renders_in_headless_chromium(report, tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (run `make chromium`); CI must render the report")
        pytest.skip("chromium is not installed (run `make chromium`)")
    shot = tmp_path / "report.png"
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1200,2400",
        report.resolve().as_uri(),
    ]
    subprocess.run(
        cmd, capture_output=True, timeout=180, check=False
    )  # exit noise is harmless: check the PNG
    assert shot.is_file() and shot.stat().st_size > 50_000
    from matplotlib.image import imread

    image = imread(shot)[..., :3]
    assert image.shape[:2] == (2400, 1200)
    # a rendered page: many distinct colours (text, tables, embedded figures), not a blank or error page
    background = np.all(image > 0.95, axis=-1) | np.all(np.abs(image - image[0, 0]) < 0.02, axis=-1)
    assert 0.1 < 1 - background.mean() < 0.95
    assert len(np.unique((image[::4, ::4] * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 200

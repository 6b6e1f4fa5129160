"""Studies: the built-in YAMLs load, the statistics by hand, and a tiny study end to end through the CLI."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nuclass.cli import app
from nuclass.errors import ConfigError
from nuclass.labels import get_task
from nuclass.study.compare import combine_repeats, compare, headline_metrics
from nuclass.study.spec import list_studies, load_study, plan_variants

SEED000_VARIANTS = [
    "baseline",
    "equal-qe-dis",
    "qe-only",
    "high-enu",
    "low-enu",
    "numu-high-enu",
    "numu-low-enu",
]


def test_builtin_studies_load_and_plan() -> None:
    assert list_studies() == ["balance", "learning-curve", "seed000-task2", "systematics-reverse"]
    seed = load_study("seed000-task2")
    plan = plan_variants(seed, n_train_files=8)
    assert [v.name for v in plan] == SEED000_VARIANTS
    by = {v.name: v for v in plan}
    assert by["baseline"].baseline is None and {v.baseline for v in plan[1:]} == {"baseline"}
    assert by["qe-only"].selection == {"signal": "interaction == kNumuQE"}
    assert by["equal-qe-dis"].selection == {
        "signal": "interaction in (kNumuQE, kNumuDIS)",
        "equalize_signal": "interaction",
    }
    assert by["high-enu"].selection == {"where": "nuenergy > 3.5"}
    assert by["numu-low-enu"].selection == {"signal": "nuenergy <= 3.5"}
    assert seed.train["max_minutes"] == 2 and len(seed.questions) == 4

    curve = load_study("learning-curve")
    assert [v.name for v in plan_variants(curve, 8)] == ["files-1", "files-2", "files-4", "files-8"]
    six = plan_variants(curve, 6)
    assert [v.settings["train_files"] for v in six] == [1, 2, 4, 6]
    assert [v.baseline for v in six] == ["files-6"] * 3 + [None]  # each point against the largest
    assert len(plan_variants(curve, 160, max_variants=5)) == 5  # the budget drops the largest sizes

    balance = plan_variants(load_study("balance"), 8)
    assert [v.name for v in balance] == [
        f"{t}-{b}" for t in ("numu-cc", "nue-cc") for b in ("undersample", "weights", "sampler", "none")
    ]
    assert {v.name: v.baseline for v in balance}["nue-cc-none"] == "nue-cc-undersample"
    assert {v.task for v in balance} == {"numu-cc", "nue-cc"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"variants": {"a": {"signal": "kNumuqe"}}}, r"variant a: unknown field or name 'kNumuqe'.*kNumuQE"),
        ({"variants": {"a": {"learning_rat": 0.1}}}, r"unknown key\(s\) learning_rat"),
        ({"variants": {"a": {"task": "energy"}}}, r"is a regression"),
        ({"variants": {"a": {"task": "flavour", "signal": "kNumuQE"}}}, r"need a binary task"),
        ({"variants": {"a": {}}, "baseline": "b"}, r"baseline 'b' is not a variant"),
        ({"variants": {"a": {}}, "learning_curve": {}}, r"either 'variants'"),
        ({"variants": {"a": {"simulation": "energy-scael"}}}, r"variant a: simulation: unknown variation"),
        ({"variants": {"a": {"simulation": "rock-share-up"}}}, r"one variation that changes the simulation"),
        ({"variants": {"a": {"simulation": {"scale": {"pe_per_mev": 0}}}}}, r"pe_per_mev must be > 0"),
    ],
)
def test_bad_study_files_fail_before_training(tmp_path: Path, body: dict, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"task": "numu-cc", **body}))
    with pytest.raises(ConfigError, match=message):
        load_study(path)


def test_headline_metrics_by_hand() -> None:
    task = get_task("numu-cc")
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.3, 0.2, 0.1, 0.6, 0.4, 0.35])  # 6 of 8 right; recalls 2/3 and 4/5
    m = headline_metrics(task, y, p[:, None])
    assert m["n_events"] == 8
    assert m["accuracy"] == pytest.approx(0.75) and m["accuracy_err"] == pytest.approx(
        math.sqrt(0.75 * 0.25 / 8)
    )
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert m["balanced_accuracy_err"] == pytest.approx(math.sqrt(2 / 9 / 3 + 4 / 25 / 5) / 2)
    # AUC: of the 15 signal-background pairs, the signal scores higher in 5 + 5 + 2
    assert m["roc_auc"] == pytest.approx(12 / 15)
    loss = -(np.log([0.9, 0.8, 0.3]).sum() + np.log1p(-np.array([0.2, 0.1, 0.6, 0.4, 0.35])).sum()) / 8
    assert m["loss"] == pytest.approx(loss)


def test_repeats_and_the_significance_rule() -> None:
    runs = [
        {"n_events": 100, "accuracy": 0.80, "accuracy_err": 0.03},
        {"n_events": 100, "accuracy": 0.90, "accuracy_err": 0.03},
    ]
    c = combine_repeats(runs)
    assert c["repeats"] == 2 and c["accuracy"] == pytest.approx(0.85)
    assert c["accuracy_sd"] == pytest.approx(math.sqrt(0.005))
    assert c["accuracy_err"] == pytest.approx(math.sqrt((0.005 + 0.0009) / 2))
    one = combine_repeats(runs[:1])
    assert one["accuracy_sd"] is None and one["accuracy_err"] == pytest.approx(0.03)  # K = 1: stat only
    base = {"accuracy": 0.80, "accuracy_err": 0.03}
    d = compare({"accuracy": 0.90, "accuracy_err": 0.04}, base)
    assert d["accuracy"] == pytest.approx(0.10) and d["accuracy_err"] == pytest.approx(0.05)
    assert d["accuracy_sigma"] == pytest.approx(2.0) and d["significant"] is False  # needs |Δ| > 2 err
    assert compare({"accuracy": 0.91, "accuracy_err": 0.04}, base)["significant"] is True


def test_cli_unknown_study_and_bad_selection_exit_2(sim_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["study", "seed000-tsk2", "--data", str(sim_dir), "--out", str(tmp_path / "s")]
    )
    assert result.exit_code == 2
    assert "unknown study 'seed000-tsk2'" in result.output and "seed000-task2" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"task": "numu-cc", "variants": {"x": {"where": "nuenergy >> 3"}}}))
    result = runner.invoke(app, ["study", str(bad), "--data", str(sim_dir), "--out", str(tmp_path / "s")])
    assert result.exit_code == 2 and "bad selection 'nuenergy >> 3'" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "s").exists()


def test_tiny_study_end_to_end(sim_dir: Path, tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "study": "tiny",
                "task": "numu-cc",
                "baseline": "baseline",
                "train": {"model": "seed-multiview", "threads": 1},
                "variants": {
                    "baseline": {"label": "all events"},
                    "qe-dis-high": {
                        "where": "nuenergy > 2",
                        "signal": "interaction in (kNumuQE, kNumuDIS)",
                        "equalize_signal": "interaction",
                    },
                },
                "questions": [
                    {
                        "ask": "Easier?",
                        "variant": "qe-dis-high",
                        "subject": "Retraining on QE and DIS above 2 GeV",
                        "higher": "easier",
                        "lower": "harder",
                        "same": "no change",
                    }
                ],
            }
        )
    )
    out = tmp_path / "study"
    result = CliRunner().invoke(
        app,
        ["study", str(spec), "--data", str(sim_dir), "--out", str(out), "--config", "tiny", "--repeats", "1"],
    )
    assert result.exit_code == 0, result.output
    assert "baseline seed 0: accuracy" in result.output  # the runner's progress notes, drawn by the CLI
    study = json.loads((out / "study.json").read_text())
    assert study["study"] == "tiny" and study["task"] == "numu-cc" and study["model"] == "seed-multiview"
    base, sel = study["variants"]
    assert [base["name"], sel["name"]] == ["baseline", "qe-dis-high"]
    assert sel["selection"] == {
        "where": "nuenergy > 2",
        "signal": "interaction in (kNumuQE, kNumuDIS)",
        "equalize_signal": "interaction",
    }
    for v in (base, sel):
        assert v["repeats"] == 1
        for test in ("own_test", "common_test"):
            block = v[test]
            assert {"n_events", "accuracy", "accuracy_sd", "balanced_accuracy", "roc_auc", "loss"} <= set(
                block
            )
            assert 0 <= block["accuracy"] <= 1 and block["loss"] > 0
    # the common test set is the same natural, unselected events for every variant
    assert sel["common_test"]["n_events"] == base["common_test"]["n_events"] == 200  # tiny: 200 per file
    assert sel["own_test_natural"]["n_events"] < base["own_test_natural"]["n_events"] == 200  # selected
    delta = sel["delta_vs_baseline"]
    assert delta["accuracy"] == pytest.approx(sel["own_test"]["accuracy"] - base["own_test"]["accuracy"])
    assert isinstance(delta["significant"], bool) and delta["accuracy_err"] > 0
    assert base["delta_vs_baseline"] is None
    assert study["answers"][0]["sentence"].startswith("Retraining on QE and DIS above 2 GeV gives accuracy")
    assert set(study["figures"]) == {"accuracy", "balanced_accuracy", "roc_auc", "loss"}
    assert all((out / p).is_file() for p in study["figures"].values())

    # the variant's run: selection recorded, and its test events obey it (equal QE and DIS signal)
    run = out / sel["runs"][0]
    assert yaml.safe_load((run / "config.yaml").read_text())["where"] == "nuenergy > 2"
    assert (
        json.loads((run / "metrics.json").read_text())["selection"]["signal"]
        == "interaction in (kNumuQE, kNumuDIS)"
    )
    with np.load(run / "predictions" / "natural.npz") as npz:
        assert np.all(npz["nuenergy"] > 2)
        signal = npz["interaction"][npz["target"] == 1]
        assert set(signal.tolist()) <= {0, 2} and np.sum(signal == 0) == np.sum(signal == 2) > 0
    counts = json.loads((run / "model.json").read_text())["class_counts"]
    assert counts["after"]["train"][0] == counts["after"]["train"][1]  # undersampled to balance

    report = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", str(out), "--out", str(report)])
    assert result.exit_code == 0, result.output
    page = report.read_text()
    assert "<h2>Studies</h2>" in page and "Retraining on QE and DIS above 2 GeV gives accuracy" in page
    assert page.count("data:image/png;base64") == 4


def test_a_variant_trained_on_a_varied_simulation_is_tested_on_the_nominal_files(tmp_path: Path) -> None:
    """The reverse question of systematics: the variant's training data is the given data simulated again
    with the variation (same seed, same files), its common test set the given data's test files."""
    from nuclass.sim import read_manifest, simulate_files
    from nuclass.study import run_study

    data = tmp_path / "data"
    simulate_files(data, 3, 200, seed=3, workers=1)
    reverse = load_study("systematics-reverse")
    assert {v.name: v.simulation and v.simulation.name for v in reverse.variants} == {
        "nominal": None,
        "energy-scale-up": "energy-scale-up",
        "pileup-double": "pileup-double",
    }
    spec = dataclasses.replace(reverse, variants=reverse.variants[:2], questions=reverse.questions[:1])
    out = tmp_path / "study"
    study = run_study(spec, [str(data)], out, model="seed-multiview", repeats=1, config="tiny")
    nominal, varied = study["variants"]
    assert varied["simulation"]["name"] == "energy-scale-up" and nominal["simulation"] is None
    manifest = read_manifest(out / "data" / "energy-scale-up")
    assert manifest["config"]["energy_scale"] == pytest.approx(1.05) and manifest["seed"] == 3
    split = json.loads((out / varied["runs"][0] / "split.json").read_text())
    assert all(Path(p).parent == out / "data" / "energy-scale-up" for p in split["train"] + split["test"])
    # the common test set: the nominal files of the same test split, as many events as the nominal run's
    assert varied["common_test"]["n_events"] == nominal["common_test"]["n_events"] == 200
    assert study["answers"][0]["question"].startswith("Does training with a 5 % higher energy scale")

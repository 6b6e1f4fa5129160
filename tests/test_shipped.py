"""The network shipped in the package: its card, golden outputs on 64 fixed events, scoring files and
evaluating with no training, and the ONNX graph against torch on 1,000 simulated events."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import nuclass
from nuclass.cli import app
from nuclass.io import read_file, read_truth
from nuclass.labels import TASKS
from nuclass.shipped import PRETRAINED_DIR, model_card

DATA = Path(__file__).parent / "data"
# Golden tolerance on one CPU thread: float32 kernels may round differently on another CPU (AVX2 against
# AVX-512 oneDNN paths, ≈ 1e-6); any change of weights, input transform or architecture moves scores by
# far more than this.
GOLDEN_ATOL = 1e-4  # probabilities
GOLDEN_RTOL = 1e-4  # regressed values (GeV, E_ℓ/E_ν)
ONNX_ATOL = 1e-4  # issue 16: onnxruntime against torch, probabilities
runner = CliRunner()


@pytest.fixture(scope="module")
def network():
    torch.set_num_threads(1)
    return nuclass.pretrained()


def test_the_card_says_how_the_model_was_made_and_warns(network):
    card = model_card()
    assert "NOT been validated on the real NOvA teaching files" in card["warning"]
    assert {"simulate training data", "simulate the test set", "train", "evaluate"} <= set(card["commands"])
    assert card["commands"]["train"].startswith("nuclass train --task all --model cvn")
    assert card["commit"] and card["versions"]["torch"] and card["budget"]["cpu_seconds"] > 0
    assert set(card["metrics"]) == set(TASKS) and card["model"]["tasks"] == list(TASKS)
    weights = PRETRAINED_DIR / "model.safetensors"
    assert weights.stat().st_size <= 5 * 2**20  # ≤ 5 MB
    assert card["weights"]["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert "NOT been validated" in (PRETRAINED_DIR / "card.md").read_text()
    assert network.card == card and network.task_names == tuple(TASKS)


def test_golden_outputs(network):
    """The shipped weights on 64 fixed events give the stored scores (scripts/make_golden.py made them)."""
    golden = json.loads((DATA / "golden_scores.json").read_text())
    assert golden["weights_sha256"] == model_card()["weights"]["sha256"], "new weights: run make_golden.py"
    events = read_file(DATA / "golden_events.h5")
    assert len(events) == golden["n_events"] == 64
    scores = network.predict(events.maps)
    for name, task in TASKS.items():
        expected = np.asarray(golden["scores"][name])
        if task.kind == "regression":
            np.testing.assert_allclose(scores[name], expected, rtol=GOLDEN_RTOL, err_msg=name)
        else:
            np.testing.assert_allclose(scores[name], expected, atol=GOLDEN_ATOL, rtol=0, err_msg=name)
    # the same events through a float copy of the maps: the network takes raw charge either way
    again = network.predict(events.maps.astype(np.float32))
    np.testing.assert_allclose(again["flavour"], scores["flavour"], atol=1e-6)


def test_predict_with_the_shipped_model_needs_no_run(sim_file, tmp_path):
    out = tmp_path / "scores.h5"
    result = runner.invoke(app, ["predict", "--pretrained", str(sim_file), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    truth = read_truth(sim_file)
    with h5py.File(out) as f:
        assert list(f.attrs["tasks"]) == list(TASKS) and f.attrs["task"] == "all"
        assert f["numu-cc/score"].shape == (300,) and f["flavour/score"].shape == (300, 3)
        assert list(f["mode"].attrs["class_names"]) == list(TASKS["mode"].class_names)
        assert np.array_equal(f["row"][()], np.arange(300)) and np.array_equal(f["evt"][()], truth["evt"])
        assert (f["energy/score"][()] > 0).all()


@pytest.mark.slow
def test_evaluate_the_shipped_model_on_files(sim_dir, tmp_path):
    out = tmp_path / "evaluation"
    result = runner.invoke(app, ["evaluate", "--pretrained", "--data", str(sim_dir), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["tasks"]) == set(TASKS) and metrics["task"] == "all"
    assert metrics["tasks"]["numu-cc"]["test_sets"]["natural"]["n_events"] == 1200
    assert "accuracy (score ≥ 0.5)" in result.stdout and "MAE (GeV)" in result.stdout
    report = runner.invoke(app, ["report", str(out), "--out", str(tmp_path / "report.html")])
    assert report.exit_code == 0, report.stderr
    bad = runner.invoke(app, ["evaluate", "--pretrained"])
    assert bad.exit_code == 2 and "needs --data" in bad.stderr


@pytest.mark.slow
def test_onnx_export_matches_torch_on_1000_events(network, tmp_path):
    import onnx
    import onnxruntime

    from nuclass.sim import simulate_events

    out = tmp_path / "model.onnx"
    result = runner.invoke(app, ["export", "--pretrained", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert not (tmp_path / "model.onnx.data").exists()  # weights inside the one file
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["nuclass_version"] == nuclass.__version__ and "uint8" in meta["input"]
    heads = json.loads(meta["outputs"])
    assert [h["task"] for h in heads.values()] == list(TASKS)
    assert heads["mode"]["class_names"] == list(TASKS["mode"].class_names)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(out), options, providers=["CPUExecutionProvider"])
    (source,) = session.get_inputs()
    assert source.name == "maps" and source.type == "tensor(uint8)" and source.shape[1:] == [2, 100, 80]
    assert [o.name for o in session.get_outputs()] == list(heads)
    maps = simulate_events(1000, seed=1616).maps
    expected = network.predict(maps)
    for start, stop in ((0, 1000), (0, 7)):  # the batch size is free
        outputs = session.run(None, {"maps": maps[start:stop]})
        for name, values in zip(TASKS, outputs, strict=True):
            reference = expected[name][start:stop]
            assert values.shape == reference.shape, name
            if TASKS[name].is_classification:
                assert np.abs(values - reference).max() <= ONNX_ATOL, name
            else:
                np.testing.assert_allclose(values, reference, rtol=1e-4, atol=1e-5, err_msg=name)


def test_export_needs_a_run_or_the_shipped_model(tmp_path):
    result = runner.invoke(app, ["export", "--out", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2 and "RUN_DIR or --pretrained" in result.stderr

"""examples/tutorial.ipynb runs top to bottom in a python3 kernel on the tiny fixture files, and its
printed class counts and metrics agree with the files and the run it trains."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from nuclass.io import read_truth
from nuclass.labels import Interaction

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


def test_notebook_is_what_the_generator_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_tutorial", EXAMPLES / "make_tutorial.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    stored = nbformat.read(EXAMPLES / "tutorial.ipynb", as_version=4)
    assert [c.source for c in stored.cells] == [c.source for c in generator.build().cells]
    assert all(not c.get("outputs") for c in stored.cells if c.cell_type == "code")  # stored without outputs


@pytest.mark.slow
def test_tutorial_runs_on_tiny_data(sim_dir, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("NUCLASS_TUTORIAL_DATA", str(sim_dir))
    monkeypatch.setenv("NUCLASS_TUTORIAL_OUT", str(out))
    # this venv's kernelspec first, ahead of any user-level python3 kernel of another Python
    monkeypatch.setenv("JUPYTER_PATH", str(Path(sys.prefix) / "share" / "jupyter"))
    notebook = nbformat.read(EXAMPLES / "tutorial.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    text = "\n".join(_text(c) for c in notebook.cells if c.cell_type == "code")
    assert "4 files in" in text and "maps: (300, 2, 100, 80) uint8" in text
    # the class counts it prints are the files' own
    codes = np.concatenate([read_truth(p)["interaction"] for p in sorted(sim_dir.glob("*.h5"))])
    n_dis = int(np.sum(codes == Interaction.kNumuDIS))
    assert f"  kNumuDIS: {n_dis:6d}" in text
    images = [o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 4  # event displays, distributions, confusion matrix, accuracy vs energy

    run = out / "run-seed-multiview"
    metrics = json.loads((run / "metrics.json").read_text())
    natural = metrics["test_sets"]["natural"]
    assert f"natural: {natural['n_events']:5d} events, accuracy {natural['accuracy']:.3f}" in text
    assert "accuracy in bins of the true neutrino energy" in text
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")

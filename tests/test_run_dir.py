"""The run directory: its file names are the previous release's, its readers and writers agree, and a run
directory laid out as the previous release wrote it still evaluates and reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nuclass.cli import app
from nuclass.errors import FormatError, NuclassError
from nuclass.run_dir import RunDir, StudyDir
from test_evaluation import write_fake_run


def test_file_names_are_the_previous_releases() -> None:
    run = RunDir("run")
    names = {
        RunDir.CONFIG: "config.yaml",
        RunDir.SPLIT: "split.json",
        RunDir.TRAINING_LOG: "metrics.csv",
        RunDir.LOGS: "logs",
        RunDir.WEIGHTS: "model.safetensors",
        RunDir.MODEL: "model.json",
        RunDir.VERSIONS: "versions.json",
        RunDir.METRICS: "metrics.json",
        RunDir.PLOTS: "plots",
        RunDir.STUDY_RESULT: "study_run.json",
    }
    assert names == {v: v for v in names.values()}
    assert run.last_checkpoint == Path("run/checkpoints/last.ckpt")
    assert [run.predictions(s) for s in ("natural", "balanced")] == [
        Path("run/predictions/natural.npz"), Path("run/predictions/balanced.npz")
    ]
    assert StudyDir("s").study_file == Path("s/study.json")
    assert StudyDir("s").run("qe-only", 3).path == Path("s/runs/qe-only/seed3")


def test_readers_and_writers_agree(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    split = {"train": [Path("a.h5"), Path("b.h5")], "val": [Path("c.h5")], "test": [Path("d.h5")]}
    run.write_split(split)
    assert run.read_split() == split
    assert run.epochs_run() == 0 and run.read_training_log() == []
    run.write_training_log([{"epoch": 0, "step": 4, "loss": 0.5}, {"epoch": 1, "step": 8, "loss": 0.4}])
    assert run.epochs_run() == 2
    assert run.read_training_log()[1] == {"epoch": "1", "step": "8", "loss": "0.4"}
    run.write_config({"task": "numu-cc", "model": "cvn"})
    assert run.read_config() == {"task": "numu-cc", "model": "cvn"} and run.model_name() == "cvn"
    with pytest.raises(FormatError, match="run `nuclass evaluate"):
        run.read_metrics()
    with pytest.raises(NuclassError, match="not a finished training run \\(no model.json\\)"):
        run.require(*RunDir.MODEL_FILES)


@pytest.mark.slow
def test_a_run_directory_of_the_previous_release_evaluates_and_reports(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "run", "numu-cc", "seed-2ch", n=200)  # literal names, no metrics.json
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (run / "metrics.json").is_file() and (run / "plots" / "natural_roc.png").is_file()
    assert "run: numu-cc with seed-2ch" in out.read_text()


def test_a_multitask_run_keeps_each_tasks_predictions_in_a_folder(tmp_path):
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    run.write_config({"task": "numu-cc"})
    assert not run.is_multitask() and run.prediction_files() == RunDir.PREDICTION_FILES
    run.write_config({"task": "energy,numu-cc"})
    assert run.task_names() == ("numu-cc", "energy") and run.is_multitask()
    assert run.prediction_files() == tuple(f"predictions/{t}/{s}.npz" for t in ("numu-cc", "energy")
                                           for s in ("natural", "balanced"))
    assert run.task_plots("energy") == run.plots / "energy"
    assert not RunDir(tmp_path / "missing").is_multitask()

"""Training runs end to end: a smoke run per task, the run directory, resume after SIGKILL, 2-process DDP."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from nuclass.cli import app
from nuclass.errors import ConfigError
from nuclass.io import read_truth
from nuclass.labels import TASKS
from nuclass.models import create_model
from nuclass.predict import load_model, predict_files
from nuclass.training import TrainConfig, load_config, train
from nuclass.training.callbacks import TimedValidation

NUCLASS = str(Path(sys.executable).with_name("nuclass"))
# One thread per process: on a shared machine OpenMP threads waiting for busy cores are far slower.
SMOKE = {"threads": 1, "max_events_per_file": 100, "limit_train_batches": 3}
MODEL_FOR_TASK = {"numu-cc": "cvn", "nue-cc": "seed-multiview", "flavour": "seed-2ch",
                  "mode": "cvn", "energy": "seed-multiview", "y": "cvn"}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
@pytest.mark.parametrize("task_name", list(TASKS))
def test_smoke_train_writes_the_run_directory(task_name: str, sim_dir: Path, tmp_path: Path) -> None:
    task = TASKS[task_name]
    cap = 300 if task_name == "nue-cc" else 100  # νe CC are 1 %: the first 100 events of a file may hold none
    run = tmp_path / "run"
    config = load_config("tiny", task=task_name, model=MODEL_FOR_TASK[task_name], data=[str(sim_dir)],
                         out=str(run), **{**SMOKE, "max_events_per_file": cap})
    summary = train(config)

    for name in ("config.yaml", "split.json", "metrics.csv", "versions.json", "model.json",
                 "model.safetensors", "checkpoints/best.ckpt", "checkpoints/last.ckpt",
                 "predictions/natural.npz", "predictions/balanced.npz", "summary.json"):
        assert (run / name).is_file(), name
    # where the time went: 4 batches of 16 (fewer when the training set is smaller), kept in summary.json
    clock = summary["training"]
    assert 0 < clock["events_trained"] <= 4 * 16 and clock["events_trained"] <= summary["n_events"]["train"]
    assert 0 < clock["validation_seconds"] < clock["train_seconds"] <= summary["seconds"]
    assert 0 <= clock["between_steps_seconds"] < clock["train_seconds"] and clock["cpu_seconds"] > 0
    assert json.loads((run / "summary.json").read_text())["training"] == clock
    resolved = TrainConfig.from_dict(yaml.safe_load((run / "config.yaml").read_text()))
    assert resolved.to_dict() == summary["config"]
    assert 0 < summary["train_cpu_seconds"] < 2 * os.cpu_count() * summary["seconds"] + 5
    recipe_balance = create_model(MODEL_FOR_TASK[task_name], task).recipe.balance or "undersample"
    assert resolved.balance == (recipe_balance if task.is_classification else "none")
    assert resolved.batch_size == 16 and resolved.patience is not None
    split = json.loads((run / "split.json").read_text())
    assert (sorted(split["train"] + split["val"] + split["test"])
            == sorted(str(p) for p in sim_dir.glob("*.h5")))
    assert (len(split["train"]), len(split["val"]), len(split["test"])) == (2, 1, 1)
    rows = _rows(run / "metrics.csv")
    assert [r["epoch"] for r in rows] == ["0"] and np.isfinite(float(rows[0]["val_loss"]))
    assert set(json.loads((run / "versions.json").read_text())) == {"python", "torch", "lightning", "nuclass",
                                                                      "numpy", "h5py"}
    checkpoint = torch.load(run / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)
    assert any(k.startswith("net.") for k in checkpoint["state_dict"])

    natural = np.load(run / "predictions" / "natural.npz")
    truth = read_truth(split["test"][0])
    mask, target = task.labels(truth)
    n = min(cap, int(mask.sum()))
    assert natural["target"] == pytest.approx(target[:n])
    assert np.array_equal(natural["row"], np.flatnonzero(mask)[:n])
    for field in ("interaction", "finalstate", "nuenergy", "lepenergy", "evt", "file_index"):
        assert len(natural[field]) == n
    assert np.array_equal(natural["interaction"], truth["interaction"][natural["row"]])
    score = natural["score"]
    if task.kind == "regression":
        assert score.shape == (n,) and np.isfinite(score).all()
        if task_name == "energy":
            assert (score > 0).all()  # exp of the network's ln E
    else:
        assert score.shape == (n, task.n_outputs) and ((score >= 0) & (score <= 1)).all()
        if task.kind == "multiclass":
            assert score.sum(axis=1) == pytest.approx(np.ones(n), abs=1e-5)
    balanced = np.load(run / "predictions" / "balanced.npz")
    if task.is_classification:
        counts = np.bincount(balanced["target"])
        assert len(set(counts[counts > 0])) == 1  # every present class equally often
        assert set(balanced["row"]) <= set(natural["row"])
    else:
        assert np.array_equal(balanced["row"], natural["row"])

    # the saved weights (safetensors) give the same scores when streaming the test file again
    streamed = np.concatenate([s[task_name] for _, s in predict_files(run, split["test"], batch_size=64)])
    assert streamed[natural["row"]] == pytest.approx(score, abs=1e-5)


@pytest.mark.slow
def test_time_based_validation_checks_within_an_epoch(sim_dir: Path, tmp_path: Path) -> None:
    """val_every_minutes validates (and writes a metrics row) mid-epoch, each row's train loss its own."""
    run = tmp_path / "run"
    config = load_config("tiny", task="numu-cc", data=[str(sim_dir)], out=str(run), threads=1,
                         val_every_minutes=1e-6)
    train(config)
    rows = _rows(run / "metrics.csv")
    assert {r["epoch"] for r in rows} == {"0"}
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]  # after every one of the 4 batches
    assert len({r["train_loss"] for r in rows}) == 4


def test_plateau_schedule_steps_once_per_validation(sim_dir: Path, tmp_path: Path) -> None:
    """seed-2ch's plateau schedule with validation less often than epochs: it steps at each validation
    only, not at epoch ends without a fresh val_loss (Lightning would raise at the first), and a run
    ended by max_epochs still validates and keeps its final weights."""
    run = tmp_path / "run"
    config = load_config("tiny", task="numu-cc", model="seed-2ch", data=[str(sim_dir)], out=str(run),
                         threads=1, max_epochs=3, patience=50, val_every_minutes=60)
    train(config)
    rows = _rows(run / "metrics.csv")
    assert len(rows) == 1 and rows[0]["epoch"] == "2"  # only the validation that ends the budget
    state = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["lr_schedulers"][0]
    assert state["last_epoch"] == 1 and state["best"] == pytest.approx(float(rows[0]["val_loss"]))


def test_config_keys_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown training config key\(s\) epochs; valid keys: task, data"):
        TrainConfig.from_dict({"epochs": 3})
    path = tmp_path / "c.yaml"
    path.write_text("task: energy\nmax_epochs: 2\nlr: 0.1\n")
    with pytest.raises(ConfigError, match="unknown training config key\\(s\\) lr"):
        load_config(path)
    path.write_text("task: energy\nmax_epochs: 2\n")
    assert load_config(path, seed=5) == TrainConfig(task="energy", max_epochs=2, seed=5)
    with pytest.raises(ConfigError, match="key max_epochs: expected int or NoneType, got 'two'"):
        TrainConfig.from_dict({"max_epochs": "two"})
    with pytest.raises(ConfigError, match="key data: expected tuple"):
        TrainConfig.from_dict({"data": 5})
    with pytest.raises(ConfigError, match="presets: tiny"):
        load_config(tmp_path / "missing.yaml")


def test_bad_choices_fail_before_training(sim_dir: Path, tmp_path: Path) -> None:
    base = load_config("tiny", data=[str(sim_dir)], out=str(tmp_path / "r"), threads=1)
    with pytest.raises(ConfigError, match="needs classes"):
        train(base.replace(task="energy", balance="weights"))
    with pytest.raises(ConfigError, match="valid: undersample, weights, sampler, none"):
        train(base.replace(balance="smote"))
    with pytest.raises(ConfigError, match="at least 3 files"):
        train(base.replace(data=(str(sim_dir / "neutrino1.h5"), str(sim_dir / "neutrino2.h5"))))
    with pytest.raises(ConfigError, match="nothing to resume"):
        train(base.replace(resume=True))
    with pytest.raises(ConfigError, match="unknown precision 'fp8'; valid: 32-true, bf16-mixed, 16-mixed"):
        train(base.replace(precision="fp8"))


def test_bf16_mixed_precision_trains_float32_weights(sim_dir: Path, tmp_path: Path) -> None:
    """bfloat16 autocast: the loss falls as in float32 and the saved weights stay float32."""
    run = tmp_path / "run"
    config = load_config("tiny", task="energy", data=[str(sim_dir)], out=str(run), threads=1, max_epochs=3,
                         precision="bf16-mixed")
    train(config)
    losses = [float(r["train_loss"]) for r in _rows(run / "metrics.csv")]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    module, _, _ = load_model(run)
    assert {p.dtype for p in module.parameters()} == {torch.float32}
    assert yaml.safe_load((run / "config.yaml").read_text())["precision"] == "bf16-mixed"


def test_cli_bad_selection_exits_2(sim_dir: Path) -> None:
    result = CliRunner().invoke(app, ["train", "--task", "numu-cc", "--data", str(sim_dir),
                                      "--signal", "numu"])
    assert result.exit_code == 2 and "unknown field or name 'numu'" in result.output


def _write_config(path: Path, **values) -> Path:
    path.write_text(yaml.safe_dump({"threads": 1, "num_workers": 0, "progress": False, **values}))
    return path


def _kill_at_first_checkpoint(command: list[str], run: Path) -> None:
    """Start a training run and SIGKILL it as soon as its first last.ckpt exists."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = run / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not last.is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_resume_after_sigkill_reaches_the_same_final_epoch(sim_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    config = _write_config(tmp_path / "c.yaml", max_epochs=4, batch_size=16, max_events_per_file=150,
                           patience=10)
    command = [NUCLASS, "train", "--task", "energy", "--model", "seed-multiview", "--data", str(sim_dir),
               "--out", str(run), "--config", str(config)]
    _kill_at_first_checkpoint(command, run)
    done = [int(r["epoch"]) for r in _rows(run / "metrics.csv")]
    assert done and max(done) < 3  # killed mid-run
    assert not (run / "model.safetensors").exists()

    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert [int(r["epoch"]) for r in _rows(run / "metrics.csv")] == [0, 1, 2, 3]
    assert json.loads((run / "model.json").read_text())["epochs_run"] == 4
    assert "4 epochs" in resumed.stdout


@pytest.mark.slow
def test_resume_with_time_based_validation_keeps_one_row_per_step(sim_dir: Path, tmp_path: Path) -> None:
    """Checkpoints written mid-epoch (validation every few ms) resume to the same final epoch, and
    metrics.csv never holds a step twice."""
    run = tmp_path / "run"
    config = _write_config(tmp_path / "c.yaml", max_epochs=3, batch_size=16, max_events_per_file=150,
                           patience=50, val_every_minutes=0.002)
    command = [NUCLASS, "train", "--task", "numu-cc", "--model", "seed-multiview", "--data", str(sim_dir),
               "--out", str(run), "--config", str(config)]
    _kill_at_first_checkpoint(command, run)
    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    steps = [int(r["step"]) for r in _rows(run / "metrics.csv")]
    assert steps == sorted(set(steps)) and len(steps) > 3
    assert json.loads((run / "model.json").read_text())["epochs_run"] == 3


def _train_ddp(sim_dir: Path, tmp_path: Path, **config: Any) -> tuple[Path, int]:
    """Train seed-multiview on y with 2 processes (gloo on CPU), batch 8; (run dir, training events)."""
    run = tmp_path / "run"
    config_file = _write_config(tmp_path / "c.yaml", batch_size=8, accelerator="cpu", **config)
    command = [NUCLASS, "train", "--task", "y", "--model", "seed-multiview", "--data", str(sim_dir),
               "--out", str(run), "--config", str(config_file), "--devices", "2", "--strategy", "ddp"]
    # a timeout is the failure of a run whose processes wait for each other
    result = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    return run, int(result.stdout.split("events train ")[1].split(",")[0])


@pytest.mark.slow
def test_two_process_ddp_on_cpu(sim_dir: Path, tmp_path: Path) -> None:
    run, n_train = _train_ddp(sim_dir, tmp_path, max_epochs=1, max_events_per_file=60)
    rows = _rows(run / "metrics.csv")
    # each of the 2 ranks ran half of the training events: steps = ceil((N // 2) / batch)
    assert int(rows[-1]["step"]) == -(-(n_train // 2) // 8)
    assert (run / "model.safetensors").is_file() and (run / "predictions" / "natural.npz").is_file()


@pytest.mark.parametrize("rank", [0, 1])
@pytest.mark.parametrize("rank_zero_due", [True, False])
def test_ranks_validate_when_rank_zero_says(rank: int, rank_zero_due: bool) -> None:
    """Whatever a rank's own clock says (here the opposite), after TimedValidation Lightning's check
    (now − last validation ≥ interval) gives the answer rank 0 broadcast, on every rank."""
    clock = TimedValidation(minutes=1.0)
    clock.last_validation = time.monotonic() - (3600.0 if rank_zero_due else 0.0)
    trainer = SimpleNamespace(max_epochs=None, world_size=2, global_rank=rank, global_step=0,
                              _last_val_time=time.monotonic() - (0.0 if rank_zero_due else 3600.0),
                              strategy=SimpleNamespace(broadcast=lambda obj, src=0: obj if rank == 0 else
                                                       rank_zero_due))
    clock.on_train_batch_end(trainer, None, None, None, 0)
    assert (time.monotonic() - trainer._last_val_time >= 60.0) is rank_zero_due


def test_ddp_ranks_ask_rank_zero_every_few_steps_only() -> None:
    """Under DDP the "validate now?" broadcast (a collective every rank waits on) happens every
    SYNC_EVERY_STEPS steps; between them no rank validates, whatever its clock says."""
    from nuclass.training.callbacks import SYNC_EVERY_STEPS

    clock = TimedValidation(minutes=1.0)
    clock.last_validation = time.monotonic() - 3600.0  # long due
    asked: list[bool] = []
    trainer = SimpleNamespace(max_epochs=None, world_size=2, global_rank=0, global_step=3, _last_val_time=0.0,
                              strategy=SimpleNamespace(broadcast=lambda obj, src=0: asked.append(obj) or obj))
    clock.on_train_batch_end(trainer, None, None, None, 0)
    assert asked == [] and time.monotonic() - trainer._last_val_time < 60.0  # not due at step 3
    trainer.global_step = SYNC_EVERY_STEPS
    clock.on_train_batch_end(trainer, None, None, None, 0)
    assert asked == [True] and time.monotonic() - trainer._last_val_time >= 60.0


@pytest.mark.slow
def test_two_process_ddp_with_time_based_validation(sim_dir: Path, tmp_path: Path) -> None:
    """Both ranks validate at the same steps: left to their own clocks they parted ways within a few
    batches and waited for each other forever."""
    run, n_train = _train_ddp(sim_dir, tmp_path, max_epochs=4, max_events_per_file=150, patience=100,
                              val_every_minutes=0.001, limit_val_batches=2)
    rows = _rows(run / "metrics.csv")
    steps = [int(r["step"]) for r in rows]
    assert len(rows) > 3 and steps == sorted(set(steps))  # several validations, one row each
    assert rows[-1]["epoch"] == "3" and steps[-1] == 4 * -(-(n_train // 2) // 8)  # the last one ends it


def test_each_training_epoch_starts_a_new_shuffle_through_the_datamodule() -> None:
    """The shuffle's epoch is set by its own hook at each training epoch's start (not by the metrics log)."""
    from nuclass.training.callbacks import EpochMetrics
    from nuclass.training.datamodule import EpochShuffle

    epochs: list[int] = []
    trainer = SimpleNamespace(current_epoch=3, datamodule=SimpleNamespace(set_epoch=epochs.append))
    EpochShuffle().on_train_epoch_start(trainer, None)
    assert epochs == [3]
    assert EpochMetrics.on_train_epoch_start is pl.Callback.on_train_epoch_start  # the log leaves it alone


def test_the_progress_bar_redraws_at_most_every_half_second_and_at_an_epochs_end() -> None:
    from nuclass.training.callbacks import QuietProgressBar

    bar = QuietProgressBar(min_seconds=60.0)
    assert bar._due(0, 100)  # the first batch draws
    assert not any(bar._due(k, 100) for k in range(1, 99))  # then not within the minute
    assert bar._due(99, 100)  # the epoch's last batch always draws


@pytest.mark.slow
def test_multitask_training_writes_every_heads_predictions(sim_dir: Path, tmp_path: Path) -> None:
    """--task all: one network, six heads; each task's test predictions in its own folder, in the one-task
    layout, over the events that task uses; the saved weights give them again."""
    from safetensors.torch import load_file

    run = tmp_path / "run"
    smoke = {**SMOKE, "max_events_per_file": None}  # all 300 events of a file: a few νe CC among them
    summary = train(load_config("tiny", task="all", data=[str(sim_dir)], out=str(run), **smoke))
    assert summary["task"] == "all" and summary["tasks"] == list(TASKS)
    info = json.loads((run / "model.json").read_text())
    assert info["tasks"] == list(TASKS)
    assert info["heads"]["mode"]["class_names"] == list(TASKS["mode"].class_names)
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["balance"] == "weights" and config["loss_weighting"] == "fixed"  # the multi-task defaults
    header = _rows(run / "metrics.csv")[0]
    assert {"val_loss", "val_loss_energy", "val_acc_mode", "val_mae_y"} <= set(header)
    split = json.loads((run / "split.json").read_text())
    truth = read_truth(split["test"][0])
    streamed = {name: [] for name in TASKS}
    for _, scores in predict_files(run, split["test"], batch_size=64):
        for name, s in scores.items():
            streamed[name].append(s)
    for name, task in TASKS.items():
        natural = np.load(run / "predictions" / name / "natural.npz")
        mask, target = task.labels(truth)
        used = np.flatnonzero(mask)
        rows = natural["row"]
        assert set(rows) <= set(used) and len(rows) > 0, name
        assert natural["target"] == pytest.approx(target[np.searchsorted(used, rows)])
        assert np.concatenate(streamed[name])[rows] == pytest.approx(natural["score"], abs=1e-5)
        assert (run / "predictions" / name / "balanced.npz").is_file()
    assert not (run / "predictions" / "natural.npz").exists()
    stds = {k for k in load_file(str(run / "model.safetensors")) if "target_std" in k}
    assert stds == {f"target_std_{name}" for name in TASKS}  # per-task buffers, by task name


@pytest.mark.slow
def test_learned_task_weights_train_and_stay_out_of_the_weights(sim_dir: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    run = tmp_path / "run"
    train(load_config("tiny", task="numu-cc,energy", data=[str(sim_dir)], out=str(run),
                      loss_weighting="uncertainty", balance="sampler", **SMOKE))
    info = json.loads((run / "model.json").read_text())
    assert set(info["learned_task_weights"]) == {"numu-cc", "energy"}
    assert not [k for k in load_file(str(run / "model.safetensors")) if k.startswith("loss_weighting")]
    network, tasks, _ = load_model(run)
    assert [t.name for t in tasks] == ["numu-cc", "energy"]


def test_multitask_choices_are_checked(sim_dir: Path, tmp_path: Path) -> None:
    base = load_config("tiny", task="all", data=[str(sim_dir)], out=str(tmp_path / "r"), threads=1)
    with pytest.raises(ConfigError, match="several tasks need a multi-task model"):
        train(base.replace(model="seed-2ch"))
    with pytest.raises(ConfigError, match="undersample' needs one task"):
        train(base.replace(balance="undersample"))
    with pytest.raises(ConfigError, match="need one binary task"):
        train(base.replace(signal="kNumuQE"))
    with pytest.raises(ConfigError, match="valid: fixed, uncertainty"):
        train(base.replace(loss_weighting="learned"))
    with pytest.raises(ConfigError, match="task_weights"):
        train(base.replace(task_weights={"tau": 1.0}))
    with pytest.raises(ConfigError, match="unknown task 'tau'"):
        train(base.replace(task="numu-cc,tau"))

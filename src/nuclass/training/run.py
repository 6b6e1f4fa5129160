"""`train(config) -> dict`: one training run from a config to a finished run directory (see RunDir)."""

from __future__ import annotations

import dataclasses
import platform
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities import rank_zero_only

from nuclass.data.prepare import PreparedData, prepare_data
from nuclass.data.sources import data_sources
from nuclass.data.splits import split_files
from nuclass.errors import ConfigError, Interrupted, NuclassError
from nuclass.io import expand_paths
from nuclass.labels import Task, get_task, parse_tasks, task_spec
from nuclass.models import create_model
from nuclass.predict import write_test_predictions
from nuclass.run_dir import RunDir
from nuclass.training.callbacks import (
    AtomicCheckpointIO,
    RunClock,
    SaveOnInterrupt,
    cpu_seconds,
    make_callbacks,
)
from nuclass.training.config import TrainConfig, resolve
from nuclass.training.datamodule import StreamingData
from nuclass.training.lightning_adapter import check_trainer_choices, quiet_lightning
from nuclass.training.module import TaskModule, set_threads

__all__ = ["train", "cpu_seconds"]


def _versions() -> dict[str, str]:
    import h5py
    import lightning

    import nuclass

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "nuclass": nuclass.__version__,
        "numpy": np.__version__,
        "h5py": h5py.__version__,
    }


def _split(config: TrainConfig, run: RunDir) -> dict[str, list[Path]]:
    """The run's files per split: the saved split when resuming, else a new seeded split by file; with
    train_files, the first N training files only."""
    if config.resume and run.file(RunDir.SPLIT).is_file():
        split = run.read_split()
    else:
        split = split_files(expand_paths(config.data), config.seed, config.val_fraction, config.test_fraction)
    if config.train_files is not None:
        split["train"] = split["train"][: config.train_files]
    return split


def _prepare(config: TrainConfig, tasks: tuple[Task, ...], run: RunDir) -> PreparedData:
    return prepare_data(
        _split(config, run),
        tasks[0] if len(tasks) == 1 else tasks,
        seed=config.seed,
        balance=config.balance,
        selection=config.selection,
        equalize_signal=config.equalize_signal,
        max_events_per_file=config.max_events_per_file,
    )


def train(config: TrainConfig) -> dict[str, Any]:
    """Train `config.model` on `config.task` (one task, or several: one multi-task network), write the run
    directory, and return a summary (plain data).

    The summary holds the run directory, the resolved config, event counts per split, the epochs run,
    the best validation loss, the paths of the weights and the test-set predictions, and `training`:
    events trained, training wall seconds (validation included), validation seconds, seconds between
    steps (the loader's share, mostly) and training CPU-seconds (callbacks.RunClock); RUN_DIR/summary.json
    keeps it. Under DDP only rank 0 writes files and returns the full summary; other ranks return
    {"rank": r}.
    """
    tasks = tuple(get_task(name) for name in parse_tasks(config.task))
    task = tasks[0] if len(tasks) == 1 else tasks
    run = RunDir(config.out)
    if run.path.exists() and not run.path.is_dir():
        raise ConfigError(f"{run.path}: expected a run directory, got a file")
    last = run.last_checkpoint
    if config.resume and not last.is_file():
        raise ConfigError(f"{run.path}: nothing to resume (no checkpoints/last.ckpt)")
    if not config.resume and last.is_file():
        raise ConfigError(
            f"{run.path}: holds a run already; pass --resume to continue it or choose another --out"
        )
    net = create_model(config.model, task)
    config = resolve(config, tasks, net.recipe).replace(task=task_spec([t.name for t in tasks]))
    check_trainer_choices(config.accelerator, config.devices, config.strategy, config.precision)
    with quiet_lightning():
        pl.seed_everything(config.seed, workers=True, verbose=False)
    net = create_model(config.model, task)  # re-created after seeding: the initial weights follow the seed
    set_threads(config)
    data = _prepare(config, tasks, run)
    if rank_zero_only.rank == 0:
        run.checkpoints.mkdir(parents=True, exist_ok=True)
        run.write_config(config.to_dict())
        run.write_split(data.split)
        run.write_versions(_versions())
        run.write_data_sources(data_sources(f for files in data.split.values() for f in files))
    names = [t.name for t in tasks]
    module = TaskModule(net, names, config, data.class_weights, data.target_stats)
    callbacks, checkpoint = make_callbacks(
        run, config.patience, config.progress, config.val_every_minutes, config.max_cpu_seconds
    )
    interrupt = next(c for c in callbacks if isinstance(c, SaveOnInterrupt))
    started, cpu_started = time.monotonic(), cpu_seconds()
    with quiet_lightning():
        trainer = pl.Trainer(
            accelerator=config.accelerator,
            devices=config.devices,
            num_nodes=config.nodes,
            strategy=config.strategy,
            max_epochs=config.max_epochs,
            max_time={"minutes": config.max_minutes} if config.max_minutes else None,
            precision=config.precision,
            callbacks=callbacks,
            logger=CSVLogger(run.path, name=RunDir.LOGS),
            plugins=[AtomicCheckpointIO()],
            enable_progress_bar=config.progress,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            log_every_n_steps=10,
            limit_train_batches=config.limit_train_batches,
            limit_val_batches=config.limit_val_batches,
            **_validation_cadence(config),
            use_distributed_sampler=False,
            deterministic=False,
        )
        datamodule = StreamingData(config, tasks, data, net.recipe)
        _fit(trainer, module, datamodule, last if config.resume else None, interrupt)
    train_cpu_seconds = cpu_seconds() - cpu_started
    clock = next(c for c in callbacks if isinstance(c, RunClock))
    if not trainer.is_global_zero:
        return {"rank": trainer.global_rank}
    best = Path(checkpoint.best_model_path) if checkpoint.best_model_path else run.checkpoints / "best.ckpt"
    if not best.is_file():
        raise NuclassError(f"{run.path}: training ended before the first validation; no weights to keep")
    state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
    module.load_state_dict(state)
    best_score = checkpoint.best_model_score
    epochs = run.epochs_run()
    best_val_loss = None if best_score is None else float(best_score)
    counts = data.class_counts if len(tasks) > 1 else data.class_counts.get(names[0])
    extra = {"best_val_loss": best_val_loss, "epochs_run": epochs, "class_counts": counts}
    if hasattr(module, "loss_weighting"):
        extra["learned_task_weights"] = module.loss_weighting.weights()
    _export_model(run, module, config, tasks, extra)
    predictions = write_test_predictions(run, module, data)
    test_counts = {name: {s: len(p) for s, p in sets.items()} for name, sets in data.test_sets.items()}
    summary = {
        "run_dir": str(run.path),
        "task": config.task,
        "tasks": names,
        "model": config.model,
        "config": config.to_dict(),
        "n_events": {
            "train": len(data.train),
            "val": len(data.val),
            "test_natural": len(data.test),
            "test_balanced": len(data.test_sets[names[0]]["balanced"]) if len(tasks) == 1 else None,
            "test_by_task": test_counts,
            "val_used": len(datamodule.val_set.index),
        },
        "class_counts": counts,
        "selection": config.selection.to_dict(),
        "n_parameters": sum(p.numel() for p in module.net.parameters()),
        "epochs_run": epochs,
        "best_val_loss": best_val_loss,
        "stopped_early": bool(
            trainer.early_stopping_callback and trainer.early_stopping_callback.stopped_epoch
        ),
        "seconds": round(time.monotonic() - started, 1),
        "train_cpu_seconds": round(train_cpu_seconds, 3),
        "training": {**clock.summary(), "cpu_seconds": round(train_cpu_seconds, 3)},
        "weights": str(run.file(RunDir.WEIGHTS)),
        "predictions": predictions,
    }
    run.write_summary(summary)
    return summary


def _fit(trainer: pl.Trainer, module: TaskModule, datamodule: StreamingData, ckpt_path: Path | None,
         interrupt: SaveOnInterrupt) -> None:
    """trainer.fit; on Ctrl-C (which Lightning turns into sys.exit(1) after its on_exception hooks, and then
    ignores further Ctrl-C) raise Interrupted saying where training stopped and how to resume."""
    main_thread = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGINT) if main_thread else None
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    except SystemExit:
        if interrupt.stopped_at is None:
            raise
        raise Interrupted(interrupt.message()) from None
    finally:
        if handler is not None:
            signal.signal(signal.SIGINT, handler)


def _validation_cadence(config: TrainConfig) -> dict[str, Any]:
    """Trainer arguments: once per epoch, or every `val_every_minutes` of wall time across epochs."""
    if config.val_every_minutes is None:
        return {}
    interval = timedelta(minutes=config.val_every_minutes)
    return {"val_check_interval": interval, "check_val_every_n_epoch": None}


def head_info(tasks: tuple[Task, ...]) -> dict[str, Any]:
    """model.json's description of the heads: a one-task network's kind and class names, as always; for
    several tasks `tasks` (their order, that of the outputs) and `heads` ({task: kind, class names, unit})."""
    if len(tasks) == 1:
        return {"kind": tasks[0].kind, "class_names": list(tasks[0].class_names)}
    heads = {t.name: {"kind": t.kind, "class_names": list(t.class_names), "unit": t.unit} for t in tasks}
    return {"tasks": [t.name for t in tasks], "heads": heads}


def _export_model(
    run: RunDir, module: TaskModule, config: TrainConfig, tasks: tuple[Task, ...], extra: dict[str, Any]
) -> None:
    """The best weights as model.safetensors (the network's: no learned loss weights), and model.json:
    what they are and how they were trained."""
    state = {
        k: v.detach().cpu().contiguous()
        for k, v in module.state_dict().items()
        if not k.startswith("loss_weighting.")
    }
    info = {
        "model": config.model,
        "task": config.task,
        **head_info(tasks),
        "input": "maps (B, 2, 100, 80): raw charge, uint8 (or float holding 0–255); the network applies "
        "pixel_transform itself",
        "pixel_transform": module.recipe.pixel_transform,
        "recipe": dataclasses.asdict(module.recipe),
        "config": config.to_dict(),
        **extra,
    }
    run.write_model(state, info)

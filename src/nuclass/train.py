"""Training: a frozen config, one LightningModule for every task, and `train(config) -> dict`.

A run directory holds everything needed to reproduce and reuse a training:
config.yaml (resolved), split.json, metrics.csv (one row per validation), logs/ (Lightning's CSV logs),
checkpoints/{best,last}.ckpt, model.safetensors + model.json (the best weights, loadable without
pickle), versions.json, and predictions/{natural,balanced}.npz (per-event scores on the test files).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import logging
import math
import os
import platform
import resource
import time
import types
import typing
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
import yaml
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, RichProgressBar, Timer
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities import rank_zero_only
from safetensors.torch import load_file, save_file
from torch.nn import functional as F

from nuclass.atomic import atomic_path
from nuclass.data.balance import BALANCE_METHODS, class_weights, sampling_weights, undersample_to_balance
from nuclass.data.dataset import META_FIELDS, EventIndex, StreamingDataset, build_index
from nuclass.data.splits import expand_paths, split_files
from nuclass.data.transforms import normalise_maps
from nuclass.errors import ConfigError, NuclassError
from nuclass.io import Events, iter_batches
from nuclass.labels import TASKS, Task, get_task
from nuclass.models import Recipe, create_model, list_models
from nuclass.selection import EventSelection

__all__ = [
    "TrainConfig",
    "PRESETS",
    "load_config",
    "train",
    "predict_files",
    "load_model",
    "scores_from_outputs",
    "TaskModule",
    "cpu_seconds",
]

CONFIG_FILE, SPLIT_FILE, METRICS_FILE = "config.yaml", "split.json", "metrics.csv"
EQUALIZE_FIELDS = ("interaction", "finalstate")
PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")  # Lightning's names
GPU_PRECISIONS = ("16-mixed",)  # float16 autocast: GPUs only
WEIGHTS_FILE, MODEL_FILE, VERSIONS_FILE = "model.safetensors", "model.json", "versions.json"


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on. None means "the model's recipe decides" (see models.Recipe).

    balance: undersample | weights | sampler | none (None: the model's recipe for classification —
    undersample, as the seeds did, or sampler for cvn — and none for regression). max_events_per_file
    keeps the first M used events of each file.
    limit_*_batches cap batches per epoch (smoke runs). threads: torch threads per process (None:
    the machine's cores shared between the local processes). where / signal / background: truth
    selections (nuclass.selection) restricting every event / the target-1 / the target-0 events of
    train, val and test; equalize_signal: a truth field (interaction or finalstate) whose values are cut
    to equal counts among the signal events of each split (seed 000's equal QE and DIS); train_files:
    train on the first N training files of the split only (learning curves; val and test unchanged).
    val_every_minutes: validate (and checkpoint) after this much wall time instead of once per epoch:
    on a CPU an epoch over many files lasts hours. A time budget always ends with a validation.
    precision: Lightning's; bf16-mixed trains under bfloat16 autocast with float32 weights: on CPUs with
    AVX512-BF16 / AMX 1.0–1.9× the events per second, depending on the model and the threads
    (benchmarks/README_train.md); 16-mixed needs a GPU.
    """

    task: str = "numu-cc"
    data: tuple[str, ...] = ()
    out: str = "run"
    model: str = "cvn"
    max_epochs: int | None = None
    max_minutes: float | None = None
    val_every_minutes: float | None = None
    balance: str | None = None
    seed: int = 0
    devices: int = 1
    strategy: str = "auto"
    accelerator: str = "auto"
    precision: str = "32-true"
    resume: bool = False
    num_workers: int = 1
    batch_size: int | None = None
    learning_rate: float | None = None
    patience: int | None = None
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    max_events_per_file: int | None = None
    limit_train_batches: int | None = None
    limit_val_batches: int | None = None
    buffer_events: int = 2048
    threads: int | None = None
    progress: bool = True
    where: str | None = None
    signal: str | None = None
    background: str | None = None
    equalize_signal: str | None = None
    train_files: int | None = None

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """A config from plain data; unknown keys raise ConfigError listing the valid ones."""
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(valid))
        if unknown:
            raise ConfigError(
                f"unknown training config key(s) {', '.join(unknown)}; valid keys: {', '.join(valid)}"
            )
        values = dict(values)
        if "data" in values:
            data = values["data"]
            if isinstance(data, str | os.PathLike):
                values["data"] = (str(data),)
            elif isinstance(data, list | tuple):
                values["data"] = tuple(str(d) for d in data)
        hints = typing.get_type_hints(cls)
        for name, value in values.items():
            hint = hints[name]
            allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
            if float in allowed and isinstance(value, int) and not isinstance(value, bool):
                values[name] = value = float(value)
            ok = any(
                value is None if t is type(None) else isinstance(value, typing.get_origin(t) or t)
                for t in allowed
            )
            if not ok or (isinstance(value, bool) and bool not in allowed):
                expected = " or ".join(getattr(t, "__name__", str(t)) for t in allowed)
                raise ConfigError(f"training config key {name}: expected {expected}, got {value!r}")
        return cls(**values)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with `changes` (validated like from_dict)."""
        return TrainConfig.from_dict({**dataclasses.asdict(self), **changes})

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["data"] = list(self.data)
        return values


# Named presets; `tiny` is a smoke run: one epoch of a few small batches in the main process.
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {
        "max_epochs": 1,
        "batch_size": 16,
        "limit_train_batches": 4,
        "limit_val_batches": 2,
        "num_workers": 0,
        "max_events_per_file": 200,
        "buffer_events": 256,
        "progress": False,
    },
}


def config_values(source: str | os.PathLike) -> dict[str, Any]:
    """The TrainConfig keys a preset name (see PRESETS) or a YAML file sets, and only those."""
    if str(source) in PRESETS:
        return dict(PRESETS[str(source)])
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file (presets: {', '.join(PRESETS)})")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys, got {type(values).__name__}")
    return values


def load_config(source: str | os.PathLike, **overrides: Any) -> TrainConfig:
    """A TrainConfig from a preset name (see PRESETS) or a YAML file of TrainConfig keys, then `overrides`."""
    return TrainConfig.from_dict({**config_values(source), **overrides})


def _resolve(config: TrainConfig, task: Task, recipe: Recipe) -> TrainConfig:
    """Fill every None from the model's recipe and the task; check the choices."""
    if config.model not in list_models():
        raise ConfigError(f"unknown model '{config.model}'; valid models: {', '.join(list_models())}")
    balance = config.balance or ((recipe.balance or "undersample") if task.is_classification else "none")
    if balance not in BALANCE_METHODS:
        raise ConfigError(f"unknown balance '{balance}'; valid: {', '.join(BALANCE_METHODS)}")
    if balance != "none" and not task.is_classification:
        raise ConfigError(f"balance '{balance}' needs classes; task '{task.name}' is a regression (use none)")
    if not config.data:
        raise ConfigError("no data: give --data with files or directories")
    for name in ("max_minutes", "val_every_minutes"):
        value = getattr(config, name)
        if value is not None and value <= 0:
            raise ConfigError(f"{name} must be > 0, got {value}")
    for name in (
        "max_epochs",
        "batch_size",
        "patience",
        "devices",
        "limit_train_batches",
        "limit_val_batches",
    ):
        value = getattr(config, name)
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be ≥ 1, got {value}")
    if config.num_workers < 0:
        raise ConfigError(f"num_workers must be ≥ 0, got {config.num_workers}")
    if config.precision not in PRECISIONS:
        raise ConfigError(f"unknown precision '{config.precision}'; valid: {', '.join(PRECISIONS)}")
    if config.precision in GPU_PRECISIONS and not torch.cuda.is_available():
        raise ConfigError(f"precision {config.precision} needs a GPU; on a CPU use bf16-mixed")
    _selection(config).check_task(task.name, task.kind)
    if config.equalize_signal is not None:
        if task.kind != "binary" or config.equalize_signal not in EQUALIZE_FIELDS:
            raise ConfigError(
                f"equalize_signal needs a binary task and one of {', '.join(EQUALIZE_FIELDS)}; "
                f"got {config.equalize_signal!r} for task '{task.name}'"
            )
    if config.train_files is not None and config.train_files < 1:
        raise ConfigError(f"train_files must be ≥ 1, got {config.train_files}")
    return config.replace(
        balance=balance,
        max_epochs=config.max_epochs or recipe.max_epochs,
        batch_size=config.batch_size or recipe.batch_size,
        learning_rate=config.learning_rate or recipe.learning_rate,
        patience=config.patience or recipe.patience,
    )


# ---------------------------------------------------------------------------------------------- data


def _selection(config: TrainConfig) -> EventSelection:
    """The run's truth selection (expressions checked on construction)."""
    return EventSelection(config.where, config.signal, config.background)


def _equalize_signal(index: EventIndex, field: str, rng: np.random.Generator) -> EventIndex:
    """Signal events (target 1) cut to equal counts per value of truth `field`; background untouched."""
    signal = np.flatnonzero(index.target == 1)
    _, group = np.unique(index.meta[field][signal], return_inverse=True)
    keep = signal[undersample_to_balance(group, int(group.max(initial=-1)) + 1, rng)]
    return index.take(np.sort(np.concatenate([np.flatnonzero(index.target != 1), keep])))


def _class_counts(target: np.ndarray, k: int, weights: np.ndarray | None = None) -> list[float]:
    """Events per class (k,), or their total weight (the effective count seen per epoch)."""
    counts = np.bincount(target, minlength=k)[:k].astype(np.float64)
    return (counts if weights is None else counts * weights[:k]).tolist()


@dataclass
class _Data:
    """The indexes of one run: train and val (balanced as configured), natural and balanced test.

    class_counts: events per class of each split before and after balancing (classification only;
    "weights" and "sampler" give the effective per-epoch counts).
    """

    split: dict[str, list[Path]]
    train: EventIndex
    val: EventIndex
    test: EventIndex
    test_balanced: np.ndarray  # positions in `test` of the balanced test set
    class_weights: np.ndarray | None
    draw_weights: np.ndarray | None
    class_counts: dict[str, dict[str, list[float]]] | None = None


def _prepare_data(config: TrainConfig, task: Task, run_dir: Path) -> _Data:
    split_path = run_dir / SPLIT_FILE
    if config.resume and split_path.is_file():
        saved = json.loads(split_path.read_text())
        split = {k: [Path(p) for p in saved[k]] for k in ("train", "val", "test")}
    else:
        split = split_files(expand_paths(config.data), config.seed, config.val_fraction, config.test_fraction)
    if config.train_files is not None:
        split["train"] = split["train"][: config.train_files]
    limit, selection = config.max_events_per_file, _selection(config)
    equalize = config.equalize_signal is not None
    indexes = {
        name: build_index(
            split[name],
            task,
            keep_meta=equalize or name == "test",
            max_events_per_file=limit,
            selection=selection,
        )
        for name in ("train", "val", "test")
    }
    if equalize:
        rng_eq = np.random.default_rng([config.seed, 3])
        indexes = {k: _equalize_signal(v, config.equalize_signal, rng_eq) for k, v in indexes.items()}
    train, val, test = indexes["train"], indexes["val"], indexes["test"]
    for name, index in indexes.items():
        if len(index) == 0:
            what = f" and the selection {selection.to_dict()}" if selection.active else ""
            raise ConfigError(f"the {name} files hold no events that task '{task.name}'{what} uses")
    rng = np.random.default_rng([config.seed, 1])
    weights = draw = counts = None
    test_balanced = np.arange(len(test))
    if task.is_classification:
        k = task.n_outputs if task.kind == "multiclass" else 2
        if len(np.unique(train.target)) < 2:
            raise ConfigError(
                f"the training files hold a single class of task '{task.name}': cannot learn it"
            )
        before = {"train": _class_counts(train.target, k), "val": _class_counts(val.target, k)}
        if config.balance == "undersample":
            train = train.take(undersample_to_balance(train.target, k, rng))
        if config.balance in ("undersample", "sampler"):
            val = val.take(undersample_to_balance(val.target, k, rng))
        if config.balance == "weights":
            weights = class_weights(train.target, k)
        if config.balance == "sampler":
            draw = sampling_weights(train.target, k)
        test_balanced = undersample_to_balance(test.target, k, np.random.default_rng([config.seed, 2]))
        # the counts one epoch effectively sees: weighted by the loss weights, or drawn by the sampler
        effective = {"weights": weights, "sampler": class_weights(train.target, k)}.get(config.balance)
        counts = {
            "before": {**before, "test": _class_counts(test.target, k)},
            "after": {
                "train": _class_counts(train.target, k, effective),
                "val": _class_counts(val.target, k),
                "test": _class_counts(test.target[test_balanced], k),
            },
        }
    return _Data(split, train, val, test, test_balanced, weights, draw, counts)


# -------------------------------------------------------------------------------------------- module


class TaskModule(pl.LightningModule):
    """One network trained on one task: loss, metrics and optimiser from the task kind and the recipe.

    Regression outputs live in the task's network space standardised by the training targets' mean
    and std (buffers saved with the weights). The buffer `class_weights` weights the loss (all ones
    unless balance is "weights"); the validation loss is weighted the same way. Every network runs in
    the channels-last memory layout, which oneDNN's CPU convolutions take 1.2–1.5× faster (all models
    alike; benchmarks/README_train.md).
    """

    def __init__(
        self,
        net: torch.nn.Module,
        task_name: str,
        config: TrainConfig,
        class_weights: np.ndarray | None = None,
        target_stats: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        super().__init__()
        self.net, self.task_name, self.run_config, self.recipe = net, task_name, config, net.recipe
        self.net.to(memory_format=torch.channels_last)
        k = max(self.task.n_outputs, 2)
        weights = (
            torch.ones(k) if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
        )
        self.register_buffer("class_weights", weights)
        self.register_buffer("target_mean", torch.tensor(float(target_stats[0])))
        self.register_buffer("target_std", torch.tensor(float(target_stats[1])))

    @property
    def task(self) -> Task:
        return TASKS[self.task_name]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.contiguous(memory_format=torch.channels_last))

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        kind = self.task.kind
        if kind == "binary":
            w = self.class_weights[y]
            per_event = F.binary_cross_entropy_with_logits(out[:, 0], y.float(), reduction="none")
            return (w * per_event).sum() / w.sum()
        if kind == "multiclass":
            return F.cross_entropy(out, y, weight=self.class_weights)
        return F.mse_loss(out[:, 0], (y - self.target_mean) / self.target_std)

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        out = self(batch["x"])
        y = batch["y"]
        loss = self._loss(out, y)
        n = len(y)
        train = stage == "train"
        self.log(
            f"{stage}_loss",
            loss,
            batch_size=n,
            on_step=train,
            on_epoch=True,
            prog_bar=True,
            sync_dist=not train,
        )
        if self.task.is_classification:
            pred = (out[:, 0] > 0).long() if self.task.kind == "binary" else out.argmax(1)
            name, value = f"{stage}_acc", (pred == y).float().mean()
        else:  # mean absolute error in network space (ln E for energy)
            name, value = f"{stage}_mae", (out[:, 0] * self.target_std + self.target_mean - y).abs().mean()
        self.log(name, value, batch_size=n, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)
        return loss

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def configure_optimizers(self) -> Any:
        recipe, lr = self.recipe, self.run_config.learning_rate
        params = self.net.parameters()
        # Keras' epsilon (1e-7) and RMSprop rho (0.9), as the seeds trained
        if recipe.optimizer == "adam":
            optimizer = torch.optim.Adam(params, lr=lr, eps=1e-7, weight_decay=recipe.weight_decay)
        elif recipe.optimizer == "adamw":
            optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=recipe.weight_decay)
        elif recipe.optimizer == "rmsprop":
            optimizer = torch.optim.RMSprop(
                params, lr=lr, alpha=0.9, eps=1e-7, weight_decay=recipe.weight_decay
            )
        else:
            raise ConfigError(f"unknown optimizer '{recipe.optimizer}'; valid: adam, adamw, rmsprop")
        if recipe.scheduler == "none":
            return optimizer
        if recipe.scheduler == "plateau":
            plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer,
                mode="min",
                factor=recipe.plateau_factor,
                patience=recipe.plateau_patience,
                min_lr=recipe.min_lr,
            )
            # stepped by PlateauPerValidation; strict=False: an epoch may end before any validation
            schedule = {"scheduler": plateau, "monitor": "val_loss", "strict": False}
            return {"optimizer": optimizer, "lr_scheduler": schedule}
        if recipe.scheduler == "cosine":
            cosine = torch.optim.lr_scheduler.LambdaLR(optimizer, self._cosine_factor)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": cosine, "interval": "step"}}
        raise ConfigError(f"unknown scheduler '{recipe.scheduler}'; valid: none, plateau, cosine")

    def lr_scheduler_step(self, scheduler: Any, metric: Any) -> None:
        """Lightning's scheduler call: cosine steps here, a plateau at validations (PlateauPerValidation)."""
        if not isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step()

    def _cosine_factor(self, step: int) -> float:
        """Linear warm-up (200 steps or 5 % of the budget, whichever is shorter), then cosine decay over the
        epoch budget or the time budget, whichever ends first."""
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = max(1, min(200, total // 20))
        progress = step / total
        minutes = self.run_config.max_minutes
        timer = next((c for c in self.trainer.callbacks if isinstance(c, Timer)), None)
        if minutes and timer is not None:
            progress = max(progress, timer.time_elapsed("train") / (60 * minutes))
        warm = min(1.0, max((step + 1) / warmup, progress / 0.05))
        return warm * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    def setup(self, stage: str) -> None:
        _set_threads(self.run_config)


def _set_threads(config: TrainConfig) -> None:
    """torch threads per process: the cores shared between the local training processes."""
    local = config.devices if config.accelerator in ("cpu", "auto") else 1
    torch.set_num_threads(config.threads or max(1, (os.cpu_count() or 1) // max(1, local)))


def _worker_init(_: int) -> None:
    """Data workers decompress and normalise in numpy: one torch thread each leaves the cores to training."""
    torch.set_num_threads(1)


class StreamingData(pl.LightningDataModule):
    """Train and val loaders over the streaming dataset; rank, world size and epoch come from the trainer."""

    def __init__(self, config: TrainConfig, task: Task, data: _Data, recipe: Recipe) -> None:
        super().__init__()
        self.num_workers = config.num_workers

        def make(index: EventIndex, train: bool, draw: np.ndarray | None = None) -> StreamingDataset:
            return StreamingDataset(
                index,
                task,
                pixel_transform=recipe.pixel_transform,
                batch_size=config.batch_size,
                shuffle=train,
                seed=config.seed,
                buffer_events=config.buffer_events,
                draw_weights=draw,
                mirror_x=train and recipe.mirror_x,
            )

        self.train_set = make(data.train, True, data.draw_weights)
        self.val_set = make(data.val, False)

    def _loader(self, dataset: StreamingDataset) -> torch.utils.data.DataLoader:
        dataset.rank, dataset.world = self.trainer.global_rank, self.trainer.world_size
        dataset.epoch = self.trainer.current_epoch
        return torch.utils.data.DataLoader(
            dataset,
            batch_size=None,
            num_workers=self.num_workers,
            worker_init_fn=_worker_init,
            prefetch_factor=4 if self.num_workers else None,
        )

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return self._loader(self.train_set)

    def val_dataloader(self) -> torch.utils.data.DataLoader:
        return self._loader(self.val_set)


# ----------------------------------------------------------------------------------------- callbacks


class EpochMetrics(pl.Callback):
    """Appends one row per validation to RUN_DIR/metrics.csv: epoch, step, train_loss (mean since the last
    validation), val_*, lr, seconds.

    Placed before the checkpoint callback, so the row is on disk before the checkpoint; a resumed
    run first drops the rows of the steps it repeats.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start = time.monotonic()
        self.loss_sum, self.loss_n = 0.0, 0

    def _rows(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        with self.path.open(newline="") as f:
            return list(csv.DictReader(f))

    def on_train_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        # after a resume, global_step is the checkpoint's: rows of later validations are redone
        if trainer.is_global_zero and self.path.is_file():
            _write_csv(self.path, [r for r in self._rows() if int(r["step"]) <= trainer.global_step])

    def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        trainer.datamodule.train_set.epoch = trainer.current_epoch  # the next iterator's shuffle

    def on_train_batch_end(
        self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.loss_sum += float(outputs["loss"]) * len(batch["y"])
        self.loss_n += len(batch["y"])

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        row: dict[str, Any] = {"epoch": trainer.current_epoch, "step": trainer.global_step}
        row["train_loss"] = self.loss_sum / self.loss_n if self.loss_n else float("nan")
        row.update({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val_")})
        row["lr"] = trainer.optimizers[0].param_groups[0]["lr"]
        row["seconds"] = round(time.monotonic() - self.start, 2)
        _write_csv(self.path, self._rows() + [row])
        self.loss_sum, self.loss_n = 0.0, 0  # the next row's train_loss covers the batches since this one


class PlateauPerValidation(pl.Callback):
    """Steps a ReduceLROnPlateau schedule with each validation's val_loss, so that its patience counts
    validations, as early stopping's does: with --val-every-minutes an epoch may hold several validations
    or none, and stepping at epoch ends would miss the first or count a stale loss again."""

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        val_loss = trainer.callback_metrics.get("val_loss")
        if trainer.sanity_checking or val_loss is None:
            return
        for config in trainer.lr_scheduler_configs:
            if isinstance(config.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                config.scheduler.step(float(val_loss))


class TimedValidation(pl.Callback):
    """When to validate under --val-every-minutes, decided here rather than by Lightning 2.6's own check,
    which (1) reads each process's clock, so that DDP ranks deciding differently waited for each other
    forever (seen with 2 processes on CPU), and (2) never validates a run that ends by max_epochs between
    two validations. Rank 0 decides after every batch and broadcasts; every rank's Lightning clock is
    set so that its check gives that answer, and the last batch of the last epoch is always due."""

    def __init__(self, minutes: float) -> None:
        self.interval = 60.0 * minutes
        self.last_validation = time.monotonic()

    def on_train_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.last_validation = time.monotonic()

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.last_validation = time.monotonic()

    def on_train_batch_end(
        self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        last_epoch = trainer.max_epochs is not None and trainer.current_epoch + 1 >= trainer.max_epochs
        if last_epoch and trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            trainer.should_stop = True  # Lightning validates before stopping
        due = trainer.strategy.broadcast(time.monotonic() - self.last_validation >= self.interval, src=0)
        trainer._last_val_time = -math.inf if due else math.inf  # Lightning's check: now − this ≥ interval


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written to a temporary name and renamed, so SIGKILL never leaves a truncated last.ckpt."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        with atomic_path(path) as tmp:
            super().save_checkpoint(checkpoint, tmp, storage_options)


def _callbacks(
    run_dir: Path, patience: int, progress: bool, val_every_minutes: float | None
) -> tuple[list[pl.Callback], ModelCheckpoint]:
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="best",
        monitor="val_loss",
        mode="min",
        save_top_k=1,
        save_last=True,
        enable_version_counter=False,
        save_on_train_epoch_end=False,  # after each validation, per epoch or per time interval
    )
    callbacks = [
        EpochMetrics(run_dir / METRICS_FILE),  # before the plateau step: a row shows the lr it trained at
        PlateauPerValidation(),
        checkpoint,
        EarlyStopping(monitor="val_loss", mode="min", patience=patience, check_on_train_epoch_end=False),
    ]
    if val_every_minutes is not None:
        callbacks.append(TimedValidation(val_every_minutes))
    if progress:
        callbacks.append(RichProgressBar())
    return callbacks, checkpoint


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Rows (dicts) as a CSV with the union of their keys, written atomically."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Hide Lightning's tips and the warnings that do not apply to streaming CPU runs."""
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    level = logger.level
    logger.setLevel(logging.WARNING)
    with warnings.catch_warnings():
        for message in (
            r".*does not have many workers.*",
            r".*Checkpoint directory .* exists and is not empty.*",
            r".*The number of training batches .* is smaller than the logging interval.*",
            r".*LeafSpec.*is deprecated.*",
            # DDP: each rank's epoch train loss is its own shard's (metrics.csv: rank 0's); no per-step sync
            r".*It is recommended to use `self.log\('train_(loss|acc|mae)', \.\.\., sync_dist=True\)`.*",
            # an epoch ended before any validation: PlateauPerValidation steps the plateau instead
            r".*ReduceLROnPlateau conditioned on metric val_loss which is not available.*",
            # each worker reads its own batches (see StreamingDataset)
            r".*IterableDataset.*has `__len__` defined.*",
        ):
            warnings.filterwarnings("ignore", message=message)
        try:
            yield
        finally:
            logger.setLevel(level)


# ---------------------------------------------------------------------------------------------- train


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


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def train(config: TrainConfig) -> dict[str, Any]:
    """Train `config.model` on `config.task`, write the run directory, and return a summary (plain data).

    The summary holds the run directory, the resolved config, event counts per split, the epochs run,
    the best validation loss and the paths of the weights and the test-set predictions. Under DDP only
    rank 0 writes files and returns the full summary; other ranks return {"rank": r}.
    """
    task = get_task(config.task)
    run_dir = Path(config.out)
    last = run_dir / "checkpoints" / "last.ckpt"
    if config.resume and not last.is_file():
        raise ConfigError(f"{run_dir}: nothing to resume (no checkpoints/last.ckpt)")
    if not config.resume and last.is_file():
        raise ConfigError(
            f"{run_dir}: holds a run already; pass --resume to continue it or choose another --out"
        )
    net = create_model(config.model, task)
    config = _resolve(config, task, net.recipe)
    with _quiet_lightning():
        pl.seed_everything(config.seed, workers=True, verbose=False)
    net = create_model(config.model, task)  # re-created after seeding: the initial weights follow the seed
    _set_threads(config)
    data = _prepare_data(config, task, run_dir)
    rank0 = rank_zero_only.rank == 0
    if rank0:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        _write_text(run_dir / CONFIG_FILE, yaml.safe_dump(config.to_dict(), sort_keys=False))
        _write_text(
            run_dir / SPLIT_FILE,
            json.dumps({k: [str(p) for p in v] for k, v in data.split.items()}, indent=1),
        )
        _write_text(run_dir / VERSIONS_FILE, json.dumps(_versions(), indent=1))
    stats = (0.0, 1.0)
    if not task.is_classification:
        y = np.asarray(task.to_network(data.train.target), dtype=np.float64)
        stats = (float(y.mean()), float(y.std()) or 1.0)
    module = TaskModule(net, task.name, config, data.class_weights, stats)
    callbacks, checkpoint = _callbacks(run_dir, config.patience, config.progress, config.val_every_minutes)
    started, cpu_started = time.monotonic(), cpu_seconds()
    with _quiet_lightning():
        trainer = pl.Trainer(
            accelerator=config.accelerator,
            devices=config.devices,
            strategy=config.strategy,
            max_epochs=config.max_epochs,
            max_time={"minutes": config.max_minutes} if config.max_minutes else None,
            precision=config.precision,
            callbacks=callbacks,
            logger=CSVLogger(run_dir, name="logs"),
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
        datamodule = StreamingData(config, task, data, net.recipe)
        trainer.fit(module, datamodule=datamodule, ckpt_path=last if config.resume else None)
    train_cpu_seconds = cpu_seconds() - cpu_started
    if not trainer.is_global_zero:
        return {"rank": trainer.global_rank}
    best = (
        Path(checkpoint.best_model_path)
        if checkpoint.best_model_path
        else run_dir / "checkpoints" / "best.ckpt"
    )
    if not best.is_file():
        raise NuclassError(f"{run_dir}: training ended before the first validation; no weights to keep")
    state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
    module.load_state_dict(state)
    best_score = checkpoint.best_model_score
    epochs = _epochs_run(run_dir)
    best_val_loss = None if best_score is None else float(best_score)
    extra = {"best_val_loss": best_val_loss, "epochs_run": epochs, "class_counts": data.class_counts}
    _export_model(run_dir, module, config, task, extra)
    predictions = _write_predictions(run_dir, module, task, data)
    return {
        "run_dir": str(run_dir),
        "task": task.name,
        "model": config.model,
        "config": config.to_dict(),
        "n_events": {
            "train": len(data.train),
            "val": len(data.val),
            "test_natural": len(data.test),
            "test_balanced": len(data.test_balanced),
        },
        "class_counts": data.class_counts,
        "selection": _selection(config).to_dict(),
        "n_parameters": sum(p.numel() for p in module.net.parameters()),
        "epochs_run": epochs,
        "best_val_loss": best_val_loss,
        "stopped_early": bool(
            trainer.early_stopping_callback and trainer.early_stopping_callback.stopped_epoch
        ),
        "seconds": round(time.monotonic() - started, 1),
        "train_cpu_seconds": round(train_cpu_seconds, 3),
        "weights": str(run_dir / WEIGHTS_FILE),
        "predictions": predictions,
    }


def _validation_cadence(config: TrainConfig) -> dict[str, Any]:
    """Trainer arguments: once per epoch, or every `val_every_minutes` of wall time across epochs."""
    if config.val_every_minutes is None:
        return {}
    interval = timedelta(minutes=config.val_every_minutes)
    return {"val_check_interval": interval, "check_val_every_n_epoch": None}


def cpu_seconds() -> float:
    """User + system CPU-seconds of this process and its finished children (the data workers)."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def _epochs_run(run_dir: Path) -> int:
    """Number of epochs that reached a validation, from metrics.csv."""
    path = run_dir / METRICS_FILE
    if not path.is_file():
        return 0
    with path.open(newline="") as f:
        epochs = [int(r["epoch"]) for r in csv.DictReader(f)]
    return max(epochs) + 1 if epochs else 0


def _export_model(
    run_dir: Path, module: TaskModule, config: TrainConfig, task: Task, extra: dict[str, Any]
) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    with atomic_path(run_dir / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp))
    info = {
        "model": config.model,
        "task": task.name,
        "kind": task.kind,
        "class_names": list(task.class_names),
        "pixel_transform": module.recipe.pixel_transform,
        "recipe": dataclasses.asdict(module.recipe),
        "config": config.to_dict(),
        **extra,
    }
    _write_text(run_dir / MODEL_FILE, json.dumps(info, indent=1))


# ------------------------------------------------------------------------------------------ predicting


def scores_from_outputs(
    task: Task, out: torch.Tensor, target_mean: float = 0.0, target_std: float = 1.0
) -> np.ndarray:
    """Raw network outputs (B, n_outputs) -> scores: (B, 1) P(class 1) for binary, (B, K) softmax for
    multi-class, (B,) physical value (task.from_network of the de-standardised output) for regression."""
    if task.kind == "binary":
        return torch.sigmoid(out).numpy()
    if task.kind == "multiclass":
        return torch.softmax(out, dim=1).numpy()
    network = out[:, 0].double().numpy() * target_std + target_mean
    return np.asarray(task.from_network(network), dtype=np.float32)


def _predict_index(module: TaskModule, task: Task, index: EventIndex) -> np.ndarray:
    """Scores of every event of `index`, in index order."""
    dataset = StreamingDataset(
        index,
        task,
        pixel_transform=module.recipe.pixel_transform,
        batch_size=256,
        shuffle=False,
        buffer_events=2048,
    )
    module.eval()
    mean, std = float(module.target_mean), float(module.target_std)
    shape = (len(index),) if task.kind == "regression" else (len(index), task.n_outputs)
    scores = np.empty(shape, dtype=np.float32)
    with torch.inference_mode():
        for batch in dataset:
            scores[batch["pos"].numpy()] = scores_from_outputs(task, module(batch["x"]), mean, std)
    return scores


def _write_predictions(run_dir: Path, module: TaskModule, task: Task, data: _Data) -> dict[str, str]:
    """RUN_DIR/predictions/{natural,balanced}.npz: score, target and truth of each test event."""
    out_dir = run_dir / "predictions"
    out_dir.mkdir(exist_ok=True)
    test = data.test
    scores = _predict_index(module, task, test)
    files = np.array([str(p) for p in test.files])
    paths = {}
    for name, positions in (("natural", np.arange(len(test))), ("balanced", data.test_balanced)):
        arrays = {
            "score": scores[positions],
            "target": test.target[positions],
            "file_index": test.file_id[positions],
            "row": test.row[positions],
            "files": files,
        }
        arrays.update({k: test.meta[k][positions] for k in META_FIELDS})
        path = out_dir / f"{name}.npz"
        with atomic_path(path) as tmp, tmp.open("wb") as f:
            np.savez_compressed(f, **arrays)
        paths[name] = str(path)
    return paths


def load_model(run_dir: str | os.PathLike) -> tuple[TaskModule, Task, dict[str, Any]]:
    """The trained network of a run (eval mode), its task and model.json; weights from safetensors only.

    Returns (module, task, info) where module.net is the network and module.target_mean / target_std
    the regression standardisation.
    """
    run_dir = Path(run_dir)
    info_path, weights_path = run_dir / MODEL_FILE, run_dir / WEIGHTS_FILE
    for path in (info_path, weights_path):
        if not path.is_file():
            raise ConfigError(f"{run_dir}: not a finished run (no {path.name})")
    info = json.loads(info_path.read_text())
    task = get_task(info["task"])
    config = TrainConfig.from_dict(info["config"])
    net = create_model(info["model"], task)
    module = TaskModule(net, task.name, config)
    module.load_state_dict(load_file(str(weights_path)))
    module.eval()
    return module, task, info


def predict_files(
    run_dir: str | os.PathLike, paths: Iterable[str | os.PathLike], batch_size: int = 1024
) -> Iterator[tuple[Events, np.ndarray]]:
    """Stream the files through a run's final weights: yields (Events batch, scores) for every event.

    Scores as in predictions/*.npz (see scores_from_outputs); events the task does not use are scored
    too (select them with task.labels(events.meta)). Memory: one batch at a time.
    """
    module, task, info = load_model(run_dir)
    mean, std = float(module.target_mean), float(module.target_std)
    with torch.inference_mode():
        for events in iter_batches(expand_paths(paths), batch_size):
            x = torch.from_numpy(normalise_maps(events.maps, info["pixel_transform"]))
            yield events, scores_from_outputs(task, module(x), mean, std)

"""The training configuration: a frozen dataclass with defaults, presets, YAML loading, and the check that
fills what the model's recipe decides."""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nuclass.data.balance import BALANCE_METHODS
from nuclass.data.prepare import EQUALIZE_FIELDS
from nuclass.errors import ConfigError
from nuclass.labels import Task
from nuclass.labels.selection import EventSelection
from nuclass.models import Recipe, list_models
from nuclass.models.registry import multitask_models

__all__ = [
    "TrainConfig",
    "DEFAULTS",
    "PRESETS",
    "PRECISIONS",
    "GPU_PRECISIONS",
    "LOSS_WEIGHTINGS",
    "config_values",
    "load_config",
    "resolve",
]

PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")  # Lightning's names
GPU_PRECISIONS = ("16-mixed",)  # float16 autocast: GPUs only
LOSS_WEIGHTINGS = ("fixed", "uncertainty")  # how several tasks' losses are combined


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on. None means "the model's recipe decides" (see models.Recipe).

    balance: undersample | weights | sampler | none (None: the model's recipe for classification —
    undersample, as the seeds did, or sampler for cvn — and none for regression). max_events_per_file
    keeps the first M used events of each file.
    limit_*_batches cap batches per epoch (smoke runs). threads: torch threads per process (None:
    the machine's cores shared between the local processes). where / signal / background: truth
    selections (nuclass.labels.selection) restricting every event / the target-1 / the target-0 events of
    train, val and test; equalize_signal: a truth field (interaction or finalstate) whose values are cut
    to equal counts among the signal events of each split (seed 000's equal QE and DIS); train_files:
    train on the first N training files of the split only (learning curves; val and test unchanged).
    task: one task, "all", or a comma list ("numu-cc,energy"): several tasks train one multi-task network
    (cvn), a head each; their losses are combined with `task_weights` ({task: weight}, default 1 each),
    or with learned weights when loss_weighting is "uncertainty" (training.module.UncertaintyWeights).
    val_every_minutes: validate (and checkpoint) after this much wall time instead of once per epoch:
    on a CPU an epoch over many files lasts hours. A time budget always ends with a validation.
    val_events: validate on a fixed, seeded subsample of about this many validation events, whole chunks
    of them (None: the whole validation split). max_cpu_seconds: a budget of CPU-seconds of the training
    process (its threads and data workers; compute curves), ended like a time budget. devices: processes
    (or GPUs) per node; nodes: machines (Lightning's num_nodes), each rank streaming its own share.
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
    val_events: int | None = 2048
    max_cpu_seconds: float | None = None
    balance: str | None = None
    seed: int = 0
    devices: int = 1
    nodes: int = 1
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
    loss_weighting: str = "fixed"
    task_weights: dict[str, float] | None = None

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

    @property
    def selection(self) -> EventSelection:
        """The run's truth selection (expressions checked on construction)."""
        return EventSelection(self.where, self.signal, self.background)


DEFAULTS = TrainConfig()  # every default, for help texts

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


def _check_tasks(config: TrainConfig, tasks: tuple[Task, ...], balance: str) -> None:
    """The multi-task choices: a model with a head per task, per-task balance, weights of the run's tasks."""
    names = [t.name for t in tasks]
    if config.loss_weighting not in LOSS_WEIGHTINGS:
        raise ConfigError(
            f"unknown loss_weighting '{config.loss_weighting}'; valid: {', '.join(LOSS_WEIGHTINGS)}"
        )
    for name, weight in (config.task_weights or {}).items():
        if name not in names or not isinstance(weight, int | float) or weight < 0:
            raise ConfigError(f"task_weights: expected weights ≥ 0 of the run's tasks ({', '.join(names)}), "
                              f"got {name}: {weight!r}")
    if len(tasks) == 1:
        return
    if config.model not in multitask_models():
        raise ConfigError(f"several tasks need a multi-task model ({', '.join(multitask_models())}); "
                          f"'{config.model}' has one head")
    if balance == "undersample":
        raise ConfigError("balance 'undersample' needs one task; several tasks use weights (per-task class "
                          "weights), sampler (over the joint labels) or none")
    if config.signal is not None or config.background is not None or config.equalize_signal is not None:
        raise ConfigError("--signal / --background / equalize_signal need one binary task; use --where")


def resolve(config: TrainConfig, task: Task | tuple[Task, ...], recipe: Recipe) -> TrainConfig:
    """Fill every None from the model's recipe and the task(s); check the choices."""
    if config.model not in list_models():
        raise ConfigError(f"unknown model '{config.model}'; valid models: {', '.join(list_models())}")
    tasks = (task,) if isinstance(task, Task) else tuple(task)
    classifies = any(t.is_classification for t in tasks)
    default = (recipe.balance or "undersample") if len(tasks) == 1 else "weights"
    balance = config.balance or (default if classifies else "none")
    if balance not in BALANCE_METHODS:
        raise ConfigError(f"unknown balance '{balance}'; valid: {', '.join(BALANCE_METHODS)}")
    if balance != "none" and not classifies:
        raise ConfigError(
            f"balance '{balance}' needs classes; task '{config.task}' is a regression (use none)"
        )
    _check_tasks(config, tasks, balance)
    if not config.data:
        raise ConfigError("no data: give --data with files or directories")
    for name in ("max_minutes", "val_every_minutes", "max_cpu_seconds"):
        value = getattr(config, name)
        if value is not None and value <= 0:
            raise ConfigError(f"{name} must be > 0, got {value}")
    for name in (
        "max_epochs",
        "batch_size",
        "patience",
        "devices",
        "nodes",
        "val_events",
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
    if config.precision in GPU_PRECISIONS and not _cuda_available():
        raise ConfigError(f"precision {config.precision} needs a GPU; on a CPU use bf16-mixed")
    task = tasks[0]
    config.selection.check_task(task.name, task.kind)
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


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()

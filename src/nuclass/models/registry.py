"""The registry of networks (`register_model`, `create_model`, `list_models`) and the recipe each carries.

Every network maps transformed maps (B, 2, 100, 80) float → (B, n_outputs) raw outputs (logits, or the
regression value in the task's network space; for several tasks each head's outputs side by side, in task
order) and carries a `recipe`: the optimiser, batch size, stopping rule and pixel transform it is trained
with (models.network applies the transform, so that the whole network takes raw charge). Listing models
does not import torch, so the CLI starts fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nuclass.errors import ConfigError
from nuclass.labels import Task, get_task

if TYPE_CHECKING:
    from torch import nn

__all__ = ["Recipe", "register_model", "create_model", "list_models", "multitask_models"]


@dataclass(frozen=True)
class Recipe:
    """How a model is trained by default; any field can be overridden by the training config.

    optimizer: adam | adamw | rmsprop; scheduler: none | plateau (LR × `plateau_factor` after
    `plateau_patience` epochs without a lower val loss, down to `min_lr`) | cosine (over the epoch or
    time budget, whichever ends first); pixel_transform: div255 | log1p (see nuclass.data.transforms).
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 64
    max_epochs: int = 50
    patience: int = 5
    scheduler: str = "none"
    plateau_factor: float = 0.2
    plateau_patience: int = 5
    min_lr: float = 1e-5
    pixel_transform: str = "div255"
    mirror_x: bool = False  # training augmentation: mirror the x–z view (see StreamingDataset)
    balance: str | None = None  # classification tasks' default balance (None: undersample, as the seeds)


# name -> module that registers it on import; models registered elsewhere are added by register_model.
_BUILTIN = {"cvn": "nuclass.models.cvn", "seed-multiview": "nuclass.models.baselines",
            "seed-2ch": "nuclass.models.baselines"}
_MULTITASK = ("cvn",)  # built-in models with a head per task (their builder takes a tuple of tasks)
_REGISTRY: dict[str, Callable[[Any], Any]] = {}
_MULTITASK_REGISTERED: set[str] = set()


def register_model(
    name: str, *, multitask: bool = False
) -> Callable[[Callable[[Any], nn.Module]], Callable[[Any], nn.Module]]:
    """Decorator registering `builder(task) -> nn.Module` under `name`; the module must have a `recipe`.
    A `multitask` model's builder is also called with a tuple of several tasks: one head each."""

    def decorate(builder: Callable[[Any], nn.Module]) -> Callable[[Any], nn.Module]:
        _REGISTRY[name] = builder
        if multitask:
            _MULTITASK_REGISTERED.add(name)
        return builder

    return decorate


def multitask_models() -> list[str]:
    """Names of the models that can carry several task heads, without importing torch."""
    return [name for name in list_models() if name in _MULTITASK or name in _MULTITASK_REGISTERED]


def list_models() -> list[str]:
    """Names of every model, built-in first (the default `cvn` leads), without importing torch."""
    return list(_BUILTIN) + sorted(set(_REGISTRY) - set(_BUILTIN))


def create_model(name: str, task: str | Task | Sequence[str | Task]) -> nn.Module:
    """A freshly initialised network `name` for `task` (a Task or a task name), or for several tasks
    (one head each; models in multitask_models() only)."""
    tasks = [task] if isinstance(task, str | Task) else list(task)
    tasks = [get_task(t) if isinstance(t, str) else t for t in tasks]
    if name not in _REGISTRY and name in _BUILTIN:
        importlib.import_module(_BUILTIN[name])
    if name not in _REGISTRY:
        raise ConfigError(f"unknown model '{name}'; valid models: {', '.join(list_models())}")
    if len(tasks) == 1:
        return _REGISTRY[name](tasks[0])
    if name not in multitask_models():
        raise ConfigError(
            f"model '{name}' has one head; several tasks need a multi-task model: "
            f"{', '.join(multitask_models())}"
        )
    return _REGISTRY[name](tuple(tasks))

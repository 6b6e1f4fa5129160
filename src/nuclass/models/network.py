"""A network bound to its task: the pixel transform it applies to raw charge, the buffers its scores need
(the layout of model.safetensors) and raw outputs turned into scores — the one forward pass that training
and inference share."""

from __future__ import annotations

import math

import numpy as np
import torch

from nuclass.data.transforms import PIXEL_TRANSFORMS
from nuclass.errors import ConfigError
from nuclass.labels import TASKS, Task

__all__ = ["PixelTransform", "TaskNetwork", "scores_from_outputs"]

_LOG_256 = math.log(256.0)


class PixelTransform(torch.nn.Module):
    """Raw charge (B, 2, 100, 80), uint8 or a float type holding 0–255 -> float32 network input by the named
    transform of nuclass.data.transforms (div255: q / 255; log1p: ln(1 + q) / ln 256), on the batch's own
    device: batches stay uint8 until they get there (the one place the transform runs; no state)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        if name not in PIXEL_TRANSFORMS:
            raise ConfigError(f"unknown pixel transform '{name}'; valid: {', '.join(PIXEL_TRANSFORMS)}")
        self.name = name

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        x = maps.to(torch.float32)
        if self.name == "div255":
            return x * (1 / 255)
        return torch.log1p(x) * (1 / _LOG_256)


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


class TaskNetwork(torch.nn.Module):
    """`net` (a registered model) for one task, with buffers saved beside its weights: `class_weights`
    (the loss weights, all ones unless balance is "weights") and `target_mean` / `target_std` (regression
    outputs live in the task's network space standardised by the training targets). forward takes raw
    charge, (B, 2, 100, 80) uint8, and applies the recipe's PixelTransform first. Every network runs in
    the channels-last memory layout, which oneDNN's CPU convolutions take 1.2–1.5× faster (all models
    alike; benchmarks/README_train.md).
    """

    def __init__(
        self,
        net: torch.nn.Module,
        task_name: str,
        class_weights: np.ndarray | None = None,
        target_stats: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        super().__init__()
        self.net, self.task_name, self.recipe = net, task_name, net.recipe
        self.pixels = PixelTransform(self.recipe.pixel_transform)
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

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.net(self.pixels(maps).contiguous(memory_format=torch.channels_last))

    def scores(self, maps: torch.Tensor) -> np.ndarray:
        """Scores of a batch of raw maps (see scores_from_outputs); call under torch.inference_mode."""
        return scores_from_outputs(self.task, self(maps), float(self.target_mean), float(self.target_std))

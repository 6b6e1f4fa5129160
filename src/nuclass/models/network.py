"""A network bound to its tasks: the pixel transform it applies to raw charge, the buffers its scores need
(the layout of model.safetensors), and raw outputs turned into scores — the one forward pass that
training, inference and the exported ONNX graph share."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from nuclass.data.transforms import PIXEL_TRANSFORMS
from nuclass.errors import ConfigError
from nuclass.labels import TASKS, Task

__all__ = ["PixelTransform", "TaskNetwork", "ScoringNetwork", "score_tensor", "scores_from_outputs"]

_LOG_256 = math.log(256.0)
PREDICT_BATCH = 256  # events per batch of TaskNetwork.predict


class PixelTransform(torch.nn.Module):
    """Raw charge (B, 2, 100, 80), uint8 or a float type holding 0–255 → float32 network input by the named
    transform of nuclass.data.transforms (div255: q / 255; log1p: ln(1 + q) / ln 256). Part of every
    network, so that batches stay uint8 until they reach the device and the exported graph holds it."""

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


def score_tensor(task: Task, out: torch.Tensor, target_mean: float | torch.Tensor = 0.0,
                 target_std: float | torch.Tensor = 1.0) -> torch.Tensor:
    """One head's raw outputs (B, n_outputs) -> scores: (B, 1) P(class 1) for binary, (B, K) softmax for
    multi-class, (B,) physical value (the de-standardised output, exp for a log target) for regression."""
    if task.kind == "binary":
        return torch.sigmoid(out)
    if task.kind == "multiclass":
        return torch.softmax(out, dim=1)
    value = out[:, 0] * target_std + target_mean
    return torch.exp(value) if task.log_target else value


def scores_from_outputs(
    task: Task, out: torch.Tensor, target_mean: float = 0.0, target_std: float = 1.0
) -> np.ndarray:
    """score_tensor as a float32 numpy array."""
    return score_tensor(task, out, target_mean, target_std).float().numpy()


def _per_task(values, names: Sequence[str]) -> dict:
    """{task: value} from a mapping, or from one value that belongs to a one-task network."""
    if values is None:
        return {}
    if isinstance(values, Mapping):
        return dict(values)
    if len(names) != 1:
        raise ConfigError(f"give per-task values for a network of {len(names)} tasks")
    return {names[0]: values}


class TaskNetwork(torch.nn.Module):
    """`net` (a registered model) for one task or several (one head each), taking raw charge.

    forward: maps (B, 2, 100, 80) uint8 (or float holding 0–255) -> raw outputs (B, Σ n_outputs) of the
    heads in task order, after the recipe's pixel transform. Buffers saved beside the weights, per task:
    `class_weights` (the loss weights, all ones unless balance is "weights") and `target_mean` /
    `target_std` (regression outputs live in the task's network space standardised by the training
    targets). A one-task network names them plainly (the layout of every single-task run); several tasks
    name them `class_weights_<task>` etc. Every network runs in the channels-last memory layout, which
    oneDNN's CPU convolutions take 1.2–1.5× faster (all models alike; benchmarks/README_train.md).
    """

    def __init__(
        self,
        net: torch.nn.Module,
        tasks: str | Sequence[str],
        class_weights: Mapping[str, np.ndarray] | np.ndarray | None = None,
        target_stats: Mapping[str, tuple[float, float]] | tuple[float, float] | None = None,
    ) -> None:
        super().__init__()
        self.net, self.recipe = net, net.recipe
        self.task_names = (tasks,) if isinstance(tasks, str) else tuple(tasks)
        self.pixels = PixelTransform(self.recipe.pixel_transform)
        self.net.to(memory_format=torch.channels_last)
        weights, stats = _per_task(class_weights, self.task_names), _per_task(target_stats, self.task_names)
        for task in self.tasks:
            k = max(task.n_outputs, 2)
            w = weights.get(task.name)
            w = torch.ones(k) if w is None else torch.as_tensor(w, dtype=torch.float32)
            mean, std = stats.get(task.name, (0.0, 1.0))
            self.register_buffer(self.buffer_name("class_weights", task.name), w)
            self.register_buffer(self.buffer_name("target_mean", task.name), torch.tensor(float(mean)))
            self.register_buffer(self.buffer_name("target_std", task.name), torch.tensor(float(std)))

    def buffer_name(self, kind: str, task_name: str) -> str:
        """The state-dict name of a task's buffer `kind` (class_weights, target_mean, target_std)."""
        return kind if len(self.task_names) == 1 else f"{kind}_{task_name}"

    def buffer(self, kind: str, task_name: str) -> torch.Tensor:
        return getattr(self, self.buffer_name(kind, task_name))

    @property
    def tasks(self) -> tuple[Task, ...]:
        return tuple(TASKS[name] for name in self.task_names)

    @property
    def task(self) -> Task:
        """The task of a one-task network."""
        if len(self.task_names) != 1:
            raise ConfigError(f"a network of {len(self.task_names)} tasks has no single task; use .tasks")
        return TASKS[self.task_names[0]]

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.net(self.pixels(maps).contiguous(memory_format=torch.channels_last))

    def split_outputs(self, out: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw outputs (B, Σ n_outputs) -> {task: (B, n_outputs)}."""
        parts, start = {}, 0
        for task in self.tasks:
            parts[task.name] = out[:, start : start + task.n_outputs]
            start += task.n_outputs
        return parts

    def score_tensors(self, maps: torch.Tensor) -> dict[str, torch.Tensor]:
        """{task: scores} of a batch of raw maps (see score_tensor)."""
        return {
            name: score_tensor(
                TASKS[name], out, self.buffer("target_mean", name), self.buffer("target_std", name)
            )
            for name, out in self.split_outputs(self(maps)).items()
        }

    def scores(self, maps: torch.Tensor) -> dict[str, np.ndarray]:
        """{task: float32 scores} of a batch of raw maps; call under torch.inference_mode."""
        return {name: s.float().numpy() for name, s in self.score_tensors(maps).items()}

    def predict(self, maps: np.ndarray, batch_size: int = PREDICT_BATCH) -> dict[str, np.ndarray]:
        """{task: scores (N, …)} of maps (N, 2, 100, 80) uint8 (raw charge, as io.read_file gives them), in
        eval mode, `batch_size` events at a time."""
        self.eval()
        parts: dict[str, list[np.ndarray]] = {name: [] for name in self.task_names}
        with torch.inference_mode():
            for start in range(0, len(maps), batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(maps[start : start + batch_size]))
                for name, s in self.scores(batch).items():
                    parts[name].append(s)
        return {name: np.concatenate(p) if p else np.empty((0,)) for name, p in parts.items()}


class ScoringNetwork(torch.nn.Module):
    """A TaskNetwork as one graph from raw maps to scores: maps (B, 2, 100, 80) uint8 -> one score tensor
    per task, in task order (the graph `nuclass export` writes as ONNX)."""

    def __init__(self, network: TaskNetwork) -> None:
        super().__init__()
        self.network = network
        self.eval()

    def forward(self, maps: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.network.score_tensors(maps).values())

"""The LightningModule: one network trained on one task or several (a head each), its loss, logged
metrics, optimiser and schedule."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import Timer
from torch.nn import functional as F

from nuclass.errors import ConfigError
from nuclass.labels import Task
from nuclass.models.network import TaskNetwork
from nuclass.training.callbacks import CpuBudget
from nuclass.training.config import TrainConfig

__all__ = ["TaskModule", "UncertaintyWeights", "set_threads", "target_used_tensor"]


def target_used_tensor(task: Task, y: torch.Tensor) -> torch.Tensor:
    """Mask (B,) of the targets the task uses: not NaN (regression), not −1 (classes); see
    data.index.unused_target."""
    return torch.isfinite(y) if task.kind == "regression" else y >= 0


class UncertaintyWeights(torch.nn.Module):
    """Learned task weights (Kendall, Gal & Cipolla 2018): a log variance s_k per task, total loss
    Σ_k c_k exp(−s_k) L_k + s_k / 2 with c_k = 1/2 for a regression (Gaussian likelihood) and 1 for a
    classification; the s_k train with the network (no weight decay) and are not part of its weights."""

    def __init__(self, tasks: Sequence[Task]) -> None:
        super().__init__()
        self.names = [t.name for t in tasks]
        self.log_var = torch.nn.Parameter(torch.zeros(len(tasks)))
        self.register_buffer("scale", torch.tensor([1.0 if t.is_classification else 0.5 for t in tasks]))

    def forward(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        stacked = torch.stack([losses[name] for name in self.names])
        return (self.scale * torch.exp(-self.log_var) * stacked + 0.5 * self.log_var).sum()

    def weights(self) -> dict[str, float]:
        """The effective weight c_k exp(−s_k) of each task's loss."""
        w = (self.scale * torch.exp(-self.log_var)).detach().cpu().tolist()
        return dict(zip(self.names, w, strict=True))


def _masked_mean(per_event: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Σ w l / Σ w, 0 (with a gradient path) when no event of the batch counts."""
    return (weight * per_event).sum() / weight.sum().clamp_min(1e-12)


class TaskModule(TaskNetwork, pl.LightningModule):
    """A TaskNetwork as Lightning trains it: loss, metrics and optimiser from the task kinds and the recipe.

    Each head's loss counts only the events its task uses (targets −1 or NaN are skipped: the regressions
    skip code 15, mode skips cosmic and other), weighted by that task's buffer `class_weights`; regression
    targets are standardised by `target_mean` / `target_std` (see models.network.TaskNetwork, whose
    state-dict layout the checkpoints and model.safetensors share). Several tasks' losses are combined
    with fixed weights (config.task_weights, default 1 each) or, with config.loss_weighting
    "uncertainty", learned ones (UncertaintyWeights); val_loss, which early stopping and the best
    checkpoint follow, always uses the fixed weights, so that it stays comparable from one validation to
    the next.
    """

    def __init__(
        self,
        net: torch.nn.Module,
        tasks: str | Sequence[str],
        config: TrainConfig,
        class_weights: Mapping[str, np.ndarray] | np.ndarray | None = None,
        target_stats: Mapping[str, tuple[float, float]] | tuple[float, float] | None = None,
    ) -> None:
        super().__init__(net, tasks, class_weights, target_stats)
        self.run_config = config
        fixed = config.task_weights or {}
        self.fixed_weights = {name: float(fixed.get(name, 1.0)) for name in self.task_names}
        if config.loss_weighting == "uncertainty" and len(self.task_names) > 1:
            self.loss_weighting = UncertaintyWeights(self.tasks)
        self._train_sums: dict[str, tuple[Any, Any]] = {}  # figure -> (sum, weight) since the last validation
        self.train_means: dict[str, float] = {}

    def _task_loss(self, task: Task, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        used = target_used_tensor(task, y)
        if task.kind == "regression":
            mean, std = self.buffer("target_mean", task.name), self.buffer("target_std", task.name)
            target = torch.where(used, (y - mean) / std, torch.zeros_like(y))
            return _masked_mean((out[:, 0] - target) ** 2, used.float())
        cls = y.clamp_min(0)
        w = self.buffer("class_weights", task.name)[cls] * used
        if task.kind == "binary":
            per_event = F.binary_cross_entropy_with_logits(out[:, 0], cls.float(), reduction="none")
        else:
            per_event = F.cross_entropy(out, cls, reduction="none")
        return _masked_mean(per_event, w)

    def _losses(self, out: torch.Tensor, y: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        parts = self.split_outputs(out)
        return {t.name: self._task_loss(t, parts[t.name], y[t.name]) for t in self.tasks}

    def _loss(self, out: torch.Tensor, y: Mapping[str, torch.Tensor] | torch.Tensor) -> torch.Tensor:
        """The fixed-weight total loss of a batch (y: {task: target}, or one tensor for a one-task
        network)."""
        y = y if isinstance(y, Mapping) else {self.task_names[0]: y}
        return self._fixed_total(self._losses(out, y))

    def _fixed_total(self, losses: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Σ_k w_k L_k with the fixed task weights: what val_loss and metrics.csv's train_loss report."""
        return sum(self.fixed_weights[name] * loss for name, loss in losses.items())

    def _step(self, batch: dict[str, Any]) -> tuple[dict[str, torch.Tensor], torch.Tensor, dict[str, Any]]:
        """(per-task losses, fixed-weight total loss, {figure name: (sum, weight)}) of a batch. The figures
        are each task's number right (classification) or summed absolute error in network space
        (regression; ln E for energy) over the events it uses, with the loss summed over events."""
        out = self(batch["x"])
        y = batch["y"]
        losses = self._losses(out, y)
        loss = self._fixed_total(losses)
        n = len(batch["pos"])
        sums: dict[str, Any] = {"loss": (loss * n, n)}
        multi = len(self.task_names) > 1
        parts = self.split_outputs(out)
        for task in self.tasks:
            suffix = f"_{task.name}" if multi else ""
            if multi:
                sums[f"loss{suffix}"] = (losses[task.name] * n, n)
            name, total, weight = self._figure(task, parts[task.name], y[task.name])
            sums[f"{name}{suffix}"] = (total, weight)
        return losses, loss, sums

    def _figure(
        self, task: Task, out: torch.Tensor, y: torch.Tensor
    ) -> tuple[str, torch.Tensor, torch.Tensor]:
        """("acc", events right, events used) or ("mae", summed absolute error in network space, events
        used): the events the task uses."""
        used = target_used_tensor(task, y).float()
        if task.is_classification:
            pred = (out[:, 0] > 0).long() if task.kind == "binary" else out.argmax(1)
            return "acc", ((pred == y).float() * used).sum(), used.sum()
        mean, std = self.buffer("target_mean", task.name), self.buffer("target_std", task.name)
        error = torch.where(used > 0, out[:, 0] * std + mean - y, torch.zeros_like(y)).abs()
        return "mae", error.sum(), used.sum()

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        """The loss optimised (learned task weights where asked), with the fixed-weight loss and the
        figures summed on their device since the last validation: nothing per step waits for the device or
        goes through Lightning's logging (the training means are logged at each validation)."""
        losses, loss, sums = self._step(batch)
        for name, (total, weight) in sums.items():
            before = self._train_sums.get(name, (0.0, 0.0))
            w = weight.detach() if isinstance(weight, torch.Tensor) else weight
            self._train_sums[name] = (before[0] + total.detach(), before[1] + w)
        return self.loss_weighting(losses) if hasattr(self, "loss_weighting") else loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        _, _, sums = self._step(batch)
        n = len(batch["pos"])
        for name, (total, weight) in sums.items():
            value = total / (weight.clamp_min(1e-12) if isinstance(weight, torch.Tensor) else weight)
            self.log(f"val_{name}", value, batch_size=n, on_step=False, on_epoch=True,
                     prog_bar="_" not in name or len(self.task_names) == 1, sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        """Training means since the previous validation (this rank's batches) into `train_means`, the
        progress bar and the logs: train_loss is the fixed-weight loss, comparable with val_loss (the
        learned-weights objective is not); NaN without a training batch in between."""
        sums, self._train_sums = self._train_sums, {}
        self.train_means = {
            f"train_{name}": float(total) / float(weight) if float(weight) else math.nan
            for name, (total, weight) in sums.items()
        }
        if not self.train_means:
            self.train_means = {"train_loss": math.nan}
        for name, value in self.train_means.items():  # per-task figures of several tasks: logs only
            self.log(name, value, prog_bar=name.count("_") == 1, on_epoch=True)

    def configure_optimizers(self) -> Any:
        recipe, lr = self.recipe, self.run_config.learning_rate
        params: list[Any] = [{"params": list(self.net.parameters())}]
        if hasattr(self, "loss_weighting"):
            params.append({"params": list(self.loss_weighting.parameters()), "weight_decay": 0.0})
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
        epoch, time or CPU budget, whichever ends first."""
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = max(1, min(200, total // 20))
        progress = step / total
        minutes = self.run_config.max_minutes
        timer = next((c for c in self.trainer.callbacks if isinstance(c, Timer)), None)
        if minutes and timer is not None:
            progress = max(progress, timer.time_elapsed("train") / (60 * minutes))
        cpu = next((c for c in self.trainer.callbacks if isinstance(c, CpuBudget)), None)
        if cpu is not None:
            progress = max(progress, cpu.fraction)
        warm = min(1.0, max((step + 1) / warmup, progress / 0.05))
        return warm * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    def setup(self, stage: str) -> None:
        set_threads(self.run_config)


def set_threads(config: TrainConfig) -> None:
    """torch threads per process: the cores shared between the local training processes."""
    local = config.devices if config.accelerator in ("cpu", "auto") else 1
    torch.set_num_threads(config.threads or max(1, (os.cpu_count() or 1) // max(1, local)))

"""The LightningModule: one network trained on one task, its loss, logged metrics, optimiser and schedule."""

from __future__ import annotations

import math
import os
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import Timer
from torch.nn import functional as F

from nuclass.errors import ConfigError
from nuclass.models.network import TaskNetwork
from nuclass.training.callbacks import CpuBudget
from nuclass.training.config import TrainConfig

__all__ = ["TaskModule", "set_threads"]


class TaskModule(TaskNetwork, pl.LightningModule):
    """A TaskNetwork as Lightning trains it: loss, metrics and optimiser from the task kind and the recipe.

    The loss is weighted by the buffer `class_weights`, the validation loss the same way; regression
    targets are standardised by `target_mean` / `target_std` (see models.network.TaskNetwork, whose
    state-dict layout the checkpoints and model.safetensors share).
    """

    def __init__(
        self,
        net: torch.nn.Module,
        task_name: str,
        config: TrainConfig,
        class_weights: np.ndarray | None = None,
        target_stats: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        super().__init__(net, task_name, class_weights, target_stats)
        self.run_config = config
        self._train_sums: tuple[Any, Any, int] = (0.0, 0.0, 0)  # loss × events, metric, events
        self.train_means: dict[str, float] = {}

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        kind = self.task.kind
        if kind == "binary":
            w = self.class_weights[y]
            per_event = F.binary_cross_entropy_with_logits(out[:, 0], y.float(), reduction="none")
            return (w * per_event).sum() / w.sum()
        if kind == "multiclass":
            return F.cross_entropy(out, y, weight=self.class_weights)
        return F.mse_loss(out[:, 0], (y - self.target_mean) / self.target_std)

    def _step(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, int]:
        """(loss, summed metric, events) of a batch: the metric is the number right (classification) or
        the summed absolute error in network space (regression; ln E for energy)."""
        out = self(batch["x"])
        y = batch["y"]
        loss = self._loss(out, y)
        if self.task.is_classification:
            pred = (out[:, 0] > 0).long() if self.task.kind == "binary" else out.argmax(1)
            metric = (pred == y).sum()
        else:
            metric = (out[:, 0] * self.target_std + self.target_mean - y).abs().sum()
        return loss, metric, len(y)

    @property
    def metric_name(self) -> str:
        return "acc" if self.task.is_classification else "mae"

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """The loss, summed on its device since the last validation: nothing per step waits for the device
        or goes through Lightning's logging (the training means are logged at each validation)."""
        loss, metric, n = self._step(batch)
        total, right, events = self._train_sums
        self._train_sums = (total + loss.detach() * n, right + metric.detach(), events + n)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        loss, metric, n = self._step(batch)
        for name, value in (("val_loss", loss), (f"val_{self.metric_name}", metric / n)):
            self.log(name, value, batch_size=n, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        """Training loss and metric means since the previous validation (this rank's batches) into
        `train_means`, the progress bar and the logs; NaN without a training batch in between."""
        loss, metric, n = self._train_sums
        self._train_sums = (0.0, 0.0, 0)
        self.train_means = {
            "train_loss": float(loss) / n if n else math.nan,
            f"train_{self.metric_name}": float(metric) / n if n else math.nan,
        }
        self.log_dict(self.train_means, prog_bar=True, on_epoch=True)

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

"""The Lightning internals behind nuclass.training.lightning_adapter, on a real (tiny) Lightning fit: these
fail loudly when a Lightning release moves them, before time-based validation silently stops working."""

from __future__ import annotations

import inspect
from datetime import timedelta

import lightning.pytorch as pl
import torch
from lightning.pytorch.loops.training_epoch_loop import _TrainingEpochLoop

from nuclass.training.lightning_adapter import is_last_batch, quiet_lightning, set_validation_due


class _Tiny(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        return self.layer(batch).sum()

    def validation_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        self.log("val", self.layer(batch).sum())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(torch.zeros(5, 2), batch_size=1)

    def val_dataloader(self) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(torch.zeros(1, 2), batch_size=1)


class _Probe(pl.Callback):
    """Records is_last_batch after every batch and makes only the second batch due for validation."""

    def __init__(self) -> None:
        self.last: list[bool] = []
        self.validated_at: list[int] = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx: int) -> None:
        self.last.append(is_last_batch(trainer))
        set_validation_due(trainer, batch_idx == 1)

    def on_validation_end(self, trainer, module) -> None:
        self.validated_at.append(trainer.global_step)


def test_time_based_validation_follows_the_adapter_and_the_last_batch_is_known() -> None:
    probe = _Probe()
    with quiet_lightning():
        trainer = pl.Trainer(
            accelerator="cpu",
            max_epochs=1,
            val_check_interval=timedelta(hours=1),  # Lightning's own clock would never be due
            check_val_every_n_epoch=None,
            callbacks=[probe],
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
        )
        trainer.fit(_Tiny())
    assert probe.last == [False, False, False, False, True]
    assert probe.validated_at == [2]  # after the second batch, and only then


def test_lightning_still_checks_its_validation_clock_where_the_adapter_sets_it() -> None:
    source = inspect.getsource(_TrainingEpochLoop._should_check_val_fx)
    assert "self.trainer._last_val_time" in source and "batch_progress.is_last_batch" in source

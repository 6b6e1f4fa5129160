"""The data side of a Lightning run: train and val batches over the streaming dataset, and the hook that
starts each training epoch's new shuffle."""

from __future__ import annotations

from collections.abc import Sequence

import lightning.pytorch as pl

from nuclass.data.prepare import PreparedData
from nuclass.data.streaming import StreamingDataset, WindowBatches
from nuclass.labels import Task
from nuclass.models import Recipe
from nuclass.training.config import TrainConfig

__all__ = ["StreamingData", "EpochShuffle"]


class StreamingData(pl.LightningDataModule):
    """Train and val batches over the streaming dataset, read by `num_workers` loader threads each while the
    previous batches train (data.streaming.WindowBatches), pinned for a GPU; rank and world size come from
    the trainer, the shuffle's epoch from `set_epoch` (called by EpochShuffle at each training epoch's
    start). Validation reads a fixed subsample of whole chunks of the validation split (`val_events`,
    seeded; all of it when None), in training-sized batches: on a CPU, cvn and seed-multiview infer
    half as many events per CPU-second in batches of 256 as in batches of 64 (benchmarks/README_train.md)."""

    def __init__(
        self, config: TrainConfig, tasks: Sequence[Task], data: PreparedData, recipe: Recipe
    ) -> None:
        super().__init__()
        self.num_workers = config.num_workers
        self.train_set = StreamingDataset(
            data.train, tasks, batch_size=config.batch_size, shuffle=True, seed=config.seed,
            buffer_events=config.buffer_events, draw_weights=data.draw_weights, mirror_x=recipe.mirror_x,
        )
        val = data.val
        if config.val_events is not None:
            val = val.chunk_subsample(config.val_events, config.seed)
        self.val_set = StreamingDataset(
            val, tasks, batch_size=config.batch_size, shuffle=False, seed=config.seed,
            buffer_events=config.buffer_events,
        )

    def _loader(self, dataset: StreamingDataset) -> WindowBatches:
        dataset.rank, dataset.world = self.trainer.global_rank, self.trainer.world_size
        pin = self.trainer.strategy.root_device.type == "cuda"
        return WindowBatches(dataset, self.num_workers, pin_memory=pin)

    def set_epoch(self, epoch: int) -> None:
        """Shuffle the next pass over the training set as epoch `epoch`."""
        self.train_set.set_epoch(epoch)

    def train_dataloader(self) -> WindowBatches:
        return self._loader(self.train_set)

    def val_dataloader(self) -> WindowBatches:
        return self._loader(self.val_set)


class EpochShuffle(pl.Callback):
    """Sets the datamodule's shuffle epoch when a training epoch starts: Lightning sets the epoch of a
    loader's sampler, and a streaming (iterable) dataset has none."""

    def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        trainer.datamodule.set_epoch(trainer.current_epoch)

"""The data side of a Lightning run: train and val loaders over the streaming dataset, and the hook that
starts each training epoch's new shuffle."""

from __future__ import annotations

import signal
from collections.abc import Sequence

import lightning.pytorch as pl
import numpy as np
import torch

from nuclass.data.index import EventIndex
from nuclass.data.prepare import PreparedData
from nuclass.data.streaming import StreamingDataset
from nuclass.labels import Task
from nuclass.models import Recipe
from nuclass.training.config import TrainConfig

__all__ = ["StreamingData", "EpochShuffle"]


def _worker_init(_: int) -> None:
    """Data workers decompress and normalise in numpy: one torch thread each leaves the cores to training.
    Ctrl-C is the main process's: it stops training between batches (SaveOnInterrupt), which needs the
    workers alive until then, and ends them."""
    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class StreamingData(pl.LightningDataModule):
    """Train and val loaders over the streaming dataset; rank and world size come from the trainer, the
    shuffle's epoch from `set_epoch` (called by EpochShuffle at each training epoch's start)."""

    def __init__(
        self, config: TrainConfig, tasks: Sequence[Task], data: PreparedData, recipe: Recipe
    ) -> None:
        super().__init__()
        self.num_workers = config.num_workers

        def make(index: EventIndex, train: bool, draw: np.ndarray | None = None) -> StreamingDataset:
            return StreamingDataset(
                index,
                tasks,
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
        return torch.utils.data.DataLoader(
            dataset,
            batch_size=None,
            num_workers=self.num_workers,
            worker_init_fn=_worker_init,
            prefetch_factor=4 if self.num_workers else None,
        )

    def set_epoch(self, epoch: int) -> None:
        """Shuffle the next pass over the training set as epoch `epoch`."""
        self.train_set.set_epoch(epoch)

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return self._loader(self.train_set)

    def val_dataloader(self) -> torch.utils.data.DataLoader:
        return self._loader(self.val_set)


class EpochShuffle(pl.Callback):
    """Sets the datamodule's shuffle epoch when a training epoch starts: Lightning sets the epoch of a
    loader's sampler, and a streaming (iterable) dataset has none."""

    def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        trainer.datamodule.set_epoch(trainer.current_epoch)

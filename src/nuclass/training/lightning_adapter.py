"""Where nuclass reaches past Lightning's public API, in one place: two loop internals that time-based
validation needs, the quieting of tips and warnings that do not apply to streaming CPU runs, and the check
of a run's accelerator, devices, strategy and precision before anything is written.

tests/test_lightning_adapter.py fails loudly when a Lightning release moves these internals.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Iterator

import lightning.pytorch as pl

from nuclass.errors import ConfigError

__all__ = ["is_last_batch", "set_validation_due", "quiet_lightning", "check_trainer_choices"]


def is_last_batch(trainer: pl.Trainer) -> bool:
    """Whether the batch just trained is the last of its epoch (Lightning's epoch loop knows: no public
    API)."""
    return bool(trainer.fit_loop.epoch_loop.batch_progress.is_last_batch)


def set_validation_due(trainer: pl.Trainer, due: bool) -> None:
    """Make Lightning's time-based check (now − trainer._last_val_time ≥ interval) answer `due` after this
    batch, whatever this process's own clock says."""
    trainer._last_val_time = -math.inf if due else math.inf


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
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
            # a checkpoint from mid-epoch (Ctrl-C, --val-every-minutes) resumes with the epoch's remaining
            # number of batches drawn afresh from its start: the streaming loader keeps no position
            r".*resuming from a checkpoint that ended before the epoch ended.*",
        ):
            warnings.filterwarnings("ignore", message=message)
        try:
            yield
        finally:
            logger.setLevel(level)



def check_trainer_choices(accelerator: str, devices: int, strategy: str, precision: str) -> None:
    """ConfigError, in one line, if Lightning would refuse these choices (an unknown strategy or
    accelerator, one that is not installed or not available here, or a combination it rejects): Lightning
    checks them when a Trainer is made, which is cheap and writes nothing, long before a fit."""
    from lightning.fabric.utilities.exceptions import MisconfigurationException
    from lightning.pytorch.accelerators import AcceleratorRegistry
    from lightning.pytorch.strategies import StrategyRegistry

    names = StrategyRegistry.available_strategies()
    strategies = ["auto", *sorted(s for s in names if "find_unused" not in s)]
    if strategy not in strategies and strategy not in StrategyRegistry:
        raise ConfigError(f"unknown strategy '{strategy}'; Lightning's strategies: {', '.join(strategies)}")
    accelerators = ["auto", "gpu", *sorted(AcceleratorRegistry.available_accelerators())]
    if accelerator not in accelerators:
        raise ConfigError(f"unknown accelerator '{accelerator}'; valid: {', '.join(accelerators)}")
    try:
        with quiet_lightning():
            pl.Trainer(accelerator=accelerator, devices=devices, strategy=strategy, precision=precision,
                       logger=False, enable_checkpointing=False, enable_progress_bar=False,
                       enable_model_summary=False)
    except (ValueError, TypeError, ImportError, RuntimeError, MisconfigurationException) as exc:
        why = " ".join(str(exc).split()).split(". ")[0].rstrip(".")
        raise ConfigError(
            f"Lightning cannot run accelerator {accelerator}, devices {devices}, strategy {strategy}, "
            f"precision {precision}: {why}"
        ) from None

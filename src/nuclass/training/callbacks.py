"""The callbacks of a training run: metrics.csv rows, the plateau schedule per validation, time-based
validation that DDP ranks agree on, checkpoints written atomically, and a resumable checkpoint on Ctrl-C."""

from __future__ import annotations

import math
import resource
import signal
import threading
import time
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, RichProgressBar
from lightning.pytorch.plugins.io import TorchCheckpointIO

from nuclass.atomic import atomic_path
from nuclass.run_dir import RunDir
from nuclass.training.datamodule import EpochShuffle
from nuclass.training.lightning_adapter import is_last_batch, set_validation_due

__all__ = [
    "EpochMetrics",
    "PlateauPerValidation",
    "TimedValidation",
    "CpuBudget",
    "cpu_seconds",
    "RunClock",
    "QuietProgressBar",
    "AtomicCheckpointIO",
    "SaveOnInterrupt",
    "make_callbacks",
    "SYNC_EVERY_STEPS",
]

SYNC_EVERY_STEPS = 8  # under DDP, rank 0's "validate now?" is broadcast every this many steps


class EpochMetrics(pl.Callback):
    """Appends one row per validation to RUN_DIR/metrics.csv: epoch, step, train_loss (mean since the last
    validation), val_*, lr, seconds.

    Placed before the checkpoint callback, so the row is on disk before the checkpoint; a resumed
    run first drops the rows of the steps it repeats.
    """

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self.start = time.monotonic()

    def on_train_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        # after a resume, global_step is the checkpoint's: rows of later validations are redone
        if trainer.is_global_zero and (rows := self.run.read_training_log()):
            self.run.write_training_log([r for r in rows if int(r["step"]) <= trainer.global_step])

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        row: dict[str, Any] = {"epoch": trainer.current_epoch, "step": trainer.global_step}
        row["train_loss"] = module.train_means.get("train_loss", float("nan"))  # since the previous row
        row.update({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val_")})
        row["lr"] = trainer.optimizers[0].param_groups[0]["lr"]
        row["seconds"] = round(time.monotonic() - self.start, 2)
        self.run.write_training_log(self.run.read_training_log() + [row])


class PlateauPerValidation(pl.Callback):
    """Steps a ReduceLROnPlateau schedule with each validation's val_loss, so that its patience counts
    validations, as early stopping's does: with --val-every-minutes an epoch may hold several validations
    or none, and stepping at epoch ends would miss the first or count a stale loss again."""

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        val_loss = trainer.callback_metrics.get("val_loss")
        if trainer.sanity_checking or val_loss is None:
            return
        for config in trainer.lr_scheduler_configs:
            if isinstance(config.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                config.scheduler.step(float(val_loss))


class TimedValidation(pl.Callback):
    """When to validate under --val-every-minutes, decided here rather than by Lightning 2.6's own check,
    which (1) reads each process's clock, so that DDP ranks deciding differently waited for each other
    forever (seen with 2 processes on CPU), and (2) never validates a run that ends by max_epochs between
    two validations. Rank 0 decides and broadcasts (after every batch in one process, every
    SYNC_EVERY_STEPS steps under DDP, so that steps do not wait on a collective); every rank's Lightning
    clock is set so that its check gives that answer, and the last batch of the last epoch is always due."""

    def __init__(self, minutes: float) -> None:
        self.interval = 60.0 * minutes
        self.last_validation = time.monotonic()

    def on_train_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.last_validation = time.monotonic()

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.last_validation = time.monotonic()

    def on_train_batch_end(
        self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        last_epoch = trainer.max_epochs is not None and trainer.current_epoch + 1 >= trainer.max_epochs
        if last_epoch and is_last_batch(trainer):
            trainer.should_stop = True  # Lightning validates before stopping
        if trainer.world_size > 1 and trainer.global_step % SYNC_EVERY_STEPS:
            set_validation_due(trainer, False)  # every rank skips the same steps: no collective on these
            return
        due = trainer.strategy.broadcast(time.monotonic() - self.last_validation >= self.interval, src=0)
        set_validation_due(trainer, due)


class CpuBudget(pl.Callback):
    """Stops training (after a last validation, as a time budget does) once the process has used `seconds`
    CPU-seconds since training started (cpu_seconds: its threads, the loader's too). Rank 0's
    count decides under DDP, read at the steps TimedValidation syncs on. `fraction` is the budget used."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fraction = 0.0
        self._start = 0.0

    def on_train_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self._start = cpu_seconds()

    def on_train_batch_end(
        self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.world_size > 1 and trainer.global_step % SYNC_EVERY_STEPS:
            return
        used = (cpu_seconds() - self._start) / self.seconds
        self.fraction = float(trainer.strategy.broadcast(used, src=0))
        if self.fraction >= 1.0:
            trainer.should_stop = True


def cpu_seconds() -> float:
    """User + system CPU-seconds of this process (every thread: the loader's too) and its finished
    children."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


class RunClock(pl.Callback):
    """What a run's time went to, for its summary: events trained (this rank's × the ranks), training wall
    and validation seconds (of this rank), and the seconds between one training step's end and the next
    one's start — waiting for the loader's next batch and its transfer to the device, mostly."""

    def __init__(self) -> None:
        self.events = 0
        self.train_seconds = self.validation_seconds = self.between_steps_seconds = 0.0
        self._started = self._validation_started = 0.0
        self._step_ended: float | None = None

    def on_train_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self._started = time.perf_counter()

    def on_train_batch_start(
        self, trainer: pl.Trainer, module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._step_ended is not None:
            self.between_steps_seconds += time.perf_counter() - self._step_ended

    def on_train_batch_end(
        self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.events += len(batch["x"]) * trainer.world_size
        self._step_ended = time.perf_counter()

    def on_validation_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self._validation_started = time.perf_counter()

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.validation_seconds += time.perf_counter() - self._validation_started
        self._step_ended = None  # the gap after a validation is the validation's

    def on_train_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.train_seconds = time.perf_counter() - self._started

    def summary(self) -> dict[str, float | int]:
        return {
            "events_trained": self.events,
            "train_seconds": round(self.train_seconds, 3),
            "validation_seconds": round(self.validation_seconds, 3),
            "between_steps_seconds": round(self.between_steps_seconds, 3),
        }


class QuietProgressBar(RichProgressBar):
    """Lightning's rich progress bar redrawn at most every `min_seconds` (and at each epoch's last batch):
    drawn every batch, it reads the logged metrics (a device sync per step on a GPU) and renders in a
    thread beside training."""

    def __init__(self, min_seconds: float = 0.5) -> None:
        super().__init__(refresh_rate=4)
        self.min_seconds, self._drawn = min_seconds, -math.inf

    def _due(self, batch_idx: int, total: int | float) -> bool:
        now = time.monotonic()
        if now - self._drawn < self.min_seconds and batch_idx + 1 < total:
            return False
        self._drawn = now
        return True

    def on_train_batch_end(
        self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self._due(batch_idx, self.total_train_batches):
            super().on_train_batch_end(trainer, module, outputs, batch, batch_idx)

    def on_validation_batch_end(
        self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self._due(batch_idx, self.total_val_batches_current_dataloader):
            super().on_validation_batch_end(trainer, module, outputs, batch, batch_idx, dataloader_idx)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written to a temporary name and renamed, so SIGKILL never leaves a truncated last.ckpt."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        with atomic_path(path) as tmp:
            super().save_checkpoint(checkpoint, tmp, storage_options)


class SaveOnInterrupt(pl.Callback):
    """Ctrl-C during training: stop at the end of the current batch, save a resumable checkpoint as
    checkpoints/last.ckpt (which `--resume` continues from) and note the epoch and step reached.

    While training runs, the first Ctrl-C only asks to stop (a KeyboardInterrupt raised at an arbitrary
    point can land in the middle of an optimiser step, or in a finaliser that Python then ignores): before
    the next batch a KeyboardInterrupt goes through Lightning's `on_exception` hooks, and the checkpoint is
    saved here. A second Ctrl-C stops at once (a validation under way, data still being indexed). In a
    single process only: under DDP every rank would have to join the save, and ranks stopped at different
    points cannot; there the last validation's last.ckpt stays the one to resume.
    """

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self.requested = False
        self.stopped_at: tuple[int, int] | None = None  # (epoch, global step) when interrupted
        self.saved = False

    def _request(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def on_train_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._request)  # train() puts the previous handler back

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        if self.requested:  # before the next batch: the last one is complete in the checkpoint
            raise KeyboardInterrupt

    def on_exception(self, trainer: pl.Trainer, module: pl.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, KeyboardInterrupt):
            return
        self.stopped_at = (trainer.current_epoch, trainer.global_step)
        if trainer.world_size == 1 and trainer.global_step > 0:
            try:
                trainer.save_checkpoint(self.run.last_checkpoint, weights_only=False)
                self.saved = True
            except Exception:  # noqa: BLE001 (stopped where no checkpoint can be made: the last one stays)
                self.saved = False

    def message(self) -> str:
        """What the user reads: where training stopped and how to go on."""
        epoch, step = self.stopped_at or (0, 0)
        if self.saved:
            how = f"resume with --resume (checkpoint {self.run.last_checkpoint} saved now)"
        elif self.run.last_checkpoint.is_file():
            how = f"resume with --resume (from the last validation's checkpoint {self.run.last_checkpoint})"
        else:
            how = "no checkpoint was made yet: the same command starts the run again"
        return f"{self.run.path}: interrupted at epoch {epoch}, step {step}; {how}"


def make_callbacks(
    run: RunDir,
    patience: int,
    progress: bool,
    val_every_minutes: float | None,
    max_cpu_seconds: float | None = None,
) -> tuple[list[pl.Callback], ModelCheckpoint]:
    """Every callback of a run, in order, and the checkpoint callback among them."""
    checkpoint = ModelCheckpoint(
        dirpath=run.checkpoints,
        filename="best",
        monitor="val_loss",
        mode="min",
        save_top_k=1,
        save_last=True,
        enable_version_counter=False,
        save_on_train_epoch_end=False,  # after each validation, per epoch or per time interval
    )
    callbacks = [
        EpochMetrics(run),  # before the plateau step: a row shows the lr it trained at
        PlateauPerValidation(),
        checkpoint,
        EarlyStopping(monitor="val_loss", mode="min", patience=patience, check_on_train_epoch_end=False),
        EpochShuffle(),
        RunClock(),
        SaveOnInterrupt(run),
    ]
    if val_every_minutes is not None:
        callbacks.append(TimedValidation(val_every_minutes))
    if max_cpu_seconds is not None:
        callbacks.append(CpuBudget(max_cpu_seconds))
    if progress:
        callbacks.append(QuietProgressBar())
    return callbacks, checkpoint

"""From a run's split of files to its event indexes: train and val balanced as configured, and the natural
and balanced test sets.

Each random draw has its own stream of the run's seed: [seed, 1] balancing train and val, [seed, 2] the
balanced test set (the same draw wherever a balanced test set is made), [seed, 3] equalised signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nuclass.data.balance import class_weights, sampling_weights, undersample_to_balance
from nuclass.data.index import EventIndex, build_index
from nuclass.errors import ConfigError
from nuclass.labels import Task
from nuclass.labels.selection import EventSelection

__all__ = ["PreparedData", "prepare_data", "balanced_test_positions", "EQUALIZE_FIELDS"]

EQUALIZE_FIELDS = ("interaction", "finalstate")  # truth fields whose values equalize_signal may balance
_BALANCE_STREAM, _TEST_STREAM, _EQUALIZE_STREAM = 1, 2, 3


def balanced_test_positions(target: np.ndarray, task: Task, seed: int) -> np.ndarray:
    """Positions of the balanced test set among test events of `target`: every class cut to the rarest
    one's count, drawn from the run's `seed` (all events for a regression)."""
    if not task.is_classification:
        return np.arange(len(target))
    rng = np.random.default_rng([seed, _TEST_STREAM])
    return undersample_to_balance(np.asarray(target), len(task.class_names), rng)


def _equalize_signal(index: EventIndex, field: str, rng: np.random.Generator) -> EventIndex:
    """Signal events (target 1) cut to equal counts per value of truth `field`; background untouched."""
    signal = np.flatnonzero(index.target == 1)
    _, group = np.unique(index.meta[field][signal], return_inverse=True)
    keep = signal[undersample_to_balance(group, int(group.max(initial=-1)) + 1, rng)]
    return index.take(np.sort(np.concatenate([np.flatnonzero(index.target != 1), keep])))


def _class_counts(target: np.ndarray, k: int, weights: np.ndarray | None = None) -> list[float]:
    """Events per class (k,), or their total weight (the effective count seen per epoch)."""
    counts = np.bincount(target, minlength=k)[:k].astype(np.float64)
    return (counts if weights is None else counts * weights[:k]).tolist()


@dataclass
class PreparedData:
    """The indexes of one run: train and val (balanced as configured), natural and balanced test.

    class_counts: events per class of each split before and after balancing (classification only;
    "weights" and "sampler" give the effective per-epoch counts).
    """

    split: dict[str, list[Path]]
    train: EventIndex
    val: EventIndex
    test: EventIndex
    test_balanced: np.ndarray  # positions in `test` of the balanced test set
    class_weights: np.ndarray | None
    draw_weights: np.ndarray | None
    class_counts: dict[str, dict[str, list[float]]] | None = None


def prepare_data(
    split: dict[str, list[Path]],
    task: Task,
    *,
    seed: int,
    balance: str,
    selection: EventSelection,
    equalize_signal: str | None = None,
    max_events_per_file: int | None = None,
) -> PreparedData:
    """Index the events of each split that `task` uses and `selection` keeps (the first
    `max_events_per_file` of each file), equalise the signal by a truth field if asked, and balance train
    and val by `balance` (undersample | weights | sampler | none). An empty split raises ConfigError."""
    equalize = equalize_signal is not None
    indexes = {
        name: build_index(
            split[name],
            task,
            keep_meta=equalize or name == "test",
            max_events_per_file=max_events_per_file,
            selection=selection,
        )
        for name in ("train", "val", "test")
    }
    if equalize:
        rng_eq = np.random.default_rng([seed, _EQUALIZE_STREAM])
        indexes = {k: _equalize_signal(v, equalize_signal, rng_eq) for k, v in indexes.items()}
    train, val, test = indexes["train"], indexes["val"], indexes["test"]
    for name, index in indexes.items():
        if len(index) == 0:
            what = f" and the selection {selection.to_dict()}" if selection.active else ""
            raise ConfigError(f"the {name} files hold no events that task '{task.name}'{what} uses")
    rng = np.random.default_rng([seed, _BALANCE_STREAM])
    weights = draw = counts = None
    test_balanced = balanced_test_positions(test.target, task, seed)
    if task.is_classification:
        k = len(task.class_names)
        if len(np.unique(train.target)) < 2:
            raise ConfigError(
                f"the training files hold a single class of task '{task.name}': cannot learn it"
            )
        before = {"train": _class_counts(train.target, k), "val": _class_counts(val.target, k)}
        if balance == "undersample":
            train = train.take(undersample_to_balance(train.target, k, rng))
        if balance in ("undersample", "sampler"):
            val = val.take(undersample_to_balance(val.target, k, rng))
        if balance == "weights":
            weights = class_weights(train.target, k)
        if balance == "sampler":
            draw = sampling_weights(train.target, k)
        # the counts one epoch effectively sees: weighted by the loss weights, or drawn by the sampler
        effective = {"weights": weights, "sampler": class_weights(train.target, k)}.get(balance)
        counts = {
            "before": {**before, "test": _class_counts(test.target, k)},
            "after": {
                "train": _class_counts(train.target, k, effective),
                "val": _class_counts(val.target, k),
                "test": _class_counts(test.target[test_balanced], k),
            },
        }
    return PreparedData(split, train, val, test, test_balanced, weights, draw, counts)

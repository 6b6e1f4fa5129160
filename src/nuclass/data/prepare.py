"""From a run's split of files to its event indexes: train and val balanced as configured, and each task's
natural and balanced test sets.

Each random draw has its own stream of the run's seed: [seed, 1] balancing train and val, [seed, 2] the
balanced test set (the same draw wherever a balanced test set is made), [seed, 3] equalised signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nuclass.data.balance import class_weights, sampling_weights, undersample_to_balance
from nuclass.data.index import EventIndex, build_index, target_used
from nuclass.errors import ConfigError
from nuclass.labels import Task
from nuclass.labels.selection import EventSelection

__all__ = [
    "PreparedData",
    "prepare_data",
    "balanced_test_positions",
    "joint_sampling_weights",
    "EQUALIZE_FIELDS",
]

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
    """The indexes of one run: train and val (balanced as configured), and the test events.

    tasks: the run's tasks, in order; test_sets: {task: {"natural": positions, "balanced": positions}} in
    `test` (natural: every test event the task uses); class_weights: {task: (K,) loss weights} of the
    classification tasks balanced by "weights"; draw_weights: (N_train,) the sampler's probabilities;
    class_counts: {task: events per class of each split before and after balancing} (classification
    tasks; "weights" and "sampler" give the effective per-epoch counts); target_stats: {task: (mean, std)}
    of each regression's training targets in its network space (the standardisation of its output).
    """

    split: dict[str, list[Path]]
    tasks: tuple[Task, ...]
    train: EventIndex
    val: EventIndex
    test: EventIndex
    test_sets: dict[str, dict[str, np.ndarray]]
    class_weights: dict[str, np.ndarray]
    draw_weights: np.ndarray | None
    class_counts: dict[str, dict[str, dict[str, list[float]]]]
    target_stats: dict[str, tuple[float, float]]


def _regression_stats(task: Task, target: np.ndarray) -> tuple[float, float]:
    y = np.asarray(task.to_network(target[target_used(task, target)]), dtype=np.float64)
    return (float(y.mean()), float(y.std()) or 1.0) if len(y) else (0.0, 1.0)


def joint_sampling_weights(index: EventIndex, tasks: Sequence[Task]) -> np.ndarray:
    """(N,) probabilities of drawing each event so that every combination of the classification tasks'
    labels present (unused ones included) is drawn equally often: the sampler of a multi-task run."""
    columns = [index.targets[t.name] for t in tasks if t.is_classification]
    _, joint = np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)
    return sampling_weights(joint.ravel(), int(joint.max()) + 1)


def _test_positions(test: EventIndex, task: Task, seed: int) -> dict[str, np.ndarray]:
    natural = np.flatnonzero(target_used(task, test.targets[task.name]))
    balanced = natural[balanced_test_positions(test.targets[task.name][natural], task, seed)]
    return {"natural": natural, "balanced": balanced}


def prepare_data(
    split: dict[str, list[Path]],
    task: Task | Sequence[Task],
    *,
    seed: int,
    balance: str,
    selection: EventSelection,
    equalize_signal: str | None = None,
    max_events_per_file: int | None = None,
) -> PreparedData:
    """Index the events of each split that `task` (or any of several tasks) uses and `selection` keeps (the
    first `max_events_per_file` of each file), equalise the signal by a truth field if asked, and balance
    train and val by `balance` (undersample | weights | sampler | none; several tasks: weights — per-task
    class weights —, sampler — over the joint labels — or none). An empty split raises ConfigError."""
    tasks = (task,) if isinstance(task, Task) else tuple(task)
    equalize = equalize_signal is not None
    indexes = {
        name: build_index(
            split[name],
            tasks,
            keep_meta=equalize or name == "test",
            max_events_per_file=max_events_per_file,
            selection=selection,
        )
        for name in ("train", "val", "test")
    }
    if equalize:
        rng_eq = np.random.default_rng([seed, _EQUALIZE_STREAM])
        indexes = {k: _equalize_signal(v, equalize_signal, rng_eq) for k, v in indexes.items()}
    what = f" and the selection {selection.to_dict()}" if selection.active else ""
    for name, index in indexes.items():
        for t in tasks:
            if not target_used(t, index.targets[t.name]).any():
                raise ConfigError(f"the {name} files hold no events that task '{t.name}'{what} uses")
    if len(tasks) > 1 and balance == "undersample":
        raise ConfigError("balance 'undersample' needs one task; several tasks use weights, sampler or none")
    train, val, test = indexes["train"], indexes["val"], indexes["test"]
    test_sets = {t.name: _test_positions(test, t, seed) for t in tasks}
    stats = {t.name: _regression_stats(t, train.targets[t.name]) for t in tasks if not t.is_classification}
    weights: dict[str, np.ndarray] = {}
    counts: dict[str, dict[str, dict[str, list[float]]]] = {}
    classifiers = [t for t in tasks if t.is_classification]
    for t in classifiers:
        used = train.targets[t.name][target_used(t, train.targets[t.name])]
        if len(np.unique(used)) < 2:
            raise ConfigError(f"the training files hold a single class of task '{t.name}': cannot learn it")
    if len(tasks) == 1:
        rng = np.random.default_rng([seed, _BALANCE_STREAM])
        draw = None
        if tasks[0].is_classification:
            t, k = tasks[0], len(tasks[0].class_names)
            before = {"train": _class_counts(train.target, k), "val": _class_counts(val.target, k)}
            if balance == "undersample":
                train = train.take(undersample_to_balance(train.target, k, rng))
            if balance in ("undersample", "sampler"):
                val = val.take(undersample_to_balance(val.target, k, rng))
            if balance == "weights":
                weights[t.name] = class_weights(train.target, k)
            if balance == "sampler":
                draw = sampling_weights(train.target, k)
            # the counts one epoch effectively sees: weighted by the loss weights, or drawn by the sampler
            effective = {"weights": weights.get(t.name), "sampler": class_weights(train.target, k)}.get(
                balance
            )
            counts[t.name] = {
                "before": {**before, "test": _class_counts(test.target, k)},
                "after": {
                    "train": _class_counts(train.target, k, effective),
                    "val": _class_counts(val.target, k),
                    "test": _class_counts(test.target[test_sets[t.name]["balanced"]], k),
                },
            }
        return PreparedData(split, tasks, train, val, test, test_sets, weights, draw, counts, stats)
    draw = joint_sampling_weights(train, tasks) if balance == "sampler" and classifiers else None
    for t in classifiers:
        k = len(t.class_names)
        per_split = {}
        for name, index in (("train", train), ("val", val), ("test", test)):
            target = index.targets[t.name]
            per_split[name] = _class_counts(target[target_used(t, target)], k)
        train_target = train.targets[t.name]
        used = target_used(t, train_target)
        if balance == "weights":
            weights[t.name] = class_weights(train_target[used], k)
        effective = per_split["train"]
        if balance == "weights":
            effective = _class_counts(train_target[used], k, weights[t.name])
        elif draw is not None:
            drawn = np.bincount(train_target[used], weights=draw[used] * len(train), minlength=k)[:k]
            effective = drawn.tolist()
        counts[t.name] = {
            "before": per_split,
            "after": {
                "train": effective,
                "val": per_split["val"],
                "test": _class_counts(test.targets[t.name][test_sets[t.name]["balanced"]], k),
            },
        }
    return PreparedData(split, tasks, train, val, test, test_sets, weights, draw, counts, stats)

"""The six learning tasks, one frozen dataclass each, and what evaluation measures for each kind of task.

Training, evaluation, plots and the report loop over these tables instead of restating them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from nuclass.errors import ConfigError
from nuclass.labels.enums import flavour_index, mode_index

__all__ = [
    "Task",
    "TASKS",
    "get_task",
    "parse_tasks",
    "task_spec",
    "ALL_TASKS",
    "KindMetrics",
    "KIND_METRICS",
    "METRIC_WORDS",
]


@dataclass(frozen=True)
class KindMetrics:
    """The metrics of one kind of task (classification or regression), each list in display order.

    summary: every overall figure of a test set (the report's table); headline: the few shown first
    (`nuclass evaluate`'s table, the comparison of runs); grouped: per truth bin; per_category: per truth
    category; dependence: tested for a dependence on each truth variable, the first also answering the
    seeds' questions; compared: the figures with errors that studies compare (classification only).
    """

    summary: tuple[str, ...]
    headline: tuple[str, ...]
    grouped: tuple[str, ...]
    per_category: tuple[str, ...]
    dependence: tuple[str, ...]
    compared: tuple[str, ...] = ()


KIND_METRICS = {
    "classification": KindMetrics(
        summary=("n_events", "accuracy", "accuracy_at_best_cut", "majority_class_accuracy",
                 "balanced_accuracy", "precision", "recall", "f1", "cohen_kappa", "roc_auc", "loss"),
        headline=("accuracy", "accuracy_at_best_cut", "balanced_accuracy", "roc_auc"),
        grouped=("accuracy", "loss"),
        per_category=("accuracy",),
        dependence=("accuracy",),
        compared=("accuracy", "balanced_accuracy", "roc_auc", "loss"),
    ),
    "regression": KindMetrics(
        summary=("n_events", "n_relative", "mae", "mse", "bias_abs", "bias", "resolution",
                 "resolution_unbiased"),
        headline=("resolution", "resolution_unbiased", "bias", "mae"),
        grouped=("bias", "resolution", "resolution_unbiased"),
        per_category=("bias", "resolution"),
        dependence=("resolution", "bias"),
    ),
}
# The compared figures in words (sentences, axis labels).
METRIC_WORDS = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
    "roc_auc": "ROC AUC",
    "loss": "loss",
}


Meta = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Task:
    """One learning task: which events it uses, its target, and how network outputs map back to physics.

    kind is "binary" (one logit, target 0/1), "multiclass" (one logit per class) or "regression"
    (one output in a transformed space: `to_network` / `from_network` map physical values to it and back;
    `log_target`: the network learns ln of the value). quantity: how displays name a regression's value
    (axis labels, titles, tables), with a short `quantity_note` beside it; note: what a reader must know.
    """

    name: str
    kind: str
    description: str
    class_names: tuple[str, ...]
    selects: Callable[[Meta], np.ndarray]
    target: Callable[[Meta], np.ndarray]
    unit: str = ""
    log_target: bool = False
    quantity: str = ""
    quantity_note: str = ""
    note: str = ""

    def to_network(self, values: np.ndarray) -> np.ndarray:
        """Physical values -> the network's regression space (ln for `log_target`), float32."""
        values = np.asarray(values, dtype=np.float32)
        return np.log(values) if self.log_target else values

    def from_network(self, values: np.ndarray) -> np.ndarray:
        """The network's regression space -> physical values, float32."""
        values = np.asarray(values, dtype=np.float32)
        return np.exp(values) if self.log_target else values

    @property
    def n_outputs(self) -> int:
        return len(self.class_names) if self.kind == "multiclass" else 1

    @property
    def is_classification(self) -> bool:
        return self.kind != "regression"

    @property
    def metrics(self) -> KindMetrics:
        """What evaluation measures for this kind of task."""
        return KIND_METRICS["classification" if self.is_classification else "regression"]

    def squeeze_scores(self, score: np.ndarray) -> np.ndarray:
        """Scores as predictions hold them -> class-1 probability (N,) for binary tasks, class probabilities
        (N, K) for multi-class, regressed value (N,); ConfigError for any other shape."""
        score = np.asarray(score, dtype=np.float64)
        if self.kind == "multiclass":
            if score.ndim != 2 or score.shape[1] != len(self.class_names):
                raise ConfigError(
                    f"task {self.name}: expected scores (N, {len(self.class_names)}), got shape {score.shape}"
                )
            return score
        if score.ndim == 2 and score.shape[1] == 1:
            score = score[:, 0]
        if score.ndim != 1:
            raise ConfigError(f"task {self.name}: expected scores (N,) or (N, 1), got shape {score.shape}")
        return score

    def predicted_class(self, score: np.ndarray) -> np.ndarray:
        """Predicted class (N,) int64: probability ≥ 0.5 (binary) or the most probable class (multi-class)."""
        p = self.squeeze_scores(score)
        if self.kind == "binary":
            return (p >= 0.5).astype(np.int64)
        if self.kind == "multiclass":
            return np.argmax(p, axis=1).astype(np.int64)
        raise ConfigError(f"task {self.name} is a regression; it has no predicted class")

    def labels(self, meta: Meta) -> tuple[np.ndarray, np.ndarray]:
        """(mask of events used, target of those events): int64 classes, or float32 physical values."""
        mask = np.asarray(self.selects(meta), dtype=bool)
        sub = {k: np.asarray(v)[mask] for k, v in meta.items()}
        target = self.target(sub)
        dtype = np.float32 if self.kind == "regression" else np.int64
        return mask, np.asarray(target, dtype=dtype)


def _all(meta: Meta) -> np.ndarray:
    return np.ones(len(meta["interaction"]), dtype=bool)


def _positive_energy(meta: Meta) -> np.ndarray:
    return np.asarray(meta["nuenergy"]) > 0


_MODE_NAMES = ("QE", "RES", "DIS", "other CC", "NC")

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task(
            "numu-cc",
            "binary",
            "νμ CC (interaction 0–3) against everything else",
            ("not νμ CC", "νμ CC"),
            _all,
            lambda m: np.isin(m["interaction"], (0, 1, 2, 3)),
        ),
        Task(
            "nue-cc",
            "binary",
            "νe CC (interaction 4–7) against everything else",
            ("not νe CC", "νe CC"),
            _all,
            lambda m: np.isin(m["interaction"], (4, 5, 6, 7)),
        ),
        Task(
            "flavour",
            "multiclass",
            "νμ CC / νe CC / NC & other (seed 000's grouping)",
            ("νμ CC", "νe CC", "NC & other"),
            _all,
            lambda m: flavour_index(m["interaction"]),
        ),
        Task(
            "mode",
            "multiclass",
            "QE / RES / DIS / other CC / NC (cosmic and other codes left out)",
            _MODE_NAMES,
            lambda m: mode_index(m["interaction"]) >= 0,
            lambda m: mode_index(m["interaction"]),
        ),
        Task(
            "energy",
            "regression",
            "neutrino energy (GeV), learned as ln E",
            ("nuenergy",),
            _positive_energy,
            lambda m: m["nuenergy"],
            unit="GeV",
            log_target=True,
            quantity="E_ν",
        ),
        Task(
            "y",
            "regression",
            "E_ℓ/E_ν = lepenergy / nuenergy (the seeds' 'y'; the inelasticity is 1 − E_ℓ/E_ν)",
            ("y",),
            _positive_energy,
            lambda m: (
                np.asarray(m["lepenergy"], dtype=np.float64) / np.asarray(m["nuenergy"], dtype=np.float64)
            ),
            quantity="E_ℓ/E_ν",
            quantity_note="the inelasticity is 1 − E_ℓ/E_ν",
            note="the seeds' y is E_ℓ/E_ν, the lepton's share of the energy; the inelasticity is "
            "1 − E_ℓ/E_ν. For NC events E_ℓ (lepenergy) is the outgoing neutrino's energy.",
        ),
    )
}


ALL_TASKS = "all"  # the task spec naming every task


def parse_tasks(spec: str) -> tuple[str, ...]:
    """Task names of a task spec: one task, "all", or a comma list ("numu-cc,energy"), in TASKS order;
    an unknown or repeated name raises ConfigError listing the valid ones."""
    names = [part.strip() for part in str(spec).split(",") if part.strip()]
    if names == [ALL_TASKS]:
        return tuple(TASKS)
    for name in names:
        if name not in TASKS:
            raise ConfigError(f"unknown task '{name}'; give one of {', '.join(TASKS)}, '{ALL_TASKS}', or a "
                              "comma list of them")
    if not names or len(set(names)) != len(names):
        raise ConfigError(f"task spec '{spec}': give one task, '{ALL_TASKS}' or a comma list of distinct "
                          f"tasks from: {', '.join(TASKS)}")
    return tuple(name for name in TASKS if name in names)


def task_spec(names: tuple[str, ...] | list[str]) -> str:
    """The canonical spec of task names: the name of one task, "all" for every task, else a comma list in
    TASKS order."""
    ordered = parse_tasks(",".join(names))
    if len(ordered) == 1:
        return ordered[0]
    return ALL_TASKS if ordered == tuple(TASKS) else ",".join(ordered)


def get_task(name: str) -> Task:
    """The task called `name`; an unknown name raises ConfigError listing the valid ones."""
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task '{name}'; valid tasks: {', '.join(TASKS)}") from None

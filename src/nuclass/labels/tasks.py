"""The six learning tasks, one frozen dataclass each, and what evaluation measures for each kind of task.

Training, evaluation, plots and the report loop over these tables instead of restating them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from nuclass.errors import ConfigError
from nuclass.labels.enums import flavour_index, mode_index

__all__ = ["Task", "TASKS", "get_task", "KindMetrics", "KIND_METRICS", "METRIC_WORDS"]


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
        summary=("n_events", "accuracy", "balanced_accuracy", "precision", "recall", "f1", "cohen_kappa",
                 "roc_auc", "loss"),
        headline=("accuracy", "balanced_accuracy", "roc_auc"),
        grouped=("accuracy", "loss"),
        per_category=("accuracy",),
        dependence=("accuracy",),
        compared=("accuracy", "balanced_accuracy", "roc_auc", "loss"),
    ),
    "regression": KindMetrics(
        summary=("n_events", "n_relative", "mse", "mae", "bias", "resolution"),
        headline=("resolution", "bias", "mae"),
        grouped=("bias", "resolution"),
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
    (one output in a transformed space: `to_network` / `from_network` map physical values to it and back).
    """

    name: str
    kind: str
    description: str
    class_names: tuple[str, ...]
    selects: Callable[[Meta], np.ndarray]
    target: Callable[[Meta], np.ndarray]
    unit: str = ""
    to_network: Callable[[np.ndarray], np.ndarray] = staticmethod(lambda v: v)
    from_network: Callable[[np.ndarray], np.ndarray] = staticmethod(lambda v: v)

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


def _log(v: np.ndarray) -> np.ndarray:
    return np.log(np.asarray(v, dtype=np.float32))


def _exp(v: np.ndarray) -> np.ndarray:
    return np.exp(np.asarray(v, dtype=np.float32))


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
            to_network=_log,
            from_network=_exp,
        ),
        Task(
            "y",
            "regression",
            "y = lepenergy / nuenergy (the seeds' definition; inelasticity is 1 − y)",
            ("y",),
            _positive_energy,
            lambda m: (
                np.asarray(m["lepenergy"], dtype=np.float64) / np.asarray(m["nuenergy"], dtype=np.float64)
            ),
        ),
    )
}


def get_task(name: str) -> Task:
    """The task called `name`; an unknown name raises ConfigError listing the valid ones."""
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task '{name}'; valid tasks: {', '.join(TASKS)}") from None

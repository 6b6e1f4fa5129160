"""Class balance for training: undersampling (as the seeds did), class weights, or a weighted sampler."""

from __future__ import annotations

import numpy as np

__all__ = ["BALANCE_METHODS", "undersample_to_balance", "class_weights", "sampling_weights"]

BALANCE_METHODS = ("undersample", "weights", "sampler", "none")


def undersample_to_balance(targets: np.ndarray, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of a subset with every present class cut to the rarest present class's count.

    targets: (N,) int class labels. Classes absent from `targets` are ignored (they cannot be balanced).
    """
    counts = np.bincount(targets, minlength=n_classes)
    present = np.flatnonzero(counts)
    if len(present) == 0:
        return np.empty(0, dtype=np.int64)
    keep = counts[present].min()
    chosen = [rng.choice(np.flatnonzero(targets == c), size=keep, replace=False) for c in present]
    return np.sort(np.concatenate(chosen))


def class_weights(targets: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes,) float32 loss weights N / (K · N_c) over the K present classes (0 for absent ones),
    so every class carries the same total weight."""
    counts = np.bincount(targets, minlength=n_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights.astype(np.float32)


def sampling_weights(targets: np.ndarray, n_classes: int) -> np.ndarray:
    """(N,) probabilities of drawing each event so that every present class is drawn equally often."""
    per_event = class_weights(targets, n_classes)[targets].astype(np.float64)
    return per_event / per_event.sum()

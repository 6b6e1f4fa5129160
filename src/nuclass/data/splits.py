"""How a run's files split into train / validation / test: by file, seeded."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nuclass.errors import ConfigError
from nuclass.io.paths import natural_key

__all__ = ["split_files"]


def split_files(
    files: Sequence[Path], seed: int, val_fraction: float = 0.1, test_fraction: float = 0.1
) -> dict[str, list[Path]]:
    """Split files (never events) into {"train", "val", "test"} lists, seeded.

    Rule: test gets round(n · test_fraction) files and val round(n · val_fraction), each at least one;
    train gets the rest, at least one. So 3 files give 1/1/1, 10 give 8/1/1, 200 give 160/20/20.
    Fewer than 3 files cannot be split by file and raise ConfigError.
    """
    n = len(files)
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ConfigError(
            f"val and test fractions must be in (0, 1) and sum below 1, got {val_fraction}, {test_fraction}"
        )
    if n < 3:
        raise ConfigError(f"splits are by file: need at least 3 files (train, val, test), got {n}")
    n_test = max(1, math.floor(n * test_fraction + 0.5))
    n_val = max(1, math.floor(n * val_fraction + 0.5))
    if n - n_test - n_val < 1:
        n_test, n_val = 1, 1
    order = np.random.default_rng(seed).permutation(n)
    pick = lambda idx: sorted((files[i] for i in idx), key=natural_key)  # noqa: E731
    return {
        "train": pick(order[n_test + n_val :]),
        "val": pick(order[n_test : n_test + n_val]),
        "test": pick(order[:n_test]),
    }

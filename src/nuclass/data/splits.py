"""Which files a run uses and how they split into train / validation / test (by file, seeded)."""

from __future__ import annotations

import glob
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from nuclass.errors import ConfigError

__all__ = ["expand_paths", "split_files"]


def _natural_key(path: Path) -> tuple:
    """neutrino2.h5 before neutrino10.h5."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path)))


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files named by `paths`: files as given, directories as their *.h5 / *.hdf5 files, glob patterns
    expanded; sorted naturally, duplicates removed. A path that names nothing raises ConfigError."""
    found: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            inside = [q for q in path.iterdir() if q.suffix in (".h5", ".hdf5") and q.is_file()]
            if not inside:
                raise ConfigError(f"{path}: directory holds no .h5 files")
            found += inside
        elif path.is_file():
            found.append(path)
        elif glob.has_magic(str(p)) and (matches := glob.glob(str(p))):
            found += [Path(m) for m in matches]
        else:
            raise ConfigError(f"{path}: no such file or directory")
    unique = {q.resolve(): q for q in found}
    return sorted(unique.values(), key=_natural_key)


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
    pick = lambda idx: sorted((files[i] for i in idx), key=_natural_key)  # noqa: E731
    return {
        "train": pick(order[n_test + n_val :]),
        "val": pick(order[n_test : n_test + n_val]),
        "test": pick(order[:n_test]),
    }

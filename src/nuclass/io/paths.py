"""Which files a list of paths names: files as given, directories as their .h5 / .hdf5 files, glob patterns
expanded — one rule for every command that reads data."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from pathlib import Path

from nuclass.errors import ConfigError

__all__ = ["expand_paths", "natural_key"]

SUFFIXES = (".h5", ".hdf5")


def natural_key(path: Path) -> tuple:
    """Sort key putting neutrino2.h5 before neutrino10.h5."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path)))


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files named by `paths`: files as given, directories as their *.h5 / *.hdf5 files, glob patterns
    expanded; sorted naturally, duplicates removed. A path that names nothing raises ConfigError."""
    found: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            inside = [q for q in path.iterdir() if q.suffix in SUFFIXES and q.is_file()]
            if not inside:
                raise ConfigError(f"{path}: directory holds no .h5 files (no *.h5 files, nor *.hdf5)")
            found += inside
        elif path.is_file():
            found.append(path)
        elif glob.has_magic(str(p)) and (matches := glob.glob(str(p))):
            found += [Path(m) for m in matches]
        else:
            raise ConfigError(f"{path}: no such file or directory")
    unique = {q.resolve(): q for q in found}
    return sorted(unique.values(), key=natural_key)

"""Where data came from: each folder holding the files, and the simulation manifest found there (seed,
files, events, nuclass version, config), so that `inspect` shows it and a run records it."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nuclass.sim import read_manifest

__all__ = ["data_sources"]


def data_sources(files: Iterable[str | os.PathLike]) -> list[dict[str, Any]]:
    """One entry per folder holding some of `files`, in order of first appearance: {"folder", "files" (how
    many of them), "simulation" (its simulation.json, or None for folders without one, e.g. fetched real
    files)}."""
    counts: dict[Path, int] = {}
    for f in files:
        folder = Path(f).parent
        counts[folder] = counts.get(folder, 0) + 1
    return [{"folder": str(d), "files": n, "simulation": read_manifest(d)} for d, n in counts.items()]

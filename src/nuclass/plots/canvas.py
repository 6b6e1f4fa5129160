"""Figures drawn without pyplot (matplotlib imported on first use, no global plotting state) and saved as
PNG atomically: the one place plots make and save a figure."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nuclass.atomic import atomic_path

__all__ = ["DPI", "figure", "save_figure"]

DPI = 110


def figure(width: float, height: float, dpi: int = DPI, **kwargs: Any):
    """A matplotlib Figure of `width` × `height` inches on the Agg canvas, constrained layout."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=dpi, layout="constrained", **kwargs)


def save_figure(fig, out: str | os.PathLike, **savefig: Any) -> Path:
    """Write `fig` as PNG to `out` atomically (temporary name in the same directory, then rename)."""
    out = Path(out)
    with atomic_path(out) as tmp:  # missing folders made
        fig.savefig(tmp, format="png", **savefig)
    return out

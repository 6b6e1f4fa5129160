"""Pixel transforms applied on the fly: uint8 charge (B, 2, 100, 80) -> float32 network input."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["PIXEL_TRANSFORMS", "normalise_maps"]

_LOG_256 = math.log(256.0)


def _div255(maps: np.ndarray) -> np.ndarray:
    """Charge / 255 in [0, 1], as both seed notebooks did."""
    return maps.astype(np.float32) * np.float32(1 / 255)


def _log1p(maps: np.ndarray) -> np.ndarray:
    """ln(1 + charge) / ln 256 in [0, 1]: compresses Bragg peaks and shower cores, faint hits stay visible."""
    table = (np.log1p(np.arange(256, dtype=np.float64)) / _LOG_256).astype(np.float32)
    return table[maps]


PIXEL_TRANSFORMS = {"div255": _div255, "log1p": _log1p}


def normalise_maps(maps: np.ndarray, transform: str) -> np.ndarray:
    """maps (..., 2, 100, 80) uint8 -> float32 of the same shape, by the named transform."""
    from nuclass.errors import ConfigError

    if transform not in PIXEL_TRANSFORMS:
        raise ConfigError(f"unknown pixel transform '{transform}'; valid: {', '.join(PIXEL_TRANSFORMS)}")
    return PIXEL_TRANSFORMS[transform](maps)

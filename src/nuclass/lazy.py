"""Package attributes imported on first use, so that importing a package stays light (no torch, no
Lightning) until a heavy attribute is asked for."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` that imports each attribute of `homes` ({name: module}) when
    it is first used."""

    def __getattr__(name: str) -> Any:
        if name in homes:
            return getattr(importlib.import_module(homes[name]), name)
        raise AttributeError(f"module '{package}' has no attribute '{name}'")

    return __getattr__

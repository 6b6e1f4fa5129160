"""The exceptions nuclass raises on bad input; the CLI prints them as one line and exits 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

__all__ = ["NuclassError", "FormatError", "FetchError", "ConfigError", "Interrupted"]


class NuclassError(Exception):
    """Base of every error caused by the user's input (files, options, expressions)."""


class FormatError(NuclassError):
    """A file is not a valid NOvA teaching file: names the file, the field, what was expected and found."""

    def __init__(self, path: str | Path, field: str | None, expected: str, got: str = ""):
        self.path, self.field, self.expected, self.got = str(path), field, expected, got
        where = f"{self.path}: field '{field}'" if field else self.path
        message = f"{where}: expected {expected}"
        if got:
            message += f", got {got}"
        super().__init__(message)

    @classmethod
    def missing(cls, path: str | Path, field: str, present: Iterable[str]) -> FormatError:
        """A missing field, listing the fields the file does have, closest first."""
        present = list(present)
        ordered = difflib.get_close_matches(field, present, n=len(present), cutoff=0.0)
        return cls(path, field, "this field", "missing (present: " + ", ".join(ordered or ["none"]) + ")")


class FetchError(NuclassError):
    """A download failed: names the file, the URL and why."""


class ConfigError(NuclassError):
    """A bad option, configuration key or selection expression."""


class Interrupted(Exception):
    """Work stopped by Ctrl-C after cleaning up; the message says what is complete. The CLI exits 130."""

"""The exceptions nuclass raises on bad input; the CLI prints them as one line and exits 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = [
    "NuclassError",
    "FormatError",
    "FetchError",
    "ConfigError",
    "ManyErrors",
    "Interrupted",
    "closest",
    "similarity",
    "CLOSE",
]


CLOSE = 0.6  # similarity from which a name is offered as "did you mean" (difflib's usual cutoff)


def similarity(word: str, choice: str) -> float:
    """0 (nothing in common) … 1 (equal, ignoring case)."""
    return difflib.SequenceMatcher(None, word.lower(), choice.lower()).ratio()


def closest(word: str, choices: Iterable[str], n: int | None = None) -> list[str]:
    """The `n` (default: all) choices most like `word`, closest first (ties in alphabetical order, so the
    answer never depends on the order `choices` come in)."""
    ratio = {c: similarity(word, c) for c in choices}
    return sorted(ratio, key=lambda c: (-ratio[c], c))[:n]


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
        ordered = closest(field, present)
        return cls(path, field, "this field", "missing (present: " + (", ".join(ordered) or "none") + ")")


class FetchError(NuclassError):
    """A download failed: names the file, the URL and why."""


class ConfigError(NuclassError):
    """A bad option, configuration key or selection expression."""


class ManyErrors(NuclassError):
    """Several independent bad inputs found in one go (say three bad files given to `inspect`): one line
    each, so that the user fixes them all at once."""

    def __init__(self, errors: Sequence[NuclassError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class Interrupted(Exception):
    """Work stopped by Ctrl-C after cleaning up; the message says what is complete. The CLI exits 130."""

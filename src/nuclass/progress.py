"""How library code reports the progress of long work: to a `Progress` object its caller passes in.

Library functions never draw anything themselves; the command line passes a `console.RichProgress`.
The base class shows nothing, so `progress=None` and `Progress()` behave alike.
"""

from __future__ import annotations

__all__ = ["Progress", "NO_PROGRESS"]


class Progress:
    """Receives one job at a time (a bar): started, updated, finished, and lines worth keeping."""

    def start(self, description: str, total: float | None = None) -> None:
        """A new job of `total` steps (None: not known yet)."""

    def update(
        self,
        *,
        advance: float = 0,
        completed: float | None = None,
        total: float | None = None,
        description: str | None = None,
    ) -> None:
        """The current job moved on by `advance` steps (or to `completed`); its total or description
        changed."""

    def finish(self) -> None:
        """The current job is done."""

    def note(self, text: str) -> None:
        """A line for the reader (e.g. a finished training's figures), kept above the bars."""


NO_PROGRESS = Progress()

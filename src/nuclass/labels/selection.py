"""Selections on truth: expressions (labels.expression) evaluated on truth columns into boolean masks, and
a run's selection — every event (`where`), and for binary tasks the signal and the background events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from nuclass.errors import ConfigError
from nuclass.labels.expression import (
    And,
    Compare,
    Field,
    Flag,
    Member,
    Node,
    Not,
    Operand,
    fields_of,
    parse,
)
from nuclass.labels.truth import DERIVED_TRUTH

__all__ = ["parse", "evaluate", "fields_of", "Selection", "EventSelection", "describe_selection"]

_OPS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


def _column(name: str, truth: Mapping[str, np.ndarray]) -> np.ndarray:
    if name in DERIVED_TRUTH:
        derived = DERIVED_TRUTH[name]
        return derived.compute({field: _column(field, truth) for field in derived.needs})
    if name not in truth:
        raise ConfigError(
            f"selection needs truth field '{name}', which the data lacks (it has: {', '.join(truth)})"
        )
    return np.asarray(truth[name]).ravel()


def _length(truth: Mapping[str, np.ndarray]) -> int:
    lengths = {len(np.asarray(v).ravel()) for v in truth.values()}
    if len(lengths) != 1:
        raise ConfigError(f"truth columns of different lengths: {sorted(lengths)}")
    return lengths.pop()


def _value(operand: Operand, truth: Mapping[str, np.ndarray]) -> np.ndarray | float:
    return _column(operand.name, truth) if isinstance(operand, Field) else operand.value


def _eval(node: Node, truth: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    if isinstance(node, Compare):
        mask = np.ones(n, dtype=bool)
        values = [_value(o, truth) for o in node.operands]
        for op, a, b in zip(node.ops, values[:-1], values[1:], strict=True):
            with np.errstate(invalid="ignore"):
                mask &= np.broadcast_to(_OPS[op](a, b), (n,))
        return mask
    if isinstance(node, Member):
        inside = np.isin(_column(node.field.name, truth), [v.value for v in node.values])
        return ~inside if node.negate else inside
    if isinstance(node, Flag):
        return np.asarray(_column(node.field.name, truth), dtype=bool)
    if isinstance(node, Not):
        return ~_eval(node.item, truth, n)
    if isinstance(node, And):
        return np.logical_and.reduce([_eval(i, truth, n) for i in node.items])
    return np.logical_or.reduce([_eval(i, truth, n) for i in node.items])


def evaluate(expression: Node | str, truth: Mapping[str, np.ndarray]) -> np.ndarray:
    """Boolean mask (N,) of the events of `truth` (columns of N values) that satisfy `expression`."""
    node = parse(expression) if isinstance(expression, str) else expression
    return _eval(node, truth, _length(truth))


@dataclass(frozen=True)
class Selection:
    """One parsed expression: `text` as written, `tree`, and `str()` its canonical form."""

    text: str
    tree: Node

    @classmethod
    def parse(cls, text: str) -> Selection:
        return cls(text, parse(text))

    def mask(self, truth: Mapping[str, np.ndarray]) -> np.ndarray:
        """Boolean mask (N,) of the events that pass."""
        return evaluate(self.tree, truth)

    @property
    def fields(self) -> set[str]:
        return fields_of(self.tree)

    def __str__(self) -> str:
        return str(self.tree)


@dataclass(frozen=True)
class EventSelection:
    """A run's truth selection: `where` restricts every event; for binary tasks `signal` restricts the
    events with target 1 and `background` those with target 0 (the task's labels still decide the target).
    None means no restriction."""

    where: str | None = None
    signal: str | None = None
    background: str | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> EventSelection:
        """The selection set by training settings (a config.yaml mapping or a study variant's keys)."""
        return cls(*(settings.get(k) for k in ("where", "signal", "background")))

    def __post_init__(self) -> None:
        for name in ("where", "signal", "background"):
            text = getattr(self, name)
            if text is not None:
                parse(text)  # fail early, with the expression named

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.where, self.signal, self.background))

    def check_task(self, task_name: str, kind: str) -> None:
        """--signal / --background only make sense for binary tasks: a ConfigError otherwise."""
        if kind != "binary" and (self.signal is not None or self.background is not None):
            raise ConfigError(
                f"--signal / --background need a binary task (numu-cc, nue-cc); task '{task_name}' is "
                f"{kind}: "
                "use --where to restrict its events"
            )

    def mask(self, truth: Mapping[str, np.ndarray], target: np.ndarray | None = None) -> np.ndarray:
        """Events kept (N,): `where`, and `signal` for target 1 / `background` for target 0 (binary)."""
        n = _length(truth)
        keep = np.ones(n, dtype=bool) if self.where is None else evaluate(self.where, truth)
        for text, value in ((self.signal, 1), (self.background, 0)):
            if text is not None:
                if target is None:
                    raise ConfigError("a signal or background selection needs the events' targets")
                is_class = np.asarray(target).ravel() == value
                keep &= ~is_class | evaluate(text, truth)
        return keep

    def to_dict(self) -> dict[str, str]:
        """The expressions that are set, canonical form: {"where": "nuenergy > 3.5", …}."""
        return {
            name: str(parse(text))
            for name in ("where", "signal", "background")
            if (text := getattr(self, name)) is not None
        }

    def fields(self) -> set[str]:
        """Truth columns the selection reads."""
        out: set[str] = set()
        for text in (self.where, self.signal, self.background):
            if text is not None:
                out |= fields_of(parse(text))
        return out


def describe_selection(settings: Mapping[str, Any]) -> dict[str, str]:
    """What a run's truth selection is, for metrics.json and study.json: the expressions set, canonical,
    and `equalize_signal` if set ({} for none)."""
    out = EventSelection.from_settings(settings).to_dict()
    if settings.get("equalize_signal"):
        out["equalize_signal"] = str(settings["equalize_signal"])
    return out

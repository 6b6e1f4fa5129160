"""The groupings of events by their truth that evaluation, plots and the report show performance in: one
table, with each grouping's display names (add a row and every consumer shows it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from nuclass.labels.enums import FinalState, Interaction, mode_index
from nuclass.labels.tasks import TASKS
from nuclass.labels.truth import LOCATIONS, VERTEX_TRUTH, vertex_location

__all__ = ["Grouping", "GROUPINGS", "MODE_GROUPS", "grouping"]

# The mode task's classes, and one group for the codes it leaves out.
MODE_GROUPS = (*TASKS["mode"].class_names, "cosmic & other")


def _mode_group(meta: Mapping[str, np.ndarray]) -> np.ndarray:
    modes = mode_index(meta["interaction"])
    return np.where(modes < 0, len(MODE_GROUPS) - 1, modes)


@dataclass(frozen=True)
class Grouping:
    """One way to group events by truth: quantile bins of a truth field (`categories` None), or categories
    (name, code) with `codes` giving each event's code (default: the field's value).

    name: its key in metrics.json's "by"; title: its words in sentences; axis_label: on plots; unit: of
    bin edges; field: the truth field it reads (default: its name), one of labels.truth.KEPT_TRUTH so
    that every test event's prediction keeps it; needs: every field it reads (default: field) — a
    grouping is shown only for events whose truth has them all (files without a vertex have no
    location grouping).
    """

    name: str
    title: str
    axis_label: str
    unit: str = ""
    categories: tuple[tuple[str, int], ...] | None = None
    codes: Callable[[Mapping[str, np.ndarray]], np.ndarray] | None = None
    field: str = ""
    needs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.field:
            object.__setattr__(self, "field", self.name)
        if not self.needs:
            object.__setattr__(self, "needs", (self.field,))

    def available(self, meta: Mapping[str, np.ndarray]) -> bool:
        """Whether `meta` holds every field this grouping reads."""
        return all(name in meta for name in self.needs)

    def label(self, group: Mapping[str, object]) -> str:
        """A group's name in tables and sentences: its category, or its bin "lo–hi unit" (plain numbers
        for large values, e.g. "-9880 to -1760 cm", three significant figures otherwise)."""
        if "category" in group:
            return str(group["category"])
        lo, hi = (float(group[k]) for k in ("lo", "hi"))
        number = lambda v: f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"  # noqa: E731
        joined = f"{number(lo)} to {number(hi)}" if lo < 0 or hi < 0 else f"{number(lo)}–{number(hi)}"
        return f"{joined} {self.unit}".strip()

    def category_codes(self, meta: Mapping[str, np.ndarray]) -> np.ndarray:
        """The category code of each event (N,) int64."""
        codes = self.codes(meta) if self.codes is not None else meta[self.field]
        return np.asarray(codes).astype(np.int64)


GROUPINGS: dict[str, Grouping] = {
    g.name: g
    for g in (
        Grouping("nuenergy", "neutrino energy", r"true neutrino energy $E_\nu$ (GeV)", "GeV"),
        Grouping("lepenergy", "lepton energy (NC: the outgoing neutrino's)",
                 r"true lepton energy $E_\ell$ (GeV; NC: the outgoing $\nu$'s energy)", "GeV"),
        Grouping("interaction", "interaction type", "true interaction type",
                 categories=tuple((c.name, c.value) for c in Interaction)),
        Grouping("finalstate", "final state", "true final state",
                 categories=tuple((c.name, c.value) for c in FinalState)),
        Grouping("mode", "interaction mode", "true interaction mode (all flavours)",
                 categories=tuple((name, i) for i, name in enumerate(MODE_GROUPS)), codes=_mode_group,
                 field="interaction"),
        Grouping("location", "vertex location", "true vertex location",
                 categories=tuple((name, i) for i, name in enumerate(LOCATIONS)), codes=vertex_location,
                 field="vtxz", needs=VERTEX_TRUTH),
        Grouping("vtxz", "vertex depth", r"true vertex $z$ (cm, 0 at the first plane)", "cm"),
    )
}


def grouping(name: str) -> Grouping:
    """The grouping called `name`; a regression's true value (its class name) by its quantity; any other
    variable as a plain one that shows the name as it is."""
    if name in GROUPINGS:
        return GROUPINGS[name]
    for task in TASKS.values():
        if task.kind == "regression" and name == task.class_names[0] and task.quantity:
            words = f"true {task.quantity}" + (f" ({task.quantity_note})" if task.quantity_note else "")
            return Grouping(name, f"true {task.quantity}", words + (f" ({task.unit})" if task.unit else ""),
                            task.unit)
    return Grouping(name, name, name)

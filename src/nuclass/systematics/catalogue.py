"""The variations of the simulation that systematics are measured with: a catalogue as data (YAML, built-in
ones in builtin/, one file per group), each variation a named change of the simulator's configuration or
a reweighting of the nominal sample, with its size and the reason for that size."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nuclass.errors import ConfigError
from nuclass.labels.selection import Selection

if TYPE_CHECKING:  # the simulator (numba) is imported where a configuration is built
    from nuclass.sim import SimConfig

__all__ = [
    "BUILTIN_DIR",
    "Reweight",
    "Variation",
    "builtin_groups",
    "load_catalogue",
    "parse_variation",
    "read_variations",
    "select_variations",
    "variation_names",
]

BUILTIN_DIR = Path(__file__).with_name("builtin")
_FILE_KEYS = {"group", "in_total", "variations"}
_VARIATION_KEYS = {"systematic", "label", "scale", "set", "reweight", "size", "reason", "group", "in_total"}


@dataclass(frozen=True)
class Reweight:
    """Events that pass the truth selection `where` count `weight` times."""

    where: Selection
    weight: float


@dataclass(frozen=True)
class Variation:
    """One variation: `scale` multiplies simulator keys of the nominal configuration, `set` gives keys a
    value (`preset` starts from a named preset instead of the nominal configuration), or `reweight` weights
    the nominal sample's events. Variations of the same `systematic` are one source of uncertainty (its
    size is the largest of their shifts); `in_total`: whether it enters the totals."""

    name: str
    systematic: str
    group: str
    label: str
    size: str
    reason: str
    scale: Mapping[str, float] = dataclasses.field(default_factory=dict)
    set: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    reweight: tuple[Reweight, ...] = ()
    in_total: bool = True
    source: str = ""

    @property
    def simulates(self) -> bool:
        """Whether it needs a sample of its own (False: a reweighting of the nominal sample)."""
        return not self.reweight

    def config(self, nominal: SimConfig) -> SimConfig:
        """The varied simulator configuration (ConfigError naming the variation on a bad key or value)."""
        from nuclass.sim import SimConfig

        where = f"{self.source}: variation {self.name}"
        values = dict(self.set)
        base = SimConfig.from_dict({"preset": values.pop("preset")}) if "preset" in values else nominal
        fields = {f.name for f in dataclasses.fields(SimConfig)}
        for key, factor in self.scale.items():
            if key not in fields:
                values[key] = factor  # from_dict names it, with the valid keys
                continue
            value = getattr(base, key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{where}: scale needs a number key; {key} is {value!r}")
            values[key] = value * factor
        try:
            return SimConfig.from_dict({**base.to_dict(), **values}, source=where)
        except ConfigError as exc:
            raise ConfigError(str(exc) if str(exc).startswith(where) else f"{where}: {exc}") from None

    def weights(self, truth: Mapping[str, np.ndarray]) -> np.ndarray:
        """Each event's weight (N,) float64 under the reweighting (ones without one)."""
        n = len(next(iter(truth.values())))
        w = np.ones(n)
        for rule in self.reweight:
            w[rule.where.mask(truth)] *= rule.weight
        return w

    def describe(self) -> dict[str, Any]:
        """Plain data for systematics.json: what is changed, by how much and why."""
        change: dict[str, Any] = {}
        if self.scale:
            change["scale"] = dict(self.scale)
        if self.set:
            change["set"] = dict(self.set)
        if self.reweight:
            change["reweight"] = [{"where": str(r.where), "weight": r.weight} for r in self.reweight]
        return {
            "name": self.name,
            "systematic": self.systematic,
            "group": self.group,
            "label": self.label,
            "size": self.size,
            "reason": self.reason,
            "in_total": self.in_total,
            "change": change,
        }


def _number(where: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise ConfigError(f"{where}: {key} must be a finite number, got {value!r}")
    return float(value)


def _mapping(where: str, key: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: {key} must map simulator keys to values, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def parse_variation(
    name: str, raw: Any, group: str = "user", in_total: bool = True, source: str = "variation"
) -> Variation:
    """One variation from its mapping (the keys of a catalogue file's entry), checked whole: a change of
    the simulation builds a valid configuration, a reweighting's expressions parse."""
    where = f"{source}: variation {name}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping of {', '.join(sorted(_VARIATION_KEYS))}")
    unknown = sorted(set(raw) - _VARIATION_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(_VARIATION_KEYS))}"
        )
    scale = {
        k: _number(where, f"scale {k}", v) for k, v in _mapping(where, "scale", raw.get("scale")).items()
    }
    values = _mapping(where, "set", raw.get("set"))
    rules = raw.get("reweight") or []
    if not isinstance(rules, list) or not all(
        isinstance(r, Mapping) and set(r) == {"where", "weight"} for r in rules
    ):
        raise ConfigError(f"{where}: reweight must be a list of {{where: EXPRESSION, weight: NUMBER}}")
    try:
        reweight = tuple(
            Reweight(Selection.parse(str(r["where"])), _number(where, "weight", r["weight"])) for r in rules
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if any(r.weight < 0 for r in reweight):
        raise ConfigError(f"{where}: reweight weights must be ≥ 0")
    if bool(reweight) == bool(scale or values):
        raise ConfigError(f"{where}: give either a change of the simulation (scale, set) or a reweight")
    variation = Variation(
        name=str(name),
        systematic=str(raw.get("systematic") or name),
        group=str(raw.get("group") or group),
        label=str(raw.get("label") or name),
        size=str(raw.get("size") or ""),
        reason=" ".join(str(raw.get("reason") or "").split()),
        scale=scale,
        set=values,
        reweight=reweight,
        in_total=bool(raw.get("in_total", in_total)),
        source=source,
    )
    if variation.simulates:
        from nuclass.sim import SimConfig

        variation.config(SimConfig())  # every key and value checked now, before any simulation
    return variation


def read_variations(path: str | os.PathLike) -> list[Variation]:
    """The variations of one catalogue YAML file: `group`, `in_total` (defaults of its variations) and
    `variations` (name → change; a variation without a reason shares its systematic's); ConfigError naming
    the file and the key on anything wrong."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if (
        not isinstance(raw, Mapping)
        or not isinstance(raw.get("variations"), Mapping)
        or not raw["variations"]
    ):
        raise ConfigError(f"{path}: expected a mapping with 'variations' (name → change of the simulation)")
    unknown = sorted(set(raw) - _FILE_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(_FILE_KEYS))}"
        )
    group, in_total = str(raw.get("group") or path.stem), bool(raw.get("in_total", True))
    variations = [
        parse_variation(str(k), v, group, in_total, str(path)) for k, v in raw["variations"].items()
    ]
    # a variation without a reason shares the first one given for its systematic in the file
    reasons = {v.systematic: v.reason for v in reversed(variations) if v.reason}
    return [
        v if v.reason else dataclasses.replace(v, reason=reasons.get(v.systematic, "")) for v in variations
    ]


def _slug(systematic: str) -> str:
    """A systematic's name as a command-line name: 'energy scale' → 'energy-scale'."""
    return systematic.lower().replace(" ", "-")


def builtin_groups() -> list[str]:
    """The built-in catalogue's files (one per group): detector, physics, mix, extremes."""
    order = ("detector", "physics", "mix", "extremes")
    stems = [p.stem for p in BUILTIN_DIR.glob("*.yaml")]
    return sorted(stems, key=lambda s: (order.index(s) if s in order else len(order), s))


def load_catalogue() -> list[Variation]:
    """Every built-in variation, group by group (the default of `nuclass systematics`)."""
    return [v for stem in builtin_groups() for v in read_variations(BUILTIN_DIR / f"{stem}.yaml")]


def variation_names() -> list[str]:
    """Names that `select_variations` accepts besides files: variations, systematics and groups."""
    catalogue = load_catalogue()
    return [
        *builtin_groups(),
        *dict.fromkeys(_slug(v.systematic) for v in catalogue),
        *(v.name for v in catalogue),
    ]


def select_variations(names: Sequence[str] | None) -> list[Variation]:
    """The variations named: a built-in variation (energy-scale-up), a systematic (energy-scale: both of
    its variations), a group (detector) or a catalogue YAML file; None or empty: the whole built-in
    catalogue. A name that is none of these raises ConfigError listing the valid ones."""
    catalogue = load_catalogue()
    if not names:
        return catalogue
    chosen: dict[str, Variation] = {}
    for name in names:
        path = Path(name)
        if path.suffix in (".yaml", ".yml"):
            if not path.is_file():
                raise ConfigError(f"{path}: no such variations file")
            found = read_variations(path)
        elif name in builtin_groups():
            found = read_variations(BUILTIN_DIR / f"{name}.yaml")
        else:
            found = [v for v in catalogue if name in (v.name, _slug(v.systematic))]
        if not found:
            raise ConfigError(
                f"unknown variation '{name}': give a built-in name ({', '.join(variation_names())}) "
                "or a variations .yaml file"
            )
        for v in found:
            if v.name in chosen and chosen[v.name] != v:
                raise ConfigError(
                    f"variation '{v.name}' is defined twice ({chosen[v.name].source}, {v.source})"
                )
            chosen[v.name] = v
    return list(chosen.values())

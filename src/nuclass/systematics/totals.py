"""From the variations' shifts to a systematic uncertainty per metric: one size per systematic (the largest
|shift| of its variations), added in quadrature per group and in all, the largest contributions named, and
the result as one sentence, value ± stat ± syst."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from nuclass.stats import format_value_errors
from nuclass.systematics.paired import METRIC_WORDS

__all__ = ["COMBINATION_RULE", "N_LARGEST", "combine", "sentence"]

N_LARGEST = 3  # contributions named in a metric's sentence
COMBINATION_RULE = (
    "each systematic counts with the largest |shift| of its variations (shifts as measured, significant or "
    "not); systematics add in quadrature, per group and in all; variations marked in_total: false (the "
    "extremes) are shown but never added"
)


def _contributions(metric: str, variations: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per systematic: its group, size (max |shift|), the variation giving it, and every shift."""
    by_source: dict[str, dict[str, Any]] = {}
    for v in variations:
        result = v["metrics"].get(metric) or {}
        if result.get("shift") is None:
            continue
        entry = by_source.setdefault(
            v["systematic"],
            {
                "systematic": v["systematic"],
                "group": v["group"],
                "in_total": v["in_total"],
                "size": -1.0,
                "shifts": {},
            },
        )
        entry["shifts"][v["name"]] = result["shift"]
        if abs(result["shift"]) > entry["size"]:
            entry.update(
                size=abs(result["shift"]),
                variation=v["name"],
                size_err=result.get("shift_err"),
                significant=bool(result.get("significant")),
            )
    return sorted(by_source.values(), key=lambda e: -e["size"])


def _quadrature(values: Sequence[float | None]) -> float:
    return math.sqrt(sum(v * v for v in values if v is not None))


def combine(
    metrics: Sequence[str], nominal: Mapping[str, Mapping[str, Any]], variations: Sequence[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per metric: the nominal value and its statistical error, the systematic total, its groups, the
    contributions (largest first), the statistical noise of the total (the chosen shifts' paired errors
    in quadrature: how much of it could be fluctuation) and the extremes apart."""
    out = {}
    for metric in metrics:
        contributions = _contributions(metric, variations)
        counted = [c for c in contributions if c["in_total"]]
        groups = list(dict.fromkeys(v["group"] for v in variations if v["in_total"]))  # catalogue order
        out[metric] = {
            "value": nominal[metric]["value"],
            "stat": nominal[metric]["stat"],
            "syst": _quadrature([c["size"] for c in counted]),
            "syst_noise": _quadrature([c.get("size_err") for c in counted]),
            "groups": {
                g: _quadrature([c["size"] for c in counted if c["group"] == g])
                for g in groups
                if any(c["group"] == g for c in counted)
            },
            "contributions": counted,
            "extremes": [c for c in contributions if not c["in_total"]],
        }
    return out


def sentence(subject: str, metric: str, total: Mapping[str, Any], cut: float | None = None) -> str:
    """'cvn on numu-cc: efficiency at the efficiency × purity cut (score ≥ 0.55) = 0.912 ± 0.003 (stat)
    ± 0.015 (syst); largest: energy scale 0.010, pile-up 0.007, light yield 0.004.'"""
    words = METRIC_WORDS.get(metric, metric)
    if cut is not None and metric in ("efficiency", "purity"):
        words += f" (score ≥ {cut:.2f})"
    if total.get("value") is None:
        return f"{subject}: {words} undefined on the nominal sample."
    text = f"{subject}: {words} = " + format_value_errors(
        total["value"], {"stat": total.get("stat"), "syst": total.get("syst")}
    )
    largest = total["contributions"][:N_LARGEST]
    if largest:
        text += "; largest: " + ", ".join(f"{c['systematic']} {c['size']:.2g}" for c in largest)
    extremes = total.get("extremes") or []
    if extremes:
        text += "; extremes, not in the total: " + ", ".join(
            f"{c['systematic']} {c['size']:.2g}" for c in extremes
        )
    return text + "."

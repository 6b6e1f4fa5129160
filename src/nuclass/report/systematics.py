"""A systematics run's section of the report: each headline metric as value ± stat ± syst, the table of
every variation's shifts with their paired errors and the totals, a tornado plot per metric, and why each
variation has its size (from systematics.json)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nuclass.report.html import esc, figure_html, fmt, table
from nuclass.stats import format_value

__all__ = ["systematics_section"]


def _shift_cell(result: Mapping[str, Any] | None) -> str | tuple[str, str]:
    if not result or result.get("shift") is None:
        return "–"
    text = esc(
        format_value(result["shift"], result.get("shift_err"))
        if result.get("shift_err")
        else f"{result['shift']:+.2g}"
    )
    if result.get("sigma") is not None:
        text += f" ({result['sigma']:.1f}σ)"
    return (f"<b>{text}</b>", "best") if result.get("significant") else text


def _pairing(pairing: Mapping[str, Any]) -> str:
    if not pairing.get("paired"):
        return f"unpaired ({fmt(pairing.get('only_nominal'))} / {fmt(pairing.get('only_varied'))} events)"
    if pairing.get("only_nominal") == pairing.get("only_varied") == 0 and "reweighted" in pairing.get(
        "how", ""
    ):
        return "reweighted nominal events"
    return (
        f"{fmt(pairing.get('shared'))} shared; {fmt(pairing.get('only_nominal'))} only nominal, "
        f"{fmt(pairing.get('only_varied'))} only varied"
    )


def systematics_section(result: Mapping[str, Any], directory: str | os.PathLike | None = None) -> str:
    """The report section of one systematics.json dict (`directory` holds its plots/)."""
    directory = Path(directory) if directory is not None else None
    model = result.get("model", {})
    metrics = result.get("metrics", [])
    words = result.get("metric_words", {})
    totals = result.get("totals", {})
    cut = result.get("cut")
    nominal = result.get("nominal", {})
    parts = [
        f'<section class="box" id="systematics-{esc(result.get("task"))}"><h3>Systematics: '
        f"{esc(model.get('model'))} on {esc(result.get('task'))}</h3>",
        f"<p class=muted>Model from {esc(model.get('source'))}; nominal simulation from "
        f"{esc(model.get('nominal_config_from'))}; {fmt(result.get('events'))} simulated events per sample "
        f"({fmt(nominal.get('n_events'))} used by the task), {esc(result.get('sample_files'))}; "
        + (
            f"efficiency and purity at the score cut {cut:.2f} that maximises efficiency × purity on the "
            "nominal sample; "
            if cut is not None
            else ""
        )
        + f"paired Poisson bootstrap of {fmt(result.get('bootstrap'))} replicas over the interactions. "
        f"Significance: {esc(result.get('significance_rule'))}. "
        f"Totals: {esc(result.get('combination_rule'))}."
        "</p>",
        "<h4>Results</h4><ul class=sentences>"
        + "".join(f"<li>{esc(t['sentence'])}</li>" for t in totals.values() if t.get("sentence"))
        + "</ul>",
    ]
    header = ["variation", "group", "size", "events", *[words.get(m, m) for m in metrics]]
    rows = []
    for v in result.get("variations", []):
        name = f"<b>{esc(v['name'])}</b><br><span class=muted>{esc(v.get('label', ''))}</span>"
        group = esc(v.get("group")) + ("" if v.get("in_total", True) else " (not in total)")
        rows.append(
            [
                name,
                group,
                esc(v.get("size")),
                _pairing(v.get("pairing", {})),
                *[_shift_cell(v.get("metrics", {}).get(m)) for m in metrics],
            ]
        )
    groups = list(dict.fromkeys(g for m in metrics for g in totals.get(m, {}).get("groups", {})))
    for g in groups:
        rows.append(
            [
                f"<i>total: {esc(g)}</i>",
                "",
                "",
                "",
                *[fmt(totals.get(m, {}).get("groups", {}).get(g)) for m in metrics],
            ]
        )
    rows.append(
        [
            "<b>total (quadrature)</b>",
            "",
            "",
            "",
            *[f"<b>{fmt(totals.get(m, {}).get('syst'))}</b>" for m in metrics],
        ]
    )
    rows.append(
        [
            "nominal value ± stat",
            "",
            "",
            fmt(nominal.get("n_events")),
            *[
                esc(format_value(totals[m]["value"], totals[m].get("stat")))
                if totals.get(m, {}).get("value") is not None
                else "–"
                for m in metrics
            ],
        ]
    )
    parts.append(
        "<h4>Shifts (varied − nominal) with their paired errors</h4><p class=muted>Events: what the nominal "
        "and the varied sample share (the same interactions) and what only one holds (slices crossing the "
        "15-hit cut); significant shifts highlighted.</p>" + table(header, rows, left=4)
    )
    figures = result.get("figures", {})
    if directory is not None and figures:
        parts.append(
            "<h4>Tornado plots</h4><div class=grid>"
            + "".join(
                figure_html(directory / figures[m], f"Shifts of the {words.get(m, m)}, largest first")
                for m in metrics
                if m in figures
            )
            + "</div>"
        )
    parts.append(
        "<h4>Why each variation has its size</h4><ul class=sentences>"
        + "".join(
            f"<li><b>{esc(v['name'])}</b> ({esc(v.get('size'))}): {esc(v.get('reason'))}</li>"
            for v in result.get("variations", [])
        )
        + "</ul>"
    )
    return "".join(parts) + "</section>"

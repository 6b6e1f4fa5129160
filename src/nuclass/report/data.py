"""The data part of a run's report section: files per split, test-set composition, the class and energy
distributions, and a typical event display per class."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nuclass.io import read_truth
from nuclass.labels import Interaction, get_task
from nuclass.labels.truth import ANALYSIS_TRUTH
from nuclass.plots import class_distributions, display_grid
from nuclass.report.html import esc, figure_html, fmt, table
from nuclass.run_dir import RunDir

__all__ = ["data_section"]


def _typical_events(truth: Mapping[str, np.ndarray], task_name: str) -> list[tuple[int, str]]:
    """(row, title) of one event per class of the task: the one with Eν closest to its class's median."""
    task = get_task(task_name)
    mask, target = task.labels(truth)
    rows = np.flatnonzero(mask)
    energy = np.asarray(truth["nuenergy"])[rows]
    chosen = []
    if task.is_classification:
        for k, name in enumerate(task.class_names):
            members = np.flatnonzero(target == k)
            if len(members):
                best = members[np.argmin(np.abs(energy[members] - np.median(energy[members])))]
                code = Interaction(int(truth["interaction"][rows[best]])).name
                chosen.append((int(rows[best]), f"true class: {name} ({code})"))
    else:
        for q in (0.2, 0.5, 0.8):  # a low, a typical and a high value of the regression target
            best = int(np.argmin(np.abs(target - np.quantile(target, q))))
            chosen.append(
                (int(rows[best]),
                 f"true {task.quantity or task.class_names[0]} = {target[best]:.3g} {task.unit}".strip())
            )
    return chosen


def data_section(run: RunDir, metrics: Mapping[str, Any]) -> str:
    """Files per split, class counts per test set, class and energy distributions, event displays."""
    task_name = metrics["task"]
    parts = ["<h3>Data</h3>"]
    splits = run.existing_split_files()
    if splits:
        parts.append(
            table(
                ["split", "files"],
                [
                    [
                        esc(name),
                        f"{len(files)}: "
                        + esc(", ".join(p.name for p in files[:8]) + (" …" if len(files) > 8 else "")),
                    ]
                    for name, files in splits.items()
                ],
            )
        )
    blocks = metrics["test_sets"]
    if "class_counts" in next(iter(blocks.values())):
        names = next(iter(blocks.values()))["class_names"]
        rows = [
            [esc(name)] + [fmt(blocks[s]["class_counts"][i]) for s in blocks] for i, name in enumerate(names)
        ]
        rows.append(["<b>all</b>"] + [fmt(blocks[s]["n_events"]) for s in blocks])
        parts.append(
            "<h4>Test-set composition (events per true class)</h4>" + table(["class", *blocks], rows)
        )
    else:
        parts.append(
            table(["test set", "events"], [[esc(s), fmt(b["n_events"])] for s, b in blocks.items()])
        )
    files = [p for key in ("test", "train", "val") for p in splits.get(key, [])] or [
        p for files_ in splits.values() for p in files_
    ]
    out_dir = run.task_plots(task_name)
    if files:
        truths = [read_truth(p) for p in files]
        meta = {k: np.concatenate([t[k] for t in truths]) for k in ANALYSIS_TRUTH}
        what = f"all {len(files)} files of the run's split"
    else:
        predictions = run.predictions("natural")
        if not predictions.is_file():
            return "".join(parts)
        with np.load(predictions) as npz:
            meta = {k: npz[k] for k in ANALYSIS_TRUTH}
        what = "the natural test set (data files not found from split.json)"
    dist = class_distributions(meta, out_dir / "data_distributions.png", log=True)
    parts.append(figure_html(dist, f"Composition and true energies of {what}."))
    display_files = splits.get("test") or (files[:1] if files else [])
    if display_files:
        first = display_files[0]
        chosen = _typical_events(read_truth(first), task_name)
        if chosen:
            grid = display_grid(
                first,
                [r for r, _ in chosen],
                out_dir / "data_event_displays.png",
                titles=[f"{t} — {first.name}, event {r}" for r, t in chosen],
            )
            parts.append("<h4>Event displays, one typical event (median Eν) per class</h4>")
            parts.append(figure_html(grid, f"Both views of each event, from {first.name}."))
    return "".join(parts)

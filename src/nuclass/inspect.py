"""Validate NOvA teaching files and summarise them: events, composition, energies, map occupancy.

`summarise` returns plain, JSON-ready data (for `nuclass inspect --json` and for scripts);
`render_summary` prints it as tables for people.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nuclass.errors import ConfigError
from nuclass.io.nova_h5 import iter_batches, read_truth
from nuclass.labels import TASKS, FinalState, Interaction, flavour_index, mode_index

__all__ = ["expand_paths", "summarise", "render_summary", "QUANTILES"]

QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90)  # reported with min, max and mean
_MAP_BATCH = 2048  # events per read while gathering map statistics (≈ 33 MB of maps)
_SATURATED = 255  # the top of the 8-bit charge scale
_VIEWS = ("xz", "yz")


def _natural_key(path: Path) -> list:
    """Sort key putting neutrino2.h5 before neutrino10.h5."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files in the order given; a directory stands for its *.h5 files in natural number order.

    A path named twice is kept once. A directory without *.h5 files raises ConfigError.
    """
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(path.glob("*.h5"), key=_natural_key)
            if not found:
                raise ConfigError(f"{path}: directory holds no *.h5 files")
            out.extend(found)
        else:
            out.append(path)
    seen: set[Path] = set()
    unique = []
    for path in out:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def _counts(names: Sequence[str], values: np.ndarray, keep_empty: bool) -> dict:
    """{name: {"code", "count", "fraction"}} of integer codes `values`, code k being called names[k]."""
    n = len(values)
    tally = np.bincount(values, minlength=len(names)) if n else np.zeros(len(names), dtype=np.int64)
    return {
        name: {"code": code, "count": int(count), "fraction": float(count / n) if n else 0.0}
        for code, (name, count) in enumerate(zip(names, tally, strict=True))
        if count or keep_empty
    }


def _stats(values: np.ndarray) -> dict[str, float] | None:
    """min, the QUANTILES, max and mean of `values` (None when empty)."""
    if len(values) == 0:
        return None
    values = np.asarray(values, dtype=np.float64)
    quantiles = np.quantile(values, QUANTILES)
    out = {"n": int(len(values)), "min": float(values.min())}
    out |= {f"q{round(100 * q)}": float(v) for q, v in zip(QUANTILES, quantiles, strict=True)}
    out |= {"max": float(values.max()), "mean": float(values.mean())}
    return out


def _composition(meta: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Event counts and fractions by interaction, flavour, mode and final state (rules from labels.py)."""
    interaction = np.asarray(meta["interaction"], dtype=np.int64)
    finalstate = np.asarray(meta["finalstate"], dtype=np.int64)
    flavour_names = TASKS["flavour"].class_names
    mode_names = (*TASKS["mode"].class_names, "not used")
    mode = mode_index(interaction)
    mode = np.where(mode < 0, len(mode_names) - 1, mode)  # codes the mode task leaves out
    return {
        "interaction": _counts([i.name for i in Interaction], interaction, False),
        "flavour": _counts(flavour_names, flavour_index(interaction), True),
        "mode": _counts(mode_names, mode, True),
        "finalstate": _counts([f.name for f in FinalState], finalstate, False),
    }


def _energies(meta: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Quantiles of nuenergy, lepenergy (GeV) and y over the events with nuenergy > 0."""
    used, nuenergy = TASKS["energy"].labels(meta)
    _, y = TASKS["y"].labels(meta)
    return {
        "zero_energy_events": int(np.count_nonzero(np.asarray(meta["nuenergy"]) == 0)),
        "nuenergy": _stats(nuenergy),
        "lepenergy": _stats(np.asarray(meta["lepenergy"])[used]),
        "y": _stats(y),
    }


class _MapTally:
    """Map statistics gathered batch by batch: lit pixels per event and view, and the charge histogram."""

    def __init__(self) -> None:
        self.lit: list[np.ndarray] = []  # (n, 2) lit pixels per event and view
        self.charge = np.zeros(256, dtype=np.int64)  # pixels per ADC value, over all events and views

    def add(self, maps: np.ndarray) -> None:
        flat = maps.reshape(len(maps), 2, -1)
        self.lit.append(np.count_nonzero(flat, axis=2).astype(np.int32))
        charges = maps[maps != 0]  # about 1 % of the pixels: histogram those, count the zeros
        self.charge += np.bincount(charges, minlength=256)
        self.charge[0] += maps.size - charges.size

    def merge(self, other: _MapTally) -> None:
        self.lit.extend(other.lit)
        self.charge += other.charge

    def result(self) -> dict[str, Any]:
        lit = np.concatenate(self.lit) if self.lit else np.zeros((0, 2), np.int32)
        lit_pixels = self.charge[1:].sum()
        charge_values = np.arange(1, 256)
        return {
            "lit_pixels": {view: _stats(lit[:, v]) for v, view in enumerate(_VIEWS)},
            "empty_events": int(np.count_nonzero(lit.sum(axis=1) == 0)),
            "lit_fraction": float(lit_pixels / self.charge.sum()) if self.charge.sum() else 0.0,
            "saturated_fraction": float(self.charge[_SATURATED] / lit_pixels) if lit_pixels else 0.0,
            "median_lit_charge": (
                int(charge_values[np.searchsorted(np.cumsum(self.charge[1:]), lit_pixels / 2)])
                if lit_pixels
                else None
            ),
        }


def _summarise_truth(meta: Mapping[str, np.ndarray], tally: _MapTally) -> dict[str, Any]:
    return {
        "events": int(len(meta["interaction"])),
        **_composition(meta),
        "energy": _energies(meta),
        "maps": tally.result(),
    }


def summarise(paths: Iterable[str | os.PathLike], progress: bool = False) -> dict[str, Any]:
    """Validate every file (truth and every map) and summarise each file and all of them together.

    Returns {"files": [{"path", "events", "interaction", "flavour", "mode", "finalstate", "energy",
    "maps"}, ...], "total": {the same keys, plus "files"}}; energies in GeV, fractions of events.
    A bad file raises FormatError naming it; `progress` shows a bar on stderr.
    """
    files = expand_paths(paths)
    if not files:
        raise ConfigError("no files to inspect")
    columns = ("interaction", "finalstate", "nuenergy", "lepenergy")
    per_file, metas, total_tally = [], [], _MapTally()
    with _progress(progress) as bar:
        task = bar.add_task("inspecting", total=len(files))
        for path in files:
            meta = {k: v for k, v in read_truth(path).items() if k in columns}
            tally = _MapTally()
            for batch in iter_batches([path], batch_size=_MAP_BATCH):  # reads and validates every map
                tally.add(batch.maps)
            per_file.append({"path": str(path), **_summarise_truth(meta, tally)})
            metas.append(meta)
            total_tally.merge(tally)
            bar.advance(task)
    total_meta = {k: np.concatenate([m[k] for m in metas]) for k in columns}
    return {"files": per_file, "total": {"files": len(files), **_summarise_truth(total_meta, total_tally)}}


def _progress(enabled: bool):
    """A rich progress bar on stderr, shown only when stderr is a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not (enabled and console.is_terminal),  # no bar, not even a newline, in logs and pipes
        transient=True,
    )


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _composition_table(title: str, counts: Mapping[str, Mapping[str, Any]]):
    """A rich table of code, class, events and share for one composition entry of a summary."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column, justify in (("code", "right"), ("class", "left"), ("events", "right"), ("share", "right")):
        table.add_column(column, justify=justify, no_wrap=True)
    for name, entry in counts.items():
        table.add_row(str(entry["code"]), name, f"{entry['count']:,}", f"{100 * entry['fraction']:.2f} %")
    return table


def render_summary(summary: Mapping[str, Any], console=None) -> None:
    """Print a `summarise` result as tables: files, composition (counts and %), energy quantiles, maps."""
    from rich.columns import Columns
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    total = summary["total"]
    n_total = total["events"]
    flavour_names = list(total["flavour"])

    files = Table(
        title=f"{total['files']} files, {n_total:,} events (Eν and lit pixels: medians over events)",
        title_justify="left",
    )
    files.add_column("file", no_wrap=True)
    files.add_column("events", justify="right")
    for name in flavour_names:
        files.add_column(name, justify="right")
    files.add_column("Eν (GeV)", justify="right")
    files.add_column("lit pixels\nx–z / y–z", justify="right", no_wrap=True)
    for entry in summary["files"]:
        nu = entry["energy"]["nuenergy"]
        lit = entry["maps"]["lit_pixels"]
        files.add_row(
            Path(entry["path"]).name,
            f"{entry['events']:,}",
            *(f"{100 * entry['flavour'][name]['fraction']:.1f} %" for name in flavour_names),
            _fmt(nu and nu["q50"]),
            " / ".join(_fmt(lit[v] and lit[v]["q50"], 0) for v in _VIEWS),
        )
    console.print(files)

    states = total["finalstate"]
    top_states = dict(sorted(states.items(), key=lambda item: -item[1]["count"])[:10])
    titles = {"interaction": "by interaction", "flavour": "by flavour", "mode": "by mode (task 'mode')"}
    tables = [_composition_table(title, total[key]) for key, title in titles.items()]
    shown = f"{len(states)} distinct"
    if len(states) > len(top_states):
        shown += f", the {len(top_states)} most common"
    tables.append(_composition_table(f"final states ({shown})", top_states))
    console.print(Columns(tables))

    energy = total["energy"]
    used = energy["nuenergy"]["n"] if energy["nuenergy"] else 0
    table = Table(
        title=f"energies of the {used:,} events with Eν > 0 ({energy['zero_energy_events']:,} with Eν = 0)",
        title_justify="left",
    )
    table.add_column("quantity", no_wrap=True)
    stat_keys = ["min", *(f"q{round(100 * q)}" for q in QUANTILES), "max", "mean"]
    headers = ["min", *(f"{round(100 * q)} %" for q in QUANTILES), "max", "mean"]
    for header in headers:
        table.add_column("median" if header == "50 %" else header, justify="right")
    for key, label in (("nuenergy", "Eν (GeV)"), ("lepenergy", "E_ℓ (GeV)"), ("y", "y = E_ℓ/Eν")):
        stats = energy[key]
        table.add_row(label, *(_fmt(stats and stats[k], 3 if key == "y" else 2) for k in stat_keys))
    console.print(table)

    maps = total["maps"]
    table = Table(title="maps", title_justify="left")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for view, label in zip(_VIEWS, ("x–z", "y–z"), strict=True):
        lit = maps["lit_pixels"][view]
        if lit:
            table.add_row(
                f"lit pixels per event, {label} view",
                f"median {lit['q50']:.0f} (10–90 %: {lit['q10']:.0f}–{lit['q90']:.0f})",
            )
    table.add_row("events with no lit pixel", f"{maps['empty_events']:,}")
    table.add_row("lit share of all pixels", f"{100 * maps['lit_fraction']:.2f} %")
    table.add_row("median charge of a lit pixel (ADC)", str(maps["median_lit_charge"]))
    table.add_row("saturated (255) share of lit pixels", f"{100 * maps['saturated_fraction']:.2f} %")
    console.print(table)

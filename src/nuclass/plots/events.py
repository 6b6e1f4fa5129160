"""Event figures: displays of both detector views of events with their truth, and the class and energy
distributions of a sample."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nuclass.errors import ConfigError
from nuclass.io.nova_h5 import MAP_SHAPE, Events, iter_batches, read_truth
from nuclass.labels import TASKS, FinalState, Interaction, flavour_index, mode_index
from nuclass.plots.canvas import figure, save_figure

__all__ = ["display_event", "display_grid", "class_distributions", "event_caption", "CHARGE_LABEL"]

CHARGE_LABEL = "charge (ADC, 8-bit)"
PLANE_LABEL = "plane (beam direction →)"
CELL_LABEL = "cell"
VIEW_TITLES = ("x–z view", "y–z view")
N_PLANES, N_CELLS = MAP_SHAPE[1:]
ENERGY_RANGE_GEV = (0.0, 100.0)  # the real sample's nuenergy runs to ≈ 100 GeV
_CMAP = "viridis"
_DPI = 120


@dataclass(frozen=True)
class _Shown:
    """One event to draw: maps (2, 100, 80) uint8, its truth as scalars, and where it came from."""

    maps: np.ndarray
    truth: dict[str, float]
    source: str
    index: int


def _select(source: Events | str | os.PathLike, indices: Sequence[int]) -> list[_Shown]:
    """The events at `indices` of an Events block or a file (reading only the chunks up to the last one)."""
    indices = [int(i) for i in indices]
    if isinstance(source, Events):
        n, name = len(source), (source.source.name if source.source else "in-memory events")
        offset = source.start if source.source else 0
    else:
        path = Path(source)
        n, name, offset = len(read_truth(path)["interaction"]), path.name, 0
    bad = [i for i in indices if not 0 <= i < n]
    if bad:
        where = str(source.source or "events") if isinstance(source, Events) else str(source)
        raise ConfigError(f"{where}: event {bad[0]} out of range; valid events are 0–{n - 1}")
    if isinstance(source, Events):
        blocks = {i: source.take(np.array([i])) for i in indices}
    else:
        blocks, wanted = {}, set(indices)
        for batch in iter_batches([source], batch_size=256):
            for i in wanted & set(range(batch.start, batch.start + len(batch))):
                blocks[i] = batch.take(np.array([i - batch.start]))
            if len(blocks) == len(wanted):
                break
    return [
        _Shown(blocks[i].maps[0], {k: v[0].item() for k, v in blocks[i].meta.items()}, name, offset + i)
        for i in indices
    ]


def _lepton_word(code: int) -> str:
    """How lepenergy is named for an interaction code: NC's 'lepton' is the outgoing neutrino."""
    return "E_ν,out (NC: outgoing ν)" if Interaction(code) == Interaction.kNC else "E_ℓ"


def event_caption(truth: Mapping[str, float]) -> tuple[str, str]:
    """Two caption lines for one event's truth: its classes, then Eν, E_ℓ (GeV; for NC the outgoing
    neutrino's) and E_ℓ/E_ν (the seeds' y; the inelasticity is 1 − E_ℓ/E_ν)."""
    code = int(truth["interaction"])
    interaction = Interaction(code).name
    flavour = TASKS["flavour"].class_names[int(flavour_index(code))]
    mode = int(mode_index(code))
    classes = flavour if mode < 0 else f"{flavour}, {TASKS['mode'].class_names[mode]}"
    finalstate = FinalState(int(truth["finalstate"])).name
    nu, lep = float(truth["nuenergy"]), float(truth["lepenergy"])
    y = f"{lep / nu:.2f}" if nu > 0 else "–"
    return (
        f"{interaction} ({classes}) · final state {finalstate}",
        f"Eν = {nu:.2f} GeV · {_lepton_word(code)} = {lep:.2f} GeV · E_ℓ/E_ν = {y}",
    )


def _draw_views(axes, maps: np.ndarray, norm, cmap, hit_counts: bool = True):
    """Both views of one event on two axes: planes horizontal, cells vertical, zero pixels blank."""
    image = None
    for view, ax in enumerate(axes):
        charge = np.ma.masked_equal(maps[view].T, 0)  # (cell, plane)
        image = ax.imshow(
            charge,
            origin="lower",
            extent=(0, N_PLANES, 0, N_CELLS),
            cmap=cmap,
            norm=norm,
            interpolation="nearest",
            aspect="equal",
        )
        title = VIEW_TITLES[view]
        if hit_counts:
            hits = np.count_nonzero(maps[view])
            title += f" ({hits} hit{'s' if hits != 1 else ''})"
        ax.set_title(title, fontsize=10)
        ax.set_xlim(0, N_PLANES)
        ax.set_ylim(0, N_CELLS)
        ax.set_xticks(range(0, N_PLANES + 1, 20))
        ax.set_yticks(range(0, N_CELLS + 1, 20))
        ax.set_xticks(range(0, N_PLANES + 1, 5), minor=True)
        ax.set_yticks(range(0, N_CELLS + 1, 5), minor=True)
        ax.tick_params(which="both", direction="in", top=True, right=True, labelsize=8)
        ax.set_facecolor("white")
    return image


def _charge_scale(max_charge: int):
    """Colour map with blank zeros, and a norm from 1 ADC to the brightest pixel shown (≥ 2)."""
    import matplotlib as mpl
    from matplotlib.colors import Normalize

    cmap = mpl.colormaps[_CMAP].with_extremes(bad="white")
    return cmap, Normalize(vmin=1, vmax=max(2, int(max_charge)))


def _save(fig, out: str | os.PathLike) -> Path:
    """`fig` as a PNG on white, cropped to what is drawn."""
    return save_figure(fig, out, dpi=_DPI, facecolor="white", bbox_inches="tight", pad_inches=0.15)


def display_event(
    file_or_events: Events | str | os.PathLike, index: int, out: str | os.PathLike, vmax: int | None = None
) -> Path:
    """Event display of event `index` (of a file or an Events block): both views side by side with truth.

    The charge scale runs from 1 ADC to `vmax` (default: the event's brightest pixel); returns `out`.
    An index out of range raises ConfigError naming the file and the valid range.
    """
    (shown,) = _select(file_or_events, [index])
    cmap, norm = _charge_scale(vmax or shown.maps.max())
    fig = figure(11.5, 4.9, dpi=_DPI)
    axes = fig.subplots(1, 2, sharey=True)
    image = _draw_views(axes, shown.maps, norm, cmap)
    axes[0].set_ylabel(CELL_LABEL)
    for ax in axes:
        ax.set_xlabel(PLANE_LABEL)
    fig.colorbar(image, ax=list(axes), label=CHARGE_LABEL, shrink=0.85, pad=0.02)
    classes, energies = event_caption(shown.truth)
    fig.suptitle(f"{classes}\n{energies}\n{shown.source}, event {shown.index}", fontsize=10.5)
    return _save(fig, out)


def display_grid(
    events: Events | str | os.PathLike,
    indices: Sequence[int],
    out: str | os.PathLike,
    titles: Sequence[str] | None = None,
    vmax: int | None = None,
) -> Path:
    """Several events, one row each (x–z and y–z views), on one shared charge scale; returns `out`.

    `titles` (one per event) replace the default row captions, e.g. to label simulated and real events.
    """
    if not indices:
        raise ConfigError("display_grid needs at least one event index")
    if titles is not None and len(titles) != len(indices):
        raise ConfigError(f"display_grid: {len(titles)} titles for {len(indices)} events")
    shown = _select(events, indices)
    cmap, norm = _charge_scale(vmax or max(int(s.maps.max()) for s in shown))
    fig = figure(11, 4.4 * len(shown), dpi=_DPI)
    left, right = fig.subfigures(1, 2, width_ratios=(1, 0.07))
    rows = left.subfigures(len(shown), 1, squeeze=False)[:, 0]
    image = None
    for row, event, k in zip(rows, shown, range(len(shown)), strict=True):
        axes = row.subplots(1, 2, sharey=True)
        image = _draw_views(axes, event.maps, norm, cmap)
        axes[0].set_ylabel(CELL_LABEL)
        for ax in axes:
            ax.set_xlabel(PLANE_LABEL, fontsize=9)
        classes, energies = event_caption(event.truth)
        title = titles[k] if titles is not None else f"{event.source}, event {event.index}: {classes}"
        row.suptitle(f"{title}\n{energies}", fontsize=9.5)
    height = min(0.8, 1.6 / len(shown))  # a colour bar about one row high, centred
    right.colorbar(image, cax=right.add_axes((0.1, 0.5 - height / 2, 0.25, height)), label=CHARGE_LABEL)
    return _save(fig, out)


def class_distributions(meta: Mapping[str, np.ndarray], out: str | os.PathLike, log: bool = False) -> Path:
    """Composition by interaction (bars), nuenergy and lepenergy histograms stacked by flavour; returns `out`.

    Energies of events with nuenergy > 0, in GeV over 0–100 (the last bin holds the overflow); `log`
    puts the histograms' counts on a log scale.
    """
    interaction = np.asarray(meta["interaction"], dtype=np.int64)
    n = len(interaction)
    if n == 0:
        raise ConfigError("class_distributions needs at least one event")
    fig = figure(15, 4.8, dpi=_DPI)
    bars, nu_ax, lep_ax = fig.subplots(1, 3, width_ratios=(1.1, 1, 1))

    codes, counts = np.unique(interaction, return_counts=True)
    names = [Interaction(int(c)).name for c in codes]
    ypos = np.arange(len(codes))[::-1]
    flavour_colours = ("tab:blue", "tab:orange", "tab:green")
    bars.barh(ypos, counts, color=[flavour_colours[int(flavour_index(c))] for c in codes])
    bars.set_yticks(ypos, names, fontsize=9)
    bars.set_xscale("log")
    bars.set_xlim(0.7, counts.max() * 8)
    for y, count in zip(ypos, counts, strict=True):
        share = 100 * count / n
        bars.text(count * 1.1, y, f"{count:,} ({share:.{1 if share >= 1 else 2}f} %)", va="center",
                  fontsize=8)
    bars.set_xlabel("events")
    bars.set_title(f"interaction ({n:,} events)", fontsize=10)

    used = np.asarray(meta["nuenergy"]) > 0
    flavour = flavour_index(interaction[used])
    flavour_names = TASKS["flavour"].class_names
    edges = np.linspace(*ENERGY_RANGE_GEV, 51)
    panels = ((nu_ax, "nuenergy", "Eν (GeV)"), (lep_ax, "lepenergy", "E_ℓ (GeV; NC: outgoing ν)"))
    for ax, key, label in panels:
        values = np.clip(np.asarray(meta[key])[used], edges[0], edges[-1] - 1e-6)  # overflow in the last bin
        groups = [values[flavour == f] for f in range(len(flavour_names))]
        labels = [f"{name} ({len(g):,})" for name, g in zip(flavour_names, groups, strict=True)]
        ax.hist(groups, bins=edges, stacked=True, histtype="stepfilled", color=flavour_colours, label=labels)
        ax.set_xlabel(label)
        ax.set_ylabel(f"events / {edges[1] - edges[0]:.0f} GeV")
        ax.set_xlim(*ENERGY_RANGE_GEV)
        if log:
            ax.set_yscale("log")
        median = float(np.median(np.asarray(meta[key])[used])) if used.any() else float("nan")
        ax.set_title(f"{key}: median {median:.2f} GeV", fontsize=10)
        ax.legend(fontsize=8, frameon=False)
    zero = int(np.count_nonzero(~used))
    if zero:
        note = f"{zero:,} events with Eν = 0 not shown"
        nu_ax.text(0.98, 0.6, note, transform=nu_ax.transAxes, ha="right", fontsize=8, color="0.3")
    return _save(fig, out)

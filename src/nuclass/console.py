"""What the command line shows: rich progress bars behind the library's `Progress` interface, and tables
of file summaries and metrics. Only the CLI layer (cli.py, demo.py) imports this."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nuclass.io.summary import QUANTILES, VIEWS
from nuclass.labels import get_task
from nuclass.progress import Progress
from nuclass.stats import binomial_error, format_value

__all__ = [
    "RichProgress",
    "download_progress",
    "file_progress",
    "study_progress",
    "headline_cell",
    "metrics_table",
    "render_summary",
]


class RichProgress(Progress):
    """A `Progress` drawn as rich bars (one per job) with `columns`; notes are printed above them.

    stderr: draw on stderr instead of stdout; terminal_only: draw nothing unless that is a terminal (no bar,
    not even a newline, in logs and pipes); transient: remove the bars when done. Use it as a context manager.
    """

    def __init__(
        self, columns: Sequence[Any], *, stderr: bool = False, terminal_only: bool = False,
        transient: bool = False,
    ) -> None:
        from rich.console import Console
        from rich.progress import Progress as Bars

        console = Console(stderr=stderr)
        self.bars = Bars(*columns, console=console, transient=transient,
                         disable=terminal_only and not console.is_terminal)
        self.task = None

    def __enter__(self) -> RichProgress:
        self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars.stop()

    def start(self, description: str, total: float | None = None) -> None:
        self.task = self.bars.add_task(description, total=total)

    def update(self, *, advance: float = 0, completed: float | None = None, total: float | None = None,
               description: str | None = None) -> None:
        if self.task is not None:
            self.bars.update(self.task, advance=advance, completed=completed, total=total,
                             description=description)

    def note(self, text: str) -> None:
        self.bars.console.print(text)


def download_progress() -> RichProgress:
    """Bytes and speed of each download, on stderr when it is a terminal."""
    from rich.progress import BarColumn, DownloadColumn, TextColumn, TransferSpeedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    return RichProgress(columns, stderr=True, terminal_only=True)


def file_progress() -> RichProgress:
    """Files done and time left, on stderr when it is a terminal, gone when done."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    return RichProgress(columns, stderr=True, terminal_only=True, transient=True)


def study_progress() -> RichProgress:
    """Trainings done and time taken, with a line of figures per training, on stdout."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return RichProgress(columns)


def headline_cell(block: Mapping[str, Any], key: str) -> str:
    """A test set's figure as text: an accuracy with its binomial error, another with its error if the block
    has one, else to three decimals ('–' if undefined)."""
    value = block.get(key)
    if value is None:
        return "–"
    err = block.get(f"{key}_err")
    if key == "accuracy":
        err = float(binomial_error(round(value * block["n_events"]), block["n_events"]))
    return format_value(value, err) if err else f"{value:.3f}"


def _metric_rows(task_name: str, block: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(row label, cell) of a test set's headline figures, each stating its cut or its unit."""
    task = get_task(task_name)
    if not task.is_classification:
        units = block.get("units", {})
        rows = [("resolution: RMS of (pred − true)/true", "resolution"),
                ("spread of (pred − true)/true after removing the bias", "resolution_unbiased"),
                ("relative bias: mean (pred − true)/true", "bias")]
        rows += [(f"{words}{f' ({units[k]})' if units.get(k) else ''}", k)
                 for words, k in (("MAE", "mae"), ("MSE", "mse"), ("mean error pred − true", "bias_abs"))]
        return [(label, headline_cell(block, key)) for label, key in rows]
    rule = block.get("accuracy_rule", "score ≥ 0.5" if task.kind == "binary" else "most probable class")
    rows = [(f"accuracy ({rule})", headline_cell(block, "accuracy"))]
    ep = block.get("efficiency_purity")
    if ep and ep.get("best_cut") is not None:
        cut = f"cut {ep['best_cut']:.2f}"
        at_cut = _fmt(block.get("accuracy_at_best_cut"), 3)
        rows += [("accuracy at the best efficiency × purity cut", f"{at_cut} ({cut})"),
                 ("efficiency / purity at that cut",
                  f"{_fmt(ep['best_efficiency'], 3)} / {_fmt(ep['best_purity'], 3)} ({cut})")]
    rows.append(("accuracy of calling every event the commonest class",
                 _fmt(block.get("majority_class_accuracy"), 3)))
    rows += [(k.replace("_", " ").replace("roc auc", "ROC AUC"), headline_cell(block, k))
             for k in ("balanced_accuracy", "roc_auc")]
    return rows


def metrics_table(metrics: Mapping[str, Any], title: str | None = None):
    """A rich table of a (one-task) metrics.json block's headline figures: one column per test set."""
    from rich.table import Table

    sets = metrics["test_sets"]
    task = get_task(metrics["task"])
    errors = "± binomial error" if task.is_classification else "± standard error"
    quantity = f", {task.quantity} ({task.quantity_note})" if task.quantity_note else ""
    title = title or f"{metrics.get('model')} on {task.name}{quantity} ({errors})"
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    for name in sets:
        table.add_column(f"{name} ({sets[name]['n_events']:,} events)", justify="right")
    columns = [_metric_rows(task.name, block) for block in sets.values()]
    for i, (label, _) in enumerate(columns[0]):
        table.add_row(label, *(rows[i][1] for rows in columns))
    return table


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
            " / ".join(_fmt(lit[v] and lit[v]["q50"], 0) for v in VIEWS),
        )
    console.print(files)
    for source in summary.get("sources", ()):
        if sim := source["simulation"]:
            console.print(
                f"{source['folder']}: simulated by nuclass {sim.get('nuclass_version', '?')}, seed "
                f"{sim.get('seed', '?')}, {sim.get('files', '?')} files × {sim.get('events_per_file', '?')} "
                f"events (simulation.json)", highlight=False, soft_wrap=True,
            )

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
    labels = (("nuenergy", "Eν (GeV)"), ("lepenergy", "E_ℓ (GeV; NC: outgoing ν)"),
              ("y", "E_ℓ/Eν (the seeds' y; inelasticity 1 − E_ℓ/Eν)"))
    for key, label in labels:
        stats = energy[key]
        table.add_row(label, *(_fmt(stats and stats[k], 3 if key == "y" else 2) for k in stat_keys))
    console.print(table)

    vertex = total.get("vertex")
    if vertex:
        table = Table(title="vertices (cm; the ND's active volume: |x|, |y| < 191.5, 0 ≤ z < 1269)",
                      title_justify="left")
        for header in ("where", "events", "share", "median Eν (GeV)"):
            table.add_column(header, justify="left" if header == "where" else "right")
        for name, entry in vertex["location"].items():
            table.add_row(name, f"{entry['count']:,}", f"{100 * entry['fraction']:.1f} %",
                          _fmt(entry["median_nuenergy"]))
        for key in ("vtxx", "vtxy", "vtxz"):
            stats = vertex[key]
            table.add_row(f"{key} (10 / 50 / 90 %)", "", "",
                          " / ".join(f"{stats[q]:.0f}" for q in ("q10", "q50", "q90")))
        console.print(table)

    maps = total["maps"]
    table = Table(title="maps", title_justify="left")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for view, label in zip(VIEWS, ("x–z", "y–z"), strict=True):
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

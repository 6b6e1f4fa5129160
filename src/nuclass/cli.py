"""The `nuclass` command line: a thin typer layer over the library; bad input → one line on stderr, exit 2."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from nuclass.errors import Interrupted, NuclassError

app = typer.Typer(
    help="Classify neutrino interactions in NOvA-style detector images, and measure how well it works.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

PathsArg = Annotated[list[Path], typer.Argument(help="HDF5 files or directories of them.")]


def _command(func):
    """Register `func` as a command; NuclassError becomes one line on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except NuclassError as exc:
            print(f"nuclass {func.__name__}: error: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None
        except Interrupted as exc:
            print(f"nuclass {func.__name__}: {exc}", file=sys.stderr)
            raise typer.Exit(130) from None
        except KeyboardInterrupt:
            print(f"nuclass {func.__name__}: interrupted", file=sys.stderr)
            raise typer.Exit(130) from None

    return app.command(name=func.__name__.rstrip("_"))(wrapper)


@_command
def fetch(
    out_dir: Annotated[Path, typer.Argument(help="Cache directory for the files.")],
    files: Annotated[str, typer.Option(help="File numbers: '1-25', '3', '1-5,9'.")] = "1-25",
    base_url: Annotated[str | None, typer.Option(help="Base URL (default: the UCL teaching server).")] = None,
):
    """Download neutrino{N}.h5 files into OUT_DIR: cached, retried, verified, never partial."""
    from nuclass.io.fetch import DEFAULT_BASE_URL, fetch_files, parse_file_numbers

    paths = fetch_files(out_dir, parse_file_numbers(files), base_url or DEFAULT_BASE_URL, progress=True)
    print(f"{len(paths)} files ready in {out_dir}")


@_command
def simulate(
    out_dir: Annotated[Path, typer.Argument(help="Directory for neutrino1.h5 … neutrinoN.h5.")],
    files: Annotated[int, typer.Option(min=1, help="Number of files.")] = 4,
    events_per_file: Annotated[int, typer.Option(min=1, help="Events in each file.")] = 7000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 0,
    workers: Annotated[int | None, typer.Option(min=1, help="Processes (default: all cores).")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML overriding the simulator's defaults.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a data set already in OUT_DIR (once the new one is complete).")] = False,
):
    """Simulate NOvA near-detector events in exactly the teaching files' format."""
    from rich.progress import Progress

    from nuclass.sim import SimConfig, simulate_files

    cfg = SimConfig.from_yaml(config) if config else SimConfig()
    with Progress(transient=True) as bar:
        task = bar.add_task(f"simulating {files} × {events_per_file} events", total=files)
        paths = simulate_files(out_dir, files, events_per_file, seed=seed, config=cfg, workers=workers,
                               overwrite=overwrite, on_file=lambda _: bar.advance(task))
    print(f"wrote {len(paths)} files and simulation.json to {out_dir}")


@_command
def inspect(
    paths: PathsArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
):
    """Validate files and summarise them: events, composition, energies."""
    from nuclass.inspect import render_summary, summarise

    summary = summarise(paths, progress=True)
    if as_json:
        print(json.dumps(summary, indent=1))
    else:
        render_summary(summary)


@_command
def display(
    file: Annotated[Path, typer.Argument(help="A NOvA HDF5 file.")],
    event: Annotated[int, typer.Option(help="Event index in the file.")] = 0,
    out: Annotated[Path, typer.Option(help="PNG to write.")] = Path("event.png"),
):
    """Draw both views of one event with its truth."""
    from nuclass.plots import display_event

    display_event(file, event, out)
    print(out)


def _choices(name: str, values) -> type:
    """An Enum of `values` for typer's choices (shown in --help, checked before the command runs)."""
    import enum

    return enum.Enum(name, {v: v for v in values})


from nuclass.data.balance import BALANCE_METHODS as _BALANCE_METHODS  # noqa: E402  (light: no torch)
from nuclass.labels import TASKS as _TASKS  # noqa: E402
from nuclass.models import list_models as _list_models  # noqa: E402  (names only, no torch)

TaskChoice = _choices("TaskChoice", _TASKS)
ModelChoice = _choices("ModelChoice", _list_models())
BalanceChoice = _choices("BalanceChoice", _BALANCE_METHODS)


@_command
def train(
    task: Annotated[
        TaskChoice | None,
        typer.Option(help="Task (see DESIGN §2); required unless --resume or --config sets it."),
    ] = None,
    data: Annotated[
        list[Path] | None, typer.Option(help="HDF5 file, directory or glob; repeat for more. Split by file.")
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Run directory (config, split, metrics, checkpoints, weights, predictions).")
    ] = Path("run"),
    model: Annotated[ModelChoice | None, typer.Option(help="Network (default cvn).")] = None,
    config: Annotated[
        str | None, typer.Option(help="YAML of training-config keys, or a preset name ('tiny').")
    ] = None,
    max_epochs: Annotated[
        int | None, typer.Option(min=1, help="Epoch budget (default: the model's recipe).")
    ] = None,
    max_minutes: Annotated[float | None, typer.Option(min=0.01, help="Wall-time budget in minutes.")] = None,
    val_every_minutes: Annotated[
        float | None,
        typer.Option(min=0.01, help="Validate and checkpoint every this many minutes (default: each epoch)."),
    ] = None,
    balance: Annotated[
        BalanceChoice | None,
        typer.Option(help="Class balance (default: the model's — undersample for the seeds' networks, "
                     "sampler for cvn; none for regression)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the split, the balancing, the weights and the shuffling.")
    ] = None,
    devices: Annotated[int | None, typer.Option(min=1, help="Processes / GPUs (Lightning devices).")] = None,
    strategy: Annotated[str | None, typer.Option(help="Lightning strategy, e.g. ddp.")] = None,
    precision: Annotated[
        str | None,
        typer.Option(help="32-true (default), bf16-mixed (bfloat16 autocast: faster on CPUs with AMX / "
                     "AVX512-BF16 and recent GPUs) or 16-mixed (GPU)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in --out from its last checkpoint.")
    ] = False,
    num_workers: Annotated[int | None, typer.Option(min=0, help="Data-loading processes per device.")] = None,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Events per batch (default: the model's recipe).")
    ] = None,
    signal: Annotated[
        str | None,
        typer.Option(help="Binary tasks: which target-1 events to keep, e.g. 'kNumuQE' or 'nuenergy > 3.5'."),
    ] = None,
    background: Annotated[
        str | None, typer.Option(help="Binary tasks: which target-0 events to keep, e.g. 'kNC'.")
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(help="Truth expression all events must pass: 'interaction in (kNumuQE, kNumuDIS)'."),
    ] = None,
):
    """Train a network on one task; the split by file is seeded and saved in the run directory.

    Selections are expressions over truth fields (nuenergy, lepenergy, y, interaction, finalstate, …) and
    Interaction/FinalState names, with < <= > >= == !=, in (…), and, or, not; they only filter events.
    """
    from nuclass.selection import EventSelection

    EventSelection(where, signal, background)  # a bad expression fails here, before torch loads
    from nuclass.train import CONFIG_FILE, load_config
    from nuclass.train import train as run_training

    options = {
        "task": task.value if task else None,
        "data": [str(p) for p in data] if data else None,
        "model": model.value if model else None,
        "max_epochs": max_epochs,
        "max_minutes": max_minutes,
        "val_every_minutes": val_every_minutes,
        "balance": balance.value if balance else None,
        "seed": seed,
        "devices": devices,
        "strategy": strategy,
        "precision": precision,
        "num_workers": num_workers,
        "batch_size": batch_size,
        "signal": signal,
        "background": background,
        "where": where,
    }
    overrides = {k: v for k, v in options.items() if v is not None}
    overrides.update(out=str(out), resume=resume)
    saved = out / CONFIG_FILE
    if config:
        cfg = load_config(config, **overrides)
    elif resume and saved.is_file():
        cfg = load_config(saved, **overrides)
    else:
        from nuclass.train import TrainConfig

        cfg = TrainConfig.from_dict(overrides)
    if "task" not in overrides and not (config or resume):
        raise NuclassError("give --task (one of: " + ", ".join(_TASKS) + ")")
    summary = run_training(cfg)
    if "run_dir" in summary:
        n = summary["n_events"]
        print(
            f"{summary['model']} on {summary['task']}: {summary['epochs_run']} epochs, best val loss "
            f"{summary['best_val_loss']:.4g}; events train {n['train']}, val {n['val']}, "
            f"test {n['test_natural']} (balanced {n['test_balanced']}); run in {summary['run_dir']}"
        )
        if summary["selection"]:
            print("selection: " + "; ".join(f"{k} {v}" for k, v in summary["selection"].items()))


@_command
def study(
    name: Annotated[
        str,
        typer.Argument(help="Built-in study (seed000-task2, learning-curve, balance) or a study YAML file."),
    ],
    data: Annotated[
        list[Path], typer.Option(help="HDF5 file, directory or glob; repeat for more. Split by file.")
    ],
    out: Annotated[
        Path | None, typer.Option(help="Study directory: study.json, plots/, runs/ (default: ./NAME).")
    ] = None,
    model: Annotated[
        ModelChoice | None, typer.Option(help="Network for every training (default cvn).")
    ] = None,
    max_minutes: Annotated[
        float | None, typer.Option(min=0.01, help="Wall-time budget per training (default: the study's).")
    ] = None,
    repeats: Annotated[
        int | None,
        typer.Option(min=1, help="Seeds per variant (default: up to 3 while the study fits its budget)."),
    ] = None,
    budget_minutes: Annotated[
        float | None,
        typer.Option(min=0.01, help="Total time that decides the default repeats (study's: 30)."),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(help="Training-config YAML or preset ('tiny') under every variant's settings."),
    ] = None,
):
    """Run a grid of trainings on truth-selected data and compare them → OUT/study.json and OUT/plots/.

    Each variant is retrained, tested on its own selected test set and on the common natural test set,
    repeated over seeds, and compared with its baseline (mean ± error, significance rule in study.json).
    """
    from nuclass.study import load_study, run_study

    spec = load_study(name)  # an unknown study or a bad selection fails here, before any training
    result = run_study(
        spec,
        [str(p) for p in data],
        out or Path(spec.name),
        model=model.value if model else None,
        max_minutes=max_minutes,
        repeats=repeats,
        budget_minutes=budget_minutes,
        config=config,
    )
    for answer in result["answers"]:
        print(answer["sentence"])
    if result["budget_note"]:
        print(result["budget_note"])
    print((out or Path(spec.name)) / "study.json")


def _finished_run(run_dir: Path, *needed: str) -> None:
    """Check that RUN_DIR is a directory with config.yaml and every `needed` file; one clear error if not."""
    if not run_dir.is_dir():
        raise NuclassError(f"{run_dir}: no such run directory")
    for name in ("config.yaml", *needed):
        if not (run_dir / name).is_file():
            raise NuclassError(f"{run_dir}: not a finished training run (no {name}); see nuclass train")


def _summary_table(metrics: dict, title: str):
    """A rich table of the headline numbers of a metrics.json: one column per test set."""
    from rich.table import Table

    from nuclass.evaluate import binomial_error, format_value

    sets = metrics["test_sets"]
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    for name in sets:
        table.add_column(f"{name} ({sets[name]['n_events']:,} events)", justify="right")
    regression = "resolution" in next(iter(sets.values()))
    rows = ("resolution", "bias", "mae") if regression else ("accuracy", "balanced_accuracy", "roc_auc")

    def cell(block: dict, key: str) -> str:
        value = block.get(key)
        if value is None:
            return "–"
        err = block.get(f"{key}_err")
        if key == "accuracy":
            err = float(binomial_error(round(value * block["n_events"]), block["n_events"]))
        return format_value(value, err) if err else f"{value:.3f}"

    for key in rows:
        table.add_row(key.replace("_", " "), *(cell(block, key) for block in sets.values()))
    return table


@_command
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="A training run directory (nuclass train --out).")],
    data: Annotated[
        list[Path] | None,
        typer.Option(help="Evaluate on these HDF5 files or directories instead of the run's test files."),
    ] = None,
):
    """Metrics and plots of a trained run on its natural and balanced test sets → RUN_DIR/metrics.json."""
    from rich.console import Console

    from nuclass.evaluate import evaluate_run

    if data:
        _finished_run(run_dir, "model.json", "model.safetensors")
    else:
        _finished_run(run_dir, "predictions/natural.npz", "predictions/balanced.npz")
    console = Console()
    with console.status(f"evaluating {run_dir}"):
        metrics = evaluate_run(run_dir, data or None)
    console.print(_summary_table(metrics, f"{metrics['model']} on {metrics['task']} (± binomial error)"))
    print(run_dir / "metrics.json")


@_command
def predict(
    run_dir: Annotated[Path, typer.Argument(help="A training run directory (nuclass train --out).")],
    paths: PathsArg,
    out: Annotated[Path, typer.Option(help="HDF5 file of per-event scores.")] = Path("predictions.h5"),
):
    """Per-event scores (class probabilities or the regressed value) of a run's model on new files."""
    from rich.console import Console

    from nuclass.evaluate import predict_to_h5

    _finished_run(run_dir, "model.json", "model.safetensors")
    with Console(stderr=True).status(f"scoring {len(paths)} path(s) with {run_dir}"):
        written = predict_to_h5(run_dir, paths, out)
    print(written)


@_command
def report(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(help="Training run directories and/or study directories (nuclass study --out)."),
    ],
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
):
    """One self-contained HTML report of runs (one, or several side by side) and studies, figures embedded."""
    from rich.console import Console

    from nuclass.report import write_report

    studies = [d for d in run_dirs if (d / "study.json").is_file()]
    run_dirs = [d for d in run_dirs if d not in studies]
    for run_dir in run_dirs:
        if not (run_dir / "metrics.json").is_file():
            _finished_run(run_dir, "predictions/natural.npz", "predictions/balanced.npz")
        else:
            _finished_run(run_dir)
    status = f"writing the report of {len(run_dirs)} run(s) and {len(studies)} study(ies)"
    with Console(stderr=True).status(status):
        written = write_report(run_dirs, out, studies=studies)
    print(written)


@_command
def demo(
    out: Annotated[Path, typer.Option(help="Directory for everything the demo makes.")] = Path("demo-output"),
):
    """The main job on the embedded default: simulate, train cvn and seed-multiview, evaluate, report."""
    from nuclass.demo import run_demo

    run_demo(out)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

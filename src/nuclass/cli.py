"""The `nuclass` command line: a thin typer layer over the library; bad input → one line on stderr, exit 2
(the frame that turns every failure into its line and exit code: command.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nuclass.command import DEBUG_HELP, CommandLine, command, set_debug
from nuclass.errors import NuclassError

app = typer.Typer(
    cls=CommandLine,
    help="Classify neutrino interactions in NOvA-style detector images, and measure how well it works.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
_command = command(app)

PathsArg = Annotated[list[Path], typer.Argument(help="HDF5 files or directories of them.")]


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", envvar="NUCLASS_DEBUG", help=DEBUG_HELP)] = False,
) -> None:
    set_debug(debug)


@_command
def fetch(
    out_dir: Annotated[Path, typer.Argument(help="Cache directory for the files.")],
    files: Annotated[str, typer.Option(help="File numbers: '1-25', '3', '1-5,9'.")] = "1-25",
    base_url: Annotated[str | None, typer.Option(help="Base URL (default: the UCL teaching server).")] = None,
    replace_invalid: Annotated[
        bool,
        typer.Option("--replace-invalid", help="Download files whose copy in OUT_DIR is not valid, keeping "
                     "each old copy as NAME.invalid (without this flag such files are reported and kept)."),
    ] = False,
):
    """Download neutrino{N}.h5 files into OUT_DIR: cached, retried, verified, never partial; yours kept."""
    from nuclass.console import download_progress
    from nuclass.io.fetch import DEFAULT_BASE_URL, fetch_files, parse_file_numbers

    numbers = parse_file_numbers(files)
    with download_progress() as progress:
        paths = fetch_files(out_dir, numbers, base_url or DEFAULT_BASE_URL, progress=progress,
                            replace_invalid=replace_invalid)
    print(f"{len(paths)} files ready in {out_dir}")


@_command
def simulate(
    out_dir: Annotated[Path, typer.Argument(help="Directory for neutrino1.h5 … neutrinoN.h5.")],
    files: Annotated[int, typer.Option(min=1, help="Number of files.")] = 4,
    events_per_file: Annotated[int, typer.Option(min=1, help="Events in each file.")] = 7000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 0,
    workers: Annotated[int | None, typer.Option(min=1, help="Processes (default: all cores).")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML overriding the simulator's defaults.")] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace a data set already in OUT_DIR (once the new one is complete).")
    ] = False,
):
    """Simulate NOvA near-detector events in exactly the teaching files' format."""
    from nuclass.console import file_progress
    from nuclass.sim import SimConfig, simulate_files

    cfg = SimConfig.from_yaml(config) if config else SimConfig()
    with file_progress() as progress:
        paths = simulate_files(out_dir, files, events_per_file, seed=seed, config=cfg, workers=workers,
                               overwrite=overwrite, progress=progress)
    print(f"wrote {len(paths)} files and simulation.json to {out_dir}")


@_command
def inspect(
    paths: PathsArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
):
    """Validate files and summarise them: events, composition, energies."""
    from nuclass.console import file_progress, render_summary
    from nuclass.data.sources import data_sources
    from nuclass.io.summary import summarise

    with file_progress() as progress:
        summary = summarise(paths, progress=progress)
    summary["sources"] = data_sources(f["path"] for f in summary["files"])
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
    from nuclass.atomic import check_output_file
    from nuclass.plots import display_event

    check_output_file(out, "a PNG file")
    display_event(file, event, out)
    print(out)


def _choices(name: str, values) -> type:
    """An Enum of `values` for typer's choices (shown in --help, checked before the command runs)."""
    import enum

    return enum.Enum(name, {v: v for v in values})


from nuclass.cli_systematics import systematics as systematics_command  # noqa: E402
from nuclass.data.balance import BALANCE_METHODS  # noqa: E402  (the light parts: no torch)
from nuclass.labels import TASKS  # noqa: E402
from nuclass.models import list_models  # noqa: E402
from nuclass.study.spec import DEFAULT_BUDGET_MINUTES, DEFAULT_REPEATS, list_studies  # noqa: E402
from nuclass.training.config import DEFAULTS, GPU_PRECISIONS, PRECISIONS  # noqa: E402

ModelChoice = _choices("ModelChoice", list_models())
BalanceChoice = _choices("BalanceChoice", BALANCE_METHODS)
NOT_CONFIG_KEYS = ("config",)  # options of `train` that are not TrainConfig keys


def _config_options(options: dict) -> dict:
    """The training options given (not None) as TrainConfig keys: choices as their values, paths as text."""
    values = {}
    for key, value in options.items():
        if key in NOT_CONFIG_KEYS or value is None:
            continue
        if isinstance(value, list):
            value = [str(v) for v in value]
        values[key] = getattr(value, "value", str(value) if isinstance(value, Path) else value)
    return values


@_command
def train(
    task: Annotated[
        str | None,
        typer.Option(help=f"One of {', '.join(TASKS)} (binary: numu-cc, nue-cc; classes: flavour, mode; "
                     "regression: energy, y); 'all' or a comma list (numu-cc,energy) trains one multi-task "
                     "cvn. Required unless --resume or --config sets it."),
    ] = None,
    data: Annotated[
        list[Path] | None, typer.Option(help="HDF5 file, directory or glob; repeat for more. Split by file.")
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Run directory (config, split, metrics, checkpoints, weights, predictions).")
    ] = Path(DEFAULTS.out),
    model: Annotated[ModelChoice | None, typer.Option(help=f"Network (default {DEFAULTS.model}).")] = None,
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
        typer.Option(help="Class balance (default: the model's recipe; several tasks: weights, per task; "
                     "none for regression)."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help=f"Seed of the split, the balancing, the weights and the shuffling (default {DEFAULTS.seed})."
        ),
    ] = None,
    devices: Annotated[
        int | None,
        typer.Option(min=1, help=f"Processes / GPUs (Lightning devices; default {DEFAULTS.devices})."),
    ] = None,
    nodes: Annotated[int | None, typer.Option(min=1, help="Machines, --devices processes each (Lightning "
                                              "num_nodes); launch with torchrun or srun (README).")] = None,
    strategy: Annotated[
        str | None, typer.Option(help=f"Lightning strategy, e.g. ddp (default {DEFAULTS.strategy}).")
    ] = None,
    accelerator: Annotated[str | None, typer.Option(help="cpu, gpu or auto (default: auto).")] = None,
    precision: Annotated[
        str | None,
        typer.Option(help=f"{', '.join(PRECISIONS)} (default {DEFAULTS.precision}); bf16-mixed is bfloat16 "
                     "autocast, faster on CPUs with AMX / AVX512-BF16 and recent GPUs; "
                     f"{', '.join(GPU_PRECISIONS)} needs a GPU."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in --out from its last checkpoint.")
    ] = DEFAULTS.resume,
    num_workers: Annotated[
        int | None,
        typer.Option(min=0, help=f"Loader threads per device (default {DEFAULTS.num_workers}; 0: none)."),
    ] = None,
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
    """Train a network on one task, or one multi-task network on several (--task all); the split by file
    is seeded and saved in the run directory.

    Selections are expressions over truth fields (nuenergy, lepenergy, y, interaction, finalstate, …) and
    Interaction/FinalState names, with < <= > >= == !=, in (…), and, or, not; they only filter events.
    """
    overrides = _config_options(locals())  # every option but --config is a TrainConfig key
    from nuclass.labels.selection import EventSelection

    EventSelection(where, signal, background)  # a bad expression fails here, before torch loads
    from nuclass.run_dir import RunDir
    from nuclass.training import TrainConfig, load_config
    from nuclass.training import train as run_training

    saved = RunDir(out).file(RunDir.CONFIG)
    if config:
        cfg = load_config(config, **overrides)
    elif resume and saved.is_file():
        cfg = load_config(saved, **overrides)
    else:
        cfg = TrainConfig.from_dict(overrides)
    if "task" not in overrides and not (config or resume):
        raise NuclassError("give --task (one of: " + ", ".join(TASKS) + ")")
    summary = run_training(cfg)
    if "run_dir" in summary:
        n = summary["n_events"]
        balanced = n["test_balanced"]
        if balanced is None:  # several tasks: each its own test events
            balanced = ", ".join(f"{t} {c['natural']}/{c['balanced']}" for t, c in n["test_by_task"].items())
        print(
            f"{summary['model']} on {summary['task']}: {summary['epochs_run']} epochs, best val loss "
            f"{summary['best_val_loss']:.4g}; events train {n['train']}, val {n['val']}, "
            f"test {n['test_natural']} (balanced {balanced}); run in {summary['run_dir']}"
        )
        if summary["selection"]:
            print("selection: " + "; ".join(f"{k} {v}" for k, v in summary["selection"].items()))


@_command
def study(
    name: Annotated[
        str,
        typer.Argument(help=f"Built-in study ({', '.join(list_studies())}) or a study YAML file."),
    ],
    data: Annotated[
        list[Path], typer.Option(help="HDF5 file, directory or glob; repeat for more. Split by file.")
    ],
    out: Annotated[
        Path | None, typer.Option(help="Study directory: study.json, plots/, runs/ (default: ./NAME).")
    ] = None,
    model: Annotated[
        ModelChoice | None, typer.Option(help=f"Network for every training (default {DEFAULTS.model}).")
    ] = None,
    max_minutes: Annotated[
        float | None, typer.Option(min=0.01, help="Wall-time budget per training (default: the study's).")
    ] = None,
    repeats: Annotated[
        int | None,
        typer.Option(min=1, help=f"Seeds per variant (default: up to {DEFAULT_REPEATS} within the budget)."),
    ] = None,
    budget_minutes: Annotated[
        float | None,
        typer.Option(min=0.01, help="Total time that decides the default repeats (default: the study's, "
                     f"else {DEFAULT_BUDGET_MINUTES:g})."),
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
    from nuclass.console import study_progress
    from nuclass.study import load_study, run_study

    spec = load_study(name)  # an unknown study or a bad selection fails here, before any training
    with study_progress() as progress:
        result = run_study(
            spec,
            [str(p) for p in data],
            out or Path(spec.name),
            model=model.value if model else None,
            max_minutes=max_minutes,
            repeats=repeats,
            budget_minutes=budget_minutes,
            config=config,
            progress=progress,
        )
    for answer in result["answers"]:
        print(answer["sentence"])
    if result["budget_note"]:
        print(result["budget_note"])
    print((out or Path(spec.name)) / "study.json")


# the commands that use a trained network live in nuclass.cli_models
from nuclass.cli_models import evaluate, export, predict  # noqa: E402

for _func in (evaluate, predict, export):
    _command(_func)


@_command
def report(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(help="Training run directories, study directories (nuclass study --out) and/or "
                       "systematics directories (nuclass systematics --out)."),
    ],
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
):
    """One self-contained HTML report of runs (one, or several side by side), studies and systematics, figures
    embedded; runs not evaluated yet are evaluated first."""
    from rich.console import Console

    from nuclass.atomic import check_output_file
    from nuclass.evaluation import evaluate_run
    from nuclass.report import write_report
    from nuclass.run_dir import RunDir, StudyDir, SystematicsDir

    check_output_file(out, "an HTML file")
    studies = [d for d in run_dirs if StudyDir(d).study_file.is_file()]
    systematics = [d for d in run_dirs if SystematicsDir(d).result_file.is_file()]
    runs = [RunDir(d) for d in run_dirs if d not in studies and d not in systematics]
    unevaluated = [r for r in runs if not r.file(RunDir.METRICS).is_file()]
    for run in runs:
        run.require(*(run.prediction_files() if run in unevaluated else ()))
    status = f"writing the report of {len(runs)} run(s) and {len(studies)} study(ies)"
    with Console(stderr=True).status(status):
        for run in unevaluated:
            evaluate_run(run.path)
        written = write_report([r.path for r in runs], out, studies=studies, systematics=systematics)
    print(written)


_command(systematics_command)  # nuclass systematics: in cli_systematics.py


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

"""`nuclass demo`: the main job on the embedded default data — simulate, train cvn and a seed baseline on
the same split and time budget, evaluate both, and write one HTML report comparing them."""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nuclass.errors import ConfigError, NuclassError
from nuclass.run_dir import RunDir

__all__ = ["run_demo", "DEMO_MODELS"]

DEMO_MODELS = ("cvn", "seed-multiview")


def _fresh_run_dir(run_dir: Path) -> Path:
    """`run_dir` ready for a new training: a previous nuclass run there is removed, anything else refused."""
    if run_dir.exists():
        if not RunDir(run_dir).file(RunDir.CONFIG).is_file() and any(run_dir.iterdir()):
            raise NuclassError(f"{run_dir}: exists and is not a nuclass run; choose another --out")
        shutil.rmtree(run_dir)
    return run_dir


def _comparison(results: Sequence[tuple[dict[str, Any], dict[str, Any]]]):
    """A rich table of each model's size and test-set numbers (one row per model)."""
    from rich.table import Table

    from nuclass.console import headline_cell

    table = Table(title="test sets: balanced (equal classes) and natural; accuracy at score ≥ 0.5 unless "
                  "said", title_justify="left")
    table.add_column("model", no_wrap=True)
    for name in ("parameters", "accuracy\nbalanced", "accuracy\nnatural", "natural at\nbest cut",
                 "natural: all\ncommonest", "ROC AUC\nnatural"):
        table.add_column(name, justify="right", no_wrap=True)
    for summary, metrics in results:
        balanced, natural = metrics["test_sets"]["balanced"], metrics["test_sets"]["natural"]
        table.add_row(
            summary["model"],
            f"{summary['n_parameters']:,}",
            headline_cell(balanced, "accuracy"),
            headline_cell(natural, "accuracy"),
            headline_cell(natural, "accuracy_at_best_cut"),
            headline_cell(natural, "majority_class_accuracy"),
            headline_cell(natural, "roc_auc"),
        )
    return table


def run_demo(
    out: str | Path = "demo-output",
    *,
    files: int = 8,
    events_per_file: int = 3000,
    seed: int = 0,
    task: str = "numu-cc",
    models: Sequence[str] = DEMO_MODELS,
    max_minutes: float | None = 3.0,
    workers: int | None = None,
    train_options: Mapping[str, Any] | None = None,
) -> Path:
    """Simulate `files` × `events_per_file` events into out/data, train each of `models` on `task` with the
    same file split, seed and `max_minutes` wall-time budget (out/runs/MODEL), evaluate them on their
    natural and balanced test files, and write out/report.html; returns the report's path.

    train_options: extra TrainConfig keys for every training (e.g. max_epochs, limit_train_batches).
    """
    from rich.console import Console

    from nuclass.console import file_progress, render_summary
    from nuclass.evaluation import evaluate_run
    from nuclass.io.summary import summarise
    from nuclass.report import write_report
    from nuclass.sim import simulate_files
    from nuclass.training import TrainConfig, train

    if files < 3:
        raise ConfigError(f"the demo splits by file into train, val and test: needs ≥ 3 files, got {files}")
    console = Console()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: expected a directory for the demo's outputs, got a file")
    started = time.monotonic()
    budget = f"{max_minutes:g} min" if max_minutes else "no time limit"
    # every config is built (and checked) before minutes of simulation; the data are the files simulated
    configs = [
        TrainConfig.from_dict(
            {
                "task": task,
                "model": model,
                "out": str(out / "runs" / model),
                "seed": seed,
                "max_minutes": max_minutes,
                **(train_options or {}),
            }
        )
        for model in models
    ]

    for config in configs:
        _fresh_run_dir(Path(config.out))
    console.rule(f"[bold]1/4 simulate {files} × {events_per_file:,} events (seed {seed})")
    with file_progress() as progress:
        data = simulate_files(out / "data", files, events_per_file, seed=seed, workers=workers,
                              overwrite=True, progress=progress)
    with file_progress() as progress:
        summary = summarise(data, progress=progress)
    render_summary(summary, console)

    summaries = []
    for k, config in enumerate(configs, start=1):
        console.rule(f"[bold]2/4 train {config.model} on {task} ({k}/{len(configs)}, {budget})")
        summary = train(config.replace(data=[str(p) for p in data]))
        n = summary["n_events"]
        console.print(
            f"{summary['model']}: {summary['epochs_run']} epoch(s) in {summary['seconds']:.0f} s, best "
            f"validation loss {summary['best_val_loss']:.4f}; events train {n['train']:,}, val {n['val']:,}, "
            f"test {n['test_natural']:,} natural / {n['test_balanced']:,} balanced"
        )
        summaries.append(summary)

    console.rule("[bold]3/4 evaluate")
    metrics = []
    for summary in summaries:
        with console.status(f"metrics and plots of {summary['run_dir']}"):
            metrics.append(evaluate_run(summary["run_dir"]))
        console.print(RunDir(summary["run_dir"]).file(RunDir.METRICS))
    console.print(_comparison(list(zip(summaries, metrics, strict=True))))

    console.rule("[bold]4/4 report")
    with console.status("writing the HTML report"):
        report = write_report(
            [summary["run_dir"] for summary in summaries],
            out / "report.html",
            title=f"nuclass demo: {' vs '.join(models)} on {task}",
        )
    console.print(f"demo finished in {(time.monotonic() - started) / 60:.1f} min; open the report:")
    print(report.resolve())
    return report

"""The commands that use a trained network — a run's or the one shipped in the package: `evaluate`,
`predict` and `export`, registered on the command line's app by nuclass.cli (typer reads these
signatures; heavy imports stay inside the commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nuclass.errors import NuclassError

__all__ = ["evaluate", "predict", "export"]

PretrainedOption = Annotated[
    bool, typer.Option("--pretrained", help="Use the network shipped in the package (no training needed).")
]


def evaluate(
    run_dir: Annotated[
        Path | None,
        typer.Argument(help="A training run directory (nuclass train --out); none with --pretrained."),
    ] = None,
    data: Annotated[
        list[Path] | None,
        typer.Option(help="Evaluate on these HDF5 files or directories instead of the run's test files."),
    ] = None,
    pretrained: PretrainedOption = False,
    out: Annotated[
        Path, typer.Option(help="With --pretrained: the directory for metrics.json and plots/.")
    ] = Path("pretrained-evaluation"),
):
    """Metrics and plots of a trained run on its natural and balanced test sets → RUN_DIR/metrics.json."""
    from rich.console import Console

    from nuclass.console import metrics_table
    from nuclass.evaluation import evaluate_run
    from nuclass.run_dir import RunDir

    if pretrained:
        from nuclass.shipped import pretrained_run

        if run_dir is not None or not data:
            raise NuclassError("--pretrained takes no RUN_DIR and needs --data (the files to evaluate on)")
        run_dir = pretrained_run(out).path
    if run_dir is None:
        raise NuclassError("give RUN_DIR, or --pretrained with --data")
    run = RunDir(run_dir)
    run.require(*(RunDir.MODEL_FILES if data else run.prediction_files()))
    console = Console()
    with console.status(f"evaluating {run_dir}"):
        evaluate_run(run_dir, data or None)
    for metrics in run.read_task_metrics().values():
        console.print(metrics_table(metrics))
        for note in metrics.get("notes", []):
            console.print(f"note: {note}")
    print(run.file(RunDir.METRICS))


def predict(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="A training run directory, then HDF5 files or directories (with --pretrained: "
                       "the files only)."),
    ],
    pretrained: PretrainedOption = False,
    out: Annotated[Path, typer.Option(help="HDF5 file of per-event scores.")] = Path("predictions.h5"),
):
    """Per-event scores (class probabilities or the regressed value, every head of a multi-task model) of a
    run's model, or the shipped one, on new files; with each event's `evt` and its `row` in its file."""
    from rich.console import Console

    from nuclass.atomic import check_output_file
    from nuclass.predict import predict_to_h5
    from nuclass.run_dir import RunDir

    check_output_file(out, "an HDF5 file")
    if pretrained:
        from nuclass.shipped import PRETRAINED_DIR as model_dir
        from nuclass.shipped import model_card

        model_card()  # an incomplete installation fails here
        paths = inputs
    else:
        model_dir, paths = inputs[0], inputs[1:]
        RunDir(model_dir).require(*RunDir.MODEL_FILES)
    if not paths:
        raise NuclassError("no files to score: give HDF5 files or directories")
    with Console(stderr=True).status(f"scoring {len(paths)} path(s) with {model_dir}"):
        written = predict_to_h5(model_dir, paths, out)
    print(written)


def export(
    run_dir: Annotated[
        Path | None,
        typer.Argument(help="A training run directory (nuclass train --out); none with --pretrained."),
    ] = None,
    pretrained: PretrainedOption = False,
    out: Annotated[Path, typer.Option(help="ONNX file to write.")] = Path("model.onnx"),
):
    """The network as one ONNX graph: input `maps` (batch, 2, 100, 80) uint8 raw charge, the pixel transform
    inside, one output of scores per head; tasks, class names and the nuclass version in its metadata."""
    from rich.console import Console

    from nuclass.atomic import check_output_file
    from nuclass.export import export_onnx
    from nuclass.run_dir import RunDir

    check_output_file(out, "an ONNX file")
    if pretrained == (run_dir is not None):
        raise NuclassError("give RUN_DIR or --pretrained (one of them)")
    if pretrained:
        from nuclass.shipped import PRETRAINED_DIR, model_card

        model_card()
        run_dir = PRETRAINED_DIR
    else:
        RunDir(run_dir).require(*RunDir.MODEL_FILES)
    with Console(stderr=True).status(f"exporting {run_dir}"):
        written = export_onnx(run_dir, out)
    print(written)

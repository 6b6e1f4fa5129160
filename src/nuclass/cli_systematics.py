"""The `nuclass systematics` command (cli.py registers it with the others): the options, the catalogue
checked before torch loads, progress bars per sample, the result as sentences."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["systematics"]


def systematics(
    run_dir: Annotated[
        Path | None,
        typer.Argument(help="A training run directory (nuclass train --out); none with --pretrained."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory for systematics.json, plots/ and samples/.")] = Path(
        "systematics"
    ),
    pretrained: Annotated[
        bool, typer.Option("--pretrained", help="Measure the network shipped in the package.")
    ] = False,
    task: Annotated[
        str | None,
        typer.Option(help="The head to measure, for a network with several (e.g. the shipped one)."),
    ] = None,
    variants: Annotated[
        list[str] | None,
        typer.Option(
            help="Variations, systematics (energy-scale), groups (detector, physics, mix, extremes) "
            "or a variations YAML; repeat or separate by commas (default: the whole catalogue)."
        ),
    ] = None,
    events: Annotated[int, typer.Option(min=1, help="Simulated events per sample.")] = 10_000,
    seed: Annotated[
        int, typer.Option(help="Generator seed of the samples (the same for every variation).")
    ] = 18,
    bootstrap: Annotated[int, typer.Option(min=2, help="Bootstrap replicas of the paired errors.")] = 200,
    threads: Annotated[int | None, typer.Option(min=1, help="torch threads (default: all cores).")] = None,
):
    """The run's model on varied simulations: each headline metric's shift with its paired error, and the
    totals in quadrature per group (detector response, physics, event mix) → OUT/systematics.json.

    Every sample comes from the same generator seed, so a variation of the detector sees the same
    interactions as the nominal sample; the event-mix variations reweight the nominal sample.
    """
    from nuclass.systematics import select_variations

    chosen = select_variations([n for v in variants or [] for n in v.split(",") if n.strip()])
    import torch

    from nuclass.console import study_progress
    from nuclass.errors import NuclassError
    from nuclass.systematics import ModelSource, run_systematics

    if pretrained == (run_dir is not None):
        raise NuclassError("give RUN_DIR or --pretrained (one of them)")
    if pretrained:
        from nuclass.shipped import PRETRAINED_DIR, model_card

        model_card()  # an incomplete installation fails here
        run_dir = PRETRAINED_DIR
    if threads:
        torch.set_num_threads(threads)
    model = ModelSource.from_run(run_dir, task)
    with study_progress() as progress:
        result = run_systematics(
            model, out, chosen, n_events=events, seed=seed, n_boot=bootstrap, progress=progress
        )
    for line in result["sentences"]:
        print(line)
    print(Path(out) / "systematics.json")

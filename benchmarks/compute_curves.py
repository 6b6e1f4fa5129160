"""Compute curves: each network's balanced-test ROC AUC at several training budgets in CPU-seconds, on the
same files, the same split and the same test events, with the paired (DeLong) error of every difference
to cvn; a markdown table (saying where cvn does not lead by more than twice the paired error) and a figure.

Each training stops after its budget of CPU-seconds (TrainConfig.max_cpu_seconds: the training process's
threads, its loader's included; the cosine schedule of cvn anneals over it) and validates every
--val-fraction of its budget. The trainings run as child processes of compare_models.py, --parallel at a
time (one torch thread and one loader thread each by default), so a budget does not depend on the load.

    .venv/bin/python benchmarks/compute_curves.py --data sim/ --tasks numu-cc nue-cc \
        --budgets 120 480 1920 --parallel 2 --out curves --markdown curves.md --figure curves.png

Total CPU ≈ Σ budgets × models × tasks (+ ≈ 10 % for indexing and the test predictions): 2,520 × 3 × 2 ≈
15,000 CPU-seconds (4.2 h) for the defaults, ≈ 2.3 h of wall time with --parallel 2 on an idle 2-core
machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from compare_models import run_concurrently

from nuclass.labels import TASKS
from nuclass.models import list_models
from nuclass.stats import DIFFERENCE_SIGMA, paired_roc_auc, significant_difference
from nuclass.training import TrainConfig

REFERENCE = "cvn"


def configs(args: argparse.Namespace, out: Path) -> list[TrainConfig]:
    """One training per task × budget × model, all on the same files, split seed and test events."""
    return [
        TrainConfig(task=task, data=tuple(args.data), out=str(out / f"{task}-{budget:g}s-{model}"),
                    model=model, max_cpu_seconds=float(budget),
                    val_every_minutes=max(0.01, budget * args.val_fraction / 60), seed=args.seed,
                    threads=args.threads, num_workers=args.num_workers, progress=False,
                    max_events_per_file=args.max_events_per_file, val_events=args.val_events)
        for task in args.tasks for budget in args.budgets for model in args.models
    ]


def _balanced_test(row: dict) -> dict[str, np.ndarray]:
    with np.load(row["summary"]["predictions"]["balanced"]) as z:
        return {k: z[k] for k in ("score", "target", "file_index", "row")}


def curve_points(rows: list[dict], models: list[str]) -> list[dict]:
    """Per task and budget: each model's balanced-test ROC AUC ± error, and its difference to cvn with the
    paired error (all models scored on the very same events: checked)."""
    points = []
    groups: dict[tuple[str, float], dict[str, dict]] = {}
    for r in rows:
        config = r["summary"]["config"]
        groups.setdefault((config["task"], config["max_cpu_seconds"]), {})[r["model"]] = r
    for (task, budget), by_model in groups.items():
        tests = {m: _balanced_test(by_model[m]) for m in models}
        reference = tests[models[0]]
        for m, t in tests.items():
            if not (np.array_equal(t["file_index"], reference["file_index"]) and
                    np.array_equal(t["row"], reference["row"])):
                raise SystemExit(f"{task} at {budget:g} s: {m} was tested on other events than {models[0]}")
        ref = tests.get(REFERENCE, reference)
        for m in models:
            paired = paired_roc_auc(ref["target"], tests[m]["score"][:, 0], ref["score"][:, 0])
            summary = by_model[m]["summary"]
            training = summary["training"]
            stopped = ("early stop" if summary["stopped_early"] else
                       "epochs" if summary["epochs_run"] >= summary["config"]["max_epochs"] else "budget")
            points.append({"task": task, "budget": budget, "model": m, "stopped": stopped,
                           "auc": paired.auc_a, "auc_err": paired.error_a, "delta": -paired.difference,
                           "delta_err": paired.difference_error, "cpu": training["cpu_seconds"],
                           "events": training["events_trained"], "n_test": len(ref["target"])})
    return points


def table(points: list[dict]) -> str:
    """Markdown: one row per task, budget and model; Δ = cvn − model with its paired error."""
    lines = ["| task | budget (CPU s) | model | CPU s used | stopped by | events trained "
             "| balanced-test ROC AUC | cvn − model (paired error) | cvn leads by > 2σ? |",
             "| --- | ---: | --- | ---: | --- | ---: | ---: | ---: | --- |"]
    for p in points:
        delta, verdict = "—", "—"
        if p["model"] != REFERENCE:
            delta = f"{p['delta']:+.4f} ± {p['delta_err']:.4f}"
            if not significant_difference(p["delta"], p["delta_err"]):
                verdict = f"**no**: within {DIFFERENCE_SIGMA:g}σ"
            else:
                verdict = "yes" if p["delta"] > 0 else f"**no**: {p['model']} leads"
        lines.append(f"| {p['task']} | {p['budget']:g} | {p['model']} | {p['cpu']:.0f} | {p['stopped']} | "
                     f"{p['events']:,} | "
                     f"{p['auc']:.4f} ± {p['auc_err']:.4f} | {delta} | {verdict} |")
    return "\n".join(lines)


def figure(points: list[dict], path: Path) -> None:
    """ROC AUC against the CPU budget (log scale), one panel per task, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    tasks = list(dict.fromkeys(p["task"] for p in points))
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.5 * len(tasks), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        for model in dict.fromkeys(p["model"] for p in points):
            mine = sorted((p for p in points if p["task"] == task and p["model"] == model),
                          key=lambda p: p["budget"])
            ax.errorbar([p["budget"] for p in mine], [p["auc"] for p in mine],
                        yerr=[p["auc_err"] for p in mine], marker="o", capsize=3, label=model)
        budgets = sorted({p["budget"] for p in points if p["task"] == task})
        ax.set(xscale="log", xlabel="training budget (CPU-seconds)", ylabel="balanced-test ROC AUC",
               title=f"{task} (test: {mine[0]['n_test']:,} events)")
        ax.set_xticks(budgets, [f"{b:g}" for b in budgets])  # the budgets themselves, plainly
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", required=True, help="Files or directories (split by file).")
    parser.add_argument("--tasks", nargs="+", default=["numu-cc", "nue-cc"],
                        choices=[t for t, v in TASKS.items() if v.kind == "binary"])
    parser.add_argument("--models", nargs="+", default=list_models(), choices=list_models())
    parser.add_argument("--budgets", type=float, nargs="+", default=[120, 480, 1920], help="CPU-seconds.")
    parser.add_argument("--val-fraction", type=float, default=0.125,
                        help="Validate every this fraction of the budget (wall minutes ≈ CPU at 1 thread).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per training")
    parser.add_argument("--num-workers", type=int, default=1, help="loader threads per training")
    parser.add_argument("--parallel", type=int, default=2, help="Trainings at a time.")
    parser.add_argument("--max-events-per-file", type=int, default=None)
    parser.add_argument("--val-events", type=int, default=2048)
    parser.add_argument("--out", type=Path, default=None, help="Keep the runs here (default: a temp dir).")
    parser.add_argument("--markdown", type=Path, default=None, help="Append the table to this file.")
    parser.add_argument("--figure", type=Path, default=None, help="Write the figure here (PNG).")
    args = parser.parse_args(argv)
    if REFERENCE not in args.models:
        parser.error(f"the curves compare every model with {REFERENCE}: include it in --models")

    out = args.out or Path(tempfile.mkdtemp(prefix="nuclass-curves-"))
    out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    rows = run_concurrently(configs(args, out), args.parallel)
    points = curve_points(rows, args.models)
    text = (f"Compute curves: {', '.join(args.tasks)}; budgets {', '.join(f'{b:g}' for b in args.budgets)} "
            f"CPU-seconds; {args.threads} torch thread(s) + {args.num_workers} loader thread(s) each, "
            f"{args.parallel} at a time; split seed {args.seed}; load average {load:.1f} at start, "
            f"{os.getloadavg()[0]:.1f} at the end; runs in {out}. Errors: DeLong (paired for the "
            f"differences, on the same balanced test events).\n\n" + table(points) + "\n")
    print("\n" + text, flush=True)
    if args.markdown:
        with args.markdown.open("a") as f:
            f.write(text + "\n")
    if args.figure:
        figure(points, args.figure)
    return points


if __name__ == "__main__":
    main(sys.argv[1:])

"""Compare the networks at the same budget: cvn, seed-multiview and seed-2ch trained on the same files, the
same split (same seed) and the same --max-minutes, then scored on the balanced and the natural test sets.

By default the models of one task train CONCURRENTLY, one process each with one torch thread and one
loader thread, so that on a shared machine they suffer the same load; each run's summary (train()'s,
kept in RUN_DIR/summary.json) says the events it trained, its training CPU-seconds, wall seconds and
validation seconds. `--sequential` trains them one after the other instead.

Classification: balanced accuracy and ROC AUC (one-vs-rest macro for several classes), from sklearn.
Regression: resolution (RMS of (pred − true) / true), bias, and mean squared error in the task's unit.
Prints a markdown table per task and, with --markdown FILE, appends it to FILE.

    .venv/bin/python benchmarks/compare_models.py --data FILES... --tasks numu-cc nue-cc --max-minutes 4
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score, mean_squared_error, roc_auc_score

from nuclass.evaluation import bias, resolution
from nuclass.labels import TASKS, Task
from nuclass.models import list_models
from nuclass.training import TrainConfig, train


def score_test_set(task: Task, npz: Path) -> dict[str, float]:
    """The comparison's figures for one predictions file."""
    z = np.load(npz)
    target, score = z["target"], z["score"]
    if task.kind == "regression":
        return {"n": len(target), "resolution": resolution(score, target), "bias": bias(score, target),
                "mse": float(mean_squared_error(target, score))}
    if task.kind == "binary":
        predicted, auc = (score[:, 0] >= 0.5).astype(int), roc_auc_score(target, score[:, 0])
    else:
        present = np.unique(target)
        predicted = score.argmax(axis=1)
        sub = score[:, present] / score[:, present].sum(axis=1, keepdims=True)
        auc = roc_auc_score(target, sub, multi_class="ovr", average="macro", labels=present)
    return {"n": len(target), "balanced_accuracy": float(balanced_accuracy_score(target, predicted)),
            "roc_auc": float(auc)}


def run_one(config: TrainConfig) -> dict:
    """Train one model in this process: its summary (events trained and CPU-seconds in
    summary["training"]) and the test-set scores."""
    summary = train(config)
    task = TASKS[config.task]
    row = {"model": config.model, "summary": summary}
    for test_set in ("balanced", "natural"):
        row[test_set] = score_test_set(task, Path(summary["predictions"][test_set]))
    return row


def run_concurrently(configs: list[TrainConfig], parallel: int | None = None) -> list[dict]:
    """One child process per config, at most `parallel` at a time (None: all together); their rows in the
    configs' order."""
    pending, running, rows = list(enumerate(configs)), [], {}
    while pending or running:
        while pending and len(running) < (parallel or len(configs)):
            k, config = pending.pop(0)
            result = Path(config.out).with_suffix(".json")
            log = Path(config.out).with_suffix(".log").open("w")
            args = [sys.executable, __file__, "--child", json.dumps(config.to_dict()), str(result)]
            running.append((k, subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT), result, log))
        finished = [job for job in running if job[1].poll() is not None]
        if not finished:
            time.sleep(0.5)
        for job in finished:
            running.remove(job)
            k, proc, result, log = job
            log.close()
            if proc.returncode != 0:
                raise SystemExit(f"training failed: see {log.name}")
            rows[k] = json.loads(result.read_text())
    return [rows[k] for k in range(len(configs))]


def table(task: Task, rows: list[dict]) -> str:
    """Markdown table: one row per model with its budget used and the test-set figures."""
    keys = ("resolution", "mse") if task.kind == "regression" else ("balanced_accuracy", "roc_auc")
    names = {"balanced_accuracy": "bal. acc.", "roc_auc": "ROC AUC", "resolution": "resolution", "mse": "MSE"}
    header = [f"{s} test: {names[k]}" for s in ("balanced", "natural") for k in keys]
    columns = ["task", "model", "parameters", "training events", "events trained", "CPU s training",
               "wall s training", "validation s", "epochs", *header]
    lines = ["| " + " | ".join(columns) + " |",
             "| --- | --- | " + " | ".join("---:" for _ in columns[2:]) + " |"]
    for r in rows:
        s, t = r["summary"], r["summary"]["training"]
        values = [f"{r[name][k]:.4f}" for name in ("balanced", "natural") for k in keys]
        lines.append(f"| {task.name} | {r['model']} | {s['n_parameters']:,} | {s['n_events']['train']:,} | "
                     f"{t['events_trained']:,} | {t['cpu_seconds']:.0f} | {t['train_seconds']:.0f} | "
                     f"{t['validation_seconds']:.0f} | {s['epochs_run']} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        row = run_one(TrainConfig.from_dict(json.loads(sys.argv[2])))
        Path(sys.argv[3]).write_text(json.dumps(row))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", required=True, help="Files or directories (split by file).")
    parser.add_argument("--tasks", nargs="+", default=["numu-cc"], choices=list(TASKS))
    parser.add_argument("--models", nargs="+", default=list_models(), choices=list_models())
    parser.add_argument("--max-minutes", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per training process")
    parser.add_argument("--max-events-per-file", type=int, default=None)
    parser.add_argument("--val-every-minutes", type=float, default=None,
                        help="Validate every this many minutes (all models; default: once per epoch).")
    parser.add_argument("--precision", default="32-true", help="Lightning precision for every model, "
                        "e.g. bf16-mixed.")
    parser.add_argument("--sequential", action="store_true", help="One model after the other, here.")
    parser.add_argument("--out", type=Path, default=None, help="Keep the runs here (default: a temp dir).")
    parser.add_argument("--markdown", type=Path, default=None, help="Append the tables to this file.")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="nuclass-compare-"))
    out.mkdir(parents=True, exist_ok=True)
    for task_name in args.tasks:
        task = TASKS[task_name]
        configs = [
            TrainConfig(task=task_name, data=tuple(args.data), out=str(out / f"{task_name}-{name}"),
                        model=name, max_minutes=args.max_minutes, seed=args.seed,
                        num_workers=args.num_workers, threads=args.threads,
                        max_events_per_file=args.max_events_per_file, progress=False,
                        val_every_minutes=args.val_every_minutes, precision=args.precision)
            for name in args.models
        ]
        load = os.getloadavg()[0]
        rows = [run_one(c) for c in configs] if args.sequential else run_concurrently(configs)
        n = rows[0]["summary"]["n_events"]
        mode = "one after the other" if args.sequential else "concurrently"
        text = (f"task {task_name}: {len(args.models)} models trained {mode}, {args.max_minutes:g} min each, "
                f"{args.threads} torch thread(s) + {args.num_workers} data worker(s) per model, "
                f"precision {args.precision}, "
                f"seed {args.seed}, load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at the end; "
                f"test events natural {n['test_natural']:,}, "
                f"balanced {n['test_balanced']:,}; runs in {out}\n\n" + table(task, rows) + "\n")
        print("\n" + text, flush=True)
        if args.markdown:
            with args.markdown.open("a") as f:
                f.write(text + "\n")


if __name__ == "__main__":
    main()

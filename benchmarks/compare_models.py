"""Compare the networks at the same budget: cvn, seed-multiview and seed-2ch trained on the same files, the
same split (same seed) and the same --max-minutes, then scored on the balanced and the natural test sets.

Classification: balanced accuracy and ROC AUC (one-vs-rest macro for several classes), from sklearn.
Regression: bias and resolution of (pred − true) / true. Prints a markdown table.

    .venv/bin/python benchmarks/compare_models.py --data DIR [--task numu-cc] [--max-minutes 4] [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from nuclass.labels import TASKS, Task
from nuclass.models import list_models
from nuclass.train import TrainConfig, train


def score_test_set(task: Task, npz: Path) -> dict[str, float]:
    """The comparison's figures for one predictions file."""
    z = np.load(npz)
    target, score = z["target"], z["score"]
    if task.kind == "regression":
        ratio = (score - target) / target
        return {"n": len(target), "bias": float(ratio.mean()), "resolution": float(np.sqrt(np.mean(ratio**2)))}
    if task.kind == "binary":
        predicted, auc = (score[:, 0] >= 0.5).astype(int), roc_auc_score(target, score[:, 0])
    else:
        present = np.unique(target)
        predicted = score.argmax(axis=1)
        sub = score[:, present] / score[:, present].sum(axis=1, keepdims=True)
        auc = roc_auc_score(target, sub, multi_class="ovr", average="macro", labels=present)
    return {"n": len(target), "balanced_accuracy": float(balanced_accuracy_score(target, predicted)),
            "roc_auc": float(auc)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", required=True, help="Files or directories (split by file).")
    parser.add_argument("--task", default="numu-cc", choices=list(TASKS))
    parser.add_argument("--models", nargs="+", default=list_models(), choices=list_models())
    parser.add_argument("--max-minutes", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--max-events-per-file", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="Keep the runs here (default: a temporary dir).")
    args = parser.parse_args()

    task = TASKS[args.task]
    out = args.out or Path(tempfile.mkdtemp(prefix="nuclass-compare-"))
    results = []
    for name in args.models:
        config = TrainConfig(task=args.task, data=tuple(args.data), out=str(out / name), model=name,
                             max_minutes=args.max_minutes, seed=args.seed, num_workers=args.num_workers,
                             threads=args.threads, max_events_per_file=args.max_events_per_file, progress=False)
        summary = train(config)
        row = {"model": name, "summary": summary}
        for test_set in ("balanced", "natural"):
            row[test_set] = score_test_set(task, Path(summary["predictions"][test_set]))
        results.append(row)

    first = results[0]["summary"]
    print(f"\ntask {args.task}, {args.max_minutes:g} min per model, seed {args.seed}, runs in {out}; "
          f"events train {first['n_events']['train']:,}, test natural {first['n_events']['test_natural']:,}, "
          f"balanced {first['n_events']['test_balanced']:,}\n")
    keys = ("bias", "resolution") if task.kind == "regression" else ("balanced_accuracy", "roc_auc")
    header = [f"{s} {k.replace('_', ' ')}" for s in ("balanced", "natural") for k in keys]
    print("| model | parameters | epochs | " + " | ".join(header) + " |")
    print("| --- | ---: | ---: | " + " | ".join("---:" for _ in header) + " |")
    for r in results:
        s = r["summary"]
        values = [f"{r[t][k]:.4f}" for t in ("balanced", "natural") for k in keys]
        print(f"| {r['model']} | {s['n_parameters']:,} | {s['epochs_run']} | " + " | ".join(values) + " |")


if __name__ == "__main__":
    main()

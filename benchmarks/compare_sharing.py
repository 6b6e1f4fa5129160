"""Does sharing help? One multi-task cvn (every task, one trunk) against six single-task cvn runs at the same
total CPU budget: the multi-task run gets --minutes, each single-task run --minutes / (number of tasks), all
with the same files, split (seed), threads, one after the other on an otherwise idle machine.

Every figure is computed on the same test events for both (the same split gives each task the same test
events; checked), so the difference multi − single has a paired bootstrap error (events resampled together,
--bootstrap times): classification tasks ROC AUC (one-vs-rest macro for several classes) and balanced
accuracy, regressions resolution (RMS of (pred − true)/true) and spread (its standard deviation), all on
the natural test set. Prints a markdown table and, with --markdown FILE, appends it there.

    .venv/bin/python benchmarks/compare_sharing.py --data sim --minutes 60 --threads 2 --out runs/sharing
    .venv/bin/python benchmarks/compare_sharing.py --data sim --minutes 0.6 --max-events-per-file 300  # smoke
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from nuclass.evaluation import resolution
from nuclass.evaluation.metrics import spread
from nuclass.labels import TASKS, Task
from nuclass.training import TrainConfig, train

FIGURES = {"classification": ("roc_auc", "balanced_accuracy"), "regression": ("resolution", "spread")}
LOWER_IS_BETTER = {"resolution", "spread"}


def figure(task: Task, name: str, target: np.ndarray, score: np.ndarray) -> float:
    """One figure of a test set (see FIGURES)."""
    if name == "resolution":
        return resolution(score, target)
    if name == "spread":
        return spread(score, target)
    if task.kind == "binary":
        p = score[:, 0] if score.ndim == 2 else score
        if name == "roc_auc":
            return float(roc_auc_score(target, p))
        return float(balanced_accuracy_score(target, (p >= 0.5).astype(int)))
    if name == "roc_auc":
        present = np.unique(target)
        sub = score[:, present] / score[:, present].sum(axis=1, keepdims=True)
        if len(present) == 2:  # two classes in this set: sklearn takes the second one's score
            return float(roc_auc_score(target == present[1], sub[:, 1]))
        return float(roc_auc_score(target, sub, multi_class="ovr", average="macro", labels=present))
    return float(balanced_accuracy_score(target, score.argmax(axis=1)))


def paired(task: Task, name: str, target: np.ndarray, multi: np.ndarray, single: np.ndarray,
           n_boot: int, seed: int) -> dict[str, float]:
    """Both figures, their bootstrap errors, and the difference multi − single with its paired error."""
    rng = np.random.default_rng(seed)
    values = {"multi": figure(task, name, target, multi), "single": figure(task, name, target, single)}
    draws = []
    with warnings.catch_warnings():  # a resample missing a class: sklearn's warnings, a figure all the same
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(n_boot):
            i = rng.integers(0, len(target), len(target))
            draws.append((figure(task, name, target[i], multi[i]), figure(task, name, target[i], single[i])))
    draws = np.asarray(draws)
    return {**values, "multi_err": float(draws[:, 0].std(ddof=1)),
            "single_err": float(draws[:, 1].std(ddof=1)),
            "difference": values["multi"] - values["single"],
            "difference_err": float((draws[:, 0] - draws[:, 1]).std(ddof=1))}


def run_training(config: TrainConfig, reuse: bool = False) -> dict:
    """Train in a child process (its own CPU accounting); the summary (with `reuse`, that of a training
    already done in config.out)."""
    result = Path(config.out).with_suffix(".json")
    if reuse and result.is_file():
        return json.loads(result.read_text())
    log = Path(config.out).with_suffix(".log")
    with log.open("w") as f:
        child = [sys.executable, __file__, "--child", json.dumps(config.to_dict()), str(result)]
        code = subprocess.run(child, stdout=f, stderr=subprocess.STDOUT).returncode
    if code != 0:
        raise SystemExit(f"training failed: see {log}")
    return json.loads(result.read_text())


def _load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k] for k in ("score", "target", "file_index", "row")}


def compare(out: Path, tasks: list[str], summaries: dict[str, dict], n_boot: int, seed: int) -> list[dict]:
    rows = []
    for name in tasks:
        task = TASKS[name]
        multi = _load(out / "multi" / "predictions" / name / "natural.npz")
        single = _load(out / name / "predictions" / "natural.npz")
        files = [json.loads((out / d / "split.json").read_text())["test"] for d in ("multi", name)]
        if files[0] != files[1]:
            raise SystemExit(f"{name}: the multi-task and single-task runs test on other files; same --seed?")
        # the same events: all of them, unless --max-events-per-file cut each run's files differently
        keys = [r["file_index"].astype(np.int64) * (1 << 40) + r["row"] for r in (multi, single)]
        common, in_multi, in_single = np.intersect1d(keys[0], keys[1], return_indices=True)
        multi = {k: v[in_multi] for k, v in multi.items()}
        single = {k: v[in_single] for k, v in single.items()}
        kind = "classification" if task.is_classification else "regression"
        for fig in FIGURES[kind]:
            rows.append({"task": name, "figure": fig, "n": len(multi["target"]),
                         "single_cpu_s": summaries[name]["train_cpu_seconds"],
                         **paired(task, fig, multi["target"], multi["score"], single["score"], n_boot, seed)})
    return rows


def table(rows: list[dict], summaries: dict[str, dict]) -> str:
    lines = ["| task | figure (natural test set) | test events | multi-task cvn | single-task cvn | "
             "multi − single | in σ | single-task training CPU s |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        sigma = r["difference"] / r["difference_err"] if r["difference_err"] > 0 else float("nan")
        better = "lower is better" if r["figure"] in LOWER_IS_BETTER else "higher is better"
        lines.append(f"| {r['task']} | {r['figure']} ({better}) | {r['n']:,} | "
                     f"{r['multi']:.4f} ± {r['multi_err']:.4f} | {r['single']:.4f} ± {r['single_err']:.4f} | "
                     f"{r['difference']:+.4f} ± {r['difference_err']:.4f} | {sigma:+.1f} | "
                     f"{r['single_cpu_s']:.0f} |")
    multi = summaries["multi"]
    singles = sum(s["train_cpu_seconds"] for k, s in summaries.items() if k != "multi")
    lines.append("")
    lines.append(f"Training CPU-seconds: multi-task {multi['train_cpu_seconds']:.0f}, the single-task runs "
                 f"together {singles:.0f}; training events seen per run in the runs' metrics.csv.")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        summary = train(TrainConfig.from_dict(json.loads(sys.argv[2])))
        Path(sys.argv[3]).write_text(json.dumps(summary))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", required=True, help="Files or directories (split by file).")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--minutes", type=float, default=60.0, help="the multi-task run's wall-time budget")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of every training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-events-per-file", type=int, default=None)
    parser.add_argument("--val-every-minutes", type=float, default=None,
                        help="default: a twentieth of the single-task budget, at least 0.1")
    parser.add_argument("--multi-balance", default="weights", choices=["weights", "sampler", "none"])
    parser.add_argument("--loss-weighting", default="fixed", choices=["fixed", "uncertainty"])
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--reuse", action="store_true", help="keep trainings already done in --out")
    parser.add_argument("--out", type=Path, default=None, help="Keep the runs here (default: a temp dir).")
    parser.add_argument("--markdown", type=Path, default=None, help="Append the table to this file.")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="nuclass-sharing-"))
    out.mkdir(parents=True, exist_ok=True)
    single_minutes = args.minutes / len(args.tasks)
    val_every = args.val_every_minutes or max(0.1, single_minutes / 20)
    common = dict(data=tuple(args.data), model="cvn", seed=args.seed, threads=args.threads, progress=False,
                  max_events_per_file=args.max_events_per_file, val_every_minutes=val_every)
    load = os.getloadavg()[0]
    summaries = {"multi": run_training(TrainConfig(
        task=",".join(args.tasks) if len(args.tasks) < len(TASKS) else "all", out=str(out / "multi"),
        max_minutes=args.minutes, balance=args.multi_balance, loss_weighting=args.loss_weighting, **common),
        args.reuse)}
    for name in args.tasks:  # each with its own recipe's balance, as `nuclass train --task NAME` trains it
        summaries[name] = run_training(TrainConfig(task=name, out=str(out / name), max_minutes=single_minutes,
                                                   **common), args.reuse)
    rows = compare(out, args.tasks, summaries, args.bootstrap, args.seed)
    text = (f"multi-task cvn ({args.minutes:g} min, balance {args.multi_balance}, loss weighting "
            f"{args.loss_weighting}) against {len(args.tasks)} single-task cvn runs "
            f"({single_minutes:.3g} min each), {args.threads} thread(s) each, one after the other, seed "
            f"{args.seed}, load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at the end; errors: "
            f"paired bootstrap "
            f"({args.bootstrap} resamples of the test events); runs in {out}\n\n"
            + table(rows, summaries) + "\n")
    print("\n" + text, flush=True)
    (out / "sharing.json").write_text(json.dumps({"rows": rows, "args": vars(args) | {"out": str(out)}},
                                                 default=str, indent=1))
    if args.markdown:
        with args.markdown.open("a") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()

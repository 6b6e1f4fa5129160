"""Whole-run efficiency: events trained per second of a whole `train()` run (Trainer.fit's wall time,
validations, checkpoints and the loader included) ÷ the bare step rate of the same network in the same
process (bench_train.step_rate: forward, backward and the recipe's optimiser on in-memory batches).

Per model: the bare rate for --bare-seconds, a whole run of --minutes (validating once per epoch, as
the CLI does by default, or every --val-every-minutes), then the bare rate again; the ratio uses the
mean of the two bare rates, so a machine whose load drifts during the run is seen in the two. The same
ratio per CPU-second (the whole run's CPU: its threads and data workers) is what to read on a shared
machine, where the wall-time rates follow the share of the cores the process gets. Also the run's
breakdown from its summary (validation, time between steps) where the code keeps one. Prints a markdown
table and the load average.

    .venv/bin/python benchmarks/bench_efficiency.py [--models cvn seed-multiview seed-2ch] [--minutes 3]
        [--val-every-minutes M] [--threads N] [--num-workers 1] [--precision 32-true] [--progress]

"Before" figures: the same script with an older checkout first on the path, e.g.
`git worktree add --detach /tmp/old 449b1f0; PYTHONPATH=/tmp/old/src .venv/bin/python benchmarks/...`
(older code trains on normalised maps and keeps no summary: events come from metrics.csv).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_train import bare_module, simulated_files, step_rate


def cpu_now() -> float:
    """CPU-seconds of this process (all threads) and its finished children (older code's data workers)."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def timed_fit() -> dict[str, float]:
    """Wrap lightning's Trainer.fit so that each call's wall and CPU seconds land in the returned dict
    ("fit", "fit_cpu"; the CPU of data worker processes counts once they have exited, at the end of fit)."""
    import lightning.pytorch as pl

    seen: dict[str, float] = {}
    fit = pl.Trainer.fit

    def wrapped(self, *args, **kwargs):
        start, cpu = time.perf_counter(), cpu_now()
        try:
            return fit(self, *args, **kwargs)
        finally:
            seen["fit"], seen["fit_cpu"] = time.perf_counter() - start, cpu_now() - cpu

    pl.Trainer.fit = wrapped
    return seen


def events_trained(summary: dict, run: Path) -> int:
    """Events of the run's training steps: the summary's count, or (older code) the last metrics.csv
    step × the batch size (a time budget always ends with a validation, so its row is the last step)."""
    if "training" in summary:
        return int(summary["training"]["events_trained"])
    with (run / "metrics.csv").open(newline="") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    return max(steps, default=0) * int(summary["config"]["batch_size"])


def measure(model: str, files: list[Path], args: argparse.Namespace, fits: dict, out: Path) -> dict:
    """One model: bare rate, whole run, bare rate again."""
    import torch

    from nuclass.io import read_file
    from nuclass.training import TrainConfig, train

    threads = args.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    maps = read_file(files[0]).maps[:512]

    def bare(clock) -> float:
        return step_rate(bare_module(model), maps, args.precision, None, args.bare_seconds, clock)

    before, before_cpu = bare(time.perf_counter), bare(time.process_time)
    config = TrainConfig(task="numu-cc", data=tuple(map(str, files)), out=str(out / model), model=model,
                         max_minutes=args.minutes, val_every_minutes=args.val_every_minutes, threads=threads,
                         num_workers=args.num_workers, progress=args.progress, precision=args.precision)
    summary = train(config)
    after_cpu, after = bare(time.process_time), bare(time.perf_counter)
    events = events_trained(summary, Path(config.out))
    run_rate, run_cpu_rate = events / fits["fit"], events / fits["fit_cpu"]
    breakdown = summary.get("training", {})
    return {"model": model, "bare": (before, after), "bare_cpu": (before_cpu, after_cpu), "events": events,
            "fit": fits["fit"], "fit_cpu": fits["fit_cpu"], "run_rate": run_rate,
            "run_cpu_rate": run_cpu_rate, "ratio": run_rate / np.mean([before, after]),
            "ratio_cpu": run_cpu_rate / np.mean([before_cpu, after_cpu]),
            "validation": breakdown.get("validation_seconds"),
            "between": breakdown.get("between_steps_seconds")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["cvn", "seed-multiview", "seed-2ch"])
    parser.add_argument("--minutes", type=float, default=3.0, help="Each whole run's time budget.")
    parser.add_argument("--val-every-minutes", type=float, default=None,
                        help="Validation cadence (default: once per epoch, the CLI's default; a time budget "
                        "ends with a validation either way).")
    parser.add_argument("--bare-seconds", type=float, default=20.0, help="Each bare-rate measurement.")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores).")
    parser.add_argument("--num-workers", type=int, default=1)
    parser.add_argument("--precision", default="32-true")
    parser.add_argument("--progress", action="store_true", help="Runs with the progress bar on (the CLI's "
                        "default), drawn to this terminal.")
    parser.add_argument("--files", type=int, default=10, help="Simulated files (split 8 / 1 / 1).")
    parser.add_argument("--events-per-file", type=int, default=5000)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "nuclass-bench-train")
    args = parser.parse_args()

    import nuclass

    files = simulated_files(args.cache, args.files, args.events_per_file)
    fits = timed_fit()
    load = os.getloadavg()
    cadence = f"every {args.val_every_minutes:g} min" if args.val_every_minutes else "once per epoch"
    print(f"nuclass {nuclass.__version__} from {Path(nuclass.__file__).parent}, python "
          f"{platform.python_version()}, {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} "
          f"(1 / 5 min) at start; numu-cc on {args.files} files × {args.events_per_file:,} events, "
          f"{args.minutes:g} min runs validating {cadence}, threads "
          f"{args.threads or 'all'}, {args.num_workers} loader worker(s), {args.precision}, progress bar "
          f"{'on' if args.progress else 'off'}\n", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            rows.append(measure(model, files, args, fits, Path(tmp)))
            print(f"  {model}: done, load average {os.getloadavg()[0]:.1f}", flush=True)
    print("\n| model | bare events/s (before / after) | whole run events/s | **ratio** | bare events "
          "per CPU-s (before / after) | whole run events per CPU-s | **ratio per CPU-s** | events trained "
          "| fit s | fit CPU-s | validation s | between steps s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        extra = " | ".join("—" if r[k] is None else f"{r[k]:.1f}" for k in ("validation", "between"))
        print(f"| {r['model']} | {r['bare'][0]:,.0f} / {r['bare'][1]:,.0f} | {r['run_rate']:,.0f} | "
              f"**{r['ratio']:.2f}** | {r['bare_cpu'][0]:,.0f} / {r['bare_cpu'][1]:,.0f} | "
              f"{r['run_cpu_rate']:,.0f} | **{r['ratio_cpu']:.2f}** | {r['events']:,} | {r['fit']:.1f} | "
              f"{r['fit_cpu']:.1f} | {extra} |")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()

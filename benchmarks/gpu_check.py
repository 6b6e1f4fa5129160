"""GPU check, in under 5 minutes: on a machine with a CUDA GPU, simulate a few files, time the training
loader alone, train cvn for one minute with `--accelerator gpu --precision bf16-mixed`, and print the
step rate, the loader's rate, the GPU memory and whether the loader kept the GPU busy. Without a CUDA
GPU it says so and exits 0 (the test suite runs that path).

    .venv/bin/python benchmarks/gpu_check.py [--minutes 1] [--workers N] [--batch-size 64] [--files 6]

"Kept busy": the time between one training step's end and the next one's start (waiting for the next
batch and its copy to the GPU, mostly; run summary "between_steps_seconds") is under 5 % of the training
time outside validation. If it is not, the loader needs more --workers (see the loader's rate).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

BUSY_LIMIT = 0.05  # fraction of training time the steps may wait between them


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="Training time budget.")
    parser.add_argument("--workers", type=int, default=None,
                        help="Loader threads (default: enough for 50,000 events/s by the loader's rate).")
    parser.add_argument("--batch-size", type=int, default=None, help="Default: cvn's recipe (64).")
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--events-per-file", type=int, default=5000)
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU found (torch.cuda.is_available() is False): nothing to check.")
        return 0
    from bench_train import loader_speed

    from nuclass.sim import simulate_files
    from nuclass.training import TrainConfig, train

    name = torch.cuda.get_device_name(0)
    print(f"gpu_check: {name}, torch {torch.__version__}, {os.cpu_count()} CPU cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="nuclass-gpu-check-") as tmp:
        data = Path(tmp) / "data"
        start = time.perf_counter()
        simulate_files(data, args.files, args.events_per_file, seed=0, overwrite=True)
        files = sorted(data.glob("neutrino*.h5"))
        print(f"simulated {args.files} files × {args.events_per_file:,} events in "
              f"{time.perf_counter() - start:.0f} s", flush=True)

        loader = loader_speed(files, workers=(1, 2, 4), epochs=1)
        per_worker = loader[0]["ev_cpu_s"]
        for r in loader:
            print(f"loader alone, {r['workers']} thread(s): {r['ev_s']:,.0f} events/s "
                  f"({r['ev_cpu_s']:,.0f} per CPU-second)", flush=True)
        workers = args.workers or max(1, min(8, -(-50_000 // int(per_worker)) + 1))

        torch.cuda.reset_peak_memory_stats()
        config = TrainConfig(task="numu-cc", data=tuple(map(str, files)), out=str(Path(tmp) / "run"),
                             model="cvn", accelerator="gpu", devices=1, precision="bf16-mixed",
                             max_minutes=args.minutes, val_every_minutes=args.minutes / 2,
                             num_workers=workers, batch_size=args.batch_size, progress=False)
        summary = train(config)
    t = summary["training"]
    stepping = max(1e-9, t["train_seconds"] - t["validation_seconds"])
    rate = t["events_trained"] / stepping
    waiting = t["between_steps_seconds"] / stepping
    best_loader = max(r["ev_s"] for r in loader)
    print(f"\ntraining cvn, bf16-mixed, batch {summary['config']['batch_size']}, {workers} loader threads: "
          f"{t['events_trained']:,} events in {stepping:.1f} s of steps = {rate:,.0f} events/s "
          f"(validation {t['validation_seconds']:.1f} s, whole run {t['train_seconds']:.1f} s)")
    print(f"loader alone: up to {best_loader:,.0f} events/s; {per_worker:,.0f} per loader thread")
    print(f"GPU memory: peak {torch.cuda.max_memory_allocated() / 2**20:,.0f} MiB allocated, "
          f"{torch.cuda.max_memory_reserved() / 2**20:,.0f} MiB reserved, of "
          f"{torch.cuda.get_device_properties(0).total_memory / 2**30:,.0f} GiB")
    busy = waiting < BUSY_LIMIT
    print(f"loader kept the GPU busy: {'yes' if busy else 'NO'} (steps waited {100 * waiting:.1f} % of the "
          f"time between them; limit {100 * BUSY_LIMIT:.0f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

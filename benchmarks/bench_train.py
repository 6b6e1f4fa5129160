"""Training benchmark: events/s of each model (train step, inference), of the streaming dataset, and peak
memory against the number of files.

1. Network speed on simulated maps, per model, for 1 and 2 torch threads: a training step (forward,
   backward, optimiser) at the model's recipe batch size, and inference in batches of 256.
2. Streaming-dataset speed: one shuffled epoch of reading (batches stay uint8), in the main process.
3. Peak memory (VmHWM of a fresh subprocess, and resource.getrusage for its largest data worker, which
   counts the pages it shares with its parent) while streaming one
   shuffled epoch over 1, 10 and 50 simulated files, and while training cvn for a few batches on them
   through `nuclass.training.train` (data workers counted separately). Prints markdown tables.

    .venv/bin/python benchmarks/bench_train.py [--files 1 10 50] [--events-per-file 1000] [--cache DIR]

Simulated files are cached in --cache (default: $TMPDIR/nuclass-bench-train) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def simulated_files(cache: Path, n_files: int, events_per_file: int) -> list[Path]:
    """neutrino1.h5 … neutrino{n_files}.h5 of `events_per_file` events, simulated once into `cache`."""
    from nuclass.sim import simulate_files

    folder = cache / f"e{events_per_file}"
    wanted = [folder / f"neutrino{k}.h5" for k in range(1, n_files + 1)]
    if not all(p.is_file() for p in wanted):
        folder.mkdir(parents=True, exist_ok=True)
        simulate_files(folder, n_files, events_per_file, seed=0, overwrite=True)
    return wanted


def network_speed(files: list[Path], threads: int, precision: str = "32-true", steps: int = 6) -> list[dict]:
    """Training and inference events/s per model, on real simulated maps; precision "bf16-mixed" runs
    both under bfloat16 autocast, as Lightning's bf16-mixed does."""
    import torch

    from nuclass.io import read_file
    from nuclass.models import create_model, list_models
    from nuclass.training import TaskModule, TrainConfig

    torch.set_num_threads(threads)
    maps = read_file(files[0]).maps[:256]
    rows = []
    for name in list_models():
        module = TaskModule(create_model(name, "numu-cc"), "numu-cc", TrainConfig(model=name))
        recipe = module.recipe
        x_all = torch.from_numpy(maps)  # raw uint8: every network applies its pixel transform itself
        x, y = x_all[: recipe.batch_size], torch.arange(recipe.batch_size) % 2
        optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
        autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed")
        module.train()
        for step in range(steps + 2):
            if step == 2:  # two warm-up steps (oneDNN primitive creation)
                start = time.perf_counter()
            optimizer.zero_grad()
            with autocast:
                out = module(x)
            module._loss(out.float(), y).backward()
            optimizer.step()
        train_rate = recipe.batch_size * steps / (time.perf_counter() - start)
        module.eval()
        with torch.inference_mode(), autocast:
            module(x_all)
            start = time.perf_counter()
            for _ in range(3):
                module(x_all)
            infer_rate = 3 * len(x_all) / (time.perf_counter() - start)
        rows.append({"model": name, "threads": threads, "precision": precision,
                     "parameters": sum(p.numel() for p in module.net.parameters()),
                     "batch": recipe.batch_size, "train_ev_s": train_rate, "infer_ev_s": infer_rate})
    return rows


def stream_speed(files: list[Path]) -> dict:
    """Events/s of one shuffled epoch through the streaming dataset (uint8 batches), main process."""
    from nuclass.data import StreamingDataset, build_index
    from nuclass.labels import TASKS

    index = build_index(files, TASKS["numu-cc"])
    dataset = StreamingDataset(index, TASKS["numu-cc"], batch_size=64, shuffle=True)
    start = time.perf_counter()
    n = sum(len(batch["pos"]) for batch in dataset)
    return {"events": n, "ev_s": n / (time.perf_counter() - start)}


_CHILD = r"""
import json, resource, sys, time
mode, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
start = time.perf_counter()
if mode == "stream":
    import torch
    from nuclass.data import StreamingDataset, build_index
    from nuclass.labels import TASKS
    index = build_index(files, TASKS["numu-cc"])
    dataset = StreamingDataset(index, TASKS["numu-cc"], batch_size=64, shuffle=True)
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=2, prefetch_factor=4)
    n = sum(len(batch["pos"]) for batch in loader)
else:
    from nuclass.training import load_config, train
    config = load_config("tiny", task="numu-cc", model="cvn", data=files, out=out, max_events_per_file=None,
                         batch_size=64, limit_train_batches=20, limit_val_batches=5, num_workers=2, threads=2,
                         buffer_events=2048, val_fraction=0.1, test_fraction=0.1)
    n = train(config)["n_events"]["train"]
# VmHWM: this process's own peak (ru_maxrss would include the launching process's peak, kept across exec)
self_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"events": n, "self_mb": self_kb / 1024, "worker_mb": children_kb / 1024,
                  "seconds": time.perf_counter() - start}))
"""


def peak_memory(files: list[Path], mode: str) -> dict:
    """Max RSS of a fresh process streaming one epoch (mode "stream") or training a few batches ("train")."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [sys.executable, "-c", _CHILD, mode, str(Path(tmp) / "run"), *map(str, files)]
        result = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--events-per-file", type=int, default=1000)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "nuclass-bench-train")
    parser.add_argument("--parts", nargs="+", default=["speed", "memory"], choices=["speed", "memory"])
    from nuclass.training.config import GPU_PRECISIONS, PRECISIONS

    parser.add_argument("--precision", nargs="+", default=["32-true"],
                        choices=[p for p in PRECISIONS if p not in GPU_PRECISIONS])
    args = parser.parse_args()

    files = simulated_files(args.cache, max(args.files), args.events_per_file)
    load = os.getloadavg()[0]
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load average {load:.1f} at start\n")

    if "speed" in args.parts:
        print("| model | parameters | threads | precision | batch | train events/s | inference events/s |")
        print("| --- | ---: | ---: | --- | ---: | ---: | ---: |")
        for threads in (1, 2):
            for precision in args.precision:
                for r in network_speed(files, threads, precision):
                    print(f"| {r['model']} | {r['parameters']:,} | {threads} | {precision} | {r['batch']} "
                          f"| {r['train_ev_s']:,.0f} | {r['infer_ev_s']:,.0f} |", flush=True)
        stream = stream_speed(files[: min(4, len(files))])
        print(f"\nstreaming dataset, one shuffled epoch, main process: {stream['events']:,} events at "
              f"{stream['ev_s']:,.0f} events/s\n")
    if "memory" not in args.parts:
        return
    print("| files | events | mode | peak RSS main (MB) | peak RSS largest worker (MB) | seconds |")
    print("| ---: | ---: | --- | ---: | ---: | ---: |")
    for n_files in args.files:
        for mode in ("stream", "train") if n_files >= 3 else ("stream",):  # training splits need 3 files
            r = peak_memory(files[:n_files], mode)
            print(f"| {n_files} | {n_files * args.events_per_file:,} | {mode} | {r['self_mb']:,.0f} "
                  f"| {r['worker_mb']:,.0f} | {r['seconds']:.1f} |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()

"""Training benchmark: events/s of each model (train step, inference), of the streaming dataset, and peak
memory against the number of files.

1. Network speed on simulated maps, per model, for 1 and 2 torch threads: a training step (forward,
   backward, optimiser) at the model's recipe batch size, and inference in batches of 256.
2. The training loader alone (part "loader"): cvn's shuffled, mirrored epoch through WindowBatches with
   0, 1, 2, 4 loader threads, events/s of wall time and per CPU-second, and the workers a GPU needs.
3. Peak memory (VmHWM of a fresh subprocess, and resource.getrusage for its largest child process, which
   counts the pages it shares with its parent; the loader's workers are threads of the training process
   since issue 17, so this column is now ≈ 0) while streaming one
   shuffled epoch over 1, 10 and 50 simulated files, and while training cvn for a few batches on them
   through `nuclass.training.train`. Prints markdown tables.

    .venv/bin/python benchmarks/bench_train.py [--files 1 10 50] [--events-per-file 1000] [--cache DIR]
        [--parts speed loader memory] [--workers 0 1 2 4]

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


def step_rate(module, maps, precision: str = "32-true", steps: int | None = 6,
              seconds: float | None = None, clock=time.perf_counter) -> float:
    """Bare training steps of `module` (a TaskModule): events/s of forward, backward and the recipe's
    optimiser on in-memory batches of `maps` ((N, 2, 100, 80) uint8; several batches, in turn), channels
    last, after two warm-up steps; `steps` steps, or as many as fit in `seconds`, by `clock` (wall time;
    time.process_time for events per CPU-second). "bf16-mixed" runs under
    bfloat16 autocast as Lightning's does. Networks that take raw maps (TaskNetwork.pixels) get them raw,
    older ones normalised (for "before" runs on older code)."""
    import torch

    batch = module.recipe.batch_size
    if hasattr(module, "pixels"):
        x_all = torch.from_numpy(maps)
    else:
        from nuclass.data import normalise_maps

        x_all = torch.from_numpy(normalise_maps(maps, module.recipe.pixel_transform))
    batches = [x_all[s : s + batch] for s in range(0, len(x_all) - batch + 1, batch)]
    y = torch.arange(batch) % 2
    recipe = module.recipe
    optimizer_class = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop}
    optimizer = optimizer_class[recipe.optimizer](module.parameters(), lr=recipe.learning_rate,
                                                  weight_decay=recipe.weight_decay)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed")
    module.train()
    done, start = 0, 0.0
    while True:
        if done == 2:  # two warm-up steps (oneDNN primitive creation)
            start = clock()
        elapsed = clock() - start if done >= 2 else 0.0
        enough = (steps is not None and done - 2 >= steps) or (seconds is not None and elapsed >= seconds)
        if done >= 2 and enough:
            return batch * (done - 2) / elapsed
        optimizer.zero_grad()
        with autocast:
            out = module(batches[done % len(batches)])
        module._loss(out.float(), y).backward()
        optimizer.step()
        done += 1


def bare_module(name: str):
    """A fresh TaskModule of model `name` on numu-cc, with its recipe's optimiser settings."""
    from nuclass.models import create_model
    from nuclass.training import TaskModule, TrainConfig

    net = create_model(name, "numu-cc")
    return TaskModule(net, "numu-cc", TrainConfig(model=name, learning_rate=net.recipe.learning_rate))


def network_speed(files: list[Path], threads: int, precision: str = "32-true", steps: int = 6) -> list[dict]:
    """Training and inference events/s per model, on real simulated maps; precision "bf16-mixed" runs
    both under bfloat16 autocast, as Lightning's bf16-mixed does."""
    import torch

    from nuclass.io import read_file
    from nuclass.models import list_models

    torch.set_num_threads(threads)
    maps = read_file(files[0]).maps[:256]
    rows = []
    for name in list_models():
        module = bare_module(name)
        train_rate = step_rate(module, maps[: module.recipe.batch_size], precision, steps)
        x_all = torch.from_numpy(maps)
        autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed")
        module.eval()
        with torch.inference_mode(), autocast:
            module(x_all)
            start = time.perf_counter()
            for _ in range(3):
                module(x_all)
            infer_rate = 3 * len(x_all) / (time.perf_counter() - start)
        rows.append({"model": name, "threads": threads, "precision": precision,
                     "parameters": sum(p.numel() for p in module.net.parameters()),
                     "batch": module.recipe.batch_size, "train_ev_s": train_rate, "infer_ev_s": infer_rate})
    return rows


def loader_speed(files: list[Path], workers: tuple[int, ...] = (0, 1, 2, 4), epochs: int = 2) -> list[dict]:
    """The training loader alone (data.streaming.WindowBatches over cvn's shuffled, mirrored numu-cc
    epoch, batch 64): events/s of wall time and per CPU-second of this process, for each number of
    loader threads (0: in the iterating thread). Per CPU-second is the rate one free core would give
    each worker, whatever else the machine runs."""
    from nuclass.data import StreamingDataset, build_index
    from nuclass.data.streaming import WindowBatches
    from nuclass.labels import TASKS

    index = build_index(files, TASKS["numu-cc"])
    dataset = StreamingDataset(index, TASKS["numu-cc"], batch_size=64, shuffle=True, mirror_x=True)
    rows = []
    for n in workers:
        events, wall, cpu = 0, 0.0, 0.0
        for epoch in range(epochs):
            dataset.set_epoch(epoch)
            c0, w0 = time.process_time(), time.perf_counter()
            events += sum(len(batch["pos"]) for batch in WindowBatches(dataset, n))
            wall, cpu = wall + time.perf_counter() - w0, cpu + time.process_time() - c0
        rows.append({"workers": n, "events": events, "ev_s": events / wall, "ev_cpu_s": events / cpu,
                     "cores_busy": cpu / wall})
    return rows


GPU_RATES = (20_000, 50_000)  # events/s a GPU trains cvn at (the estimate; gpu_check.py measures it)


def print_loader(rows: list[dict]) -> None:
    """The loader table, and the workers a GPU training cvn at GPU_RATES would need."""
    print("| loader threads | events | events/s (wall) | events per CPU-second | cores busy |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['workers']} | {r['events']:,} | {r['ev_s']:,.0f} | {r['ev_cpu_s']:,.0f} | "
              f"{r['cores_busy']:.2f} |")
    one = next((r for r in rows if r["workers"] == 1), rows[0])["ev_cpu_s"]
    need = ", ".join(f"{-(-rate // int(one))} at {rate:,} events/s" for rate in GPU_RATES)
    print(f"\none worker delivers {one:,.0f} events per CPU-second of its core (default layout: gzip 1, "
          f"32-event chunks): a GPU training cvn needs {need} (one free core each)\n")


_CHILD = r"""
import json, resource, sys, time
mode, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
start = time.perf_counter()
if mode == "stream":
    from nuclass.data import StreamingDataset, build_index
    from nuclass.labels import TASKS
    index = build_index(files, TASKS["numu-cc"])
    dataset = StreamingDataset(index, TASKS["numu-cc"], batch_size=64, shuffle=True)
    from nuclass.data.streaming import WindowBatches
    n = sum(len(batch["pos"]) for batch in WindowBatches(dataset, 2))
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
    parser.add_argument("--parts", nargs="+", default=["speed", "loader", "memory"],
                        choices=["speed", "loader", "memory"])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2, 4],
                        help="Loader threads to time (part loader; 0: in the iterating thread).")
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
    if "loader" in args.parts:
        print_loader(loader_speed(files[: min(10, len(files))], tuple(args.workers)))
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

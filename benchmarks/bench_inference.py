"""Inference benchmark: events/s of a trained network in torch and in onnxruntime (the exported ONNX graph,
`nuclass export`), on 1 and 2 threads, from raw uint8 maps to every head's scores (the pixel transform and
the x-mirror averaging included in both), and the largest difference between their probabilities.

    .venv/bin/python benchmarks/bench_inference.py                  # the shipped model
    .venv/bin/python benchmarks/bench_inference.py --run RUN_DIR --events 4096 --batch 256

Prints a markdown table. Events are simulated once (nuclass.sim.simulate_events, fixed seed).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def torch_rate(network, maps: np.ndarray, threads: int, batch: int, repeats: int) -> float:
    import torch

    torch.set_num_threads(threads)
    network.predict(maps[:batch], batch)  # warm-up: oneDNN primitives
    start = time.perf_counter()
    for _ in range(repeats):
        network.predict(maps, batch)
    return repeats * len(maps) / (time.perf_counter() - start)


def onnx_rate(path: Path, maps: np.ndarray, threads: int, batch: int, repeats: int) -> tuple[float, list]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    session.run(None, {"maps": maps[:batch]})
    start = time.perf_counter()
    for _ in range(repeats):
        outputs = [session.run(None, {"maps": maps[s : s + batch]}) for s in range(0, len(maps), batch)]
    rate = repeats * len(maps) / (time.perf_counter() - start)
    return rate, [np.concatenate([o[k] for o in outputs]) for k in range(len(outputs[0]))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=None, help="a run directory (default: the shipped model)")
    parser.add_argument("--events", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from nuclass.export import export_onnx
    from nuclass.predict import load_model
    from nuclass.shipped import PRETRAINED_DIR
    from nuclass.sim import simulate_events

    model_dir = args.run or PRETRAINED_DIR
    network, tasks, _ = load_model(model_dir)
    maps = simulate_events(args.events, seed=17).maps
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}; "
          f"{model_dir}, {args.events:,} events, batch {args.batch}\n")
    with tempfile.TemporaryDirectory() as tmp:
        onnx_file = export_onnx(model_dir, Path(tmp) / "model.onnx")
        print("| engine | threads | events/s | max abs difference of probabilities (vs torch) |")
        print("| --- | ---: | ---: | ---: |")
        for threads in (1, 2):
            t_rate = torch_rate(network, maps, threads, args.batch, args.repeats)
            o_rate, outputs = onnx_rate(onnx_file, maps, threads, args.batch, args.repeats)
            reference = network.predict(maps, args.batch)
            diff = max(float(np.abs(o - reference[t.name]).max()) for o, t in zip(outputs, tasks, strict=True)
                       if t.is_classification)
            print(f"| torch | {threads} | {t_rate:,.0f} | – |")
            print(f"| onnxruntime | {threads} | {o_rate:,.0f} | {diff:.1e} |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()

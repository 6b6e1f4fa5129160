"""Simulation speed: written events per CPU-second on one core, what it takes to write one, and files/s.

Usage: python benchmarks/bench_simulate.py [--events 5000] [--files 4]
CPU-seconds (time.process_time) are used beside wall time so that a loaded machine does not skew the
per-core figure; the target (DESIGN §7, issue 13) is ≥ 2,000 *written* events per CPU-second on one core.
Most candidates cost almost nothing (rock vertices from which nothing can reach the detector are
rejected before any transport); the table says how the candidates ended.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from nuclass.labels import Interaction
from nuclass.sim import generate, simulate_at, simulate_files

STATUS_NAMES = ("written", "channel cannot reach", "prism acceptance", "vertex not in rock",
                "rock too thick", "slice < 15 hits", "no hit in window")


def per_channel(n: int) -> list[tuple[str, float]]:
    """Written events per CPU-second for single interactions at the centre of the detector."""
    rows = []
    for name, code, energy in [("νμ CC QE, 2 GeV", Interaction.kNumuQE, 2.0),
                               ("νμ CC DIS, 10 GeV", Interaction.kNumuDIS, 10.0),
                               ("νe CC DIS, 10 GeV", Interaction.kNueDIS, 10.0),
                               ("NC, 10 GeV", Interaction.kNC, 10.0)]:
        t = time.process_time()
        events, _ = simulate_at(n, code, energy, (0.0, 0.0, 300.0), seed=1)
        rows.append((name, len(events) / (time.process_time() - t)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--files", type=int, default=4)
    args = ap.parse_args()
    generate(20, seed=0)  # compile (or load the numba cache)
    best_cpu, best_wall, report = 0.0, 0.0, None
    for rep in range(3):
        t_cpu, t_wall = time.process_time(), time.perf_counter()
        _, report = generate(args.events, seed=rep)
        best_cpu = max(best_cpu, args.events / (time.process_time() - t_cpu))
        best_wall = max(best_wall, args.events / (time.perf_counter() - t_wall))
    print(f"| generate, one core | {best_cpu:,.0f} written events per CPU-second "
          f"| {best_wall:,.0f} events/s wall "
          f"| {report.candidates_per_written:.1f} candidates per written event |")
    inside, shell, far = report.stream_probabilities
    print(f"| candidate streams | inside {inside:.3f}, rock shell {shell:.3f}, rock beyond {far:.3f} | | |")
    for name, count in zip(STATUS_NAMES, report.status_counts, strict=True):
        print(f"| candidates: {name} | {count / report.candidates:.3f} | | |")
    for name, rate in per_channel(1000):
        print(f"| {name} only | {rate:,.0f} events per CPU-second | | |")
    with tempfile.TemporaryDirectory() as tmp:
        workers = os.cpu_count() or 1
        t_wall = time.perf_counter()
        simulate_files(tmp, args.files, args.events, seed=1, workers=workers)
        wall = time.perf_counter() - t_wall
        size = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp) if f.endswith(".h5"))
    total = args.files * args.events
    print(f"| simulate_files, {workers} workers, {args.files} × {args.events} events, written | "
          f"{total / wall:,.0f} events/s wall | {size / args.files / 1e6:.1f} MB per file | |")


if __name__ == "__main__":
    main()

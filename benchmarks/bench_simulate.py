"""Simulation speed: events per CPU-second on one core (compile excluded) and files/s over all cores.

Usage: python benchmarks/bench_simulate.py [--events 5000] [--files 4]
CPU-seconds (time.process_time) are used beside wall time so that a loaded machine does not skew the
per-core figure; the target (DESIGN §7) is ≥ 2,000 events/s per core.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from nuclass.sim import detector as det
from nuclass.sim import simulate_events, simulate_files
from nuclass.sim.config import SimConfig


def per_channel(n: int) -> list[tuple[str, float]]:
    """Events per CPU-second for each channel and mode at the sample's energies."""
    cfg = SimConfig()
    rng = np.random.default_rng(0)
    energy = np.interp(rng.random(n), cfg.spectrum_cdf, cfg.spectrum_gev)
    vertex = np.tile([0.0, 0.0, 1000.0], (n, 1))
    rows = []
    for name, channel, mode in [("νμ CC QE", 0, 0), ("νμ CC RES", 0, 1), ("νμ CC DIS", 0, 2),
                                ("νe CC DIS", 1, 2), ("NC DIS", 2, 2)]:
        maps = np.zeros((n, 2, 100, 80), np.uint8)
        info = np.zeros((n, det.N_INFO))
        t = time.process_time()
        det.render_events(1, energy, np.full(n, channel), np.full(n, mode), np.zeros(n, np.int64), vertex,
                          det.pack_params(cfg), maps, info)
        rows.append((name, n / (time.process_time() - t)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--files", type=int, default=4)
    args = ap.parse_args()
    simulate_events(20, seed=0)  # compile (or load the numba cache)
    best_cpu, best_wall = 0.0, 0.0
    for rep in range(3):
        t_cpu, t_wall = time.process_time(), time.perf_counter()
        simulate_events(args.events, seed=rep)
        best_cpu = max(best_cpu, args.events / (time.process_time() - t_cpu))
        best_wall = max(best_wall, args.events / (time.perf_counter() - t_wall))
    print(f"| simulate_events, one core | {best_cpu:,.0f} events per CPU-second "
          f"| {best_wall:,.0f} events/s wall |")
    for name, rate in per_channel(1000):
        print(f"| {name} only | {rate:,.0f} events per CPU-second | |")
    with tempfile.TemporaryDirectory() as tmp:
        workers = os.cpu_count() or 1
        t_wall = time.perf_counter()
        simulate_files(tmp, args.files, args.events, seed=1, workers=workers)
        wall = time.perf_counter() - t_wall
        size = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp)) / args.files / 1e6
    total = args.files * args.events
    print(f"| simulate_files, {workers} workers, {args.files} × {args.events} events, written | "
          f"{total / wall:,.0f} events/s wall | {size:.1f} MB per file |")


if __name__ == "__main__":
    main()

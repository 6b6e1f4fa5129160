"""Read benchmark: nuclass's reader against a bare bulk h5py read and the seeds' one-event loop, per layout.

One file of ~7,000 NOvA-like events is written in several layouts (uncompressed, lzf, gzip; chunked by
16 to 256 whole events); for each, in one run and from the page cache, it times a bare bulk h5py read of
`cvnmap` and every truth column, `nuclass.io.read_file`, `nuclass.io.iter_batches`, and the seeds'
`f['cvnmap'][i].reshape((2, 100, 80))` loop (on a subset, extrapolated). Prints a markdown table.

    .venv/bin/python benchmarks/bench_read.py [--events 7000] [--data DIR] [--repeats 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

from nuclass.io import Events, iter_batches, read_file, write_file
from nuclass.io.nova_h5 import DEFAULT_CHUNK_EVENTS, DEFAULT_COMPRESSION, DEFAULT_COMPRESSION_LEVEL, MAP_SIZE

# (label, compression, compression level, events per chunk; None = contiguous)
LAYOUTS = [
    ("none, contiguous", None, None, None),
    ("none, chunk 32", None, None, 32),
    ("lzf, chunk 32", "lzf", None, 32),
    ("lzf, chunk 128", "lzf", None, 128),
    ("gzip 1, chunk 8", "gzip", 1, 8),
    ("gzip 1, chunk 16", "gzip", 1, 16),
    ("gzip 1, chunk 32", "gzip", 1, 32),
    ("gzip 1, chunk 128", "gzip", 1, 128),
    ("gzip 4, chunk 32", "gzip", 4, 32),
    ("gzip 4, chunk 128", "gzip", 4, 128),
    ("gzip 6, chunk 32", "gzip", 6, 32),
]


def synthetic_events(n: int, seed: int = 0) -> Events:
    """Sparse NOvA-like maps when the simulator is not available: per view a track and a shower from a
    vertex near plane 0 and cell 40, plus a few noise hits, 100–300 lit pixels; charges 1–255."""
    rng = np.random.default_rng(seed)
    maps = np.zeros((n, 2, 100, 80), np.uint8)
    for i in range(n):
        for view in range(2):
            length = rng.integers(10, 90)
            planes = np.arange(rng.integers(0, 4), length)
            cells = np.clip(np.rint(40 + rng.normal(0, 3) + planes * rng.normal(0, 0.3)), 0, 79).astype(int)
            maps[i, view, np.clip(planes, 0, 99), cells] = rng.integers(30, 140, len(planes))
            maps[i, view, np.clip(planes, 0, 99), np.clip(cells + 1, 0, 79)] = rng.integers(
                5, 60, len(planes)
            )
            k = rng.integers(40, 180)
            p = np.clip(rng.normal(rng.integers(5, 30), 6, k), 0, 99).astype(int)
            c = np.clip(rng.normal(40, 5, k), 0, 79).astype(int)
            maps[i, view, p, c] = rng.integers(1, 90, k)
            noise = rng.integers(0, 8000, rng.integers(0, 6))
            maps[i, view].reshape(-1)[noise] = rng.integers(1, 40, len(noise))
            maps[i, view, rng.integers(0, 100), rng.integers(0, 80)] = 255
    interaction = rng.choice(
        [0, 1, 2, 3, 4, 5, 6, 7, 13, 15],
        n,
        p=[0.12, 0.19, 0.55, 0.03, 0.003, 0.003, 0.004, 0.002, 0.089, 0.009],
    )
    nuenergy = rng.lognormal(2.1, 0.8, n).astype(np.float32)
    meta = {
        "evt": np.arange(n),
        "interaction": interaction,
        "finalstate": rng.integers(0, 50, n),
        "nuenergy": nuenergy,
        "lepenergy": (nuenergy * rng.uniform(0, 1, n)).astype(np.float32),
    }
    return Events(maps, meta)


def load_events(n: int, data: Path | None, synthetic: bool) -> tuple[Events, str]:
    """Events from the first file of `data`, else the simulator, else the synthetic generator."""
    if data is not None:
        path = sorted(data.glob("*.h5"))[0]
        events = read_file(path)
        return events.take(slice(0, n)), f"{path.name} from {data}"
    try:
        from nuclass.sim import simulate_events
    except ImportError:
        synthetic = True
    if synthetic:
        return synthetic_events(n), "synthetic sparse maps (benchmarks/bench_read.py)"
    return simulate_events(n, seed=1), "nuclass.sim.simulate_events"


def write_layouts(events: Events, out: Path) -> dict[str, Path]:
    """One file per layout: the same truth group (nuclass's layout), `cvnmap` stored as the layout says."""
    base = write_file(out / "base.h5", events, compression=None)
    n = len(events)
    paths = {}
    for k, (label, compression, level, chunk) in enumerate(LAYOUTS):
        path = out / f"layout{k}.h5"
        with h5py.File(base, "r") as src, h5py.File(path, "w") as dst:
            dst.create_dataset(
                "cvnmap",
                data=events.maps.reshape(n, MAP_SIZE),
                chunks=(chunk, MAP_SIZE) if chunk else None,
                compression=compression,
                compression_opts=level,
            )
            src.copy(src["neutrino"], dst, "neutrino")
        paths[label] = path
    base.unlink()
    return paths


def bare_read(path: Path) -> int:
    """The limit: one bulk h5py read of all maps and all truth columns, with h5py's defaults."""
    with h5py.File(path, "r") as f:
        maps = f["cvnmap"][()]
        _ = {name: ds[()] for name, ds in f["neutrino"].items()}
    return len(maps)


def nuclass_read(path: Path) -> int:
    return len(read_file(path))


def nuclass_batches(path: Path, batch_size: int = 4096) -> int:
    return sum(len(b) for b in iter_batches([path], batch_size=batch_size))


def seed_loop(path: Path, n: int) -> int:
    """The seed notebooks' access pattern: one event and one truth value at a time."""
    with h5py.File(path, "r") as f:
        for i in range(n):
            image = f["cvnmap"][i].reshape((2, 100, 80))
            label = f["neutrino"]["interaction"][i]
    return int(image.shape[0] + label.shape[0] > 0) * n


def best_rate(func: Callable[[], int], repeats: int, clock: Callable[[], float] = time.process_time) -> float:
    """Events per second of the fastest of `repeats` calls, by `clock` (CPU time of this process by default:
    events per CPU-second, which other work on a shared machine does not change)."""
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        n = func()
        best = min(best, clock() - start)
    return n / best


def random_reads(path: Path, n: int) -> int:
    """`n` single events in random order through one open dataset (h5py's defaults): random access."""
    with h5py.File(path, "r") as f:
        ds = f["cvnmap"]
        for i in np.random.default_rng(0).integers(0, len(ds), n):
            ds[i]
    return n


def _timed_read(path: Path) -> tuple[int, float]:
    start = time.process_time()
    n = nuclass_read(path)
    return n, time.process_time() - start


def parallel_rates(path: Path, out: Path, repeats: int) -> tuple[float, float, float]:
    """read_file by wall clock in one worker process on one file and in two workers on two files at once,
    and the CPU-time rate of each of the two workers (what each would give on a free core)."""
    second = out / "copy.h5"
    shutil.copyfile(path, second)
    nuclass_read(second)  # into the page cache
    ctx = multiprocessing.get_context("spawn")
    one = two = float("inf")
    cpu = 0.0
    with ctx.Pool(2) as pool:
        pool.map(_timed_read, [path, second])  # workers imported and warm
        for _ in range(repeats):
            start = time.perf_counter()
            n1, _ = pool.apply(_timed_read, (path,))
            one = min(one, time.perf_counter() - start)
            start = time.perf_counter()
            results = pool.map(_timed_read, [path, second], chunksize=1)
            two = min(two, time.perf_counter() - start)
            cpu = max(cpu, min(n / t for n, t in results))
    second.unlink()
    return n1 / one, sum(n for n, _ in results) / two, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=int, default=7000, help="events in the file (real files: 6,800–7,200)"
    )
    parser.add_argument("--data", type=Path, help="take events from the first neutrino*.h5 file in DIR")
    parser.add_argument("--synthetic", action="store_true", help="synthetic maps instead of the simulator")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats; the best is kept")
    parser.add_argument(
        "--loop-events", type=int, default=500, help="events timed in the seeds' loop and in random reads"
    )
    parser.add_argument("--batch", type=int, default=4096, help="iter_batches batch size")
    parser.add_argument("--wall", action="store_true", help="time by wall clock instead of CPU time")
    parser.add_argument("--no-parallel", action="store_true", help="skip the two-process measurement")
    args = parser.parse_args()

    events, source = load_events(args.events, args.data, args.synthetic)
    n = len(events)
    lit = (events.maps.reshape(n, 2, -1) > 0).sum(-1)
    raw_mb = n * MAP_SIZE / 1e6
    print(f"# nuclass read benchmark: {n} events from {source}")
    print(
        f"lit pixels per view: median {np.median(lit):.0f}, 10–90 % {np.percentile(lit, 10):.0f}–"
        f"{np.percentile(lit, 90):.0f}; maps {raw_mb:.0f} MB uncompressed"
    )
    clock = time.perf_counter if args.wall else time.process_time
    per = "wall-clock second" if args.wall else "CPU-second"
    print(
        f"{platform.machine()}, {os.cpu_count()} cores (load {os.getloadavg()[0]:.1f}), "
        f"h5py {h5py.__version__}, HDF5 {h5py.version.hdf5_version}; "
        f"events per {per}, best of {args.repeats}, page cache warm\n"
    )

    with tempfile.TemporaryDirectory(prefix="nuclass-bench-") as tmp:
        out = Path(tmp)
        paths = write_layouts(events, out)
        chosen = (DEFAULT_COMPRESSION, DEFAULT_COMPRESSION_LEVEL, DEFAULT_CHUNK_EVENTS)
        default = [label for label, *layout in LAYOUTS if tuple(layout) == chosen]
        print(
            "| layout | file MB | bare h5py ev/s | read_file ev/s | iter_batches ev/s | seed loop ev/s "
            "| random event ev/s | read_file / bare | iter_batches / bare | read_file / seed loop |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for label, path in paths.items():
            bare_read(path)  # warm the page cache
            size = path.stat().st_size / 1e6
            bare = best_rate(lambda p=path: bare_read(p), args.repeats, clock)
            whole = best_rate(lambda p=path: nuclass_read(p), args.repeats, clock)
            batches = best_rate(lambda p=path: nuclass_batches(p, args.batch), args.repeats, clock)
            loop_n = min(args.loop_events, n)
            loop = best_rate(lambda p=path, k=loop_n: seed_loop(p, k), max(1, args.repeats // 2), clock)
            rand = best_rate(lambda p=path, k=loop_n: random_reads(p, k), max(1, args.repeats // 2), clock)
            mark = " **(default)**" if label in default else ""
            print(
                f"| {label}{mark} | {size:.1f} | {bare:,.0f} | {whole:,.0f} | {batches:,.0f} | {loop:,.0f} "
                f"| {rand:,.0f} | {whole / bare:.2f} | {batches / bare:.2f} | {whole / loop:.0f}× |",
                flush=True,
            )

        if not args.no_parallel:
            print(
                "\nread_file in worker processes, each on its own copy of the file, by wall clock "
                f"(load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):\n"
            )
            print("| layout | 1 process ev/s | 2 processes, 2 files, ev/s | speed-up | each, ev/CPU-s |")
            print("| --- | ---: | ---: | ---: | ---: |")
            for label in dict.fromkeys([*default, "none, chunk 32"]):
                one, two, cpu = parallel_rates(paths[label], out, args.repeats)
                print(f"| {label} | {one:,.0f} | {two:,.0f} | {two / one:.2f}× | {cpu:,.0f} |", flush=True)


if __name__ == "__main__":
    main()

"""Simulated data sets on disk: neutrino1.h5 … neutrinoN.h5 and a manifest, written safely.

A folder holds one data set: `simulate_files` refuses a folder that already has NOvA files unless told
to overwrite, and then keeps the old files until the whole new set is complete. Files are simulated in
parallel processes, each seeded independently, each written atomically; Ctrl-C ends the workers at
once and raises `Interrupted` naming the files that are complete, with no temporary left behind.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import signal
from pathlib import Path

from nuclass.atomic import write_json
from nuclass.errors import ConfigError, Interrupted
from nuclass.progress import NO_PROGRESS, Progress
from nuclass.sim.config import SimConfig

__all__ = ["simulate_files", "read_manifest", "MANIFEST_NAME", "nova_files"]

MANIFEST_NAME = "simulation.json"
_STAGING = ".nuclass-simulate-staging"


def nova_files(folder: Path) -> list[Path]:
    """The NOvA files (neutrino*.h5) directly in `folder`, in file-number order."""
    def number(p: Path) -> int:
        digits = p.stem.removeprefix("neutrino")
        return int(digits) if digits.isdigit() else 1 << 30

    return sorted(folder.glob("neutrino*.h5"), key=lambda p: (number(p), p.name))


def read_manifest(folder: str | os.PathLike) -> dict | None:
    """The manifest of a simulated folder, or None where there is none (e.g. fetched real files)."""
    path = Path(folder) / MANIFEST_NAME
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: expected a nuclass simulation manifest (JSON), got {exc}") from None


def _check_arguments(out: Path, n_files: int, events_per_file: int, workers: int | None, overwrite: bool):
    for name, value in (("--files", n_files), ("--events-per-file", events_per_file)):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a whole number ≥ 1, got {value!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ConfigError(f"--workers must be a whole number ≥ 1, got {workers!r}")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: expected a directory for the simulated files, got an existing file")
    if out.is_dir() and not overwrite:
        present = nova_files(out)
        if present or (out / MANIFEST_NAME).exists():
            names = ", ".join(p.name for p in present[:3]) + (" …" if len(present) > 3 else "")
            raise ConfigError(f"{out}: already holds a data set ({len(present)} NOvA files: {names or 'none'}"
                              f"{', a manifest' if (out / MANIFEST_NAME).exists() else ''}); "
                              "use --overwrite to replace it, or choose another directory")


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which ends them; no traceback from each of them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _simulate_one_file(job: tuple[Path, int, int, SimConfig, int]) -> tuple[Path, int]:
    from nuclass.io.nova_h5 import write_file
    from nuclass.sim.generate import generate

    path, n, seed, cfg, file_number = job
    events, report = generate(n, seed, cfg, file_number)
    write_file(path, events)
    return path, report.candidates


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _remove_temporaries(folder: Path) -> None:
    for tmp in folder.glob(".neutrino*.h5.tmp*"):
        tmp.unlink(missing_ok=True)


def simulate_files(
    out_dir: str | os.PathLike,
    n_files: int,
    events_per_file: int,
    seed: int = 0,
    config: SimConfig | None = None,
    workers: int | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> list[Path]:
    """Write neutrino1.h5 … neutrino{n_files}.h5 and simulation.json into out_dir; returns the files.

    Each file is seeded by (seed, its number), so a file's content does not depend on `workers`.
    `progress` hears of each file as it completes.
    """
    from nuclass import __version__

    cfg = config or SimConfig()
    out = Path(out_dir)
    _check_arguments(out, n_files, events_per_file, workers, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    replacing = bool(nova_files(out)) or (out / MANIFEST_NAME).exists()
    target = out / _STAGING if replacing else out
    if replacing:
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
    jobs = [(target / f"neutrino{k}.h5", events_per_file, seed, cfg, k) for k in range(1, n_files + 1)]
    workers = max(1, min(workers or os.cpu_count() or 1, n_files))
    done: dict[Path, int] = {}
    progress = progress or NO_PROGRESS
    progress.start(f"simulating {n_files} × {events_per_file:,} events", total=n_files)
    try:
        if workers == 1:
            for job in jobs:
                path, candidates = _simulate_one_file(job)
                done[path] = candidates
                progress.update(advance=1)
        else:
            pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_ignore_sigint)
            try:
                for path, candidates in pool.imap_unordered(_simulate_one_file, jobs):
                    done[path] = candidates
                    progress.update(advance=1)
                pool.close()
            finally:
                pool.terminate()
                pool.join()
    except KeyboardInterrupt:
        _remove_temporaries(target)
        if replacing:
            shutil.rmtree(target, ignore_errors=True)
            raise Interrupted(f"interrupted: {out} unchanged (the new files were discarded; the old set "
                              "is intact)") from None
        complete = sorted((p.name for p in done), key=lambda name: int(name[8:-3]))
        raise Interrupted(f"interrupted: {len(complete)} of {n_files} files complete in {out}"
                          + (f" ({', '.join(complete)})" if complete else "")
                          + "; no manifest written, so the folder is marked incomplete") from None
    except BaseException:
        _remove_temporaries(target)
        if replacing:
            shutil.rmtree(target, ignore_errors=True)
        raise
    finally:
        progress.finish()
    if replacing:  # the new set is complete: only now do the old files go
        for old in nova_files(out):
            old.unlink()
        (out / MANIFEST_NAME).unlink(missing_ok=True)
        for path, _, _, _, _ in jobs:
            os.replace(path, out / path.name)
        shutil.rmtree(target, ignore_errors=True)
    paths = [out / job[0].name for job in jobs]
    write_json(out / MANIFEST_NAME, {
        "nuclass_version": __version__,
        "seed": seed,
        "files": n_files,
        "events_per_file": events_per_file,
        "events": n_files * events_per_file,
        "candidates_per_written_event": round(sum(done.values()) / (n_files * events_per_file), 3),
        "sha256": {p.name: _sha256(p) for p in paths},
        "config": cfg.to_dict(),
    })
    return paths

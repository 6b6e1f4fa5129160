"""Atomic file writes: write under a temporary name beside the target, rename on success.

A crash, a Ctrl-C or an error never leaves a partial file under the target's name, and the temporary
file is removed whatever happens. Every file nuclass writes goes through here; missing parent folders are
made, and a target that cannot be a file (a directory, a file in the way of its folder) is one ConfigError,
which commands check up front with `check_output_file`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nuclass.errors import ConfigError

__all__ = ["atomic_path", "check_output_file", "new_folder", "write_json"]


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on a clean exit it replaces `path` in one rename."""
    path = check_output_file(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        ours = {str(p) for p in (tmp, path, *path.parents)}
        if str(exc.filename) not in ours and str(tmp) not in str(exc):
            raise  # not about this output (say an input read inside the block)
        h5py_reason = re.search(r"error message = '([^']+)'", str(exc))  # h5py's OSError has no strerror
        reason = h5py_reason[1] if h5py_reason else exc.strerror or " ".join(str(exc).split())
        raise ConfigError(f"{path}: cannot write it here ({reason})") from None
    finally:
        tmp.unlink(missing_ok=True)


def check_output_file(path: str | os.PathLike, what: str = "a file") -> Path:
    """`path` as a Path if a file can be written there (its missing folders made on writing); ConfigError
    naming it if it is a directory or a file stands where one of its folders would go."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: expected {what} to write, got a directory (give a file name)")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"{path}: cannot make folder {parent}: a file of that name is in the way")
            break
    return path


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """`data` as indented JSON (no NaN allowed), written atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    return Path(path)


@contextmanager
def new_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Make folder `path` (and its missing parents) for the block; if the block fails, the folders it made
    that are still empty are removed again, so a failed command leaves no trace."""
    path = Path(path)
    made = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield path
    except BaseException:
        for folder in made:  # deepest first
            try:
                folder.rmdir()
            except OSError:  # not empty (or gone): keep it
                break
        raise

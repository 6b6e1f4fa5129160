"""Download the NOvA teaching files into a cache directory: retried, verified, and moved into place whole.

Bytes arrive through pooch's HTTP downloader into a temporary directory inside the cache; a file enters
the cache as `neutrino{N}.h5` only after `nova_h5.validate_file` has read all of it. This module never
interprets HDF5 itself.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from nuclass.errors import ConfigError, FetchError, FormatError
from nuclass.io.nova_h5 import validate_file
from nuclass.progress import NO_PROGRESS, Progress

__all__ = ["DEFAULT_BASE_URL", "N_FILES", "file_name", "parse_file_numbers", "fetch_files"]

DEFAULT_BASE_URL = "http://www.hep.ucl.ac.uk/undergrad/0056/other/projects/nova/"
N_FILES = 200  # neutrino1.h5 … neutrino200.h5
RETRY_WAIT_S = 2.0  # wait before the first retry; doubles after each failed attempt
TIMEOUT_S = 60.0  # connect and read timeout of each request
_CHUNK_BYTES = 1 << 20
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}  # worth asking again; other HTTP errors are final


def file_name(number: int) -> str:
    """The teaching file's name: neutrino{number}.h5."""
    return f"neutrino{number}.h5"


def parse_file_numbers(spec: str) -> list[int]:
    """File numbers from '1-25,30' style text: sorted, without repeats, each in 1…200."""
    numbers: set[int] = set()
    for part in spec.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise ConfigError(f"file numbers '{spec}': '{part.strip()}' is not a number N or a range N-M")
        first = int(match[1])
        last = int(match[2]) if match[2] else first
        if first > last:
            raise ConfigError(f"file numbers '{spec}': range '{part.strip()}' runs backwards")
        if first < 1 or last > N_FILES:
            raise ConfigError(f"file numbers '{spec}': '{part.strip()}' is outside 1–{N_FILES}")
        numbers.update(range(first, last + 1))
    return sorted(numbers)


class _Bar:
    """pooch's progress-bar interface (`total`, update, reset, close) over a `Progress`: one job per file."""

    def __init__(self, progress: Progress, label: str):
        self.total = 0
        self._progress = progress
        progress.start(label)

    def update(self, n: int) -> None:
        self._progress.update(advance=n, total=self.total or None)

    def reset(self) -> None:
        self._progress.update(completed=0, total=self.total or None)

    def close(self) -> None:
        self._progress.update(completed=self.total, total=self.total)
        self._progress.finish()


def _download(
    url: str, out: Path, name: str, retries: int, retry_wait: float, timeout: float, progress: Progress
) -> None:
    """Stream `url` to `out`, retrying network faults and transient HTTP errors; FetchError on giving up."""
    import pooch
    import requests

    for attempt in range(retries + 1):
        bar = _Bar(progress, name)
        downloader = pooch.HTTPDownloader(progressbar=bar, chunk_size=_CHUNK_BYTES, timeout=timeout)
        try:
            downloader(url, str(out), None)
            return
        except requests.HTTPError as exc:
            response = exc.response
            if response is not None:
                response.close()  # pooch leaves the streamed error response open
            status = response.status_code if response is not None else 0
            why = f"HTTP {status} {response.reason if response is not None else ''}".strip()
            final = status not in _RETRY_STATUS
        except requests.RequestException as exc:
            why = _network_reason(exc)
            final = False
        except OSError as exc:
            raise FetchError(f"{name}: cannot write {out}: {exc.strerror or exc}") from None
        if final or attempt == retries:
            tries = f" (after {attempt + 1} attempts)" if attempt else ""
            raise FetchError(f"{name}: {why} from {url}{tries}")
        time.sleep(retry_wait * 2**attempt)


def _network_reason(exc: Exception) -> str:
    text = str(exc)
    short = re.search(r"IncompleteRead\((\d+) bytes read, (\d+) more expected\)", text)
    if short:
        got, missing = int(short[1]), int(short[2])
        return f"truncated download (connection closed after {got:,} of {got + missing:,} bytes)"
    if "timed out" in text.lower():
        return "timed out"
    return f"network error ({type(exc).__name__})"


def _is_valid(path: Path) -> bool:
    try:
        validate_file(path)
    except FormatError:
        return False
    return True


def fetch_files(
    out_dir: str | os.PathLike,
    numbers: Sequence[int],
    base_url: str = DEFAULT_BASE_URL,
    progress: Progress | None = None,
    retries: int = 3,
    retry_wait: float | None = None,
    timeout: float = TIMEOUT_S,
) -> list[Path]:
    """Make `out_dir`/neutrino{N}.h5 for each of `numbers` a valid file, downloading only what is missing.

    A file already there that validates is kept; an invalid one is replaced. Each download goes to a
    temporary directory in `out_dir` and is validated before it is renamed into place, so `out_dir` never
    holds a partial file. Network faults and HTTP 408/429/5xx are retried `retries` times, waiting
    `retry_wait` seconds (default RETRY_WAIT_S), doubling each time. The first failure raises FetchError
    naming the file and why; files fetched before it stay. Returns the paths, in the order of `numbers`.
    `progress` hears of every download's bytes.
    """
    if not re.match(r"https?://", base_url):
        raise ConfigError(f"base URL '{base_url}': expected http:// or https://")
    base_url = base_url.rstrip("/") + "/"
    wait = RETRY_WAIT_S if retry_wait is None else retry_wait
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir}: expected a directory for the files, got a file")
    out_dir.mkdir(parents=True, exist_ok=True)
    progress = progress or NO_PROGRESS
    paths = []
    for number in numbers:
        name = file_name(number)
        target = out_dir / name
        if target.exists():
            if _is_valid(target):
                paths.append(target)
                continue
            target.unlink()  # an invalid copy (say an interrupted manual download): fetch it again
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".fetch-") as tmp:
            download = Path(tmp) / name
            _download(base_url + name, download, name, retries, wait, timeout, progress)
            try:
                validate_file(download)
            except FormatError as exc:
                reason = f"expected {exc.expected}" + (f", got {exc.got}" if exc.got else "")
                if exc.field:
                    reason = f"field '{exc.field}': {reason}"
                url = base_url + name
                message = f"{name}: downloaded from {url} but it is not a valid NOvA file: {reason}"
                raise FetchError(message) from None
            os.replace(download, target)
        paths.append(target)
    return paths

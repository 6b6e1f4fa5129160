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

from nuclass.atomic import new_folder
from nuclass.errors import ConfigError, FetchError, FormatError, Interrupted, ManyErrors
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
            why = _network_reason(exc, url)
            final = False
        except OSError as exc:
            raise FetchError(f"{name}: cannot write {out}: {exc.strerror or exc}") from None
        if final or attempt == retries:
            tries = f" (after {attempt + 1} attempts)" if attempt else ""
            raise FetchError(f"{name}: {why} from {url}{tries}")
        time.sleep(retry_wait * 2**attempt)


def _network_reason(exc: Exception, url: str) -> str:
    """What went wrong on the network, in words: refused, unknown host, closed mid-transfer, timed out."""
    from urllib.parse import urlsplit

    text = str(exc)
    server = urlsplit(url).netloc
    short = re.search(r"IncompleteRead\((\d+) bytes read, (\d+) more expected\)", text)
    if short:
        got, missing = int(short[1]), int(short[2])
        return f"truncated download (connection closed after {got:,} of {got + missing:,} bytes)"
    if "timed out" in text.lower():
        return "timed out"
    if "refused" in text.lower():
        return f"connection refused by {server} (no server listening there?)"
    if re.search(r"Name or service not known|nodename nor servname|name resolution|getaddrinfo", text):
        return f"cannot find the server {server} (unknown host name, or no network)"
    if re.search(r"reset by peer|Connection aborted|RemoteDisconnected|Connection broken", text):
        return f"the connection to {server} broke off during the transfer (server stopped or network cut)"
    return f"network error ({type(exc).__name__}: {text.splitlines()[0][:160] if text else 'no detail'})"


def _problem(path: Path) -> FormatError | None:
    """Why `path` is not a valid NOvA file (None if it is one)."""
    try:
        validate_file(path)
    except FormatError as exc:
        return exc
    return None


def _reason(exc: FormatError) -> str:
    reason = f"expected {exc.expected}" + (f", got {exc.got}" if exc.got else "")
    return f"field '{exc.field}': {reason}" if exc.field else reason


def _set_aside_name(path: Path) -> Path:
    """Where an invalid copy goes when it is replaced: NAME.invalid, or NAME.invalid-2, -3 … if taken."""
    aside, k = path.with_name(path.name + ".invalid"), 1
    while aside.exists():
        k += 1
        aside = path.with_name(f"{path.name}.invalid-{k}")
    return aside


def _check_existing(out_dir: Path, numbers: Sequence[int], replace_invalid: bool) -> set[int]:
    """The numbers whose file is already in `out_dir` and valid; files there that fail validation are
    reported together (ManyErrors) and kept, unless `replace_invalid`."""
    valid, bad = set(), []
    for number in numbers:
        target = out_dir / file_name(number)
        if not (target.exists() or target.is_symlink()):
            continue
        problem = _problem(target)
        if problem is None:
            valid.add(number)
        elif not replace_invalid:
            bad.append(FetchError(
                f"{target}: already there and not a valid NOvA file ({_reason(problem)}); kept as it is: "
                f"move it away, or pass --replace-invalid to set it aside as {_set_aside_name(target).name} "
                "once a verified download replaces it"
            ))
    if len(bad) == 1:
        raise bad[0]
    if bad:
        raise ManyErrors(bad)
    return valid


def fetch_files(
    out_dir: str | os.PathLike,
    numbers: Sequence[int],
    base_url: str = DEFAULT_BASE_URL,
    progress: Progress | None = None,
    retries: int = 3,
    retry_wait: float | None = None,
    timeout: float = TIMEOUT_S,
    replace_invalid: bool = False,
) -> list[Path]:
    """Make `out_dir`/neutrino{N}.h5 for each of `numbers` a valid file, downloading only what is missing.

    A file already there that validates is kept. One that does not is the user's: it is reported
    (FetchError, before anything is downloaded) and kept, unless `replace_invalid`, in which case it is
    renamed to NAME.invalid only once a verified download is ready to take its place — no user file is
    ever deleted. Each download goes to a temporary directory in `out_dir` and is validated before it is
    renamed into place, so `out_dir` never holds a partial file. Network faults and HTTP 408/429/5xx are
    retried `retries` times, waiting `retry_wait` seconds (default RETRY_WAIT_S), doubling each time. The
    first failure raises FetchError naming the file and why; files fetched before it stay. Ctrl-C raises
    Interrupted naming the complete files. Returns the paths, in the order of `numbers`. `progress` hears
    of every download's bytes, and notes each invalid copy set aside.
    """
    if not re.match(r"https?://", base_url):
        raise ConfigError(f"base URL '{base_url}': expected http:// or https://")
    base_url = base_url.rstrip("/") + "/"
    wait = RETRY_WAIT_S if retry_wait is None else retry_wait
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir}: expected a directory for the files, got a file")
    valid = _check_existing(out_dir, numbers, replace_invalid) if out_dir.is_dir() else set()
    progress = progress or NO_PROGRESS
    paths = [out_dir / file_name(n) for n in numbers]
    complete = [p.name for n, p in zip(numbers, paths, strict=True) if n in valid]
    with new_folder(out_dir):
        for number, target in zip(numbers, paths, strict=True):
            if number in valid:
                continue
            try:
                _fetch_one(base_url + target.name, target, retries, wait, timeout, progress)
            except KeyboardInterrupt:
                raise Interrupted(
                    f"interrupted while downloading {target.name}: {len(complete)} of {len(paths)} files "
                    f"complete in {out_dir}" + (f" ({', '.join(complete)})" if complete else "")
                    + "; no partial file left; the same command fetches the rest"
                ) from None
            complete.append(target.name)
    return paths


def _fetch_one(url: str, target: Path, retries: int, wait: float, timeout: float, progress: Progress) -> None:
    """Download `url`, validate it, and only then move it to `target` (an invalid copy there set aside)."""
    name = target.name
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        download = Path(tmp) / name
        _download(url, download, name, retries, wait, timeout, progress)
        problem = _problem(download)
        if problem is not None:
            message = f"{name}: downloaded from {url} but it is not a valid NOvA file: {_reason(problem)}"
            raise FetchError(message)
        if target.exists() or target.is_symlink():  # an invalid copy, with --replace-invalid
            aside = _set_aside_name(target)
            os.replace(target, aside)
            progress.note(f"{target}: the invalid copy is kept as {aside.name}")
        os.replace(download, target)

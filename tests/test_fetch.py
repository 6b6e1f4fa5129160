"""Fetching against a real HTTP server on 127.0.0.1 with its faults: good files are cached and never fetched
twice; truncated, HTML, 404 and flaky answers end in one clear error and leave no partial file."""

from __future__ import annotations

import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from nuclass.cli import app
from nuclass.errors import ConfigError, FetchError
from nuclass.io import fetch, read_file, validate_file
from nuclass.io.fetch import DEFAULT_BASE_URL, fetch_files, parse_file_numbers


def _requests(server) -> int:
    return sum(server.requests.values())


def _listing(out: Path) -> list[str]:
    """Everything in `out`, hidden temporary files and directories included."""
    return sorted(str(p.relative_to(out)) for p in out.rglob("*")) if out.exists() else []


# ---------------------------------------------------------------- file numbers


@pytest.mark.parametrize(
    "spec, numbers",
    [
        ("1-25,30", [*range(1, 26), 30]),
        ("3", [3]),
        (" 5 - 7 , 2", [2, 5, 6, 7]),
        ("1-3,2-4", [1, 2, 3, 4]),
        ("200", [200]),
        ("1-200", list(range(1, 201))),
    ],
)
def test_parse_file_numbers(spec, numbers):
    assert parse_file_numbers(spec) == numbers


@pytest.mark.parametrize(
    "spec, words",
    [
        ("", "not a number"),
        ("1-", "not a number"),
        ("a", "'a'"),
        ("0", "outside 1–200"),
        ("199-201", "outside"),
        ("5-3", "backwards"),
        ("1,,2", "not a number"),
        ("-3", "not a number"),
        ("2.5", "'2.5'"),
    ],
)
def test_parse_file_numbers_rejects_bad_text(spec, words):
    with pytest.raises(ConfigError, match=words) as info:
        parse_file_numbers(spec)
    assert f"'{spec}'" in str(info.value)


@given(st.lists(st.tuples(st.integers(1, 200), st.integers(0, 20)), min_size=1, max_size=8))
def test_parse_file_numbers_property(ranges):
    ranges = [(a, min(a + d, 200)) for a, d in ranges]
    spec = ",".join(f"{a}-{b}" if b > a else str(a) for a, b in ranges)
    expected = sorted({n for a, b in ranges for n in range(a, b + 1)})
    assert parse_file_numbers(spec) == expected


def test_default_base_url_is_the_teaching_server():
    assert DEFAULT_BASE_URL == "http://www.hep.ucl.ac.uk/undergrad/0056/other/projects/nova/"


# ---------------------------------------------------------------- good downloads and the cache


def test_fetch_downloads_valid_files_and_caches_them(server, url, tmp_path):
    out = tmp_path / "cache" / "nova"
    paths = fetch_files(out, [1, 2], url("ok"), retry_wait=0)
    assert paths == [out / "neutrino1.h5", out / "neutrino2.h5"]
    assert _listing(out) == ["neutrino1.h5", "neutrino2.h5"]
    for p in paths:
        assert p.read_bytes() == server.files[p.name]
        assert validate_file(p) == 60
    assert len(read_file(paths[0])) == 60
    assert _requests(server) == 2

    again = fetch_files(out, [2, 1], url("ok"), retry_wait=0)
    assert again == [out / "neutrino2.h5", out / "neutrino1.h5"]
    assert _requests(server) == 2  # nothing downloaded again


def test_invalid_local_file_is_reported_and_kept(server, url, tmp_path):
    """A user's file that fails validation is never deleted: nothing is downloaded, the error says how to
    go on (issue 14: it used to be deleted before a download that then failed)."""
    broken = server.files["neutrino1.h5"][:5000]  # say an interrupted manual download
    (tmp_path / "neutrino1.h5").write_bytes(broken)
    with pytest.raises(FetchError, match=r"neutrino1\.h5: already there and not a valid NOvA file .*"
                       r"truncated.*kept as it is.*--replace-invalid"):
        fetch_files(tmp_path, [1, 2], url("ok"), retry_wait=0)
    assert _requests(server) == 0
    assert _listing(tmp_path) == ["neutrino1.h5"]
    assert (tmp_path / "neutrino1.h5").read_bytes() == broken


def test_replace_invalid_sets_the_old_copy_aside_after_a_verified_download(server, url, tmp_path):
    broken = server.files["neutrino1.h5"][:5000]
    (tmp_path / "neutrino1.h5").write_bytes(broken)
    (tmp_path / "neutrino2.h5").write_bytes(server.files["neutrino2.h5"])
    fetch_files(tmp_path, [1, 2], url("ok"), retry_wait=0, replace_invalid=True)
    assert dict(server.requests) == {"/ok/neutrino1.h5": 1}
    assert (tmp_path / "neutrino1.h5").read_bytes() == server.files["neutrino1.h5"]
    assert (tmp_path / "neutrino1.h5.invalid").read_bytes() == broken
    assert _listing(tmp_path) == ["neutrino1.h5", "neutrino1.h5.invalid", "neutrino2.h5"]


@pytest.mark.parametrize("mode", ["short", "html"])
def test_replace_invalid_keeps_the_old_copy_when_the_download_fails(server, url, tmp_path, mode):
    broken = b"my own notes, not HDF5\n"
    (tmp_path / "neutrino1.h5").write_bytes(broken)
    with pytest.raises(FetchError):
        fetch_files(tmp_path, [1], url(mode), retries=0, retry_wait=0, replace_invalid=True)
    assert _listing(tmp_path) == ["neutrino1.h5"]
    assert (tmp_path / "neutrino1.h5").read_bytes() == broken


def test_transient_failure_is_retried(server, url, tmp_path):
    paths = fetch_files(tmp_path, [1, 2], url("flaky"), retries=1, retry_wait=0)
    assert [validate_file(p) for p in paths] == [60, 60]
    assert dict(server.requests) == {"/flaky/neutrino1.h5": 2, "/flaky/neutrino2.h5": 2}
    assert _listing(tmp_path) == ["neutrino1.h5", "neutrino2.h5"]


def test_retry_waits_grow(server, url, tmp_path, monkeypatch):
    waits = []
    monkeypatch.setattr(fetch.time, "sleep", waits.append)
    with pytest.raises(FetchError):
        fetch_files(tmp_path, [1], url("short"), retries=3, retry_wait=0.5)
    assert waits == [0.5, 1.0, 2.0]
    assert server.requests["/short/neutrino1.h5"] == 4


# ---------------------------------------------------------------- failures


@pytest.mark.parametrize(
    "mode, number, words, attempts",
    [
        ("short", 1, ["truncated download", "of {size:,} bytes", "after 3 attempts"], 3),
        ("html", 1, ["not a valid NOvA file", "not an HDF5 file"], 1),  # a complete download: no retry
        ("ok", 3, ["HTTP 404 Not Found"], 1),  # a missing file: no retry
        ("flaky", 3, ["HTTP 404"], 1),
    ],
    ids=["truncated", "html", "404", "404-flaky"],
)
def test_failure_names_the_file_and_leaves_nothing(server, url, tmp_path, mode, number, words, attempts):
    out = tmp_path / "out"
    with pytest.raises(FetchError) as info:
        fetch_files(out, [number], url(mode), retries=2, retry_wait=0)
    message = str(info.value)
    name = f"neutrino{number}.h5"
    assert message.startswith(f"{name}: ")
    assert f"{url(mode)}{name}" in message
    size = len(server.files.get(name, b""))
    for word in words:
        assert word.format(size=size) in message, message
    assert "\n" not in message
    assert server.requests[f"/{mode}/{name}"] == attempts
    assert _listing(out) == []  # no partial file, no temporary file or directory


def test_files_before_a_failure_stay(server, url, tmp_path):
    with pytest.raises(FetchError, match=r"^neutrino3\.h5: HTTP 404"):
        fetch_files(tmp_path, [1, 2, 3], url("ok"), retry_wait=0)
    assert _listing(tmp_path) == ["neutrino1.h5", "neutrino2.h5"]
    assert validate_file(tmp_path / "neutrino2.h5") == 60


def test_unreachable_server(tmp_path):
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_port  # bound, then closed: nothing listens there any more
    with pytest.raises(
        FetchError, match=rf"^neutrino1\.h5: connection refused by 127\.0\.0\.1:{port} .* from http://127"
    ):
        fetch_files(tmp_path, [1], f"http://127.0.0.1:{port}", retries=1, retry_wait=0)
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("base", ["file:///tmp/nova/", "ftp://example.org/nova/", "www.hep.ucl.ac.uk/nova"])
def test_only_http_urls(tmp_path, base):
    with pytest.raises(ConfigError, match="http:// or https://"):
        fetch_files(tmp_path, [1], base)


def test_out_dir_that_is_a_file(tmp_path, url):
    (tmp_path / "cache").write_text("not a directory")
    with pytest.raises(ConfigError, match="expected a directory"):
        fetch_files(tmp_path / "cache", [1], url("ok"))


# ---------------------------------------------------------------- the command line


def test_cli_fetch(server, url, tmp_path):
    result = CliRunner().invoke(app, ["fetch", str(tmp_path), "--files", "1-2", "--base-url", url("ok")])
    assert result.exit_code == 0, result.output
    assert "2 files ready" in result.stdout
    assert _listing(tmp_path) == ["neutrino1.h5", "neutrino2.h5"]


@pytest.mark.parametrize(
    "mode, files, words",
    [
        ("ok", "2-3", "neutrino3.h5: HTTP 404"),
        ("html", "1", "neutrino1.h5: downloaded from"),
        ("short", "2", "neutrino2.h5: truncated download"),
        ("ok", "0-3", "outside 1–200"),
    ],
)
def test_cli_fetch_failure_is_one_line_and_exit_2(server, url, tmp_path, monkeypatch, mode, files, words):
    monkeypatch.setattr(fetch, "RETRY_WAIT_S", 0.0)
    result = CliRunner().invoke(
        app, ["fetch", str(tmp_path / "c"), "--files", files, "--base-url", url(mode)]
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nuclass fetch: error: ")
    assert words in lines[0]
    assert all(name.startswith("neutrino") and "." == name[-3] for name in _listing(tmp_path / "c"))


def test_cli_fetch_subprocess(server, url, tmp_path):
    """The installed command: a real process, real stderr, exit code 2, no traceback."""
    nuclass = Path(sys.executable).with_name("nuclass")
    command = [str(nuclass), "fetch", str(tmp_path), "--files", "3", "--base-url", url("ok")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert (
        done.stderr
        == f"nuclass fetch: error: neutrino3.h5: HTTP 404 Not Found from {url('ok')}neutrino3.h5\n"
    )
    assert done.stdout == ""
    assert _listing(tmp_path) == []

"""Shared fixtures: small NOvA-format files made on the fly (by the simulator once it exists), and a local
HTTP server on 127.0.0.1 with the faults fetch must survive."""

from __future__ import annotations

import signal
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from nuclass.io import Events, write_file
from nuclass.sim import SimConfig

# The Ctrl-C tests send SIGINT to child processes. A suite started in the background (`make test &`,
# nohup) inherits SIGINT ignored, and so would every child; a handled signal is reset to the default on
# exec, so the children get Python's KeyboardInterrupt back.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def make_events(n: int, seed: int = 0) -> Events:
    """`n` NOvA-like events; uses nuclass.sim when available."""
    try:
        from nuclass.sim import simulate_events
    except ImportError:
        return _placeholder_events(n, seed)
    return simulate_events(n, seed=seed)


def _placeholder_events(n: int, seed: int) -> Events:
    """Valid-format events with a track whose length depends on the energy (until the simulator lands)."""
    rng = np.random.default_rng(seed)
    interaction = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 13, 15], size=n,
                             p=[0.12, 0.19, 0.54, 0.03, 0.002, 0.003, 0.005, 0.002, 0.099, 0.009])
    nuenergy = rng.lognormal(2.0, 0.8, n).astype(np.float32)
    lepenergy = (nuenergy * rng.uniform(0.1, 0.9, n)).astype(np.float32)
    nuenergy[interaction == 15] = 0
    lepenergy[interaction == 15] = 0
    maps = np.zeros((n, 2, 100, 80), np.uint8)
    for i in range(n):
        length = int(min(99, 5 + 3 * lepenergy[i]))
        maps[i, :, :length, 40] = rng.integers(20, 200, size=(2, length))
    meta = {
        "evt": np.arange(n, dtype=np.uint32),
        "interaction": interaction,
        "finalstate": np.where(interaction < 4, 4, np.where(interaction < 8, 17, 49)),
        "nuenergy": nuenergy,
        "lepenergy": lepenergy,
    }
    return Events(maps, meta)


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory) -> Path:
    """A directory of four small files neutrino1.h5 … neutrino4.h5 (300 events each)."""
    out = tmp_path_factory.mktemp("sim")
    for k in range(1, 5):
        write_file(out / f"neutrino{k}.h5", make_events(300, seed=k))
    return out


@pytest.fixture(scope="session")
def sim_file(sim_dir) -> Path:
    return sim_dir / "neutrino1.h5"


@pytest.fixture(scope="session")
def run_dir(sim_dir, tmp_path_factory) -> Path:
    """One tiny numu-cc training of seed-multiview on the 4 × 300-event fixture files (2/1/1 by
    file), shared by the tests of evaluate, predict, report and systematics."""
    from nuclass.training import load_config, train

    out = tmp_path_factory.mktemp("tiny-run") / "run"
    train(
        load_config(
            "tiny", task="numu-cc", model="seed-multiview", data=[str(sim_dir)], out=str(out), threads=1
        )
    )
    return out


@pytest.fixture(scope="session")
def bare_config() -> SimConfig:
    """The ND without the 15-hit cut and without stray hits: single particles read out as they are."""
    return SimConfig(min_slice_hits=0, pileup_hits_per_plane=0.0)


def _lit_rows(maps: np.ndarray) -> np.ndarray:
    """Per event and view, the index of the last lit row + 1 (the extent in rows): (n, 2)."""
    rows = (maps > 0).any(axis=-1)
    return np.where(rows.any(-1), rows.shape[-1] - np.argmax(rows[..., ::-1], axis=-1), 0)


@pytest.fixture(scope="session")
def lit_rows():
    """The function `_lit_rows`: maps (..., 100, 80) -> the extent of each view in rows."""
    return _lit_rows


class _Handler(BaseHTTPRequestHandler):
    """/MODE/neutrinoN.h5, MODE one of ok, short, html, flaky (503 on the first request of each file),
    cut (a third of the file, then the connection reset, as by a server killed mid-transfer) and slow
    (neutrino1.h5 at once, any other file a kilobyte every 0.1 s: time to press Ctrl-C)."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        server = self.server
        mode, _, name = self.path.strip("/").partition("/")
        with server.lock:
            server.requests[self.path] += 1
            first = server.requests[self.path] == 1
        body = server.files.get(name)
        if mode == "html":
            self._send(200, b"<html><body><h1>Service moved</h1></body></html>\n", "text/html")
        elif body is None:
            self.send_error(404, "Not Found")
        elif mode == "ok" or (mode == "flaky" and not first) or (mode == "slow" and name == "neutrino1.h5"):
            self._send(200, body)
        elif mode == "flaky":
            self.send_error(503, "Service Unavailable")
        elif mode in ("short", "cut", "slow"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            getattr(self, f"_{mode}")(body)
        else:
            self.send_error(400, "Bad mode")

    def _short(self, body: bytes) -> None:  # announce the whole file, send half of it, hang up
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def _cut(self, body: bytes) -> None:
        self.wfile.write(body[: len(body) // 3])
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
        self.close_connection = True

    def _slow(self, body: bytes) -> None:
        try:
            for start in range(0, len(body), 1024):
                self.wfile.write(body[start : start + 1024])
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:  # the client went away (Ctrl-C)
            self.close_connection = True

    def _send(self, status: int, body: bytes, kind: str = "application/x-hdf5") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A local HTTP server holding neutrino1.h5 and neutrino2.h5 (no neutrino3.h5), 60 events each."""
    src = tmp_path_factory.mktemp("served")
    files = {}
    for k in (1, 2):
        path = write_file(src / f"neutrino{k}.h5", make_events(60, seed=k))
        files[path.name] = path.read_bytes()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.files, httpd.requests, httpd.lock = files, Counter(), threading.Lock()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def url(server):
    """Base URL of one mode: url('ok'), url('short') …; counts start from zero in each test."""
    server.requests.clear()
    return lambda mode: f"http://127.0.0.1:{server.server_port}/{mode}/"

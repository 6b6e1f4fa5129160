"""Fail well (issue 14): every command against a catalogue of bad inputs gives exit code 2 and one line on
stderr naming the file or option, no traceback, and leaves every file and folder as it was; Ctrl-C in real
`train` and `fetch` processes stops cleanly (exit 130) with only complete files left, and train resumes."""

from __future__ import annotations

import hashlib
import re
import shutil
import signal
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import make_events
from nuclass.cli import app
from nuclass.io import fetch, write_file

runner = CliRunner()
CLI = [sys.executable, "-m", "nuclass.cli"]


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file and folder under `root`: kind, size, mtime and (files under 1 MB) sha256."""
    tree = {}
    for path in sorted(root.rglob("*")):
        stat = path.lstat()
        if path.is_dir():
            tree[str(path.relative_to(root))] = ("dir", stat.st_mtime_ns)
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.st_size < 1 << 20 else None
            tree[str(path.relative_to(root))] = ("file", stat.st_size, stat.st_mtime_ns, digest)
    return tree


@pytest.fixture(scope="module")
def ws(tmp_path_factory, sim_dir) -> Path:
    """A workspace of good and bad inputs, and a finished tiny run (`run`) trained on `data`."""
    ws = tmp_path_factory.mktemp("ws")
    shutil.copytree(sim_dir, ws / "data")
    shutil.copy(sim_dir / "neutrino1.h5", ws / "good.h5")
    (ws / "text.h5").write_text("this is not an HDF5 file\n")
    (ws / "trunc.h5").write_bytes((sim_dir / "neutrino2.h5").read_bytes()[:20000])
    h5py.File(ws / "empty.h5", "w").close()  # no datasets at all
    with h5py.File(ws / "emptynu.h5", "w") as f:  # maps, and an empty truth group
        f.create_dataset("cvnmap", data=np.zeros((3, 16000), np.uint8))
        f.create_group("neutrino")
    events = make_events(20, seed=3)
    events.meta["nuenergy"] = events.meta["nuenergy"].astype(np.float32)
    events.meta["nuenergy"][4] = np.nan
    write_file(ws / "nan.h5", events)
    (ws / "mine").mkdir()  # a user's own neutrino1.h5 that fails validation: fetch must keep it
    shutil.copy(ws / "nan.h5", ws / "mine" / "neutrino1.h5")
    (ws / "adir").mkdir()
    (ws / "adir" / "notes.txt").write_text("a directory where a file is expected\n")
    (ws / "afile.txt").write_text("a file where a directory is expected\n")
    (ws / "bad.yaml").write_text("a: [1, 2\n")
    (ws / "list.yaml").write_text("- 1\n- 2\n")
    (ws / "sim_zero.yaml").write_text("plane_pitch_cm: 0\n")
    (ws / "sim_abc.yaml").write_text("plane_pitch_cm: abc\n")
    (ws / "sim_share.yaml").write_text("share_nue_cc: 1.5\n")
    (ws / "train_key.yaml").write_text("learning_rat: 0.1\n")
    done = runner.invoke(app, ["train", "--task", "numu-cc", "--data", str(ws / "data"),
                               "--out", str(ws / "run"), "--config", "tiny", "--model", "seed-multiview"])
    assert done.exit_code == 0, done.output
    return ws


@pytest.fixture(scope="module")
def closed_port() -> int:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        return closed.server_port  # bound, then closed: nothing listens there any more


# (id, arguments, a regular expression the one line must match); {ws} is the workspace, {ok} / {cut} /
# {html} served URLs, {closed} a port nobody listens on. Every case also runs from inside the workspace.
CASES = [
    # fetch
    ("fetch-invalid-local-file-kept", "fetch {ws}/mine --files 1 --base-url {ok}",
     r"mine/neutrino1\.h5: already there and not a valid NOvA file .*nuenergy.*kept.*--replace-invalid"),
    ("fetch-refused", "fetch {ws}/new --files 1 --base-url http://127.0.0.1:{closed}/",
     r"neutrino1\.h5: connection refused by 127\.0\.0\.1:{closed}"),
    ("fetch-server-killed", "fetch {ws}/new --files 2 --base-url {cut}",
     r"neutrino2\.h5: (the connection to .* broke off during the transfer|truncated download)"),
    ("fetch-404", "fetch {ws}/new --files 3 --base-url {ok}", r"neutrino3\.h5: HTTP 404"),
    ("fetch-html", "fetch {ws}/new --files 1 --base-url {html}", r"neutrino1\.h5: downloaded .* not a valid"),
    ("fetch-files-0", "fetch {ws}/new --files 0-3", r"file numbers '0-3'.*outside 1–200"),
    ("fetch-files-text", "fetch {ws}/new --files abc", r"'abc' is not a number"),
    ("fetch-ftp", "fetch {ws}/new --files 1 --base-url ftp://example.org/", r"expected http:// or https://"),
    ("fetch-out-is-file", "fetch {ws}/afile.txt --files 1", r"afile\.txt: expected a directory"),
    # simulate (the simulator's own checks, through the CLI)
    ("simulate-out-is-file", "simulate {ws}/good.h5", r"good\.h5: expected a directory"),
    ("simulate-holds-a-set", "simulate {ws}/data --files 1 --events-per-file 10",
     r"data: already holds a data set"),
    ("simulate-files-negative", "simulate {ws}/new --files -1", r"'--files'.*greater than or equal to 1"),
    ("simulate-events-0", "simulate {ws}/new --events-per-file 0", r"'--events-per-file'"),
    ("simulate-workers-0", "simulate {ws}/new --workers 0", r"'--workers'"),
    ("simulate-zero-pitch", "simulate {ws}/new --config {ws}/sim_zero.yaml",
     r"sim_zero\.yaml: plane_pitch_cm must be > 0"),
    ("simulate-text-pitch", "simulate {ws}/new --config {ws}/sim_abc.yaml",
     r"sim_abc\.yaml: plane_pitch_cm .*'abc'"),
    ("simulate-share", "simulate {ws}/new --config {ws}/sim_share.yaml", r"share_nue_cc must be ≥ 0 and ≤ 1"),
    ("simulate-bad-yaml", "simulate {ws}/new --config {ws}/bad.yaml", r"bad\.yaml"),
    ("simulate-no-config", "simulate {ws}/new --config {ws}/none.yaml", r"none\.yaml"),
    # inspect
    ("inspect-text", "inspect {ws}/text.h5", r"text\.h5: expected an HDF5 file"),
    ("inspect-truncated", "inspect {ws}/trunc.h5",
     r"trunc\.h5: expected a complete HDF5 file, got truncated"),
    ("inspect-no-datasets", "inspect {ws}/empty.h5",
     r"empty\.h5: field 'cvnmap': .*missing \(present: none\)"),
    ("inspect-empty-truth", "inspect {ws}/emptynu.h5",
     r"emptynu\.h5: field 'neutrino/.*missing \(present: none\)"),
    ("inspect-nan-energy", "inspect {ws}/nan.h5", r"nan\.h5: field 'neutrino/nuenergy'.*nan at row 4"),
    ("inspect-missing", "inspect {ws}/nothing.h5", r"nothing\.h5: no such file"),
    ("inspect-dir-without-files", "inspect {ws}/adir", r"adir: directory holds no \.h5 files"),
    ("inspect-no-path", "inspect", r"Missing argument"),
    # display
    ("display-out-is-dir", "display {ws}/good.h5 --event 0 --out {ws}/adir",
     r"adir: expected a PNG file .*directory"),
    ("display-out-under-file", "display {ws}/good.h5 --out {ws}/afile.txt/e.png",
     r"afile\.txt.*a file .*in the way"),
    ("display-out-unwritable", "display {ws}/good.h5 --out /proc/nuclass-test/e.png",
     r"/proc/nuclass-test/e\.png: cannot write it here"),
    ("display-event-range", "display {ws}/good.h5 --event 300 --out {ws}/e.png", r"event 300 out of range"),
    ("display-no-datasets", "display {ws}/empty.h5 --out {ws}/e.png", r"empty\.h5: field 'cvnmap'"),
    # train
    ("train-strategy", "train --task numu-cc --data {ws}/data --out {ws}/new --strategy foo",
     r"unknown strategy 'foo'; Lightning's strategies: auto, ddp"),
    ("train-strategy-cpu",
     "train --task numu-cc --data {ws}/data --out {ws}/new --strategy fsdp --config tiny",
     r"Lightning cannot run .*strategy fsdp.*GPU"),
    ("train-precision", "train --task numu-cc --data {ws}/data --out {ws}/new --precision bf17",
     r"unknown precision 'bf17'"),
    ("train-devices-0", "train --task numu-cc --data {ws}/data --out {ws}/new --devices 0", r"'--devices'"),
    ("train-model", "train --task numu-cc --data {ws}/data --out {ws}/new --model foo", r"'--model'"),
    ("train-task", "train --task foo --data {ws}/data --out {ws}/new", r"unknown task 'foo'; give one of"),
    ("train-no-task", "train --data {ws}/data --out {ws}/new", r"give --task"),
    ("train-no-data", "train --task numu-cc --data {ws}/nothing --out {ws}/new", r"nothing: no such file"),
    ("train-bad-file",
     "train --task numu-cc --data {ws}/data --data {ws}/text.h5 --out {ws}/new --config tiny",
     r"text\.h5: expected an HDF5 file"),
    ("train-where-typo", "train --task numu-cc --data {ws}/data --out {ws}/new --where 'nuenergyy > 3'",
     r"unknown field or name 'nuenergyy'.*did you mean nuenergy\? valid fields: nuenergy,"),
    ("train-signal-name", "train --task numu-cc --data {ws}/data --out {ws}/new --signal kNumuqe",
     r"'kNumuqe'.*names: kNumuQE,"),
    ("train-bad-yaml", "train --task numu-cc --data {ws}/data --out {ws}/new --config {ws}/bad.yaml",
     r"bad\.yaml: not valid YAML"),
    ("train-yaml-list", "train --data {ws}/data --out {ws}/new --config {ws}/list.yaml",
     r"list\.yaml: expected a mapping"),
    ("train-yaml-key", "train --data {ws}/data --out {ws}/new --config {ws}/train_key.yaml",
     r"unknown training config key\(s\) learning_rat"),
    ("train-out-is-file", "train --task numu-cc --data {ws}/data --out {ws}/afile.txt",
     r"afile\.txt: expected a run dir"),
    ("train-resume-nothing", "train --task numu-cc --data {ws}/data --out {ws}/adir --resume",
     r"adir: nothing to resume"),
    ("train-run-exists", "train --task numu-cc --data {ws}/data --out {ws}/run", r"run: holds a run already"),
    ("train-minutes-0", "train --task numu-cc --data {ws}/data --out {ws}/new --max-minutes 0",
     r"'--max-minutes'"),
    ("train-unknown-option", "train --tsk numu-cc", r"No such option: --tsk"),
    # study
    ("study-unknown", "study nosuch --data {ws}/data --out {ws}/new", r"unknown study 'nosuch'"),
    ("study-bad-yaml", "study {ws}/bad.yaml --data {ws}/data --out {ws}/new", r"bad\.yaml: not valid YAML"),
    ("study-no-data", "study seed000-task2 --data {ws}/nothing --out {ws}/new", r"nothing: no such file"),
    ("study-out-is-file", "study seed000-task2 --data {ws}/data --out {ws}/afile.txt --config tiny",
     r"afile\.txt: expected a study directory"),
    ("study-repeats-0", "study seed000-task2 --data {ws}/data --repeats 0", r"'--repeats'"),
    # evaluate, predict, report
    ("evaluate-no-run", "evaluate {ws}/nothing", r"nothing: no such run directory"),
    ("evaluate-not-a-run", "evaluate {ws}/adir", r"adir: not a finished training run"),
    ("evaluate-bad-data", "evaluate {ws}/run --data {ws}/text.h5", r"text\.h5: expected an HDF5 file"),
    ("predict-out-is-dir", "predict {ws}/run {ws}/good.h5 --out {ws}/adir",
     r"adir: expected an HDF5 file .*directory"),
    ("predict-out-under-file", "predict {ws}/run {ws}/good.h5 --out {ws}/afile.txt/p.h5", r"in the way"),
    ("predict-out-unwritable", "predict {ws}/run {ws}/good.h5 --out /proc/p.h5",
     r"/proc/p\.h5: cannot write it here"),
    ("predict-missing-input", "predict {ws}/run {ws}/nothing.h5 --out {ws}/p.h5",
     r"nothing\.h5: no such file"),
    ("predict-bad-input", "predict {ws}/run {ws}/trunc.h5 --out {ws}/p.h5",
     r"trunc\.h5: expected a complete"),
    ("predict-not-a-run", "predict {ws}/adir {ws}/good.h5 --out {ws}/p.h5",
     r"adir: not a finished training run"),
    ("report-out-is-dir", "report {ws}/run --out {ws}/adir", r"adir: expected an HTML file .*directory"),
    ("report-no-run", "report {ws}/nothing --out {ws}/r.html", r"nothing: no such run directory"),
    ("demo-out-is-file", "demo --out {ws}/afile.txt", r"afile\.txt: expected a directory"),
    # the group
    ("unknown-command", "frob", r"No such command 'frob'"),
    ("debug-bad-input", "--debug inspect {ws}/text.h5", r"text\.h5: expected an HDF5 file"),
]
REAL_PROCESS = {"fetch-invalid-local-file-kept", "simulate-files-negative", "inspect-no-datasets",
                "train-strategy", "display-out-is-dir", "unknown-command"}


def _args(template: str, ws: Path, url, closed: int) -> list[str]:
    import shlex

    text = template.format(ws=ws, ok=url("ok"), cut=url("cut"), html=url("html"), closed=closed)
    return shlex.split(text)


def _command_of(args: list[str]) -> str:
    words = [a for a in args if not a.startswith("--")]
    return f"nuclass {words[0]}" if words and words[0] != "frob" else "nuclass"


def _check_one_line(stderr: str, stdout: str, prefix: str, pattern: str) -> None:
    assert "Traceback" not in stderr + stdout
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"{prefix}: error: "), lines[0]
    assert re.search(pattern, lines[0]), lines[0]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(case, ws, url, closed_port, monkeypatch):
    name, template, pattern = case
    monkeypatch.setattr(fetch, "RETRY_WAIT_S", 0.0)
    monkeypatch.chdir(ws)
    args = _args(template, ws, url, closed_port)
    pattern = pattern.format(closed=closed_port) if "{closed}" in pattern else pattern
    before = snapshot(ws)
    if name in REAL_PROCESS:
        done = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, cwd=ws)
        code, stdout, stderr = done.returncode, done.stdout, done.stderr
    else:
        result = runner.invoke(app, args)
        code, stdout, stderr = result.exit_code, result.stdout, result.stderr
    assert code == 2, stderr + stdout
    _check_one_line(stderr, stdout, _command_of(args), pattern)
    assert snapshot(ws) == before


def test_inspect_reports_every_bad_path(ws):
    """good.h5 trunc.h5 text.h5 …: one line per bad path, exit 2, nothing on stdout."""
    names = ["good.h5", "trunc.h5", "text.h5", "nothing.h5", "empty.h5"]
    done = subprocess.run([*CLI, "inspect", *names], capture_output=True, text=True, timeout=120, cwd=ws)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 4 and done.stdout == "" and "Traceback" not in done.stderr
    assert all(line.startswith("nuclass inspect: error: ") for line in lines)
    assert sorted(line.split(": ")[2] for line in lines) == ["empty.h5", "nothing.h5", "text.h5", "trunc.h5"]


def test_an_internal_error_is_one_line_exit_1_and_debug_shows_the_traceback(ws, monkeypatch):
    import nuclass.io.summary

    def broken(*args, **kwargs):
        raise RuntimeError("something nuclass did not foresee")

    monkeypatch.setattr(nuclass.io.summary, "summarise", broken)
    result = runner.invoke(app, ["inspect", str(ws / "good.h5")])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "nuclass inspect: error: internal error: RuntimeError: something nuclass did not foresee "
        "(run with --debug for the traceback)"
    ]
    debug = runner.invoke(app, ["--debug", "inspect", str(ws / "good.h5")])
    assert debug.exit_code == 1 and isinstance(debug.exception, RuntimeError)


def test_help_shows_no_python_types_beside_flags_and_no_design_references():
    for command in ([], ["fetch"], ["simulate"], ["inspect"], ["train"], ["study"], ["predict"]):
        text = runner.invoke(app, [*command, "--help"], terminal_width=200).stdout
        assert "<bool>" not in text and "DESIGN" not in text, command
    assert "--replace-invalid" in runner.invoke(app, ["fetch", "--help"], terminal_width=200).stdout


def test_outputs_get_their_parent_folders_and_runs_record_their_data(ws, tmp_path):
    scores = tmp_path / "no" / "such" / "p.h5"
    done = runner.invoke(app, ["predict", str(ws / "run"), str(ws / "good.h5"), "--out", str(scores)])
    assert done.exit_code == 0, done.output
    assert h5py.File(scores)["score"].shape[0] == 300
    picture = tmp_path / "new" / "e.png"
    assert runner.invoke(app, ["display", str(ws / "good.h5"), "--out", str(picture)]).exit_code == 0
    assert picture.read_bytes()[:4] == b"\x89PNG"
    from nuclass.run_dir import RunDir

    sources = RunDir(ws / "run").read_data_sources()
    assert [s["folder"] for s in sources] == [str(ws / "data")] and sources[0]["simulation"] is None
    assert RunDir(tmp_path).read_data_sources() == []  # a run from before data.json


def test_inspect_shows_a_simulation_manifest(tmp_path):
    from nuclass.sim import simulate_files

    simulate_files(tmp_path / "sim", 1, 20, seed=7, workers=1)
    result = runner.invoke(app, ["inspect", str(tmp_path / "sim")], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert re.search(r"sim: simulated by nuclass \S+, seed 7, 1 files × 20 events", result.stdout)


def _no_temporaries(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if ".tmp" in p.name or p.name.startswith(".fetch-")]


@pytest.mark.slow
def test_ctrl_c_in_train_saves_a_checkpoint_that_resume_continues(sim_dir, tmp_path):
    import yaml

    from nuclass.training.config import PRESETS

    run, config = tmp_path / "run", tmp_path / "long.yaml"
    # no early stop: the run lasts until Ctrl-C; a data worker as by default (it must outlive the Ctrl-C)
    long = {**PRESETS["tiny"], "max_epochs": 1000, "patience": 1000, "num_workers": 1}
    config.write_text(yaml.safe_dump(long))
    command = [*CLI, "train", "--task", "numu-cc", "--data", str(sim_dir), "--out", str(run), "--config",
               str(config), "--model", "seed-multiview", "--val-every-minutes", "0.01"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 150
    while not (run / "checkpoints" / "last.ckpt").is_file() and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=90)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr + stdout
    last = stderr.splitlines()[-1]
    match = re.fullmatch(rf"nuclass train: {re.escape(str(run))}: interrupted at epoch (\d+), step (\d+); "
                         r"resume with --resume \(checkpoint .*last\.ckpt saved now\)", last)
    assert match, stderr
    epoch, step = int(match[1]), int(match[2])
    assert _no_temporaries(run) == []
    import torch

    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert checkpoint["global_step"] == step > 0
    assert not (run / "model.safetensors").exists()

    resumed = runner.invoke(app, ["train", "--out", str(run), "--resume", "--max-epochs", str(epoch + 2)])
    assert resumed.exit_code == 0, resumed.output
    assert (run / "model.safetensors").is_file()
    rows = (run / "metrics.csv").read_text().splitlines()[1:]
    assert int(rows[-1].split(",")[0]) == epoch + 1 and int(rows[-1].split(",")[1]) > step


@pytest.mark.slow
def test_ctrl_c_in_fetch_leaves_only_complete_files(server, url, tmp_path):
    out = tmp_path / "cache"
    process = subprocess.Popen([*CLI, "fetch", str(out), "--files", "1-2", "--base-url", url("slow")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while server.requests["/slow/neutrino2.h5"] == 0 and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    time.sleep(0.3)  # neutrino2.h5 is arriving, a kilobyte at a time
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.splitlines() == [
        f"nuclass fetch: interrupted while downloading neutrino2.h5: 1 of 2 files complete in {out} "
        "(neutrino1.h5); no partial file left; the same command fetches the rest"
    ]
    assert sorted(p.name for p in out.iterdir()) == ["neutrino1.h5"]
    assert (out / "neutrino1.h5").read_bytes() == server.files["neutrino1.h5"]


def test_ctrl_c_in_a_study_says_what_is_complete(ws, tmp_path, monkeypatch):
    import nuclass.study.run
    from nuclass.errors import Interrupted

    def interrupted(config):
        raise Interrupted(f"{config.out}: interrupted at epoch 0, step 3; resume with --resume")

    monkeypatch.setattr(nuclass.study.run, "train", interrupted)
    result = runner.invoke(app, ["study", "seed000-task2", "--data", str(ws / "data"),
                                 "--out", str(tmp_path / "s"), "--config", "tiny"])
    assert result.exit_code == 130
    (line,) = result.stderr.splitlines()
    assert line.startswith("nuclass study: study seed000-task2 interrupted in baseline seed 0 (")
    assert "0 training(s) complete" in line and "no study.json written yet" in line
    assert not (tmp_path / "s" / "study.json").exists()


def test_files_without_datasets_name_what_is_missing(ws):
    """Issue 14: `n must be > 0` from the closest-names helper on a file with no datasets."""
    from nuclass.errors import FormatError
    from nuclass.io import read_file, read_truth, validate_file

    for name, field in (("empty.h5", "cvnmap"), ("emptynu.h5", "neutrino/")):
        for read in (read_file, read_truth, validate_file):
            with pytest.raises(FormatError, match=rf"field '{field}.*missing \(present: none\)"):
                read(ws / name)

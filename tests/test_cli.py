"""The `nuclass` command line: every command of DESIGN §6, inspect and display end to end, and bad input
as one line on stderr with exit code 2 (checked through the installed entry point)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import make_events
from nuclass.cli import app
from nuclass.io import read_truth, write_file

NUCLASS = Path(sys.executable).with_name("nuclass")
COMMANDS = (
    "fetch", "simulate", "inspect", "display", "train", "study", "evaluate", "predict", "report", "demo",
    "export",
)

runner = CliRunner()


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(NUCLASS), *args], capture_output=True, text=True, timeout=120)


def test_help_lists_every_command():
    result = run("--help")  # the installed entry point
    assert result.returncode == 0
    assert "Usage: nuclass" in result.stdout
    listed = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("│ ")}
    assert set(COMMANDS) <= listed
    for command in COMMANDS:
        assert runner.invoke(app, [command, "--help"]).exit_code == 0


def test_commands_not_built_yet_exit_2_with_one_line():
    pending = [c for c in COMMANDS if "not built yet" in runner.invoke(app, [c, "--help"]).stdout]
    for command in pending:
        result = runner.invoke(app, [command])
        assert result.exit_code == 2, command
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"nuclass {command}: error: 'nuclass {command}' is not built yet (issue ")


def test_inspect_table_and_json_agree_with_the_files(sim_dir):
    table = runner.invoke(app, ["inspect", str(sim_dir)])
    assert table.exit_code == 0, table.stderr
    assert "kNumuDIS" in table.stdout and "νμ CC" in table.stdout and "median" in table.stdout

    result = runner.invoke(app, ["inspect", str(sim_dir), "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    files = summary["files"]
    assert [Path(f["path"]).name for f in files] == [f"neutrino{k}.h5" for k in range(1, 5)]
    total = summary["total"]
    assert total["events"] == sum(f["events"] for f in files) == 1200
    for key in ("interaction", "flavour", "mode", "finalstate"):
        assert sum(v["fraction"] for v in total[key].values()) == pytest.approx(1.0)
    truth = [read_truth(f["path"]) for f in files]
    codes = np.concatenate([t["interaction"] for t in truth])
    assert {v["code"]: v["count"] for v in total["interaction"].values()} == {
        int(c): int(n) for c, n in zip(*np.unique(codes, return_counts=True), strict=True)
    }
    nuenergy = np.concatenate([t["nuenergy"] for t in truth])
    assert total["energy"]["zero_energy_events"] == int(np.sum(nuenergy == 0))
    q90 = float(np.quantile(nuenergy[nuenergy > 0], 0.9))
    assert total["energy"]["nuenergy"]["q90"] == pytest.approx(q90)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, sim_dir) -> dict[str, Path]:
    """A text file, a truncated file and a file holding interaction code 16 (kNIntType, a vector size)."""
    out = tmp_path_factory.mktemp("bad")
    text = out / "neutrino1.h5"
    text.write_text("this is not an HDF5 file\n")
    truncated = out / "neutrino2.h5"
    shutil.copy(sim_dir / "neutrino2.h5", truncated)
    with truncated.open("r+b") as f:
        f.truncate(truncated.stat().st_size // 2)
    events = make_events(20, seed=5)
    events.meta["interaction"][7] = 16
    code16 = write_file(out / "neutrino3.h5", events)
    return {"text": text, "truncated": truncated, "interaction 16": code16}


@pytest.mark.parametrize("kind", ["text", "truncated", "interaction 16"])
def test_inspect_of_a_bad_file_is_one_line_and_exit_2(bad_files, kind):
    result = run("inspect", str(bad_files[kind]))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nuclass inspect: error: ") and str(bad_files[kind]) in lines[0]
    if kind == "interaction 16":
        assert "neutrino/interaction" in lines[0] and "16" in lines[0]
    assert result.stdout == ""


def test_display_writes_a_png_and_a_bad_index_exits_2(sim_file, tmp_path):
    out = tmp_path / "event.png"
    result = runner.invoke(app, ["display", str(sim_file), "--event", "12", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 1000 and 1.8 * height < width

    bad = run("display", str(sim_file), "--event", "300", "--out", str(tmp_path / "bad.png"))
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        f"nuclass display: error: {sim_file}: event 300 out of range; valid events are 0–299"
    ]
    assert not (tmp_path / "bad.png").exists()


def test_missing_path_exits_2(tmp_path):
    result = runner.invoke(app, ["inspect", str(tmp_path / "neutrino9.h5")])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "neutrino9.h5" in result.stderr


def test_train_options_are_checked_against_the_train_config():
    """Every option of `nuclass train` but --config is a TrainConfig key: a value of the option's type
    becomes a valid config value, defaults are the config's and choices come from the registries."""
    import dataclasses
    import enum
    import inspect
    import types
    import typing

    from nuclass import cli
    from nuclass.data.balance import BALANCE_METHODS
    from nuclass.labels import TASKS
    from nuclass.models import list_models
    from nuclass.training.config import DEFAULTS, TrainConfig

    keys = {f.name for f in dataclasses.fields(TrainConfig)}
    command = cli.train.__wrapped__
    hints = typing.get_type_hints(command)
    samples = {str: "x", int: 1, float: 1.5, bool: True, Path: Path("x")}
    for name, parameter in inspect.signature(command).parameters.items():
        if name in cli.NOT_CONFIG_KEYS:
            continue
        assert name in keys, f"--{name.replace('_', '-')} is no TrainConfig key"
        kind = hints[name]
        if isinstance(kind, types.UnionType):  # X | None: None means "not given"
            kind = next(t for t in typing.get_args(kind) if t is not type(None))
        if typing.get_origin(kind) is list:
            value = [samples[typing.get_args(kind)[0]]]
        elif isinstance(kind, type) and issubclass(kind, enum.Enum):
            value = next(iter(kind))
        else:
            value = samples[kind]
        TrainConfig.from_dict(cli._config_options({name: value}))  # raises on a type that does not fit
        if parameter.default is not None:
            assert cli._config_options({name: parameter.default})[name] == getattr(DEFAULTS, name), name
    task_help = typing.get_type_hints(command, include_extras=True)["task"].__metadata__[0].help
    assert all(name in task_help for name in (*TASKS, "'all'"))  # a task, 'all' or a comma list
    assert [c.value for c in cli.ModelChoice] == list_models()
    assert [c.value for c in cli.BalanceChoice] == list(BALANCE_METHODS)

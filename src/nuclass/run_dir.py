"""The directories that join train → evaluate → report → study: a training run's, a study's and a systematics
run's, with every file name, its reader and its writer (files written atomically; readers name the file on
bad content)."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nuclass.atomic import atomic_path, write_json
from nuclass.errors import FormatError, NuclassError
from nuclass.labels import Task, get_task, parse_tasks
from nuclass.labels.truth import ANALYSIS_TRUTH, VERTEX_TRUTH

__all__ = ["RunDir", "StudyDir", "SystematicsDir", "TEST_SETS", "load_predictions"]

TEST_SETS = ("natural", "balanced")  # the test sets of every run: the files' own composition, and balanced


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _read_json(path: Path, expected: str, valid: str = "valid JSON") -> Any:
    """A JSON file's content; FormatError naming it if it is missing (`expected`) or not `valid`."""
    if not path.is_file():
        raise FormatError(path, None, expected, "no such file")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise FormatError(path, None, valid, str(exc)) from None


def load_predictions(path: str | os.PathLike, task: Task | str) -> dict[str, np.ndarray]:
    """Arrays of one predictions file (score, target and truth, N events each), checked against the task."""
    path = Path(path)
    task = get_task(task) if isinstance(task, str) else task
    if not path.is_file():
        raise FormatError(path, None, "a predictions file (.npz)", "no such file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise FormatError(path, None, "a numpy .npz file", str(exc)) from None
    for name in ("score", "target", *ANALYSIS_TRUTH):
        if name not in arrays:
            raise FormatError.missing(path, name, arrays)
    n = len(arrays["target"])
    for name in ("score", *ANALYSIS_TRUTH, "evt", "file_index", *VERTEX_TRUTH):
        if name in arrays and len(arrays[name]) != n:
            raise FormatError(path, name, f"{n} rows like target", f"{len(arrays[name])}")
    score = arrays["score"]
    expected = (n, len(task.class_names)) if task.kind == "multiclass" else (n, 1)
    if score.shape not in (expected, (n,)) or (task.kind == "multiclass" and score.shape != expected):
        raise FormatError(path, "score", f"shape {expected} for task {task.name}", f"{score.shape}")
    if task.is_classification:
        bad = (score < 0) | (score > 1) | ~np.isfinite(score)
        if bad.any():
            raise FormatError(path, "score", "probabilities in [0, 1]", f"{score[bad][0]!r}")
        target = arrays["target"]
        if np.any((target < 0) | (target >= len(task.class_names)) | (target != np.round(target))):
            raise FormatError(path, "target", f"classes 0–{len(task.class_names) - 1}", "other values")
    return arrays


@dataclass(frozen=True)
class RunDir:
    """A training run's directory (`nuclass train --out`):

    config.yaml (resolved), split.json, metrics.csv (one row per validation), logs/ (Lightning's CSV
    logs), checkpoints/{best,last}.ckpt, model.safetensors + model.json (the best weights, loadable
    without pickle), versions.json, predictions/{natural,balanced}.npz (per-event scores on the test
    files), summary.json (what train() returned: event counts, where the time went), data.json (the
    folders of the data and their simulation manifests; runs made before it have none); evaluation adds
    metrics.json and plots/, a study study_run.json.

    A multi-task run (config task "all" or a comma list) keeps each task's predictions and plots in a
    folder of its own, predictions/TASK/{natural,balanced}.npz and plots/TASK/, each in the one-task
    layout; its metrics.json maps each task to the metrics.json a one-task run would have
    ({"task": "all", "model": …, "tasks": {TASK: {"task": TASK, "model": …, "test_sets": …}}}).
    """

    path: Path

    CONFIG, SPLIT, TRAINING_LOG, LOGS = "config.yaml", "split.json", "metrics.csv", "logs"
    WEIGHTS, MODEL, VERSIONS, DATA = "model.safetensors", "model.json", "versions.json", "data.json"
    SUMMARY = "summary.json"
    METRICS, PLOTS, STUDY_RESULT = "metrics.json", "plots", "study_run.json"
    PREDICTION_FILES = tuple(f"predictions/{name}.npz" for name in TEST_SETS)
    MODEL_FILES = (MODEL, WEIGHTS)

    def __init__(self, path: str | os.PathLike) -> None:
        object.__setattr__(self, "path", Path(path))

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / "last.ckpt"

    @property
    def plots(self) -> Path:
        return self.path / self.PLOTS

    def predictions(self, test_set: str, task: str | None = None) -> Path:
        """A test set's predictions file: predictions/SET.npz, or predictions/TASK/SET.npz for `task` of a
        multi-task run."""
        folder = self.path / "predictions"
        return (folder if task is None else folder / task) / f"{test_set}.npz"

    def task_names(self) -> tuple[str, ...]:
        """The run's tasks, from config.yaml."""
        return parse_tasks(str(self.read_config()["task"]))

    def is_multitask(self) -> bool:
        """Whether config.yaml names several tasks (False without config.yaml)."""
        return self.file(self.CONFIG).is_file() and len(self.task_names()) > 1

    def task_folder(self, task: str) -> str | None:
        """The folder name of a task's own files (predictions, plots): None for a one-task run."""
        return task if self.is_multitask() else None

    def task_plots(self, task: str) -> Path:
        """Where a task's figures go: plots/, or plots/TASK/ in a multi-task run."""
        folder = self.task_folder(task)
        return self.plots if folder is None else self.plots / folder

    def prediction_files(self) -> tuple[str, ...]:
        """The predictions files a finished run holds (names relative to the run directory)."""
        if not self.is_multitask():
            return self.PREDICTION_FILES
        return tuple(f"predictions/{t}/{s}.npz" for t in self.task_names() for s in TEST_SETS)

    def require(self, *names: str) -> None:
        """A directory with config.yaml and every file `names`; one clear NuclassError if not."""
        if not self.path.is_dir():
            raise NuclassError(f"{self.path}: no such run directory")
        for name in (self.CONFIG, *names):
            if not self.file(name).is_file():
                raise NuclassError(f"{self.path}: not a finished training run (no {name}); see nuclass train")

    # -- config.yaml, split.json, versions.json

    def read_config(self) -> dict[str, Any]:
        """config.yaml as a mapping holding at least the run's task (FormatError otherwise)."""
        import yaml

        path = self.file(self.CONFIG)
        if not path.is_file():
            raise FormatError(path, None, "a run directory holding config.yaml", "no such file")
        try:
            config = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise FormatError(path, None, "valid YAML", str(exc).splitlines()[0]) from None
        if not isinstance(config, dict) or "task" not in config:
            raise FormatError(path, "task", "a mapping with the run's task", f"{type(config).__name__}")
        return config

    def write_config(self, values: Mapping[str, Any]) -> None:
        import yaml

        _write_text(self.file(self.CONFIG), yaml.safe_dump(dict(values), sort_keys=False))

    def model_name(self) -> str | None:
        """The run's model, from config.yaml."""
        model = self.read_config().get("model")
        return model.get("name") if isinstance(model, Mapping) else model

    def read_split(self) -> dict[str, list[Path]]:
        """The files of each split, as training wrote them."""
        saved = _read_json(self.file(self.SPLIT), "the run's split.json")
        return {k: [Path(p) for p in saved[k]] for k in ("train", "val", "test")}

    def existing_split_files(self) -> dict[str, list[Path]]:
        """Data files of each split that still exist ({split: [paths]}; {} without split.json).

        Accepts {split: [paths]} or {split: {"files": [paths]}}; a relative path is looked up from the current
        directory (where training ran), then from the run directory.
        """
        path = self.file(self.SPLIT)
        if not path.is_file():
            return {}
        split = _read_json(path, "the run's split.json", "JSON")
        out: dict[str, list[Path]] = {}
        for name, value in split.items() if isinstance(split, Mapping) else ():
            files = value.get("files") if isinstance(value, Mapping) else value
            if isinstance(files, list) and all(isinstance(f, str) for f in files):
                paths = [p if p.is_file() else self.path / p for p in map(Path, files)]
                out[name] = [p for p in paths if p.is_file()]
        return out

    def write_split(self, split: Mapping[str, list[Path]]) -> None:
        paths = {k: [str(p) for p in v] for k, v in split.items()}
        _write_text(self.file(self.SPLIT), json.dumps(paths, indent=1))

    def write_versions(self, versions: Mapping[str, str]) -> None:
        _write_text(self.file(self.VERSIONS), json.dumps(dict(versions), indent=1))

    def write_data_sources(self, sources: list[Mapping[str, Any]]) -> None:
        write_json(self.file(self.DATA), {"sources": list(sources)})

    def read_data_sources(self) -> list[dict[str, Any]]:
        """data.json's sources (data.sources.data_sources); [] for a run written before data.json."""
        path = self.file(self.DATA)
        return _read_json(path, "the run's data.json").get("sources", []) if path.is_file() else []

    # -- metrics.csv: one row per validation

    def read_training_log(self) -> list[dict[str, str]]:
        path = self.file(self.TRAINING_LOG)
        if not path.is_file():
            return []
        with path.open(newline="") as f:
            return list(csv.DictReader(f))

    def write_training_log(self, rows: list[dict[str, Any]]) -> None:
        """Rows (dicts) as a CSV with the union of their keys."""
        keys = list(dict.fromkeys(k for r in rows for k in r))
        with atomic_path(self.file(self.TRAINING_LOG)) as tmp, tmp.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)

    def epochs_run(self) -> int:
        """Number of epochs that reached a validation."""
        epochs = [int(r["epoch"]) for r in self.read_training_log()]
        return max(epochs) + 1 if epochs else 0

    # -- model.safetensors + model.json

    def write_model(self, state: Mapping[str, Any], info: Mapping[str, Any]) -> None:
        """The weights (a state dict of tensors) as safetensors, and model.json."""
        from safetensors.torch import save_file

        with atomic_path(self.file(self.WEIGHTS)) as tmp:
            save_file(dict(state), str(tmp))
        _write_text(self.file(self.MODEL), json.dumps(dict(info), indent=1))

    def read_model_info(self) -> dict[str, Any]:
        """model.json ({} if the run has none)."""
        path = self.file(self.MODEL)
        return _read_json(path, "the run's model.json") if path.is_file() else {}

    def load_weights(self) -> dict[str, Any]:
        """The final weights (a state dict), from safetensors: never a pickle."""
        from safetensors.torch import load_file

        return load_file(str(self.file(self.WEIGHTS)))

    # -- summary.json: what training returned

    def write_summary(self, summary: Mapping[str, Any]) -> None:
        """summary.json; a non-finite number (a loss that diverged) is written as null."""

        def finite(value: Any) -> Any:
            if isinstance(value, float):
                return value if np.isfinite(value) else None
            if isinstance(value, Mapping):
                return {k: finite(v) for k, v in value.items()}
            return [finite(v) for v in value] if isinstance(value, list | tuple) else value

        write_json(self.file(self.SUMMARY), finite(summary))

    def read_summary(self) -> dict[str, Any]:
        """summary.json (FormatError if missing: a run made before it was kept, or not finished)."""
        return _read_json(self.file(self.SUMMARY), "the run's summary.json (written when training ends)")

    # -- predictions/*.npz, metrics.json

    def write_predictions(
        self, test_set: str, arrays: Mapping[str, np.ndarray], task: str | None = None
    ) -> Path:
        """A test set's predictions (task: its folder in a multi-task run, see `predictions`)."""
        path = self.predictions(test_set, task)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, tmp.open("wb") as f:
            np.savez_compressed(f, **arrays)
        return path

    def load_predictions(self, test_set: str, task: Task | str) -> dict[str, np.ndarray]:
        """A task's predictions on a test set, wherever the run keeps them."""
        name = task if isinstance(task, str) else task.name
        return load_predictions(self.predictions(test_set, self.task_folder(name)), task)

    def read_metrics(self) -> dict[str, Any]:
        """metrics.json; a run not yet evaluated raises FormatError asking for `nuclass evaluate`."""
        expected = f"metrics of an evaluated run (run `nuclass evaluate {self.path}` first)"
        return _read_json(self.file(self.METRICS), expected, "JSON written by `nuclass evaluate`")

    def read_task_metrics(self) -> dict[str, dict[str, Any]]:
        """{task: its metrics.json block in the one-task layout}: the run's only task, or every task of a
        multi-task run."""
        metrics = self.read_metrics()
        if "tasks" in metrics:
            return dict(metrics["tasks"])
        return {metrics["task"]: metrics}

    def write_metrics(self, metrics: Mapping[str, Any]) -> None:
        write_json(self.file(self.METRICS), metrics)

    # -- study_run.json: a study's result of this training

    def read_study_result(self) -> dict[str, Any]:
        return _read_json(self.file(self.STUDY_RESULT), "a study's result of this training")

    def write_study_result(self, result: Mapping[str, Any]) -> None:
        write_json(self.file(self.STUDY_RESULT), result)


@dataclass(frozen=True)
class StudyDir:
    """A study's directory (`nuclass study --out`): study.json, plots/, and runs/VARIANT/seedS/ (one RunDir
    per training)."""

    path: Path

    STUDY = "study.json"

    def __init__(self, path: str | os.PathLike) -> None:
        object.__setattr__(self, "path", Path(path))

    @property
    def study_file(self) -> Path:
        return self.path / self.STUDY

    @property
    def plots(self) -> Path:
        return self.path / "plots"

    @staticmethod
    def run_path(variant: str, seed: int) -> str:
        """A training's directory, relative to the study directory."""
        return f"runs/{variant}/seed{seed}"

    def run(self, variant: str, seed: int) -> RunDir:
        return RunDir(self.path / self.run_path(variant, seed))

    def read(self) -> dict[str, Any]:
        """study.json (FormatError if missing or not a study's)."""
        study = _read_json(self.study_file, "a study directory holding study.json (see nuclass study)")
        if not isinstance(study, dict) or "variants" not in study:
            raise FormatError(self.study_file, "variants", "a study.json with variants", type(study).__name__)
        return study

    def write(self, study: Mapping[str, Any]) -> None:
        write_json(self.study_file, study)


@dataclass(frozen=True)
class SystematicsDir:
    """A systematics run's directory (`nuclass systematics --out`): systematics.json, plots/ (a tornado plot
    per metric) and samples/NAME.npz (each sample's events: interaction key, target, score, truth)."""

    path: Path

    RESULT = "systematics.json"

    def __init__(self, path: str | os.PathLike) -> None:
        object.__setattr__(self, "path", Path(path))

    @property
    def result_file(self) -> Path:
        return self.path / self.RESULT

    def sample(self, name: str) -> Path:
        return self.path / "samples" / f"{name}.npz"

    def read(self) -> dict[str, Any]:
        """systematics.json (FormatError if missing or not a systematics run's)."""
        expected = "a systematics directory holding systematics.json (see nuclass systematics)"
        result = _read_json(self.result_file, expected)
        if not isinstance(result, dict) or "variations" not in result or "totals" not in result:
            expected = "a systematics.json with variations and totals"
            raise FormatError(self.result_file, "variations", expected, type(result).__name__)
        return result

    def write(self, result: Mapping[str, Any]) -> None:
        write_json(self.result_file, result)

    def write_sample(self, name: str, arrays: Mapping[str, np.ndarray]) -> Path:
        path = self.sample(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, tmp.open("wb") as f:
            np.savez_compressed(f, **arrays)
        return path

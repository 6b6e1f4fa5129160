"""Where the model under test comes from: a trained run directory now, any network with its task later
(the shipped pretrained model): the network, its task, the truth selection it was trained with, and the
simulator configuration it was trained on (the nominal one the variations change)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nuclass.errors import ConfigError
from nuclass.labels import Task
from nuclass.labels.selection import EventSelection
from nuclass.run_dir import RunDir
from nuclass.sim import SimConfig, read_manifest

if TYPE_CHECKING:
    from nuclass.models.network import TaskNetwork

__all__ = ["ModelSource", "nominal_config_of"]


@dataclass(frozen=True)
class ModelSource:
    """A network to measure: `label` names it in systematics.json; `nominal` is the simulation it was
    trained on (`nominal_from`: where that was read); `selection` the events it is meant for."""

    label: str
    network: TaskNetwork
    task: Task
    info: dict[str, Any] = field(default_factory=dict)
    selection: EventSelection = field(default_factory=EventSelection)
    nominal: SimConfig = field(default_factory=SimConfig)
    nominal_from: str = "the simulator's defaults"

    @property
    def model_name(self) -> str:
        return str(self.info.get("model") or type(self.network.net).__name__)

    @classmethod
    def from_run(cls, run_dir: str | os.PathLike, task: str | None = None) -> ModelSource:
        """The final weights of a trained run (or the shipped model's directory), its selection, and the
        configuration in the manifest (simulation.json) of its training files' folder (the defaults if
        the files were not simulated). A multi-task network is measured on one of its heads: `task`."""
        from nuclass.predict import load_model

        run = RunDir(run_dir)
        run.require(*RunDir.MODEL_FILES)
        network, tasks, info = load_model(run.path)
        heads = {t.name: t for t in tasks}
        if task is None and len(tasks) > 1:
            raise ConfigError(f"{run.path}: the model has a head per task ({', '.join(heads)}); choose one "
                              "with --task")
        if task is not None and task not in heads:
            raise ConfigError(f"--task {task}: the model's heads are {', '.join(heads)}")
        nominal, nominal_from = nominal_config_of(run)
        settings = run.read_config() if run.file(RunDir.CONFIG).is_file() else {}
        return cls(
            label=str(run.path),
            network=network,
            task=heads[task] if task else tasks[0],
            info=info,
            selection=EventSelection.from_settings(settings),
            nominal=nominal,
            nominal_from=nominal_from,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.label,
            "model": self.model_name,
            "task": self.task.name,
            "selection": self.selection.to_dict(),
            "nominal_config_from": self.nominal_from,
        }


def nominal_config_of(run: RunDir) -> tuple[SimConfig, str]:
    """The simulator configuration of a run's training files, from their folder's manifest, and where it
    was read; the defaults when no training folder has a manifest."""
    split = run.existing_split_files()
    for folder in dict.fromkeys(Path(p).parent for p in split.get("train", [])):
        manifest = read_manifest(folder)
        if manifest and isinstance(manifest.get("config"), dict):
            source = str(folder / "simulation.json")
            return SimConfig.from_dict(manifest["config"], source=source), source
    return SimConfig(), "the simulator's defaults (no manifest beside the training files)"

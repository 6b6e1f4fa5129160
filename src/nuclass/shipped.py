"""The network shipped in the package (src/nuclass/pretrained/): one multi-task cvn, its weights, its model
card, and a run directory made from it so that `evaluate` and `report` treat it as any trained run — no
training and no network access needed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nuclass.errors import ConfigError
from nuclass.predict import load_model
from nuclass.run_dir import RunDir

if TYPE_CHECKING:
    from nuclass.models.network import TaskNetwork

__all__ = ["PRETRAINED_DIR", "CARD", "CARD_JSON", "pretrained", "model_card", "pretrained_run"]

PRETRAINED_DIR = Path(__file__).parent / "pretrained"  # model.safetensors, model.json, card.md, card.json
CARD, CARD_JSON = "card.md", "card.json"


def _require() -> None:
    missing = [n for n in (*RunDir.MODEL_FILES, CARD_JSON) if not (PRETRAINED_DIR / n).is_file()]
    if missing:
        raise ConfigError(f"{PRETRAINED_DIR}: the shipped model is incomplete (no {', '.join(missing)}); "
                          "reinstall nuclass or run scripts/ship_pretrained.py")


def pretrained() -> TaskNetwork:
    """The shipped multi-task cvn in eval mode: `net.predict(maps)` gives {task: scores} for maps
    (N, 2, 100, 80) uint8 as io.read_file returns them; `net.card` is its model card (model_card()).

    Trained on simulated events only and not validated on the real teaching files (see the card)."""
    _require()
    network, _, _ = load_model(PRETRAINED_DIR)
    network.card = model_card()
    return network


def model_card() -> dict[str, Any]:
    """card.json: how the shipped model was made (commands, commit, budget, versions) and what it scores
    on a fixed simulated test set."""
    _require()
    return json.loads((PRETRAINED_DIR / CARD_JSON).read_text())


def pretrained_run(out: str | os.PathLike) -> RunDir:
    """A run directory `out` holding the shipped model (weights, model.json, the card) and its training
    config, for `nuclass evaluate --pretrained --data …` and `nuclass report`. An existing directory is
    reused if it is one made from the shipped model, otherwise ConfigError."""
    _require()
    run = RunDir(out)
    if run.path.exists() and any(run.path.iterdir()) and not (run.path / CARD_JSON).is_file():
        raise ConfigError(f"{run.path}: exists and is not a directory made from the shipped model; "
                          "choose another --out")
    run.path.mkdir(parents=True, exist_ok=True)
    for name in (*RunDir.MODEL_FILES, CARD, CARD_JSON):
        if (PRETRAINED_DIR / name).is_file():
            shutil.copyfile(PRETRAINED_DIR / name, run.file(name))
    info = run.read_model_info()
    run.write_config({**info.get("config", {}), "task": info["task"], "model": info["model"], "data": [],
                      "out": str(run.path)})
    return run

"""Running a study: every variant trained repeat by repeat, tested on its own and the common test set, and
compared with its baseline → OUT/study.json and OUT/plots/ (see StudyDir).

Repeat r of every variant uses seed `seed + r`, so all variants of one repeat share the split.
Uncertainties and the significance rule: study.compare. A variant with a `simulation` trains on the data
simulated again with that variation (OUT/data/VARIANT/: the same files, seed and interactions as the given
data's manifest) and takes as its common test set the given data's files of its test split.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nuclass.data.index import build_index
from nuclass.data.splits import split_files
from nuclass.errors import ConfigError, Interrupted, NuclassError
from nuclass.evaluation import evaluate_run, json_ready
from nuclass.io import expand_paths
from nuclass.labels import Task, get_task
from nuclass.plots.study import plot_study
from nuclass.predict import load_model, predict_index
from nuclass.progress import NO_PROGRESS, Progress
from nuclass.run_dir import TEST_SETS, RunDir, StudyDir
from nuclass.study.compare import (
    SIGNIFICANCE_RULE,
    answer,
    binned_answers,
    combine_repeats,
    compare,
    format_result,
    headline_metrics,
)
from nuclass.study.spec import DEFAULT_REPEATS, METRICS, VARIANT_TEST_SETS, StudySpec, Variant, plan_variants
from nuclass.training import TrainConfig, train
from nuclass.training.config import config_values

__all__ = ["run_study"]


def _config_overrides(source: str | os.PathLike | None) -> dict[str, Any]:
    """Training-config keys from a preset name or a YAML file (only the keys it sets)."""
    if source is None:
        return {}
    values = config_values(source)
    TrainConfig.from_dict(values)  # unknown keys and wrong types fail here
    return values


def _common_test(
    run: RunDir, task: Task, limit: int | None, files: Sequence[Path] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(target, score) of the run's model on the natural, unselected test files of its split (or `files`):
    every event the task uses (the first `limit` per file, as training indexes them)."""
    index = build_index(files or run.read_split()["test"], task, max_events_per_file=limit)
    network, _, _ = load_model(run.path)
    return index.target, predict_index(network, index)[task.name]


def _simulated_data(variant: Variant, files: Sequence[Path], out: StudyDir) -> list[Path]:
    """The files of `files` simulated again with the variant's variation in OUT/data/VARIANT/ (kept and
    reused while the manifest matches): same names, seed and interactions, from the files' manifest."""
    from nuclass.sim import SimConfig, read_manifest, simulate_files

    folders = {f.parent for f in files}
    manifest = read_manifest(next(iter(folders))) if len(folders) == 1 else None
    numbers = [f.stem.removeprefix("neutrino") for f in files]
    if manifest is None or not all(n.isdigit() for n in numbers):
        raise ConfigError(
            f"variant {variant.name}: training on a varied simulation needs --data from one folder simulated "
            "by nuclass (neutrinoK.h5 files and simulation.json)"
        )
    config = variant.simulation.config(SimConfig.from_dict(manifest["config"], source="simulation.json"))
    folder = out.path / "data" / variant.name
    wanted = {
        "seed": manifest["seed"],
        "events_per_file": manifest["events_per_file"],
        "config": config.to_dict(),
    }
    n_files = max(int(n) for n in numbers)
    have = read_manifest(folder) if folder.is_dir() else None
    if not (have and have.get("files") == n_files and all(have.get(k) == v for k, v in wanted.items())):
        simulate_files(
            folder, n_files, manifest["events_per_file"], seed=manifest["seed"], config=config, overwrite=True
        )
    return [folder / f.name for f in files]


def _train_one(
    variant: Variant, config: Mapping[str, Any], run: RunDir, nominal: Sequence[Path] = ()
) -> dict[str, Any]:
    """Train one variant in `run`, evaluate it on its own and the common test set (for a variant trained
    on a varied simulation: the `nominal` files of its test split); the result (also written to
    RUN_DIR/study_run.json, so a rerun of the study reuses finished trainings)."""
    started = time.monotonic()
    last = run.last_checkpoint
    if run.path.exists() and not last.is_file():
        shutil.rmtree(run.path)  # an attempt that stopped before its first checkpoint: start again
    cfg = TrainConfig.from_dict({**config, "out": str(run.path), "resume": last.is_file()})
    summary = train(cfg)
    evaluate_run(run.path, plots=False)  # metrics.json of the run's own (selected) test sets
    task = get_task(cfg.task)
    own = {name: run.load_predictions(name, task) for name in TEST_SETS}
    if variant.simulation is not None:
        names = {p.name for p in run.read_split()["test"]}
        common_files = [p for p in nominal if p.name in names]
        common_target, common_score = _common_test(run, task, cfg.max_events_per_file, common_files)
    elif variant.selection:
        common_target, common_score = _common_test(run, task, cfg.max_events_per_file)
    else:
        common_target, common_score = own["natural"]["target"], own["natural"]["score"]
    result = {
        "variant": variant.name,
        "seed": cfg.seed,
        "n_train_events": summary["n_events"]["train"],
        "epochs_run": summary["epochs_run"],
        "own_test": headline_metrics(task, own["balanced"]["target"], own["balanced"]["score"]),
        "own_test_natural": headline_metrics(task, own["natural"]["target"], own["natural"]["score"]),
        "common_test": headline_metrics(task, common_target, common_score),
        "seconds": round(time.monotonic() - started, 1),
    }
    run.write_study_result(json_ready(result))
    return result


def run_study(
    spec: StudySpec,
    data: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    model: str | None = None,
    max_minutes: float | None = None,
    repeats: int | None = None,
    budget_minutes: float | None = None,
    config: str | os.PathLike | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train and evaluate every variant of `spec` (repeats × variants, repeat by repeat) into OUT/runs/,
    then write OUT/study.json and OUT/plots/*.png; returns the study.json content.

    `config` (a preset such as "tiny" or a YAML of training keys) overrides the study's training defaults;
    each variant's own settings override those; `model` and `max_minutes` override everything. Without
    `repeats`, up to DEFAULT_REPEATS are run while the whole study fits in the budget (the first repeat
    always runs). Finished trainings found in OUT/runs/ are reused. `progress` hears of every training,
    with a line of figures each.
    """
    out = StudyDir(out)
    if out.path.exists() and not out.path.is_dir():
        raise ConfigError(f"{out.path}: expected a study directory, got a file")
    progress = progress or NO_PROGRESS
    files = expand_paths(data)
    overrides = _config_overrides(config)
    cli = {k: v for k, v in (("model", model), ("max_minutes", max_minutes)) if v is not None}
    if repeats is not None and repeats < 1:
        raise ConfigError(f"repeats must be ≥ 1, got {repeats}")
    base = TrainConfig.from_dict(
        {**spec.train, **overrides, **cli, "task": spec.task, "data": [str(f) for f in files]}
    )
    n_train = len(split_files(files, base.seed, base.val_fraction, base.test_fraction)["train"])
    budget = budget_minutes if budget_minutes is not None else spec.budget_minutes
    per_training = base.max_minutes * 1.25 if base.max_minutes else None  # + data, prediction, evaluation
    max_variants = int(budget // per_training) if budget and per_training else None
    plan = plan_variants(spec, n_train, max_variants)
    max_repeats = repeats or DEFAULT_REPEATS
    out.path.mkdir(parents=True, exist_ok=True)
    data_of = {v.name: _simulated_data(v, files, out) for v in plan if v.simulation is not None}
    started = time.monotonic()
    results: dict[str, list[dict[str, Any]]] = {v.name: [] for v in plan}
    trained_seconds: list[float] = []
    failures: list[dict[str, Any]] = []
    budget_note = None
    progress.start(f"study {spec.name}", total=len(plan) * max_repeats)
    for r in range(max_repeats):
        if r > 0 and repeats is None and budget and trained_seconds:
            expected = (time.monotonic() - started + len(plan) * float(np.mean(trained_seconds))) / 60
            if expected > budget:
                budget_note = (
                    f"stopped after {r} repeat(s): another would end at about {expected:.0f} min, "
                    f"over the {budget:g}-minute budget (pass --repeats to insist)"
                )
                progress.update(total=len(plan) * r)
                break
        for variant in plan:
            settings = {**spec.train, **overrides, **variant.settings, **cli}
            seed = int(settings.get("seed", 0)) + r
            run = out.run(variant.name, seed)
            progress.update(description=f"{spec.name}: {variant.name} (seed {seed})")
            if run.file(RunDir.STUDY_RESULT).is_file():
                result = run.read_study_result()
            else:
                data = data_of.get(variant.name, files)
                values = {**settings, "data": [str(f) for f in data], "seed": seed, "progress": False}
                try:
                    result = _train_one(variant, values, run, files)
                except (Interrupted, KeyboardInterrupt) as exc:
                    done = sum(map(len, results.values()))
                    raise _interrupted(spec, out, variant, seed, exc, done) from None
                except NuclassError as exc:  # e.g. a selection that leaves a split empty: note it, go on
                    failures.append({"variant": variant.name, "seed": seed, "error": str(exc)})
                    progress.note(f"  {variant.name} seed {seed}: failed: {exc}")
                    progress.update(advance=1)
                    continue
                trained_seconds.append(result["seconds"])
                own, common = result["own_test"], result["common_test"]
                progress.note(
                    f"  {variant.name} seed {seed}: accuracy "
                    f"{format_result(own['accuracy'], own['accuracy_err'])} own test, "
                    f"{format_result(common['accuracy'], common['accuracy_err'])} common test; "
                    f"{result['epochs_run']} epochs in {result['seconds'] / 60:.1f} min"
                )
            results[variant.name].append(result)
            progress.update(advance=1)
    progress.finish()
    if not any(results.values()):
        raise ConfigError(f"study {spec.name}: no training finished; first error: {failures[0]['error']}")
    study = _summarise(spec, plan, results, out, base, files, repeats, budget, budget_note, started)
    study["failures"] = failures
    out.write(json_ready(study))
    return study


def _interrupted(spec: StudySpec, out: StudyDir, variant: Variant, seed: int, exc: BaseException,
                 done: int) -> Interrupted:
    """What a Ctrl-C during a training leaves: the finished trainings (each with its study_run.json) and the
    interrupted one's checkpoint; the same command goes on from there."""
    where = f" ({exc})" if isinstance(exc, Interrupted) else ""
    return Interrupted(
        f"study {spec.name} interrupted in {variant.name} seed {seed}{where}; {done} training(s) complete in "
        f"{out.path / 'runs'}, no study.json written yet; the same command reuses them and goes on"
    )


def _summarise(
    spec: StudySpec,
    plan: Sequence[Variant],
    results: Mapping[str, Sequence[Mapping[str, Any]]],
    out: StudyDir,
    base: TrainConfig,
    files: Sequence[Path],
    repeats: int | None,
    budget: float | None,
    budget_note: str | None,
    started: float,
) -> dict[str, Any]:
    variants = []
    for v in plan:
        rs = results[v.name]
        entry: dict[str, Any] = {
            "name": v.name,
            "label": v.label,
            "task": v.task,
            "selection": v.selection,
            "settings": {k: val for k, val in v.settings.items() if k != "task"},
            "simulation": v.simulation.describe() if v.simulation else None,
            "baseline": v.baseline,
            "repeats": len(rs),
            "seeds": [r["seed"] for r in rs],
            "n_train_events": float(np.mean([r["n_train_events"] for r in rs])) if rs else None,
            "epochs_run": [r["epochs_run"] for r in rs],
            "seconds": round(sum(r["seconds"] for r in rs), 1),
            "runs": [StudyDir.run_path(v.name, r["seed"]) for r in rs],
        }
        entry.update({name: combine_repeats([r[name] for r in rs]) for name in VARIANT_TEST_SETS})
        variants.append(entry)
    by_name = {v["name"]: v for v in variants}
    for v in variants:
        ref = by_name.get(v["baseline"]) if v["baseline"] else None
        if ref is None:
            v["delta_vs_baseline"] = None
            continue
        delta = {"baseline": ref["name"], "test": "own_test", **compare(v["own_test"], ref["own_test"])}
        delta["common_test"] = compare(v["common_test"], ref["common_test"])
        v["delta_vs_baseline"] = delta
    tasks = list(dict.fromkeys(v.task for v in plan))
    study: dict[str, Any] = {
        "study": spec.name,
        "description": spec.description,
        "source": spec.source,
        "task": tasks[0] if len(tasks) == 1 else tasks,
        "model": base.model,
        "max_minutes": base.max_minutes,
        "repeats": min((v["repeats"] for v in variants), default=0),
        "repeats_requested": repeats,
        "budget_minutes": budget,
        "budget_note": budget_note,
        "significance_rule": SIGNIFICANCE_RULE,
        "data": [str(f) for f in files],
        "seconds": round(time.monotonic() - started, 1),
        "training_seconds": round(sum(v["seconds"] for v in variants), 1),
        "variants": variants,
    }
    study["answers"] = [answer(q, by_name, plan) for q in spec.questions]
    study["binned_answers"] = binned_answers(variants, out)
    if spec.learning_curve is not None:
        study["learning_curve"] = [
            {
                "variant": v["name"],
                "train_files": v["settings"]["train_files"],
                "n_train_events": v["n_train_events"],
                **{
                    f"{t}_{m}{s}": v[t][f"{m}{s}"]
                    for t in ("own_test", "common_test")
                    for m in METRICS
                    for s in ("", "_err")
                },
            }
            for v in variants
        ]
    study["figures"] = plot_study(study, out.path)
    return study

"""Running systematics: the model on a nominal simulated sample and on one sample per variation of the
simulation, paired by interaction, each headline metric's shift with its paired error, the totals
→ OUT/systematics.json, OUT/plots/ and OUT/samples/ (see SystematicsDir).

What is shared. The samples are simulated in chunks, chunk k with the generator seed (seed, SAMPLE_FILE + k);
the generator numbers its candidate interactions per chunk, so (chunk, candidate) names one interaction.
A variation of the detector response or of the transport keeps every candidate's energy, code and vertex
(sim.generate: fixed blocks, seeds per candidate and stage): the same interactions cross both detectors.
Shared: the events written in both samples. Not shared: events whose slice passes the 15-hit cut (or
lands in the window) in one sample only, and the candidates past the last one both samples reached,
which are dropped from both. A variation that changes what is drawn (the geometry, the mix) is detected
by its shared candidates' truth disagreeing, and measured unpaired. Reweightings reuse the nominal events.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from nuclass.errors import ConfigError
from nuclass.evaluation.metrics import efficiency_purity_curve, json_ready
from nuclass.labels import Task
from nuclass.labels.truth import ANALYSIS_TRUTH, VERTEX_TRUTH
from nuclass.plots.systematics import plot_systematics
from nuclass.progress import NO_PROGRESS, Progress
from nuclass.run_dir import SystematicsDir
from nuclass.sim import SimConfig
from nuclass.stats import DIFFERENCE_SIGMA
from nuclass.systematics.catalogue import Variation
from nuclass.systematics.paired import (
    DEFAULT_BOOTSTRAP,
    HEADLINE,
    METRIC_WORDS,
    bootstrap_weights,
    headline_metrics,
    shift,
    summarise_stacks,
)
from nuclass.systematics.source import ModelSource
from nuclass.systematics.totals import COMBINATION_RULE, combine, sentence

__all__ = [
    "DEFAULT_EVENTS",
    "DEFAULT_SEED",
    "SAMPLE_FILE",
    "CHUNK_EVENTS",
    "Sample",
    "simulate_sample",
    "compare_samples",
    "run_systematics",
]

DEFAULT_EVENTS = 10_000  # written events per sample: the default catalogue in ≈ 10 minutes on 2 cores
DEFAULT_SEED = 18
SAMPLE_FILE = 100_001  # the generator's file number of chunk 0: far from any training file's (1, 2, …)
CHUNK_EVENTS = 2_500  # events simulated and scored at a time (bounded memory: the maps of one chunk)
_KEY_SHIFT = 40  # key = chunk << 40 | candidate
_PAIRING_TRUTH = ("interaction", "nuenergy", *VERTEX_TRUTH)  # what a paired interaction keeps
SIGNIFICANCE_RULE = f"|shift| > {DIFFERENCE_SIGMA:g} × its paired error (stats.significant_difference)"


@dataclass(frozen=True)
class Sample:
    """The events of one sample the task uses: key (N,) int64 naming each interaction, target, score,
    truth (ANALYSIS_TRUTH and the vertex), and each chunk's last candidate and written events."""

    key: np.ndarray
    target: np.ndarray
    score: np.ndarray
    truth: dict[str, np.ndarray]
    last_candidate: np.ndarray
    written: int

    def take(self, keep: np.ndarray) -> Sample:
        return replace(
            self,
            key=self.key[keep],
            target=self.target[keep],
            score=self.score[keep],
            truth={k: v[keep] for k, v in self.truth.items()},
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "key": self.key,
            "target": self.target,
            "score": self.score,
            **self.truth,
            "last_candidate": self.last_candidate,
        }


def simulate_sample(
    model: ModelSource, config: SimConfig, n_events: int, seed: int, progress: Progress = NO_PROGRESS
) -> Sample:
    """Simulate `n_events` written events with `config` in chunks and score the ones the task uses (and
    the model's selection keeps) with the model; `progress` advances by the events done."""
    from nuclass.sim import simulate_events

    task, parts, last = model.task, [], []
    for chunk, start in enumerate(range(0, n_events, CHUNK_EVENTS)):
        n = min(CHUNK_EVENTS, n_events - start)
        events = simulate_events(n, seed=seed, config=config, file_number=SAMPLE_FILE + chunk)
        candidate = events.extra["candidate"]
        mask, target = task.labels(events.meta)
        if model.selection.active:
            used = np.flatnonzero(mask)
            keep = model.selection.mask({k: np.asarray(v)[used] for k, v in events.meta.items()}, target)
            mask[used[~keep]] = False
            target = target[keep]
        score = model.network.predict(events.maps[mask])[task.name]
        parts.append(
            {
                "key": (np.int64(chunk) << _KEY_SHIFT) | candidate[mask],
                "target": target,
                "score": score,
                **{k: np.asarray(events.meta[k])[mask] for k in (*ANALYSIS_TRUTH, *VERTEX_TRUTH)},
            }
        )
        last.append(int(candidate.max()) if len(candidate) else -1)
        progress.update(advance=n)
    joined = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return Sample(
        joined.pop("key"),
        joined.pop("target"),
        joined.pop("score"),
        joined,
        np.asarray(last, np.int64),
        n_events,
    )


def _common_range(a: Sample, b: Sample) -> tuple[Sample, Sample, int]:
    """Both samples cut to the candidates both reached in every chunk; and how many events that drops."""
    last = np.minimum(a.last_candidate, b.last_candidate)
    cut = []
    for s in (a, b):
        chunk, candidate = s.key >> _KEY_SHIFT, s.key & ((1 << _KEY_SHIFT) - 1)
        cut.append(candidate <= last[chunk])
    dropped = int((~cut[0]).sum() + (~cut[1]).sum())
    return a.take(cut[0]), b.take(cut[1]), dropped


def _same_interactions(a: Sample, b: Sample) -> bool:
    """Whether the candidates both samples hold are the same interactions (energy, code and vertex agree)."""
    shared, ia, ib = np.intersect1d(a.key, b.key, assume_unique=True, return_indices=True)
    return len(shared) > 0 and all(np.array_equal(a.truth[k][ia], b.truth[k][ib]) for k in _PAIRING_TRUTH)


def compare_samples(
    task: Task,
    nominal: Sample,
    varied: Sample,
    *,
    cut: float | None,
    weights: np.ndarray | None = None,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    """Each headline metric's shift from `nominal` to `varied` (the same Sample reweighted by `weights`
    for a reweighting) with its paired bootstrap error, and what the two samples share."""
    if weights is not None:
        w_nom, _ = bootstrap_weights(nominal.key, nominal.key[:0], n_boot, seed)
        stacks_nom = headline_metrics(task, nominal.target, nominal.score, w_nom, cut)
        stacks_var = headline_metrics(task, nominal.target, nominal.score, w_nom * weights, cut)
        pairing = {
            "paired": True,
            "how": "the nominal events, reweighted",
            "shared": len(nominal.key),
            "only_nominal": 0,
            "only_varied": 0,
            "dropped_past_common_range": 0,
        }
    else:
        same = _same_interactions(nominal, varied)
        a, b, dropped = _common_range(nominal, varied) if same else (nominal, varied, 0)
        shared = np.intersect1d(a.key, b.key, assume_unique=True) if same else a.key[:0]
        w_a, w_b = bootstrap_weights(a.key, b.key, n_boot, seed, paired=same)
        stacks_nom = headline_metrics(task, a.target, a.score, w_a, cut)
        stacks_var = headline_metrics(task, b.target, b.score, w_b, cut)
        how = (
            "the same interactions (energy, code and vertex agree on every shared candidate)"
            if same
            else "different interactions drawn (the shared candidates' truth disagrees): independent errors"
        )
        pairing = {
            "paired": same,
            "how": how,
            "shared": int(len(shared)),
            "only_nominal": int(len(a.key) - len(shared)),
            "only_varied": int(len(b.key) - len(shared)),
            "dropped_past_common_range": dropped,
        }
    return {"pairing": pairing, "metrics": {m: shift(stacks_nom[m], stacks_var[m]) for m in stacks_nom}}


def _note(variation: Variation, result: Mapping[str, Any], nominal: Mapping[str, Any]) -> str:
    """'energy-scale-up: efficiency 0.912 → 0.905 (−0.0070 ± 0.0011, 6.4σ), …'."""
    parts = []
    for m, r in result["metrics"].items():
        if r["shift"] is None or nominal[m]["value"] is None:
            continue
        sigma = f", {r['sigma']:.1f}σ" if r["sigma"] is not None else ""
        err = f" ± {r['shift_err']:.2g}" if r["shift_err"] else ""
        parts.append(f"{m} {nominal[m]['value']:.4f} → {r['value']:.4f} ({r['shift']:+.2g}{err}{sigma})")
    paired = "paired" if result["pairing"]["paired"] else "unpaired"
    return f"  {variation.name} ({paired}, {result['seconds']:.0f} s): " + ", ".join(parts)


def run_systematics(
    model: ModelSource,
    out: str | os.PathLike,
    variations: Sequence[Variation],
    *,
    n_events: int = DEFAULT_EVENTS,
    seed: int = DEFAULT_SEED,
    n_boot: int = DEFAULT_BOOTSTRAP,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The model on the nominal sample and on every variation's (simulated, or the nominal one reweighted)
    → OUT/systematics.json, OUT/plots/tornado-*.png, OUT/samples/*.npz; returns the systematics.json
    content. `progress` hears of every sample (one job each, in events) and gets a line per variation."""
    out_dir = SystematicsDir(out)
    progress = progress or NO_PROGRESS
    if n_events < 1 or n_boot < 2:
        raise ConfigError(f"--events must be ≥ 1 and the bootstrap ≥ 2 replicas, got {n_events}, {n_boot}")
    if not variations:
        raise ConfigError("no variations to run")
    configs = {v.name: v.config(model.nominal) for v in variations if v.simulates}  # all checked first
    started = time.monotonic()
    task = model.task
    progress.start(f"systematics: nominal sample ({n_events:,} events)", total=n_events)
    nominal = simulate_sample(model, model.nominal, n_events, seed, progress)
    progress.finish()
    if not len(nominal.key):
        raise ConfigError(
            f"the nominal sample has no event that task {task.name} and the run's selection use"
        )
    out_dir.write_sample("nominal", nominal.arrays())
    cut = None
    if task.kind == "binary":
        cut = efficiency_purity_curve(nominal.target, nominal.score)["best_cut"]
    w_nom, _ = bootstrap_weights(nominal.key, nominal.key[:0], n_boot, seed)
    nominal_metrics = summarise_stacks(headline_metrics(task, nominal.target, nominal.score, w_nom, cut))
    progress.note(
        f"  nominal ({len(nominal.key):,} events used, {time.monotonic() - started:.0f} s): "
        + ", ".join(f"{m} {r['value']:.4f}" for m, r in nominal_metrics.items() if r["value"] is not None)
    )
    results = []
    for i, variation in enumerate(variations, start=1):
        t0 = time.monotonic()
        label = f"systematics {i}/{len(variations)}: {variation.name}"
        if variation.simulates:
            progress.start(label, total=n_events)
            varied = simulate_sample(model, configs[variation.name], n_events, seed, progress)
            progress.finish()
            out_dir.write_sample(variation.name, varied.arrays())
            result = compare_samples(task, nominal, varied, cut=cut, n_boot=n_boot, seed=seed)
        else:
            result = compare_samples(
                task,
                nominal,
                nominal,
                cut=cut,
                weights=variation.weights(nominal.truth),
                n_boot=n_boot,
                seed=seed,
            )
        result = {**variation.describe(), **result, "seconds": round(time.monotonic() - t0, 1)}
        results.append(result)
        progress.note(_note(variation, result, nominal_metrics))
    metrics = list(HEADLINE[task.kind])
    totals = combine(metrics, nominal_metrics, results)
    subject = f"{model.model_name} on {task.name}"
    for metric, total in totals.items():
        total["sentence"] = sentence(subject, metric, total, cut)
    summary = {
        "model": model.describe(),
        "task": task.name,
        "events": n_events,
        "seed": seed,
        "sample_files": f"generator seed ({seed}, {SAMPLE_FILE} + chunk), chunks of {CHUNK_EVENTS} events",
        "bootstrap": n_boot,
        "cut": cut,
        "metrics": metrics,
        "metric_words": {m: METRIC_WORDS[m] for m in metrics},
        "nominal": {
            "n_events": int(len(nominal.key)),
            "written": nominal.written,
            "metrics": nominal_metrics,
            "config": model.nominal.to_dict(),
        },
        "significance_rule": SIGNIFICANCE_RULE,
        "combination_rule": COMBINATION_RULE,
        "variations": results,
        "totals": totals,
        "sentences": [t["sentence"] for t in totals.values()],
        "seconds": round(time.monotonic() - started, 1),
    }
    summary = json_ready(summary)
    summary["figures"] = plot_systematics(summary, out_dir.path, METRIC_WORDS)
    out_dir.write(summary)
    return summary

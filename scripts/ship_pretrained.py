"""Train the model shipped in the package and write its card: simulate the default data and a fixed test set,
train one multi-task cvn on every task, evaluate it on the test set, copy its weights into
src/nuclass/pretrained/ with card.json + card.md, and regenerate the golden outputs (scripts/make_golden.py).

    .venv/bin/python scripts/ship_pretrained.py --max-minutes 35 --threads 2      # the shipped model
    .venv/bin/python scripts/ship_pretrained.py --sim-files 8 --events-per-file 2000 --max-minutes 2.5 \\
        --threads 1 --provisional                                                  # a quick stand-in

Every step runs the `nuclass` command line, and the card records those exact commands, the commit, the CPU
budget, the versions and the test-set metrics. Data already simulated in --sim / --test is reused (the
commands that made it are still recorded: delete the folders to make them again).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import resource
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PRETRAINED = ROOT / "src" / "nuclass" / "pretrained"
NUCLASS = str(Path(sys.executable).with_name("nuclass"))
WARNING = ("Trained on simulated events only (nuclass's near-detector simulator); it has NOT been validated "
           "on the real NOvA teaching files. Treat its scores on real files as untested.")


def _run(command: list[str]) -> float:
    """Run a command (echoed), fail loudly; returns the CPU-seconds it and its children used."""
    print("$", " ".join(shlex.quote(c) for c in command), flush=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def _display(command: list[str]) -> str:
    return " ".join(shlex.quote(c if c != NUCLASS else "nuclass") for c in command)


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return commit + (" (with uncommitted changes)" if dirty else "")


def _simulate(folder: Path, files: int, events: int, seed: int) -> list[str]:
    command = [NUCLASS, "simulate", str(folder), "--files", str(files), "--events-per-file", str(events),
               "--seed", str(seed)]
    if not (folder / f"neutrino{files}.h5").is_file():
        _run(command + ["--overwrite"])
    return command


def _events_seen(run: Path, batch_size: int) -> int:
    with (run / "metrics.csv").open(newline="") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    return max(steps, default=0) * batch_size


def _headline(metrics: dict) -> dict:
    """Per task and test set: the card's figures (with errors where metrics.json has them)."""
    keep = ("n_events", "accuracy", "accuracy_err", "accuracy_at_best_cut", "majority_class_accuracy",
            "balanced_accuracy", "roc_auc", "resolution", "resolution_err", "resolution_unbiased",
            "resolution_unbiased_err", "bias", "bias_err", "mae", "mae_err", "units")
    out = {}
    for task, block in metrics["tasks"].items():
        out[task] = {}
        for name, figures in block["test_sets"].items():
            entry = {k: figures[k] for k in keep if k in figures}
            if "efficiency_purity" in figures:
                ep = figures["efficiency_purity"]
                entry.update(best_cut=ep["best_cut"], efficiency=ep["best_efficiency"],
                             purity=ep["best_purity"])
            out[task][name] = entry
    return out


def _card_markdown(card: dict) -> str:
    lines = [f"# {card['name']}", "", f"**Warning.** {card['warning']}", ""]
    if card["provisional"]:
        lines += ["**Provisional weights**: a short stand-in training, not the budget below that the shipped "
                  "model is meant to have; rerun `scripts/ship_pretrained.py` for the real one.", ""]
    lines += [f"- made {card['created']}, commit {card['commit']}",
              f"- nuclass {card['versions'].get('nuclass')}, "
              + ", ".join(f"{k} {v}" for k, v in card["versions"].items() if k != "nuclass"),
              f"- network: {card['model']['name']}, {card['model']['parameters']:,} parameters, heads: "
              + ", ".join(card["model"]["tasks"]), f"- input: {card['model']['input']}",
              f"- weights: model.safetensors, {card['weights']['bytes']:,} bytes, "
              f"sha256 {card['weights']['sha256']}",
              "", "## How it was made", ""]
    for step, command in card["commands"].items():
        lines.append(f"- {step}: `{command}`")
    lines += [f"- training config (`--config`): `{json.dumps(card['train_config'])}`", "",
              "## Budget", "", *(f"- {k}: {v}" for k, v in card["budget"].items()), "",
              f"## Metrics on the fixed simulated test set ({card['test_set']})", "",
              "| task | test set | events | figures |", "| --- | --- | ---: | --- |"]
    for task, sets in card["metrics"].items():
        for name, m in sets.items():
            shown = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in m.items()
                              if k not in ("n_events", "units") and not k.endswith("_err") and v is not None)
            lines.append(f"| {task} | {name} | {m['n_events']:,} | {shown} |")
    lines += ["", "Accuracy is at score ≥ 0.5 (binary) or the most probable class; `accuracy_at_best_cut`, "
              "`efficiency` and `purity` at the cut maximising efficiency × purity. energy: GeV; y is "
              "E_ℓ/E_ν (the inelasticity is 1 − E_ℓ/E_ν). Full figures with errors: card.json.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", type=Path, default=Path("sim"), help="training data (default simulation)")
    parser.add_argument("--sim-files", type=int, default=60)
    parser.add_argument("--events-per-file", type=int, default=7000)
    parser.add_argument("--sim-seed", type=int, default=5)
    parser.add_argument("--test", type=Path, default=Path("pretrained-test"), help="the fixed test set")
    parser.add_argument("--test-files", type=int, default=2)
    parser.add_argument("--test-events", type=int, default=5000)
    parser.add_argument("--test-seed", type=int, default=2026)
    parser.add_argument("--run", type=Path, default=Path("runs/pretrained"))
    parser.add_argument("--max-minutes", type=float, default=35.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--val-every-minutes", type=float, default=None)
    parser.add_argument("--loss-weighting", default="fixed", choices=["fixed", "uncertainty"])
    parser.add_argument("--balance", default="weights", choices=["weights", "sampler", "none"])
    parser.add_argument("--provisional", action="store_true", help="mark the card as a stand-in")
    args = parser.parse_args()

    commands = {"simulate training data": _display(_simulate(args.sim, args.sim_files, args.events_per_file,
                                                               args.sim_seed)),
                "simulate the test set": _display(_simulate(args.test, args.test_files, args.test_events,
                                                              args.test_seed))}
    val_every = args.val_every_minutes or max(0.25, args.max_minutes / 20)
    train_config = {"threads": args.threads, "val_every_minutes": val_every, "balance": args.balance,
                    "loss_weighting": args.loss_weighting, "progress": False}
    if args.run.exists():
        shutil.rmtree(args.run)
    args.run.parent.mkdir(parents=True, exist_ok=True)
    config_file = args.run.with_suffix(".yaml")
    config_file.write_text(yaml.safe_dump(train_config, sort_keys=False))
    train = [NUCLASS, "train", "--task", "all", "--model", "cvn", "--data", str(args.sim), "--out",
             str(args.run), "--max-minutes", f"{args.max_minutes:g}", "--config", str(config_file)]
    started = time.monotonic()
    cpu = _run(train)
    wall = time.monotonic() - started
    evaluate = [NUCLASS, "evaluate", str(args.run), "--data", str(args.test)]
    _run(evaluate)
    commands |= {"train": _display(train), "evaluate": _display(evaluate)}

    PRETRAINED.mkdir(parents=True, exist_ok=True)
    for name in ("model.safetensors", "model.json"):
        shutil.copyfile(args.run / name, PRETRAINED / name)
    info = json.loads((args.run / "model.json").read_text())
    metrics = json.loads((args.run / "metrics.json").read_text())
    weights = PRETRAINED / "model.safetensors"
    from nuclass.predict import load_model

    n_parameters = sum(p.numel() for p in load_model(PRETRAINED)[0].parameters())  # not batch-norm statistics
    card = {
        "name": "nuclass multi-task cvn (shipped)",
        "warning": WARNING,
        "provisional": args.provisional,
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "commit": _commit(),
        "commands": commands,
        "train_config": train_config,
        "budget": {"max_minutes": args.max_minutes, "threads": args.threads, "wall_seconds": round(wall, 1),
                   "cpu_seconds": round(cpu, 1), "epochs_run": info.get("epochs_run"),
                   "events_seen": _events_seen(args.run, int(info["config"]["batch_size"])),
                   "best_val_loss": info.get("best_val_loss")},
        "versions": json.loads((args.run / "versions.json").read_text()),
        "model": {"name": info["model"], "tasks": info["tasks"], "parameters": int(n_parameters),
                  "input": info["input"], "pixel_transform": info["pixel_transform"]},
        "weights": {"bytes": weights.stat().st_size,
                    "sha256": hashlib.sha256(weights.read_bytes()).hexdigest()},
        "test_set": commands["simulate the test set"],
        "metrics": _headline(metrics),
    }
    (PRETRAINED / "card.json").write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
    (PRETRAINED / "card.md").write_text(_card_markdown(card))
    print(f"wrote {PRETRAINED}/: model.safetensors ({card['weights']['bytes']:,} bytes), model.json, card.*")
    _run([sys.executable, str(ROOT / "scripts" / "make_golden.py")])


if __name__ == "__main__":
    main()

"""Write examples/tutorial.ipynb (cells without outputs) from the cells below; run after editing them.

    .venv/bin/python examples/make_tutorial.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    (
        "md",
        """# nuclass tutorial: the student analyses, through the Python API

The two reference notebooks for the NOvA teaching files did everything by hand: read the HDF5 files,
looked at events, counted classes, balanced the sample by undersampling, trained a small CNN to pick out
νμ charged-current (CC) events, and then asked where it works and where it fails (QE vs DIS, low vs high
energy). This notebook walks through the same steps with `nuclass`, so each step is one library call and
the numbers come with statistical errors.

Everything runs on a small sample in a minute or two on a laptop CPU. Two settings below choose where
the data and the outputs go; the environment variables `NUCLASS_TUTORIAL_DATA` and `NUCLASS_TUTORIAL_OUT`
override them. If the data directory holds no `neutrino*.h5` files, a small NOvA-like sample is simulated
into it first (real teaching files can be fetched with `nuclass fetch` and used instead).""",
    ),
    (
        "code",
        """import os
from pathlib import Path

import numpy as np
from IPython.display import Image, display

DATA_DIR = Path(os.environ.get("NUCLASS_TUTORIAL_DATA", "tutorial-data"))
OUT_DIR = Path(os.environ.get("NUCLASS_TUTORIAL_OUT", "tutorial-output"))
N_FILES, EVENTS_PER_FILE = 4, 1000  # size of the simulated sample, used only if DATA_DIR holds no files
OUT_DIR.mkdir(parents=True, exist_ok=True)""",
    ),
    (
        "code",
        """from nuclass.io import expand_paths
from nuclass.sim import simulate_files

if not sorted(DATA_DIR.glob("neutrino*.h5")):
    simulate_files(DATA_DIR, N_FILES, EVENTS_PER_FILE, seed=0)
files = expand_paths([DATA_DIR])
print(f"{len(files)} files in {DATA_DIR}:", ", ".join(p.name for p in files))""",
    ),
    (
        "md",
        """## 1. Reading a file

`read_file` checks the file (every field, every shape, every label code) and returns an `Events` block:
`maps` holds the detector images, (events, 2 views, 100 planes, 80 cells) as 8-bit charges, and `meta`
the truth of each event as 1-D arrays. For samples larger than memory, `nuclass.io.iter_batches(paths,
batch_size)` yields the same blocks a few thousand events at a time.""",
    ),
    (
        "code",
        """from nuclass.io import read_file

events = read_file(files[0])
print("maps:", events.maps.shape, events.maps.dtype)
print("truth fields:", ", ".join(sorted(events.meta)))
print("first event: interaction", int(events.meta["interaction"][0]),
      f"| Eν = {events.meta['nuenergy'][0]:.2f} GeV | E_lepton = {events.meta['lepenergy'][0]:.2f} GeV")""",
    ),
    (
        "md",
        """## 2. Looking at events

Each event is seen in two views: planes along the beam against cells across it, once in x and once
in y. A muon from a νμ CC interaction leaves a long thin track; an NC event has no lepton, only the
hadronic shower near the vertex. `display_event` draws both views with the event's truth in the
title and writes a PNG.""",
    ),
    (
        "code",
        """from nuclass.labels import Interaction
from nuclass.plots import display_event

codes = events.meta["interaction"]
for code in (Interaction.kNumuQE, Interaction.kNumuDIS, Interaction.kNC):
    rows = np.flatnonzero(codes == code)
    if len(rows) == 0:
        print(f"no {code.name} event in {files[0].name}")
        continue
    display(Image(filename=display_event(events, int(rows[0]), OUT_DIR / f"event_{code.name}.png")))""",
    ),
    (
        "md",
        """## 3. What the sample is made of

The truth alone (`read_truth`, no images) is enough to count classes. νμ CC events dominate the sample,
which is why a classifier that always answers "νμ CC" already scores about 88 % on a natural sample, and
why the seeds balanced their training and test sets.""",
    ),
    (
        "code",
        """from nuclass.io import read_truth
from nuclass.plots import class_distributions

truths = [read_truth(p) for p in files]
truth = {key: np.concatenate([t[key] for t in truths]) for key in ("interaction", "nuenergy", "lepenergy")}
codes, counts = np.unique(truth["interaction"], return_counts=True)
for code, count in zip(codes, counts, strict=True):
    print(f"{Interaction(int(code)).name:>10}: {count:6d}  ({100 * count / counts.sum():5.1f} %)")
display(Image(filename=class_distributions(truth, OUT_DIR / "distributions.png", log=True)))""",
    ),
    (
        "md",
        """## 4. Balancing by undersampling

A task from `nuclass.labels.TASKS` turns the truth into targets: for `numu-cc`, 1 for interaction
codes 0–3 and 0 for everything else. `undersample_to_balance` keeps a random subset in which every
class is as common as the rarest one. Training does this itself (`balance="undersample"`, the
default); here we only look at what it costs: most νμ CC events are dropped.""",
    ),
    (
        "code",
        """from nuclass.data import undersample_to_balance
from nuclass.labels import TASKS

task = TASKS["numu-cc"]
used, target = task.labels(truth)
keep = undersample_to_balance(target, 2, np.random.default_rng(0))
print(f"task {task.name}: {task.description}")
for name, chosen in (("all events", target), ("undersampled", target[keep])):
    counts = np.bincount(chosen, minlength=2)
    print(f"{name:>12}: {task.class_names[0]} = {counts[0]}, {task.class_names[1]} = {counts[1]}")""",
    ),
    (
        "md",
        """## 5. Training a (tiny) network

`train` takes a frozen `TrainConfig` and returns plain data. The files are split by file into training,
validation and test sets (seeded, saved in the run directory), the training and validation sets are
undersampled, and the network here is `seed-multiview`, the first seed's two-branch CNN. The `tiny`
preset trains one short epoch, so the result is barely better than guessing: it shows the mechanics,
not the physics. For a real run use `nuclass train` (or drop the preset) with more files and epochs.""",
    ),
    (
        "code",
        """import shutil

from nuclass.training import load_config, train

RUN_DIR = OUT_DIR / "run-seed-multiview"
shutil.rmtree(RUN_DIR, ignore_errors=True)  # start afresh each time the notebook runs
config = load_config("tiny", task="numu-cc", model="seed-multiview", data=[str(DATA_DIR)], out=str(RUN_DIR))
summary = train(config)
print(f"{summary['model']}: {summary['n_parameters']:,} parameters, {summary['epochs_run']} epoch,"
      f" best validation loss {summary['best_val_loss']:.3f}")
print("events per split:", summary["n_events"])""",
    ),
    (
        "md",
        """## 6. Evaluating

`evaluate_run` scores the run on two test sets made from the test files: the *natural* one (the
sample's own composition) and the *balanced* one (undersampled, as the seeds tested). It writes
`metrics.json` and plots into the run directory and returns the same numbers. Words as in the report:
*efficiency* is the fraction of true νμ CC selected, *purity* the fraction of the selected that is νμ CC.""",
    ),
    (
        "code",
        """from nuclass.evaluation import evaluate_run

metrics = evaluate_run(RUN_DIR)
for name, block in metrics["test_sets"].items():
    best = block["efficiency_purity"]
    print(f"{name:>8}: {block['n_events']:5d} events, accuracy {block['accuracy']:.3f},"
          f" balanced accuracy {block['balanced_accuracy']:.3f}, ROC AUC {block['roc_auc']:.3f};"
          f" best cut {best['best_cut']:.2f}: efficiency {best['best_efficiency']:.3f},"
          f" purity {best['best_purity']:.3f}")
display(Image(filename=RUN_DIR / metrics["plots"]["balanced"]["confusion_matrix"]))""",
    ),
    (
        "md",
        """## 7. Where does it work? Performance against the truth

The seeds' second task: does the classifier do better on QE than on DIS events, on high than on low
energy? `metrics.json` holds the accuracy in equal-population bins of the true neutrino energy and per
interaction type, each with its binomial error, so a difference can be judged against the statistics
rather than by eye (an accuracy of exactly 0 or 1 is given as its 68 % confidence range instead).""",
    ),
    (
        "code",
        """from nuclass.evaluation import format_metric

balanced = metrics["test_sets"]["balanced"]
print("accuracy in bins of the true neutrino energy (balanced test set)")
for b in balanced["by"]["nuenergy"]:
    if b["n"]:
        print(f"  {b['lo']:6.2f}–{b['hi']:6.2f} GeV: {format_metric(b, 'accuracy')}  (n = {b['n']})")
print("accuracy per interaction type")
for c in balanced["by"]["interaction"]:
    if c["n"]:
        print(f"  {c['category']:>10}: {format_metric(c, 'accuracy')}  (n = {c['n']})")
display(Image(filename=RUN_DIR / metrics["plots"]["balanced"]["by_nuenergy"]))""",
    ),
    (
        "md",
        """`evaluate_run` also answers the seeds' questions directly and says which truth variables the
accuracy depends on beyond the statistical errors (a χ² test across the bins). With a network trained
for a few batches on a few hundred events, expect large errors and few firm conclusions.""",
    ),
    (
        "code",
        """for q in balanced["questions"]:
    print("•", q["sentence"])
for d in balanced["dependence"]:
    print("•", d["sentence"])""",
    ),
    (
        "md",
        """## 8. The report

Everything above, and more (ROC curves, efficiency and purity against the score cut, final-state
categories, training curves), is gathered in one self-contained HTML page by `write_report`; give it
several run directories to compare networks side by side.""",
    ),
    (
        "code",
        """from nuclass.report import write_report

print(write_report([RUN_DIR], OUT_DIR / "report.html"))""",
    ),
]


def build() -> nbformat.NotebookNode:
    """The tutorial notebook (no outputs), kernel python3."""
    cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in CELLS]
    for k, cell in enumerate(cells):
        cell.id = f"cell-{k:02d}"  # stable ids: regenerating gives the same file
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


if __name__ == "__main__":
    out = Path(__file__).with_name("tutorial.ipynb")
    nbformat.write(build(), out)
    print(out)

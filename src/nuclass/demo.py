"""`nuclass demo`: the main job on the embedded default data — for now simulate, inspect and draw.

Training, evaluation and the report join this flow when they exist (issues 4 and 5).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nuclass.errors import NuclassError
from nuclass.inspect import render_summary, summarise
from nuclass.io.nova_h5 import read_truth
from nuclass.labels import Interaction, flavour_index
from nuclass.plots import class_distributions, display_event

__all__ = ["run_demo", "EXAMPLE_CLASSES"]

# One example event of each of these classes is drawn: (file stem, title, which events belong).
EXAMPLE_CLASSES = (
    ("numu_cc_qe", "νμ CC QE", lambda code: code == Interaction.kNumuQE),
    ("numu_cc_dis", "νμ CC DIS", lambda code: code == Interaction.kNumuDIS),
    ("nue_cc", "νe CC", lambda code: flavour_index(code) == 1),
    ("nc", "NC", lambda code: code == Interaction.kNC),
)


def _typical_event(meta: dict[str, np.ndarray], selects) -> int | None:
    """Row of the selected event (nuenergy > 0) whose Eν is closest to the selection's median Eν."""
    chosen = np.flatnonzero(selects(meta["interaction"]) & (meta["nuenergy"] > 0))
    if len(chosen) == 0:
        return None
    energy = meta["nuenergy"][chosen]
    return int(chosen[np.argmin(np.abs(energy - np.median(energy)))])


def run_demo(out: Path, files: int = 4, events_per_file: int = 2000, seed: int = 0) -> list[Path]:
    """Simulate `files` × `events_per_file` events into out/data, summarise them, and draw example events
    (out/displays/*.png) and the class and energy distributions (out/distributions.png); the paths written.
    """
    from rich.console import Console
    from rich.progress import Progress

    try:
        from nuclass.sim import simulate_files
    except ImportError as exc:
        raise NuclassError(f"the simulator (nuclass.sim) is not available yet: {exc}") from None

    console = Console()
    out = Path(out)
    console.rule(f"[bold]1. simulate {files} × {events_per_file:,} events (seed {seed})")
    data = simulate_files(out / "data", files, events_per_file, seed=seed, progress=True)
    console.rule("[bold]2. inspect")
    render_summary(summarise(data, progress=True), console)

    console.rule("[bold]3. draw")
    truth = [read_truth(path) for path in data]
    meta = {key: np.concatenate([t[key] for t in truth]) for key in ("interaction", "nuenergy", "lepenergy")}
    meta["file"] = np.concatenate([np.full(len(t["interaction"]), k) for k, t in enumerate(truth)])
    meta["row"] = np.concatenate([np.arange(len(t["interaction"])) for t in truth])
    written: list[Path] = []
    with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("event displays and distributions", total=len(EXAMPLE_CLASSES) + 1)
        for stem, title, selects in EXAMPLE_CLASSES:
            event = _typical_event(meta, selects)
            if event is None:
                console.print(f"no {title} event with Eν > 0 in the sample: no display drawn")
            else:
                path = data[meta["file"][event]]
                written.append(display_event(path, int(meta["row"][event]), out / "displays" / f"{stem}.png"))
            bar.advance(task)
        written.append(class_distributions(meta, out / "distributions.png", log=True))
        bar.advance(task)

    console.rule("[bold]written")
    console.print(f"{len(data)} data files in {out / 'data'}")
    for path in written:
        console.print(f"  {path}")
    return [*data, *written]

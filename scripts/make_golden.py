"""Regenerate the golden outputs of the shipped model: its scores on 64 fixed events, which
tests/test_shipped.py compares the package's model with (so weights, input transform and architecture
cannot drift unnoticed).

    .venv/bin/python scripts/make_golden.py           # the shipped model's scores: tests/data/golden_*.json
    .venv/bin/python scripts/make_golden.py --events  # and new 64 events first: tests/data/golden_events.h5

Run it deliberately, after shipping new weights (scripts/ship_pretrained.py calls it): the test exists to
fail when the scores change without that. The events are kept as a file rather than simulated in the test,
so that a change of the simulator does not move them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "data" / "golden_events.h5"
SCORES = ROOT / "tests" / "data" / "golden_scores.json"
N_EVENTS, SEED = 64, 16  # issue 16


def write_events() -> Path:
    from nuclass.io import write_file
    from nuclass.sim import simulate_events

    EVENTS.parent.mkdir(parents=True, exist_ok=True)
    return write_file(EVENTS, simulate_events(N_EVENTS, seed=SEED))


def weights_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def golden_scores() -> dict:
    """The shipped model's scores on the golden events, with what they were made from."""
    import torch

    import nuclass
    from nuclass.io import read_file
    from nuclass.shipped import PRETRAINED_DIR

    torch.set_num_threads(1)
    events = read_file(EVENTS)
    network = nuclass.pretrained()
    scores = network.predict(events.maps)
    return {
        "events": EVENTS.relative_to(ROOT).as_posix(),
        "n_events": len(events),
        "weights_sha256": weights_sha256(PRETRAINED_DIR / "model.safetensors"),
        "nuclass": nuclass.__version__,
        "torch": torch.__version__,
        "scores": {name: np.asarray(s, dtype=np.float64).round(7).tolist() for name, s in scores.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", action="store_true", help="re-simulate the 64 golden events first")
    args = parser.parse_args()
    if args.events or not EVENTS.is_file():
        print(f"wrote {write_events()}")
    SCORES.write_text(json.dumps(golden_scores(), indent=1) + "\n")
    print(f"wrote {SCORES}")


if __name__ == "__main__":
    main()

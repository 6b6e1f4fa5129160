"""Draw simulated events beside the real teaching displays (shared/reference/img) for docs/sim_vs_real.png.

Usage: python docs/sim_vs_real.py [--real-img ../shared/reference/img] [--seed 0]
For each real display, a simulated event of the same class and a similar energy is drawn the way the
seed notebooks drew theirs (imshow of each view: cells down, planes across), so the two read alike.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nuclass.labels import Interaction
from nuclass.sim import SimConfig, simulate_events

# (real image, interactions of that class, target Eν in GeV or None, caption)
PAIRS = [
    ("real_event_numuCC_QE_1.9GeV.png", [Interaction.kNumuQE], 1.9, "νμ CC QE, 1.9 GeV"),
    ("real_event_DIS.png", [Interaction.kNumuDIS], 12.0, "νμ CC DIS"),
    ("real_event_NC_13.7GeV.png", [Interaction.kNC], 13.7, "NC, 13.7 GeV"),
    ("real_event_RES.png", [Interaction.kNumuRes], 3.0, "νμ CC RES"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real-img", type=Path, default=Path(__file__).parents[2] / "shared/reference/img")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "sim_vs_real.png")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-class", type=int, default=2, help="simulated events per real display")
    ap.add_argument("--config", type=Path, help="simulator YAML overriding the defaults")
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    events = simulate_events(4000, seed=args.seed,
                             config=SimConfig.from_yaml(args.config) if args.config else None)
    rng = np.random.default_rng(args.seed)
    ncols = 1 + 2 * args.per_class
    fig, axes = plt.subplots(len(PAIRS), ncols, figsize=(3.2 * ncols, 2.6 * len(PAIRS)),
                             gridspec_kw={"width_ratios": [2.2] + [1] * (ncols - 1)})
    for row, (image, codes, energy, caption) in enumerate(PAIRS):
        ax = axes[row, 0]
        ax.imshow(mpimg.imread(args.real_img / image))
        ax.set_title(f"real: {caption}", fontsize=9)
        ax.axis("off")
        candidates = np.flatnonzero(np.isin(events.meta["interaction"], [int(c) for c in codes]))
        gap = np.abs(events.meta["nuenergy"][candidates] - energy)
        closest = candidates[np.argsort(gap)[: 6 * args.per_class]]
        for k, i in enumerate(rng.choice(closest, args.per_class, replace=False)):
            for view in range(2):
                ax = axes[row, 1 + 2 * k + view]
                ax.imshow(events.maps[i, view].T, cmap="viridis", aspect="auto", vmin=0,
                          vmax=max(1, events.maps[i].max()))
                m = events.meta
                ax.set_title(f"sim {Interaction(m['interaction'][i]).name} {m['nuenergy'][i]:.1f} GeV, "
                             f"view {view}", fontsize=8)
                ax.tick_params(labelsize=6)
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)
    print(args.out)


if __name__ == "__main__":
    main()

"""Draw simulated events beside the real teaching displays (shared/reference/img) for docs/sim_vs_real.png.

Usage: python docs/sim_vs_real.py [--real-img ../shared/reference/img] [--seed 0]
For each real display, simulated events of the same class and a similar energy are drawn the way the
seed notebooks drew theirs (imshow of each view: cells down, planes across), so the two read alike. The
QE row uses the real event's own situation (near-detector.md: a 1.89 GeV νμ CC QE from (−158.9, 175.1,
94.9) cm, 16 cm below the top); a last row shows rock events, the majority of the real sample.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nuclass.labels import Interaction
from nuclass.sim import SimConfig, simulate_at, simulate_events

# (real image, interactions of that class, target (Eν, E_lep) in GeV, caption); the NC display is f1 #3 of
# near-detector.md (13.68 GeV, E_lep 2.77 GeV); the DIS and RES displays' energies are not known
PAIRS = [
    ("real_event_numuCC_QE_1.9GeV.png", [Interaction.kNumuQE], (1.89, 1.85), "νμ CC QE, 1.9 GeV"),
    ("real_event_DIS.png", [Interaction.kNumuDIS], (12.0, None), "νμ CC DIS"),
    ("real_event_NC_13.7GeV.png", [Interaction.kNC], (13.68, 2.77), "NC, 13.7 GeV"),
    ("real_event_RES.png", [Interaction.kNumuRes], (3.0, None), "νμ CC RES"),
    (None, [Interaction.kNumuQE, Interaction.kNumuRes, Interaction.kNumuDIS], None,
     "rock events (no display)"),
]
REAL_QE_VERTEX = (-158.9, 175.1, 94.9)  # f1 #4 of near-detector.md


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

    config = SimConfig.from_yaml(args.config) if args.config else None
    events = simulate_events(4000, seed=args.seed, config=config)
    qe, _ = simulate_at(40, Interaction.kNumuQE, 1.89, REAL_QE_VERTEX, seed=args.seed, config=config)
    rng = np.random.default_rng(args.seed)
    ncols = 1 + 2 * args.per_class
    fig, axes = plt.subplots(len(PAIRS), ncols, figsize=(3.2 * ncols, 2.8 * len(PAIRS)),
                             gridspec_kw={"width_ratios": [2.2] + [1] * (ncols - 1)})
    for row, (image, codes, energy, caption) in enumerate(PAIRS):
        ax = axes[row, 0]
        ax.axis("off")
        if image:
            ax.imshow(mpimg.imread(args.real_img / image))
        ax.set_title(f"real: {caption}", fontsize=9)
        source = events
        if image and image.startswith("real_event_numuCC_QE"):
            source, picks = qe, rng.choice(len(qe), args.per_class, replace=False)  # the real vertex
        elif image is None:  # rock muons: vertices outside the detector
            outside = np.flatnonzero((events.extra["location"] == 2)
                                     & np.isin(events.meta["interaction"], [int(c) for c in codes]))
            picks = rng.choice(outside, args.per_class, replace=False)
        else:
            candidates = np.flatnonzero(np.isin(events.meta["interaction"], [int(c) for c in codes])
                                        & (events.extra["location"] == 0))
            nu, lep = energy
            gap = np.abs(events.meta["nuenergy"][candidates] - nu)
            if lep is not None:
                gap = gap + np.abs(events.meta["lepenergy"][candidates] - lep)
            closest = candidates[np.argsort(gap)[: 6 * args.per_class]]
            picks = rng.choice(closest, args.per_class, replace=False)
        for k, i in enumerate(picks):
            m = source.meta
            for view in range(2):
                ax = axes[row, 1 + 2 * k + view]
                ax.imshow(source.maps[i, view].T, cmap="viridis", aspect="auto", vmin=0,
                          vmax=max(1, source.maps[i].max()))
                where = f"({m['vtxx'][i]:.0f}, {m['vtxy'][i]:.0f}, {m['vtxz'][i]:.0f})"
                ax.set_title(f"sim {Interaction(m['interaction'][i]).name} {m['nuenergy'][i]:.1f} GeV\n"
                             f"vertex {where}, view {view}", fontsize=7)
                ax.tick_params(labelsize=6)
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)
    print(args.out)


if __name__ == "__main__":
    main()

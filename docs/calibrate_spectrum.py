"""Unfold the ND interaction spectrum so that the written sample has the teaching files' spectrum.

Usage: python docs/calibrate_spectrum.py [--events 40000] [--iterations 2] [--config sim.yaml]
The written spectrum is the interaction spectrum times an acceptance that depends on energy only (the
detector's mass, and the rock from which the muon of an energetic event still reaches the detector),
so each iteration multiplies the interaction spectrum, bin by bin on the knots of the real CDF, by
target / written. Prints the knots' CDF to paste as `ND_SPECTRUM_CDF` (src/nuclass/sim/config.py).
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from nuclass.sim import SimConfig, generate
from nuclass.sim.config import SAMPLE_SPECTRUM_CDF, SAMPLE_SPECTRUM_GEV


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=40000)
    ap.add_argument("--iterations", type=int, default=2)
    ap.add_argument("--seed", type=int, default=200)
    ap.add_argument("--config", help="simulator YAML to start from (default: the defaults)")
    args = ap.parse_args()
    cfg = SimConfig.from_yaml(args.config) if args.config else SimConfig()
    knots, target = np.array(SAMPLE_SPECTRUM_GEV), np.diff(SAMPLE_SPECTRUM_CDF)
    if cfg.spectrum_gev != SAMPLE_SPECTRUM_GEV:
        raise SystemExit("the config's spectrum_gev must be the sample's knots")
    share = np.diff(cfg.spectrum_cdf)
    for iteration in range(args.iterations):
        cdf = np.concatenate([[0.0], np.cumsum(share) / share.sum()]).round(5)
        cdf[-1] = 1.0
        cfg = dataclasses.replace(cfg, spectrum_cdf=tuple(float(c) for c in cdf))
        events, _ = generate(args.events, seed=args.seed + iteration, config=cfg)
        energy = events.meta["nuenergy"][events.meta["nuenergy"] > 0]
        written = np.histogram(energy, bins=knots)[0] / len(energy)
        ratio = np.where(written > 0, target / np.maximum(written, 1e-12), 1.0)
        print(f"iteration {iteration}: target / written per knot interval", np.round(ratio, 2))
        share = share * ratio
    cdf = np.concatenate([[0.0], np.cumsum(share) / share.sum()]).round(5)
    cdf[-1] = 1.0
    print("ND_SPECTRUM_CDF =", tuple(float(c) for c in cdf))


if __name__ == "__main__":
    main()

"""Event generation in numpy (energy, channel, mode, vertex), the compiled kernel, truth, and files.

The numbers behind the mix live in SimConfig; the NOvA codes they map to live in nuclass.labels.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from nuclass.io.nova_h5 import Events, write_file
from nuclass.labels import FinalState, Interaction, final_state_code
from nuclass.sim import detector as det
from nuclass.sim.config import SimConfig

__all__ = ["simulate_events", "simulate_files", "sample_energies", "mode_fractions", "nue_probability"]


def sample_energies(n: int, rng: np.random.Generator, cfg: SimConfig) -> np.ndarray:
    """Neutrino energies (GeV) from the sample's piecewise-linear CDF (flat density between knots)."""
    return np.interp(rng.random(n), cfg.spectrum_cdf, cfg.spectrum_gev)


def mode_fractions(energy: np.ndarray, cfg: SimConfig) -> np.ndarray:
    """(N, 4) probabilities of QE, RES, DIS, other at each energy (GeV), interpolated in ln E."""
    log_e = np.log(np.clip(energy, 1e-3, None))
    knots = np.log(cfg.mode_energies_gev)
    qe = np.interp(log_e, knots, cfg.mode_qe) * cfg.qe_scale
    res = np.interp(log_e, knots, cfg.mode_res) * cfg.res_scale
    other = np.full_like(qe, cfg.other_cc_fraction)
    dis = np.clip(1.0 - qe - res - other, 0.0, None)
    p = np.stack([qe, res, dis, other], axis=1)
    return p / p.sum(axis=1, keepdims=True)


def nue_probability(energy: np.ndarray, cfg: SimConfig) -> np.ndarray:
    """P(νe CC | E): rising with energy (kaon-decay νe), normalised to the sample's νe CC share."""
    grid = np.interp(np.linspace(0, 1, 20001), cfg.spectrum_cdf, cfg.spectrum_gev)
    shape = lambda e: e / (e + cfg.nue_energy_pivot_gev)  # noqa: E731
    return cfg.share_nue_cc * shape(energy) / shape(grid).mean()


def _sample_channels(energy, rng, cfg):
    u = rng.random(len(energy))
    p_nue = nue_probability(energy, cfg)
    edges = np.cumsum(np.stack([p_nue, np.full_like(p_nue, cfg.share_nc),
                                np.full_like(p_nue, cfg.share_other15),
                                np.full_like(p_nue, cfg.share_cosmic)]), axis=0)
    channel = np.full(len(energy), det.CHANNEL_NUMU_CC)
    channel[u < edges[3]] = det.CHANNEL_COSMIC
    channel[u < edges[2]] = det.CHANNEL_OTHER
    channel[u < edges[1]] = det.CHANNEL_NC
    channel[u < edges[0]] = det.CHANNEL_NUE_CC
    return channel


def _sample_modes(energy, rng, cfg):
    cum = np.cumsum(mode_fractions(energy, cfg), axis=1)
    return (rng.random(len(energy))[:, None] > cum[:, :-1]).sum(axis=1)


_CC_BASE = {det.CHANNEL_NUMU_CC: Interaction.kNumuQE, det.CHANNEL_NUE_CC: Interaction.kNueQE}


def _interaction_codes(channel, mode):
    code = np.full(len(channel), int(Interaction.kNC))
    for ch, base in _CC_BASE.items():
        sel = channel == ch
        code[sel] = int(base) + mode[sel]
    code[channel == det.CHANNEL_COSMIC] = int(Interaction.kCosmic)
    code[channel == det.CHANNEL_OTHER] = int(Interaction.kOther)
    return code


def _final_states(channel, anti, tracks, showers):
    """NOvA finalstate and finalstateprong from what is visible.

    ν̄ CC, code 15 → kOtherFS, cosmics → kCosmicFS.
    """
    flavour = np.select([channel == det.CHANNEL_NUMU_CC, channel == det.CHANNEL_NUE_CC], [0, 1], 2)
    fs = final_state_code(flavour, tracks, showers)
    prong = 4 * flavour + np.minimum(tracks + showers, 3)
    other = (channel == det.CHANNEL_OTHER) | (anti.astype(bool) & (channel != det.CHANNEL_NC))
    cosmic = channel == det.CHANNEL_COSMIC
    fs = np.where(other, int(FinalState.kOtherFS), np.where(cosmic, int(FinalState.kCosmicFS), fs))
    prong = np.where(other, 13, np.where(cosmic, 12, prong))
    return fs, prong


def simulate_events(n: int, seed: int = 0, config: SimConfig | None = None, file_number: int = 1) -> Events:
    """Simulate `n` NOvA-like events: maps (n, 2, 100, 80) uint8, the real files' truth, and extra truth.

    The same (n, seed, config, file_number) gives the same arrays.
    """
    cfg = config or SimConfig()
    rng = np.random.default_rng(np.random.SeedSequence([seed, file_number]))
    energy = sample_energies(n, rng, cfg)
    channel = _sample_channels(energy, rng, cfg)
    mode = _sample_modes(energy, rng, cfg)
    anti = (rng.random(n) < cfg.antineutrino_fraction).astype(np.int64)
    half = 0.85 * cfg.detector_half_width_cm
    vertex = np.stack([rng.uniform(-half, half, n), rng.uniform(-half, half, n),
                       rng.uniform(50.0, cfg.detector_length_cm - 200.0, n)], axis=1)
    maps = np.zeros((n, 2, 100, 80), np.uint8)
    info = np.zeros((n, det.N_INFO))
    det.render_events(int(rng.integers(2**31 - 1)), energy, channel, mode, anti, vertex,
                      det.pack_params(cfg), maps, info)
    lepenergy = info[:, det.INFO_LEPENERGY]
    unknown = (channel == det.CHANNEL_OTHER) | (channel == det.CHANNEL_COSMIC)
    tracks = info[:, det.INFO_TRACKS].astype(np.int64)
    showers = info[:, det.INFO_SHOWERS].astype(np.int64)
    finalstate, prong = _final_states(channel, anti, tracks, showers)
    meta = {
        "run": np.full(n, 10000 + file_number, np.uint32),
        "subrun": np.full(n, file_number, np.uint32),
        "cycle": np.zeros(n, np.int32),
        "evt": np.arange(1, n + 1, dtype=np.uint32),
        "subevt": np.zeros(n, np.uint16),
        "rec.training.trainingdata_idx": np.arange(n, dtype=np.uint32),
        "interaction": _interaction_codes(channel, mode),
        "finalstate": finalstate,
        "finalstateprong": prong,
        "nuenergy": np.where(unknown, 0.0, energy).astype(np.float32),
        "lepenergy": np.where(unknown, 0.0, lepenergy).astype(np.float32),
        "vtxx": vertex[:, 0],
        "vtxy": vertex[:, 1],
        "vtxz": vertex[:, 2],
    }
    extra = {
        "true_nuenergy": energy.astype(np.float32),
        "mode": mode.astype(np.uint8),
        "antineutrino": anti.astype(np.uint8),
        "n_tracks": tracks.astype(np.uint8),
        "n_showers": showers.astype(np.uint8),
        "visible_energy": info[:, det.INFO_VISIBLE_GEV].astype(np.float32),
        "hadronic_w": info[:, det.INFO_W].astype(np.float32),
        "q2": info[:, det.INFO_Q2].astype(np.float32),
    }
    return Events(maps, meta, extra=extra)


def _simulate_one_file(path: Path, n: int, seed: int, cfg: SimConfig, file_number: int) -> Path:
    return write_file(path, simulate_events(n, seed, cfg, file_number))


def simulate_files(
    out_dir: str | os.PathLike,
    n_files: int,
    events_per_file: int,
    seed: int = 0,
    config: SimConfig | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> list[Path]:
    """Write neutrino1.h5 … neutrino{n_files}.h5 into out_dir, each seeded independently, in parallel."""
    cfg = config or SimConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(out / f"neutrino{k}.h5", events_per_file, seed, cfg, k) for k in range(1, n_files + 1)]
    workers = max(1, min(workers or os.cpu_count() or 1, n_files))
    from rich.progress import Progress

    with Progress(disable=not progress, transient=False) as bar:
        task = bar.add_task(f"simulating {n_files} × {events_per_file} events", total=n_files)
        if workers == 1:
            for job in jobs:
                _simulate_one_file(*job)
                bar.advance(task)
        else:
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
                for future in as_completed([pool.submit(_simulate_one_file, *job) for job in jobs]):
                    future.result()
                    bar.advance(task)
    return [job[0] for job in jobs]

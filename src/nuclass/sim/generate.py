"""Event generation: the interaction-level mix in numpy, the compiled kernel, truth, and files.

The numbers behind the mix live in SimConfig; the NOvA codes they map to live in nuclass.labels.
Candidates are drawn per interaction (energy, channel, mode, ν or ν̄, stream); the kernel places and
simulates them and writes those whose slice passes NOvA's cut, so the written sample's composition,
spectrum and vertex distribution are outcomes of the physics, not inputs.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np

from nuclass.io.nova_h5 import Events
from nuclass.labels import FinalState, Interaction, final_state_code
from nuclass.labels.truth import vertex_location
from nuclass.sim import kinematics as kin
from nuclass.sim.config import SimConfig
from nuclass.sim.constants import MASS_GEV, MU
from nuclass.sim.geometry import catcher_slots, material_table, pack_geometry
from nuclass.sim.kernel import (
    N_STATUS,
    STATUS_WRITTEN,
    STREAM_FIXED,
    STREAM_ROCK_FAR,
    inject,
    simulate_block,
)
from nuclass.sim.readout import pack_response
from nuclass.sim.transport import F_BIRKS, F_MCS, F_PI0, N_PHYSICS
from nuclass.sim.vertices import StreamRates

__all__ = ["simulate_events", "simulate_at", "simulate_particle", "generate", "Generation", "sample_energies",
           "mode_fractions",
           "nue_probability"]
_SLICES_PER_READOUT = 4.0  # mean slices of a readout beyond the first (ND pile-up; approx.)
_GRID = 4000  # points of the fine energy grid
_BLOCK = 8192  # candidates drawn per block


@dataclasses.dataclass(frozen=True)
class Generation:
    """What a simulation cost: candidates drawn per stream and what became of them."""

    written: int
    candidates: int
    status_counts: tuple[int, ...]  # indexed by the kernel's STATUS_* codes
    stream_probabilities: tuple[float, ...]  # inside, rock shell, rock beyond

    @property
    def candidates_per_written(self) -> float:
        return self.candidates / max(1, self.written)


class _Packed:
    """Everything the kernel reads for one configuration, computed once."""

    def __init__(self, cfg: SimConfig):
        self.cfg = cfg
        self.geometry = pack_geometry(cfg)
        self.slots = catcher_slots(cfg)
        self.materials = material_table(cfg)
        self.response = pack_response(cfg)
        self.physics = np.zeros(N_PHYSICS)
        self.physics[F_BIRKS], self.physics[F_MCS], self.physics[F_PI0] = (
            cfg.birks_cm_per_mev, cfg.mcs_scale, cfg.pi0_fraction)
        knots, cdf = np.asarray(cfg.spectrum_gev), np.asarray(cfg.spectrum_cdf)
        self.grid = np.linspace(knots[0], knots[-1], _GRID + 1)
        self.grid_mid = 0.5 * (self.grid[1:] + self.grid[:-1])
        self.grid_pdf = np.diff(np.interp(self.grid, knots, cdf))
        self.rates = StreamRates(cfg, self.materials, (self.grid_mid, self.grid_pdf))
        far = self.grid_pdf * self.rates.far_reach_cm(self.grid_mid - MASS_GEV[MU])
        self.far_cdf = np.concatenate([[0.0], np.cumsum(far) / far.sum()])
        shape = self.grid_mid / (self.grid_mid + cfg.nue_energy_pivot_gev)
        self.nue_shape_mean = float(np.sum(shape * self.grid_pdf))


@functools.lru_cache(maxsize=8)
def _packed(cfg: SimConfig) -> _Packed:
    return _Packed(cfg)


def sample_energies(n: int, rng: np.random.Generator, cfg: SimConfig) -> np.ndarray:
    """Interaction energies (GeV) from the configured piecewise-linear CDF (flat density between knots)."""
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
    """P(νe | CC interaction at E): rising with energy (kaon-decay νe), `share_nue_cc` over the spectrum."""
    shape = energy / (energy + cfg.nue_energy_pivot_gev)
    return np.clip(cfg.share_nue_cc * shape / _packed(cfg).nue_shape_mean, 0.0, 1.0)


def _sample_channels(energy: np.ndarray, rng: np.random.Generator, cfg: SimConfig) -> np.ndarray:
    neutrino = 1.0 - cfg.share_other15 - cfg.share_cosmic
    p_nc = neutrino * cfg.nc_to_cc / (1.0 + cfg.nc_to_cc)
    p_nue = (neutrino - p_nc) * nue_probability(energy, cfg)
    edges = np.cumsum(np.stack([p_nue, np.full_like(p_nue, p_nc), np.full_like(p_nue, cfg.share_other15),
                                np.full_like(p_nue, cfg.share_cosmic)]), axis=0)
    u = rng.random(len(energy))
    channel = np.full(len(energy), kin.CHANNEL_NUMU_CC)
    channel[u < edges[3]] = kin.CHANNEL_COSMIC
    channel[u < edges[2]] = kin.CHANNEL_OTHER
    channel[u < edges[1]] = kin.CHANNEL_NC
    channel[u < edges[0]] = kin.CHANNEL_NUE_CC
    return channel


def _sample_modes(energy: np.ndarray, rng: np.random.Generator, cfg: SimConfig) -> np.ndarray:
    cum = np.cumsum(mode_fractions(energy, cfg), axis=1)
    return (rng.random(len(energy))[:, None] > cum[:, :-1]).sum(axis=1)


_CC_BASE = {kin.CHANNEL_NUMU_CC: Interaction.kNumuQE, kin.CHANNEL_NUE_CC: Interaction.kNueQE}


def _interaction_codes(channel: np.ndarray, mode: np.ndarray) -> np.ndarray:
    code = np.full(len(channel), int(Interaction.kNC))
    for ch, base in _CC_BASE.items():
        sel = channel == ch
        code[sel] = int(base) + mode[sel]
    code[channel == kin.CHANNEL_COSMIC] = int(Interaction.kCosmic)
    code[channel == kin.CHANNEL_OTHER] = int(Interaction.kOther)
    return code


def _final_states(channel, anti, tracks, showers):
    """NOvA finalstate and finalstateprong from the visible primaries; ν̄ CC and code 15 → kOtherFS."""
    flavour = np.select([channel == kin.CHANNEL_NUMU_CC, channel == kin.CHANNEL_NUE_CC], [0, 1], 2)
    fs = final_state_code(flavour, tracks, showers)
    prong = 4 * flavour + np.minimum(tracks + showers, 3)
    other = (channel == kin.CHANNEL_OTHER) | (anti.astype(bool) & (channel != kin.CHANNEL_NC))
    cosmic = channel == kin.CHANNEL_COSMIC
    fs = np.where(other, int(FinalState.kOtherFS), np.where(cosmic, int(FinalState.kCosmicFS), fs))
    prong = np.where(other, 13, np.where(cosmic, 12, prong))
    return fs, prong


def _parents(channel, energy, u, cfg):
    """`parent` as the real field appears to mean it: 1 (kaon-like) for most CC events above ≈ 5–7 GeV,
    else 0; NC events 3 or 4 (the two printed NC events; meaning unknown). u: uniform draws (N,)."""
    kaon = u < 1.0 / (1.0 + np.exp(-(energy - cfg.kaon_parent_energy_gev) / 0.6))
    parent = kaon.astype(np.uint32)
    nc = channel == kin.CHANNEL_NC
    parent[nc] = np.where(u[nc] < 0.5, 3, 4).astype(np.uint32)
    parent[(channel == kin.CHANNEL_OTHER) | (channel == kin.CHANNEL_COSMIC)] = 0
    return parent


def _readouts(slice_written: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(evt, subevt) of the written slices: slices come in readouts of 1 + Poisson(4), numbered in order,
    so slices that were too small to be written leave gaps in `subevt` as in the real files."""
    n = len(slice_written)
    sizes = 1 + rng.poisson(_SLICES_PER_READOUT, n)
    readout = np.repeat(np.arange(1, n + 1), sizes)[:n]
    start = np.searchsorted(readout, readout)  # index of each readout's first slice
    subevt = np.arange(n) - start + 1
    return readout[slice_written], subevt[slice_written]


def generate(n: int, seed: int = 0, config: SimConfig | None = None,
             file_number: int = 1) -> tuple[Events, Generation]:
    """Simulate until `n` events are written; the events and what it took. Same arguments, same arrays."""
    cfg = config or SimConfig()
    packed = _packed(cfg)
    rng = np.random.default_rng(np.random.SeedSequence([seed, file_number]))
    kernel_seed = int(rng.integers(2**31 - 1))
    maps = np.zeros((n, 2, 100, 80), np.uint8)
    info = np.zeros((n, kin.N_INFO))
    drawn = {k: [] for k in ("energy", "channel", "mode", "anti", "parent_u", "status", "hits")}
    written = tried = 0
    while written < n:
        # Blocks of a fixed size, so that candidate k is the same interaction whatever the detector
        # does with the ones before it (paired samples); short kernel calls see Ctrl-C within a second.
        stream = rng.choice(3, _BLOCK, p=packed.rates.probabilities)
        energy = sample_energies(_BLOCK, rng, cfg)
        far = stream == STREAM_ROCK_FAR
        energy[far] = np.interp(rng.random(far.sum()), packed.far_cdf, packed.grid)
        channel = _sample_channels(energy, rng, cfg)
        mode = _sample_modes(energy, rng, cfg)
        anti = (rng.random(_BLOCK) < cfg.antineutrino_fraction).astype(np.int64)
        parent_u = rng.random(_BLOCK)
        status = np.full(_BLOCK, -1, np.int64)
        hits = np.zeros(_BLOCK, np.int64)
        done, used = simulate_block(kernel_seed, tried, energy, channel, mode, anti, stream,
                                    np.zeros((_BLOCK, 3)), packed.geometry, packed.slots, packed.materials,
                                    packed.physics, packed.response, packed.rates.vertex,
                                    packed.rates.range_t, packed.rates.range_cm, maps[written:],
                                    info[written:], status, hits)
        for key, values in (("energy", energy), ("channel", channel), ("mode", mode), ("anti", anti),
                            ("parent_u", parent_u), ("status", status), ("hits", hits)):
            drawn[key].append(values[:used])
        written += done
        tried += _BLOCK
    drawn = {k: np.concatenate(v) for k, v in drawn.items()}
    ok = drawn["status"] == STATUS_WRITTEN
    channel, mode, anti = drawn["channel"][ok], drawn["mode"][ok], drawn["anti"][ok]
    events = _events(maps, info, channel, mode, anti, drawn["energy"][ok], drawn["parent_u"][ok], cfg,
                     file_number)
    # the candidate's number (every block but the last is used whole): the same interaction in a sample
    # simulated with other detector settings from the same seed
    events.extra["candidate"] = np.flatnonzero(ok).astype(np.int64)
    slices = drawn["hits"] > 0
    evt, subevt = _readouts(ok[slices], rng)
    events.meta["evt"], events.meta["subevt"] = evt.astype(np.uint32), subevt.astype(np.uint16)
    report = Generation(written=n, candidates=len(ok),
                        status_counts=tuple(int(c) for c in np.bincount(drawn["status"], minlength=N_STATUS)),
                        stream_probabilities=tuple(float(p) for p in packed.rates.probabilities))
    return events, report


def _events(maps, info, channel, mode, anti, energy, parent_u, cfg, file_number) -> Events:
    n = len(maps)
    unknown = channel == kin.CHANNEL_OTHER
    tracks = info[:, kin.INFO_TRACKS].astype(np.int64)
    showers = info[:, kin.INFO_SHOWERS].astype(np.int64)
    finalstate, prong = _final_states(channel, anti, tracks, showers)
    nuenergy = info[:, kin.INFO_NUENERGY]
    x, y, z = info[:, kin.INFO_VTX_X], info[:, kin.INFO_VTX_Y], info[:, kin.INFO_VTX_Z]
    meta = {
        "run": np.full(n, 12052 + file_number, np.uint32),
        "subrun": np.zeros(n, np.uint32),
        "cycle": np.zeros(n, np.int32),
        "rec.training.trainingdata_idx": np.arange(n, dtype=np.uint32),
        "interaction": _interaction_codes(channel, mode),
        "finalstate": finalstate,
        "finalstateprong": prong,
        "parent": _parents(channel, energy, parent_u, cfg),
        "nuenergy": np.where(unknown, 0.0, nuenergy).astype(np.float32),
        "lepenergy": np.where(unknown, 0.0, info[:, kin.INFO_LEPENERGY]).astype(np.float32),
        "vtxx": x,
        "vtxy": y,
        "vtxz": z,
    }
    extra = {
        "true_nuenergy": nuenergy.astype(np.float32),
        "mode": mode.astype(np.uint8),
        "antineutrino": anti.astype(np.uint8),
        "n_tracks": tracks.astype(np.uint8),
        "n_showers": showers.astype(np.uint8),
        "visible_energy": info[:, kin.INFO_VISIBLE_GEV].astype(np.float32),
        "hadronic_w": info[:, kin.INFO_W].astype(np.float32),
        "q2": info[:, kin.INFO_Q2].astype(np.float32),
        "location": vertex_location(meta).astype(np.uint8),  # labels.truth.LOCATIONS
        "stream": info[:, kin.INFO_STREAM].astype(np.uint8),
        "slice_hits": info[:, kin.INFO_HITS].astype(np.uint16),
        "first_plane": info[:, kin.INFO_FIRST_PLANE].astype(np.int16),
    }
    return Events(maps, meta, extra=extra)


def simulate_at(n: int, interaction: int, energy: float, vertex, seed: int = 0,
                config: SimConfig | None = None, antineutrino: bool = False) -> tuple[Events, np.ndarray]:
    """`n` interactions of one NOvA code at `energy` GeV and `vertex` (x, y, z cm), for studies and tests.

    Returns the written events (those whose slice passes the cut, in order) and every candidate's
    status (the kernel's STATUS_* codes). NC events take modes from the energy's mode fractions.
    """
    cfg = config or SimConfig()
    packed = _packed(cfg)
    rng = np.random.default_rng(seed)
    code = int(Interaction(interaction))
    energies = np.full(n, float(energy))
    if code <= 7:
        channel = np.full(n, kin.CHANNEL_NUMU_CC if code <= 3 else kin.CHANNEL_NUE_CC)
        mode = np.full(n, code % 4)
    else:
        channel = np.full(n, {14: kin.CHANNEL_COSMIC, 15: kin.CHANNEL_OTHER}.get(code, kin.CHANNEL_NC))
        mode = _sample_modes(energies, rng, cfg)
    anti = np.full(n, int(antineutrino), np.int64)
    maps = np.zeros((n, 2, 100, 80), np.uint8)
    info = np.zeros((n, kin.N_INFO))
    status = np.full(n, -1, np.int64)
    done, _ = simulate_block(int(rng.integers(2**31 - 1)), 0, energies, channel, mode, anti,
                             np.full(n, STREAM_FIXED), np.tile(np.asarray(vertex, float), (n, 1)),
                             packed.geometry, packed.slots, packed.materials, packed.physics, packed.response,
                             packed.rates.vertex, packed.rates.range_t, packed.rates.range_cm, maps, info,
                             status, np.zeros(n, np.int64))
    ok = status == STATUS_WRITTEN
    events = _events(maps[:done], info[:done], channel[ok], mode[ok], anti[ok], energies[ok],
                     rng.random(n)[ok], cfg, 1)
    return events, status


def simulate_particle(kind: int, kinetic_gev: float, position, direction, seed: int = 0,
                      config: SimConfig | None = None) -> tuple[np.ndarray, int, int, np.ndarray]:
    """One particle (a sim.constants species) through the geometry and the readout, for tests and studies.

    Returns its map (2, 100, 80) uint8 (empty if the slice fails the cut), the slice's hit count, the
    map's first detector plane (−1 if none), and the particle stack afterwards (kind, kinetic GeV,
    x, y, z cm, direction, primary flag per row).
    """
    packed = _packed(config or SimConfig())
    out = np.zeros((2, 100, 80), np.uint8)
    d = np.asarray(direction, float)
    n_hits, _, first, stack, n = inject(seed, kind, float(kinetic_gev), np.asarray(position, float),
                                    d / np.linalg.norm(d), packed.geometry, packed.slots, packed.materials,
                                    packed.physics, packed.response, out)
    return out, int(n_hits), int(first), stack[:n].copy()


def simulate_events(n: int, seed: int = 0, config: SimConfig | None = None, file_number: int = 1) -> Events:
    """Simulate `n` written NOvA-like events: maps (n, 2, 100, 80) uint8, the real files' truth, extra truth.

    The same (n, seed, config, file_number) gives the same arrays.
    """
    return generate(n, seed, config, file_number)[0]


def _simulate_one_file(path: Path, n: int, seed: int, cfg: SimConfig, file_number: int) -> Path:
    from nuclass.io.nova_h5 import write_file

    return write_file(path, simulate_events(n, seed, cfg, file_number))

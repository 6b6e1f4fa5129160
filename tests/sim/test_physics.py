"""Physics properties of the simulator, checked on a few hundred events each."""

from __future__ import annotations

import numpy as np
import pytest

from nuclass.labels import Interaction
from nuclass.sim import SimConfig, simulate_events
from nuclass.sim import detector as det
from nuclass.sim.generate import mode_fractions


def render(channel: int, mode: int, energy: float, n: int = 60, seed: int = 1, cfg: SimConfig | None = None):
    """Events of one channel and mode at a fixed energy, vertex 10 m into the detector on its axis."""
    cfg = cfg or SimConfig()
    maps = np.zeros((n, 2, 100, 80), np.uint8)
    info = np.zeros((n, det.N_INFO))
    vertex = np.tile([0.0, 0.0, 1000.0], (n, 1))
    det.render_events(seed, np.full(n, energy), np.full(n, channel), np.full(n, mode), np.zeros(n, np.int64),
                      vertex, det.pack_params(cfg), maps, info)
    return maps, info


def lit_rows(maps: np.ndarray) -> np.ndarray:
    """Index of the last lit row + 1 (the event's length in rows), per event."""
    rows = (maps > 0).any(axis=(1, 3))
    return np.where(rows.any(1), 100 - np.argmax(rows[:, ::-1], axis=1), 0)


@pytest.fixture(scope="module")
def sample():
    return simulate_events(3000, seed=11)


def test_muon_range_per_gev_matches_csda():
    """Integrating the Bethe dE/dx over a 1 GeV muon gives the CSDA range in scintillator, ≈ 4.7–4.8 m."""
    kinetic, distance, step = 1.0, 0.0, 1.0
    while kinetic > 0.001:
        kinetic -= det._dedx_mev_cm(kinetic, det.MASS[det.MU]) * step / 1000.0
        distance += step
    assert distance == pytest.approx(475, rel=0.08)
    assert det._dedx_mev_cm(0.3, det.MASS[det.MU]) == pytest.approx(2.0, abs=0.25)  # near minimum ionising
    assert (det._dedx_mev_cm(0.02, det.MASS[det.PROTON])
            > 10 * det._dedx_mev_cm(1.0, det.MASS[det.MU]))  # Bragg


def test_muon_track_length_grows_with_energy():
    lengths = [np.median(lit_rows(render(det.CHANNEL_NUMU_CC, det.MODE_QE, e)[0])) for e in (1.0, 2.0, 4.0)]
    assert lengths[0] < lengths[1] < lengths[2]
    # ≈ 4.7 m per GeV over 26.6 cm rows: a 1 GeV QE muon (T ≈ 0.75 GeV) spans ≈ 13 rows
    assert 8 <= lengths[0] <= 22


def test_nc_events_have_no_long_muon_like_track():
    """Beyond the hadronic shower (row 30, ≈ 8 m) a νμ CC muon lights row after row; NC leaves stray hits."""

    def rows_lit_beyond_30(maps):
        return (maps > 0).any(axis=(1, 3))[:, 30:].sum(axis=1)

    cc = rows_lit_beyond_30(render(det.CHANNEL_NUMU_CC, det.MODE_DIS, 8.0, n=100)[0])
    nc = rows_lit_beyond_30(render(det.CHANNEL_NC, det.MODE_DIS, 8.0, n=100)[0])
    assert np.mean(cc >= 15) > 0.6
    assert np.mean(nc >= 15) < 0.05


def test_em_showers_are_wider_per_plane_than_muon_tracks():
    def cells_per_row(maps):
        lit = maps > 0
        per_row = lit.sum(axis=3)  # (n, view, row)
        return per_row[per_row > 0].mean()

    electrons = cells_per_row(render(det.CHANNEL_NUE_CC, det.MODE_QE, 3.0)[0])
    muons = cells_per_row(render(det.CHANNEL_NUMU_CC, det.MODE_QE, 3.0)[0])
    assert electrons > 1.5 * muons
    assert muons < 2.0  # a track is 1–2 cells wide per plane


def test_shower_hits_are_mostly_faint_around_a_bright_core():
    """Real displays: shower hits sit at ≈ 0.1–0.2 of the view's brightest pixel, track hits near half."""
    def median_over_max(maps):
        ratios = [np.median(v[v > 0]) / v.max() for v in maps.reshape(-1, 100, 80) if (v > 0).sum() >= 5]
        return np.median(ratios)

    electrons = median_over_max(render(det.CHANNEL_NUE_CC, det.MODE_QE, 6.0)[0])
    muons = median_over_max(render(det.CHANNEL_NUMU_CC, det.MODE_QE, 2.0)[0])
    assert 0.1 <= electrons <= 0.3
    assert muons > 1.5 * electrons


def test_electron_showers_have_a_halo_beyond_a_moliere_radius():
    """The lateral profile has a tail (Grindhammer form): ≈ 10–30 % of the energy lies beyond 1 R_M,
    and a shower's energy keeps coming in pieces (sub-showers), not one smooth blob."""
    cfg = SimConfig()
    params = det.pack_params(cfg)
    np.random.seed(3)
    outside = []
    for _ in range(100):
        stack = np.zeros((det.MAX_PARTICLES, 9))
        det._push(stack, 0, det.ELECTRON, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0)
        buf_e = np.zeros((2, det.BUF_ROWS, det.BUF_COLS))
        buf_pe = np.zeros_like(buf_e)
        bbox = np.array([det.BUF_ROWS, -1, det.BUF_COLS, -1] * 2)
        det._shower(stack, 0, buf_e, buf_pe, bbox, np.array([0.0, 0.0, 1000.0]), params, True)
        cells = buf_e.sum(axis=1)  # (view, cell)
        centre = (np.arange(det.BUF_COLS) - det.COL_VERTEX + 0.5) * cfg.cell_width_cm
        outside.append(cells[:, np.abs(centre) > cfg.moliere_radius_cm].sum() / cells.sum())
    assert 0.1 <= np.mean(outside) <= 0.3


def test_hadronic_interactions_leave_slow_nuclear_protons():
    """A 1 GeV pion interacting inelastically breaks the nucleus: slow protons (tens of MeV) appear."""
    np.random.seed(4)
    slow = []
    for _ in range(300):
        stack = np.zeros((det.MAX_PARTICLES, 9))
        n = det._hadronic_interaction(stack, 0, det.PION, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
        kinds, kinetic = stack[:n, 0].astype(int), stack[:n, 1]
        slow.append(((kinds == det.PROTON) & (kinetic < 0.06)).sum())
        assert kinetic.sum() <= 1.0  # energy is not created
    assert 0.5 < np.mean(slow) < 2.0


def shower_depth_profile(kind: int, energy_gev: float, n: int = 200) -> np.ndarray:
    """Energy-weighted mean depth (cm) of the deposits of n showers started at the origin along z."""
    cfg = SimConfig()
    params = det.pack_params(cfg)
    np.random.seed(5)
    depths = []
    for _ in range(n):
        stack = np.zeros((det.MAX_PARTICLES, 9))
        det._push(stack, 0, kind, energy_gev, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0)
        buf_e = np.zeros((2, det.BUF_ROWS, det.BUF_COLS))
        buf_pe = np.zeros_like(buf_e)
        bbox = np.array([det.BUF_ROWS, -1, det.BUF_COLS, -1] * 2)
        det._shower(stack, 0, buf_e, buf_pe, bbox, np.array([0.0, 0.0, 1000.0]), params, True)
        rows = buf_e.sum(axis=(0, 2))
        centre = (np.arange(det.BUF_ROWS) - det.ROWS_BEFORE + 0.5) * cfg.row_depth_cm
        depths.append((rows * centre).sum() / rows.sum())
    return np.array(depths)


def test_photon_showers_start_a_conversion_gap_after_electron_showers():
    """A photon converts after an exponential gap of mean 9/7 X0 (≈ 49 cm); an electron showers at once."""
    electron = shower_depth_profile(det.ELECTRON, 1.0)
    photon = shower_depth_profile(det.GAMMA, 1.0)
    gap = photon.mean() - electron.mean()
    # the γ profile also peaks 1 X0 later (t_max = ln(E/Ec) + 0.5 instead of − 0.5)
    assert gap == pytest.approx(9 / 7 * 38 + 38, rel=0.25)
    assert photon.std() > electron.std()  # the gap fluctuates event to event


def test_total_charge_grows_with_visible_energy():
    low = render(det.CHANNEL_NC, det.MODE_DIS, 3.0)[0].sum(axis=(1, 2, 3), dtype=np.int64)
    high = render(det.CHANNEL_NC, det.MODE_DIS, 20.0)[0].sum(axis=(1, 2, 3), dtype=np.int64)
    assert np.median(high) > 2.5 * np.median(low)


def test_composition_and_spectrum_match_the_real_files(sample):
    code = sample.meta["interaction"]
    e = sample.meta["nuenergy"]
    assert np.isin(code, range(4)).mean() == pytest.approx(0.882, abs=0.02)
    assert np.isin(code, range(4, 8)).mean() == pytest.approx(0.0123, abs=0.006)
    assert np.isin(code, (12, 13)).mean() == pytest.approx(0.099, abs=0.02)
    assert np.isin(code, range(8, 12)).sum() == 0  # no ντ in the teaching files
    within_numu = np.bincount(code[code < 4], minlength=4) / (code < 4).sum()
    assert within_numu == pytest.approx([0.142, 0.215, 0.612, 0.031], abs=0.03)
    pos = e[e > 0]
    assert np.median(pos) == pytest.approx(8.72, abs=1.0)
    assert (pos <= 3.5).mean() == pytest.approx(0.356, abs=0.03)
    assert np.median(sample.meta["lepenergy"][e > 0]) == pytest.approx(3.24, abs=0.6)


def test_energy_deciles_match_the_real_files(sample):
    """Both spectra decile by decile (reference/real-dataset.md): the soft-lepton tail sets how many νμ CC
    events show only a short muon, the ones hardest to tell from NC."""
    e = sample.meta["nuenergy"]
    deciles = np.arange(1, 10) / 10
    real_nu = [1.80, 2.24, 2.79, 4.69, 8.72, 11.78, 14.34, 17.93, 24.37]
    real_lep = [0.71, 1.17, 1.59, 2.13, 3.24, 5.32, 7.81, 10.80, 15.45]
    # the share below each real decile, not the decile values (noisy where the spectrum is flat, 4–9 GeV);
    # binomial error ≈ 0.009 at 3,000 events, and the simulated lepton spectrum is ≈ 0.02 harder at 1.6 GeV
    below_nu = (e[e > 0][:, None] < real_nu).mean(axis=0)
    below_lep = (sample.meta["lepenergy"][e > 0][:, None] < real_lep).mean(axis=0)
    assert below_nu == pytest.approx(deciles, abs=0.04)
    assert below_lep == pytest.approx(deciles, abs=0.04)


def test_qe_share_falls_with_energy():
    p = mode_fractions(np.array([1.0, 2.0, 5.0, 20.0]), SimConfig())
    assert np.all(np.diff(p[:, 0]) < 0) and np.all(np.diff(p[:, 2]) > 0)
    assert p.sum(axis=1) == pytest.approx(1.0)


def test_truth_is_consistent(sample):
    m = sample.meta
    pos = m["nuenergy"] > 0
    assert np.all(m["lepenergy"][pos] <= m["nuenergy"][pos] * 1.0001)
    unknown = m["interaction"] == Interaction.kOther
    assert np.all(m["nuenergy"][unknown] == 0) and np.all(m["lepenergy"][unknown] == 0)
    fs, code = m["finalstate"], m["interaction"]
    numu, nue, nc = code < 4, (code >= 4) & (code < 8), code == Interaction.kNC
    assert np.all((fs[numu] < 16) | (fs[numu] == 49))
    assert np.all(((fs[nue] >= 16) & (fs[nue] < 32)) | (fs[nue] == 49))
    assert np.all((fs[nc] >= 32) & (fs[nc] < 48))
    # a νμ CC event always shows its muon: at least one track in its final state
    fs_numu = fs[numu & (fs < 16)]
    assert np.all(fs_numu // 4 >= 1)


def test_maps_look_like_the_teaching_files(sample):
    maps = sample.maps
    lit = maps > 0
    per_view = lit.sum(axis=(2, 3))
    assert (per_view > 0).all(axis=1).mean() > 0.95  # both views lit
    assert 40 <= np.median(per_view) <= 200  # displays: 20–300 lit pixels per view
    rows = lit.any(axis=(1, 3))
    assert (np.argmax(rows, axis=1) <= 3).mean() > 0.97  # activity starts at the first planes
    assert lit.any(axis=(1, 2, 3)).all()  # never an empty event
    values = maps[lit]
    assert len(np.unique(values)) > 200  # continuous charge
    assert 0 < (values == 255).mean() < 0.05  # rare saturation
    # the event sits near the middle cell, as in the real displays (≈ 35–46)
    cells = lit.any(axis=2)  # (n, view, cell)
    centre = np.array([np.median(np.flatnonzero(c)) for c in cells.reshape(-1, 80) if c.any()])
    assert 33 <= np.median(centre) <= 47


def test_same_seed_same_arrays():
    a = simulate_events(50, seed=3)
    b = simulate_events(50, seed=3)
    c = simulate_events(50, seed=4)
    assert np.array_equal(a.maps, b.maps)
    assert all(np.array_equal(a.meta[k], b.meta[k]) for k in a.meta)
    assert not np.array_equal(a.maps, c.maps)


def test_config_rejects_unknown_keys():
    from nuclass.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown simulator keys.*row_depth_cm"):
        SimConfig.from_dict({"row_depth": 13.3})
    assert SimConfig.from_dict({"row_depth_cm": 13.3}).row_depth_cm == 13.3

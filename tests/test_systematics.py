"""Systematics: the catalogue loads and every variation builds a valid simulator configuration, a variation
changes what it says on the same interactions, the paired error by hand, the totals, and a tiny run end to
end (library with a fake model, CLI with a trained one)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nuclass.cli import app
from nuclass.errors import ConfigError
from nuclass.labels import get_task
from nuclass.sim import SimConfig, simulate_events
from nuclass.systematics import load_catalogue, select_variations
from nuclass.systematics.catalogue import read_variations
from nuclass.systematics.paired import bootstrap_weights, headline_metrics, shift, weighted_roc_auc
from nuclass.systematics.run import Sample, compare_samples
from nuclass.systematics.totals import combine

runner = CliRunner()
GROUPS = {"detector response", "physics", "event mix", "extremes"}


def test_the_catalogue_loads_and_every_variation_builds_a_valid_config() -> None:
    catalogue = load_catalogue()
    names = [v.name for v in catalogue]
    assert len(names) == len(set(names)) >= 20
    assert {v.group for v in catalogue} == GROUPS
    assert {v.group for v in catalogue if not v.in_total} == {"extremes"}
    nominal = SimConfig()
    for v in catalogue:
        assert v.size and len(v.reason) > 10, v.name
        if not v.simulates:
            assert v.reweight and v.group == "event mix"
            continue
        cfg = v.config(nominal)
        assert cfg != nominal, v.name
        for key, factor in v.scale.items():
            assert getattr(cfg, key) == pytest.approx(getattr(nominal, key) * factor), (v.name, key)
    by = {v.name: v for v in catalogue}
    assert by["energy-scale-up"].config(nominal).energy_scale == pytest.approx(1.05)
    assert by["pileup-none"].config(nominal).pileup_hits_per_plane == 0.0
    assert by["fd-like"].config(nominal).cells == 384
    assert by["rock-share-up"].describe()["change"] == {
        "reweight": [{"where": "location == 2", "weight": 1.25}]
    }


def test_variations_are_chosen_by_name_systematic_group_or_file(tmp_path: Path) -> None:
    assert [v.name for v in select_variations(["energy-scale"])] == ["energy-scale-up", "energy-scale-down"]
    assert {v.group for v in select_variations(["mix"])} == {"event mix"}
    assert len(select_variations(None)) == len(load_catalogue())
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "group: mine\nvariations:\n"
        "  birks-up: {scale: {birks_cm_per_mev: 1.5}, size: +50 %, reason: why not}\n"
    )
    (v,) = select_variations([str(mine)])
    assert (v.name, v.group, v.in_total) == ("birks-up", "mine", True)
    assert v.config(SimConfig()).birks_cm_per_mev == pytest.approx(0.015)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("variations: {a: {scale: {energy_scal: 1.05}}}", "unknown simulator keys"),
        ("variations: {a: {scale: {energy_scale: -1}}}", "energy_scale must be > 0"),
        ("variations: {a: {scale: {energy_scale: 1.1}, colour: red}}", "unknown key(s) colour"),
        ("variations: {a: {reweight: [{where: 'nuenergy >', weight: 2}]}}", "variation a"),
        ("variations: {a: {}}", "give either a change of the simulation"),
        ("variations: [1, 2]", "expected a mapping with 'variations'"),
        ("variations: {a: {scale: [", "not valid YAML"),
    ],
)
def test_a_bad_variations_file_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r".*") as info:
        read_variations(path)
    assert message in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_an_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="unknown variation 'energy-scael'.*energy-scale-up"):
        select_variations(["energy-scael"])


def _paired(a, b):
    common, ia, ib = np.intersect1d(a.extra["candidate"], b.extra["candidate"], return_indices=True)
    return common, ia, ib


def test_energy_scale_moves_the_charge_of_the_same_interactions_by_5_percent() -> None:
    (up,) = [v for v in load_catalogue() if v.name == "energy-scale-up"]
    nominal = simulate_events(300, seed=4, file_number=100_001)
    varied = simulate_events(300, seed=4, config=up.config(SimConfig()), file_number=100_001)
    common, ia, ib = _paired(nominal, varied)
    assert len(common) == 300  # the hits do not change, so every slice passes in both
    for key in ("interaction", "nuenergy", "vtxx", "vtxz"):
        np.testing.assert_array_equal(nominal.meta[key][ia], varied.meta[key][ib])
    ratio = varied.extra["visible_energy"][ib] / nominal.extra["visible_energy"][ia]
    np.testing.assert_allclose(ratio, 1.05, rtol=1e-5)  # calibrated energy: exactly the stated 5 %
    charge = lambda ev, i: ev.maps[i].reshape(len(i), -1).sum(axis=1).astype(float)  # noqa: E731
    total = charge(varied, ib).sum() / charge(nominal, ia).sum()
    assert total == pytest.approx(1.05, abs=0.006)  # pixels: ceil(E / 1.089 MeV), capped at 255
    assert np.array_equal((varied.maps[ib] > 0), (nominal.maps[ia] > 0))  # the same pixels lit


def test_light_yield_changes_which_slices_pass_but_not_the_interactions() -> None:
    (down,) = [v for v in load_catalogue() if v.name == "light-yield-down"]
    nominal = simulate_events(400, seed=5, file_number=100_001)
    varied = simulate_events(400, seed=5, config=down.config(SimConfig()), file_number=100_001)
    common, ia, ib = _paired(nominal, varied)
    assert 0.9 * 400 < len(common) < 400  # a few slices cross the 15-hit cut
    np.testing.assert_array_equal(nominal.meta["nuenergy"][ia], varied.meta["nuenergy"][ib])
    assert varied.extra["slice_hits"][ib].mean() < nominal.extra["slice_hits"][ia].mean()


def _sample(key, target, score, **truth) -> Sample:
    n = len(key)
    truth = {k: np.zeros(n) for k in ("interaction", "nuenergy", "vtxx", "vtxy", "vtxz")} | truth
    return Sample(
        np.asarray(key, np.int64),
        np.asarray(target),
        np.asarray(score, float),
        truth,
        np.array([max(key)]),
        n,
    )


def test_the_paired_error_of_an_efficiency_shift_by_hand() -> None:
    """1,000 signal events; 60 leave the selection and 20 join it in the varied sample: Δε = −0.04, and
    the paired error is that of the mean of d ∈ {−1, 0, +1}: sqrt((n₋ + n₊)/n − Δε²) / sqrt(n)."""
    task = get_task("numu-cc")
    n, lost, gained = 1000, 60, 20
    score_nom = np.r_[np.full(500, 0.9), np.full(500, 0.1)]
    score_var = score_nom.copy()
    score_var[:lost] = 0.1  # selected before, not now
    score_var[500 : 500 + gained] = 0.9
    key, target = np.arange(n), np.ones(n, int)
    target[-100:] = 0  # some background so that the ROC AUC is defined (never selected: score 0.1)
    result = compare_samples(
        task, _sample(key, target, score_nom), _sample(key, target, score_var), cut=0.5, n_boot=4000, seed=1
    )
    eff = result["metrics"]["efficiency"]
    n_sig = 900
    assert eff["shift"] == pytest.approx((gained - lost) / n_sig)
    delta = (gained - lost) / n_sig
    expected = math.sqrt(((lost + gained) / n_sig - delta**2) / n_sig)
    assert eff["shift_err"] == pytest.approx(expected, rel=0.05)
    assert eff["significant"] and eff["sigma"] == pytest.approx(abs(delta) / eff["shift_err"])
    assert result["pairing"] == {
        "paired": True,
        "how": result["pairing"]["how"],
        "shared": 1000,
        "only_nominal": 0,
        "only_varied": 0,
        "dropped_past_common_range": 0,
    }
    # the same samples unpaired (independent draws): the binomial errors of both add instead
    w_a, w_b = bootstrap_weights(key, key, 4000, seed=2, paired=False)
    unpaired = shift(
        headline_metrics(task, target, score_nom, w_a, 0.5)["efficiency"],
        headline_metrics(task, target, score_var, w_b, 0.5)["efficiency"],
    )
    p_a, p_b = 500 / n_sig, (500 - lost + gained) / n_sig
    binomial = math.sqrt(p_a * (1 - p_a) / n_sig + p_b * (1 - p_b) / n_sig)
    assert unpaired["shift_err"] == pytest.approx(binomial, rel=0.06)
    assert unpaired["shift_err"] > 2 * eff["shift_err"]


def test_events_in_one_sample_only_and_past_the_common_range() -> None:
    task = get_task("numu-cc")
    nom = _sample([0, 1, 2, 3, 5, 9], [1, 0, 1, 0, 1, 1], [0.9, 0.2, 0.8, 0.3, 0.7, 0.6])
    var = _sample([0, 1, 2, 4, 5, 7], [1, 0, 1, 0, 1, 1], [0.9, 0.2, 0.4, 0.3, 0.7, 0.6])
    result = compare_samples(
        task, nom, dataclasses.replace(var, last_candidate=np.array([7])), cut=0.5, n_boot=50
    )
    # candidate 9 lies past candidate 7, the last the varied sample reached: dropped from the comparison
    assert result["pairing"] | {"how": ""} == {
        "paired": True,
        "how": "",
        "shared": 4,
        "only_nominal": 1,
        "only_varied": 2,
        "dropped_past_common_range": 1,
    }
    assert result["metrics"]["efficiency"]["shift"] == pytest.approx(3 / 4 - 3 / 3)
    other = _sample(
        [0, 1, 2, 4, 5, 7], [1, 0, 1, 0, 1, 1], [0.9, 0.2, 0.4, 0.3, 0.7, 0.6], nuenergy=np.ones(6)
    )
    assert not compare_samples(task, nom, other, cut=0.5, n_boot=50)["pairing"]["paired"]


def test_weighted_roc_auc_and_reweighting() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.random(500) < 0.4
    s = np.round(rng.random(500) * 0.6 + 0.3 * y, 2)  # ties on purpose
    w = np.vstack([np.ones(500), rng.poisson(1.0, (2, 500))])
    np.testing.assert_allclose(weighted_roc_auc(w, y, s), [roc_auc_score(y, s, sample_weight=x) for x in w])
    task = get_task("numu-cc")
    nom = _sample(np.arange(4), [1, 1, 0, 0], [0.9, 0.2, 0.8, 0.1], vtxx=np.array([0.0, 0.0, 0.0, 900.0]))
    weights = np.array([1.0, 1.0, 1.0, 3.0])  # the last event (outside the detector) counts 3 times
    result = compare_samples(task, nom, nom, cut=0.5, weights=weights, n_boot=50)
    assert result["metrics"]["purity"]["shift"] == 0.0  # the reweighted event is not selected
    # background correctly rejected: 1 of 2 events, then 3 of 4 counts; signal recall stays 1/2
    assert result["metrics"]["balanced_accuracy"]["shift"] == pytest.approx((0.5 + 0.75) / 2 - 0.5)
    (rock,) = [v for v in load_catalogue() if v.name == "rock-share-up"]
    np.testing.assert_array_equal(rock.weights(nom.truth), [1, 1, 1, 1.25])


def test_totals_take_the_largest_shift_of_each_systematic_in_quadrature() -> None:
    def variation(name, systematic, group, delta, in_total=True):
        return {
            "name": name,
            "systematic": systematic,
            "group": group,
            "in_total": in_total,
            "metrics": {"efficiency": {"shift": delta, "shift_err": 0.001, "significant": True}},
        }

    variations = [
        variation("a-up", "a", "detector response", 0.03),
        variation("a-down", "a", "detector response", -0.04),
        variation("b", "b", "physics", 0.012),
        variation("c", "c", "event mix", -0.009),
        variation("x", "x", "extremes", 0.5, in_total=False),
    ]
    (total,) = combine(["efficiency"], {"efficiency": {"value": 0.9, "stat": 0.01}}, variations).values()
    assert total["syst"] == pytest.approx(math.sqrt(0.04**2 + 0.012**2 + 0.009**2))
    assert total["groups"] == pytest.approx({"detector response": 0.04, "physics": 0.012, "event mix": 0.009})
    assert [c["systematic"] for c in total["contributions"]] == ["a", "b", "c"]
    assert total["contributions"][0]["variation"] == "a-down"
    assert [c["systematic"] for c in total["extremes"]] == ["x"]
    assert total["syst_noise"] == pytest.approx(math.sqrt(3) * 0.001)


class _ChargeModel:
    """A fake network for numu-cc taking raw charge: P(νμ CC) grows with the event's total charge."""

    def predict(self, maps):
        charge = maps.astype(np.float64).sum(axis=(1, 2, 3))
        return {"numu-cc": (1.0 / (1.0 + np.exp(-(charge - 600.0) / 150.0)))[:, None].astype(np.float32)}


def test_a_run_with_a_fake_model_sees_the_energy_scale(tmp_path: Path) -> None:
    from nuclass.systematics import ModelSource, run_systematics

    model = ModelSource("charge", _ChargeModel(), get_task("numu-cc"), {"model": "charge"})
    chosen = select_variations(["energy-scale-up", "rock-share-up", "fd-like"])
    result = run_systematics(model, tmp_path / "s", chosen, n_events=600, n_boot=30)
    by = {v["name"]: v for v in result["variations"]}
    # the same interactions with 5 % more charge: every shared event scores at least as high
    nominal, up = (np.load(tmp_path / "s" / "samples" / f"{n}.npz") for n in ("nominal", "energy-scale-up"))
    shared, i, j = np.intersect1d(nominal["key"], up["key"], return_indices=True)
    assert len(shared) == len(nominal["key"]) == len(up["key"])
    assert np.all(up["score"][j] >= nominal["score"][i]) and up["score"].mean() > nominal["score"].mean()
    assert by["energy-scale-up"]["metrics"]["efficiency"]["shift"] >= 0
    assert by["energy-scale-up"]["pairing"]["paired"] and by["rock-share-up"]["pairing"]["paired"]
    fd = by["fd-like"]["pairing"]
    assert not fd["paired"] and fd["shared"] == fd["dropped_past_common_range"] == 0
    assert fd["only_nominal"] == result["nominal"]["n_events"]  # all of it: independent samples
    totals = result["totals"]["efficiency"]
    assert {c["systematic"] for c in totals["contributions"]} == {"energy scale", "rock share"}
    assert totals["sentence"].startswith("charge on numu-cc: efficiency at the efficiency × purity cut")
    on_disk = json.loads((tmp_path / "s" / "systematics.json").read_text())
    assert on_disk["metrics"] == ["efficiency", "purity", "roc_auc", "balanced_accuracy"]
    assert all((tmp_path / "s" / p).is_file() for p in on_disk["figures"].values())
    assert (tmp_path / "s" / "samples" / "energy-scale-up.npz").is_file()


def test_systematics_end_to_end_through_the_cli(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "syst"
    args = [
        "systematics",
        str(run_dir),
        "--out",
        str(out),
        "--events",
        "400",
        "--bootstrap",
        "20",
        "--threads",
        "1",
        "--variants",
        "pileup-double,rock-share",
        "--variants",
        "pixel-scale-half",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "seed-multiview on numu-cc: efficiency at the efficiency × purity cut" in result.output
    saved = json.loads((out / "systematics.json").read_text())
    names = [v["name"] for v in saved["variations"]]
    assert names == ["pileup-double", "rock-share-up", "rock-share-down", "pixel-scale-half"]
    assert saved["model"]["nominal_config_from"].startswith("the simulator's defaults")  # no manifest
    html = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(run_dir), str(out), "--out", str(html)])
    assert result.exit_code == 0, result.output
    page = html.read_text()
    assert "Systematics: seed-multiview on numu-cc" in page and "Tornado plots" in page
    assert "data:image/png;base64" in page and "(syst)" in page


@pytest.mark.parametrize("variants", ["energy-scael", "missing.yaml"])
def test_a_bad_variant_exits_2_with_one_line(run_dir: Path, tmp_path: Path, variants: str) -> None:
    result = runner.invoke(
        app, ["systematics", str(run_dir), "--out", str(tmp_path / "s"), "--variants", variants]
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nuclass systematics: error:") and variants in lines[0]
    assert not (tmp_path / "s").exists()


def test_the_command_line_defaults_are_the_library_defaults() -> None:
    import inspect

    from nuclass.cli_systematics import systematics
    from nuclass.systematics.paired import DEFAULT_BOOTSTRAP
    from nuclass.systematics.run import DEFAULT_EVENTS, DEFAULT_SEED

    defaults = {k: p.default for k, p in inspect.signature(systematics).parameters.items()}
    assert (defaults["events"], defaults["seed"], defaults["bootstrap"]) == (
        DEFAULT_EVENTS,
        DEFAULT_SEED,
        DEFAULT_BOOTSTRAP,
    )

"""Label rules of DESIGN §2: every interaction code for every task, the enums, and the target transforms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nuclass.errors import ConfigError
from nuclass.labels import (
    N_FINALSTATES,
    N_INTERACTIONS,
    TASKS,
    FinalState,
    Interaction,
    final_state_code,
    flavour_index,
    get_task,
    mode_index,
)

CODES = np.arange(16)

# Expected class of interaction codes 0..15, written out by hand from DESIGN §2 (None = event not used).
EXPECTED = {
    #           0  1  2  3  4  5  6  7  8  9  10 11 12 13 14    15
    "numu-cc": [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    "nue-cc": [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    "flavour": [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2],
    "mode": [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 4, 4, None, None],
}


def _meta(interaction, nuenergy=None, lepenergy=None) -> dict[str, np.ndarray]:
    n = len(interaction)
    nu = np.full(n, 5.0, np.float32) if nuenergy is None else np.asarray(nuenergy, np.float32)
    lep = np.full(n, 2.0, np.float32) if lepenergy is None else np.asarray(lepenergy, np.float32)
    return {"interaction": np.asarray(interaction), "nuenergy": nu, "lepenergy": lep}


def test_tasks_are_the_six_of_the_design():
    assert list(TASKS) == ["numu-cc", "nue-cc", "flavour", "mode", "energy", "y"]
    kinds = [TASKS[t].kind for t in TASKS]
    assert kinds == ["binary", "binary", "multiclass", "multiclass", "regression", "regression"]
    assert TASKS["flavour"].n_outputs == 3
    assert TASKS["mode"].n_outputs == 5
    assert TASKS["numu-cc"].n_outputs == TASKS["energy"].n_outputs == 1
    assert TASKS["mode"].class_names == ("QE", "RES", "DIS", "other CC", "NC")


@pytest.mark.parametrize("name", list(EXPECTED))
@pytest.mark.parametrize("code", CODES.tolist())
def test_every_interaction_code_for_every_classification_task(name, code):
    task = get_task(name)
    mask, target = task.labels(_meta([code]))
    expected = EXPECTED[name][code]
    if expected is None:
        assert not mask[0] and len(target) == 0
    else:
        assert mask[0]
        assert target.dtype == np.int64
        assert target.tolist() == [expected]


@pytest.mark.parametrize("name", ["energy", "y"])
@pytest.mark.parametrize("code", CODES.tolist())
def test_regression_tasks_use_every_code_with_positive_energy(name, code):
    nuenergy = [8.0, 0.0]  # code 15 events in the real files have nuenergy = lepenergy = 0
    lepenergy = [2.0, 0.0]
    mask, target = get_task(name).labels(_meta([code, code], nuenergy, lepenergy))
    assert mask.tolist() == [True, False]
    assert target.dtype == np.float32
    assert target.tolist() == pytest.approx([8.0 if name == "energy" else 0.25])


def test_all_codes_at_once_match_the_table():
    for name, expected in EXPECTED.items():
        mask, target = get_task(name).labels(_meta(CODES))
        used = [e is not None for e in expected]
        assert mask.tolist() == used
        assert target.tolist() == [e for e in expected if e is not None]


def test_y_is_lepton_over_neutrino_energy_and_may_exceed_one():
    mask, y = get_task("y").labels(_meta([0, 2, 13], [10.0, 4.0, 20.0], [9.5, 4.092, 0.0]))
    assert mask.all()
    assert y.tolist() == pytest.approx([0.95, 1.023, 0.0], rel=1e-6)


def test_interaction_enum_names_and_codes():
    assert N_INTERACTIONS == 16
    assert [m.name for m in Interaction] == [
        "kNumuQE", "kNumuRes", "kNumuDIS", "kNumuOther",
        "kNueQE", "kNueRes", "kNueDIS", "kNueOther",
        "kNutauQE", "kNutauRes", "kNutauDIS", "kNutauOther",
        "kNuElectronElastic", "kNC", "kCosmic", "kOther",
    ]  # fmt: skip
    assert [int(m) for m in Interaction] == list(range(16))
    assert "kNIntType" not in Interaction.__members__  # a vector size, not an event code


@pytest.mark.parametrize(
    "name, code",
    [
        ("kNumu0tr0sh", 0),
        ("kNumu0trMsh", 3),
        ("kNumu1tr0sh", 4),
        ("kNumuMtrMsh", 15),
        ("kNue0tr0sh", 16),
        ("kNue0trMsh", 19),
        ("kNue2tr1sh", 25),
        ("kNC0tr0sh", 32),
        ("kNC1tr2sh", 38),
        ("kNCMtrMsh", 47),
        ("kCosmicFS", 48),
        ("kOtherFS", 49),
    ],
)
def test_final_state_names_and_codes(name, code):
    assert FinalState[name] == code
    assert FinalState(code).name == name


def test_final_state_enum_is_complete_and_has_no_vector_size():
    assert N_FINALSTATES == 50
    assert [int(m) for m in FinalState] == list(range(50))
    assert "kNFStType" not in FinalState.__members__


def test_final_state_code_caps_counts_at_three():
    # flavour (0 νμ, 1 νe, 2 NC), tracks, showers -> code
    codes = final_state_code(np.array([0, 0, 1, 2, 2]), np.array([1, 7, 0, 3, 2]), np.array([0, 1, 5, 3, 0]))
    assert codes.tolist() == [FinalState.kNumu1tr0sh, FinalState.kNumuMtr1sh, FinalState.kNue0trMsh,
                              FinalState.kNCMtrMsh, FinalState.kNC2tr0sh]  # fmt: skip


@pytest.mark.parametrize("energy", [0.05, 1.0, 1.85, 8.72, 102.0])
def test_energy_transform_round_trips(energy):
    task = get_task("energy")
    net = task.to_network(np.array([energy], np.float32))
    assert net[0] == pytest.approx(np.log(energy), rel=1e-6, abs=1e-6)
    assert task.from_network(net)[0] == pytest.approx(energy, rel=1e-6)


def test_energy_transform_is_log_so_equal_ratios_are_equal_steps():
    task = get_task("energy")
    net = task.to_network(np.array([1.0, np.e, np.e**2], np.float32))
    assert net.tolist() == pytest.approx([0.0, 1.0, 2.0], abs=1e-6)
    back = task.from_network(np.array([0.0, 1.0], np.float32))
    assert back.tolist() == pytest.approx([1.0, np.e], rel=1e-6)


def test_y_transform_round_trips():
    task = get_task("y")
    y = np.array([0.0007, 0.3, 1.023], np.float32)
    assert task.from_network(task.to_network(y)).tolist() == pytest.approx(y.tolist())


def test_get_task_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError) as info:
        get_task("numu")
    message = str(info.value)
    assert "numu" in message
    for name in TASKS:
        assert name in message


@given(arrays(np.uint32, st.integers(1, 200), elements=st.integers(0, 15)))
def test_classification_tasks_agree_with_the_code_ranges(codes):
    meta = _meta(codes)
    _, numu = get_task("numu-cc").labels(meta)
    _, nue = get_task("nue-cc").labels(meta)
    _, flavour = get_task("flavour").labels(meta)
    mode_mask, mode = get_task("mode").labels(meta)
    assert np.array_equal(numu, codes <= 3)
    assert np.array_equal(nue, (codes >= 4) & (codes <= 7))
    assert np.array_equal(flavour == 0, numu == 1)
    assert np.array_equal(flavour == 1, nue == 1)
    assert np.array_equal(flavour == 2, codes >= 8)
    assert np.array_equal(flavour, flavour_index(codes))
    assert np.array_equal(mode_mask, codes <= 13)
    assert np.array_equal(mode, mode_index(codes)[mode_mask])
    # CC modes repeat every 4 codes; codes 12 and 13 are NC
    cc = codes[mode_mask] < 12
    assert np.array_equal(mode[cc], codes[mode_mask][cc] % 4)
    assert (mode[~cc] == 4).all()


@given(
    arrays(np.float32, st.integers(1, 100), elements=st.just(0.0) | st.floats(0.015625, 120, width=32)),
    st.floats(0, 1.02),
)
def test_regression_tasks_select_positive_energy(nuenergy, fraction):
    lepenergy = (nuenergy * np.float32(fraction)).astype(np.float32)
    meta = _meta(np.zeros(len(nuenergy), np.uint32), nuenergy, lepenergy)
    mask, energy = get_task("energy").labels(meta)
    y_mask, y = get_task("y").labels(meta)
    assert np.array_equal(mask, nuenergy > 0)
    assert np.array_equal(y_mask, mask)
    assert np.array_equal(energy, nuenergy[mask])
    assert np.all(np.isfinite(y))
    # y is stored as float32: ratios below its normal range (~1e-38) lose relative precision
    np.testing.assert_allclose(y, lepenergy[mask].astype(np.float64) / nuenergy[mask], rtol=1e-6, atol=1e-37)
    assert np.all(np.abs(y - fraction) <= 1e-6 * max(fraction, 1e-3) + 1e-7)


def test_the_truth_groupings_read_truth_that_predictions_keep():
    from nuclass.labels.groups import GROUPINGS, MODE_GROUPS
    from nuclass.labels.truth import ANALYSIS_TRUTH, KEPT_TRUTH, REQUIRED_TRUTH

    assert {f for g in GROUPINGS.values() for f in g.needs} <= set(KEPT_TRUTH)
    assert set(ANALYSIS_TRUTH) <= set(REQUIRED_TRUTH) <= set(KEPT_TRUTH)
    assert list(GROUPINGS) == ["nuenergy", "lepenergy", "interaction", "finalstate", "mode", "location",
                               "vtxz"]  # "by" keys
    codes = GROUPINGS["mode"].category_codes({"interaction": np.array([0, 5, 13, 14, 15])})
    assert [MODE_GROUPS[c] for c in codes] == ["QE", "RES", "NC", "cosmic & other", "cosmic & other"]

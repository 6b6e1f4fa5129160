"""The truth-selection grammar: property-based agreement with a per-event reference, set algebra, errors."""

from __future__ import annotations

import math
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nuclass.errors import ConfigError
from nuclass.labels import FinalState, Interaction
from nuclass.labels.selection import EventSelection, Selection, evaluate, fields_of, parse

N = 300
_rng = np.random.default_rng(7)
TRUTH = {
    "evt": np.arange(N, dtype=np.uint32),
    "interaction": _rng.integers(0, 16, N).astype(np.int32),
    "finalstate": _rng.integers(0, 50, N).astype(np.int32),
    "nuenergy": np.where(_rng.random(N) < 0.1, 0.0, _rng.lognormal(1.5, 0.8, N)).astype(np.float32),
}
TRUTH["lepenergy"] = (TRUTH["nuenergy"] * _rng.random(N)).astype(np.float32)
ROWS = [{k: v[i].item() for k, v in TRUTH.items()} for i in range(N)]
for row in ROWS:  # y as the reference computes it: NaN where the neutrino energy is 0
    row["y"] = row["lepenergy"] / row["nuenergy"] if row["nuenergy"] != 0 else math.nan

OPS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
NUMERIC = {
    "nuenergy": (0.0, 20.0),
    "lepenergy": (0.0, 10.0),
    "y": (0.0, 1.0),
    "evt": (0, N),
    "interaction": (0, 15),
    "finalstate": (0, 49),
}


def _number(field: str) -> st.SearchStrategy[float]:
    lo, hi = NUMERIC[field]
    if isinstance(lo, int):
        return st.integers(lo, hi).map(float)
    return st.floats(lo, hi, allow_nan=False).map(lambda x: round(x, 3))


@st.composite
def comparisons(draw):
    field = draw(st.sampled_from(sorted(NUMERIC)))
    op = draw(st.sampled_from(sorted(OPS)))
    value = draw(_number(field))
    # float32 columns compare against the float64 constant in numpy; do the same here
    return f"{field} {op} {value!r}", lambda r: OPS[op](
        np.float32(r[field]).item() if field in ("nuenergy", "lepenergy") else r[field], value
    )


@st.composite
def chains(draw):
    field = draw(st.sampled_from(["nuenergy", "lepenergy", "evt"]))
    lo, hi = sorted((draw(_number(field)), draw(_number(field))))
    op1, op2 = draw(st.sampled_from(["<", "<="])), draw(st.sampled_from(["<", "<="]))
    return f"{lo!r} {op1} {field} {op2} {hi!r}", lambda r: OPS[op1](lo, r[field]) and OPS[op2](r[field], hi)


@st.composite
def names(draw):
    member = draw(st.sampled_from(list(Interaction) + list(FinalState)))
    field = "interaction" if isinstance(member, Interaction) else "finalstate"
    return member.name, lambda r: r[field] == member.value


@st.composite
def memberships(draw):
    members = draw(st.lists(st.sampled_from(list(Interaction)), min_size=1, max_size=4))
    as_codes = draw(st.lists(st.booleans(), min_size=len(members), max_size=len(members)))
    negate = draw(st.booleans())
    items = ", ".join(str(m.value) if c else m.name for m, c in zip(members, as_codes, strict=True))
    codes = {m.value for m in members}
    text = f"interaction {'not in' if negate else 'in'} ({items})"
    return text, lambda r: (r["interaction"] in codes) != negate


leaves = st.one_of(comparisons(), chains(), names(), memberships())


def _extend(children):
    def combine(draw_pair):
        kind, (ta, fa), (tb, fb) = draw_pair
        if kind == "and":
            return f"({ta}) and ({tb})", lambda r: fa(r) and fb(r)
        if kind == "or":
            return f"({ta}) or ({tb})", lambda r: fa(r) or fb(r)
        return f"not ({ta})", lambda r: not fa(r)

    return st.tuples(st.sampled_from(["and", "or", "not"]), children, children).map(combine)


expressions = st.recursive(leaves, _extend, max_leaves=8)


def _reference(fn) -> np.ndarray:
    return np.array([bool(fn(r)) for r in ROWS])


@settings(max_examples=150, deadline=None)
@given(expressions)
def test_random_expressions_agree_with_a_per_event_reference(expr) -> None:
    text, fn = expr
    mask = evaluate(text, TRUTH)
    assert mask.dtype == bool and mask.shape == (N,)
    np.testing.assert_array_equal(mask, _reference(fn))
    # the canonical form parses to the same tree and selects the same events
    canonical = str(parse(text))
    assert parse(canonical) == parse(text)
    np.testing.assert_array_equal(evaluate(canonical, TRUTH), mask)


@settings(max_examples=80, deadline=None)
@given(expressions, expressions)
def test_set_algebra(a, b) -> None:
    (ta, _), (tb, _) = a, b
    ma, mb = evaluate(ta, TRUTH), evaluate(tb, TRUTH)
    np.testing.assert_array_equal(evaluate(f"not ({ta})", TRUTH), ~ma)
    both, either = evaluate(f"({ta}) and ({tb})", TRUTH), evaluate(f"({ta}) or ({tb})", TRUTH)
    assert not np.any(both & ~ma) and not np.any(both & ~mb)  # a and b ⊆ a, b
    assert not np.any(ma & ~either) and not np.any(mb & ~either)  # a, b ⊆ a or b
    np.testing.assert_array_equal(evaluate(f"not (({ta}) or ({tb}))", TRUTH), ~ma & ~mb)  # De Morgan


def test_known_selections() -> None:
    t = {
        "interaction": np.array([0, 2, 13, 4, 1]),
        "finalstate": np.array([4, 5, 40, 17, 8]),
        "nuenergy": np.array([1.0, 5.0, 0.0, 3.0, 4.0]),
        "lepenergy": np.array([0.5, 1.0, 0.0, 2.0, 3.0]),
    }
    assert evaluate("kNumuQE", t).tolist() == [True, False, False, False, False]
    assert evaluate("interaction in (kNumuQE, kNumuDIS)", t).tolist() == [True, True, False, False, False]
    assert evaluate("interaction in (0, 2)", t).tolist() == [True, True, False, False, False]
    assert evaluate("nuenergy > 3.5", t).tolist() == [False, True, False, False, True]
    assert evaluate("kNumu1tr0sh", t).tolist() == [True, False, False, False, False]  # finalstate 4
    # y = lepenergy / nuenergy: 0.5, 0.2, NaN, 0.667, 0.75; NaN fails every comparison but !=
    assert evaluate("y >= 0.5", t).tolist() == [True, False, False, True, True]
    assert evaluate("y != 0.5", t).tolist() == [False, True, True, True, True]
    assert evaluate("interaction <= 3 and not kNumuQE", t).tolist() == [False, True, False, False, True]
    # and binds tighter than or
    assert evaluate("kNC or kNumuQE and nuenergy > 2", t).tolist() == [False, False, True, False, False]
    assert evaluate("2 < nuenergy <= 4", t).tolist() == [False, False, False, True, True]


def test_canonical_form_and_fields() -> None:
    assert str(parse("interaction in(0,kNumuDIS)")) == "interaction in (0, kNumuDIS)"
    assert (
        str(parse("not(kNC or kCosmic)and y<0.5"))
        == "not (interaction == kNC or interaction == kCosmic) and y < 0.5"
    )
    assert fields_of(parse("kNumuQE and y > 0.3 or evt < 4")) == {
        "interaction",
        "lepenergy",
        "nuenergy",
        "evt",
    }
    assert Selection.parse("kNumu1tr0sh").fields == {"finalstate"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kNumuqe", r"unknown field or name 'kNumuqe'.*names: kNumuQE,"),
        ("nuenrgy > 3", r"valid fields: nuenergy,"),
        ("nuenergy = 3", r"use == for equality"),
        ("nuenergy > 3 && kNC", r"use and"),
        ("nuenergy >", r"expected a field, a number or a name, got the end"),
        ("(kNC", r"expected '\)'"),
        ("kNC kNumuQE", r"unexpected 'kNumuQE'"),
        ("nuenergy", r"needs a comparison"),
        ("3.5", r"a number alone"),
        ("interaction == kNumu1tr0sh", r"FinalState name: compare it with finalstate"),
        ("finalstate in (kNumuQE)", r"Interaction name: compare it with interaction"),
        ("nuenergy in (lepenergy)", r"takes numbers or names"),
        ("", r"empty expression"),
    ],
)
def test_bad_expressions_raise_config_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(text)


def test_event_selection_filters_signal_and_background_by_target() -> None:
    t = {
        "interaction": np.array([0, 2, 13, 0, 14]),
        "finalstate": np.zeros(5, int),
        "nuenergy": np.array([1.0, 5.0, 2.0, 6.0, 0.0]),
        "lepenergy": np.zeros(5),
    }
    target = np.array([1, 1, 0, 1, 0])  # numu-cc
    assert EventSelection(signal="kNumuQE").mask(t, target).tolist() == [True, False, True, True, True]
    assert EventSelection(background="kNC").mask(t, target).tolist() == [True, True, True, True, False]
    sel = EventSelection(where="nuenergy > 1.5", signal="kNumuQE")
    assert sel.mask(t, target).tolist() == [False, False, True, True, False]
    assert sel.to_dict() == {"where": "nuenergy > 1.5", "signal": "interaction == kNumuQE"}
    assert sel.fields() == {"nuenergy", "interaction"}
    with pytest.raises(ConfigError, match="need a binary task"):
        EventSelection(signal="kNumuQE").check_task("flavour", "multiclass")
    with pytest.raises(ConfigError, match="unknown field or name 'kNumuqe'"):
        EventSelection(where="kNumuqe")
    with pytest.raises(ConfigError, match="lacks"):
        EventSelection(where="vtxx > 0").mask(t, target)


def test_vertex_fields_and_the_contained_flag() -> None:
    """`contained`: the vertex in the ND's fully active volume (|x|, |y| ≤ 191.52 cm, 0 ≤ z < 1269.12 cm)."""
    truth = {
        "vtxx": np.array([0.0, 191.0, 192.0, 0.0, 0.0]),
        "vtxy": np.array([0.0, 0.0, 0.0, 0.0, 0.0]),
        "vtxz": np.array([5.0, 1000.0, 100.0, 1300.0, -20.0]),
        "interaction": np.array([0, 0, 2, 13, 0]),
    }
    assert evaluate("contained", truth).tolist() == [True, True, False, False, False]
    assert evaluate("not contained and vtxz > 0", truth).tolist() == [False, False, True, True, False]
    assert evaluate("location == 1", truth).tolist() == [False, False, False, True, False]
    assert evaluate("contained and kNumuQE", truth).tolist() == [True, True, False, False, False]
    assert str(parse("contained or vtxz > 100")) == "contained or vtxz > 100"
    assert fields_of(parse("contained")) == {"vtxx", "vtxy", "vtxz"}
    with pytest.raises(ConfigError, match="field 'vtxz' needs a comparison"):
        parse("vtxz")


def test_a_misspelt_field_is_offered_the_field_first_and_no_enum_names() -> None:
    """Issue 14: 'nuenergyy' was offered kNueOther, kNueQE …, in an order that changed between runs."""
    with pytest.raises(ConfigError) as info:
        parse("nuenergyy > 3")
    message = str(info.value)
    assert "did you mean nuenergy? valid fields: nuenergy, " in message
    assert "kNue" not in message
    with pytest.raises(ConfigError, match=r"names: kNumuQE, "):
        parse("kNumuqe")  # a kCamelCase word gets the closest names


def test_closest_names_do_not_depend_on_the_order_given() -> None:
    from nuclass.errors import closest

    names = ["vtxy", "vtxx", "vtxz", "evt", "run"]
    assert closest("vtx", names) == closest("vtx", names[::-1]) == ["vtxx", "vtxy", "vtxz", "evt", "run"]
    assert closest("anything", []) == []

"""Hypothesis properties of the atmosphere check: more bad data never helps."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from permits.atmosphere import evaluate, parse_test
from permits.profiles import apply_override, list_profiles, load_profile

DATA = Path(__file__).resolve().parent.parent / "data" / "atmosphere"
CLEAN: dict[str, Any] = json.loads((DATA / "01-clean-air.json").read_text("utf-8"))

_VALUES = {
    "O2": st.floats(min_value=15, max_value=25),
    "LEL": st.floats(min_value=0, max_value=20),
    "H2S": st.floats(min_value=0, max_value=15),
    "CO": st.floats(min_value=0, max_value=40),
}
_FLAGS = st.lists(st.sampled_from(["fault", "warmup", "low_battery", "alarm_low"]), max_size=1)


@st.composite
def atmosphere_tests(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(CLEAN)
    for sample in data["samples"]:
        sample["status"] = draw(st.lists(st.sampled_from(["low_battery", "warmup"]), max_size=1))
        for reading in sample["readings"]:
            reading["value"] = draw(_VALUES[reading["channel"]])
            reading["status"] = draw(_FLAGS) if draw(st.integers(0, 9)) == 0 else []
        minute = draw(st.integers(20, 59))
        sample["taken_at"] = f"2026-11-28T08:{minute:02d}:00+08:00"
    return data


_FAILING = st.sampled_from(
    [
        {"channel": "O2", "value": 18.0, "unit": "%VOL"},
        {"channel": "O2", "value": 24.0, "unit": "%VOL"},
        {"channel": "LEL", "value": 50.0, "unit": "%LEL", "gas": "CH4"},
        {"channel": "H2S", "value": 30.0, "unit": "ppm"},
        {"channel": "CO", "value": 0.5, "unit": "%VOL"},
        {"channel": "CO", "value": 0.0, "unit": "ppm", "status": ["fault"]},
        {"channel": "NH3", "value": 100.0, "unit": "ppm"},
        {"channel": "C3H8", "value": 0.5, "unit": "%VOL"},
    ]
)
_PROFILES = st.sampled_from(list_profiles())


@settings(max_examples=60, deadline=None)
@given(data=atmosphere_tests(), bad=_FAILING, point=st.integers(0, 2), profile=_PROFILES)
def test_adding_a_failing_reading_never_makes_it_acceptable(
    data: dict[str, Any], bad: dict[str, Any], point: int, profile: str
) -> None:
    before = evaluate(parse_test(data), load_profile(profile))
    data["samples"][point]["readings"].append(bad)
    after = evaluate(parse_test(data), load_profile(profile))
    assert not after.acceptable
    # Adding a reading can only add reasons (no required channel was missing).
    assert set(before.reasons) <= set(after.reasons)


@settings(max_examples=60, deadline=None)
@given(data=atmosphere_tests(), point=st.integers(0, 2), profile=_PROFILES)
def test_removing_a_sample_point_never_makes_it_acceptable(
    data: dict[str, Any], point: int, profile: str
) -> None:
    name = data["samples"][point]["point"]
    del data["samples"][point]
    verdict = evaluate(parse_test(data), load_profile(profile))
    assert not verdict.acceptable
    assert ("SAMPLE_POINT_MISSING", name) in {(r.code, r.point) for r in verdict.reasons}


@settings(max_examples=60, deadline=None)
@given(
    data=atmosphere_tests(), channel=st.sampled_from(["O2", "LEL", "H2S", "CO"]), profile=_PROFILES
)
def test_removing_a_required_channel_never_makes_it_acceptable(
    data: dict[str, Any], channel: str, profile: str
) -> None:
    sample = data["samples"][0]
    sample["readings"] = [r for r in sample["readings"] if r["channel"] != channel]
    assert not evaluate(parse_test(data), load_profile(profile)).acceptable


@settings(max_examples=60, deadline=None)
@given(
    data=atmosphere_tests(),
    profile=_PROFILES,
    o2_min=st.floats(min_value=19.5, max_value=20.5),
    fraction=st.floats(min_value=0.1, max_value=1.0),
    minutes=st.integers(1, 30),
)
def test_stricter_override_never_accepts_what_the_base_refuses(
    data: dict[str, Any], profile: str, o2_min: float, fraction: float, minutes: int
) -> None:
    base = load_profile(profile)
    strict = apply_override(
        base,
        {
            "oxygen": {"min_vol": o2_min},
            "toxic": {"fraction_of_limit": fraction},
            "test_max_age": {"minutes": minutes},
        },
    )
    test = parse_test(data)
    strict_verdict, base_verdict = evaluate(test, strict), evaluate(test, base)
    if strict_verdict.acceptable:
        assert base_verdict.acceptable
    # Every fact that fails the base profile also fails the stricter one.
    assert {(r.code, r.point, r.channel) for r in base_verdict.reasons} <= {
        (r.code, r.point, r.channel) for r in strict_verdict.reasons
    }


@settings(max_examples=40, deadline=None)
@given(data=atmosphere_tests(), profile=_PROFILES)
def test_verdict_round_trips_through_json(data: dict[str, Any], profile: str) -> None:
    verdict = evaluate(parse_test(data), load_profile(profile))
    out = json.loads(json.dumps(verdict.as_dict()))
    assert out["acceptable"] is verdict.acceptable is (not out["reasons"])
    assert out["profile"] == profile
    # re-parsing the model's own dump gives the same verdict
    again = evaluate(parse_test(parse_test(data).as_dict()), load_profile(profile))
    assert again == verdict


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _leaf_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        out = [prefix]
        for key, value in node.items():
            out += _leaf_paths(value, (*prefix, key))
        return out
    if isinstance(node, list):
        out = [prefix]
        for i, value in enumerate(node):
            out += _leaf_paths(value, (*prefix, i))
        return out
    return [prefix]


@settings(max_examples=200, deadline=None)
@given(data=st.data(), junk=_JSON)
def test_any_corruption_is_valid_or_invalid_input_never_a_crash(
    data: st.DataObject, junk: Any
) -> None:
    from permits.errors import InvalidInput

    case = copy.deepcopy(CLEAN)
    paths = [p for p in _leaf_paths(case) if p]
    path = data.draw(st.sampled_from(paths))
    target: Any = case
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = junk
    try:
        test = parse_test(case)
    except InvalidInput as exc:
        assert exc.field and exc.expected
        return
    for profile in list_profiles():
        verdict = evaluate(test, load_profile(profile))
        assert isinstance(verdict.acceptable, bool)

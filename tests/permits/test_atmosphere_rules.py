"""The atmosphere rules beyond the shipped cases: boundaries, units, trust, timing.

Expected figures are worked out by hand in the comments (docs/rules.md, Profiles).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from permits.atmosphere import evaluate, parse_test
from permits.errors import InvalidInput
from permits.i18n import get_language, set_language
from permits.profiles import load_profile

DATA = Path(__file__).resolve().parent.parent / "data" / "atmosphere"
CLEAN: dict[str, Any] = json.loads((DATA / "01-clean-air.json").read_text("utf-8"))
GONGMAO, GB, OSHA = "cn-gongmao", "cn-gb30871-2022", "us-osha-1910.146"


def case() -> dict[str, Any]:
    return copy.deepcopy(CLEAN)


def with_reading(reading: dict[str, Any], point: int = 2) -> dict[str, Any]:
    data = case()
    data["samples"][point]["readings"].append(reading)
    return data


def reasons(data: dict[str, Any], profile: str) -> set[tuple[Any, Any, Any]]:
    verdict = evaluate(parse_test(data), load_profile(profile))
    got = {(r.code, r.point, r.channel) for r in verdict.reasons}
    assert verdict.acceptable is (not got)
    return got


def fails(data: dict[str, Any], profile: str, code: str, channel: str | None) -> bool:
    return any(c == code and ch == channel for c, _, ch in reasons(data, profile))


# --------------------------------------------------------------- flammable


@pytest.mark.parametrize(
    ("reading", "failing_under"),
    [
        # CH4 LEL 5.0: 0.49 %VOL = 9.8 %LEL, 0.5 %VOL = 10 %LEL exactly.
        ({"channel": "CH4", "value": 0.49, "unit": "%VOL"}, set()),
        ({"channel": "CH4", "value": 0.5, "unit": "%VOL"}, {GONGMAO}),  # < 10 strict
        ({"channel": "CH4", "value": 0.51, "unit": "%VOL"}, {GONGMAO, GB, OSHA}),
        ({"channel": "CH4", "value": 5000, "unit": "ppm"}, {GONGMAO}),
        # H2 LEL 4.0 (>= 4, so 0.5 %VOL under GB 30871): 12.5 %LEL = 0.5 %VOL.
        ({"channel": "H2", "value": 12.5, "unit": "%LEL"}, {GONGMAO, OSHA}),
        ({"channel": "H2", "value": 10, "unit": "%LEL"}, {GONGMAO}),
        # C3H8 LEL 2.1 (< 4, so 0.2 %VOL): 0.2 %VOL = 9.52 %LEL.
        ({"channel": "C3H8", "value": 0.2, "unit": "%VOL"}, set()),
        ({"channel": "C3H8", "value": 0.21, "unit": "%VOL"}, {GONGMAO, GB}),  # 10 %LEL
        ({"channel": "C3H8", "value": 0.22, "unit": "%VOL"}, {GONGMAO, GB, OSHA}),
        # LEL channel with a propane basis: 9.6 %LEL = 0.2016 %VOL.
        ({"channel": "LEL", "value": 9.6, "unit": "%LEL", "gas": "C3H8"}, {GB}),
        # The reading's own lel_vol wins: 12 %LEL x 4.0 = 0.48 %VOL <= 0.5.
        (
            {"channel": "LEL", "value": 12, "unit": "%LEL", "gas": "C3H8", "lel_vol": 4.0},
            {GONGMAO, OSHA},
        ),
        ({"channel": "LEL", "value": 12, "unit": "%LEL", "gas": "C3H8"}, {GONGMAO, GB, OSHA}),
        # %VOL on the LEL channel with a methane basis: 0.45 %VOL = 9 %LEL.
        ({"channel": "LEL", "value": 0.45, "unit": "%VOL", "gas": "CH4"}, set()),
        # No gas basis: must pass for every gas of the LEL table. 4 %LEL of NH3
        # (LEL 15) is 0.6 %VOL > 0.5; 3 %LEL is 0.45 %VOL.
        ({"channel": "LEL", "value": 4, "unit": "%LEL"}, {GB}),
        ({"channel": "LEL", "value": 3, "unit": "%LEL"}, set()),
    ],
)
def test_flammable_limits_per_profile(reading: dict[str, Any], failing_under: set[str]) -> None:
    data = with_reading(reading)
    for profile in (GONGMAO, GB, OSHA):
        assert fails(data, profile, "FLAMMABLE_HIGH", reading["channel"]) is (
            profile in failing_under
        ), profile


def test_flammable_reason_reports_value_and_limit_in_profile_unit() -> None:
    data = with_reading({"channel": "C3H8", "value": 0.3, "unit": "%VOL"})
    gb = evaluate(parse_test(data), load_profile(GB)).reasons
    assert [r.as_dict() for r in gb] == [
        {
            "code": "FLAMMABLE_HIGH",
            "point": "bottom",
            "channel": "C3H8",
            "value": 0.3,
            "limit": 0.2,
            "unit": "%VOL",
        }
    ]
    gongmao = evaluate(parse_test(data), load_profile(GONGMAO)).reasons[0]
    assert gongmao.unit == "%LEL" and gongmao.limit == 10.0
    assert gongmao.value == pytest.approx(14.2857, abs=1e-4)  # 0.3 / 2.1 x 100


# --------------------------------------------------------------- toxic


@pytest.mark.parametrize(
    ("reading", "failing_under"),
    [
        # H2S MAC 10 mg/m3; OSHA 20 ppm ceiling.
        ({"channel": "H2S", "value": 10, "unit": "mg/m3"}, {GONGMAO}),  # < MAC strict
        ({"channel": "H2S", "value": 9.99, "unit": "mg/m3"}, set()),
        ({"channel": "H2S", "value": 10.01, "unit": "mg/m3"}, {GONGMAO, GB}),
        ({"channel": "H2S", "value": 7, "unit": "ppm"}, set()),  # 9.917 mg/m3
        ({"channel": "H2S", "value": 20, "unit": "ppm"}, {GONGMAO, GB}),
        ({"channel": "H2S", "value": 20.5, "unit": "ppm"}, {GONGMAO, GB, OSHA}),
        # CO has no MAC: PC-TWA 20 mg/m3. 17 ppm = 19.795 mg/m3, 18 ppm = 20.959.
        ({"channel": "CO", "value": 17, "unit": "ppm"}, set()),
        ({"channel": "CO", "value": 18, "unit": "ppm"}, {GONGMAO, GB}),
        ({"channel": "CO", "value": 20, "unit": "mg/m3"}, {GONGMAO}),
        ({"channel": "CO", "value": 51, "unit": "ppm"}, {GONGMAO, GB, OSHA}),
        # CO2 0.5 %VOL = 5000 ppm = 9147.8 mg/m3 > 9000; OSHA PEL 5000 ppm.
        ({"channel": "CO2", "value": 0.5, "unit": "%VOL"}, {GONGMAO, GB}),
        ({"channel": "CO2", "value": 0.51, "unit": "%VOL"}, {GONGMAO, GB, OSHA}),
        ({"channel": "CO2", "value": 0.4, "unit": "%VOL"}, set()),  # 7318 mg/m3
        # Cl2 MAC 1 mg/m3 = 0.339 ppm; OSHA 1 ppm ceiling.
        ({"channel": "Cl2", "value": 0.5, "unit": "ppm"}, {GONGMAO, GB}),
        ({"channel": "Cl2", "value": 1.0, "unit": "ppm"}, {GONGMAO, GB}),
        # NH3 PC-TWA 20 mg/m3: 28 ppm = 19.82, 29 ppm = 20.53.
        ({"channel": "NH3", "value": 28, "unit": "ppm"}, set()),
        ({"channel": "NH3", "value": 29, "unit": "ppm"}, {GONGMAO, GB}),
        # SO2 and NO2 PC-TWA 5 mg/m3: 2 ppm SO2 = 5.327, 2 ppm NO2 = 3.825.
        ({"channel": "SO2", "value": 2, "unit": "ppm"}, {GONGMAO, GB}),
        ({"channel": "NO2", "value": 2, "unit": "ppm"}, set()),
        ({"channel": "NO2", "value": 5.5, "unit": "ppm"}, {GONGMAO, GB, OSHA}),
    ],
)
def test_toxic_limits_per_profile(reading: dict[str, Any], failing_under: set[str]) -> None:
    data = with_reading(reading)
    for profile in (GONGMAO, GB, OSHA):
        assert fails(data, profile, "TOXIC_HIGH", reading["channel"]) is (
            profile in failing_under
        ), profile


def test_h2s_is_both_toxic_and_flammable() -> None:
    # 1 %VOL H2S = 25 %LEL (LEL 4.0): over both limits under every profile.
    data = with_reading({"channel": "H2S", "value": 1.0, "unit": "%VOL"})
    for profile in (GONGMAO, GB, OSHA):
        assert {("FLAMMABLE_HIGH", "bottom", "H2S"), ("TOXIC_HIGH", "bottom", "H2S")} <= reasons(
            data, profile
        )


def test_co_in_percent_lel_is_read_as_co() -> None:
    # 0.1 %LEL of CO (LEL 12.5) = 0.0125 %VOL = 125 ppm: toxic, not flammable.
    data = with_reading({"channel": "CO", "value": 0.1, "unit": "%LEL"})
    assert reasons(data, OSHA) == {("TOXIC_HIGH", "bottom", "CO")}


def test_channel_not_required_is_still_evaluated() -> None:
    data = with_reading({"channel": "NH3", "value": 40, "unit": "ppm"}, point=0)
    assert reasons(data, GONGMAO) == {("TOXIC_HIGH", "top", "NH3")}


# --------------------------------------------------------------- oxygen


@pytest.mark.parametrize(
    ("value", "enriched", "expected"),
    [
        (19.5, False, {GONGMAO: None, GB: None, OSHA: None}),
        (19.4, False, {GONGMAO: "O2_LOW", GB: "O2_LOW", OSHA: "O2_LOW"}),
        (21.0, False, {GONGMAO: None, GB: None, OSHA: None}),
        (21.1, False, {GONGMAO: None, GB: "O2_HIGH", OSHA: None}),
        (22.0, True, {GONGMAO: None, GB: None, OSHA: None}),
        (23.5, True, {GONGMAO: None, GB: None, OSHA: None}),
        (23.6, True, {GONGMAO: "O2_HIGH", GB: "O2_HIGH", OSHA: "O2_HIGH"}),
        (23.6, False, {GONGMAO: "O2_HIGH", GB: "O2_HIGH", OSHA: "O2_HIGH"}),
    ],
)
def test_oxygen_range_and_enriched_flag(
    value: float, enriched: bool, expected: dict[str, str | None]
) -> None:
    data = case()
    data["space"]["oxygen_enriched"] = enriched
    data["samples"][1]["readings"][0]["value"] = value
    for profile, code in expected.items():
        want = set() if code is None else {(code, "middle", "O2")}
        assert reasons(data, profile) == want, profile


def test_oxygen_in_ppm() -> None:
    data = case()
    data["samples"][0]["readings"][0] = {"channel": "O2", "value": 180000, "unit": "ppm"}
    assert reasons(data, GONGMAO) == {("O2_LOW", "top", "O2")}


# --------------------------------------------------------------- sensor trust


def test_sample_status_faults_every_channel_of_that_sample_only() -> None:
    data = case()
    data["samples"][2]["status"] = ["fault"]
    data["samples"][2]["readings"][0]["value"] = 10.0  # would be O2_LOW if trusted
    data["samples"][0]["readings"][0]["value"] = 18.0  # another sample still gives a verdict
    assert reasons(data, GONGMAO) == {
        ("SENSOR_FAULT", "bottom", "O2"),
        ("SENSOR_FAULT", "bottom", "LEL"),
        ("SENSOR_FAULT", "bottom", "H2S"),
        ("SENSOR_FAULT", "bottom", "CO"),
        ("O2_LOW", "top", "O2"),
    }


@pytest.mark.parametrize("flag", ["fault", "warmup", "overrange"])
def test_reading_status_faults_its_channel_others_still_judged(flag: str) -> None:
    data = case()
    readings = data["samples"][1]["readings"]
    readings[2]["status"] = [flag]  # H2S
    readings[2]["value"] = 0.0
    readings[0]["value"] = 18.0
    assert reasons(data, GB) == {("SENSOR_FAULT", "middle", "H2S"), ("O2_LOW", "middle", "O2")}


def test_low_battery_is_a_warning_only() -> None:
    data = case()
    data["samples"][0]["status"] = ["low_battery"]
    verdict = evaluate(parse_test(data), load_profile(GONGMAO))
    assert verdict.acceptable
    assert {(w.code, w.point) for w in verdict.warnings} == {("LOW_BATTERY", "top")}
    assert verdict.as_dict()["reasons"] == []


def test_faulted_sample_without_readings_still_fails() -> None:
    data = case()
    data["space"]["required_channels"] = ["O2"]
    data["samples"][0]["status"] = ["fault"]
    data["samples"][0]["readings"] = []
    got = reasons(data, GONGMAO)
    assert ("SENSOR_FAULT", "top", None) in got
    assert ("CHANNEL_MISSING", "top", "O2") in got


def test_missing_channel_at_each_point() -> None:
    data = case()
    for sample in data["samples"][:2]:
        sample["readings"] = [r for r in sample["readings"] if r["channel"] != "CO"]
    assert reasons(data, OSHA) == {
        ("CHANNEL_MISSING", "top", "CO"),
        ("CHANNEL_MISSING", "middle", "CO"),
    }


# --------------------------------------------------------------- detector


@pytest.mark.parametrize(
    ("entry_at", "due", "expired"),
    [
        ("2026-11-28T09:00:00+08:00", "2026-11-28", False),  # due today is still valid
        ("2026-11-28T09:00:00+08:00", "2026-11-27", True),
        # 00:30 in Beijing is still 27 Nov in UTC: the local date (28th) counts.
        ("2026-11-28T00:30:00+08:00", "2026-11-27", True),
        # 23:30 on the 27th at -05:00 is already 28 Nov in UTC: still valid locally.
        ("2026-11-27T23:30:00-05:00", "2026-11-27", False),
    ],
)
def test_calibration_against_local_entry_date(entry_at: str, due: str, expired: bool) -> None:
    data = case()
    data["entry_at"] = entry_at
    data["detector"]["calibration_due"] = due
    data["detector"]["last_bump_test"] = entry_at
    for sample in data["samples"]:
        sample["taken_at"] = entry_at
    assert (("CALIBRATION_EXPIRED", None, None) in reasons(data, GONGMAO)) is expired


@pytest.mark.parametrize(
    ("bump", "overdue"),
    [
        ("2026-11-27T09:00:00+08:00", False),  # exactly 24 h
        ("2026-11-27T08:59:59+08:00", True),
        ("2026-11-27T01:00:00Z", False),  # 09:00 +08:00, another offset
        ("2026-11-28T09:10:00+08:00", True),  # after entry: vouches for nothing before it
        (None, True),
    ],
)
def test_bump_test_age(bump: str | None, overdue: bool) -> None:
    data = case()
    data["detector"]["last_bump_test"] = bump
    assert (("BUMP_TEST_OVERDUE", None, None) in reasons(data, GB)) is overdue


def test_missing_bump_key_is_overdue() -> None:
    data = case()
    del data["detector"]["last_bump_test"]
    assert reasons(data, GONGMAO) == {("BUMP_TEST_OVERDUE", None, None)}


# --------------------------------------------------------------- timing and points


@pytest.mark.parametrize(
    ("taken_at", "code"),
    [
        ("2026-11-28T08:30:00+08:00", None),  # exactly 30 min is fine
        ("2026-11-28T08:29:59+08:00", "TEST_TOO_OLD"),
        ("2026-11-28T00:30:00Z", None),  # 08:30 +08:00
        ("2026-11-28T09:00:00+08:00", None),  # at entry
        ("2026-11-28T09:00:01+08:00", "TEST_AFTER_ENTRY"),
    ],
)
def test_sample_age(taken_at: str, code: str | None) -> None:
    data = case()
    data["samples"][1]["taken_at"] = taken_at
    want = set() if code is None else {(code, "middle", None)}
    for profile in (GONGMAO, GB, OSHA):
        assert reasons(data, profile) == want


def test_duplicate_samples_every_one_counts() -> None:
    data = case()
    old = copy.deepcopy(data["samples"][2])
    old["taken_at"] = "2026-11-28T08:00:00+08:00"
    bad = copy.deepcopy(data["samples"][2])
    bad["readings"][0]["value"] = 17.0
    data["samples"] += [old, bad]
    assert reasons(data, GONGMAO) == {("TEST_TOO_OLD", "bottom", None), ("O2_LOW", "bottom", "O2")}


def test_empty_sample_list_fails_every_point() -> None:
    data = case()
    data["samples"] = []
    assert reasons(data, GONGMAO) == {
        ("SAMPLE_POINT_MISSING", "top", None),
        ("SAMPLE_POINT_MISSING", "middle", None),
        ("SAMPLE_POINT_MISSING", "bottom", None),
    }


def test_extra_point_is_evaluated() -> None:
    data = case()
    extra = copy.deepcopy(data["samples"][0])
    extra["point"] = "side-manway"
    extra["readings"][2]["value"] = 50.0
    data["samples"].append(extra)
    assert reasons(data, OSHA) == {("TOXIC_HIGH", "side-manway", "H2S")}


def test_every_failing_fact_is_reported() -> None:
    data = case()
    data["detector"]["calibration_due"] = "2026-01-01"
    data["detector"]["last_bump_test"] = None
    data["samples"][0]["readings"][0]["value"] = 18.0
    data["samples"][1]["readings"][3]["value"] = 100
    del data["samples"][2]
    assert reasons(data, GONGMAO) == {
        ("CALIBRATION_EXPIRED", None, None),
        ("BUMP_TEST_OVERDUE", None, None),
        ("O2_LOW", "top", "O2"),
        ("TOXIC_HIGH", "middle", "CO"),
        ("SAMPLE_POINT_MISSING", "bottom", None),
    }


# --------------------------------------------------------------- invalid input


def _set(data: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "field", "expected_part"),
    [
        (["entry_at"], "2026-11-28T09:00:00", "entry_at", "offset"),
        (["samples", 1, "taken_at"], "2026-11-28T08:45:00", "samples[1].taken_at", "offset"),
        (["detector", "last_bump_test"], "2026-11-28T07:30", "detector.last_bump_test", "offset"),
        (["detector", "calibration_due"], "soon", "detector.calibration_due", "YYYY-MM-DD"),
        (["samples", 0, "readings", 0, "channel"], "O3", "samples[0].readings[0].channel", "CO2"),
        (["samples", 0, "readings", 3, "unit"], "ppx", "samples[0].readings[3].unit", "mg/m3"),
        (["samples", 0, "readings", 1, "value"], -1.0, "samples[0].readings[1].value", "0"),
        (
            ["samples", 0, "readings", 1, "value"],
            float("nan"),
            "samples[0].readings[1].value",
            "finite",
        ),
        (
            ["samples", 0, "readings", 1, "value"],
            float("inf"),
            "samples[0].readings[1].value",
            "finite",
        ),
        (["samples", 0, "readings", 1, "value"], "0", "samples[0].readings[1].value", "number"),
        (["samples", 0, "readings", 1, "value"], True, "samples[0].readings[1].value", "number"),
        (["samples", 2, "readings", 0, "value"], 120, "samples[2].readings[0].value", "100"),
        (["samples", 0, "readings", 0, "unit"], "%LEL", "samples[0].readings[0].unit", "%VOL"),
        (["samples", 0, "readings", 1, "gas"], "unobtainium", "samples[0].readings[1].gas", "CH4"),
        (["samples", 0, "readings", 1, "gas"], "CO2", "samples[0].readings[1].gas", "flammable"),
        (["samples", 0, "readings", 2, "gas"], "CO", "samples[0].readings[2].gas", "H2S"),
        (["samples", 0, "readings", 1, "lel_vol"], 0, "samples[0].readings[1].lel_vol", "LEL"),
        (["samples", 0, "status"], ["broken"], "samples[0].status[0]", "fault"),
        (["samples", 0, "stauts"], ["fault"], "samples[0].stauts", "unknown"),
        (["space", "oxygen_enriched"], "yes", "space.oxygen_enriched", "true or false"),
        (["space", "sample_points"], [], "space.sample_points", "at least"),
        (["space", "required_channels"], [], "space.required_channels", "at least"),
        (["samples", 0, "point"], "", "samples[0].point", "non-empty"),
    ],
)
def test_invalid_input_names_the_field(
    path: list[Any], value: Any, field: str, expected_part: str
) -> None:
    previous = get_language()
    set_language("en")
    try:
        with pytest.raises(InvalidInput) as info:
            parse_test(_set(case(), path, value))
    finally:
        set_language(previous)
    assert info.value.field == field
    assert expected_part in info.value.expected


def test_co2_in_percent_lel_is_invalid() -> None:
    data = with_reading({"channel": "CO2", "value": 1, "unit": "%LEL"})
    with pytest.raises(InvalidInput) as info:
        parse_test(data)
    assert info.value.field == "samples[2].readings[4].unit"


def test_missing_required_key() -> None:
    data = case()
    del data["samples"][0]["readings"][0]["unit"]
    with pytest.raises(InvalidInput) as info:
        parse_test(data)
    assert info.value.field == "samples[0].readings[0].unit"


def test_partial_retest_next_to_a_full_sample_is_not_a_missing_channel() -> None:
    data = case()
    retest = {
        "point": "bottom",
        "taken_at": "2026-11-28T08:50:00+08:00",
        "readings": [{"channel": "H2S", "value": 0.0, "unit": "ppm"}],
    }
    data["samples"].append(retest)
    assert reasons(data, GONGMAO) == set()
    # ...but a partial sample alone at a point is.
    data["samples"] = [s for s in data["samples"] if s is not data["samples"][2]]
    assert reasons(data, GONGMAO) == {
        ("CHANNEL_MISSING", "bottom", "O2"),
        ("CHANNEL_MISSING", "bottom", "LEL"),
        ("CHANNEL_MISSING", "bottom", "CO"),
    }


def test_evaluate_checks_a_test_built_in_code() -> None:
    test = parse_test(case())
    sample = test.samples[0]
    bad = sample.readings[0].model_copy(update={"value": -5.0})
    broken = test.model_copy(
        update={"samples": [sample.model_copy(update={"readings": [bad]}), *test.samples[1:]]}
    )
    with pytest.raises(InvalidInput) as info:
        evaluate(broken, load_profile(GONGMAO))
    assert info.value.field == "samples[0].readings[0].value"


def test_reading_lel_vol_used_for_toxic_percent_lel() -> None:
    # CO 0.1 %LEL with its own LEL 10 %VOL: 0.01 %VOL = 100 ppm > 50 ppm PEL;
    # with 4 %VOL it is 40 ppm, under the PEL.
    high = with_reading({"channel": "CO", "value": 0.1, "unit": "%LEL", "lel_vol": 10.0})
    low = with_reading({"channel": "CO", "value": 0.1, "unit": "%LEL", "lel_vol": 4.0})
    assert reasons(high, OSHA) == {("TOXIC_HIGH", "bottom", "CO")}
    assert reasons(low, OSHA) == set()


def test_reason_values_for_timing() -> None:
    data = case()
    data["samples"][0]["taken_at"] = "2026-11-28T09:05:00+08:00"
    data["samples"][1]["taken_at"] = "2026-11-28T08:20:00+08:00"
    got = {r.code: r.as_dict() for r in evaluate(parse_test(data), load_profile(GB)).reasons}
    assert got["TEST_AFTER_ENTRY"] == {
        "code": "TEST_AFTER_ENTRY",
        "point": "top",
        "value": 5.0,
        "unit": "min",
    }
    assert got["TEST_TOO_OLD"] == {
        "code": "TEST_TOO_OLD",
        "point": "middle",
        "value": 40.0,
        "limit": 30.0,
        "unit": "min",
    }

"""Profiles: the figures of docs/rules.md, Profiles, sources, and stricter-only overrides."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from permits.errors import ProfileError
from permits.profiles import apply_override, list_profiles, load_profile


def test_three_profiles() -> None:
    assert list_profiles() == ["cn-gb30871-2022", "cn-gongmao", "us-osha-1910.146"]
    assert load_profile().name == "cn-gongmao"


def test_gongmao_figures() -> None:
    p = load_profile("cn-gongmao")
    assert (p.oxygen.min_vol, p.oxygen.max_vol, p.oxygen.max_vol_enriched) == (19.5, 23.5, 23.5)
    assert (p.flammable.basis, p.flammable.max_lel, p.flammable.strict) == ("lel", 10.0, True)
    assert (p.toxic.basis, p.toxic.strict) == ("gbz", True)
    assert p.test_max_age == timedelta(minutes=30)
    assert p.retest_interval == timedelta(hours=2)
    assert p.retest_after_interruption == timedelta(0)
    assert p.permit_validity == timedelta(hours=24)
    assert p.bump_test_max_age == timedelta(hours=24)
    assert p.needs_retest_after(timedelta(seconds=1))


def test_gb30871_figures() -> None:
    p = load_profile("cn-gb30871-2022")
    assert (p.oxygen.max_vol, p.oxygen.max_vol_enriched) == (21.0, 23.5)
    assert p.flammable.basis == "vol_by_lel" and not p.flammable.strict
    assert p.flammable.max_vol_for(4.0) == 0.5
    assert p.flammable.max_vol_for(3.99) == 0.2
    assert p.retest_after_interruption == timedelta(minutes=60)
    assert not p.needs_retest_after(timedelta(minutes=60))
    assert p.needs_retest_after(timedelta(minutes=61))


def test_osha_figures() -> None:
    p = load_profile("us-osha-1910.146")
    assert p.retest_interval is None and p.continuous_monitoring_required
    assert p.permit_validity == timedelta(hours=12)
    assert (p.toxic.basis, p.flammable.strict) == ("osha_pel", False)


@pytest.mark.parametrize("name", ["cn-gongmao", "cn-gb30871-2022", "us-osha-1910.146"])
def test_every_rule_has_a_source(name: str) -> None:
    p = load_profile(name)
    assert set(p.rule_sources) == {
        "oxygen",
        "flammable",
        "toxic",
        "test_max_age",
        "retest_interval",
        "retest_after_interruption",
        "permit_validity",
        "detector",
        "monitoring",
    }
    assert all(len(s) > 5 for s in p.rule_sources.values())
    # every "(secondary)" marking in docs/rules.md survives into the data
    assert any("secondary" in s for s in p.rule_sources.values()) or name.startswith("us-")


def test_unknown_profile_lists_known() -> None:
    with pytest.raises(ProfileError) as info:
        load_profile("cn-gongmao-2019")
    for name in list_profiles():
        assert name in str(info.value)


@pytest.mark.parametrize(
    ("profile", "override"),
    [
        ("cn-gongmao", {"oxygen": {"min_vol": 20.0, "max_vol": 22.0, "max_vol_enriched": 22.0}}),
        ("cn-gongmao", {"flammable": {"max_lel": 5.0}}),
        ("cn-gongmao", {"toxic": {"fraction_of_limit": 0.5}}),
        ("cn-gongmao", {"test_max_age": {"minutes": 15}}),
        ("cn-gongmao", {"retest_interval": {"continuous_required": True}}),
        ("cn-gongmao", {"permit_validity": {"hours": 8}}),
        ("cn-gb30871-2022", {"flammable": {"strict": True, "max_vol_lel_below": 0.1}}),
        ("cn-gb30871-2022", {"retest_after_interruption": {"minutes": 0}}),
        ("us-osha-1910.146", {"toxic": {"strict": True}, "monitoring": {"stale_after_s": 5}}),
    ],
)
def test_stricter_override_accepted(profile: str, override: dict[str, Any]) -> None:
    base = load_profile(profile)
    tightened = apply_override(base, {"name": "acme", **override})
    assert tightened.name == f"{profile}+acme"
    assert tightened != base
    assert load_profile(profile) == base  # the cached base is untouched


@pytest.mark.parametrize(
    ("profile", "override", "field", "old", "new"),
    [
        ("cn-gongmao", {"oxygen": {"min_vol": 19.0}}, "oxygen.min_vol", "19.5", "19.0"),
        ("cn-gb30871-2022", {"oxygen": {"max_vol": 23.5}}, "oxygen.max_vol", "21.0", "23.5"),
        ("cn-gongmao", {"flammable": {"strict": False}}, "flammable.strict", "True", "False"),
        ("cn-gongmao", {"flammable": {"max_lel": 20}}, "flammable.max_lel", "10.0", "20"),
        ("cn-gongmao", {"flammable": {"basis": "vol_by_lel"}}, "flammable.basis", "lel", "vol"),
        ("cn-gongmao", {"test_max_age": {"minutes": 45}}, "test_max_age.minutes", "30", "45"),
        ("cn-gb30871-2022", {"retest_after_interruption": {"minutes": 90}}, "minutes", "60", "90"),
        ("cn-gongmao", {"permit_validity": {"hours": 48}}, "permit_validity.hours", "24", "48"),
        (
            "us-osha-1910.146",
            {"retest_interval": {"continuous_required": False, "minutes": 60}},
            "retest_interval",
            "True",
            "False",
        ),
        ("us-osha-1910.146", {"toxic": {"basis": "gbz"}}, "toxic.basis", "osha_pel", "gbz"),
    ],
)
def test_looser_override_refused(
    profile: str, override: dict[str, Any], field: str, old: str, new: str
) -> None:
    with pytest.raises(ProfileError) as info:
        apply_override(load_profile(profile), override)
    text = str(info.value)
    assert field in text and old in text and new in text
    assert info.value.code == "OVERRIDE_LOOSER"


def test_unknown_override_field_refused() -> None:
    with pytest.raises(ProfileError) as info:
        apply_override(load_profile(), {"oxygen": {"minimum": 20}})
    assert "oxygen.minimum" in str(info.value)


@pytest.mark.parametrize(
    "override",
    [
        {"oxygen": {"min_vol": "20"}},
        {"flammable": {"strict": 1}},
        {"oxygen": {"min_vol": True}},
        {"test_max_age": {"minutes": float("nan")}},
    ],
)
def test_override_of_the_wrong_type_is_refused(override: dict[str, Any]) -> None:
    with pytest.raises(ProfileError) as info:
        apply_override(load_profile(), override)
    assert info.value.code == "OVERRIDE_INVALID"

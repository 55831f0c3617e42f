"""Every shipped atmosphere case under every profile, through the API and the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from permits.atmosphere import evaluate, parse_test
from permits.errors import InvalidInput
from permits.profiles import list_profiles, load_profile

DATA = Path(__file__).resolve().parent.parent / "data" / "atmosphere"
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text("utf-8"))
CASES = [(case, profile) for case, by in sorted(EXPECTED.items()) for profile in sorted(by)]


def _reason_set(reasons: list[Any]) -> set[tuple[Any, Any, Any]]:
    return {(r[0], r[1], r[2]) for r in reasons}


def test_every_profile_is_covered() -> None:
    for by_profile in EXPECTED.values():
        assert set(by_profile) == set(list_profiles())


@pytest.mark.parametrize(("case", "profile"), CASES)
def test_case_through_api(case: str, profile: str) -> None:
    expected = EXPECTED[case][profile]
    data = json.loads((DATA / case).read_text("utf-8"))
    if "exit" in expected:
        with pytest.raises(InvalidInput):
            parse_test(data)
        return
    verdict = evaluate(parse_test(data), load_profile(profile))
    assert verdict.acceptable is expected["acceptable"]
    assert {(r.code, r.point, r.channel) for r in verdict.reasons} == _reason_set(
        expected["reasons"]
    )
    assert verdict.profile == profile

"""The atmosphere rules the ledger sets: the profile a space's permits run (the space's,
else the enterprise's default, with the enterprise's stricter override), the space's
oxygen-enriched flag, and the detector that monitors (calibration, bump test); end to
end (docs/rules.md, Profiles and Trusting the detector)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from permits.events import EntrantEntered, MonitoringStarted
from permits.profiles import profile_for
from tablet_app.desk import detector_identity
from tablet_app.presenters.common import attempt
from tablet_app.presenters.home import HomePresenter
from tests.e2e.harness import ENTERPRISE, Site, air_test, days, person, space


def _detector(site: Site, serial: str, **changes: object) -> None:
    bumped = (site.context.now() - timedelta(hours=1)).isoformat()
    data: dict[str, object] = {
        "model": "4-gas",
        "protocol": "gasl",
        "channels": ["O2", "LEL"],
        "calibration_due": days(100),
        "bump_tests": [{"at": bumped, "passed": True}],
    }
    data.update(changes)
    site.put("detectors", serial, data)


def _draft(site: Site, space_id: str) -> str:
    site.sign_in("e-leader")
    outcome = HomePresenter(site.context, site.desk).new_permit(space_id, "检修")
    assert outcome.ok, outcome.lines()
    return str(outcome.value)


@pytest.mark.ledger_rule("O2_HIGH")
def test_the_enterprises_gb30871_profile_judges_the_oxygen(site: Site) -> None:
    # GB 30871 for the enterprise, tightened: tests at most 20 min old.
    site.put("default-profile", "default", {"profile": "cn-gb30871-2022"})
    site.put(
        "profile-overrides",
        "strict-tests",
        {"base": "cn-gb30871-2022", "override": {"test_max_age": {"minutes": 20}}},
    )
    looser = site.api(
        "PUT",
        f"/api/v1/enterprises/{ENTERPRISE}/profile-overrides/loose",
        {"base": "cn-gongmao", "override": {"flammable": {"max_lel": 20.0}}},
    )
    assert looser.status_code == 422 and "OVERRIDE_LOOSER" in looser.text, looser.text
    second = site.api(
        "PUT",
        f"/api/v1/enterprises/{ENTERPRISE}/profile-overrides/another",
        {"base": "cn-gb30871-2022", "override": {"test_max_age": {"minutes": 25}}},
    )
    assert second.status_code == 422 and "PROFILE_OVERRIDE_DUPLICATE" in second.text
    site.put("spaces", "E-GB", space("E-GB"))
    site.put("spaces", "E-ENRICHED", space("E-ENRICHED", oxygen_enriched=True))
    site.put("spaces", "E-GONGMAO", space("E-GONGMAO", profile="cn-gongmao"))
    site.put("people", "e-leader", person("作业负责人", roles=["work_leader"]))
    _detector(site, "DET-1")
    site.enrol()
    detector = detector_identity(site.store.reference("detectors", "DET-1") or {})
    taken = site.context.now() - timedelta(minutes=2)
    at_22 = air_test(taken, detector, o2=22.0, points=("top", "bottom"))

    verdicts = {}
    for space_id in ("E-GB", "E-ENRICHED", "E-GONGMAO"):
        permit = _draft(site, space_id)
        site.desk.record(permit, at_22, actor="e-leader")
        state = site.desk.state(permit)
        test = state.latest_test
        assert test is not None
        verdicts[space_id] = (test.acceptable, {r["code"] for r in test.reasons})
        if space_id == "E-GB":
            assert state.space is not None and state.space.profile == "cn-gb30871-2022"
            assert state.profile.name == "cn-gb30871-2022+strict-tests"
            assert state.profile.test_max_age == timedelta(minutes=20)
    assert verdicts["E-GB"] == (False, {"O2_HIGH"}), verdicts  # 22 % > 21.0 (§5.3.1)
    assert verdicts["E-ENRICHED"][0] is True  # oxygen-enriched: up to 23.5 (§6.4)
    assert verdicts["E-GONGMAO"][0] is True  # the space's own profile wins

    drafted = site.drafted("E-GB")
    assert drafted.space.profile_override is not None
    assert profile_for(drafted.space.profile, drafted.space.profile_override).name.endswith(
        "+strict-tests"
    )
    early = site.context.now() - timedelta(minutes=30)
    site.push_broken(
        "PMT-E2E-GB30871",
        [
            (drafted, "e-leader"),
            (air_test(early, detector, o2=22.0, points=("top", "bottom")), "e-leader"),
            (EntrantEntered(entrant_id="e-leader"), "e-leader"),
        ],
    )
    found = site.automatic_findings("PMT-E2E-GB30871")
    assert "ATMOSPHERE_TEST_FAILED" in found["ENTRY_WITHOUT_PASSING_TEST"]["facts"]["unmet"]
    (failed,) = [
        f for f in site.evidence("PMT-E2E-GB30871") if f["code"] == "ATMOSPHERE_TEST_FAILED"
    ]
    assert "O2_HIGH" in failed["facts"]["reasons"], failed


def _monitoring_refused(site: Site, serial: str, code: str) -> None:
    site.put("spaces", "E-S1", space("E-S1"))
    site.put("people", "e-leader", person("作业负责人", roles=["work_leader"]))
    site.enrol()
    detector = detector_identity(site.store.reference("detectors", serial) or {})
    permit = _draft(site, "E-S1")
    start = MonitoringStarted(detector=detector, channels=("O2", "LEL"))
    outcome = attempt(lambda: site.desk.record(permit, start, actor="e-leader"))
    assert not outcome.ok and code in outcome.codes, outcome.lines()
    assert site.desk.state(permit).monitoring_detector is None

    site.push_broken("PMT-E2E-MONITOR", [(site.drafted("E-S1"), "e-leader"), (start, "e-leader")])
    assert site.automatic_findings("PMT-E2E-MONITOR")[code]["seq"] == 2


@pytest.mark.ledger_rule("MONITORING_DETECTOR_NOT_CALIBRATED")
def test_an_uncalibrated_detector_cannot_monitor(site: Site) -> None:
    _detector(site, "DET-OLD", calibration_due=days(-2))
    _monitoring_refused(site, "DET-OLD", "MONITORING_DETECTOR_NOT_CALIBRATED")


@pytest.mark.ledger_rule("MONITORING_DETECTOR_NOT_BUMP_TESTED")
def test_a_detector_without_a_bump_test_cannot_monitor(site: Site) -> None:
    _detector(site, "DET-NOBUMP", bump_tests=[])
    _monitoring_refused(site, "DET-NOBUMP", "MONITORING_DETECTOR_NOT_BUMP_TESTED")

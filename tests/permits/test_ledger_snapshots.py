"""The ledger's facts as a permit records them (issue 14): the contractor and the written
delegation in a person's snapshot, the space's derived approval authority and its
profile with the enterprise's override, the monitoring detector, the ledger's age."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from cspermit.demo.molasses_tank import (
    DETECTOR,
    ENTRANT_A,
    LEADER,
    PRINCIPAL,
    START,
    ready_to_enter,
    space,
)
from permits.commands import PermitSession
from permits.errors import ProfileError, RuleViolation
from permits.events import (
    GENESIS_HASH,
    ApprovalAuthority,
    Approved,
    ContractorSnapshot,
    DelegationSnapshot,
    DetectorIdentity,
    Drafted,
    EntrantEntered,
    MonitoringSnapshot,
    MonitoringStarted,
    PersonSnapshot,
    Role,
    RoleAssigned,
    SignOff,
    SignOffMeaning,
)
from permits.integrity import DeviceKey
from permits.profiles import profile_for
from permits.reference import ConfinedSpace, Delegation
from permits.reference.people import contractor_unmet

from .conftest import ENTRY_AT


def _codes(
    s: PermitSession, payload: object, at: object, actor: str, permit_id: str | None = None
) -> list[str]:
    with pytest.raises(RuleViolation) as info:
        s.record(payload, at, actor=actor, permit_id=permit_id)  # type: ignore[arg-type]
    return info.value.codes


def _worker(**contractor: object) -> PersonSnapshot:
    return PersonSnapshot(
        person_id="P-X",
        name="王五",
        employer_id="CON-1",
        contractor_id="CON-1",
        training_valid_until=date(2027, 6, 30),
        contractor=ContractorSnapshot.model_validate(
            {
                "contractor_id": "CON-1",
                "name": "承包商",
                "contract_valid_from": "2026-01-01",
                "contract_valid_until": "2026-12-31",
                **contractor,
            }
        ),
    )


@pytest.mark.parametrize(
    ("contractor", "codes"),
    [
        ({}, []),
        ({"blacklisted_on": "2026-11-01"}, ["ROSTER_CONTRACTOR_BLACKLISTED"]),
        ({"blacklisted_on": "2026-12-20"}, []),  # blacklisted only later
        ({"contract_valid_until": "2026-11-27"}, ["ROSTER_CONTRACT_NOT_VALID"]),
        ({"registered": False}, ["ROSTER_CONTRACTOR_UNKNOWN"]),
    ],
)
def test_the_roster_rule_judges_the_recorded_contractor(
    key: DeviceKey, contractor: dict[str, object], codes: list[str]
) -> None:
    s = ready_to_enter(key)
    assignment = RoleAssigned(role=Role.ENTRANT, person=_worker(**contractor))
    if not codes:
        s.record(assignment, ENTRY_AT, actor=LEADER)
    else:
        assert _codes(s, assignment, ENTRY_AT, LEADER) == codes


def test_a_person_recorded_before_the_contractor_snapshot_is_judged_as_before(
    key: DeviceKey,
) -> None:
    s = ready_to_enter(key)
    old = _worker().model_copy(update={"contractor": None})
    s.record(RoleAssigned(role=Role.ENTRANT, person=old), ENTRY_AT, actor=LEADER)
    flagged = old.model_copy(update={"person_id": "P-Y", "contractor_blacklisted": True})
    assert _codes(s, RoleAssigned(role=Role.ENTRANT, person=flagged), ENTRY_AT, LEADER) == [
        "PERSON_CONTRACTOR_BLACKLISTED"
    ]


def test_the_ledger_and_the_snapshot_share_one_contractor_rule() -> None:
    snap = _worker(blacklisted_on="2026-11-01").contractor
    assert snap is not None
    codes = [u.code for u in contractor_unmet("CON-1", snap, START.date(), {"name": "x"})]
    assert codes == ["ROSTER_CONTRACTOR_BLACKLISTED"]


def _ledger_space(**changes: object) -> ConfinedSpace:
    base = {
        "id": "S",
        "enterprise_id": "E",
        "name": "pit",
        "location": "yard",
        "type": "underground",
        "required_channels": ["O2"],
        "sample_points": ["top"],
    }
    return ConfinedSpace.model_validate({**base, **changes})


def test_the_snapshot_derives_principal_approval_as_the_ledger_does() -> None:
    for hazards, channels, flag in (
        ((), ("O2", "LEL"), False),
        (("H2S",), ("O2", "LEL"), False),
        ((), ("O2", "CO"), False),
        ((), ("O2", "LEL"), True),
    ):
        ledger = _ledger_space(hazards=hazards, required_channels=channels, key_supervision=flag)
        snap = space(hazards=hazards, required_channels=channels, key_supervision=flag)
        assert snap.requires_principal_approval == ledger.requires_principal_approval


def _delegate_approval(key: DeviceKey, delegation: DelegationSnapshot | None, ref: str | None):
    return ready_to_enter(
        key,
        skip=["approval"],
        person_changes={
            PRINCIPAL: {
                "approval_authority": ApprovalAuthority.DELEGATE,
                "delegation": delegation,
                "delegation_ref": ref,
            }
        },
    )


@pytest.mark.parametrize(
    ("changes", "codes"),
    [
        ({}, []),
        ({"valid_until": "2026-11-27"}, ["DELEGATION_NOT_VALID"]),
        ({"space_ids": ("SP-OTHER",)}, ["DELEGATION_NOT_FOR_SPACE"]),
        ({"space_ids": ("SP-MOLASSES-01",)}, []),
    ],
)
def test_approval_judges_the_recorded_delegation(
    key: DeviceKey, changes: dict[str, object], codes: list[str]
) -> None:
    delegation = DelegationSnapshot.model_validate(
        {
            "delegation_id": "D-1",
            "delegator": "P-BOSS",
            "valid_from": "2026-01-01",
            "valid_until": "2026-12-31",
            **changes,
        }
    )
    s = _delegate_approval(key, delegation, "D-1")
    approve = Approved(signoff=s.signoff(PRINCIPAL, SignOffMeaning.APPROVE, ENTRY_AT))
    if codes:
        assert _codes(s, approve, ENTRY_AT, PRINCIPAL) == codes
    else:
        s.record(approve, ENTRY_AT, actor=PRINCIPAL)


def test_a_ledger_delegation_is_consistent() -> None:
    good = {
        "id": "D",
        "enterprise_id": "E",
        "delegator": "P-BOSS",
        "delegate": "P-DEPUTY",
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
    }
    Delegation.model_validate(good)
    with pytest.raises(ValidationError, match="before"):
        Delegation.model_validate({**good, "valid_until": "2025-12-31"})
    with pytest.raises(ValidationError, match="themselves"):
        Delegation.model_validate({**good, "delegate": "P-BOSS"})


def test_a_permit_runs_its_profile_with_the_enterprises_override(key: DeviceKey) -> None:
    override = {"name": "acme", "test_max_age": {"minutes": 20}}
    snap = space(profile="cn-gb30871-2022", profile_override=override)
    s = ready_to_enter(key, space_snapshot=snap)
    assert s.state.profile.name == "cn-gb30871-2022+acme"
    assert s.state.profile.test_max_age == timedelta(minutes=20)
    looser = {"name": "loose", "test_max_age": {"minutes": 60}}
    with pytest.raises(ProfileError):
        profile_for("cn-gongmao", looser)
    draft = Drafted(enterprise_id="E", space=space(profile_override=looser), work_description="w")
    assert _codes(PermitSession(key), draft, START, LEADER, "P-1") == [
        "PERMIT_PROFILE_OVERRIDE_INVALID"
    ]


def test_a_space_names_only_a_known_profile() -> None:
    assert _ledger_space(profile="us-osha-1910.146").profile
    with pytest.raises(ValidationError, match="expected one of"):
        _ledger_space(profile="acme-2030")


@pytest.mark.parametrize(
    ("changes", "codes"),
    [
        ({}, []),
        ({"calibration_due": date(2026, 11, 27)}, ["MONITORING_DETECTOR_NOT_CALIBRATED"]),
        ({"calibration_due": None}, ["MONITORING_DETECTOR_NOT_CALIBRATED"]),
        ({"last_bump_test": None}, ["MONITORING_DETECTOR_NOT_BUMP_TESTED"]),
        (
            {"last_bump_test": START - timedelta(hours=30)},
            ["MONITORING_DETECTOR_NOT_BUMP_TESTED"],
        ),
    ],
)
def test_the_monitoring_detector_is_vetted(
    key: DeviceKey, changes: dict[str, object], codes: list[str]
) -> None:
    s = ready_to_enter(key, skip=["monitoring"])
    detector = DetectorIdentity.model_validate({**DETECTOR.model_dump(), **changes})
    start = MonitoringStarted(detector=detector, channels=("O2", "H2S"))
    at = s.events[-1].occurred_at + timedelta(minutes=1)
    if codes:
        assert _codes(s, start, at, LEADER) == codes
    else:
        s.record(start, at, actor=LEADER)


def test_an_entry_view_from_another_detector_is_not_the_monitor(key: DeviceKey) -> None:
    s = ready_to_enter(key)
    at = START + timedelta(minutes=50)
    other = MonitoringSnapshot(detector_serial="GT4-9999", last_reading_at=at, acceptable=True)
    codes = _codes(s, EntrantEntered(entrant_id=ENTRANT_A, monitoring=other), at, LEADER)
    assert "MONITORING_OTHER_DETECTOR" in codes


def test_drafting_on_a_stale_ledger_needs_a_signed_reason(key: DeviceKey) -> None:
    old = START - timedelta(days=8)
    stale = Drafted(enterprise_id="E", space=space(), work_description="w", ledger_as_of=old)
    assert _codes(PermitSession(key), stale, START, LEADER, "P-1") == ["PERMIT_LEDGER_TOO_OLD"]
    fresh = stale.model_copy(update={"ledger_as_of": START - timedelta(days=6)})
    PermitSession(key).record(fresh, START, actor=LEADER, permit_id="P-1")
    signoff = SignOff(
        person_id=PRINCIPAL,
        meaning=SignOffMeaning.OVERRIDE_STALE_LEDGER,
        signed_at=START,
        state_hash=GENESIS_HASH,
        pin_verified=True,
    )
    no_reason = stale.model_copy(update={"stale_ledger_override": signoff})
    assert _codes(PermitSession(key), no_reason, START, LEADER, "P-1") == [
        "PERMIT_LEDGER_OVERRIDE_NO_REASON"
    ]
    signed = no_reason.model_copy(update={"stale_ledger_reason": "network down"})
    PermitSession(key).record(signed, START, actor=LEADER, permit_id="P-2")

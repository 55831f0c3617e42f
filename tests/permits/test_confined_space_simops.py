"""A confined-space permit's own SIMOPS acknowledgement (``simops_acknowledged``): only
its approver, once approved, over the pair's digest; with the hot-work permit's
acknowledgement it clears a conditional conflict (docs/rules.md, SIMOPS)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cspermit.demo.molasses_tank import LEADER, PRINCIPAL, START, ready_to_enter
from permits.commands import PermitSession
from permits.confined_space_footprint import (
    confined_space_acknowledgements,
    confined_space_footprint,
)
from permits.errors import RuleViolation
from permits.events import SignOffMeaning, SimopsAcknowledged
from permits.integrity import DeviceKey, verify_chain
from permits.simops import (
    Acknowledgement,
    Activity,
    Footprint,
    Verdict,
    WorkType,
    pair_digest,
    unresolved,
)
from permits.state import fold

ENTRY_AT = START + timedelta(minutes=50)


def _hot_work_beside(cs: Footprint, approver: str = "P-HW") -> Footprint:
    """An unlinked hot job in the same space over the same hours: a conditional conflict."""
    return Footprint(
        permit_id="HW-9",
        type=WorkType.HOT_WORK,
        start=cs.start,
        end=cs.end,
        activities=frozenset({Activity.HOT_WORK}),
        points=(),
        space_id=cs.space_id,
        approver=approver,
    )


def _ack(session: PermitSession, person: str, digest: str) -> SimopsAcknowledged:
    return SimopsAcknowledged(
        other_permit_id="HW-9",
        coordinator_id=LEADER,
        digest=digest,
        signoff=session.signoff(person, SignOffMeaning.APPROVE, ENTRY_AT),
    )


@pytest.fixture
def approved() -> PermitSession:
    return ready_to_enter(DeviceKey.generate("TAB-SIMOPS"))


def test_the_approvers_acknowledgement_with_the_hot_works_clears_the_conflict(
    approved: PermitSession,
) -> None:
    state = approved.state
    cs = confined_space_footprint(state, ENTRY_AT)
    hot = _hot_work_beside(cs)
    (conflict,) = unresolved([cs, hot])
    assert conflict.verdict is Verdict.CONDITIONAL
    digest = pair_digest(cs, hot)
    approved.record(_ack(approved, PRINCIPAL, digest), ENTRY_AT, actor=PRINCIPAL)
    acks = confined_space_acknowledgements(approved.state)
    assert acks == (
        Acknowledgement(
            permit_id=state.permit_id or "",
            other_permit_id="HW-9",
            approver_id=PRINCIPAL,
            coordinator_id=LEADER,
            digest=digest,
        ),
    )
    # one side is not enough; the hot work's approver names the same coordinator
    assert unresolved([cs, hot], acks)
    theirs = Acknowledgement("HW-9", cs.permit_id, "P-HW", LEADER, digest)
    assert unresolved([cs, hot], (*acks, theirs)) == []
    # the footprint after the event is the one acknowledged: the digest still holds
    assert pair_digest(confined_space_footprint(approved.state, ENTRY_AT), hot) == digest
    # the chain replays and verifies with the new event type
    assert fold(approved.events).simops_acknowledgements == approved.state.simops_acknowledgements
    keys = {approved.device_key.device_id: approved.device_key.public_b64()}
    assert verify_chain(approved.events, keys).valid


def test_only_this_permits_approver_may_acknowledge(approved: PermitSession) -> None:
    digest = "0" * 64
    with pytest.raises(RuleViolation) as refused:
        approved.record(_ack(approved, LEADER, digest), ENTRY_AT, actor=LEADER)
    assert "SIMOPS_ACK_NOT_APPROVER" in [u.code for u in refused.value.unmet]
    assert approved.state.simops_acknowledgements == ()


def test_a_draft_cannot_acknowledge() -> None:
    draft = ready_to_enter(DeviceKey.generate("TAB-SIMOPS"), skip=("approval", "monitoring"))
    with pytest.raises(RuleViolation) as refused:
        draft.record(_ack(draft, PRINCIPAL, "0" * 64), ENTRY_AT, actor=PRINCIPAL)
    assert "NOT_ALLOWED_IN_STATUS" in [u.code for u in refused.value.unmet]


def test_both_permit_types_acknowledge_in_the_same_fields_and_bytes() -> None:
    """The confined-space acknowledgement's fields come from the shared base
    (``SimopsAcknowledgement``); the hot-work one says the same in the same canonical
    bytes (keys sorted, so where a field is declared does not reach a hash)."""
    from datetime import datetime, timezone

    from permits.canonical import canonical_json
    from permits.events import SignOff, SimopsAcknowledgement
    from permits.hot_work.events import HotWorkSimopsAcknowledged

    at = datetime(2026, 12, 2, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    signoff = SignOff(
        person_id="P-WANG",
        meaning=SignOffMeaning.APPROVE,
        signed_at=at,
        state_hash="cd" * 32,
        pin_verified=True,
    )
    fields = {
        "other_permit_id": "HW-9",
        "coordinator_id": "P-COORD",
        "digest": "ab" * 32,
        "signoff": signoff,
    }
    expected = (
        '{"coordinator_id":"P-COORD","digest":"' + "ab" * 32 + '","other_permit_id":"HW-9",'
        '"signoff":{"meaning":"approve","person_id":"P-WANG","pin_verified":true,'
        '"signed_at":"2026-12-02T09:30:00+08:00","state_hash":"' + "cd" * 32 + '"}}'
    )
    assert issubclass(SimopsAcknowledged, SimopsAcknowledgement)
    for kind in (SimopsAcknowledged, HotWorkSimopsAcknowledged):
        assert list(kind.model_fields) == list(SimopsAcknowledgement.model_fields)
        payload = kind(**fields)  # type: ignore[arg-type]
        dumped = payload.model_dump(mode="python", exclude_defaults=True)
        assert canonical_json(dumped) == expected

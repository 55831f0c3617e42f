"""The major-hazard closed loop (docs/rules.md): report, plan, rectify, verify, close."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from permits.errors import RuleViolation
from permits.hazards import (
    HazardClosed,
    HazardEvent,
    HazardRectified,
    HazardReported,
    HazardSource,
    HazardState,
    HazardStatus,
    RectificationPlanned,
    RectificationVerified,
    apply_hazard,
    fold_hazard,
    hazard_decide,
)

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 12, 1, 9, tzinfo=CST)


class Loop:
    def __init__(self) -> None:
        self.state = HazardState()
        self.events: list[HazardEvent] = []

    def do(self, payload: object, at: datetime, actor: str = "P-SAFETY") -> None:
        event = hazard_decide(self.state, payload, at, actor=actor, hazard_id="HZ-1")  # type: ignore[arg-type]
        self.events.append(event)
        self.state = apply_hazard(self.state, event)


def _report() -> HazardReported:
    return HazardReported(
        enterprise_id="ENT-SUGAR",
        source=HazardSource.SELF_INSPECTION,
        title="molasses tank has no warning sign",
        clause="MEM10 Art. 13 (一)",
        space_id="SP-MOLASSES-01",
    )


def _plan(deadline: datetime) -> RectificationPlanned:
    return RectificationPlanned(
        measures=("fit a warning sign", "update the ledger"),
        responsible_person="P-ZHAO",
        deadline=deadline,
    )


def test_the_whole_loop_to_close_out() -> None:
    loop = Loop()
    loop.do(_report(), T0)
    loop.do(_plan(T0 + timedelta(days=7)), T0 + timedelta(hours=1))
    loop.do(
        HazardRectified(rectified_by="P-ZHAO", evidence=("photo sha256 ab12…",)),
        T0 + timedelta(days=2),
    )
    loop.do(RectificationVerified(verified_by="P-SAFETY", accepted=True), T0 + timedelta(days=3))
    loop.do(HazardClosed(closed_by="P-WANG"), T0 + timedelta(days=3))
    assert loop.state.status is HazardStatus.CLOSED
    assert fold_hazard(loop.events) == loop.state
    assert [e.seq for e in loop.events] == [1, 2, 3, 4, 5]


def test_the_rectifier_cannot_verify_their_own_work() -> None:
    loop = Loop()
    loop.do(_report(), T0)
    loop.do(_plan(T0 + timedelta(days=7)), T0)
    loop.do(HazardRectified(rectified_by="P-ZHAO", evidence=("done",)), T0)
    with pytest.raises(RuleViolation) as info:
        loop.do(RectificationVerified(verified_by="P-ZHAO", accepted=True), T0)
    assert info.value.codes == ["HAZARD_VERIFIER_IS_RECTIFIER"]


def test_a_rejected_rectification_goes_back_to_planned() -> None:
    loop = Loop()
    loop.do(_report(), T0)
    loop.do(_plan(T0 + timedelta(days=7)), T0)
    loop.do(HazardRectified(rectified_by="P-ZHAO", evidence=("done",)), T0)
    loop.do(
        RectificationVerified(verified_by="P-SAFETY", accepted=False, note="sign too small"), T0
    )
    assert loop.state.status is HazardStatus.PLANNED and loop.state.rejections == 1


def test_steps_out_of_order_are_refused() -> None:
    loop = Loop()
    with pytest.raises(RuleViolation) as info:
        loop.do(HazardClosed(closed_by="P-WANG"), T0)
    assert info.value.codes == ["HAZARD_WRONG_STEP"]
    loop.do(_report(), T0)
    with pytest.raises(RuleViolation):
        loop.do(HazardRectified(rectified_by="P-ZHAO", evidence=("x",)), T0)


def test_deadline_in_the_past_is_refused() -> None:
    loop = Loop()
    loop.do(_report(), T0)
    with pytest.raises(RuleViolation) as info:
        loop.do(_plan(T0 - timedelta(days=1)), T0)
    assert info.value.codes == ["HAZARD_DEADLINE_PAST"]


def test_overdue_until_rectified() -> None:
    loop = Loop()
    loop.do(_report(), T0)
    deadline = T0 + timedelta(days=7)
    loop.do(_plan(deadline), T0)
    assert not loop.state.is_overdue(deadline)
    assert loop.state.overdue_by(deadline + timedelta(hours=5)) == timedelta(hours=5)
    loop.do(HazardRectified(rectified_by="P-ZHAO", evidence=("x",)), deadline + timedelta(days=1))
    assert not loop.state.is_overdue(deadline + timedelta(days=2))


def test_hazard_events_round_trip_through_json() -> None:
    loop = Loop()
    loop.do(_report(), T0)
    loop.do(_plan(T0 + timedelta(days=7)), T0)
    for event in loop.events:
        assert HazardEvent.model_validate_json(event.model_dump_json()) == event


def test_a_replay_finding_files_an_automatic_hazard(key) -> None:  # type: ignore[no-untyped-def]
    from cspermit.demo.molasses_tank import ENTRANT_A, ready_to_enter
    from permits.hazards import find_hazards

    from .test_replay import _enter

    s = ready_to_enter(key, skip=["guardian"])
    _enter(s)
    (finding,) = find_hazards(s.events)
    report = finding.report("ENT-SUGAR", "SP-MOLASSES-01")
    assert report.source is HazardSource.AUTOMATIC
    assert report.permit_seq == finding.seq and report.clause == "MEM10 Art. 13 (二)"
    loop = Loop()
    loop.do(report, T0)
    assert loop.state.status is HazardStatus.REPORTED
    assert ENTRANT_A in report.description

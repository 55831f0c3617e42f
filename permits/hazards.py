"""Major accident hazards (重大事故隐患): the closed loop of docs/rules.md, and the
automatic finder that replays permit chains for MEM10 Art. 13 (二).

Loop: reported → rectification planned (measures, person, deadline) →
rectified (evidence) → verified by someone other than the rectifier →
closed (销号). A failed verification sends the hazard back to planned. Like a
permit, a hazard is a fold over its own events (:func:`apply_hazard`); commands
(:func:`hazard_decide`) raise :class:`~permits.errors.RuleViolation`.

:func:`find_hazards` does not trust the device that wrote a chain: it re-checks
every recorded entry against the state just before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SerializeAsAny, model_validator

from permits.errors import ProfileError, RuleViolation, Unmet
from permits.events import EntrantEntered, Event, Id
from permits.interlock import (
    GUARDIAN_IS_ENTRANT,
    GUARDIAN_NOT_ON_DUTY,
    VENTILATION_NOT_STARTED,
    condition_1_permit,
    condition_3_ventilation_equipment,
    condition_4_atmosphere,
    condition_5_guardian,
)
from permits.messages import register
from permits.state import PermitState, apply

__all__ = [
    "ENTRY_WITHOUT_APPROVAL",
    "ENTRY_WITHOUT_GUARDIAN",
    "ENTRY_WITHOUT_PASSING_TEST",
    "ENTRY_WITHOUT_VENTILATION",
    "MEM10_13_2",
    "HazardClosed",
    "HazardEvent",
    "HazardEventType",
    "HazardFinding",
    "HazardPayload",
    "HazardRectified",
    "HazardReported",
    "HazardSource",
    "HazardState",
    "HazardStatus",
    "RectificationPlanned",
    "RectificationVerified",
    "apply_hazard",
    "entry_findings",
    "find_hazards",
    "fold_hazard",
    "hazard_decide",
    "hazard_unmet",
]


def N_(message: str) -> str:
    """Mark a message for translation; it is translated when rendered."""
    return message


class HazardSource(StrEnum):
    SELF_INSPECTION = "self_inspection"  # 企业自查
    BUREAU_INSPECTION = "bureau_inspection"  # 监管检查
    WORKER_REPORT = "worker_report"  # 职工举报
    AUTOMATIC = "automatic"  # replay of synced permits


class HazardStatus(StrEnum):
    NONE = "none"
    REPORTED = "reported"
    PLANNED = "planned"
    RECTIFIED = "rectified"
    VERIFIED = "verified"
    CLOSED = "closed"


class HazardEventType(StrEnum):
    REPORTED = "hazard_reported"
    PLANNED = "rectification_planned"
    RECTIFIED = "hazard_rectified"
    VERIFIED = "rectification_verified"
    CLOSED = "hazard_closed"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HazardPayload(_Model):
    event_type: ClassVar[HazardEventType]


class HazardReported(HazardPayload):
    event_type = HazardEventType.REPORTED
    enterprise_id: Id
    source: HazardSource
    title: str = Field(min_length=1)
    clause: str = ""  # e.g. "MEM10 Art. 13 (二)"
    description: str = ""
    space_id: str | None = None
    permit_id: str | None = None
    permit_seq: int | None = None


class RectificationPlanned(HazardPayload):
    event_type = HazardEventType.PLANNED
    measures: tuple[str, ...] = Field(min_length=1)
    responsible_person: Id
    deadline: AwareDatetime


class HazardRectified(HazardPayload):
    event_type = HazardEventType.RECTIFIED
    rectified_by: Id
    evidence: tuple[str, ...] = Field(min_length=1)  # notes or sha256 of photos


class RectificationVerified(HazardPayload):
    event_type = HazardEventType.VERIFIED
    verified_by: Id
    accepted: bool
    note: str = ""


class HazardClosed(HazardPayload):
    event_type = HazardEventType.CLOSED
    closed_by: Id


HAZARD_PAYLOADS: Mapping[HazardEventType, type[HazardPayload]] = {
    c.event_type: c
    for c in (
        HazardReported,
        RectificationPlanned,
        HazardRectified,
        RectificationVerified,
        HazardClosed,
    )
}


class HazardEvent(_Model):
    event_id: UUID
    hazard_id: Id
    seq: int = Field(ge=1)
    type: HazardEventType
    occurred_at: AwareDatetime
    actor: Id
    payload: SerializeAsAny[HazardPayload]

    @model_validator(mode="before")
    @classmethod
    def _typed_payload(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and isinstance(data.get("payload"), Mapping):
            try:
                kind = HazardEventType(str(data.get("type")))
            except ValueError:
                return data
            data = dict(data)
            data["payload"] = HAZARD_PAYLOADS[kind].model_validate(data["payload"])
        return data

    @model_validator(mode="after")
    def _payload_matches_type(self) -> HazardEvent:
        if type(self.payload) is not HAZARD_PAYLOADS[self.type]:
            raise ValueError(f"payload does not match type {self.type.value}")
        return self


@dataclass(frozen=True)
class HazardState:
    hazard_id: str | None = None
    seq: int = 0
    status: HazardStatus = HazardStatus.NONE
    report: HazardReported | None = None
    reported_at: datetime | None = None
    measures: tuple[str, ...] = ()
    responsible_person: str | None = None
    deadline: datetime | None = None
    rectified_by: str | None = None
    rectified_at: datetime | None = None
    evidence: tuple[str, ...] = ()
    verified_by: str | None = None
    closed_at: datetime | None = None
    rejections: int = 0

    def overdue_by(self, now: datetime) -> timedelta | None:
        """How long past the deadline an unrectified hazard is (None: not overdue)."""
        if self.status not in (HazardStatus.PLANNED,) or self.deadline is None:
            return None
        late = now - self.deadline
        return late if late > timedelta(0) else None

    def is_overdue(self, now: datetime) -> bool:
        return self.overdue_by(now) is not None

    @property
    def open(self) -> bool:
        return self.status not in (HazardStatus.NONE, HazardStatus.CLOSED)


def apply_hazard(state: HazardState, event: HazardEvent) -> HazardState:
    p = event.payload
    s = replace(state, hazard_id=state.hazard_id or event.hazard_id, seq=event.seq)
    if isinstance(p, HazardReported):
        return replace(s, status=HazardStatus.REPORTED, report=p, reported_at=event.occurred_at)
    if isinstance(p, RectificationPlanned):
        return replace(
            s,
            status=HazardStatus.PLANNED,
            measures=p.measures,
            responsible_person=p.responsible_person,
            deadline=p.deadline,
        )
    if isinstance(p, HazardRectified):
        return replace(
            s,
            status=HazardStatus.RECTIFIED,
            rectified_by=p.rectified_by,
            rectified_at=event.occurred_at,
            evidence=p.evidence,
        )
    if isinstance(p, RectificationVerified):
        if p.accepted:
            return replace(s, status=HazardStatus.VERIFIED, verified_by=p.verified_by)
        return replace(s, status=HazardStatus.PLANNED, rejections=s.rejections + 1)
    if isinstance(p, HazardClosed):
        return replace(s, status=HazardStatus.CLOSED, closed_at=event.occurred_at)
    return s


def fold_hazard(events: Iterable[HazardEvent]) -> HazardState:
    state = HazardState()
    for event in events:
        state = apply_hazard(state, event)
    return state


HAZARD_WRONG_STEP = "HAZARD_WRONG_STEP"
HAZARD_DEADLINE_PAST = "HAZARD_DEADLINE_PAST"
HAZARD_VERIFIER_IS_RECTIFIER = "HAZARD_VERIFIER_IS_RECTIFIER"

for _code, _msg, _remedy in (
    (
        HAZARD_WRONG_STEP,
        N_("a hazard that is {status} cannot be {step}"),
        N_("follow the loop: reported, planned, rectified, verified, closed"),
    ),
    (
        HAZARD_DEADLINE_PAST,
        N_("the rectification deadline {deadline} is already past"),
        N_("set a deadline in the future"),
    ),
    (
        HAZARD_VERIFIER_IS_RECTIFIER,
        N_("{person} rectified this hazard and cannot verify it"),
        N_("someone other than the rectifier verifies the rectification"),
    ),
):
    register(_code, _msg, _remedy)

_PREVIOUS: dict[HazardEventType, frozenset[HazardStatus]] = {
    HazardEventType.REPORTED: frozenset({HazardStatus.NONE}),
    HazardEventType.PLANNED: frozenset({HazardStatus.REPORTED, HazardStatus.PLANNED}),
    HazardEventType.RECTIFIED: frozenset({HazardStatus.PLANNED}),
    HazardEventType.VERIFIED: frozenset({HazardStatus.RECTIFIED}),
    HazardEventType.CLOSED: frozenset({HazardStatus.VERIFIED}),
}


def hazard_unmet(state: HazardState, payload: HazardPayload, now: datetime) -> list[Unmet]:
    step = payload.event_type
    if state.status not in _PREVIOUS[step]:
        return [Unmet(HAZARD_WRONG_STEP, {"status": state.status.value, "step": step.value})]
    unmet: list[Unmet] = []
    if isinstance(payload, RectificationPlanned) and payload.deadline <= now:
        unmet.append(Unmet(HAZARD_DEADLINE_PAST, {"deadline": payload.deadline.isoformat()}))
    if isinstance(payload, RectificationVerified) and payload.verified_by == state.rectified_by:
        unmet.append(Unmet(HAZARD_VERIFIER_IS_RECTIFIER, {"person": payload.verified_by}))
    return unmet


def hazard_decide(
    state: HazardState,
    payload: HazardPayload,
    now: datetime,
    *,
    actor: str,
    hazard_id: str | None = None,
    event_id: UUID | None = None,
) -> HazardEvent:
    unmet = hazard_unmet(state, payload, now)
    if unmet:
        raise RuleViolation(unmet)
    hid = hazard_id or state.hazard_id or str(uuid4())
    return HazardEvent(
        event_id=event_id or uuid4(),
        hazard_id=hid,
        seq=state.seq + 1,
        type=payload.event_type,
        occurred_at=now,
        actor=actor,
        payload=payload,
    )


# ------------------------------------------------ automatic findings (MEM10)

ENTRY_WITHOUT_APPROVAL = "ENTRY_WITHOUT_APPROVAL"
ENTRY_WITHOUT_PASSING_TEST = "ENTRY_WITHOUT_PASSING_TEST"
ENTRY_WITHOUT_VENTILATION = "ENTRY_WITHOUT_VENTILATION"
ENTRY_WITHOUT_GUARDIAN = "ENTRY_WITHOUT_GUARDIAN"
MEM10_13_2 = "MEM10 Art. 13 (二)"

for _code, _msg, _remedy in (
    (
        ENTRY_WITHOUT_APPROVAL,
        N_("{person} entered at event {seq} without a valid approval"),
        N_("major accident hazard (MEM10 Art. 13 (二)): investigate and rectify"),
    ),
    (
        ENTRY_WITHOUT_PASSING_TEST,
        N_("{person} entered at event {seq} without a passing atmosphere test"),
        N_("major accident hazard (MEM10 Art. 13 (二)): investigate and rectify"),
    ),
    (
        ENTRY_WITHOUT_VENTILATION,
        N_("{person} entered at event {seq} without ventilation (先通风、再检测、后作业)"),
        N_("major accident hazard (MEM10 Art. 13 (二)): investigate and rectify"),
    ),
    (
        ENTRY_WITHOUT_GUARDIAN,
        N_("{person} entered at event {seq} with no guardian on duty"),
        N_("major accident hazard (MEM10 Art. 13 (二)): investigate and rectify"),
    ),
):
    register(_code, _msg, _remedy)


@dataclass(frozen=True)
class HazardFinding:
    code: str
    permit_id: str
    seq: int
    person: str
    occurred_at: datetime
    unmet: tuple[str, ...] = ()
    clause: str = MEM10_13_2
    facts: Mapping[str, Any] = field(default_factory=dict)

    def to_unmet(self) -> Unmet:
        return Unmet(self.code, {"person": self.person, "seq": self.seq, **self.facts})

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "clause": self.clause,
            "permit_id": self.permit_id,
            "seq": self.seq,
            "person": self.person,
            "occurred_at": self.occurred_at.isoformat(),
            "unmet": list(self.unmet),
            "message": self.to_unmet().message(),
        }

    def report(self, enterprise_id: str, space_id: str | None = None) -> HazardReported:
        """The payload that files this finding as an automatic hazard."""
        return HazardReported(
            enterprise_id=enterprise_id,
            source=HazardSource.AUTOMATIC,
            title=self.code,
            clause=self.clause,
            description=self.to_unmet().message(),
            space_id=space_id,
            permit_id=self.permit_id,
            permit_seq=self.seq,
        )


def entry_findings(state: PermitState, event: Event) -> list[HazardFinding]:
    """MEM10 Art. 13 (二) findings for one entry event, judged on the state before it."""
    p = event.payload
    if not isinstance(p, EntrantEntered):
        return []
    at = event.occurred_at

    def finding(code: str, unmet: Iterable[Unmet]) -> HazardFinding:
        return HazardFinding(
            code,
            permit_id=event.permit_id,
            seq=event.seq,
            person=p.entrant_id,
            occurred_at=at,
            unmet=tuple(u.code for u in unmet),
        )

    findings: list[HazardFinding] = []
    approval = condition_1_permit(state, at)
    if approval:
        findings.append(finding(ENTRY_WITHOUT_APPROVAL, approval))
    ventilation = [
        u for u in condition_3_ventilation_equipment(state) if u.code == VENTILATION_NOT_STARTED
    ]
    if ventilation:
        findings.append(finding(ENTRY_WITHOUT_VENTILATION, ventilation))
    try:
        atmosphere = condition_4_atmosphere(state, p.monitoring, at)
    except ProfileError:
        # No loadable profile: no test can be shown to have passed.
        atmosphere = [Unmet("PERMIT_PROFILE_UNKNOWN")]
    if atmosphere:
        findings.append(finding(ENTRY_WITHOUT_PASSING_TEST, atmosphere))
    guardian = [
        u
        for u in condition_5_guardian(state, at)
        if u.code in (GUARDIAN_NOT_ON_DUTY, GUARDIAN_IS_ENTRANT)
    ]
    if guardian:
        findings.append(finding(ENTRY_WITHOUT_GUARDIAN, guardian))
    return findings


def find_hazards(events: Iterable[Event]) -> list[HazardFinding]:
    """Replay a permit chain and report every entry that MEM10 Art. 13 (二) makes a hazard."""
    state = PermitState()
    findings: list[HazardFinding] = []
    for event in events:
        findings.extend(entry_findings(state, event))
        state = apply(state, event)
    return findings

"""A permit's state: a pure fold over its events.

:func:`apply` never refuses an event: the rules live in
:mod:`permits.commands` and :mod:`permits.interlock`, so a chain written by a
faulty or tampered device still folds, and :mod:`permits.replay` can report
what it broke. Nothing is stored here that cannot be derived from the events;
expiry is derived from time (:meth:`PermitState.status_at`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from permits.atmosphere_record import SpaceRecord
from permits.errors import PermitError, ProfileError
from permits.events import (
    GENESIS_HASH,
    AlarmCleared,
    AlarmKind,
    AlarmRaised,
    ApprovalAuthority,
    Approved,
    AtmosphereTestRecorded,
    BriefingSigned,
    DeviceHandover,
    Drafted,
    EntrantEntered,
    EntrantExited,
    EquipmentConfirmed,
    Event,
    EventType,
    GuardianHandover,
    GuardianOnDuty,
    HazardIdentified,
    IsolationApplied,
    IsolationMethod,
    IsolationRemoved,
    IsolationVerified,
    MonitoringStarted,
    PersonalLockApplied,
    PersonalLockRemoved,
    PersonSnapshot,
    ReadingsChunkRecorded,
    ReadingsConfirmed,
    Role,
    RoleAssigned,
    SimopsAcknowledged,
    SpaceSnapshot,
)
from permits.profiles import Profile, load_profile, profile_for

__all__ = [
    "TERMINAL",
    "AlarmRecord",
    "IsolationRecord",
    "PermitState",
    "PersonalLock",
    "Status",
    "TestRecord",
    "apply",
    "evaluate_recorded_test",
    "fold",
    "test_input",
]


class Status(StrEnum):
    NONE = "none"  # no event yet
    DRAFT = "draft"
    APPROVED = "approved"
    ACTIVE = "active"
    EVACUATING = "evacuating"
    SUSPENDED = "suspended"
    CLOSING = "closing"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


TERMINAL = frozenset({Status.CLOSED, Status.CANCELLED, Status.EXPIRED})
# Statuses in which the permit's validity clock runs.
_EXPIRABLE = frozenset(
    {Status.APPROVED, Status.ACTIVE, Status.EVACUATING, Status.SUSPENDED, Status.CLOSING}
)


@dataclass(frozen=True)
class IsolationRecord:
    point_id: str
    lock_id: str
    tag_id: str
    method: IsolationMethod
    applied_by: str
    applied_at: datetime
    lockbox_id: str | None = None
    verified_by: str | None = None
    verified_at: datetime | None = None


@dataclass(frozen=True)
class PersonalLock:
    lock_id: str
    lockbox_id: str
    person_id: str


@dataclass(frozen=True)
class TestRecord:
    seq: int
    recorded_at: datetime
    acceptable: bool
    reasons: tuple[Mapping[str, Any], ...]
    oldest_sample_at: datetime | None
    source: str
    tested_by: str
    countersigned_by: str | None
    detector_serial: str

    @property
    def manual(self) -> bool:
        return self.source == "manual"


@dataclass(frozen=True)
class AlarmRecord:
    alarm_id: str
    kind: AlarmKind
    seq: int
    raised_at: datetime
    channel: str | None = None


@dataclass(frozen=True)
class PermitState:
    permit_id: str | None = None
    seq: int = 0
    head_hash: str = GENESIS_HASH
    status: Status = Status.NONE
    holder_device: str | None = None
    last_event_at: datetime | None = None

    enterprise_id: str | None = None
    space: SpaceSnapshot | None = None
    work_description: str = ""
    required_certificates: tuple[str, ...] = ()
    validity_minutes: int | None = None

    people: Mapping[str, PersonSnapshot] = field(default_factory=dict)
    roles: Mapping[Role, frozenset[str]] = field(default_factory=dict)
    permit_hazards: tuple[str, ...] = ()

    isolations: Mapping[str, IsolationRecord] = field(default_factory=dict)  # by lock id, on
    personal_locks: Mapping[str, PersonalLock] = field(default_factory=dict)  # by lock id, on
    ventilation_on: bool = False
    equipment_confirmed: frozenset[str] = frozenset()
    tests: tuple[TestRecord, ...] = ()
    monitoring_detector: str | None = None
    briefed: frozenset[str] = frozenset()
    readings_confirmed: Mapping[str, int] = field(default_factory=dict)  # person -> test seq

    approved_by: str | None = None
    approved_at: datetime | None = None
    approver_authority: ApprovalAuthority | None = None
    guardian: str | None = None

    inside: frozenset[str] = frozenset()
    first_entry_seq: int | None = None
    last_entry_seq: int | None = None
    alarms: Mapping[str, AlarmRecord] = field(default_factory=dict)  # active alarms
    suspended_seq: int | None = None
    suspended_at: datetime | None = None
    evacuation_reason: str | None = None
    after_evacuation: bool = False  # the current suspension followed an evacuation
    chunks: tuple[str, ...] = ()
    # The approver's acknowledgements of conditional SIMOPS conflicts (docs/rules.md).
    simops_acknowledgements: tuple[SimopsAcknowledged, ...] = ()

    # ----------------------------------------------------------- derived

    @property
    def profile(self) -> Profile:
        if self.space is None:
            return load_profile()
        return profile_for(self.space.profile, self.space.profile_override)

    @property
    def validity(self) -> timedelta:
        try:
            validity = self.profile.permit_validity
        except ProfileError:
            # A permit whose profile cannot be loaded is never valid (fail closed).
            return timedelta(0)
        if self.validity_minutes is not None:
            validity = min(validity, timedelta(minutes=self.validity_minutes))
        return validity

    @property
    def expires_at(self) -> datetime | None:
        return None if self.approved_at is None else self.approved_at + self.validity

    def status_at(self, now: datetime) -> Status:
        """The status at ``now``: the folded status, or ``expired`` once validity ran out."""
        expires = self.expires_at
        if self.status in _EXPIRABLE and expires is not None and now >= expires:
            return Status.EXPIRED
        return self.status

    def with_role(self, role: Role) -> frozenset[str]:
        return self.roles.get(role, frozenset())

    @property
    def entrants(self) -> frozenset[str]:
        return self.with_role(Role.ENTRANT)

    @property
    def latest_test(self) -> TestRecord | None:
        return self.tests[-1] if self.tests else None

    @property
    def latest_passing_test(self) -> TestRecord | None:
        for test in reversed(self.tests):
            if test.acceptable:
                return test
        return None

    def test_by_seq(self, seq: int) -> TestRecord | None:
        return next((t for t in self.tests if t.seq == seq), None)

    @property
    def locks_on(self) -> list[str]:
        return sorted(self.isolations) + sorted(self.personal_locks)

    def isolations_at(self, point_id: str) -> list[IsolationRecord]:
        return [r for r in self.isolations.values() if r.point_id == point_id]

    @property
    def lockboxes(self) -> frozenset[str]:
        return frozenset(r.lockbox_id for r in self.isolations.values() if r.lockbox_id)

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """A JSON-ready summary (for the CLI, the server and the tablet)."""
        return {
            "permit_id": self.permit_id,
            "seq": self.seq,
            "head_hash": self.head_hash,
            "status": (self.status_at(now) if now else self.status).value,
            "folded_status": self.status.value,
            "holder_device": self.holder_device,
            "space_id": self.space.space_id if self.space else None,
            "profile": self.space.profile if self.space else None,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at.isoformat() if self.approved_at else None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "guardian": self.guardian,
            "entrants": sorted(self.entrants),
            "inside": sorted(self.inside),
            "locks_on": self.locks_on,
            "ventilation_on": self.ventilation_on,
            "monitoring_detector": self.monitoring_detector,
            "active_alarms": sorted(self.alarms),
            "tests": [
                {
                    "seq": t.seq,
                    "acceptable": t.acceptable,
                    "source": t.source,
                    "reasons": [dict(r) for r in t.reasons],
                }
                for t in self.tests
            ],
            "readings_chunks": len(self.chunks),
        }


# ------------------------------------------------------------- atmosphere


def test_input(
    payload: AtmosphereTestRecorded, space: SpaceSnapshot | None, recorded_at: datetime
) -> dict[str, Any]:
    """The atmosphere-check input for a recorded test, judged on the permit's own terms.

    The device's copy of the space is replaced by the drafted snapshot (required
    channels, sample points, oxygen-enriched flag) and the entry instant is the
    recording time, so a device cannot drop a sample point or a channel.
    """
    test = payload.test
    if space is not None:
        test = test.model_copy(update={"space": SpaceRecord.of(space)})
    data: dict[str, Any] = test.model_copy(update={"entry_at": recorded_at.isoformat()}).model_dump(
        mode="json"
    )
    return data


def evaluate_recorded_test(
    payload: AtmosphereTestRecorded, space: SpaceSnapshot | None, recorded_at: datetime
) -> tuple[bool, tuple[Mapping[str, Any], ...], datetime | None]:
    """Re-evaluate a recorded test (see :func:`test_input`); never trust the device's verdict.

    Anything unreadable fails closed (``ATMOSPHERE_TEST_INVALID``).
    """
    from permits.atmosphere import evaluate, parse_test

    try:
        test = parse_test(test_input(payload, space, recorded_at))
        profile = (
            load_profile() if space is None else profile_for(space.profile, space.profile_override)
        )
        verdict = evaluate(test, profile)
    except PermitError as exc:
        return False, ({"code": "ATMOSPHERE_TEST_INVALID", "detail": str(exc)},), None
    return verdict.acceptable, tuple(r.as_dict() for r in verdict.reasons), test.oldest_taken_at


_STATE_FIELDS = frozenset(f.name for f in fields(PermitState))


def _evolve(state: PermitState, **changes: Any) -> PermitState:
    """``dataclasses.replace`` for the fold's state without running ``__init__``.

    Profiled (server ingest and the trace replay): ``replace`` re-ran the 40-field
    generated ``__init__`` twice per event and was half of the replay. ``PermitState``
    has no ``__post_init__`` and no ``init=False`` fields, so copying the instance dict
    and overriding the changed fields gives the same value; unknown names still raise.
    """
    unknown = changes.keys() - _STATE_FIELDS
    if unknown:
        raise TypeError(f"PermitState has no field(s) {sorted(unknown)}")
    new = object.__new__(PermitState)
    new.__dict__.update(state.__dict__)
    new.__dict__.update(changes)
    return new


# ------------------------------------------------------------------- fold


def _add_role(
    roles: Mapping[Role, frozenset[str]], role: Role, person: str
) -> dict[Role, frozenset[str]]:
    out = dict(roles)
    out[role] = out.get(role, frozenset()) | {person}
    return out


def _without(mapping: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


_EVACUABLE = frozenset(
    {Status.APPROVED, Status.ACTIVE, Status.SUSPENDED, Status.CLOSING, Status.EVACUATING}
)


def _evacuate(state: PermitState, reason: str) -> PermitState:
    if state.status not in _EVACUABLE:
        return state
    return _evolve(state, status=Status.EVACUATING, evacuation_reason=reason)


def apply(state: PermitState, event: Event) -> PermitState:
    """The state after ``event``. Pure; never raises for a rule (see the module doc)."""
    p = event.payload
    s = _evolve(
        state,
        permit_id=state.permit_id or event.permit_id,
        seq=event.seq,
        head_hash=event.hash or state.head_hash,
        last_event_at=event.occurred_at,
        holder_device=state.holder_device or event.device_id,
    )
    t = event.type
    if isinstance(p, Drafted):
        if s.status is Status.NONE:
            s = _evolve(
                s,
                status=Status.DRAFT,
                enterprise_id=p.enterprise_id,
                space=p.space,
                work_description=p.work_description,
                required_certificates=p.required_certificates,
                validity_minutes=p.validity_minutes,
            )
    elif isinstance(p, RoleAssigned):
        person = p.person
        s = _evolve(
            s,
            people={**s.people, person.person_id: person},
            roles=_add_role(s.roles, p.role, person.person_id),
        )
    elif isinstance(p, HazardIdentified):
        s = _evolve(s, permit_hazards=(*s.permit_hazards, p.hazard))
    elif isinstance(p, IsolationApplied):
        record = IsolationRecord(
            point_id=p.point_id,
            lock_id=p.lock_id,
            tag_id=p.tag_id,
            method=p.method,
            applied_by=p.applied_by,
            applied_at=event.occurred_at,
            lockbox_id=p.lockbox_id,
        )
        s = _evolve(s, isolations={**s.isolations, p.lock_id: record})
    elif isinstance(p, IsolationVerified):
        found = s.isolations.get(p.lock_id)
        if found is not None and found.point_id == p.point_id:
            verified = replace(found, verified_by=p.verified_by, verified_at=event.occurred_at)
            s = _evolve(s, isolations={**s.isolations, p.lock_id: verified})
    elif isinstance(p, IsolationRemoved):
        s = _evolve(s, isolations=_without(s.isolations, p.lock_id))
    elif isinstance(p, PersonalLockApplied):
        lock = PersonalLock(p.lock_id, p.lockbox_id, p.person_id)
        s = _evolve(s, personal_locks={**s.personal_locks, p.lock_id: lock})
    elif isinstance(p, PersonalLockRemoved):
        s = _evolve(s, personal_locks=_without(s.personal_locks, p.lock_id))
    elif t is EventType.VENTILATION_STARTED:
        s = _evolve(s, ventilation_on=True)
    elif t is EventType.VENTILATION_STOPPED:
        s = _evolve(s, ventilation_on=False)
    elif isinstance(p, EquipmentConfirmed):
        s = _evolve(s, equipment_confirmed=s.equipment_confirmed | set(p.items))
    elif isinstance(p, AtmosphereTestRecorded):
        acceptable, reasons, oldest = evaluate_recorded_test(p, s.space, event.occurred_at)
        record_t = TestRecord(
            seq=event.seq,
            recorded_at=event.occurred_at,
            acceptable=acceptable,
            reasons=reasons,
            oldest_sample_at=oldest,
            source=p.source,
            tested_by=p.tested_by,
            countersigned_by=p.countersign.person_id if p.countersign else None,
            detector_serial=p.detector.serial,
        )
        s = _evolve(s, tests=(*s.tests, record_t))
    elif isinstance(p, MonitoringStarted):
        s = _evolve(s, monitoring_detector=p.detector.serial)
    elif t is EventType.MONITORING_STOPPED:
        s = _evolve(s, monitoring_detector=None)
    elif isinstance(p, ReadingsConfirmed):
        s = _evolve(s, readings_confirmed={**s.readings_confirmed, p.signoff.person_id: p.test_seq})
    elif isinstance(p, BriefingSigned):
        s = _evolve(s, briefed=s.briefed | {p.signoff.person_id})
    elif isinstance(p, Approved):
        if s.status is Status.DRAFT:
            approver = s.people.get(p.signoff.person_id)
            s = _evolve(
                s,
                status=Status.APPROVED,
                approved_by=p.signoff.person_id,
                approved_at=event.occurred_at,
                approver_authority=approver.approval_authority if approver else None,
            )
    elif isinstance(p, GuardianOnDuty):
        s = _evolve(s, guardian=p.signoff.person_id)
    elif isinstance(p, GuardianHandover):
        s = _evolve(s, guardian=p.incoming.person_id)
    elif t is EventType.GUARDIAN_LEFT:
        s = _evolve(s, guardian=None)
        if s.inside:
            s = _evacuate(s, "guardian_left")
    elif isinstance(p, EntrantEntered):
        s = _evolve(
            s,
            inside=s.inside | {p.entrant_id},
            first_entry_seq=s.first_entry_seq or event.seq,
            last_entry_seq=event.seq,
        )
        if s.status is Status.APPROVED:
            s = _evolve(s, status=Status.ACTIVE)
    elif isinstance(p, EntrantExited):
        s = _evolve(s, inside=s.inside - {p.entrant_id})
        if s.status is Status.EVACUATING and not s.inside:
            s = _evolve(
                s,
                status=Status.SUSPENDED,
                suspended_seq=event.seq,
                suspended_at=event.occurred_at,
                after_evacuation=True,
            )
    elif isinstance(p, ReadingsChunkRecorded):
        s = _evolve(s, chunks=(*s.chunks, p.sha256))
    elif isinstance(p, AlarmRaised):
        alarm = AlarmRecord(p.alarm_id, p.kind, event.seq, event.occurred_at, p.channel)
        s = _evolve(s, alarms={**s.alarms, p.alarm_id: alarm})
        s = _evacuate(s, f"alarm:{p.kind.value}")
    elif isinstance(p, AlarmCleared):
        s = _evolve(s, alarms=_without(s.alarms, p.alarm_id))
    elif t is EventType.EVACUATION_ORDERED:
        s = _evacuate(s, "ordered")
    elif t is EventType.SUSPENDED:
        if s.status not in TERMINAL and s.status is not Status.NONE:
            s = _evolve(
                s,
                status=Status.SUSPENDED,
                suspended_seq=event.seq,
                suspended_at=event.occurred_at,
                after_evacuation=s.status is Status.EVACUATING,
            )
    elif t is EventType.RESUMED:
        if s.status is Status.SUSPENDED:
            s = _evolve(
                s,
                status=Status.ACTIVE if s.first_entry_seq else Status.APPROVED,
                suspended_seq=None,
                suspended_at=None,
                after_evacuation=False,
                evacuation_reason=None,
            )
    elif t is EventType.CLOSING_STARTED:
        if s.status not in TERMINAL:
            s = _evolve(s, status=Status.CLOSING)
    elif t is EventType.CLOSED:
        s = _evolve(s, status=Status.CLOSED)
    elif t is EventType.CANCELLED:
        if s.status is not Status.CLOSED:
            s = _evolve(s, status=Status.CANCELLED)
    elif t is EventType.EXPIRED:
        if s.status not in TERMINAL:
            s = _evolve(s, status=Status.EXPIRED)
    elif isinstance(p, DeviceHandover):
        s = _evolve(s, holder_device=p.to_device_id)
    elif isinstance(p, SimopsAcknowledged):
        s = _evolve(s, simops_acknowledgements=(*s.simops_acknowledgements, p))
    return s


def fold(events: Iterable[Event], state: PermitState | None = None) -> PermitState:
    current = state or PermitState()
    for event in events:
        current = apply(current, event)
    return current

"""Permit events: the append-only record a permit's state is folded from.

An :class:`Event` is an immutable envelope (id, permit, sequence number, type,
time with offset, actor, device) around a typed payload. Payloads carry
snapshots of everything the rules need (the space, the people's training and
certificates), so a permit chain can be replayed years later with no outside
lookups.

Commands build unsealed events (``prev_hash``, ``hash`` and ``sig`` empty);
:func:`permits.integrity.seal` fills them in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID, uuid4

from pydantic import (
    ConfigDict,
    Field,
    SerializeAsAny,
    StringConstraints,
    ValidationError,
    model_validator,
)

from permits.atmosphere_record import AtmosphereRecord
from permits.canonical import canonical_json
from permits.errors import InvalidInput
from permits.plausible import Instant, PlausibleTimes

# What the ledger knew, as a permit records it: defined in permits.snapshots, part of
# the event schema (imported from here).
from permits.snapshots import (
    ApprovalAuthority,
    Certificate,
    ContractorSnapshot,
    DelegationSnapshot,
    DetectorIdentity,
    Id,
    IsolationKind,
    IsolationPointTemplate,
    PersonSnapshot,
    SpaceSnapshot,
)

__all__ = [
    "GENESIS_HASH",
    "PAYLOAD_TYPES",
    "AlarmCleared",
    "AlarmKind",
    "AlarmRaised",
    "ApprovalAuthority",
    "Approved",
    "AtmosphereRecord",
    "AtmosphereTestRecorded",
    "BriefingSigned",
    "Cancelled",
    "Certificate",
    "Closed",
    "ClosingStarted",
    "ContractorSnapshot",
    "DelegationSnapshot",
    "DetectorIdentity",
    "DeviceHandover",
    "Drafted",
    "EntrantEntered",
    "EntrantExited",
    "EquipmentConfirmed",
    "EvacuationOrdered",
    "Event",
    "EventType",
    "Expired",
    "GuardianHandover",
    "GuardianLeft",
    "GuardianOnDuty",
    "Hash64",
    "HazardIdentified",
    "Id",
    "IsolationApplied",
    "IsolationKind",
    "IsolationMethod",
    "IsolationPointTemplate",
    "IsolationRemoved",
    "IsolationVerified",
    "MonitoringSnapshot",
    "MonitoringStarted",
    "MonitoringStopped",
    "Payload",
    "PersonSnapshot",
    "PersonalLockApplied",
    "PersonalLockRemoved",
    "ReadingsChunkRecorded",
    "ReadingsConfirmed",
    "RemovalException",
    "Resumed",
    "Role",
    "RoleAssigned",
    "SignOff",
    "SignOffMeaning",
    "SimopsAcknowledged",
    "SimopsAcknowledgement",
    "SpaceSnapshot",
    "Suspended",
    "VentilationStarted",
    "VentilationStopped",
    "new_event",
    "parse_event",
    "register_payloads",
]

Hash64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

# prev_hash of a permit's first event.
GENESIS_HASH = "0" * 64


class EventType(StrEnum):
    DRAFTED = "drafted"
    ROLE_ASSIGNED = "role_assigned"
    HAZARD_IDENTIFIED = "hazard_identified"
    ISOLATION_APPLIED = "isolation_applied"
    ISOLATION_VERIFIED = "isolation_verified"
    PERSONAL_LOCK_APPLIED = "personal_lock_applied"
    PERSONAL_LOCK_REMOVED = "personal_lock_removed"
    VENTILATION_STARTED = "ventilation_started"
    VENTILATION_STOPPED = "ventilation_stopped"
    EQUIPMENT_CONFIRMED = "equipment_confirmed"
    ATMOSPHERE_TEST_RECORDED = "atmosphere_test_recorded"
    MONITORING_STARTED = "monitoring_started"
    MONITORING_STOPPED = "monitoring_stopped"
    READINGS_CONFIRMED = "readings_confirmed"
    BRIEFING_SIGNED = "briefing_signed"
    APPROVED = "approved"
    GUARDIAN_ON_DUTY = "guardian_on_duty"
    GUARDIAN_HANDOVER = "guardian_handover"
    GUARDIAN_LEFT = "guardian_left"
    ENTRANT_ENTERED = "entrant_entered"
    ENTRANT_EXITED = "entrant_exited"
    READINGS_CHUNK_RECORDED = "readings_chunk_recorded"
    ALARM_RAISED = "alarm_raised"
    ALARM_CLEARED = "alarm_cleared"
    EVACUATION_ORDERED = "evacuation_ordered"
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    CLOSING_STARTED = "closing_started"
    ISOLATION_REMOVED = "isolation_removed"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    DEVICE_HANDOVER = "device_handover"
    # Hot work (动火作业, permits/hot_work): a second permit type with its own events.
    HOT_WORK_DRAFTED = "hot_work_drafted"
    HOT_WORK_ROLE_ASSIGNED = "hot_work_role_assigned"
    HOT_WORK_APPROVED = "hot_work_approved"
    HOT_WORK_GAS_ANALYSED = "hot_work_gas_analysed"
    HOT_WORK_MONITORING_STARTED = "hot_work_monitoring_started"
    HOT_WORK_MONITORING_STOPPED = "hot_work_monitoring_stopped"
    HOT_WORK_FIRE_STARTED = "hot_work_fire_started"
    HOT_WORK_INTERRUPTED = "hot_work_interrupted"
    HOT_WORK_DONE = "hot_work_done"
    HOT_WORK_FIRE_WATCH_STARTED = "hot_work_fire_watch_started"
    HOT_WORK_WATCH_CONFIRMED = "hot_work_watch_confirmed"
    HOT_WORK_FIRE_WATCH_ENDED = "hot_work_fire_watch_ended"
    HOT_WORK_CLOSED = "hot_work_closed"
    HOT_WORK_ALARM_RAISED = "hot_work_alarm_raised"
    HOT_WORK_ALARM_CLEARED = "hot_work_alarm_cleared"
    HOT_WORK_SUSPENDED = "hot_work_suspended"
    HOT_WORK_RESUMED = "hot_work_resumed"
    HOT_WORK_CANCELLED = "hot_work_cancelled"
    HOT_WORK_SIMOPS_ACKNOWLEDGED = "hot_work_simops_acknowledged"
    # A confined-space permit's approver accepts a conditional SIMOPS conflict
    # (payload SimopsAcknowledged below; appended: existing chains hash as before).
    SIMOPS_ACKNOWLEDGED = "simops_acknowledged"


class _Model(PlausibleTimes):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ------------------------------------------------------------ shared parts


class SignOffMeaning(StrEnum):
    APPROVE = "approve"
    GUARD = "guard"
    BRIEF = "brief"
    CLOSE = "close"
    CONFIRM_READINGS = "confirm_readings"
    COUNTERSIGN = "countersign"
    HANDOVER_OUT = "handover_out"
    HANDOVER_IN = "handover_in"
    OVERRIDE_STALE_LEDGER = "override_stale_ledger"


class SignOff(_Model):
    """A person's signature on the tablet: who, meaning what, when, over which state.

    ``state_hash`` is the hash of the chain head the person saw (the new
    event's ``prev_hash``), so a signature cannot be moved to another state.
    """

    person_id: Id
    meaning: SignOffMeaning
    signed_at: Instant
    state_hash: Hash64
    pin_verified: bool
    signature_image_sha256: Hash64 | None = None


class Role(StrEnum):
    WORK_LEADER = "work_leader"
    APPROVER = "approver"
    GUARDIAN = "guardian"
    ENTRANT = "entrant"


class IsolationMethod(StrEnum):
    BLIND_FLANGE = "blind_flange"
    PIPE_SECTION_REMOVED = "pipe_section_removed"
    CLOSED_VALVE = "closed_valve"
    WATER_SEAL = "water_seal"
    ELECTRICAL_LOCKOUT = "electrical_lockout"
    MECHANICAL_BLOCK = "mechanical_block"


class AlarmKind(StrEnum):
    GAS = "gas"
    STEL = "stel"
    STALE_STREAM = "stale_stream"  # monitoring lost
    SENSOR_FAULT = "sensor_fault"
    MANUAL = "manual"


class MonitoringSnapshot(_Model):
    """The live monitor's view at the instant of an entry."""

    detector_serial: Id
    last_reading_at: Instant
    acceptable: bool


# ---------------------------------------------------------------- payloads


class Payload(_Model):
    event_type: ClassVar[EventType]


class Drafted(Payload):
    event_type = EventType.DRAFTED
    enterprise_id: Id
    space: SpaceSnapshot
    work_description: str = Field(min_length=1)
    required_certificates: tuple[str, ...] = ()
    # Optional shorter validity than the profile's (an enterprise may shorten, never lengthen).
    validity_minutes: int | None = Field(default=None, gt=0)
    # When the tablet's ledger copy was last pulled; a copy older than the limit needs a
    # supervisor's signed reason (docs/rules.md, Every ledger fact reaches its rule).
    ledger_as_of: Instant | None = None
    stale_ledger_override: SignOff | None = None
    stale_ledger_reason: str = ""


class RoleAssigned(Payload):
    event_type = EventType.ROLE_ASSIGNED
    role: Role
    person: PersonSnapshot


class HazardIdentified(Payload):
    event_type = EventType.HAZARD_IDENTIFIED
    hazard: str = Field(min_length=1)
    controls: tuple[str, ...] = ()


class IsolationApplied(Payload):
    event_type = EventType.ISOLATION_APPLIED
    point_id: Id
    method: IsolationMethod
    lock_id: Id
    tag_id: Id
    applied_by: Id
    # Group lockout: the lock's key is put in this group lockbox.
    lockbox_id: Id | None = None


class IsolationVerified(Payload):
    event_type = EventType.ISOLATION_VERIFIED
    point_id: Id
    lock_id: Id
    verified_by: Id


class RemovalException(_Model):
    """OSHA 1910.147(e)(3): the owner is absent; verified, contacted, informed."""

    verified_absent: bool
    contact_attempted: bool
    contact_note: str = ""
    to_be_informed: bool
    authorised_by: Id


class PersonalLockApplied(Payload):
    event_type = EventType.PERSONAL_LOCK_APPLIED
    lockbox_id: Id
    lock_id: Id
    person_id: Id


class PersonalLockRemoved(Payload):
    event_type = EventType.PERSONAL_LOCK_REMOVED
    lockbox_id: Id
    lock_id: Id
    removed_by: Id
    exception: RemovalException | None = None


class VentilationStarted(Payload):
    event_type = EventType.VENTILATION_STARTED
    method: str = "forced"
    equipment: str = ""


class VentilationStopped(Payload):
    event_type = EventType.VENTILATION_STOPPED
    reason: str = ""


class EquipmentConfirmed(Payload):
    """The guardian checks PPE and rescue items on site, item by item (MEM13 Art. 14)."""

    event_type = EventType.EQUIPMENT_CONFIRMED
    confirmed_by: Id
    items: tuple[str, ...] = Field(min_length=1)


class AtmosphereTestRecorded(Payload):
    """A pre-entry (or re-) test: the full sample data as the atmosphere check reads it.

    ``test`` is the JSON object of ``cspermit atmosphere check`` (entry_at,
    space, detector, samples), typed as recorded (:mod:`permits.atmosphere_record`;
    a dict of that shape is accepted and hashes as before). ``verdict`` is what the
    device computed; replay recomputes it and never trusts this copy.
    """

    event_type = EventType.ATMOSPHERE_TEST_RECORDED
    test: AtmosphereRecord
    detector: DetectorIdentity
    source: Literal["driver", "manual"]
    tested_by: Id
    countersign: SignOff | None = None
    verdict: dict[str, Any] = Field(default_factory=dict)


class MonitoringStarted(Payload):
    event_type = EventType.MONITORING_STARTED
    detector: DetectorIdentity
    channels: tuple[str, ...] = Field(min_length=1)
    sample_point: str = ""


class MonitoringStopped(Payload):
    event_type = EventType.MONITORING_STOPPED
    detector_serial: Id
    reason: str = ""


class ReadingsConfirmed(Payload):
    """An entrant saw the values and verdict of a passing test and signed."""

    event_type = EventType.READINGS_CONFIRMED
    test_seq: int = Field(ge=1)
    signoff: SignOff


class BriefingSigned(Payload):
    event_type = EventType.BRIEFING_SIGNED
    briefed_by: Id
    signoff: SignOff  # the entrant's, meaning brief


class Approved(Payload):
    event_type = EventType.APPROVED
    signoff: SignOff


class GuardianOnDuty(Payload):
    event_type = EventType.GUARDIAN_ON_DUTY
    signoff: SignOff


class GuardianHandover(Payload):
    event_type = EventType.GUARDIAN_HANDOVER
    outgoing: SignOff
    incoming: SignOff


class GuardianLeft(Payload):
    event_type = EventType.GUARDIAN_LEFT
    guardian_id: Id
    reason: str = ""


class EntrantEntered(Payload):
    event_type = EventType.ENTRANT_ENTERED
    entrant_id: Id
    monitoring: MonitoringSnapshot | None = None


class EntrantExited(Payload):
    event_type = EventType.ENTRANT_EXITED
    entrant_id: Id


class ReadingsChunkRecorded(Payload):
    event_type = EventType.READINGS_CHUNK_RECORDED
    sha256: Hash64
    detector_serial: Id
    start: Instant
    end: Instant
    channels: tuple[str, ...] = ()
    values: int = Field(ge=0, default=0)

    @model_validator(mode="after")
    def _ordered(self) -> ReadingsChunkRecorded:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class AlarmRaised(Payload):
    event_type = EventType.ALARM_RAISED
    alarm_id: Id
    kind: AlarmKind
    channel: str | None = None
    point: str | None = None
    value: float | None = None
    limit: float | None = None
    unit: str | None = None


class AlarmCleared(Payload):
    event_type = EventType.ALARM_CLEARED
    alarm_id: Id


class EvacuationOrdered(Payload):
    event_type = EventType.EVACUATION_ORDERED
    reason: str = Field(min_length=1)


class Suspended(Payload):
    event_type = EventType.SUSPENDED
    reason: str = Field(min_length=1)


class Resumed(Payload):
    event_type = EventType.RESUMED
    test_seq: int = Field(ge=1)  # the new passing test this resumption rests on


class ClosingStarted(Payload):
    event_type = EventType.CLOSING_STARTED
    reason: str = "work finished"


class IsolationRemoved(Payload):
    event_type = EventType.ISOLATION_REMOVED
    point_id: Id
    lock_id: Id
    removed_by: Id
    exception: RemovalException | None = None


class Closed(Payload):
    event_type = EventType.CLOSED
    signoff: SignOff


class Cancelled(Payload):
    event_type = EventType.CANCELLED
    reason: str = Field(min_length=1)


class Expired(Payload):
    event_type = EventType.EXPIRED


class DeviceHandover(Payload):
    """The permit moves to another tablet; signed by the old device."""

    event_type = EventType.DEVICE_HANDOVER
    to_device_id: Id
    to_public_key: str = Field(min_length=1)  # base64 raw Ed25519 key


class SimopsAcknowledgement(Payload):
    """Any permit type's approver accepts a conditional SIMOPS conflict with another
    permit, naming the coordinator, over the pair's permits.simops.pair_digest
    (docs/rules.md, SIMOPS). Each type's event adds only its event type (canonical
    JSON sorts keys: where a field is declared reaches no hash)."""

    other_permit_id: Id
    coordinator_id: Id
    digest: Hash64
    signoff: SignOff


class SimopsAcknowledged(SimopsAcknowledgement):
    event_type = EventType.SIMOPS_ACKNOWLEDGED  # the confined-space permit's


_PAYLOAD_TYPES: dict[EventType, type[Payload]] = {
    cls.event_type: cls
    for cls in (
        Drafted,
        RoleAssigned,
        HazardIdentified,
        IsolationApplied,
        IsolationVerified,
        PersonalLockApplied,
        PersonalLockRemoved,
        VentilationStarted,
        VentilationStopped,
        EquipmentConfirmed,
        AtmosphereTestRecorded,
        MonitoringStarted,
        MonitoringStopped,
        ReadingsConfirmed,
        BriefingSigned,
        Approved,
        GuardianOnDuty,
        GuardianHandover,
        GuardianLeft,
        EntrantEntered,
        EntrantExited,
        ReadingsChunkRecorded,
        AlarmRaised,
        AlarmCleared,
        EvacuationOrdered,
        Suspended,
        Resumed,
        ClosingStarted,
        IsolationRemoved,
        Closed,
        Cancelled,
        Expired,
        DeviceHandover,
        SimopsAcknowledged,
    )
}
# Read-only to everyone else; a second permit type adds its classes with register_payloads.
PAYLOAD_TYPES: Mapping[EventType, type[Payload]] = MappingProxyType(_PAYLOAD_TYPES)


def register_payloads(*classes: type[Payload]) -> None:
    """Add another permit type's payload classes (their event types are members of
    :class:`EventType`; each has exactly one class)."""
    for cls in classes:
        if cls.event_type in _PAYLOAD_TYPES:
            raise ValueError(f"event type {cls.event_type.value} already has a payload class")
        _PAYLOAD_TYPES[cls.event_type] = cls


# ------------------------------------------------------------------ event


# A permit id names the permit in URLs, exports and the bureau's cases: ASCII letters,
# digits and . _ : - only, so no control character or look-alike (Cyrillic "Р" for "P")
# can pass for another permit's id.
PermitId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]


class Event(_Model):
    event_id: UUID
    permit_id: PermitId
    seq: int = Field(ge=1)
    type: EventType
    occurred_at: Instant
    actor: Id
    device_id: Id
    payload: SerializeAsAny[Payload]
    prev_hash: Hash64 | None = None
    hash: Hash64 | None = None
    sig: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _typed_payload(cls, data: Any) -> Any:
        # The payload's class is chosen by the envelope's ``type``.
        if isinstance(data, Mapping) and isinstance(data.get("payload"), Mapping):
            try:
                kind = EventType(str(data.get("type")))
            except ValueError:
                return data
            data = dict(data)
            try:
                data["payload"] = PAYLOAD_TYPES[kind].model_validate(data["payload"])
            except ValidationError as exc:
                raise _PayloadInvalid(exc) from exc  # keeps "payload." in the field's path
        return data

    @model_validator(mode="after")
    def _payload_matches_type(self) -> Event:
        if type(self.payload) is not PAYLOAD_TYPES[self.type]:
            raise ValueError(
                f"payload is a {type(self.payload).__name__}, "
                f"expected {PAYLOAD_TYPES[self.type].__name__} for type {self.type.value}"
            )
        return self

    @property
    def sealed(self) -> bool:
        return None not in (self.prev_hash, self.hash, self.sig)

    def hashed_fields(self) -> dict[str, Any]:
        """Every field except ``hash`` and ``sig``, as Python values for canonical JSON."""
        return {
            "event_id": self.event_id,
            "permit_id": self.permit_id,
            "seq": self.seq,
            "type": self.type,
            "occurred_at": self.occurred_at,
            "actor": self.actor,
            "device_id": self.device_id,
            # Fields equal to their schema default are left out, so adding an
            # optional field to a payload later does not change old hashes.
            "payload": self.payload.model_dump(mode="python", exclude_defaults=True),
            "prev_hash": self.prev_hash,
        }

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict that :func:`parse_event` reads back to an equal event."""
        plain = {**self.hashed_fields(), "hash": self.hash, "sig": self.sig}
        loaded: dict[str, Any] = json.loads(canonical_json(plain))
        return loaded


def new_event(
    payload: Payload,
    *,
    permit_id: str,
    seq: int,
    actor: str,
    device_id: str,
    occurred_at: datetime,
    event_id: UUID | None = None,
) -> Event:
    return Event(
        event_id=event_id or uuid4(),
        permit_id=permit_id,
        seq=seq,
        type=payload.event_type,
        occurred_at=occurred_at,
        actor=actor,
        device_id=device_id,
        payload=payload,
    )


class _PayloadInvalid(Exception):
    # Not a ValueError, so pydantic passes it through instead of re-rooting its path.
    def __init__(self, error: ValidationError) -> None:
        super().__init__(str(error))
        self.error = error


def _where(exc: ValidationError, prefix: tuple[str, ...] = ()) -> tuple[str, str]:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in (*prefix, *first["loc"])) or "(event)"
    return loc, str(first["msg"])


def parse_event(data: Any) -> Event:
    """An event from its JSON form; :class:`InvalidInput` names the bad field."""
    if not isinstance(data, Mapping):
        raise InvalidInput("event", "a JSON object", type(data).__name__)
    try:
        return Event.model_validate(data)
    except _PayloadInvalid as exc:
        loc, msg = _where(exc.error, ("payload",))
        raise InvalidInput(loc, msg) from exc
    except ValidationError as exc:
        loc, msg = _where(exc)
        raise InvalidInput(loc, msg) from exc


# Hot work's payloads register themselves; imported last, after every name they use.
import permits.hot_work.events  # noqa: E402, F401

"""The confined-space permit as a permit type: ONE table of its events.

Each row says in which statuses (at the event's instant, expiry included) an event
may be recorded and which rule judges it (docs/rules.md). Exit is accepted in every
status; so are alarms, readings chunks and an evacuation order: the tablet must
always be able to record what happened.
"""

from __future__ import annotations

from permits.commands.common import no_rule
from permits.commands.permit_type import PermitType, Step, register_permit_type
from permits.commands.rules import atmosphere, entry, isolation, lifecycle, roster
from permits.events import EventType
from permits.state import Status

__all__ = ["CONFINED_SPACE"]

_NONE = frozenset({Status.NONE})
_DRAFT = frozenset({Status.DRAFT})
_OPEN = frozenset({Status.DRAFT, Status.APPROVED, Status.ACTIVE, Status.SUSPENDED})
_LIVE = frozenset(
    {
        Status.DRAFT,
        Status.APPROVED,
        Status.ACTIVE,
        Status.EVACUATING,
        Status.SUSPENDED,
        Status.CLOSING,
    }
)
_ANY = frozenset(Status) - {Status.NONE}

_TABLE: dict[EventType, Step] = {
    EventType.DRAFTED: Step(_NONE, lifecycle.drafted),
    # roster and people
    EventType.ROLE_ASSIGNED: Step(_OPEN, roster.role_assigned),
    EventType.HAZARD_IDENTIFIED: Step(_LIVE, no_rule),
    EventType.BRIEFING_SIGNED: Step(_OPEN, roster.briefing_signed),
    EventType.APPROVED: Step(_DRAFT, roster.approved),
    # LOTO and isolation
    EventType.ISOLATION_APPLIED: Step(_OPEN, isolation.isolation_applied),
    EventType.ISOLATION_VERIFIED: Step(_OPEN, isolation.isolation_verified),
    EventType.PERSONAL_LOCK_APPLIED: Step(_OPEN, isolation.personal_lock_applied),
    EventType.PERSONAL_LOCK_REMOVED: Step(_ANY, isolation.personal_lock_removed),
    EventType.ISOLATION_REMOVED: Step(_ANY - {Status.CLOSED}, isolation.isolation_removed),
    # atmosphere and monitoring
    EventType.VENTILATION_STARTED: Step(_LIVE, no_rule),
    EventType.VENTILATION_STOPPED: Step(_ANY, atmosphere.ventilation_stopped),
    EventType.ATMOSPHERE_TEST_RECORDED: Step(_LIVE, atmosphere.atmosphere_test),
    EventType.MONITORING_STARTED: Step(_LIVE, atmosphere.monitoring_started),
    EventType.MONITORING_STOPPED: Step(_ANY, atmosphere.monitoring_stopped),
    EventType.READINGS_CONFIRMED: Step(_OPEN, atmosphere.readings_confirmed),
    EventType.READINGS_CHUNK_RECORDED: Step(_ANY, no_rule),
    # entry and guardian
    EventType.EQUIPMENT_CONFIRMED: Step(_OPEN, entry.equipment_confirmed),
    EventType.GUARDIAN_ON_DUTY: Step(_LIVE, entry.guardian_on_duty),
    EventType.GUARDIAN_HANDOVER: Step(_ANY, entry.guardian_handover),
    EventType.GUARDIAN_LEFT: Step(_ANY, entry.guardian_left),
    # The interlock decides (its condition 1 names the status).
    EventType.ENTRANT_ENTERED: Step(_ANY, entry.entrant_entered),
    EventType.ENTRANT_EXITED: Step(_ANY, entry.entrant_exited),
    # close-out and lifecycle
    EventType.ALARM_RAISED: Step(_ANY, lifecycle.alarm_raised),
    EventType.ALARM_CLEARED: Step(_ANY, lifecycle.alarm_cleared),
    EventType.EVACUATION_ORDERED: Step(_ANY, no_rule),
    EventType.SUSPENDED: Step(
        frozenset({Status.APPROVED, Status.ACTIVE, Status.EVACUATING}), lifecycle.suspended
    ),
    EventType.RESUMED: Step(frozenset({Status.SUSPENDED}), lifecycle.resumed),
    EventType.CLOSING_STARTED: Step(
        frozenset({Status.APPROVED, Status.ACTIVE, Status.SUSPENDED}), no_rule
    ),
    EventType.CLOSED: Step(frozenset({Status.CLOSING}), lifecycle.closed),
    EventType.CANCELLED: Step(_LIVE, no_rule),
    # Its own rule compares the folded status with the clock.
    EventType.EXPIRED: Step(_ANY, lifecycle.expired, status_at_instant=False),
    EventType.DEVICE_HANDOVER: Step(_ANY, lifecycle.device_handover),
    # SIMOPS: once approved, while the permit is open.
    EventType.SIMOPS_ACKNOWLEDGED: Step(_OPEN - _DRAFT, roster.simops_acknowledged),
}

CONFINED_SPACE = register_permit_type(
    PermitType(
        name="confined_space",
        statuses=frozenset(Status),
        initial=Status.NONE,
        opening=EventType.DRAFTED,
        table=_TABLE,
    )
)

"""``check`` and ``decide``, dispatched through the permit type that owns the event,
and the named commands (sugar over ``decide``)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from permits.commands.codes import Code
from permits.commands.permit_type import FoldedPermit, permit_type_of
from permits.errors import ProfileError, RuleViolation, Unmet
from permits.events import (
    AlarmRaised,
    Drafted,
    EntrantEntered,
    EntrantExited,
    Event,
    MonitoringSnapshot,
    Payload,
    new_event,
)
from permits.state import PermitState

__all__ = ["check", "decide", "draft", "enter", "exit_", "raise_alarm"]


def check(state: FoldedPermit, event: Event, now: datetime | None = None) -> list[Unmet]:
    """Every rule ``event`` breaks against ``state`` (the state just before it)."""
    at = now or event.occurred_at
    permit_type = permit_type_of(event.type)
    opening = event.type is permit_type.opening
    if not opening and state.status is permit_type.initial:
        return [Unmet(Code.NO_PERMIT)]
    if opening and state.status is not permit_type.initial:
        return [Unmet(Code.PERMIT_ALREADY_DRAFTED, {"permit": state.permit_id})]
    unmet: list[Unmet] = []
    if state.permit_id is not None and event.permit_id != state.permit_id:
        unmet.append(
            Unmet(Code.WRONG_PERMIT_EVENT, {"got": event.permit_id, "expected": state.permit_id})
        )
    if event.seq != state.seq + 1:
        unmet.append(Unmet(Code.OUT_OF_SEQUENCE, {"got": event.seq, "expected": state.seq + 1}))
    step = permit_type.step(event.type)
    status = state.status_at(at) if step.status_at_instant else state.status
    if status not in step.allowed:
        unmet.append(
            Unmet(
                Code.NOT_ALLOWED_IN_STATUS,
                {
                    "action": event.type.value,
                    "status": status.value,
                    "allowed": ", ".join(sorted(s.value for s in step.allowed)),
                },
            )
        )
        return unmet
    try:
        unmet.extend(step.rule(state, event.payload, at))
    except ProfileError as exc:
        # The permit's profile cannot be loaded: nothing that depends on it may pass.
        space = getattr(state, "space", None)
        profile = space.profile if space else "-"
        unmet.append(Unmet(Code.PERMIT_PROFILE_UNKNOWN, {"profile": profile, "detail": str(exc)}))
    return unmet


def decide(
    state: FoldedPermit,
    payload: Payload,
    now: datetime,
    *,
    actor: str,
    device_id: str,
    permit_id: str | None = None,
    event_id: UUID | None = None,
) -> Event:
    """The next event of the permit for ``payload`` at ``now``, or a RuleViolation."""
    pid = permit_id or state.permit_id
    if pid is None:
        raise RuleViolation([Unmet(Code.NO_PERMIT)])
    event = new_event(
        payload,
        permit_id=pid,
        seq=state.seq + 1,
        actor=actor,
        device_id=device_id,
        occurred_at=now,
        event_id=event_id,
    )
    unmet = check(state, event, now)
    if unmet:
        raise RuleViolation(unmet)
    return event


def draft(permit_id: str, payload: Drafted, now: datetime, *, actor: str, device_id: str) -> Event:
    return decide(
        PermitState(), payload, now, actor=actor, device_id=device_id, permit_id=permit_id
    )


def enter(
    state: PermitState,
    entrant_id: str,
    now: datetime,
    *,
    actor: str,
    device_id: str,
    monitoring: MonitoringSnapshot | None = None,
) -> Event:
    payload = EntrantEntered(entrant_id=entrant_id, monitoring=monitoring)
    return decide(state, payload, now, actor=actor, device_id=device_id)


def exit_(
    state: PermitState, entrant_id: str, now: datetime, *, actor: str, device_id: str
) -> Event:
    return decide(
        state, EntrantExited(entrant_id=entrant_id), now, actor=actor, device_id=device_id
    )


def raise_alarm(
    state: PermitState, alarm: AlarmRaised, now: datetime, *, actor: str, device_id: str
) -> Event:
    return decide(state, alarm, now, actor=actor, device_id=device_id)

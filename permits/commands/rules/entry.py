"""Entry and guardian: the guardian on duty, handovers, equipment on site, entry and exit.

Entry is judged by the interlock (:func:`permits.interlock.entry_unmet`), the same
conditions the tablet shows before anyone goes in.
"""

from __future__ import annotations

from datetime import datetime

from permits.commands.codes import Code
from permits.commands.common import signoff_unmet
from permits.errors import Unmet
from permits.events import (
    EntrantEntered,
    EntrantExited,
    EquipmentConfirmed,
    GuardianHandover,
    GuardianLeft,
    GuardianOnDuty,
    Role,
    SignOffMeaning,
)
from permits.interlock import entry_unmet, training_valid
from permits.state import PermitState

__all__ = [
    "entrant_entered",
    "entrant_exited",
    "equipment_confirmed",
    "guardian_handover",
    "guardian_left",
    "guardian_on_duty",
]


def equipment_confirmed(state: PermitState, p: EquipmentConfirmed, now: datetime) -> list[Unmet]:
    assert state.space is not None
    unmet: list[Unmet] = []
    if p.confirmed_by != state.guardian:
        unmet.append(Unmet(Code.CONFIRMER_NOT_GUARDIAN, {"person": p.confirmed_by}))
    required = {*state.space.required_ppe, *state.space.rescue_items}
    for item in p.items:
        if item not in required:
            unmet.append(Unmet(Code.EQUIPMENT_ITEM_UNKNOWN, {"item": item}))
    return unmet


def _guardian_fit(state: PermitState, person_id: str, now: datetime) -> list[Unmet]:
    facts = {"person": person_id}
    unmet: list[Unmet] = []
    if person_id not in state.with_role(Role.GUARDIAN):
        unmet.append(Unmet(Code.GUARDIAN_NOT_ASSIGNED, facts))
    if person_id in state.entrants:
        unmet.append(Unmet(Code.GUARDIAN_MUST_BE_ENTRANT_FREE, facts))
    if not training_valid(state.people.get(person_id), now):
        unmet.append(Unmet(Code.PERSON_TRAINING_INVALID, {**facts, "date": now.date().isoformat()}))
    return unmet


def guardian_on_duty(state: PermitState, p: GuardianOnDuty, now: datetime) -> list[Unmet]:
    unmet: list[Unmet] = []
    if state.guardian is not None:
        unmet.append(Unmet(Code.GUARDIAN_ALREADY_ON_DUTY, {"person": state.guardian}))
    unmet.extend(_guardian_fit(state, p.signoff.person_id, now))
    unmet.extend(signoff_unmet(state, p.signoff, SignOffMeaning.GUARD, now))
    return unmet


def guardian_handover(state: PermitState, p: GuardianHandover, now: datetime) -> list[Unmet]:
    unmet: list[Unmet] = []
    if p.outgoing.person_id != state.guardian:
        unmet.append(Unmet(Code.GUARDIAN_NOT_CURRENT, {"person": p.outgoing.person_id}))
    if p.outgoing.person_id == p.incoming.person_id:
        unmet.append(Unmet(Code.HANDOVER_SAME_PERSON))
    unmet.extend(_guardian_fit(state, p.incoming.person_id, now))
    unmet.extend(signoff_unmet(state, p.outgoing, SignOffMeaning.HANDOVER_OUT, now))
    unmet.extend(signoff_unmet(state, p.incoming, SignOffMeaning.HANDOVER_IN, now))
    return unmet


def guardian_left(state: PermitState, p: GuardianLeft, now: datetime) -> list[Unmet]:
    if p.guardian_id != state.guardian:
        return [Unmet(Code.GUARDIAN_NOT_CURRENT, {"person": p.guardian_id})]
    return []


def entrant_entered(state: PermitState, p: EntrantEntered, now: datetime) -> list[Unmet]:
    return entry_unmet(state, p.entrant_id, now, p.monitoring)


def entrant_exited(state: PermitState, p: EntrantExited, now: datetime) -> list[Unmet]:
    if p.entrant_id not in state.inside:
        return [Unmet(Code.ENTRANT_NOT_INSIDE, {"person": p.entrant_id})]
    return []

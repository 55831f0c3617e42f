"""Roster and people: who may take a role, who may approve, who was briefed.

Rules of the confined-space permit (docs/rules.md); the table that says where each
may be recorded is :mod:`permits.commands.confined_space`.
"""

from __future__ import annotations

from datetime import datetime

from permits.commands.codes import Code
from permits.commands.common import signoff_unmet
from permits.errors import Unmet
from permits.events import (
    ApprovalAuthority,
    Approved,
    BriefingSigned,
    PersonSnapshot,
    Role,
    RoleAssigned,
    SignOffMeaning,
    SimopsAcknowledged,
)
from permits.interlock import approval_authorised, required_authority, training_valid
from permits.reference.delegation import delegation_unmet
from permits.reference.people import contractor_unmet
from permits.state import PermitState

__all__ = [
    "approved",
    "briefing_signed",
    "employer_unmet",
    "role_assigned",
    "simops_acknowledged",
]


def role_assigned(state: PermitState, p: RoleAssigned, now: datetime) -> list[Unmet]:
    person = p.person
    facts = {"person": person.person_id}
    unmet: list[Unmet] = []
    if p.role in (Role.GUARDIAN, Role.ENTRANT) and not training_valid(person, now):
        unmet.append(Unmet(Code.PERSON_TRAINING_INVALID, {**facts, "date": now.date().isoformat()}))
    unmet.extend(employer_unmet(person, now))
    conflicts = {Role.GUARDIAN: Role.ENTRANT, Role.ENTRANT: Role.GUARDIAN}
    other = conflicts.get(p.role)
    if other is not None and person.person_id in state.with_role(other):
        unmet.append(
            Unmet(Code.ROLE_CONFLICT, {**facts, "role": p.role.value, "other": other.value})
        )
    return unmet


def employer_unmet(person: PersonSnapshot, now: datetime) -> list[Unmet]:
    """The ledger's contractor rules (docs/rules.md, People, contractors and spaces),
    judged on the contractor as the tablet's ledger had it, on the assignment's date
    (the set-up screen shows these on a candidate's row before anyone is assigned)."""
    snapshot = person.contractor
    if snapshot is None:
        # A chain written before the contractor snapshot: only the flag was recorded.
        if person.contractor_blacklisted:
            return [
                Unmet(
                    Code.PERSON_CONTRACTOR_BLACKLISTED,
                    {"person": person.person_id, "contractor": person.contractor_id or "-"},
                )
            ]
        return []
    facts = {"person": person.person_id, "name": person.name, "date": now.date().isoformat()}
    known = snapshot if snapshot.registered else None
    return contractor_unmet(snapshot.contractor_id, known, now.date(), facts)


def approved(state: PermitState, p: Approved, now: datetime) -> list[Unmet]:
    assert state.space is not None
    person_id = p.signoff.person_id
    facts = {"person": person_id}
    unmet: list[Unmet] = []
    person = state.people.get(person_id)
    if person is None or person_id not in state.with_role(Role.APPROVER):
        unmet.append(Unmet(Code.APPROVER_NOT_ASSIGNED, facts))
    else:
        probe = PermitState(space=state.space, approver_authority=person.approval_authority)
        if not approval_authorised(probe):
            unmet.append(
                Unmet(
                    Code.APPROVER_LACKS_AUTHORITY,
                    {**facts, "space": state.space.space_id, "required": required_authority(state)},
                )
            )
        elif person.approval_authority is ApprovalAuthority.DELEGATE:
            if person.delegation is not None:
                unmet.extend(
                    delegation_unmet(person.delegation, state.space.space_id, now.date(), facts)
                )
            elif not person.delegation_ref:
                unmet.append(Unmet(Code.DELEGATION_MISSING, facts))
    if not state.permit_hazards:
        unmet.append(Unmet(Code.NO_HAZARD_IDENTIFIED))
    unmet.extend(signoff_unmet(state, p.signoff, SignOffMeaning.APPROVE, now))
    return unmet


def briefing_signed(state: PermitState, p: BriefingSigned, now: datetime) -> list[Unmet]:
    unmet: list[Unmet] = []
    if p.signoff.person_id not in state.entrants:
        unmet.append(Unmet(Code.NOT_AN_ENTRANT, {"person": p.signoff.person_id}))
    unmet.extend(signoff_unmet(state, p.signoff, SignOffMeaning.BRIEF, now))
    return unmet


def simops_acknowledged(state: PermitState, p: SimopsAcknowledged, now: datetime) -> list[Unmet]:
    """Only the approver who approved this permit accepts a conditional SIMOPS conflict
    for it (docs/rules.md, SIMOPS); whether the pair is then cleared is the SIMOPS
    check's (both approvers, one coordinator, the footprints as acknowledged)."""
    unmet = signoff_unmet(state, p.signoff, SignOffMeaning.APPROVE, now)
    if p.signoff.person_id != state.approved_by:
        unmet.append(Unmet(Code.SIMOPS_ACK_NOT_APPROVER, {"person": p.signoff.person_id}))
    return unmet

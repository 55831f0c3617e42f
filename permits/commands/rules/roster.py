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
    Role,
    RoleAssigned,
    SignOffMeaning,
)
from permits.interlock import approval_authorised, training_valid
from permits.state import PermitState

__all__ = ["approved", "briefing_signed", "role_assigned"]


def role_assigned(state: PermitState, p: RoleAssigned, now: datetime) -> list[Unmet]:
    person = p.person
    facts = {"person": person.person_id}
    unmet: list[Unmet] = []
    if p.role in (Role.GUARDIAN, Role.ENTRANT) and not training_valid(person, now):
        unmet.append(Unmet(Code.PERSON_TRAINING_INVALID, {**facts, "date": now.date().isoformat()}))
    if person.contractor_blacklisted:
        unmet.append(
            Unmet(
                Code.PERSON_CONTRACTOR_BLACKLISTED,
                {**facts, "contractor": person.contractor_id or "-"},
            )
        )
    conflicts = {Role.GUARDIAN: Role.ENTRANT, Role.ENTRANT: Role.GUARDIAN}
    other = conflicts.get(p.role)
    if other is not None and person.person_id in state.with_role(other):
        unmet.append(
            Unmet(Code.ROLE_CONFLICT, {**facts, "role": p.role.value, "other": other.value})
        )
    return unmet


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
            required = "principal/delegate" if state.space.key_supervision else "approver"
            unmet.append(
                Unmet(
                    Code.APPROVER_LACKS_AUTHORITY,
                    {**facts, "space": state.space.space_id, "required": required},
                )
            )
        elif person.approval_authority is ApprovalAuthority.DELEGATE and not person.delegation_ref:
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

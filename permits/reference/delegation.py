"""Written delegations (书面委托): the principal lets another person approve permits of
key-supervision spaces (MEM13 Art. 7), for some spaces and a period.

The ledger holds :class:`Delegation`; a permit records the approver's delegation as
``permits.events.DelegationSnapshot`` and the approval rule judges that snapshot with
:func:`delegation_unmet` (docs/rules.md, People, contractors and spaces).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from permits.errors import Unmet
from permits.messages import register

_Id = Annotated[str, Field(min_length=1)]

DELEGATION_NOT_VALID = "DELEGATION_NOT_VALID"
DELEGATION_NOT_FOR_SPACE = "DELEGATION_NOT_FOR_SPACE"


class Delegation(BaseModel):
    """One written delegation, as the enterprise's ledger keeps it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: _Id
    enterprise_id: _Id
    delegator: _Id  # the principal (主要负责人), a Person id
    delegate: _Id  # the person who may approve in their place
    space_ids: tuple[_Id, ...] = ()  # empty: every space of the enterprise
    valid_from: date
    valid_until: date
    document_ref: str = ""  # the signed document's number or scan reference

    @model_validator(mode="after")
    def _consistent(self) -> Delegation:
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        if self.delegate == self.delegator:
            raise ValueError("a principal cannot delegate to themselves")
        return self


class DelegationFacts(Protocol):
    @property
    def space_ids(self) -> Sequence[str]: ...
    @property
    def valid_from(self) -> date: ...
    @property
    def valid_until(self) -> date: ...


def covers(delegation: DelegationFacts, space_id: str) -> bool:
    return not delegation.space_ids or space_id in delegation.space_ids


def valid_on(delegation: DelegationFacts, day: date) -> bool:
    return delegation.valid_from <= day <= delegation.valid_until


def delegation_unmet(
    delegation: DelegationFacts, space_id: str, day: date, facts: dict[str, str]
) -> list[Unmet]:
    """Why ``delegation`` does not let its delegate approve ``space_id`` on ``day``."""
    unmet: list[Unmet] = []
    if not valid_on(delegation, day):
        unmet.append(
            Unmet(
                DELEGATION_NOT_VALID,
                {
                    **facts,
                    "date": day.isoformat(),
                    "valid_from": delegation.valid_from.isoformat(),
                    "valid_until": delegation.valid_until.isoformat(),
                },
            )
        )
    if not covers(delegation, space_id):
        unmet.append(Unmet(DELEGATION_NOT_FOR_SPACE, {**facts, "space": space_id}))
    return unmet


register(
    DELEGATION_NOT_VALID,
    "{person}'s written delegation is valid {valid_from} to {valid_until}, not on {date}",
    "The principal renews the written delegation, or approves in person",
)
register(
    DELEGATION_NOT_FOR_SPACE,
    "{person}'s written delegation does not cover space {space}",
    "The principal extends the delegation to this space, or approves in person",
)

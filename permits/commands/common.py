"""Checks several areas' rules share: a sign-off, nobody inside, no rule at all."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from permits.commands.codes import Code
from permits.errors import Unmet
from permits.events import Payload, SignOff, SignOffMeaning
from permits.state import PermitState

__all__ = ["inside_unmet", "no_rule", "signoff_unmet"]


class _Headed(Protocol):
    """Any permit type's state: a sign-off is checked against its chain head."""

    @property
    def head_hash(self) -> str: ...


def signoff_unmet(
    state: _Headed, signoff: SignOff, meaning: SignOffMeaning, now: datetime
) -> list[Unmet]:
    facts = {"person": signoff.person_id}
    unmet: list[Unmet] = []
    if signoff.meaning is not meaning:
        unmet.append(
            Unmet(
                Code.SIGNOFF_WRONG_MEANING,
                {**facts, "got": signoff.meaning.value, "expected": meaning.value},
            )
        )
    if not signoff.pin_verified:
        unmet.append(Unmet(Code.SIGNOFF_PIN_NOT_VERIFIED, facts))
    if signoff.state_hash != state.head_hash:
        unmet.append(Unmet(Code.SIGNOFF_STALE_STATE, facts))
    if signoff.signed_at > now:
        unmet.append(Unmet(Code.SIGNOFF_IN_FUTURE, facts))
    return unmet


def countersign_unmet(
    state: _Headed, countersign: SignOff | None, author: str, now: datetime
) -> list[Unmet]:
    """Values typed in (not read from the detector) carry a second person's signature:
    the pre-entry test and the hot-work gas analysis alike (docs/rules.md)."""
    if countersign is None:
        return [Unmet(Code.MANUAL_TEST_NOT_COUNTERSIGNED)]
    unmet: list[Unmet] = []
    if countersign.person_id == author:
        unmet.append(Unmet(Code.COUNTERSIGN_SAME_PERSON, {"person": author}))
    unmet.extend(signoff_unmet(state, countersign, SignOffMeaning.COUNTERSIGN, now))
    return unmet


def inside_unmet(state: PermitState) -> list[Unmet]:
    if state.inside:
        return [Unmet(Code.ENTRANTS_INSIDE, {"people": ", ".join(sorted(state.inside))})]
    return []


def no_rule(state: object, payload: Payload, now: datetime) -> list[Unmet]:
    return []

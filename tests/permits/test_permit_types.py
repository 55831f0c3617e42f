"""The permit-type seam: check() runs the table of the type that owns the event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum

import pytest

from permits.commands import (
    CONFINED_SPACE,
    Code,
    PermitType,
    Step,
    check,
    permit_type_of,
    permit_types,
    register_permit_type,
)
from permits.commands import permit_type as seam
from permits.errors import Unmet
from permits.events import EventType, HazardIdentified, new_event
from permits.state import Status

AT = datetime(2026, 11, 28, 9, 0, tzinfo=timezone(timedelta(hours=8)))


class ToyStatus(StrEnum):
    NONE = "none"
    OPEN = "open"


@dataclass
class ToyState:
    permit_id: str | None = None
    seq: int = 0
    status: ToyStatus = ToyStatus.NONE

    def status_at(self, at: datetime) -> ToyStatus:
        return self.status


def _refuse_all(state: ToyState, payload: HazardIdentified, now: datetime) -> list[Unmet]:
    return [Unmet("TOY_REFUSES", {"hazard": payload.hazard})]


def _toy(opening_allowed: ToyStatus = ToyStatus.NONE) -> PermitType:
    return PermitType(
        name="toy",
        statuses=frozenset(ToyStatus),
        initial=ToyStatus.NONE,
        opening=EventType.HAZARD_IDENTIFIED,
        table={EventType.HAZARD_IDENTIFIED: Step(frozenset({opening_allowed}), _refuse_all)},
    )


def test_each_event_type_has_exactly_one_of_the_two_types() -> None:
    from permits.hot_work import HOT_WORK

    assert set(permit_types()) == {CONFINED_SPACE, HOT_WORK}
    assert {permit_type_of(t) for t in EventType} == {CONFINED_SPACE, HOT_WORK}
    assert set(CONFINED_SPACE.table) | set(HOT_WORK.table) == set(EventType)
    assert not set(CONFINED_SPACE.table) & set(HOT_WORK.table)
    # Confined space keeps every event type it had; hot work adds only its own.
    assert all(not t.value.startswith("hot_work_") for t in CONFINED_SPACE.table)
    assert CONFINED_SPACE.step(EventType.DRAFTED).allowed == {Status.NONE}


def test_an_event_type_has_one_owner() -> None:
    again = PermitType(
        name="copy",
        statuses=frozenset(Status),
        initial=Status.NONE,
        opening=EventType.DRAFTED,
        table={EventType.DRAFTED: CONFINED_SPACE.step(EventType.DRAFTED)},
    )
    with pytest.raises(ValueError, match="already owned: drafted"):
        register_permit_type(again)
    assert sorted(t.name for t in permit_types()) == ["confined_space", "hot_work"]


def test_a_table_must_open_the_permit_before_any_event() -> None:
    with pytest.raises(ValueError, match="opening event"):
        _toy(opening_allowed=ToyStatus.OPEN)


def test_check_dispatches_to_a_second_type_with_its_own_state_and_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A stand-in for the next type (hot work): its own statuses, state and rule. It
    # borrows an event type here only because the real one's events do not exist yet.
    owners = {t: p for t, p in seam._BY_EVENT.items() if t is not EventType.HAZARD_IDENTIFIED}
    monkeypatch.setattr(seam, "_BY_EVENT", owners)
    monkeypatch.setattr(seam, "_TYPES", dict(seam._TYPES))
    toy = register_permit_type(_toy())
    assert permit_type_of(EventType.HAZARD_IDENTIFIED) is toy
    event = new_event(
        HazardIdentified(hazard="sparks"),
        permit_id="HW-1",
        seq=1,
        actor="P",
        device_id="D",
        occurred_at=AT,
    )
    assert [u.code for u in check(ToyState(), event)] == ["TOY_REFUSES"]
    opened = ToyState(permit_id="HW-1", seq=1, status=ToyStatus.OPEN)
    assert [u.code for u in check(opened, event)] == [Code.PERMIT_ALREADY_DRAFTED]

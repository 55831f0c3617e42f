"""The state fold: statuses, derived expiry, and what the fold keeps."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from cspermit.demo.molasses_tank import (
    ENTRANT_A,
    ENTRANT_B,
    GUARDIAN,
    START,
    demo_session,
    monitoring,
)
from permits.commands import PermitSession
from permits.events import AlarmKind, AlarmRaised, EntrantEntered, EntrantExited, EvacuationOrdered
from permits.integrity import DeviceKey
from permits.state import PermitState, Status, _evolve, apply, fold

from .conftest import ENTRY_AT


def test_fold_of_the_demo_reaches_closed_with_nothing_left_on(key: DeviceKey) -> None:
    s = demo_session(key)
    state = fold(s.events)
    assert state == s.state
    assert state.status is Status.CLOSED
    assert state.inside == frozenset() and state.locks_on == []
    assert len(state.tests) == 2 and all(t.acceptable for t in state.tests)
    assert state.head_hash == s.events[-1].hash


def test_fold_is_pure_and_repeatable(key: DeviceKey) -> None:
    events = demo_session(key).events
    first = fold(events[:20])
    assert fold(events[20:], first) == fold(events)
    assert apply(first, events[20]) == apply(first, events[20])


def test_statuses_through_the_demo(key: DeviceKey) -> None:
    seen = []
    state = PermitState()
    for event in demo_session(key).events:
        state = apply(state, event)
        if not seen or seen[-1] != state.status:
            seen.append(state.status)
    assert seen == [
        Status.DRAFT,
        Status.APPROVED,
        Status.ACTIVE,
        Status.EVACUATING,
        Status.SUSPENDED,
        Status.ACTIVE,
        Status.CLOSING,
        Status.CLOSED,
    ]


def test_expiry_is_derived_from_time_and_the_profile(ready: PermitSession) -> None:
    approved_at = ready.state.approved_at
    assert approved_at is not None
    assert ready.state.expires_at == approved_at + timedelta(hours=24)  # cn-gongmao
    assert ready.state.status_at(approved_at + timedelta(hours=23, minutes=59)) is Status.APPROVED
    assert ready.state.status_at(approved_at + timedelta(hours=24)) is Status.EXPIRED
    assert ready.state.status is Status.APPROVED  # nothing stored


def test_alarm_evacuates_and_the_last_exit_suspends(ready: PermitSession) -> None:
    for who in (ENTRANT_A, ENTRANT_B):
        ready.record(
            EntrantEntered(entrant_id=who, monitoring=monitoring(ENTRY_AT)),
            ENTRY_AT,
            actor=GUARDIAN,
        )
    at = ENTRY_AT + timedelta(minutes=5)
    ready.record(AlarmRaised(alarm_id="A-1", kind=AlarmKind.GAS, channel="H2S"), at, actor=GUARDIAN)
    assert ready.state.status is Status.EVACUATING
    ready.record(EntrantExited(entrant_id=ENTRANT_A), at, actor=GUARDIAN)
    assert ready.state.status is Status.EVACUATING
    ready.record(EntrantExited(entrant_id=ENTRANT_B), at, actor=GUARDIAN)
    assert ready.state.status is Status.SUSPENDED
    assert ready.state.after_evacuation


def test_evacuation_order_evacuates(ready: PermitSession) -> None:
    ready.record(EvacuationOrdered(reason="smell of gas"), ENTRY_AT, actor=GUARDIAN)
    assert ready.state.status is Status.EVACUATING


def test_as_dict_is_json_ready(key: DeviceKey) -> None:
    import json

    s = demo_session(key)
    out = s.state.as_dict(START + timedelta(hours=3))
    json.dumps(out)
    assert out["status"] == "closed" and out["readings_chunks"] == 1


def test_evolve_is_replace_without_init() -> None:
    # The fold copies the state with ``_evolve`` (profiled: ``replace`` was half of a
    # replay). It is only the same as ``replace`` while PermitState runs nothing in
    # ``__init__``: this fails the day a ``__post_init__`` or an ``init=False`` field is added.
    assert not hasattr(PermitState, "__post_init__")
    assert all(f.init for f in dataclasses.fields(PermitState))
    base = PermitState(permit_id="P-1", seq=3, inside=frozenset({"E1"}))
    changes = {"seq": 4, "status": Status.ACTIVE, "inside": frozenset({"E1", "E2"})}
    evolved = _evolve(base, **changes)
    assert evolved == dataclasses.replace(base, **changes)
    assert base.seq == 3 and base.status is Status.NONE  # the original is untouched
    with pytest.raises(dataclasses.FrozenInstanceError):
        evolved.seq = 5  # type: ignore[misc]
    with pytest.raises(TypeError, match="no_such_field"):
        _evolve(base, no_such_field=1)

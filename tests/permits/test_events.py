"""Events: typed payloads, JSON round trips, and the canonical form they are hashed in."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cspermit.demo.molasses_tank import demo_session
from permits.canonical import canonical_json
from permits.errors import InvalidInput
from permits.events import (
    PAYLOAD_TYPES,
    Cancelled,
    EventType,
    new_event,
    parse_event,
)
from permits.integrity import DeviceKey, event_hash

CST = timezone(timedelta(hours=8))


def test_every_event_type_has_a_typed_payload() -> None:
    assert set(PAYLOAD_TYPES) == set(EventType)


def test_demo_chain_round_trips_through_json_with_the_same_hash(key: DeviceKey) -> None:
    events = demo_session(key).events
    kinds = {e.type for e in events}
    assert len(kinds) >= 20
    for event in events:
        text = json.dumps(event.to_json(), ensure_ascii=False)
        back = parse_event(json.loads(text))
        assert back == event
        assert event_hash(back) == event.hash


def _raw(**changes: object) -> dict[str, object]:
    event = new_event(
        Cancelled(reason="rain"),
        permit_id="P-1",
        seq=1,
        actor="P-LI",
        device_id="TAB-1",
        occurred_at=datetime(2026, 11, 28, 9, tzinfo=CST),
    )
    raw = event.to_json()
    raw.update(changes)
    return raw


def test_payload_must_match_the_event_type() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_event(_raw(type="approved"))
    assert info.value.field.startswith("signoff") or "payload" in info.value.field


def test_unknown_payload_field_is_refused_and_named() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_event(_raw(payload={"reason": "rain", "reasno": "typo"}))
    assert "reasno" in info.value.field


def test_naive_time_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_event(_raw(occurred_at="2026-11-28T09:00:00"))
    assert info.value.field == "occurred_at"


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_event(_raw(type="teleported"))
    assert info.value.field == "type"


def test_seq_starts_at_one() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_event(_raw(seq=0))
    assert info.value.field == "seq"


def test_events_are_immutable() -> None:
    event = parse_event(_raw())
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError for frozen
        event.seq = 2  # type: ignore[misc]


# ------------------------------------------------------------- canonical


def test_canonical_json_sorts_keys_and_has_no_whitespace() -> None:
    assert canonical_json({"b": 1, "a": [1, 2], "c": {"z": None, "y": True}}) == (
        '{"a":[1,2],"b":1,"c":{"y":true,"z":null}}'
    )


def test_canonical_json_keeps_chinese_as_utf8() -> None:
    assert canonical_json({"name": "李明"}) == '{"name":"李明"}'


def test_integral_floats_are_written_as_integers() -> None:
    assert canonical_json([20.0, 20, 20.9, 1e-7, -0.0]) == "[20,20,20.9,1e-07,0]"


def test_datetime_keeps_its_offset() -> None:
    local = datetime(2026, 11, 28, 9, 0, tzinfo=CST)
    utc = local.astimezone(UTC)
    assert canonical_json(local) == '"2026-11-28T09:00:00+08:00"'
    assert canonical_json(utc) == '"2026-11-28T01:00:00+00:00"'
    assert canonical_json(datetime(2026, 1, 1, 0, 0, 0, 1500, tzinfo=UTC)).endswith(
        '.001500+00:00"'
    )


@pytest.mark.parametrize(
    "bad", [math.nan, math.inf, datetime(2026, 1, 1), {1: "x"}, {"a": {1, 2}}, b"x"]
)
def test_values_without_a_canonical_form_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInput):
        canonical_json(bad)


def test_uuid_is_lower_case_hyphenated() -> None:
    u = uuid4()
    assert canonical_json(u) == f'"{u}"'


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_json)
def test_canonical_json_is_valid_json_and_a_fixed_point(value: object) -> None:
    text = canonical_json(value)
    again = json.loads(text)
    # Reading it back and writing it again gives the same bytes: the hash is stable.
    assert canonical_json(again) == text


@given(
    value=st.floats(allow_nan=False, allow_infinity=False),
    limit=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
    channel=st.text(min_size=1, max_size=8),
    minutes=st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_any_event_keeps_its_hash_through_json(
    value: float, limit: float | None, channel: str, minutes: int
) -> None:
    from permits.events import AlarmKind, AlarmRaised

    key = DeviceKey.from_private_b64("TAB-1", "A" * 43 + "=")
    tz = timezone(timedelta(minutes=minutes))
    event = new_event(
        AlarmRaised(alarm_id="A-1", kind=AlarmKind.GAS, channel=channel, value=value, limit=limit),
        permit_id="P-1",
        seq=1,
        actor="P-LI",
        device_id="TAB-1",
        occurred_at=datetime(2026, 11, 28, 9, 0, 0, 123456, tzinfo=tz),
    )
    from permits.events import GENESIS_HASH
    from permits.integrity import seal

    sealed = seal(event, GENESIS_HASH, key)
    back = parse_event(json.loads(json.dumps(sealed.to_json())))
    assert event_hash(back) == sealed.hash
    assert back.occurred_at.utcoffset() == timedelta(minutes=minutes)

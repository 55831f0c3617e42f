"""Dates and times outside 2000–2199 are refused where they enter, naming the field
(permits/data/timestamps.toml), so no page, query or date sum ever meets year 9999."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cspermit.demo import molasses_tank as demo
from permits.atmosphere import parse_test
from permits.errors import InvalidInput
from permits.events import parse_event
from permits.plausible import bounds, plausible
from tests.support.events import first_event

FAR_EAST = timezone(timedelta(hours=14))


@pytest.mark.parametrize(
    "at",
    ["9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00+00:00", "1999-12-31T23:59:59+00:00"],
)
def test_an_event_dated_outside_the_range_is_refused_naming_the_field(at: str) -> None:
    raw = {**first_event(), "occurred_at": at}
    with pytest.raises(InvalidInput) as caught:
        parse_event(raw)
    assert caught.value.field == "occurred_at"


def test_a_date_deep_in_a_payload_is_refused_with_its_path() -> None:
    raw = first_event()
    raw["payload"] = {**raw["payload"], "ledger_as_of": "9999-01-01T00:00:00+08:00"}
    with pytest.raises(InvalidInput) as caught:
        parse_event(raw)
    assert caught.value.field == "payload.ledger_as_of"


def test_a_pre_entry_test_sampled_in_year_9999_is_invalid_input() -> None:
    test = demo.atmosphere_test(datetime(2026, 3, 2, 9, 0, tzinfo=FAR_EAST))
    test["samples"][0]["taken_at"] = "9999-12-31T23:59:59+14:00"
    with pytest.raises(InvalidInput) as caught:
        parse_test(test)
    assert caught.value.field.startswith("samples[0]")


def test_the_edges_of_the_range() -> None:
    earliest, latest = bounds()
    assert plausible(datetime(earliest.year, 1, 1, tzinfo=UTC))
    assert not plausible(datetime(latest.year, 1, 1, tzinfo=UTC))
    assert plausible(datetime(2026, 11, 28, 9, 0, tzinfo=FAR_EAST))


@given(st.datetimes(timezones=st.just(UTC)))
def test_any_aware_time_is_either_in_range_or_refused(at: datetime) -> None:
    raw = {**first_event(), "occurred_at": at.isoformat()}
    earliest, latest = bounds()
    if earliest <= at.date() < latest:
        assert parse_event(raw).occurred_at == at
    else:
        with pytest.raises(InvalidInput):
            parse_event(raw)


def test_a_readings_chunk_from_year_9999_is_refused_before_its_order_is_compared() -> None:
    """start and end at the end of year 9999 at -12:00 (past datetime.max in UTC), end
    before start: the range check refuses start, naming it, and the chunk's own
    end-after-start check never compares them."""
    raw = first_event()
    raw.update(
        type="readings_chunk_recorded",
        payload={
            "sha256": "0" * 64,
            "detector_serial": "GASL-1",
            "start": "9999-12-31T23:59:59-12:00",
            "end": "9999-12-31T23:59:58-12:00",
            "channels": ["O2"],
            "values": 1,
        },
    )
    with pytest.raises(InvalidInput) as caught:
        parse_event(raw)
    assert caught.value.field == "payload.start"
    assert "2000" in str(caught.value)

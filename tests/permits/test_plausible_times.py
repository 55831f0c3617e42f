"""Dates and times outside 2000–2199 are refused where they enter, naming the field
(permits/data/timestamps.toml), so no page, query or date sum ever meets year 9999."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import AwareDatetime

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


def _models() -> set[type]:
    import importlib
    import pkgutil

    import permits
    from permits.plausible import PlausibleTimes

    for module in pkgutil.walk_packages(permits.__path__, "permits."):
        importlib.import_module(module.name)

    def below(cls: type) -> Iterator[type]:
        for sub in cls.__subclasses__():
            yield sub
            yield from below(sub)

    return set(below(PlausibleTimes))


def test_every_time_field_of_every_model_is_range_checked() -> None:
    """Walked once every model's forward references are resolved (the class-time check
    sees what pydantic resolved when the class was made)."""
    from permits.plausible import InRange, unchecked_times

    models = _models()
    seen = []
    for model in models:
        for name, info in model.model_fields.items():
            if InRange in info.metadata:
                seen.append(f"{model.__name__}.{name}")
            else:
                assert not unchecked_times(info.annotation), f"{model.__name__}.{name}"
    assert len(models) > 50
    assert {"Event.occurred_at", "Sample.taken_at", "Certificate.valid_until"} <= set(seen)


@pytest.mark.parametrize(
    "annotation",
    [datetime, date, datetime | None, tuple[datetime, ...], list[date], AwareDatetime],
)
def test_a_model_with_an_unchecked_time_field_is_refused_when_it_is_made(
    annotation: object,
) -> None:
    from permits.plausible import PlausibleTimes

    with pytest.raises(TypeError, match="Instant or Day"):
        type("Loose", (PlausibleTimes,), {"__annotations__": {"when": annotation}})


def test_checked_time_fields_are_accepted_in_unions_and_tuples() -> None:
    from permits.plausible import Day, Instant, PlausibleTimes

    hints = {"at": Instant | None, "days": tuple[Day, ...], "note": str}
    model = type("Tidy", (PlausibleTimes,), {"__annotations__": hints})
    ok = model.model_validate({"at": None, "days": ["2026-01-02"], "note": "x"})
    assert ok.days == (date(2026, 1, 2),)
    with pytest.raises(ValueError, match="a date from"):
        model.model_validate({"at": "9999-01-01T00:00:00+00:00", "days": [], "note": "x"})
    with pytest.raises(ValueError, match="a date from"):
        model.model_validate({"at": None, "days": ["1999-12-31"], "note": "x"})

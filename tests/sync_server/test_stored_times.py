"""Stored times (``storage.now_iso``): UTC, fixed width, so stored text sorts as the
times do; read back by ``parse_iso``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sync_server.storage import now_iso, parse_iso

CST = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 12, 4, 10, 0, tzinfo=CST),
        datetime(2026, 12, 4, 2, 0, 0, 5, tzinfo=UTC),
        datetime(999, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1, 8, 0, tzinfo=CST),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_a_stored_time_is_utc_fixed_width_and_reads_back(at: datetime) -> None:
    text = now_iso(at)
    assert len(text) == len("2026-12-04T02:00:00.000000+00:00")
    assert text.endswith("+00:00")
    assert parse_iso(text) == at


def test_stored_text_sorts_as_the_times_do() -> None:
    times = [
        datetime(999, 6, 1, tzinfo=UTC),
        datetime(2026, 12, 4, 9, 59, tzinfo=CST),
        datetime(2026, 12, 4, 2, 0, tzinfo=UTC),
        datetime(2026, 12, 4, 2, 0, 0, 1, tzinfo=UTC),
    ]
    assert sorted(times, key=now_iso) == sorted(times)


def test_a_time_past_the_calendar_in_utc_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="out of range"):
        now_iso(datetime(1, 1, 1, 7, 0, tzinfo=CST))

"""Property tests over the query parameters of the permit search, the hazard list and the
feed, on the API and the pages (issue 15, part 2): any generated integer, date or string
gets a 2xx or a 4xx, never a 5xx, and no stored row changes (docs/reliability.md,
section 8). Run on SQLite and PostgreSQL: PostgreSQL refused a NUL in text with a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync_server.schema import metadata
from tests.sync_server.chains import enroll_tablet, simple_permit
from tests.sync_server.conftest import World, db_url  # noqa: F401  (both engines)

INTEGERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2**31, 2**63 - 1, 2**63, 2**64, 10**30]),
).map(str)
EDGE_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))])
DATES = st.one_of(
    st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59), timezones=EDGE_ZONES
    ).map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "9999-12-31",
            "0001-01-01",
            "9999-12-31T23:59:59-12:00",
            "0001-01-01T00:00:00+14:00",
            "2026-02-30",
            "2026-11-28T10:00:00",
            "+275760-09-13",
            "",
        ]
    ),
)
# Any text a browser could send (no lone surrogates: they cannot be UTF-8 encoded).
STRINGS = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300)
VALUES = st.one_of(INTEGERS, DATES, STRINGS)

PERMIT_PARAMS = (
    "enterprise_id",
    "space_id",
    "status",
    "date_from",
    "date_to",
    "person",
    "detector",
    "anomaly",
    "limit",
    "offset",
)
HAZARD_PARAMS = ("enterprise_id", "status", "source", "open_only", "overdue", "limit", "offset")
PAGE_PARAMS = ("page", "size")

ENDPOINTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("/api/v1/permits", "api:bureau", PERMIT_PARAMS),
    ("/api/v1/hazards", "api:bureau", HAZARD_PARAMS),
    ("/api/v1/feed", "api:agg", ("cursor", "limit")),
    ("/api/v1/audit", "api:op", ("enterprise_id", "limit", "before_id")),
    ("/web/permits", "web:bureau", PERMIT_PARAMS + PAGE_PARAMS),
    ("/web/hazards", "web:bureau", HAZARD_PARAMS + PAGE_PARAMS),
    ("/web/permits.csv", "web:a-admin", PERMIT_PARAMS),
    ("/web/hazards.csv", "web:a-admin", HAZARD_PARAMS),
]


def _seed(world: World) -> None:
    tablet = enroll_tablet(world.client, world.h("a-admin"))
    r = world.client.post(
        "/api/v1/sync/events",
        json={"events": simple_permit(tablet, "PA-1")},
        headers=tablet.headers,
    )
    assert r.status_code == 200, r.text
    r = world.client.post(
        "/api/v1/hazards",
        json={"enterprise_id": "ent-a", "title": "无警示标识"},
        headers=world.h("a-admin"),
    )
    assert r.status_code == 201, r.text


def _snapshot(app: Any) -> dict[str, list[Any]]:
    """Every stored row of every table (the few of this world), to compare."""
    with app.state.engine.connect() as conn:
        return {
            t.name: sorted(repr(tuple(r)) for r in conn.execute(sa.select(t)))
            for t in metadata.sorted_tables
        }


def _headers(world: World, who: str) -> dict[str, str]:
    kind, name = who.split(":")
    if kind == "api":
        return world.h(name)
    return {"Cookie": f"cspermit_session={world.tokens[name]}"}


@pytest.mark.parametrize(("url", "who", "params"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_any_query_gets_a_2xx_or_4xx_and_changes_nothing(
    world: World, app: Any, url: str, who: str, params: tuple[str, ...]
) -> None:
    _seed(world)
    before = _snapshot(app)
    headers = _headers(world, who)

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(query=st.dictionaries(st.sampled_from(params), VALUES, max_size=4))
    def check(query: dict[str, str]) -> None:
        r = world.client.get(url, params=query, headers=headers)
        assert r.status_code < 500, (query, r.status_code, r.text[-800:])
        assert 200 <= r.status_code < 500

    check()
    assert _snapshot(app) == before

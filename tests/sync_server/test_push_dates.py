"""An enrolled tablet that sends absurd dates gets a per-event answer naming the field;
the events before it are kept, and the bureau's search, the permit's trace and export
keep answering for everyone (issue 15: hostile input from inside)."""

from __future__ import annotations

import copy

import pytest

from tests.sync_server.chains import enroll_tablet, filler, simple_permit
from tests.sync_server.conftest import World


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("occurred_at", "9999-12-31T23:59:59+14:00"),
        ("occurred_at", "0001-01-01T00:00:00+00:00"),
        ("payload.ledger_as_of", "9999-01-01T00:00:00+08:00"),
    ],
)
def test_an_absurd_date_is_refused_per_event_and_nothing_breaks(
    world: World, field: str, value: str
) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    good = simple_permit(tab, "P-DATE")
    bad = copy.deepcopy(tab.event("P-DATE", filler(1)))
    if field == "occurred_at":
        bad["occurred_at"] = value
    else:
        bad["type"], bad["payload"] = good[0]["type"], {**good[0]["payload"], "ledger_as_of": value}
    r = world.client.post("/api/v1/sync/events", json={"events": [*good, bad]}, headers=tab.headers)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["accepted", "accepted", "rejected"]
    assert results[2]["field"] == f"events.2.{field}", results[2]
    assert results[2]["message"]
    bureau = world.h("bureau")
    assert world.client.get("/api/v1/permits", headers=bureau).status_code == 200
    trace = world.client.get("/api/v1/permits/P-DATE", headers=bureau)
    assert trace.status_code == 200 and len(trace.json()["events"]) == 2
    assert world.client.get("/api/v1/permits/P-DATE/export.json", headers=bureau).status_code == 200

"""Two tablets racing on the same permit place: one wins, the other is kept as a conflict."""

from __future__ import annotations

import threading
from typing import Any

from sync_server.security import Principal, Role
from sync_server.services import ingest
from tests.sync_server.chains import cancelled, enroll_tablet, filler, simple_permit
from tests.sync_server.conftest import World


def test_racing_pushes_for_one_seq_store_one_event_and_one_conflict(world: World, app: Any) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    base = simple_permit(tab, "RACE-1")
    assert (
        world.client.post("/api/v1/sync/events", json={"events": base}, headers=tab.headers).json()[
            "accepted"
        ]
        == 2
    )
    head = tab.heads["RACE-1"]
    a = tab.event("RACE-1", filler(1))
    tab.heads["RACE-1"] = head
    b = tab.event("RACE-1", cancelled("raced"))
    device = Principal(Role.DEVICE, tab.device_id, "d", enterprise_id="ent-a")
    results: dict[str, Any] = {}
    barrier = threading.Barrier(2)

    def run(name: str, event: dict[str, Any]) -> None:
        barrier.wait()
        results[name] = ingest.push(app.state.engine, app.state.settings, device, [event])[0]

    threads = [threading.Thread(target=run, args=(n, e)) for n, e in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = sorted((r.status, r.code) for r in results.values())
    assert statuses == [("accepted", None), ("rejected", "VERSION_CONFLICT")], statuses
    trace = world.client.get("/api/v1/permits/RACE-1", headers=world.h("bureau")).json()
    assert len(trace["events"]) == 3 and len(trace["conflicts"]) == 1
    assert trace["verification"]["ok"]

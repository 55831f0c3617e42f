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


def test_a_push_that_commits_between_anothers_reads_waits_its_turn(world: World, app: Any) -> None:
    """The interleaving the race above only sometimes hits, forced: push A is held just
    after it has read the permit row, and push B for the same place is started then.
    B must wait until A commits (SQLite: BEGIN IMMEDIATE; PostgreSQL: FOR UPDATE on the
    permit row). Before ``storage.begin_write``, B committed inside A's gap and A, judging
    a permit row and a chain from two different moments, lost its fork as BAD_SEQ."""
    import sqlalchemy as sa

    tab = enroll_tablet(world.client, world.h("a-admin"))
    base = simple_permit(tab, "RACE-2")
    pushed = world.client.post("/api/v1/sync/events", json={"events": base}, headers=tab.headers)
    assert pushed.json()["accepted"] == 2
    head = tab.heads["RACE-2"]
    a = tab.event("RACE-2", filler(1))
    tab.heads["RACE-2"] = head
    b = tab.event("RACE-2", cancelled("raced"))
    device = Principal(Role.DEVICE, tab.device_id, "d", enterprise_id="ent-a")
    engine = app.state.engine
    a_read_permit = threading.Event()
    b_done = threading.Event()
    results: dict[str, Any] = {}
    held: list[bool] = []  # whether B finished inside A's gap

    def hold_a(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # After A's permit read, the next statement A runs first waits for B (or 3 s).
        if threading.current_thread().name != "push-a":
            return
        if a_read_permit.is_set():
            if not held:
                held.append(b_done.wait(timeout=3))
        elif statement.lstrip().upper().startswith("SELECT") and "FROM permits" in statement:
            a_read_permit.set()

    def run(name: str, event: dict[str, Any]) -> None:
        try:
            results[name] = ingest.push(engine, app.state.settings, device, [event])[0]
        finally:
            if name == "b":
                b_done.set()

    sa.event.listen(engine, "after_cursor_execute", hold_a)
    try:
        push_a = threading.Thread(target=run, args=("a", a), name="push-a")
        push_a.start()
        assert a_read_permit.wait(timeout=30)
        push_b = threading.Thread(target=run, args=("b", b), name="push-b")
        push_b.start()
        push_a.join(timeout=60)
        push_b.join(timeout=60)
    finally:
        sa.event.remove(engine, "after_cursor_execute", hold_a)
    # A went first: B was kept out of A's gap (the 3 s wait ran out), then found A's
    # event in its place and kept its own as a conflict.
    assert held == [False], "B committed while A was between its reads"
    assert results["a"].status == "accepted", results["a"]
    assert (results["b"].status, results["b"].code) == ("rejected", "VERSION_CONFLICT")
    trace = world.client.get("/api/v1/permits/RACE-2", headers=world.h("bureau")).json()
    assert [e["seq"] for e in trace["events"]] == [1, 2, 3]
    assert len(trace["conflicts"]) == 1 and trace["verification"]["ok"]

"""The ingest's shortcuts answer as the long way does (docs/performance.md, "Catch-up
ingest against the floor"): each is a cut the profile showed, never a change of verdict."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from sync_server.storage import normalise_url, now_iso
from tests.sync_server.chains import drafted, enroll_tablet, filler

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def _record(conn: Any, item_id: str, data: Any, at: datetime, by: str, rev: int) -> None:
    from sync_server.services import ledger_history

    ledger_history.record(
        conn, "ent-a", "people", item_id, data, changed_by=by, at=now_iso(at), rev=rev
    )


@pytest.mark.parametrize("unattributed_first", [False, True])
def test_item_versions_answer_as_as_of_at_every_instant(app: Any, unattributed_first: bool) -> None:
    """One query per item and push (``item_versions`` + ``item_at``) gives, at every
    instant, what one query per instant (``as_of``) gives: before the first version,
    at and between versions, after a deletion and a re-creation, and with a first
    version by no known hand (which stands for the time before it)."""
    from sync_server.services import ledger_history

    first_by = "" if unattributed_first else "a-admin"
    with app.state.engine.begin() as conn:
        _record(conn, "p-1", {"name": "李强", "v": 1}, T0, first_by, 1)
        _record(conn, "p-1", {"name": "李强", "v": 2}, T0 + timedelta(hours=2), "a-admin", 2)
        _record(conn, "p-1", None, T0 + timedelta(hours=4), "a-admin", 3)
        _record(conn, "p-1", {"name": "李强", "v": 4}, T0 + timedelta(hours=6), "a-admin", 4)
        _record(conn, "p-2", {"name": "王芳"}, T0 + timedelta(hours=1), "a-admin", 5)
    instants = [T0 + timedelta(minutes=30 * k) for k in range(-3, 16)]
    instants += [T0 + timedelta(hours=h) for h in (0, 2, 4, 6)]  # exactly at a version
    with app.state.engine.connect() as conn:
        for item_id in ("p-1", "p-2", "p-unknown"):
            rows = ledger_history.item_versions(conn, "ent-a", "people", item_id)
            for at in instants:
                expected = ledger_history.as_of(conn, "ent-a", "people", item_id, at)
                assert ledger_history.item_at(rows, at) == expected, (item_id, at)
        # The instants cover every answer: each version, the deletion, before the first.
        rows = ledger_history.item_versions(conn, "ent-a", "people", "p-1")
    answers = [ledger_history.item_at(rows, at) for at in sorted(instants)]
    assert {a["v"] for a in answers if a is not None} == {1, 2, 4}
    assert None in answers[4:]  # deleted between hours 4 and 6
    before = ledger_history.item_at(rows, T0 - timedelta(hours=1))
    assert (before is not None) is unattributed_first


def test_a_push_holds_one_pooled_connection_at_a_time(world: Any, app: Any, db_url: str) -> None:
    """A push (and an upload) authenticates on a connection it gives back before its
    contact note and its permits' transactions take theirs: with a pool of one
    connection it is stored.
    Holding the request's connection while asking for another, a worker's concurrent
    pushes used up its pool and each waited the pool's timeout (the quick storm's
    28-s alarms)."""
    tab = enroll_tablet(world.client, world.h("a-admin"))
    wide = app.state.engine
    sqlite = db_url.startswith("sqlite")
    app.state.engine = sa.create_engine(
        normalise_url(db_url),
        pool_size=1,
        max_overflow=0,
        pool_timeout=2,
        connect_args={"check_same_thread": False} if sqlite else {},
    )
    try:
        batch = [tab.event("P-POOL", drafted(tab.enterprise_id))]
        batch += [tab.event("P-POOL", filler(i)) for i in range(20)]
        r = world.client.post("/api/v1/sync/events", json={"events": batch}, headers=tab.headers)
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == len(batch)
        for kind in ("chunks", "attachments"):  # the uploads authenticate the same way
            body = f"{kind} through a pool of one".encode()
            path = f"/api/v1/sync/{kind}/{hashlib.sha256(body).hexdigest()}"
            r = world.client.put(path, content=body, headers=tab.headers)
            assert r.status_code == 201, (kind, r.text)
    finally:
        app.state.engine.dispose()
        app.state.engine = wide


def test_a_push_past_the_head_reads_no_stored_event_and_each_repeat_is_still_found(
    world: Any, app: Any
) -> None:
    """A push that continues a chain this worker stored reads none of the permit's
    stored events (not the chain's seqs, not the batch's ids, not the head's body:
    docs/performance.md, wave 7); what it must still find, it finds: a resend is a
    duplicate, an id stored in another permit is EVENT_ID_REUSED (the insert refuses
    it and the push is redone reading every id), a fork keeps the stored event's hash."""
    from uuid import UUID

    from sync_server.schema import events, version_conflicts

    tab = enroll_tablet(world.client, world.h("a-admin"))

    def push(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        r = world.client.post("/api/v1/sync/events", json={"events": batch}, headers=tab.headers)
        assert r.status_code == 200, r.text
        return list(r.json()["results"])

    other = [tab.event("P-OTHER", drafted(tab.enterprise_id))]
    first = [tab.event("P-LONG", drafted(tab.enterprise_id))]
    first += [tab.event("P-LONG", filler(i)) for i in range(3)]
    assert [r["status"] for r in push(other + first)] == ["accepted"] * 5
    seen: list[str] = []

    def note(_conn: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(" ".join(statement.split()))

    engine = app.state.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        more = [tab.event("P-LONG", filler(i)) for i in range(3, 6)]
        assert [r["status"] for r in push(more)] == ["accepted"] * 3
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    reads = [s for s in seen if s.startswith("SELECT") and " FROM events" in s]
    assert reads == [], reads
    assert any("events" in s and ("INSERT" in s or "COPY" in s) for s in seen)

    # A resend of stored events, and an event past the head with another permit's id.
    reused = tab.event("P-LONG", filler(6), event_id=UUID(other[0]["event_id"]))
    results = push([first[1], more[-1], reused])
    assert [r["status"] for r in results] == ["duplicate", "duplicate", "rejected"]
    assert results[2]["code"] == "EVENT_ID_REUSED", results[2]
    # A fork at seq 3: another event where the chain holds one.
    tab.heads["P-LONG"] = (2, first[1]["hash"])
    fork = tab.event("P-LONG", filler(99))
    (result,) = push([fork])
    assert (result["status"], result["code"]) == ("rejected", "VERSION_CONFLICT"), result
    with engine.connect() as conn:
        kept = conn.execute(
            sa.select(version_conflicts.c.existing_hash, version_conflicts.c.seq)
        ).one()
        stored = conn.execute(
            sa.select(events.c.seq, events.c.event_id).where(events.c.permit_id == "P-LONG")
        ).all()
    assert (kept.existing_hash, kept.seq) == (first[2]["hash"], 3)
    assert sorted(r.seq for r in stored) == list(range(1, 8))  # 1-7, nothing lost
    assert str(other[0]["event_id"]) not in {r.event_id for r in stored}


def test_a_push_of_several_permits_commits_once_and_takes_the_counter_after_every_event(
    world: Any, app: Any
) -> None:
    """One transaction a push (docs/performance.md, wave 8): three permits' events in one
    commit, and the change counter (whose lock is held to the commit, so other pushes
    wait on it) taken once, for all three, only once every permit's events are written
    (wave 9); the three rows inserted in one statement, and on the next push updated in
    one, each with a revision of its own, consecutive in the push's order."""
    from sync_server.schema import permits

    tab = enroll_tablet(world.client, world.h("a-admin"))
    batch = []
    for p in ("P-C", "P-A", "P-B"):
        batch += [tab.event(p, drafted(tab.enterprise_id))]
        batch += [tab.event(p, filler(i)) for i in range(3)]
    seen: list[str] = []
    commits: list[int] = []

    def note(_conn: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(" ".join(statement.split()))

    def committed(_conn: Any) -> None:
        commits.append(1)

    engine = app.state.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    sa.event.listen(engine, "commit", committed)
    try:
        r = world.client.post("/api/v1/sync/events", json={"events": batch}, headers=tab.headers)
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
        sa.event.remove(engine, "commit", committed)
    assert r.status_code == 200, r.text
    assert {x["status"] for x in r.json()["results"]} == {"accepted"}
    writes = [i for i, s in enumerate(seen) if s.startswith(("COPY events", "INSERT INTO events"))]
    counter = [i for i, s in enumerate(seen) if s.startswith("UPDATE counters")]
    assert len(writes) == 3 and len(counter) == 1, seen
    assert max(writes) < min(counter), seen
    assert len([s for s in seen if s.startswith("INSERT INTO permits ")]) == 1, seen
    assert len(commits) == 1, commits  # the push's one transaction (the auth reads none)

    def stored() -> list[tuple[str, int, int]]:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(permits.c.permit_id, permits.c.last_seq, permits.c.rev).where(
                    permits.c.permit_id.in_(["P-A", "P-B", "P-C", "P-D"])
                )
            ).all()
        return sorted(((r.permit_id, r.last_seq, r.rev) for r in rows), key=lambda r: r[2])

    first = stored()
    assert [(p, seq) for p, seq, _ in first] == [("P-A", 4), ("P-B", 4), ("P-C", 4)]
    assert [rev - first[0][2] for _, _, rev in first] == [0, 1, 2]  # one each, in turn

    more = [tab.event(p, filler(i)) for p in ("P-B", "P-C", "P-A") for i in range(3, 5)]
    more += [tab.event("P-D", drafted(tab.enterprise_id))]  # a new one beside them
    seen.clear()
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        r = world.client.post("/api/v1/sync/events", json={"events": more}, headers=tab.headers)
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert r.status_code == 200, r.text
    assert {x["status"] for x in r.json()["results"]} == {"accepted"}
    assert len([s for s in seen if s.startswith("UPDATE counters")]) == 1, seen
    assert len([s for s in seen if s.startswith("UPDATE permits ")]) == 1, seen
    assert len([s for s in seen if s.startswith("INSERT INTO permits ")]) == 1, seen
    second = stored()
    assert [(p, seq) for p, seq, _ in second] == [("P-A", 6), ("P-B", 6), ("P-C", 6), ("P-D", 1)]
    assert second[0][2] > first[-1][2]
    assert [rev - second[0][2] for _, _, rev in second] == [0, 1, 2, 3]


def test_a_push_that_postgresql_ends_in_a_deadlock_is_redone_and_stored_once(
    world: Any, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push's one transaction may wait in a circle with another's (a fork's conflict
    takes the change counter among its permit's checks, docs/server.md); PostgreSQL ends
    one with a deadlock error (SQLSTATE 40P01), and that push is redone whole: its events
    stored once, nothing kept of the try that was rolled back. Any other operational
    error is not retried."""
    from sync_server.schema import events
    from sync_server.security import Principal, Role
    from sync_server.services import ingest

    class Ended(Exception):
        def __init__(self, sqlstate: str) -> None:
            super().__init__(sqlstate)
            self.sqlstate = sqlstate

    tab = enroll_tablet(world.client, world.h("a-admin"))
    device = Principal(Role.DEVICE, tab.device_id, "t", enterprise_id=tab.enterprise_id)
    real = ingest._push_permit
    calls: list[str] = []

    def once_ended(sqlstate: str) -> Any:
        def push_permit(conn: Any, *args: Any, **kw: Any) -> Any:
            out = real(conn, *args, **kw)  # its events written in the transaction
            calls.append(args[2])
            if len(calls) == 2:  # the second permit of the first try
                raise sa.exc.OperationalError("COPY events", {}, Ended(sqlstate))
            return out

        return push_permit

    batch = []
    for p in ("P-D1", "P-D2"):
        batch += [tab.event(p, drafted(tab.enterprise_id))]
        batch += [tab.event(p, filler(i)) for i in range(2)]
    engine, settings = app.state.engine, app.state.settings
    monkeypatch.setattr(ingest, "_push_permit", once_ended("40P01"))
    results = ingest.push(engine, settings, device, batch)
    assert [r.status for r in results] == ["accepted"] * 6
    assert calls == ["P-D1", "P-D2", "P-D1", "P-D2"]  # redone whole
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(events.c.permit_id, events.c.seq).where(
                events.c.permit_id.in_(["P-D1", "P-D2"])
            )
        ).all()
    assert sorted(stored) == [("P-D1", s) for s in (1, 2, 3)] + [("P-D2", s) for s in (1, 2, 3)]

    calls.clear()
    more = [
        tab.event("P-D3", drafted(tab.enterprise_id)),
        tab.event("P-D4", drafted(tab.enterprise_id)),
    ]
    monkeypatch.setattr(ingest, "_push_permit", once_ended("57P01"))  # admin shutdown
    with pytest.raises(sa.exc.OperationalError):
        ingest.push(engine, settings, device, more)
    assert calls == ["P-D3", "P-D4"]  # not retried
    with engine.connect() as conn:
        left = conn.execute(
            sa.select(events.c.event_id).where(events.c.permit_id.in_(["P-D3", "P-D4"]))
        ).all()
    assert left == []  # the push's one transaction rolled back: none of the batch stored


def test_next_revs_hands_out_a_block_that_follows_the_last_and_refuses_no_count(
    app: Any,
) -> None:
    """A push's permits take their revisions in one counter update (services/
    ingest_save.py): consecutive, after every one handed out before, before every one
    after; a count under one would hand out nothing or move the counter back."""
    from sync_server.storage import next_rev, next_revs

    engine = app.state.engine
    with engine.begin() as conn:
        first = next_rev(conn)
        block = next_revs(conn, 3)
        after = next_rev(conn)
        for bad in (0, -2):
            with pytest.raises(ValueError, match="at least 1"):
                next_revs(conn, bad)
        assert next_rev(conn) == after + 1  # the refusals moved nothing
    assert block == [first + 1, first + 2, first + 3]
    assert after == first + 4

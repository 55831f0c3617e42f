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

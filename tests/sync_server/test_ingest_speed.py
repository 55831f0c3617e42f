"""The ingest's shortcuts answer as the long way does (docs/performance.md, "Catch-up
ingest against the floor"): each is a cut the profile showed, never a change of verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sync_server.storage import now_iso

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

"""``storage.insert_rows`` (COPY on PostgreSQL, executemany elsewhere) fails as an INSERT
does: a duplicate key is SQLAlchemy's IntegrityError (the push's retry reads it), a value
the database refuses is SQLAlchemy's error for it, and nothing of the batch is stored."""

from __future__ import annotations

import math
from typing import Any

import pytest
import sqlalchemy as sa

from sync_server.schema import events
from sync_server.storage import insert_rows, make_engine


def _row(event_id: str, seq: int, body: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "enterprise_id": "ent-x",
        "permit_id": "P-X",
        "seq": seq,
        "type": "drafted",
        "occurred_at": "2026-11-01T08:00:00.000000Z",
        "received_at": "2026-11-01T08:00:01.000000Z",
        "device_id": "dev-x",
        "actor": None,
        "hash": f"{seq:064x}",
        "body": body,
        "clock_flag": None,
        "clock_skew_s": None,
    }


def _stored(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(events.c.event_id, events.c.body).where(events.c.enterprise_id == "ent-x")
        )
        return sorted(tuple(r) for r in rows)


def test_rows_are_stored_and_a_duplicate_key_is_an_integrity_error(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        body = {"text": "糖蜜罐\ttab \\ back\nline", "n": 1.5, "none": None}
        with engine.begin() as conn:
            insert_rows(conn, events, [_row("e-1", 1, body), _row("e-2", 2, {"k": [1, 2]})])
        assert _stored(engine) == [("e-1", body), ("e-2", {"k": [1, 2]})]
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            insert_rows(conn, events, [_row("e-3", 3, {}), _row("e-1", 4, {})])
        assert [r[0] for r in _stored(engine)] == ["e-1", "e-2"]  # e-3 not kept either
    finally:
        engine.dispose()


# PostgreSQL only: its json type refuses NaN; SQLite keeps JSON text as it comes.
@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_value_postgresql_refuses_is_sqlalchemys_error(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with pytest.raises(sa.exc.DataError), engine.begin() as conn:
            insert_rows(conn, events, [_row("e-1", 1, {}), _row("e-2", 2, {"x": math.nan})])
        assert _stored(engine) == []
    finally:
        engine.dispose()

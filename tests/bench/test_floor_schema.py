"""The floor's raw insert (``bench.server.RAW_SCHEMA``) writes the table the server
writes: the same columns, primary key, unique keys and indexes as ``events`` after
the migrations, so ``server.ingest_vs_floor`` compares the same work (a plain index the
server dropped in 0013 was still in the floor's schema)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.server import RAW_SCHEMA
from sync_server.storage import make_engine, migrate


def _shape(url: str) -> dict[str, Any]:
    engine = sa.create_engine(url)
    try:
        inspect = sa.inspect(engine)
        uniques = {tuple(u["column_names"]) for u in inspect.get_unique_constraints("events")}
        # SQLite reports a UNIQUE constraint as an automatic index too: keyed by columns.
        indexes = {
            tuple(i["column_names"])
            for i in inspect.get_indexes("events")
            if tuple(i["column_names"]) not in uniques
        }
        return {
            "columns": [c["name"] for c in inspect.get_columns("events")],
            "primary": inspect.get_pk_constraint("events")["constrained_columns"],
            "uniques": uniques,
            "indexes": indexes,
        }
    finally:
        engine.dispose()


def test_the_floor_writes_the_servers_events_table(tmp_path: Path) -> None:
    server = tmp_path / "server.db"
    engine = make_engine(f"sqlite:///{server}")
    migrate(engine)
    engine.dispose()
    raw = tmp_path / "raw.db"
    with sqlite3.connect(raw) as conn:
        conn.executescript(RAW_SCHEMA)
    assert _shape(f"sqlite:///{raw}") == _shape(f"sqlite:///{server}")

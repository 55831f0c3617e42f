"""The tablet's local store: one SQLite file (WAL) through sqlite-utils.

Offline for days is normal, so this file is the record until the server has
acknowledged it. The rules live in the schema, not only in this class:

* ``events`` is append-only: a trigger refuses any change to a stored event
  except setting ``acked_at``/``ack_status`` once, and refuses deleting an event
  the server has not acknowledged. ``readings_chunks`` is guarded the same way.
* Every write is its own committed transaction, so a process killed at any
  instant (battery out, SIGKILL) keeps everything it had committed.
* Migrations are ordered functions; ``schema_version`` records each one applied
  and a migration runs inside one transaction, so a crash never leaves half a
  schema.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from permits.events import EventType
from permits.urgency import URGENT_EVENT_TYPES as CORE_URGENT
from tablet_app.encoded import EncodedEvent

# The first schema's reference tables; later ones are added by migrations.
_M1_REFERENCE_KINDS = ("spaces", "people", "detectors", "profiles")
# ``hazards``: the enterprise's hazard list as the server last sent it (home screen);
# ``contractors`` and ``delegations``: what a person's snapshot carries (issue 14).
REFERENCE_KINDS = (*_M1_REFERENCE_KINDS, "hazards", "contractors", "delegations")


def stored_text(event: Mapping[str, Any]) -> str:
    """An event's JSON text as the store keeps it (and a push sends it)."""
    return json.dumps(dict(event), ensure_ascii=False, sort_keys=True, default=str)


# Event types the server must see at once when online (docs/architecture.md, sync): the
# bureau's dashboard shows live jobs. The rest syncs in the background. The core's
# urgent lane (``permits.urgency``) and what ends or leaves those states: a list of its
# own lacked the hot-work alarm, so a hot-work permit's alarm queued behind a backlog.
URGENT_EVENT_TYPES = frozenset(
    {
        *CORE_URGENT,
        EventType.ALARM_CLEARED,
        EventType.GUARDIAN_LEFT,
        EventType.HOT_WORK_ALARM_CLEARED,
    }
)


# The permits a chain opening type starts, first stored first: one entry a permit of
# the partial index events_openings (migration 4); tests/tablet_app/test_store.py
# explains this statement's plan.
OPENINGS_SQL = (
    "SELECT permit_id FROM events WHERE seq = 1 AND type = ? ORDER BY stored_at, permit_id"
)


class StoreError(Exception):
    """A write the store refuses (append-only, unacknowledged delete, bad row)."""

    code = "STORE_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


def _now() -> str:
    return datetime.now(UTC).isoformat()


# ---------------------------------------------------------------- migrations


def _m1_initial(db: Database) -> None:
    db.execute(
        """CREATE TABLE events (
            event_id TEXT PRIMARY KEY,
            permit_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            hash TEXT,
            body TEXT NOT NULL,
            urgent INTEGER NOT NULL DEFAULT 0,
            stored_at TEXT NOT NULL,
            acked_at TEXT,
            ack_status TEXT,
            UNIQUE (permit_id, seq)
        )"""
    )
    db.execute("CREATE INDEX events_unacked ON events (acked_at, urgent, stored_at)")
    db.execute(
        """CREATE TRIGGER events_append_only
           BEFORE UPDATE OF event_id, permit_id, seq, type, occurred_at, hash, body, urgent,
                            stored_at ON events
           BEGIN SELECT RAISE(ABORT, 'EVENT_APPEND_ONLY: a stored event never changes'); END"""
    )
    db.execute(
        """CREATE TRIGGER events_ack_once
           BEFORE UPDATE OF acked_at, ack_status ON events WHEN OLD.acked_at IS NOT NULL
           BEGIN SELECT RAISE(ABORT, 'EVENT_ALREADY_ACKED: an acknowledgement is final'); END"""
    )
    db.execute(
        """CREATE TRIGGER events_keep_unacked
           BEFORE DELETE ON events WHEN OLD.acked_at IS NULL
           BEGIN SELECT RAISE(ABORT, 'EVENT_NOT_ACKED: not acknowledged by the server'); END"""
    )
    db.execute(
        """CREATE TABLE readings_chunks (
            hash TEXT PRIMARY KEY,
            permit_id TEXT,
            device_serial TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT NOT NULL,
            n_values INTEGER NOT NULL,
            data BLOB NOT NULL,
            stored_at TEXT NOT NULL,
            acked_at TEXT
        )"""
    )
    db.execute(
        """CREATE TRIGGER chunks_append_only
           BEFORE UPDATE OF hash, permit_id, device_serial, started_at, ended_at, n_values, data,
                            stored_at ON readings_chunks
           BEGIN SELECT RAISE(ABORT, 'CHUNK_APPEND_ONLY: a stored chunk never changes'); END"""
    )
    db.execute(
        """CREATE TRIGGER chunks_keep_unacked
           BEFORE DELETE ON readings_chunks WHEN OLD.acked_at IS NULL
           BEGIN SELECT RAISE(ABORT, 'CHUNK_NOT_ACKED: not acknowledged by the server'); END"""
    )
    for kind in _M1_REFERENCE_KINDS:
        db.execute(
            f"""CREATE TABLE {kind} (
                id TEXT PRIMARY KEY,
                body TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )"""
        )
    db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("CREATE TABLE sync_cursors (name TEXT PRIMARY KEY, cursor TEXT NOT NULL)")


def _m2_attachments_hazards(db: Database) -> None:
    """Attachments (drawn signatures, photos), content-addressed like chunks and kept
    until the server holds them; the server's hazards; hazard reports made here."""
    db.execute(
        """CREATE TABLE attachments (
            hash TEXT PRIMARY KEY,
            content_type TEXT NOT NULL,
            purpose TEXT NOT NULL,
            data BLOB NOT NULL,
            stored_at TEXT NOT NULL,
            acked_at TEXT
        )"""
    )
    db.execute(
        """CREATE TRIGGER attachments_append_only
           BEFORE UPDATE OF hash, content_type, purpose, data, stored_at ON attachments
           BEGIN SELECT RAISE(ABORT, 'ATTACHMENT_APPEND_ONLY: a stored file never changes'); END"""
    )
    db.execute(
        """CREATE TRIGGER attachments_keep_unacked
           BEFORE DELETE ON attachments WHEN OLD.acked_at IS NULL
           BEGIN SELECT RAISE(ABORT, 'ATTACHMENT_NOT_ACKED: not acknowledged by the server'); END"""
    )
    db.execute(
        "CREATE TABLE hazards (id TEXT PRIMARY KEY, body TEXT NOT NULL, updated_at TEXT NOT NULL)"
    )
    db.execute(
        """CREATE TABLE hazard_reports (
            id TEXT PRIMARY KEY,
            body TEXT NOT NULL,
            stored_at TEXT NOT NULL,
            acked_at TEXT,
            server_id TEXT,
            last_error TEXT
        )"""
    )
    db.execute(
        """CREATE TRIGGER hazard_reports_keep_unacked
           BEFORE DELETE ON hazard_reports WHEN OLD.acked_at IS NULL
           BEGIN SELECT RAISE(ABORT, 'REPORT_NOT_ACKED: not acknowledged by the server'); END"""
    )


def _m3_contractors_delegations(db: Database) -> None:
    """The ledger's contractors and written delegations: a permit records the person's
    contractor and delegation as the tablet had them (docs/rules.md)."""
    for kind in ("contractors", "delegations"):
        db.execute(
            f"CREATE TABLE {kind} (id TEXT PRIMARY KEY, body TEXT NOT NULL,"
            " updated_at TEXT NOT NULL)"
        )


def _m4_opening_events(db: Database) -> None:
    """Each chain's opening event, which says the permit's type (``permits_opened_by``):
    an index of the seq-1 rows only, so the desks read one row per permit of the type
    asked, not every event (``UNIQUE (permit_id, seq)`` cannot serve ``seq = 1``)."""
    db.execute("CREATE INDEX events_openings ON events (type, stored_at, permit_id) WHERE seq = 1")


MIGRATIONS: tuple[Callable[[Database], None], ...] = (
    _m1_initial,
    _m2_attachments_hazards,
    _m3_contractors_delegations,
    _m4_opening_events,
)


def migrate(db: Database, migrations: Iterable[Callable[[Database], None]] = MIGRATIONS) -> int:
    """Apply every migration not yet applied, in order; return the schema version."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
    current = row[0] or 0
    steps = list(migrations)
    if current > len(steps):
        raise StoreError(
            f"database schema version {current} is newer than this app ({len(steps)}); "
            "update the app",
            code="SCHEMA_TOO_NEW",
        )
    for version, step in enumerate(steps[current:], start=current + 1):
        with _transaction(db.conn):
            step(db)
            db.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                [version, step.__name__, _now()],
            )
    return len(steps)


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    # An explicit BEGIN: Python's sqlite3 does not open a transaction before DDL.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    else:
        conn.commit()


# ---------------------------------------------------------------- the store


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self.db = Database(conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        # FULL, not NORMAL: a tablet loses power without warning, and a committed
        # entry or evacuation must survive it. The cost is one fsync per commit.
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.schema_version = migrate(self.db)

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- events

    def append_events(self, events: Iterable[Mapping[str, Any]]) -> int:
        """Store events atomically (all or none). Each needs event_id, permit_id, seq,
        type and occurred_at; the whole mapping is kept as JSON in ``body``."""
        rows = [self._event_row(e) for e in events]
        try:
            with _transaction(self.db.conn):
                for row in rows:
                    self.db.execute(
                        "INSERT INTO events (event_id, permit_id, seq, type, occurred_at, hash,"
                        " body, urgent, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            row["event_id"],
                            row["permit_id"],
                            row["seq"],
                            row["type"],
                            row["occurred_at"],
                            row["hash"],
                            row["body"],
                            row["urgent"],
                            row["stored_at"],
                        ],
                    )
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"event refused by the store: {exc}", code="EVENT_DUPLICATE") from exc
        return len(rows)

    def append_event(self, event: Mapping[str, Any]) -> None:
        self.append_events([event])

    @staticmethod
    def _event_row(event: Mapping[str, Any]) -> dict[str, Any]:
        missing = [
            k for k in ("event_id", "permit_id", "seq", "type", "occurred_at") if k not in event
        ]
        if missing:
            raise StoreError(
                f"event is missing field(s) {', '.join(missing)}", code="EVENT_INVALID"
            )
        if not isinstance(event["seq"], int) or event["seq"] < 1:
            raise StoreError(
                f"event seq: expected an integer ≥ 1, got {event['seq']!r}", code="EVENT_INVALID"
            )
        return {
            "event_id": str(event["event_id"]),
            "permit_id": str(event["permit_id"]),
            "seq": event["seq"],
            "type": str(event["type"]),
            "occurred_at": str(event["occurred_at"]),
            "hash": event.get("hash"),
            "body": stored_text(event),
            "urgent": 1 if str(event["type"]) in URGENT_EVENT_TYPES else 0,
            "stored_at": _now(),
        }

    def events_for_permit(self, permit_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT body FROM events WHERE permit_id = ? ORDER BY seq", [permit_id]
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def permit_ids(self) -> list[str]:
        rows = self.db.execute(
            "SELECT permit_id FROM events GROUP BY permit_id ORDER BY MIN(stored_at)"
        ).fetchall()
        return [r[0] for r in rows]

    def permits_opened_by(self, event_type: str) -> list[str]:
        """The permits whose chain opens with ``event_type``, in the order first stored.
        A chain's first event says its permit type (the core's ``PermitType.opening``):
        how the desks tell a confined-space chain from a hot-work one. Indexed
        (migration 4)."""
        rows = self.db.execute(OPENINGS_SQL, [str(event_type)]).fetchall()
        return [r[0] for r in rows]

    def unacked_events(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Events the server has not acknowledged, each permit's in seq order (the
        server checks chain continuity); permits with an unsent entry, alarm or
        evacuation go first, so the bureau's live view is current."""
        return [json.loads(e.text) for e in self.unacked_encoded(limit)]

    def unacked_encoded(self, limit: int | None = None) -> list[EncodedEvent]:
        """:meth:`unacked_events` as stored, for the push to send as they are (no decode
        and encode again: ``tablet_app.encoded.EncodedEvent``)."""
        sql = (
            "SELECT event_id, permit_id, type, occurred_at, body FROM events e"
            " WHERE acked_at IS NULL ORDER BY"
            " (SELECT MAX(urgent) FROM events u WHERE u.permit_id = e.permit_id"
            "  AND u.acked_at IS NULL) DESC, permit_id, seq"
        )
        params: list[Any] = []
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return list(map(EncodedEvent._make, self.db.execute(sql, params).fetchall()))

    def count_unacked(self) -> dict[str, int]:
        events = self.db.execute("SELECT COUNT(*) FROM events WHERE acked_at IS NULL").fetchone()
        chunks = self.db.execute(
            "SELECT COUNT(*) FROM readings_chunks WHERE acked_at IS NULL"
        ).fetchone()
        return {"events": events[0], "chunks": chunks[0]}

    def mark_acked(
        self, event_ids: Iterable[str], status: str = "accepted", at: str | None = None
    ) -> int:
        ids = list(event_ids)
        when = at or _now()
        with _transaction(self.db.conn):
            changed = 0
            for event_id in ids:
                cur = self.db.execute(
                    "UPDATE events SET acked_at = ?, ack_status = ?"
                    " WHERE event_id = ? AND acked_at IS NULL",
                    [when, status, event_id],
                )
                changed += cur.rowcount
        return changed

    def ack_status(self, event_id: str) -> tuple[str | None, str | None]:
        row = self.db.execute(
            "SELECT acked_at, ack_status FROM events WHERE event_id = ?", [event_id]
        ).fetchone()
        if row is None:
            raise StoreError(f"no event {event_id}", code="EVENT_UNKNOWN")
        return row[0], row[1]

    # ---- readings chunks (content-addressed)

    def put_chunk(
        self,
        chunk_hash: str,
        data: bytes,
        *,
        device_serial: str,
        started_at: str,
        ended_at: str,
        n_values: int,
        permit_id: str | None = None,
    ) -> bool:
        """Store a chunk once; storing the same hash again is a no-op (returns False)."""
        with _transaction(self.db.conn):
            cur = self.db.execute(
                "INSERT OR IGNORE INTO readings_chunks (hash, permit_id, device_serial,"
                " started_at, ended_at, n_values, data, stored_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    chunk_hash,
                    permit_id,
                    device_serial,
                    started_at,
                    ended_at,
                    n_values,
                    data,
                    _now(),
                ],
            )
        return bool(cur.rowcount == 1)

    def chunk(self, chunk_hash: str) -> bytes | None:
        row = self.db.execute(
            "SELECT data FROM readings_chunks WHERE hash = ?", [chunk_hash]
        ).fetchone()
        return None if row is None else bytes(row[0])

    def unacked_chunks(self) -> list[str]:
        rows = self.db.execute(
            "SELECT hash FROM readings_chunks WHERE acked_at IS NULL ORDER BY stored_at"
        ).fetchall()
        return [r[0] for r in rows]

    def mark_chunk_acked(self, chunk_hash: str, at: str | None = None) -> None:
        with _transaction(self.db.conn):
            self.db.execute(
                "UPDATE readings_chunks SET acked_at = ? WHERE hash = ? AND acked_at IS NULL",
                [at or _now(), chunk_hash],
            )

    # ---- attachments (drawn signatures, photos; content-addressed)

    def put_attachment(self, data: bytes, *, content_type: str, purpose: str) -> str:
        """Store a file once by its SHA-256 and return the hash (the chain names it)."""
        digest = hashlib.sha256(data).hexdigest()
        with _transaction(self.db.conn):
            self.db.execute(
                "INSERT OR IGNORE INTO attachments (hash, content_type, purpose, data, stored_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [digest, content_type, purpose, data, _now()],
            )
        return digest

    def attachment(self, digest: str) -> bytes | None:
        row = self.db.execute("SELECT data FROM attachments WHERE hash = ?", [digest]).fetchone()
        return None if row is None else bytes(row[0])

    def unacked_attachments(self) -> list[str]:
        rows = self.db.execute(
            "SELECT hash FROM attachments WHERE acked_at IS NULL ORDER BY stored_at"
        ).fetchall()
        return [r[0] for r in rows]

    def mark_attachment_acked(self, digest: str, at: str | None = None) -> None:
        with _transaction(self.db.conn):
            self.db.execute(
                "UPDATE attachments SET acked_at = ? WHERE hash = ? AND acked_at IS NULL",
                [at or _now(), digest],
            )

    # ---- hazard reports made on this tablet

    def add_hazard_report(self, report: Mapping[str, Any]) -> None:
        with _transaction(self.db.conn):
            self.db.execute(
                "INSERT INTO hazard_reports (id, body, stored_at) VALUES (?, ?, ?)",
                [
                    str(report["id"]),
                    json.dumps(dict(report), ensure_ascii=False, sort_keys=True, default=str),
                    _now(),
                ],
            )

    def hazard_reports(self, *, unacked_only: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT body, acked_at, server_id, last_error FROM hazard_reports"
        if unacked_only:
            sql += " WHERE acked_at IS NULL"
        rows = self.db.execute(sql + " ORDER BY stored_at").fetchall()
        return [
            {**json.loads(r[0]), "acked_at": r[1], "server_id": r[2], "last_error": r[3]}
            for r in rows
        ]

    def mark_hazard_report(
        self, report_id: str, *, server_id: str | None = None, error: str | None = None
    ) -> None:
        """Acknowledged (with the server's id), or still waiting with the last error."""
        with _transaction(self.db.conn):
            if server_id is not None:
                self.db.execute(
                    "UPDATE hazard_reports SET acked_at = ?, server_id = ?, last_error = NULL"
                    " WHERE id = ? AND acked_at IS NULL",
                    [_now(), server_id, report_id],
                )
            else:
                self.db.execute(
                    "UPDATE hazard_reports SET last_error = ? WHERE id = ?", [error, report_id]
                )

    def count_waiting(self) -> dict[str, int]:
        """Everything not yet acknowledged, attachments and hazard reports included."""
        counts = self.count_unacked()
        for key, table in (("attachments", "attachments"), ("reports", "hazard_reports")):
            row = self.db.execute(f"SELECT COUNT(*) FROM {table} WHERE acked_at IS NULL").fetchone()
            counts[key] = row[0]
        return counts

    def delete_reference(self, kind: str, ref_id: str) -> None:
        self._check_kind(kind)
        with _transaction(self.db.conn):
            self.db.execute(f"DELETE FROM {kind} WHERE id = ?", [ref_id])

    def purge_acked(self, acked_before: str) -> int:
        """Free space: delete events and chunks the server acknowledged before a time.
        Unacknowledged rows are never touched (and the triggers refuse it anyway)."""
        with _transaction(self.db.conn):
            n = self.db.execute(
                "DELETE FROM readings_chunks WHERE acked_at IS NOT NULL AND acked_at < ?",
                [acked_before],
            ).rowcount
            n += self.db.execute(
                "DELETE FROM events WHERE acked_at IS NOT NULL AND acked_at < ?", [acked_before]
            ).rowcount
        return int(n)

    # ---- reference data pulled from the server (ledger, people, detectors, profiles)

    def put_references(self, kind: str, rows: Iterable[Mapping[str, Any]]) -> int:
        self._check_kind(kind)
        items = list(rows)
        with _transaction(self.db.conn):
            for body in items:
                if "id" not in body:
                    raise StoreError(
                        f"{kind} row: expected an 'id' field", code="REFERENCE_INVALID"
                    )
                self.db.execute(
                    f"INSERT INTO {kind} (id, body, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT(id) DO UPDATE SET body = excluded.body,"
                    " updated_at = excluded.updated_at",
                    [
                        str(body["id"]),
                        json.dumps(dict(body), ensure_ascii=False, sort_keys=True, default=str),
                        _now(),
                    ],
                )
        return len(items)

    def reference(self, kind: str, ref_id: str) -> dict[str, Any] | None:
        self._check_kind(kind)
        row = self.db.execute(f"SELECT body FROM {kind} WHERE id = ?", [ref_id]).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def references(self, kind: str) -> list[dict[str, Any]]:
        self._check_kind(kind)
        rows = self.db.execute(f"SELECT body FROM {kind} ORDER BY id").fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in REFERENCE_KINDS:
            raise StoreError(
                f"reference kind: expected one of {REFERENCE_KINDS}, got {kind!r}",
                code="REFERENCE_INVALID",
            )

    # ---- settings and sync cursors

    def get_setting(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return default if row is None else json.loads(row[0])

    def set_setting(self, key: str, value: Any) -> None:
        with _transaction(self.db.conn):
            self.db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, json.dumps(value, ensure_ascii=False)],
            )

    def get_cursor(self, name: str) -> str | None:
        row = self.db.execute("SELECT cursor FROM sync_cursors WHERE name = ?", [name]).fetchone()
        return None if row is None else str(row[0])

    def set_cursor(self, name: str, cursor: str) -> None:
        with _transaction(self.db.conn):
            self.db.execute(
                "INSERT INTO sync_cursors (name, cursor) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET cursor = excluded.cursor",
                [name, cursor],
            )


__all__ = ["MIGRATIONS", "REFERENCE_KINDS", "URGENT_EVENT_TYPES", "Store", "StoreError", "migrate"]

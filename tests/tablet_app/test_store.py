"""The local store keeps everything until the server acknowledges it, even across a crash."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tablet_app.store import MIGRATIONS, OPENINGS_SQL, Store, StoreError, migrate


def _event(permit: str, seq: int, type_: str = "drafted", **payload: object) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "permit_id": permit,
        "seq": seq,
        "type": type_,
        "occurred_at": "2026-11-28T09:00:00+08:00",
        "payload": payload,
    }


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "tablet.db")
    yield s
    s.close()


def test_fresh_database_is_migrated_and_in_wal_mode(store: Store) -> None:
    assert store.schema_version == len(MIGRATIONS)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {
        "events",
        "readings_chunks",
        "spaces",
        "people",
        "detectors",
        "profiles",
        "settings",
        "schema_version",
    } <= set(store.db.table_names())


def test_migrations_run_once_in_order_and_resume(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    Store(path).close()
    applied: list[str] = []

    def _m_next_add_notes(db):  # type: ignore[no-untyped-def]
        applied.append("next")
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")

    n = len(MIGRATIONS)
    with Store(path) as s:
        assert migrate(s.db, (*MIGRATIONS, _m_next_add_notes)) == n + 1
        assert migrate(s.db, (*MIGRATIONS, _m_next_add_notes)) == n + 1  # second run: nothing
        versions = s.db.execute("SELECT version, name FROM schema_version ORDER BY version")
        assert [tuple(r) for r in versions] == [
            *((i + 1, m.__name__) for i, m in enumerate(MIGRATIONS)),
            (n + 1, "_m_next_add_notes"),
        ]
    assert applied == ["next"]


def test_a_version_1_store_migrates_to_the_latest_keeping_its_events(tmp_path: Path) -> None:
    """A tablet that ran the first schema gains the attachments, hazards, contractors and
    delegations tables."""
    path = tmp_path / "old.db"
    with Store(path) as s:
        pass
    import sqlite3

    conn = sqlite3.connect(path)
    for table in ("attachments", "hazards", "hazard_reports", "contractors", "delegations"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DROP INDEX events_openings")
    conn.execute("DELETE FROM schema_version WHERE version > 1")
    conn.execute(
        "INSERT INTO events (event_id, permit_id, seq, type, occurred_at, body, stored_at)"
        " VALUES ('e1', 'P1', 1, 'drafted', 'now', '{}', 'now')"
    )
    conn.commit()
    conn.close()
    with Store(path) as s:
        assert s.schema_version == len(MIGRATIONS)
        assert {
            "attachments",
            "hazards",
            "hazard_reports",
            "contractors",
            "delegations",
        } <= set(s.db.table_names())
        assert s.count_unacked()["events"] == 1
        assert s.permits_opened_by("drafted") == ["P1"]  # the chain stored before the index


def test_a_failing_migration_leaves_no_half_schema(tmp_path: Path) -> None:
    def _m2_broken(db):  # type: ignore[no-untyped-def]
        db.execute("CREATE TABLE half (id INTEGER)")
        db.execute("THIS IS NOT SQL")

    with Store(tmp_path / "b.db") as s:
        with pytest.raises(Exception, match="syntax"):
            migrate(s.db, (*MIGRATIONS, _m2_broken))
        assert "half" not in s.db.table_names()
        version = s.db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        assert version == len(MIGRATIONS)


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    with Store(tmp_path / "n.db") as s:
        s.db.execute("INSERT INTO schema_version VALUES (99, 'future', 'x')")
    with pytest.raises(StoreError) as err:
        Store(tmp_path / "n.db")
    assert err.value.code == "SCHEMA_TOO_NEW"


def test_events_round_trip_in_seq_order(store: Store) -> None:
    e2, e1 = _event("P1", 2, "approved"), _event("P1", 1, "drafted", space="MT-01")
    store.append_events([e2, e1])
    assert store.events_for_permit("P1") == [e1, e2]
    assert store.permit_ids() == ["P1"]


def test_a_permits_type_is_its_opening_events_read_through_an_index(store: Store) -> None:
    """The desks tell a chain's permit type by its first event (the core's
    ``PermitType.opening``), never by an id or a prefix, from one index row a permit."""
    store.append_events([_event("HW-1", 1, "hot_work_drafted"), _event("P1", 1, "drafted")])
    store.append_events([_event("P1", 2, "hot_work_drafted"), _event("X-1", 1, "drafted")])
    store.append_events([_event("P2", 2, "approved")])  # a chain whose opening is not here
    assert store.permits_opened_by("drafted") == ["P1", "X-1"]
    assert store.permits_opened_by("hot_work_drafted") == ["HW-1"]
    plan = " ".join(
        r[3] for r in store.db.execute(f"EXPLAIN QUERY PLAN {OPENINGS_SQL}", ["drafted"])
    )
    # One index entry per permit of the type asked, in order: no scan, no sort.
    assert plan.startswith("SEARCH events USING") and "INDEX events_openings" in plan, plan
    assert "SCAN" not in plan and "TEMP B-TREE" not in plan, plan


def test_stored_events_cannot_be_changed_or_deleted_before_ack(store: Store) -> None:
    e = _event("P1", 1)
    store.append_event(e)
    with pytest.raises(Exception, match="EVENT_APPEND_ONLY"):
        store.db.execute("UPDATE events SET type = 'closed' WHERE event_id = ?", [e["event_id"]])
    with pytest.raises(Exception, match="EVENT_NOT_ACKED"):
        store.db.execute("DELETE FROM events WHERE event_id = ?", [e["event_id"]])
    assert store.purge_acked("9999-12-31") == 0
    assert store.events_for_permit("P1") == [e]


def test_a_duplicate_seq_is_refused_and_the_batch_is_all_or_nothing(store: Store) -> None:
    store.append_event(_event("P1", 1))
    with pytest.raises(StoreError) as err:
        store.append_events([_event("P1", 2), _event("P1", 1)])
    assert err.value.code == "EVENT_DUPLICATE"
    assert [e["seq"] for e in store.events_for_permit("P1")] == [1]


def test_an_event_without_a_permit_id_names_the_field(store: Store) -> None:
    bad = _event("P1", 1)
    del bad["permit_id"]
    with pytest.raises(StoreError, match="permit_id"):
        store.append_event(bad)


def test_a_hot_work_alarm_goes_first_as_every_urgent_event_of_the_core(store: Store) -> None:
    """The store puts first the permits the server's urgent lane takes at once
    (``permits.urgency``): a hot-work alarm was missing from the store's own list, so a
    hot-work permit's unsent alarm waited behind the backlog in the tablet's queue."""
    from permits.urgency import URGENT_EVENT_TYPES as CORE_URGENT

    backlog = [_event("A-OLD", 1), _event("A-OLD", 2)]
    store.append_events(backlog)
    for k, kind in enumerate(sorted(CORE_URGENT)):
        store.append_event(_event(f"P-{k}", 1, str(kind)))
        first = store.unacked_events(limit=1)[0]
        assert first["permit_id"] != "A-OLD", kind
        store.mark_acked([first["event_id"]], "accepted")
    assert [e["permit_id"] for e in store.unacked_events()] == ["A-OLD", "A-OLD"]


def test_ack_is_final_and_only_acked_rows_are_purged(store: Store) -> None:
    a, b = _event("P1", 1), _event("P1", 2, "entrant_entered")
    other = _event("P0", 1)
    store.append_events([other, a, b])
    # a permit with an unsent entry goes first, its chain in seq order
    assert [(e["permit_id"], e["seq"]) for e in store.unacked_events()] == [
        ("P1", 1),
        ("P1", 2),
        ("P0", 1),
    ]
    assert store.mark_acked([a["event_id"]], "accepted", at="2026-11-28T01:00:00+00:00") == 1
    assert store.mark_acked([a["event_id"]], "duplicate") == 0  # the first answer stands
    assert store.ack_status(a["event_id"]) == ("2026-11-28T01:00:00+00:00", "accepted")
    with pytest.raises(Exception, match="EVENT_ALREADY_ACKED"):
        store.db.execute(
            "UPDATE events SET ack_status='rejected' WHERE event_id=?", [a["event_id"]]
        )
    assert store.count_unacked() == {"events": 2, "chunks": 0}
    assert store.purge_acked("2026-11-29") == 1
    assert [e["seq"] for e in store.events_for_permit("P1")] == [2]


def test_unacked_events_as_stored_keep_the_order_and_the_text(store: Store) -> None:
    """What a push sends as it is (``unacked_encoded``): the same events in the same
    order (urgent permits first) as ``unacked_events``, each the stored JSON text with
    the fields the push orders by."""
    import json

    other = _event("P0", 1, note="无锡 — 中文 kept as UTF-8")
    a, b = _event("P1", 1), _event("P1", 2, "entrant_entered")
    store.append_events([other, a, b])
    encoded = store.unacked_encoded()
    assert [json.loads(e.text) for e in encoded] == store.unacked_events() == [a, b, other]
    assert [(e.event_id, e.permit_id, e.type, e.occurred_at) for e in encoded] == [
        (x["event_id"], x["permit_id"], x["type"], x["occurred_at"]) for x in (a, b, other)
    ]
    assert "无锡" in encoded[2].text
    assert [e.event_id for e in store.unacked_encoded(limit=1)] == [a["event_id"]]
    store.mark_acked([a["event_id"], b["event_id"]], "accepted")
    assert [e.event_id for e in store.unacked_encoded()] == [other["event_id"]]


def test_chunks_are_content_addressed_and_kept_until_ack(store: Store) -> None:
    meta = dict(device_serial="GX-1", started_at="t0", ended_at="t1", n_values=60)
    assert store.put_chunk("h1", b"\x00\x01", **meta) is True
    assert store.put_chunk("h1", b"\x00\x01", **meta) is False
    assert store.unacked_chunks() == ["h1"]
    with pytest.raises(Exception, match="CHUNK_NOT_ACKED"):
        store.db.execute("DELETE FROM readings_chunks")
    store.mark_chunk_acked("h1")
    assert store.unacked_chunks() == [] and store.chunk("h1") == b"\x00\x01"


def test_reference_data_upserts_and_rejects_unknown_kinds(store: Store) -> None:
    store.put_references("spaces", [{"id": "MT-01", "name": "糖蜜罐"}])
    store.put_references("spaces", [{"id": "MT-01", "name": "糖蜜罐 1号"}])
    assert store.references("spaces") == [{"id": "MT-01", "name": "糖蜜罐 1号"}]
    assert store.reference("spaces", "nope") is None
    with pytest.raises(StoreError, match="reference kind"):
        store.put_references("events", [{"id": "x"}])


def test_settings_and_cursors(store: Store) -> None:
    assert store.get_setting("language", "zh_CN") == "zh_CN"
    store.set_setting("language", "en")
    store.set_cursor("people", "c-42")
    assert store.get_setting("language") == "en" and store.get_cursor("people") == "c-42"


@settings(max_examples=30, deadline=None)
@given(
    payload=st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=20) | st.integers())
)
def test_any_json_payload_round_trips(
    tmp_path_factory: pytest.TempPathFactory, payload: dict
) -> None:
    with Store(tmp_path_factory.mktemp("h") / "h.db") as s:
        # Set, not passed as keywords: a key named "permit" or "seq" is a payload's too.
        e = {**_event("P", 1, "drafted"), "payload": payload}
        s.append_event(e)
        assert s.events_for_permit("P") == [e]


def test_sigkill_during_a_write_loop_loses_nothing_committed(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    writer = textwrap.dedent(
        f"""
        import sys, uuid
        from tablet_app.store import Store
        s = Store({str(db)!r})
        seq = 0
        while True:
            seq += 1
            s.append_event({{"event_id": str(uuid.uuid4()), "permit_id": "P", "seq": seq,
                            "type": "readings_chunk_recorded", "occurred_at": "t"}})
            print(seq, flush=True)  # printed only after the commit returned
        """
    )
    committed = 0
    with subprocess.Popen(
        [sys.executable, "-c", writer],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            committed = int(line)
            if committed >= 200:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with Store(db) as s:
        seqs = [e["seq"] for e in s.events_for_permit("P")]
    assert len(seqs) >= committed >= 200
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, no torn row

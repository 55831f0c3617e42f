"""Permit search through the member tables (people, detectors, anomaly codes as indexed
rows): kept in step by the real sync path, derived by migration 0002 from existing
permits, and the capped ``total``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from cspermit.demo.permit_history import build_history
from cspermit.demo.seed import DEMO_PEOPLE, DEMO_SPACES
from sync_server.schema import metadata
from sync_server.services import permits as permit_service
from sync_server.storage import make_engine, migrate
from tests.sync_server.chains import cancelled, enroll_tablet, filler, simple_permit
from tests.sync_server.conftest import LEDGER_SPACE, World

LISTS = {
    "people": ("permit_people", "person_id", "person"),
    "detectors": ("permit_detectors", "detector_id", "detector"),
    "anomalies": ("permit_anomalies", "code", "anomaly"),
}


def _push_history(world: World, enterprise_id: str, admin: str, detector: str) -> None:
    tab = enroll_tablet(world.client, world.h(admin))
    for space in DEMO_SPACES[enterprise_id]:
        world.client.put(
            f"/api/v1/enterprises/{enterprise_id}/spaces/{space['id']}",
            json={**LEDGER_SPACE, **space},
            headers=world.h(admin),
        )
    for permit in build_history(
        enterprise_id,
        DEMO_SPACES[enterprise_id],
        DEMO_PEOPLE[enterprise_id],
        detector,
        tab.device_key,
    ):
        for chunk in permit.chunks:
            r = world.client.put(
                f"/api/v1/sync/chunks/{hashlib.sha256(chunk).hexdigest()}",
                content=chunk,
                headers=tab.headers,
            )
            assert r.status_code == 201
        # One event a push, as a tablet syncing while the job runs: every intermediate
        # summary (people joining, codes appearing) goes through the member tables.
        for event in permit.events:
            r = world.client.post(
                "/api/v1/sync/events", json={"events": [event]}, headers=tab.headers
            )
            assert r.json()["rejected"] == 0, r.json()


@pytest.fixture
def two_histories(world: World) -> World:
    """The demo histories of A and B (same county), pushed through the real sync path; B
    shares A's detector serial so a detector search must still keep tenants apart."""
    _push_history(world, "ent-a", "a-admin", "GASL-4-0001")
    _push_history(world, "ent-b", "b-admin", "GASL-4-0001")
    return world


def _permit_rows(engine: sa.engine.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT * FROM permits")).mappings())


def _members(engine: sa.engine.Engine) -> dict[str, set[tuple[str, str, str, str]]]:
    out = {}
    with engine.connect() as conn:
        for table, column, _param in LISTS.values():
            out[table] = {
                tuple(r)
                for r in conn.execute(
                    sa.text(f"SELECT permit_id, {column}, enterprise_id, first_at FROM {table}")
                )
            }
    return out


def _list(row: Any, column: str) -> list[str]:
    # JSON columns read back parsed on PostgreSQL, as text on SQLite (a text query).
    value = row[column]
    return list(value) if isinstance(value, list) else list(json.loads(value))


def _expected_members(rows: list[Any]) -> dict[str, set[tuple[str, str, str, str]]]:
    out: dict[str, set[tuple[str, str, str, str]]] = {}
    for column, (table, _value, _param) in LISTS.items():
        out[table] = set()
        for r in rows:
            out[table] |= {
                (r["permit_id"], v, r["enterprise_id"], r["first_at"]) for v in _list(r, column)
            }
    return out


def _ids(world: World, who: str, **params: str) -> list[str]:
    r = world.client.get("/api/v1/permits", params={**params, "limit": 200}, headers=world.h(who))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total_exact"] is True and body["total"] == len(body["items"])
    return [p["permit_id"] for p in body["items"]]


def test_member_rows_follow_the_sync_path_and_every_filter_matches_the_lists(
    two_histories: World, app: Any
) -> None:
    w = two_histories
    rows = _permit_rows(app.state.engine)
    assert len(rows) == 10
    assert _members(app.state.engine) == _expected_members(rows)
    # Every person, detector and code in any permit: the search finds exactly the permits
    # whose list holds it, newest first, and only the tenants the caller may read.
    newest_first = sorted(rows, key=lambda r: r["permit_id"])
    newest_first.sort(key=lambda r: r["first_at"], reverse=True)
    checked = 0
    for column, (_table, _value, param) in LISTS.items():
        for value in sorted({v for r in rows for v in _list(r, column)}):
            want = [r["permit_id"] for r in newest_first if value in _list(r, column)]
            assert _ids(w, "bureau", **{param: value}) == want, (param, value)
            for admin, ent in (("a-admin", "ent-a"), ("b-admin", "ent-b")):
                mine = [
                    r["permit_id"]
                    for r in newest_first
                    if value in _list(r, column) and r["enterprise_id"] == ent
                ]
                assert _ids(w, admin, **{param: value}) == mine, (admin, param, value)
            # Another county's enterprise sees none of them.
            assert _ids(w, "c-admin", **{param: value}) == []
            checked += 1
    assert checked >= 10
    # The detector both enterprises use: combined with an enterprise and another filter.
    both = _ids(w, "bureau", detector="GASL-4-0001")
    assert {p[0] for p in both} == {"A", "B"}
    only_b = _ids(w, "bureau", detector="GASL-4-0001", enterprise_id="ent-b", status="closed")
    assert only_b and all(p.startswith("B-") for p in only_b)
    assert _ids(w, "a-admin", detector="GASL-4-0001", enterprise_id="ent-b") == []
    assert _ids(w, "bureau", person="nobody") == []
    # Wildcards are not patterns: the LIKE on the JSON text read '_' as any character.
    assert _ids(w, "bureau", person="a_p_zhou") == []


def test_a_fork_and_the_events_after_it_in_one_push_keep_the_members_right(
    world: World, app: Any
) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    evs = simple_permit(tab, "P-F")
    assert (
        world.client.post("/api/v1/sync/events", json={"events": evs}, headers=tab.headers).json()[
            "accepted"
        ]
        == 2
    )
    tab.heads["P-F"] = (1, evs[0]["hash"])
    fork = tab.event("P-F", cancelled())
    tab.heads["P-F"] = (2, evs[1]["hash"])
    after = tab.event("P-F", filler(1))
    # The fork is stored (VERSION_CONFLICT added to the row) before the next event is
    # saved from the row as it was read at the start of the push.
    r = world.client.post(
        "/api/v1/sync/events", json={"events": [fork, after]}, headers=tab.headers
    ).json()
    assert [x["status"] for x in r["results"]] == ["rejected", "accepted"]
    rows = _permit_rows(app.state.engine)
    assert _members(app.state.engine) == _expected_members(rows)
    assert _ids(world, "bureau", anomaly="VERSION_CONFLICT") == ["P-F"]
    assert _ids(world, "a-admin", anomaly="VERSION_CONFLICT", status="approved") == ["P-F"]


def test_total_stops_counting_at_the_cap(
    two_histories: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = two_histories
    monkeypatch.setattr(permit_service, "COUNT_CAP", 4)
    page = w.client.get("/api/v1/permits?limit=3", headers=w.h("bureau")).json()
    assert (page["total"], page["total_exact"], len(page["items"])) == (4, False, 3)
    # Paging past the cap still returns every permit, once.
    seen = []
    for offset in range(0, 20, 3):
        body = w.client.get(
            f"/api/v1/permits?limit=3&offset={offset}", headers=w.h("bureau")
        ).json()
        assert (body["total"], body["total_exact"]) == (4, False)
        seen += [p["permit_id"] for p in body["items"]]
    assert len(seen) == len(set(seen)) == 10
    # Exactly the cap, and below it, are exact; a member filter is capped the same way.
    ent_a = w.client.get("/api/v1/permits?enterprise_id=ent-a", headers=w.h("bureau")).json()
    assert (ent_a["total"], ent_a["total_exact"]) == (4, False)
    monkeypatch.setattr(permit_service, "COUNT_CAP", 5)
    ent_a = w.client.get("/api/v1/permits?enterprise_id=ent-a", headers=w.h("bureau")).json()
    assert (ent_a["total"], ent_a["total_exact"], len(ent_a["items"])) == (5, True, 5)
    monkeypatch.setattr(permit_service, "COUNT_CAP", 2)
    det = w.client.get("/api/v1/permits?detector=GASL-4-0001", headers=w.h("bureau")).json()
    assert (det["total"], det["total_exact"]) == (2, False) and len(det["items"]) > 2
    # The pages say "more than" and keep offering the next page while one comes back full.
    cookie = {"Cookie": f"cspermit_session={w.tokens['bureau']}"}
    html = w.client.get("/web/permits?size=5&lang=en", headers=cookie).text
    assert "more than 2 permits found" in html and "page=2" in html
    assert "Page 1<" in html.replace("</span>", "<")
    last = w.client.get("/web/permits?size=5&page=2&lang=zh_CN", headers=cookie).text
    assert "找到超过 2 张作业票" in last and "page=3" not in last and "page=1" in last
    assert last.count('href="/web/permits/') == 5
    csv_rows = w.client.get("/web/permits.csv", headers=cookie).text.strip().splitlines()
    assert len(csv_rows) == 1 + 10
    spec = w.client.get("/openapi.json").json()
    assert "total_exact" in spec["components"]["schemas"]["PermitPage"]["required"]


# ------------------------------------------------------------------ migration 0002


def _permit_row(
    pid: str, ent: str, first_at: str, people: list[str], anomalies: list[str]
) -> dict[str, Any]:
    return {
        "permit_id": pid,
        "enterprise_id": ent,
        "space_id": "S-1",
        "status": "closed",
        "last_seq": 3,
        "last_hash": "0" * 64,
        "writer_device_id": "dev",
        "first_at": first_at,
        "last_at": first_at,
        "people": people,
        "detectors": ["GASL-1"] if people else [],
        "anomalies": anomalies,
        "has_anomaly": bool(anomalies),
        "rev": 1,
        "updated_at": first_at,
    }


def test_migration_derives_the_members_of_existing_permits(empty_db: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(empty_db)
    try:
        migrate(engine, "0001")
        permits_0001 = sa.Table("permits", sa.MetaData(), autoload_with=engine)
        rows = [
            _permit_row("P-1", "ent-a", "2026-01-01T00:00:00.000000+00:00", ["张伟", "p-2"], []),
            # A list that holds a value twice gives one row.
            _permit_row(
                "P-2",
                "ent-a",
                "2026-02-01T00:00:00.000000+00:00",
                ["p-2", "p-2"],
                ["ALARM_RAISED", "CLOCK_AHEAD"],
            ),
            _permit_row("P-3", "ent-b", "2026-03-01T00:00:00.000000+00:00", [], []),
        ]
        with engine.begin() as conn:
            conn.execute(permits_0001.insert(), rows)
        migrate(engine)
        assert _members(engine) == {
            "permit_people": {
                ("P-1", "张伟", "ent-a", "2026-01-01T00:00:00.000000+00:00"),
                ("P-1", "p-2", "ent-a", "2026-01-01T00:00:00.000000+00:00"),
                ("P-2", "p-2", "ent-a", "2026-02-01T00:00:00.000000+00:00"),
            },
            "permit_detectors": {
                ("P-1", "GASL-1", "ent-a", "2026-01-01T00:00:00.000000+00:00"),
                ("P-2", "GASL-1", "ent-a", "2026-02-01T00:00:00.000000+00:00"),
            },
            "permit_anomalies": {
                ("P-2", "ALARM_RAISED", "ent-a", "2026-02-01T00:00:00.000000+00:00"),
                ("P-2", "CLOCK_AHEAD", "ent-a", "2026-02-01T00:00:00.000000+00:00"),
            },
        }
        # The migrated schema is the one the code declares (tables, columns, indexes).
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        # And it goes back down and up again.
        migrate_down(engine, "0001")
        assert "permit_people" not in sa.inspect(engine).get_table_names()
        migrate(engine)
        assert len(_members(engine)["permit_people"]) == 3
    finally:
        engine.dispose()


def migrate_down(engine: sa.engine.Engine, revision: str) -> None:
    migrate(engine, revision, down=True)


def test_a_restored_archive_carries_the_member_rows(world: World, app: Any, tmp_path: Path) -> None:
    from sync_server.backup import backup, restore

    _push_history(world, "ent-a", "a-admin", "GASL-4-0001")
    before = _members(app.state.engine)
    assert all(before.values())
    archive = tmp_path / "b.jsonl.gz"
    counts = backup(app.state.engine, archive)
    assert counts["permit_anomalies"] == len(before["permit_anomalies"])
    target = make_engine(f"sqlite:///{tmp_path / 'restored.db'}")
    try:
        migrate(target)
        restore(target, archive, world.client.get("/api/v1/server-key").json()["fingerprint"])
        assert _members(target) == before == _expected_members(_permit_rows(target))
    finally:
        target.dispose()

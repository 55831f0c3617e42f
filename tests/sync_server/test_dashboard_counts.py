"""The bureau's dashboard counts at a county's scale: the counts and lists equal a plain
reading of every row (in progress, alarmed, today), and on SQLite each county-wide count
reads an index alone (migration 0010; docs/performance.md, "The bureau's dashboard")."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bench.search import PERMIT_COLUMNS, enterprise_rows, member_rows, permit_rows
from sync_server.schema import enterprises, permit_anomalies, permit_detectors, permit_people
from sync_server.schema import permits as permits_table
from sync_server.security import Principal, Role
from sync_server.services import dashboard
from sync_server.storage import make_engine, now_iso

PERMITS = 4000
REVIEWER = Principal(Role.BUREAU_REVIEWER, "acc-r", "reviewer", None, "5301")
MEMBERS = {"permit_people": permit_people, "permit_detectors": permit_detectors}
MEMBERS["permit_anomalies"] = permit_anomalies
MEMBER_COLUMN = {"permit_people": "person_id", "permit_detectors": "detector_id"}
MEMBER_COLUMN["permit_anomalies"] = "code"


def _load(engine: sa.Engine) -> list[dict[str, Any]]:
    rows = list(permit_rows(PERMITS, seed=3))
    # Alarmed permits that share a first_at (ties are ordered by id) and one that has
    # both alarm codes: the newest list and the count must each name it once.
    rows[0] = (*rows[0][:7], "2026-10-31T23:00:00.000000+00:00", *rows[0][8:])
    rows[1] = (*rows[1][:7], "2026-10-31T23:00:00.000000+00:00", *rows[1][8:])
    for i in (0, 1):
        rows[i] = (
            *rows[i][:11],
            json.dumps(["ALARM_RAISED", "EVACUATION_ORDERED"]),
            True,
            *rows[i][13:],
        )
    cols = [c.strip() for c in PERMIT_COLUMNS.split(",")]
    dicts = [dict(zip(cols, r, strict=True)) for r in rows]
    for d in dicts:
        for key in ("people", "detectors", "anomalies"):
            d[key] = json.loads(d[key])
    with engine.begin() as conn:
        # the columns bench.search.enterprise_rows fills, in its order
        ent_cols = [c.name for c in enterprises.columns][:8]
        conn.execute(
            enterprises.insert(),
            [{**dict(zip(ent_cols, r, strict=True)), "data": {}} for r in enterprise_rows()],
        )
        conn.execute(permits_table.insert(), dicts)
        for table, members in member_rows(rows).items():
            column = MEMBER_COLUMN[table]
            if members:
                conn.execute(
                    MEMBERS[table].insert(),
                    [
                        {"permit_id": p, column: v, "enterprise_id": e, "first_at": f}
                        for p, v, e, f in members
                    ],
                )
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
    return dicts


def test_dashboard_counts_equal_a_reading_of_every_row(db_url: str) -> None:
    engine = make_engine(db_url)
    rows = _load(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    now = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
    seen: list[tuple[str, Any]] = []

    def _seen(_c: Any, _cur: Any, statement: str, params: Any, *_a: Any) -> None:
        seen.append((statement, params))

    sa.event.listen(engine, "before_cursor_execute", _seen)
    with engine.connect() as conn:
        d = dashboard.dashboard(conn, REVIEWER, now)
        sa.event.remove(engine, "before_cursor_execute", _seen)
        counts = [(s, p) for s, p in seen if s.startswith("SELECT count(") and "FROM permit" in s]
        assert len(counts) == 4, counts  # today, in progress, alarmed, with findings
        if engine.dialect.name == "sqlite":
            for statement, params in counts:
                plan = [
                    r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
                ]
                reads = [line for line in plan if line.startswith(("SEARCH", "SCAN"))]
                assert reads and all("COVERING INDEX" in line for line in reads), (statement, plan)
                # The in-progress count seeks its statuses, not every entry of the county.
                if "permits.status IN" in statement:
                    assert all("status=?" in line for line in reads), plan
            # The newest alarmed permits' rows are read each by its key: a row-value
            # IN (SELECT …) was planned as a walk over every permit (2.6 s at 1M).
            listed = [
                (s, p)
                for s, p in seen
                if s.startswith("SELECT permits.permit_id") and "permits.permit_id = ?" in s
            ]
            assert len(listed) == 1, [s for s, _ in seen]
            plan = [
                r[-1]
                for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + listed[0][0], listed[0][1])
            ]
            reads = [line for line in plan if line.startswith(("SEARCH", "SCAN"))]
            assert reads and not any(line.startswith("SCAN permits") for line in reads), plan
            assert any(
                "SEARCH permits USING INDEX sqlite_autoindex_permits" in line
                or "PRIMARY KEY" in line
                for line in reads
            ), plan
    engine.dispose()

    alarm = {"ALARM_RAISED", "EVACUATION_ORDERED"}
    alarmed = sorted(
        (r for r in rows if alarm & set(r["anomalies"])),
        key=lambda r: (r["first_at"], r["permit_id"]),
        reverse=True,
    )
    assert d["alarm_count"] == len(alarmed) > 10
    assert [r.permit_id for r in d["alarmed"]] == [r["permit_id"] for r in alarmed[:10]]
    active = [r for r in rows if r["status"] in dashboard.ACTIVE]
    assert d["active_count"] == len(active) > 20
    newest = sorted(active, key=lambda r: r["first_at"], reverse=True)[:20]
    assert [r.first_at for r in d["active"]] == [r["first_at"] for r in newest]
    today = now_iso(dashboard.today_start_utc(now))
    assert d["today"] == sum(1 for r in rows if r["first_at"] >= today) > 0

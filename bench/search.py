"""Permit search and trace at 1,000,000 permits, on SQLite and on PostgreSQL (full run
only; quick mode reports them as not measured).

The data: a county bureau's history of 200 enterprises × 5,000 permits over three
years (ten spaces and forty people an enterprise, one to four people and a detector a
permit; most closed, some cancelled, a few active; one in twenty with anomalies). The
summary rows and their member rows (people, detectors, anomaly codes, as the server's
ingest writes them) are bulk-loaded (``executemany`` on SQLite, ``COPY`` on PostgreSQL),
not pushed over HTTP; so are the event rows of 5,000 of them (copies of a real signed job
with their own ids). The permits traced are real signed chains pushed through
``POST /sync/events`` first: a one-hour job and an eight-hour job (480 readings chunks).

Measured over HTTP on loopback against a real uvicorn server, as a bureau reviewer:
``GET /permits`` with the filters the pages use (p95 over all of them) and
``GET /permits/{id}`` (the full trace, chain verified); and the bureau's landing page
``/web/`` signed in through the sign-in form (median of 5). Targets (issue 9): search
p95 < 100 ms, one trace < 200 ms; (issue 20) the dashboard < 150 ms.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import Figure, missing, percentile

PERMITS = int(os.environ.get("CSPERMIT_BENCH_PERMITS", "1000000"))
ENTERPRISES = 200
FILLER_CHAINS = 5000
STATUSES = ["closed"] * 85 + ["cancelled"] * 8 + ["active"] * 2 + ["suspended"] * 2 + ["draft"] * 3
ANOMALIES = [
    ["ALARM_RAISED", "EVACUATION_ORDERED"],
    ["CLOCK_BACKWARDS"],
    ["MANUAL_ATMOSPHERE_ENTRY"],
    ["ENTRY_WITHOUT_PASSING_TEST"],
    ["RETEST_DUE_OVERDUE"],
]


def _ent(i: int) -> str:
    return f"E-{i:04d}"


def permit_rows(n: int, seed: int = 1) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    end = datetime(2026, 11, 1, tzinfo=UTC)
    span = 3 * 365 * 86400
    for i in range(n):
        e = i % ENTERPRISES
        ent = _ent(e)
        first = end - timedelta(seconds=rng.randrange(span))
        last = first + timedelta(minutes=rng.randrange(30, 600))
        people = sorted({f"{ent}-P{rng.randrange(40):02d}" for _ in range(rng.randrange(1, 5))})
        anomalies = rng.choice(ANOMALIES) if rng.random() < 0.05 else []
        yield (
            f"{ent}-{i:07d}",
            ent,
            f"{ent}-S{rng.randrange(10)}",
            rng.choice(STATUSES),
            rng.randrange(20, 200),
            f"{rng.getrandbits(256):064x}",
            f"{ent}-TAB{rng.randrange(3)}",
            first.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
            last.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
            json.dumps(people),
            json.dumps([f"{ent}-D{rng.randrange(5)}"]),
            json.dumps(anomalies),
            bool(anomalies),
            i + 1000,
            last.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
        )


MEMBER_TABLES = (
    ("permit_people", "person_id", 9),
    ("permit_detectors", "detector_id", 10),
    ("permit_anomalies", "code", 11),
)


def member_rows(batch: list[tuple[Any, ...]]) -> dict[str, list[tuple[str, str, str, str]]]:
    """The member-table rows of a batch of permit rows (the server writes them with the
    permit row): (permit_id, value, enterprise_id, first_at) per person, detector and
    anomaly code."""
    out: dict[str, list[tuple[str, str, str, str]]] = {}
    for table, _column, field in MEMBER_TABLES:
        out[table] = [
            (row[0], value, row[1], row[7]) for row in batch for value in json.loads(row[field])
        ]
    return out


PERMIT_COLUMNS = (
    "permit_id, enterprise_id, space_id, status, last_seq, last_hash, writer_device_id,"
    " first_at, last_at, people, detectors, anomalies, has_anomaly, rev, updated_at"
)
EVENT_COLUMNS = (
    "event_id, enterprise_id, permit_id, seq, type, occurred_at, received_at, device_id,"
    " actor, hash, body, clock_flag, clock_skew_s"
)


def filler_events(template: list[dict[str, Any]], chains: int) -> Iterator[tuple[Any, ...]]:
    """Event rows of ``chains`` generated permits: a real job's events, own ids."""
    for c in range(chains):
        ent = _ent(c % ENTERPRISES)
        pid = f"{ent}-{c:07d}"
        for ev in template:
            body = dict(ev, permit_id=pid, event_id=str(uuid.uuid4()))
            yield (
                body["event_id"],
                ent,
                pid,
                ev["seq"],
                ev["type"],
                ev["occurred_at"],
                ev["occurred_at"],
                ev["device_id"],
                ev["actor"],
                ev["hash"],
                json.dumps(body),
                None,
                None,
            )


ENTERPRISE_COLUMNS = (
    "enterprise_id, name, credit_code, jurisdiction, data, rev, created_at, updated_at"
)


def enterprise_rows() -> list[tuple[Any, ...]]:
    now = datetime.now(UTC).isoformat()
    return [
        (_ent(i), f"enterprise {i}", f"BENCH{i:013d}", "530102", "{}", 10 + i, now, now)
        for i in range(ENTERPRISES)
    ]


def _chunks(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def load(engine: Any, template: list[dict[str, Any]]) -> float:
    """Bulk-load the enterprises, 1M permit rows with their member rows and the filler
    events; seconds."""
    t0 = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        ents = enterprise_rows()
        if engine.dialect.name == "postgresql":
            with cur.copy(f"COPY enterprises ({ENTERPRISE_COLUMNS}) FROM STDIN") as copy:
                for row in ents:
                    copy.write_row(row)
            for batch in _chunks(permit_rows(PERMITS), 50_000):
                with cur.copy(f"COPY permits ({PERMIT_COLUMNS}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
                members = member_rows(batch)
                for table, column, _field in MEMBER_TABLES:
                    with cur.copy(
                        f"COPY {table} (permit_id, {column}, enterprise_id, first_at) FROM STDIN"
                    ) as copy:
                        for member in members[table]:
                            copy.write_row(member)
            with cur.copy(f"COPY events ({EVENT_COLUMNS}) FROM STDIN") as copy:
                for row in filler_events(template, min(FILLER_CHAINS, PERMITS)):
                    copy.write_row(row)
            raw.commit()
            # VACUUM too: on a live server autovacuum's insert threshold sets the visibility
            # map within a minute of a bulk load; without it every index-only count (the
            # capped total) would still read the table.
            raw.driver_connection.autocommit = True
            cur.execute("VACUUM ANALYZE")
            raw.driver_connection.autocommit = False
        else:
            # The columns named, as for every table here: a column a migration adds (0009's
            # emergency phone) broke the SQLite load that relied on the table's order.
            cur.executemany(
                f"INSERT INTO enterprises ({ENTERPRISE_COLUMNS}) VALUES "
                f"({','.join('?' * len(ENTERPRISE_COLUMNS.split(',')))})",
                ents,
            )
            for batch in _chunks(permit_rows(PERMITS), 50_000):
                cur.executemany(
                    f"INSERT INTO permits ({PERMIT_COLUMNS}) VALUES ({','.join('?' * 15)})",
                    batch,
                )
                members = member_rows(batch)
                for table, column, _field in MEMBER_TABLES:
                    cur.executemany(
                        f"INSERT INTO {table} (permit_id, {column}, enterprise_id, first_at)"
                        " VALUES (?, ?, ?, ?)",
                        members[table],
                    )
            for batch in _chunks(filler_events(template, min(FILLER_CHAINS, PERMITS)), 50_000):
                cur.executemany(
                    f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({','.join('?' * 13)})", batch
                )
            raw.commit()
            cur.execute("ANALYZE")
        raw.commit()
        cur.close()
    finally:
        raw.close()
    return time.perf_counter() - t0


def queries() -> list[dict[str, str]]:
    rng = random.Random(5)
    out: list[dict[str, str]] = []
    for _ in range(10):
        e = _ent(rng.randrange(ENTERPRISES))
        month = datetime(2024, rng.randrange(1, 13), 1, tzinfo=UTC)
        out += [
            {"enterprise_id": e},
            {"enterprise_id": e, "status": "closed"},
            {"enterprise_id": e, "space_id": f"{e}-S{rng.randrange(10)}"},
            {"enterprise_id": e, "person": f"{e}-P{rng.randrange(40):02d}"},
            {"enterprise_id": e, "detector": f"{e}-D{rng.randrange(5)}"},
            {"enterprise_id": e, "anomaly": "true"},
            {
                "date_from": month.isoformat(),
                "date_to": (month + timedelta(days=30)).isoformat(),
            },
            {"anomaly": "ALARM_RAISED"},
            {"status": "active"},
            {},
        ]
    return out


def dashboard_ms(http: Any, root: str, username: str, password: str, times: int = 5) -> list[float]:
    """Milliseconds of ``GET /web/`` for ``times`` loads, signed in through the page form
    (a session cookie, as a browser) on ``http`` (an ``httpx.Client``); ``root`` is the
    server's origin. One load first, unmeasured, like a reviewer's first visit."""
    import re

    form = http.get(f"{root}/web/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    if csrf is None:
        raise RuntimeError("the sign-in page has no CSRF token")
    r = http.post(
        f"{root}/web/sign-in",
        data={"username": username, "password": password, "csrf": csrf.group(1), "next": "/web/"},
    )
    if r.status_code != 303:
        raise RuntimeError(f"sign-in to the pages failed: {r.status_code}")
    http.get(f"{root}/web/").raise_for_status()
    out = []
    for _ in range(times):
        t = time.perf_counter()
        page = http.get(f"{root}/web/")
        out.append((time.perf_counter() - t) * 1000)
        page.raise_for_status()
    return out


def measure(db_url: str, label: str) -> list[Figure]:
    import httpx

    from bench.histories import job
    from bench.server import enroll, push_all, serve
    from sync_server.security import Role
    from sync_server.services import accounts as account_service

    with serve(db_url) as (app, base), httpx.Client(timeout=120) as http:
        key, device, _admin = enroll(http, base)
        now = datetime.now(UTC)
        short = job("ent-a-TRACE-1H", key, now - timedelta(days=2), 60)
        long = job("ent-a-TRACE-8H", key, now - timedelta(days=1), 480, alarm=True)
        push_all(http, base, device, [short[i : i + 200] for i in range(0, len(short), 200)])
        push_all(http, base, device, [long[i : i + 200] for i in range(0, len(long), 200)])
        with app.state.engine.begin() as conn:
            account_service.create_account(
                conn,
                app.state.passwords,
                username="reviewer",
                password="reviewer-pass",
                role=Role.BUREAU_REVIEWER,
                jurisdiction="5301",
            )
        loaded = load(app.state.engine, short)
        token = http.post(
            f"{base}/auth/token", data={"username": "reviewer", "password": "reviewer-pass"}
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        search: list[float] = []
        slowest: tuple[float, dict[str, str]] = (0.0, {})
        for params in queries():
            t = time.perf_counter()
            r = http.get(f"{base}/permits", params=params, headers=h)
            search.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
            slowest = max(slowest, (search[-1], params), key=lambda s: s[0])
        traces: dict[str, list[float]] = {}
        for pid in ("ent-a-TRACE-1H", "ent-a-TRACE-8H"):
            for _ in range(5):
                t = time.perf_counter()
                r = http.get(f"{base}/permits/{pid}", headers=h)
                traces.setdefault(pid, []).append((time.perf_counter() - t) * 1000)
                r.raise_for_status()
                if not r.json()["verification"]["ok"]:
                    raise RuntimeError(f"{pid}: the traced chain did not verify")
        dash = dashboard_ms(http, base.removesuffix("/api/v1"), "reviewer", "reviewer-pass")
    p95 = percentile(search, 95)
    t1 = sorted(traces["ent-a-TRACE-1H"])[2]
    t8 = sorted(traces["ent-a-TRACE-8H"])[2]
    n = f"{PERMITS:,} permits"
    return [
        Figure(
            f"search.{label}_1m_search_p95",
            round(p95, 1),
            "ms",
            "< 100",
            p95 < 100,
            note=f"{len(search)} searches over {n} (bulk load {loaded:.0f} s); slowest "
            f"{slowest[0]:.0f} ms: {json.dumps(slowest[1])}",
        ),
        Figure(f"search.{label}_1m_search_p50", round(percentile(search, 50), 1), "ms"),
        Figure(
            f"search.{label}_1m_trace",
            round(t1, 1),
            "ms",
            "< 200",
            t1 < 200,
            note=f"median of 5, a one-hour job ({len(short)} events), at {n}",
        ),
        Figure(
            f"search.{label}_1m_trace_8h_job",
            round(t8, 1),
            "ms",
            "< 200",
            t8 < 200,
            note=f"median of 5, an eight-hour job ({len(long)} events)",
        ),
        Figure(
            f"search.{label}_1m_dashboard",
            round(statistics.median(dash), 1),
            "ms",
            "< 150",
            statistics.median(dash) < 150,
            note=f"median of 5, GET /web/ as a county reviewer over {n}",
        ),
    ]


@contextmanager
def pg_cluster() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (``bench.support.throwaway_pg``, syncing like a real
    one, with the settings of ``deploy/postgresql.conf`` unless
    ``CSPERMIT_BENCH_PG_STOCK=1`` asks for PostgreSQL's own); yields the URL of an
    empty, migrated database."""
    from bench.support.throwaway_pg import PgCluster, find_bin_dir, server_settings
    from sync_server.storage import make_engine, migrate

    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl)")
    cluster = PgCluster(bin_dir, prefix="cspermit-bench-pg-")
    stock = os.environ.get("CSPERMIT_BENCH_PG_STOCK") == "1"
    cluster.start(durable=True, settings=None if stock else server_settings())
    try:
        url = cluster.url("postgres")
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        yield url
    finally:
        cluster.stop()


NAMES = [
    ("search.sqlite_1m_search_p95", "ms", "< 100"),
    ("search.sqlite_1m_trace", "ms", "< 200"),
    ("search.sqlite_1m_dashboard", "ms", "< 150"),
    ("search.postgresql_1m_search_p95", "ms", "< 100"),
    ("search.postgresql_1m_trace", "ms", "< 200"),
    ("search.postgresql_1m_dashboard", "ms", "< 150"),
]


def run(quick: bool) -> list[Figure]:
    if quick:
        return [missing(n, u, t, "not measured in quick mode (full run only)") for n, u, t in NAMES]
    from sync_server.storage import make_engine, migrate

    out: list[Figure] = []
    tmp = Path(tempfile.mkdtemp(prefix="cspermit-bench-"))
    url = f"sqlite:///{tmp}/search.db"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    try:
        out += measure(url, "sqlite")
    except Exception as exc:
        out += [missing(n, u, t, f"SQLite: {exc}") for n, u, t in NAMES[:3]]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        with pg_cluster() as pg:
            out += measure(pg, "postgresql")
    except Exception as exc:
        out += [missing(n, u, t, f"PostgreSQL: {exc}") for n, u, t in NAMES[3:]]
    return out


if __name__ == "__main__":
    import sys

    for fig in run(quick="--quick" in sys.argv):
        print(json.dumps(fig.as_dict(), ensure_ascii=False))

"""Every SQL statement the server issues on a per-enterprise table names its enterprise:
it filters by ``enterprise_id`` (one enterprise, or a bureau's fan-out ``enterprise_id
IN (...)`` over the reader's jurisdiction), or inserts a row that carries it. That is
what distributing those tables by ``enterprise_id`` (Citus, docs/server.md "Past one
machine") needs to route each statement to its shard without a query rewrite.

The statements are captured (SQLAlchemy's ``before_cursor_execute``) while a realistic
workload runs on SQLite and on PostgreSQL: the demo's history pushed by the tablet's sync
client (ingest, readings chunks, automatic hazards), every page a link leads to as each
role of the demo (the bureau, both enterprises' admins, the operator; lists, traces, CSV,
PDF and JSON exports, hazards, ledgers), and every API endpoint by role and tenant (the
authorization matrix: enrollment, pushes, reference writes, the hazard loop, notes, feed).
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sync_server.schema import metadata
from tests.sync_server import test_authorization_matrix as authorization_matrix
from tests.sync_server.conftest import ASGIClient, build_world, make_settings
from tests.web.conftest import sign_in

# Distributed by enterprise_id: an enterprise's records, which grow with its work.
DISTRIBUTED = {
    "reference_items",
    "reference_item_versions",
    "permits",
    "permit_people",
    "permit_detectors",
    "permit_anomalies",
    "events",
    "version_conflicts",
    "findings",
    "simops_conflicts",
    "blobs",
    "hazards",
    "hazard_actions",
    "notes",
}
# Reference tables (a copy on every node): small, read by a key that is not an
# enterprise (a token's digest, a username, an enrollment code, a device id a tablet
# presents) or shared by every enterprise (the change counter, the server's keys, the
# sign-in throttle, the audit log that also records bureau and operator actions).
REFERENCE = {
    "alembic_version",
    "counters",
    "enterprises",
    "accounts",
    "sign_in_failures",
    "tokens",
    "enrollment_codes",
    "devices",
    "server_keys",
    "audit_log",
    # read by a key a stranger or a tablet holds, before any enterprise is known: a
    # space's public token (码上查), a sign-on code's digest, a report's receipt digest
    "space_public_codes",
    "signon_codes",
    "public_reports",
}

# COPY: the events of a push on PostgreSQL (``storage.insert_rows``), an insert.
DML = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|COPY)\b", re.IGNORECASE)
IN_LIST = re.compile(r"IN \((?:[^()]|\([^()]*\))*\)")


def _tables_of(statement: str) -> set[str]:
    named = re.findall(r"(?:FROM|JOIN|UPDATE|INTO|COPY|,)\s+\"?(\w+)\"?", statement, re.IGNORECASE)
    return {t for t in named if t in DISTRIBUTED or t in REFERENCE}


def _keyed(statement: str, table: str) -> str | None:
    """How ``statement`` names the enterprise of ``table``'s rows: "insert", "one",
    "fan-out", or None when it does not."""
    insert = re.match(
        rf"\s*(?:INSERT INTO|COPY) \"?{table}\"?\s*\(([^)]*)\)", statement, re.IGNORECASE
    )
    if insert:
        return "insert" if re.search(r"\benterprise_id\b", insert.group(1)) else None
    qualified = rf"\b{table}\.enterprise_id"
    only = len(_tables_of(statement) & DISTRIBUTED) == 1
    column = rf"(?:{qualified}|(?<![.\w])enterprise_id)" if only else qualified
    if re.search(rf"{column}\s*(?:=\s*ANY|IN)\b", statement, re.IGNORECASE):
        return "fan-out"
    if re.search(rf"{column}\s*=\s*(?!\w+\.enterprise_id)", statement):
        return "one"
    # A join on the enterprise with a table filtered by it (co-located shards).
    joined = re.search(rf"{qualified}\s*=\s*(\w+)\.enterprise_id", statement)
    if joined and joined.group(1) != table and _keyed(statement, joined.group(1)):
        return "one"
    return None


def _shape(statement: str) -> str:
    """The statement with its IN lists and whitespace folded, to list it once."""
    return IN_LIST.sub("IN (...)", " ".join(statement.split()))


@dataclass
class Audit:
    engine: str
    statements: int = 0
    by_table: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    unkeyed: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    untabled: set[str] = field(default_factory=set)
    # While the operator's pages load: the server's own administrator reads every
    # enterprise, a query over every shard (Citus runs it as it stands).
    operator: bool = False

    def record(self, statement: str) -> None:
        if not DML.match(statement) or "pg_catalog" in statement:
            return
        self.statements += 1
        tables = _tables_of(statement)
        if not tables:
            self.untabled.add(_shape(statement))
        for table in tables & DISTRIBUTED:
            how = _keyed(statement, table) or ("operator" if self.operator else "unkeyed")
            counts = self.by_table[table]
            counts[how] = counts.get(how, 0) + 1
            if how == "unkeyed":
                self.unkeyed[table].add(_shape(statement))


def _listen(engine: sa.Engine, audit: Audit) -> None:
    def seen(_conn: Any, _cur: Any, statement: str, *_a: Any) -> None:
        audit.record(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)


def _crawl(client: ASGIClient, limit: int = 80) -> int:
    """Every /web/ page a link leads to from the start page (up to ``limit``), as the
    signed-in person; each answer must be a page, a file or a redirect, never an error."""
    queue, seen = ["/web/"], {"/web/"}
    while queue and len(seen) <= limit:
        path = queue.pop(0)
        r = client.get(path)
        assert r.status_code < 500, (path, r.status_code)
        if "text/html" not in r.headers.get("content-type", ""):
            continue
        for href in re.findall(r'href="(/web/[^"#]*)"', r.text):
            href = href.replace("&amp;", "&")
            if "sign-out" in href or "lang=" in href or href in seen:
                continue
            seen.add(href)
            queue.append(href)
    return len(seen)


def _demo_workload(url: str, audit: Audit) -> None:
    from cspermit.demo.seed import DEMO_ACCOUNTS, push_history, seed_reference
    from sync_server.app import create_app

    app = create_app(make_settings(url))
    engine = app.state.engine
    _listen(engine, audit)
    try:
        seed_reference(engine, app.state.passwords)
        asyncio.run(push_history(app))
        for username, password, role, *_rest in DEMO_ACCOUNTS:
            if role.value == "aggregator":
                continue
            client = ASGIClient(app)
            audit.operator = role.value == "operator"
            try:
                sign_in(client, username, password)
                assert _crawl(client) > 10, username
            finally:
                audit.operator = False
                client.close()
    finally:
        engine.dispose()


def _matrix_workload(url: str, audit: Audit) -> None:
    from sync_server.app import create_app

    app = create_app(make_settings(url))
    _listen(app.state.engine, audit)
    client = ASGIClient(app)
    try:
        authorization_matrix.test_every_endpoint_by_role_and_tenant(build_world(client, app))
    finally:
        client.close()
        app.state.engine.dispose()


def _fresh_database(request: pytest.FixtureRequest, tmp: Path, name: str) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp / f"{name}.db")
        return f"sqlite:///{tmp / name}.db"
    cluster = request.getfixturevalue("pg_cluster")
    if cluster is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl)")
    db = f"audit_{name}_{next(cluster.counter)}"
    cluster.admin(f"CREATE DATABASE {db} TEMPLATE cspermit_template")
    return str(cluster.url(db))


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def audit(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Audit]:
    tmp = tmp_path_factory.mktemp("audit")
    result = Audit(engine=request.param)
    _demo_workload(_fresh_database(request, tmp, "demo"), result)
    _matrix_workload(_fresh_database(request, tmp, "matrix"), result)
    yield result


def test_every_table_is_distributed_or_a_reference_table() -> None:
    assert set(metadata.tables) | {"alembic_version"} == DISTRIBUTED | REFERENCE
    assert not DISTRIBUTED & REFERENCE
    for name in DISTRIBUTED:
        column = metadata.tables[name].c.enterprise_id
        assert not column.nullable, name  # a shard key is never NULL


def test_the_workload_reaches_every_distributed_table(audit: Audit) -> None:
    assert audit.statements > 2000
    assert set(audit.by_table) == DISTRIBUTED
    assert not audit.untabled, sorted(audit.untabled)[:5]
    # The bureau's pages fan out over the county; an enterprise's work names one.
    assert audit.by_table["permits"].get("fan-out", 0) > 0
    assert audit.by_table["events"].get("insert", 0) > 5
    assert audit.by_table["permits"].get("operator", 0) > 0


# Every table's statements name the enterprise (the last, by event, hazard, action and
# note ids, since migration 0012 and the scoped look-ups of 2026-12-02).
@pytest.mark.parametrize("table", sorted(DISTRIBUTED))
def test_every_statement_names_its_enterprise(audit: Audit, table: str) -> None:
    unkeyed = sorted(audit.unkeyed.get(table, set()))
    assert not unkeyed, f"{audit.engine}: {len(unkeyed)} statements on {table}:\n" + "\n".join(
        unkeyed
    )


def test_the_audit_tells_a_keyed_statement_from_one_that_is_not() -> None:
    assert _keyed("SELECT * FROM hazards WHERE hazards.hazard_id = ?", "hazards") is None
    one = "SELECT * FROM hazards WHERE hazards.enterprise_id = ? AND hazards.hazard_id = ?"
    assert _keyed(one, "hazards") == "one"
    fan = "SELECT count(*) FROM permits WHERE permits.enterprise_id IN (?, ?)"
    assert _keyed(fan, "permits") == "fan-out"
    assert _keyed("INSERT INTO notes (note_id, text) VALUES (?, ?)", "notes") is None
    assert _keyed("INSERT INTO notes (note_id, enterprise_id) VALUES (?, ?)", "notes") == "insert"
    assert _keyed("COPY events (event_id, enterprise_id) FROM STDIN", "events") == "insert"
    assert _keyed("COPY events (event_id, seq) FROM STDIN", "events") is None
    # A subquery's filter does not key the outer table.
    sub = (
        "SELECT * FROM permits WHERE permits.permit_id IN (SELECT permit_anomalies.permit_id"
        " FROM permit_anomalies WHERE permit_anomalies.enterprise_id IN (?))"
    )
    assert _keyed(sub, "permits") is None and _keyed(sub, "permit_anomalies") == "fan-out"

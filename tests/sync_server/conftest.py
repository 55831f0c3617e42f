"""Each test gets its own database; every database test runs on SQLite and on PostgreSQL.

PostgreSQL: one throwaway cluster per session (``initdb``/``pg_ctl -w`` in a temp dir on a
free port, run as the ``cspermit-pg`` system user because initdb refuses root), one
migrated template database, and a fresh copy of it per test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bench.support.throwaway_pg import PgCluster, find_bin_dir
from sync_server.settings import Settings
from sync_server.storage import make_engine, migrate

# A ledger entry in the permit core's shape (permits.reference.ConfinedSpace).
LEDGER_SPACE: dict[str, Any] = {
    "name": "糖蜜罐 molasses tank T-1",
    "location": "east of the milling house",
    "type": "closed_equipment",
    "hazards": ["H2S", "O2_deficiency"],
    "required_channels": ["O2", "H2S", "LEL", "CO"],
    "sample_points": ["top", "middle", "bottom"],
    "warning_sign_present": True,
    "four_lists": {
        "basic_information": ["5 m3 tank"],
        "responsible_persons": ["principal"],
        "control_measures": ["ventilate, test, enter"],
        "emergency_response": ["tripod and winch at the manhole"],
    },
}


def person(name: str, enterprise_id: str) -> dict[str, Any]:
    return {"name": name, "employer": {"kind": "enterprise", "id": enterprise_id}}


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster | None]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        yield None
        return
    cluster = PgCluster(bin_dir)
    cluster.start(durable=False)
    cluster.admin("CREATE DATABASE cspermit_template")
    engine = make_engine(cluster.url("cspermit_template"))
    migrate(engine)
    engine.dispose()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "server.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    cluster: PgCluster | None = request.getfixturevalue("pg_cluster")
    if cluster is None:
        pytest.skip(
            "no PostgreSQL server binaries (initdb, pg_ctl) in PATH or /usr/lib/postgresql/*/bin"
        )
    name = f"t{os.getpid()}_{next(cluster.counter)}"
    cluster.admin(f"CREATE DATABASE {name} TEMPLATE cspermit_template")
    return cluster.url(name)


# An empty database for a migration test (no revision applied yet).
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    cluster: PgCluster | None = request.getfixturevalue("pg_cluster")
    if cluster is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl)")
    name = f"m{next(cluster.counter)}"
    cluster.admin(f"CREATE DATABASE {name}")
    return cluster.url(name)


def make_settings(db_url: str, **overrides: Any) -> Settings:
    # argon2 at its cheapest: tests check behaviour, not the work factor.
    values: dict[str, Any] = {"db_url": db_url, "argon2_time_cost": 1, "argon2_memory_cost_kib": 64}
    # Where phones reach the server (the warning card's QR, 码上查); a test of the unset
    # case passes None.
    values["public_base_url"] = "https://codes.example.cn"
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
def app(settings: Settings) -> Iterator[Any]:
    from sync_server.app import create_app

    application = create_app(settings)
    yield application
    application.state.engine.dispose()


class ASGIClient:
    """A synchronous face on ``httpx.AsyncClient(transport=ASGITransport(app))``: the real app
    in-process, over httpx, with one event loop per test (Starlette's TestClient warns)."""

    def __init__(self, app: Any) -> None:
        import asyncio

        import httpx

        self.loop = asyncio.new_event_loop()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )

    def request(self, method: str, url: str, **kw: Any) -> Any:
        return self.loop.run_until_complete(self._client.request(method, url, **kw))

    def get(self, url: str, **kw: Any) -> Any:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> Any:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.request("DELETE", url, **kw)

    def close(self) -> None:
        self.loop.run_until_complete(self._client.aclose())
        self.loop.close()


@pytest.fixture
def client(app: Any) -> Iterator[ASGIClient]:
    c = ASGIClient(app)
    yield c
    c.close()


@dataclass
class World:
    """Two enterprises (A, B) in county 530102, one (C) in another county, and people."""

    client: Any
    tokens: dict[str, str] = field(default_factory=dict)
    enterprises: dict[str, str] = field(default_factory=dict)

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


CREDIT_CODES = {
    "A": "91530102MA6K3XY09U",
    "B": "91530102MA6K4AB052",
    "C": "91530300MA6K5DE087",
}


@pytest.fixture
def world(client: Any, app: Any) -> World:
    from sync_server.security import Role
    from sync_server.services import accounts as account_service

    engine = app.state.engine
    passwords = app.state.passwords
    with engine.begin() as conn:
        account_service.create_account(
            conn, passwords, username="op", password="op-password", role=Role.OPERATOR
        )
    w = World(client=client)
    w.tokens["op"] = sign_in(client, "op", "op-password")
    for key, jurisdiction in (("A", "530102"), ("B", "530102"), ("C", "530300")):
        r = client.post(
            "/api/v1/enterprises",
            json={
                "enterprise_id": f"ent-{key.lower()}",
                "name": f"Enterprise {key}",
                "credit_code": CREDIT_CODES[key],
                "jurisdiction": jurisdiction,
            },
            headers=w.h("op"),
        )
        assert r.status_code == 201, r.text
        w.enterprises[key] = r.json()["enterprise_id"]
    accounts = [
        ("a-admin", "enterprise_admin", "ent-a", None),
        ("b-admin", "enterprise_admin", "ent-b", None),
        ("c-admin", "enterprise_admin", "ent-c", None),
        ("bureau", "bureau_reviewer", None, "530102"),
        ("agg", "aggregator", None, "53"),
    ]
    for username, role, eid, jur in accounts:
        r = client.post(
            "/api/v1/accounts",
            json={
                "username": username,
                "password": f"{username}-pass",
                "role": role,
                "enterprise_id": eid,
                "jurisdiction": jur,
            },
            headers=w.h("op"),
        )
        assert r.status_code == 201, r.text
        w.tokens[username] = sign_in(client, username, f"{username}-pass")
    return w


def sign_in(client: Any, username: str, password: str) -> str:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


@contextmanager
def operator_app(db_url: str, **overrides: Any) -> Iterator[tuple[ASGIClient, dict[str, str]]]:
    """An app on ``db_url`` with settings ``overrides`` and a signed-in operator: the client
    and the operator's auth header. Closed and disposed on exit."""
    from sync_server.app import create_app
    from sync_server.security import Role
    from sync_server.services import accounts as account_service

    app = create_app(make_settings(db_url, **overrides))
    client = ASGIClient(app)
    try:
        with app.state.engine.begin() as conn:
            account_service.create_account(
                conn, app.state.passwords, username="op", password="op-password", role=Role.OPERATOR
            )
        yield client, {"Authorization": f"Bearer {sign_in(client, 'op', 'op-password')}"}
    finally:
        client.close()
        app.state.engine.dispose()

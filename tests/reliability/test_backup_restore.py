"""``cspermit server backup`` / ``restore`` in all three formats, restored into a fresh
database and checked: every row of every table back, every permit chain verifying with
the enrolled keys. The SQLite online backup is taken from a live uvicorn server while a
tablet pushes; pg_dump from a live PostgreSQL database."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cspermit.cli import app as cli
from permits.integrity import verify_chain
from sync_server.schema import blobs, devices, events, metadata
from tests.sync_server.chains import enroll_tablet, filler, simple_permit
from tests.sync_server.conftest import World


def _cli(*args: str) -> str:
    done = CliRunner().invoke(cli, ["server", *args])
    assert done.exit_code == 0, done.output
    return str(done.output)


def server_fingerprint(url: str) -> str:
    """What the operator notes down from ``cspermit server key`` to restore against."""
    return str(json.loads(_cli("key", "--db", url))["fingerprint"])


def passphrase_file(tmp_path: Path) -> str:
    path = tmp_path / "passphrase.txt"
    path.write_text("correct horse battery staple\n", encoding="utf-8")
    return str(path)


def verify_every_chain(url: str) -> tuple[int, int]:
    """(permits, events) in the database at ``url``; fails on any chain that does not
    verify against the devices' enrolled keys."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            keys = {r.device_id: r.public_key_b64 for r in conn.execute(sa.select(devices))}
            chains: dict[str, list[dict[str, Any]]] = {}
            for r in conn.execute(sa.select(events).order_by(events.c.permit_id, events.c.seq)):
                body = r.body if isinstance(r.body, dict) else json.loads(r.body)
                chains.setdefault(r.permit_id, []).append(body)
            for digest, data in conn.execute(sa.select(blobs.c.sha256, blobs.c.data)):
                assert hashlib.sha256(bytes(data)).hexdigest() == digest
    finally:
        engine.dispose()
    for pid, chain in chains.items():
        result = verify_chain(chain, keys, permit_id=pid)
        assert result.valid, (pid, result.as_dict())
    return len(chains), sum(len(c) for c in chains.values())


def snapshot(url: str) -> dict[str, list[str]]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return {
                t.name: sorted(
                    json.dumps(dict(r._mapping), default=str, sort_keys=True)
                    for r in conn.execute(sa.select(t))
                )
                for t in metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _fill(world: World, permits: int = 4) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    for i in range(permits):
        evs = [*simple_permit(tab, f"BK-{i}"), tab.event(f"BK-{i}", filler(3))]
        r = world.client.post("/api/v1/sync/events", json={"events": evs}, headers=tab.headers)
        assert r.json()["accepted"] == 3
        blob = f"readings {i}".encode()
        world.client.put(
            f"/api/v1/sync/chunks/{hashlib.sha256(blob).hexdigest()}",
            content=blob,
            headers=tab.headers,
        )
    r = world.client.post(
        "/api/v1/hazards",
        json={
            "enterprise_id": "ent-a",
            "title": "t",
            "source": "self_inspection",
            "category": "other",
        },
        headers=world.h("a-admin"),
    )
    assert r.status_code == 201


@pytest.mark.parametrize("fmt", ["archive", "sqlite"])
def test_sqlite_backup_restores_into_a_fresh_database(
    world: World, db_url: str, tmp_path: Path, fmt: str
) -> None:
    _fill(world)
    out = tmp_path / f"backup.{fmt}"
    secret = ["--passphrase-file", passphrase_file(tmp_path)]
    assert f"({fmt})" in _cli("backup", "--db", db_url, "--out", str(out), "--format", fmt, *secret)
    assert out.stat().st_mode & 0o777 == 0o600  # password hashes inside
    key = ["--server-key", server_fingerprint(db_url)]
    target = f"sqlite:///{tmp_path}/fresh.db"
    assert f"({fmt})" in _cli("restore", "--db", target, "--from", str(out), *key, *secret)
    assert verify_every_chain(target) == verify_every_chain(db_url) == (4, 12)
    assert snapshot(target) == snapshot(db_url)  # the sealed identity key came back too
    # A second restore onto the now non-empty database is refused, nothing merged.
    done = CliRunner().invoke(
        cli, ["server", "restore", "--db", target, "--from", str(out), *key, *secret]
    )
    assert done.exit_code == 2 and "DATABASE_NOT_EMPTY" in done.output


def test_wrong_engine_and_unknown_files_are_refused(db_url: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello")
    done = CliRunner().invoke(
        cli, ["server", "restore", "--db", f"sqlite:///{tmp_path}/x.db", "--from", str(junk)]
    )
    assert done.exit_code == 2 and "BACKUP_FORMAT" in done.output
    done = CliRunner().invoke(
        cli,
        ["server", "backup", "--db", db_url, "--out", str(tmp_path / "x"), "--format", "pg_dump"],
    )
    assert done.exit_code == 2 and "BACKUP_ENGINE" in done.output


def test_sqlite_online_backup_of_a_live_server_under_pushes(tmp_path: Path) -> None:
    from tests.reliability.chaos import ServerProcess, _chains, _free_port, _prepare

    db = tmp_path / "live.db"
    tablet, _admin = _prepare(db)
    evs = _chains(tablet, permits=6, per_permit=8)
    server = ServerProcess(db, _free_port(), tmp_path / "server.log")
    server.start()
    import httpx

    pushed = threading.Event()
    errors: list[str] = []

    def push() -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                for i in range(0, len(evs), 4):
                    r = http.post(
                        "/api/v1/sync/events",
                        json={"events": evs[i : i + 4]},
                        headers={"Authorization": f"Bearer {tablet.token}"},
                    )
                    if r.status_code != 200 or r.json()["accepted"] != 4:
                        errors.append(r.text[:200])
                    if i == 16:
                        pushed.set()
        finally:
            pushed.set()

    worker = threading.Thread(target=push)
    worker.start()
    try:
        pushed.wait(60)
        out = tmp_path / "online.db"
        _cli("backup", "--db", f"sqlite:///{db}", "--out", str(out), "--format", "sqlite")
        worker.join(120)
    finally:
        server.stop()
    assert errors == []
    target = f"sqlite:///{tmp_path}/restored.db"
    _cli(
        "restore",
        "--db",
        target,
        "--from",
        str(out),
        "--server-key",
        server_fingerprint(f"sqlite:///{db}"),
    )
    _permits, n = verify_every_chain(target)
    # A consistent snapshot taken mid-stream: whole batches, every chain intact.
    assert 20 <= n <= 48 and n % 4 == 0, n
    assert verify_every_chain(f"sqlite:///{db}") == (6, 48)


@pytest.mark.postgres
def test_pg_dump_and_archive_restore_on_postgresql(
    pg_cluster: Any, world: World, db_url: str, tmp_path: Path
) -> None:
    if pg_cluster is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl)")
    _fill(world)
    # SQLite -> PostgreSQL through the engine-neutral archive.
    archive = tmp_path / "b.jsonl.gz"
    secret = ["--passphrase-file", passphrase_file(tmp_path)]
    _cli("backup", "--db", db_url, "--out", str(archive), *secret)
    pg_cluster.admin("CREATE DATABASE rel_from_archive")
    pg_a = pg_cluster.url("rel_from_archive")
    key = ["--server-key", server_fingerprint(db_url)]
    _cli("restore", "--db", pg_a, "--from", str(archive), *key, *secret)
    assert verify_every_chain(pg_a) == (4, 12)
    # PostgreSQL -> PostgreSQL through pg_dump / pg_restore.
    dump = tmp_path / "b.pgdump"
    assert "(pg_dump)" in _cli("backup", "--db", pg_a, "--out", str(dump), "--format", "pg_dump")
    assert dump.read_bytes().startswith(b"PGDMP")
    pg_cluster.admin("CREATE DATABASE rel_from_dump")
    pg_b = pg_cluster.url("rel_from_dump")
    assert "(pg_dump)" in _cli("restore", "--db", pg_b, "--from", str(dump), *key)
    assert verify_every_chain(pg_b) == (4, 12)
    assert snapshot(pg_b) == snapshot(pg_a)
    done = CliRunner().invoke(cli, ["server", "restore", "--db", pg_b, "--from", str(dump), *key])
    assert done.exit_code == 2 and "DATABASE_NOT_EMPTY" in done.output

"""Backup and restore keep everything, including verifiable chains and blobs."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sync_server.backup import backup, restore
from sync_server.settings import Settings
from sync_server.storage import make_engine, migrate
from tests.sync_server.chains import enroll_tablet, simple_permit
from tests.sync_server.conftest import ASGIClient, World, sign_in

PASSPHRASE = "correct horse battery staple"


def test_backup_then_restore_into_a_fresh_sqlite(world: World, app: object, tmp_path: Path) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    world.client.post(
        "/api/v1/sync/events", json={"events": simple_permit(tab, "BK-1")}, headers=tab.headers
    )
    blob = b"chunk bytes \x00\xff"
    world.client.put(
        f"/api/v1/sync/chunks/{hashlib.sha256(blob).hexdigest()}", content=blob, headers=tab.headers
    )
    archive = tmp_path / "b.jsonl.gz"
    counts = backup(app.state.engine, archive, PASSPHRASE)  # type: ignore[attr-defined]
    assert counts["events"] == 2 and counts["blobs"] == 1 and counts["server_keys"] == 1
    key = world.client.get("/api/v1/server-key").json()

    target = f"sqlite:///{tmp_path}/restored.db"
    engine = make_engine(target)
    migrate(engine)
    restore(engine, archive, key["fingerprint"], PASSPHRASE)
    engine.dispose()

    from sync_server.app import create_app

    restored = create_app(Settings(db_url=target))
    client = ASGIClient(restored)
    try:
        h = {"Authorization": f"Bearer {sign_in(client, 'bureau', 'bureau-pass')}"}
        trace = client.get("/api/v1/permits/BK-1", headers=h).json()
        assert trace["verification"]["ok"] and len(trace["events"]) == 2
        got = client.get(
            f"/api/v1/sync/chunks/{hashlib.sha256(blob).hexdigest()}?enterprise_id=ent-a", headers=h
        )
        assert got.content == blob
        # The same identity: the sealed key came back with the passphrase.
        assert client.get("/api/v1/server-key").json()["key_id"] == key["key_id"]
        # The old device token still works after a restore (tablets need not re-enroll).
        assert client.get("/api/v1/auth/me", headers=tab.headers).json()["role"] == "device"
        # Restoring twice is refused rather than merged.
        engine = make_engine(target)
        import pytest

        from sync_server.errors import Conflict

        with pytest.raises(Conflict):
            restore(engine, archive, key["fingerprint"], PASSPHRASE)
        engine.dispose()
    finally:
        client.close()
        restored.state.engine.dispose()

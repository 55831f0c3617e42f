"""Sync server ingest: events/s pushed over HTTP on loopback (real uvicorn, real SQLite
file, full checks: parse, chain and Ed25519 signature verification, rule replay) against a
raw SQLite insert of the same rows in the same run. Target from the issue: >= 0.25 of raw.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import Figure


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _chains(device_id: str, key: Any, permits: int, per_permit: int) -> list[list[dict[str, Any]]]:
    from permits.events import Drafted, HazardIdentified, SpaceSnapshot, new_event
    from permits.integrity import DeviceKey, seal

    dk = DeviceKey(device_id, key)
    space = SpaceSnapshot(
        space_id="S-1", name="tank", required_channels=("O2",), sample_points=("top",)
    )
    start = datetime.now(UTC) - timedelta(days=1)
    out = []
    for p in range(permits):
        prev = "0" * 64
        chain = []
        for seq in range(1, per_permit + 1):
            payload: Any = (
                Drafted(enterprise_id="ent-bench", space=space, work_description="w")
                if seq == 1
                else HazardIdentified(hazard=f"h{seq}")
            )
            ev = new_event(
                payload,
                permit_id=f"BENCH-{p}",
                seq=seq,
                actor="p-1",
                device_id=device_id,
                occurred_at=start + timedelta(seconds=seq),
            )
            sealed = seal(ev, prev, dk)
            prev = sealed.hash or ""
            chain.append(sealed.to_json())
        out.append(chain)
    return out


def _raw_sqlite(path: Path, rows: list[dict[str, Any]]) -> float:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE events (event_id TEXT PRIMARY KEY, enterprise_id TEXT, permit_id TEXT,"
        " seq INTEGER, type TEXT, occurred_at TEXT, device_id TEXT, hash TEXT, body TEXT,"
        " UNIQUE(permit_id, seq))"
    )
    t0 = time.perf_counter()
    for i in range(0, len(rows), 1000):
        batch = rows[i : i + 1000]
        conn.executemany(
            "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (
                    r["event_id"],
                    "ent-bench",
                    r["permit_id"],
                    r["seq"],
                    r["type"],
                    r["occurred_at"],
                    r["device_id"],
                    r["hash"],
                    json.dumps(r),
                )
                for r in batch
            ],
        )
        conn.commit()
    elapsed = time.perf_counter() - t0
    conn.close()
    return len(rows) / elapsed


def run(quick: bool) -> list[Figure]:
    import httpx
    import uvicorn
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from permits.integrity import DeviceKey
    from sync_server.app import create_app
    from sync_server.security import Role
    from sync_server.services import accounts as account_service
    from sync_server.services import enterprises as enterprise_service
    from sync_server.settings import Settings

    permits, per_permit = (10, 100) if quick else (40, 250)
    tmp = Path(tempfile.mkdtemp(prefix="cspermit-bench-"))
    settings = Settings(
        db_url=f"sqlite:///{tmp}/server.db", argon2_time_cost=1, argon2_memory_cost_kib=64
    )
    app = create_app(settings)
    with app.state.engine.begin() as conn:
        enterprise_service.create(
            conn,
            enterprise_id="ent-bench",
            name="bench",
            credit_code="91530102MA6K6GH00F",
            jurisdiction="530102",
            details={},
        )
        account_service.create_account(
            conn,
            app.state.passwords,
            username="admin",
            password="admin-pass",
            role=Role.ENTERPRISE_ADMIN,
            enterprise_id="ent-bench",
        )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        with httpx.Client(timeout=120) as http:
            token = http.post(
                f"{base}/auth/token", data={"username": "admin", "password": "admin-pass"}
            ).json()
            h = {"Authorization": f"Bearer {token['access_token']}"}
            code = http.post(f"{base}/enrollments", json={}, headers=h).json()["code"]
            key = Ed25519PrivateKey.generate()
            dev = http.post(
                f"{base}/devices",
                json={"code": code, "public_key": DeviceKey("x", key).public_b64()},
            ).json()
            chains = _chains(dev["device_id"], key, permits, per_permit)
            dh = {"Authorization": f"Bearer {dev['token']}"}
            total = 0
            t0 = time.perf_counter()
            for chain in chains:
                for i in range(0, len(chain), 500):
                    r = http.post(
                        f"{base}/sync/events", json={"events": chain[i : i + 500]}, headers=dh
                    )
                    total += r.json()["accepted"]
            http_rate = total / (time.perf_counter() - t0)
        assert total == permits * per_permit, "the bench push was not fully accepted"
        raw_rate = _raw_sqlite(tmp / "raw.db", [e for c in chains for e in c])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()
    ratio = http_rate / raw_rate
    return [
        Figure(
            "server ingest over HTTP (loopback, SQLite, verified + replayed)",
            http_rate,
            "events/s",
            baseline=raw_rate,
        ),
        Figure(
            "server ingest vs raw SQLite insert of the same rows",
            ratio,
            "ratio",
            target=">= 0.25",
            ok=ratio >= 0.25,
            baseline=1.0,
        ),
    ]


if __name__ == "__main__":
    for fig in run(quick=True):
        print(fig.as_dict())

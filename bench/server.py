"""Sync server ingest: events/s pushed over HTTP on loopback (real uvicorn, real SQLite
file, every check: parse, hash chain, Ed25519 signatures, rule replay, findings) against
a raw SQLite insert of the same rows in the same run. Target from issues 6 and 9:
>= 0.25 of raw.

The baseline is fair to the server: the same event rows (the server's ``events``
columns, primary key and unique (permit_id, seq) index, the body as JSON text) inserted
with ``executemany`` in batches of the same size as the HTTP batches (the tablet sync
client's 200), committed per batch, with the server's pragmas (WAL, synchronous=NORMAL).

Two shapes are pushed: a tablet catching up after a day offline (whole permits in
batches of 200, in chain order) and a tablet online during a job (a few events at a
time into a chain that keeps growing), where the cost per push must not grow with the
chain.
"""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import Figure
from tablet_app.sync_client import BATCH_SIZE

BATCH = BATCH_SIZE  # the tablet's own batches
LIVE_BATCH = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(db_url: str, enterprise_id: str = "ent-a") -> Iterator[tuple[Any, str]]:
    """A real uvicorn server on loopback over ``db_url``, with an enterprise and its
    admin (``admin`` / ``admin-pass``); yields (app, base URL)."""
    import uvicorn

    from sync_server.app import create_app
    from sync_server.security import Role
    from sync_server.services import accounts as account_service
    from sync_server.services import enterprises as enterprise_service
    from sync_server.settings import Settings

    settings = Settings(db_url=db_url, argon2_time_cost=1, argon2_memory_cost_kib=64)
    app = create_app(settings)
    with app.state.engine.begin() as conn:
        enterprise_service.create(
            conn,
            enterprise_id=enterprise_id,
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
            enterprise_id=enterprise_id,
        )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield app, f"http://127.0.0.1:{port}/api/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


def enroll(http: Any, base: str) -> tuple[Any, dict[str, str], dict[str, str]]:
    """Enrol a new device key through the API: (DeviceKey, device headers, admin headers)."""
    from permits.integrity import DeviceKey

    token = http.post(
        f"{base}/auth/token", data={"username": "admin", "password": "admin-pass"}
    ).json()
    admin = {"Authorization": f"Bearer {token['access_token']}"}
    code = http.post(f"{base}/enrollments", json={}, headers=admin).json()["code"]
    key = DeviceKey.generate("pending")
    dev = http.post(f"{base}/devices", json={"code": code, "public_key": key.public_b64()}).json()
    return (
        DeviceKey(dev["device_id"], key.private_key),
        {"Authorization": f"Bearer {dev['token']}"},
        admin,
    )


# The server's ``events`` table as its migrations leave it (keys and indexes: 0012's
# primary key, 0006's unique, no plain index since 0013), so the floor writes the
# B-trees the server writes, no more and no fewer.
RAW_SCHEMA = (
    "CREATE TABLE events (event_id VARCHAR(64) NOT NULL, enterprise_id VARCHAR(64) NOT NULL,"
    " permit_id VARCHAR(64) NOT NULL, seq INTEGER NOT NULL, type VARCHAR(48) NOT NULL,"
    " occurred_at VARCHAR(40) NOT NULL, received_at VARCHAR(40) NOT NULL,"
    " device_id VARCHAR(64) NOT NULL, actor VARCHAR(64), hash VARCHAR(64) NOT NULL,"
    " body JSON NOT NULL, clock_flag VARCHAR(32), clock_skew_s FLOAT,"
    " PRIMARY KEY (enterprise_id, event_id), UNIQUE (enterprise_id, permit_id, seq));"
)


def raw_sqlite(path: Path, batches: list[list[dict[str, Any]]]) -> float:
    """Rows/s for a raw insert of the same event rows, one commit per batch."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(RAW_SCHEMA)
    received = datetime.now(UTC).isoformat()
    t0 = time.perf_counter()
    for batch in batches:
        conn.executemany(
            "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    r["event_id"],
                    "ent-a",
                    r["permit_id"],
                    r["seq"],
                    r["type"],
                    r["occurred_at"],
                    received,
                    r["device_id"],
                    r["actor"],
                    r["hash"],
                    json.dumps(r),
                    None,
                    None,
                )
                for r in batch
            ],
        )
        conn.commit()
    elapsed = time.perf_counter() - t0
    conn.close()
    return sum(len(b) for b in batches) / elapsed


def checks_only(chains: list[list[dict[str, Any]]], key: Any) -> tuple[float, float]:
    """Events/s of the two checks every pushed event must pass, alone, on one core: the
    Ed25519 signature, and the SHA-256 of the canonical form plus the signature. No
    parsing, rules, database or HTTP. Their ratio to the raw insert bounds the ingest
    ratio from above: the server cannot accept events faster than it can check them."""
    from permits.events import parse_event
    from permits.integrity import _signed_by, event_hash, verify_key_from

    parsed = [parse_event(e) for c in chains for e in c]
    public = verify_key_from(key.public_b64())
    t0 = time.perf_counter()
    for ev in parsed:
        if not _signed_by(public, ev.hash, ev.sig):
            raise RuntimeError("a bench event failed its signature check")
    verify = len(parsed) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for ev in parsed:
        if event_hash(ev) != ev.hash or not _signed_by(public, ev.hash, ev.sig):
            raise RuntimeError("a bench event failed its hash check")
    both = len(parsed) / (time.perf_counter() - t0)
    return verify, both


def push_all(http: Any, base: str, headers: dict[str, str], batches: list[list[Any]]) -> float:
    """Events/s through ``POST /sync/events``; every event must be accepted."""
    total = 0
    t0 = time.perf_counter()
    for batch in batches:
        r = http.post(f"{base}/sync/events", json={"events": batch}, headers=headers)
        r.raise_for_status()
        body = r.json()
        if body["accepted"] != len(batch):
            bad = [x for x in body["results"] if x["status"] != "accepted"][:3]
            raise RuntimeError(f"the bench push was not fully accepted: {bad}")
        total += body["accepted"]
    return total / (time.perf_counter() - t0)


def run(quick: bool) -> list[Figure]:
    import httpx

    from bench.histories import jobs

    permits, minutes = (8, 60) if quick else (24, 240)
    live_minutes = 60 if quick else 480
    tmp = Path(tempfile.mkdtemp(prefix="cspermit-bench-"))
    with serve(f"sqlite:///{tmp}/server.db") as (_app, base), httpx.Client(timeout=120) as http:
        key, dh, _admin = enroll(http, base)
        chains = jobs(key, permits, minutes)
        flat = [e for c in chains for e in c]
        batches = [flat[i : i + BATCH] for i in range(0, len(flat), BATCH)]
        http_rate = push_all(http, base, dh, batches)
        # Online: one 8-h job (4 h in quick) pushed a few events at a time as written.
        (live,) = jobs(key, 1, live_minutes, prefix="LIVE")
        live_batches = [live[i : i + LIVE_BATCH] for i in range(0, len(live), LIVE_BATCH)]
        per_push = []
        t_first = time.perf_counter()
        for batch in live_batches:
            t = time.perf_counter()
            push_all(http, base, dh, [batch])
            per_push.append(time.perf_counter() - t)
        live_rate = len(live) / (time.perf_counter() - t_first)
        quarter = max(1, len(per_push) // 4)
        growth = sum(per_push[-quarter:]) / sum(per_push[:quarter])
    raw_rate = raw_sqlite(tmp / "raw.db", batches)
    verify_rate, checks_rate = checks_only(chains, key)
    raw_live = raw_sqlite(tmp / "raw-live.db", live_batches)
    shutil.rmtree(tmp, ignore_errors=True)
    ratio = http_rate / raw_rate
    live_ratio = live_rate / raw_live
    return [
        Figure(
            "server.ingest_http",
            round(http_rate),
            "events/s",
            baseline=round(raw_rate),
            note=f"{len(flat)} events of {permits} permits, batches of {BATCH}, loopback, "
            "SQLite; baseline: raw executemany of the same rows, same batches",
        ),
        Figure(
            "server.ingest_vs_raw_sqlite",
            round(ratio, 3),
            "ratio",
            target=">= 0.25",
            ok=ratio >= 0.25,
            baseline=1.0,
        ),
        Figure(
            "server.signature_checks_only",
            round(verify_rate),
            "events/s",
            baseline=round(raw_rate),
            note="Ed25519 verification alone, one core, same events (no parse, rules, "
            "database or HTTP)",
        ),
        Figure(
            "server.hash_and_signature_checks_only_vs_raw_sqlite",
            round(checks_rate / raw_rate, 3),
            "ratio",
            baseline=1.0,
            note=f"{round(checks_rate)} events/s for the canonical SHA-256 and the Ed25519 "
            "check alone: an upper bound on the ingest ratio on this machine",
        ),
        Figure(
            "server.ingest_live_http",
            round(live_rate),
            "events/s",
            baseline=round(raw_live),
            note=f"one {live_minutes}-min job ({len(live)} events) pushed {LIVE_BATCH} at a time",
        ),
        Figure("server.ingest_live_vs_raw_sqlite", round(live_ratio, 3), "ratio", baseline=1.0),
        Figure(
            "server.ingest_live_push_cost_late_vs_early",
            round(growth, 2),
            "ratio",
            note="time per push in the last quarter of the job over the first: ~1 when a "
            "push costs O(batch), not O(chain)",
        ),
    ]


if __name__ == "__main__":
    for fig in run(quick=True):
        print(fig.as_dict())

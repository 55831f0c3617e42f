"""Sync chaos and crash safety with real processes.

``server_run``: a real uvicorn server (``sync_server.app:create_app``) on a SQLite file,
and a tablet pushing signed chains over loopback HTTP in random batches: events again
(duplicates), shuffled (reordered), bodies cut short (truncated), connections dropped
before the answer or half-way through the body, and the server killed with SIGKILL
mid-batch and restarted. The tablet keeps resending whatever it has no answer for,
as the real sync client does. At the end: every event stored exactly once, every
chain verifies, ``PRAGMA integrity_check`` is ``ok`` after every kill.

``tablet_run``: the production tablet store written by a separate process
(``tests.reliability.tablet_writer``) killed with SIGKILL at a random instant, reopened
and checked: every write the process saw committed is there, chains verify, chunks
hash to their names; then the process is started again and finishes its chains.

``python -m tests.reliability.chaos --runs N [--json]`` runs N of each; the tests run a
few, ``scripts/reliability.sh`` more.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]

# Chains that need no predecessor to be accepted are pushed in order by the real client;
# these are the only refusals chaos may cause (a later event arriving before its
# predecessor), and they must clear on resend.
TRANSIENT = {"CHAIN_GAP", "PREDECESSOR_REJECTED"}


@dataclass
class Figures:
    runs: int = 0
    events: int = 0
    batches: int = 0
    duplicates_sent: int = 0
    reordered_batches: int = 0
    truncated_bodies: int = 0
    dropped_connections: int = 0
    server_kills: int = 0
    kills_mid_batch: int = 0  # the push got no answer: killed while it was being handled
    tablet_kills: int = 0
    committed_before_kill: int = 0
    lost: int = 0
    duplicated: int = 0
    chains_verified: int = 0
    chains_broken: int = 0
    integrity_checks: int = 0
    unexpected: list[str] = field(default_factory=list)

    def add(self, other: Figures) -> None:
        for name, value in asdict(other).items():
            if isinstance(value, list):
                self.unexpected.extend(value)
            else:
                setattr(self, name, getattr(self, name) + value)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _integrity(path: Path) -> bool:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


class ServerProcess:
    """``python -m uvicorn sync_server.app:create_app --factory`` on one SQLite file."""

    def __init__(self, db_path: Path, port: int, log: Path) -> None:
        self.db_path, self.port, self.log = db_path, port, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "CSPERMIT_DB_URL": f"sqlite:///{self.db_path}",
            "CSPERMIT_ARGON2_TIME_COST": "1",
            "CSPERMIT_ARGON2_MEMORY_COST_KIB": "64",
        }
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "sync_server.app:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not answer /healthz within 60 s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None


def _prepare(db_path: Path) -> tuple[Any, dict[str, str]]:
    """Migrate, create the operator, enterprise A, its admin and an enrolled tablet (through
    the real app in-process). Returns the tablet and the admin's credentials."""
    from sync_server.app import create_app
    from sync_server.security import Role
    from sync_server.services import accounts as account_service
    from tests.sync_server.chains import enroll_tablet
    from tests.sync_server.conftest import CREDIT_CODES, ASGIClient, make_settings, sign_in

    app = create_app(make_settings(f"sqlite:///{db_path}"))
    client = ASGIClient(app)
    try:
        with app.state.engine.begin() as conn:
            account_service.create_account(
                conn,
                app.state.passwords,
                username="op",
                password="op-password",
                role=Role.OPERATOR,
            )
        op = {"Authorization": f"Bearer {sign_in(client, 'op', 'op-password')}"}
        r = client.post(
            "/api/v1/enterprises",
            json={
                "enterprise_id": "ent-a",
                "name": "A",
                "credit_code": CREDIT_CODES["A"],
                "jurisdiction": "530102",
            },
            headers=op,
        )
        assert r.status_code == 201, r.text
        r = client.post(
            "/api/v1/accounts",
            json={
                "username": "a-admin",
                "password": "a-admin-pass",
                "role": "enterprise_admin",
                "enterprise_id": "ent-a",
            },
            headers=op,
        )
        assert r.status_code == 201, r.text
        admin = {"Authorization": f"Bearer {sign_in(client, 'a-admin', 'a-admin-pass')}"}
        tablet = enroll_tablet(client, admin)
    finally:
        client.close()
        app.state.engine.dispose()
    return tablet, admin


def _chains(tablet: Any, permits: int, per_permit: int) -> list[dict[str, Any]]:
    from tests.sync_server.chains import drafted, filler

    out = []
    for p in range(permits):
        pid = f"CHAOS-{p}"
        for seq in range(1, per_permit + 1):
            out.append(tablet.event(pid, drafted("ent-a") if seq == 1 else filler(seq)))
    return out


def _raw_post(
    url: str, path: str, body: bytes, headers: dict[str, str], *, cut: int | None, read: bool
) -> None:
    """Send a request by hand: ``cut`` bytes of the body only (the connection then closes
    with the request unfinished), or all of it and hang up without reading the answer."""
    host, port = url.removeprefix("http://").split(":")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        + "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(head + (body if cut is None else body[:cut]))
        if read:
            s.settimeout(5)
            while s.recv(65536):
                pass


def server_run(
    workdir: Path,
    seed: int,
    *,
    permits: int = 4,
    per_permit: int = 6,
    kill_p: float = 0.2,
    max_batches: int = 400,
    same_batch_copies: bool = False,
) -> Figures:
    """One chaos run. ``same_batch_copies`` also puts one event twice in a batch (the
    server rejected the second copy until dc0b65d; test_found_batch_duplicate.py)."""
    rng = random.Random(seed)
    fig = Figures(runs=1)
    db_path = workdir / f"server-{seed}.db"
    tablet, _admin = _prepare(db_path)
    events = _chains(tablet, permits, per_permit)
    fig.events = len(events)
    by_id = {e["event_id"]: e for e in events}
    synced: set[str] = set()
    server = ServerProcess(db_path, _free_port(), workdir / f"server-{seed}.log")
    server.start()
    headers = {"Authorization": f"Bearer {tablet.token}"}
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            while len(synced) < len(events):
                fig.batches += 1
                if fig.batches > max_batches:
                    fig.unexpected.append(f"seed {seed}: not converged in {max_batches} batches")
                    break
                pending = [e for e in events if e["event_id"] not in synced]
                done = [e for e in events if e["event_id"] in synced]
                size = rng.randint(1, 12)
                batch = rng.sample(pending, min(len(pending), size))
                if done and rng.random() < 0.5:
                    extra = rng.sample(done, min(len(done), rng.randint(1, 4)))
                    batch += extra
                    fig.duplicates_sent += len(extra)
                if same_batch_copies and rng.random() < 0.2:
                    batch.append(rng.choice(batch))  # the same event twice in one batch
                    fig.duplicates_sent += 1
                if rng.random() < 0.5:
                    rng.shuffle(batch)
                    fig.reordered_batches += 1
                else:
                    batch.sort(key=lambda e: (e["permit_id"], e["seq"]))
                body = json.dumps({"events": batch}).encode()
                roll = rng.random()
                if roll < 0.1:
                    # Truncated body: the JSON ends early; refused whole, nothing stored.
                    cut = rng.randint(1, len(body) - 1)
                    r = http.post(
                        "/api/v1/sync/events",
                        content=body[:cut],
                        headers={**headers, "Content-Type": "application/json"},
                    )
                    fig.truncated_bodies += 1
                    if r.status_code != 400:
                        fig.unexpected.append(f"truncated body answered {r.status_code}")
                    continue
                if roll < 0.2:
                    # Dropped connection: half a body, or the whole one without reading.
                    half = rng.random() < 0.5
                    try:
                        _raw_post(
                            server.url,
                            "/api/v1/sync/events",
                            body,
                            headers,
                            cut=rng.randint(1, len(body) - 1) if half else None,
                            read=False,
                        )
                    except OSError:
                        pass
                    fig.dropped_connections += 1
                    continue
                killer = None
                if roll > 1 - kill_p:
                    # SIGKILL while the batch is in flight, 0-60 ms after it leaves.
                    killer = threading.Timer(rng.uniform(0, 0.06), server.kill)
                    killer.start()
                try:
                    r = http.post(
                        "/api/v1/sync/events",
                        content=body,
                        headers={**headers, "Content-Type": "application/json"},
                    )
                except httpx.HTTPError:
                    r = None
                if killer is not None:
                    killer.join()
                    fig.server_kills += 1
                    fig.integrity_checks += 1
                    if not _integrity(db_path):
                        fig.unexpected.append(f"seed {seed}: integrity_check failed after kill")
                    server.start()
                if r is None:
                    fig.kills_mid_batch += killer is not None
                    continue  # no answer: resend later, as the sync client does
                if r.status_code != 200:
                    fig.unexpected.append(f"push answered {r.status_code}: {r.text[:200]}")
                    continue
                for res in r.json()["results"]:
                    if res["status"] in ("accepted", "duplicate"):
                        synced.add(res["event_id"])
                    elif res.get("code") not in TRANSIENT:
                        fig.unexpected.append(f"rejected {res.get('code')}: {res.get('message')}")
    finally:
        server.stop()
    fig.integrity_checks += 1
    if not _integrity(db_path):
        fig.unexpected.append(f"seed {seed}: integrity_check failed at the end")
    _count_stored(db_path, by_id, tablet, fig)
    return fig


def _count_stored(
    db_path: Path, by_id: dict[str, dict[str, Any]], tablet: Any, fig: Figures
) -> None:
    from permits.integrity import verify_chain

    conn = sqlite3.connect(str(db_path))
    try:
        rows = conn.execute("SELECT event_id, permit_id, seq, body FROM events").fetchall()
    finally:
        conn.close()
    counts = Counter(r[0] for r in rows)
    fig.duplicated += sum(n - 1 for n in counts.values() if n > 1)
    fig.lost += len(set(by_id) - set(counts))
    chains: dict[str, list[dict[str, Any]]] = {}
    for _eid, pid, _seq, body in sorted(rows, key=lambda r: (r[1], r[2])):
        chains.setdefault(pid, []).append(json.loads(body) if isinstance(body, str) else body)
    for pid, chain in chains.items():
        result = verify_chain(chain, {tablet.device_id: tablet.public_key_b64}, permit_id=pid)
        if result.valid:
            fig.chains_verified += 1
        else:
            fig.chains_broken += 1
            fig.unexpected.append(f"{pid}: {result.code} at seq {result.seq}")
        for ev in chain:
            if ev != by_id.get(ev["event_id"]):
                fig.unexpected.append(f"{pid}: stored event {ev['event_id']} differs from sent")


def tablet_run(workdir: Path, seed: int, *, permits: int = 3, per_permit: int = 30) -> Figures:
    from permits.integrity import DeviceKey, verify_chain
    from tablet_app.store import Store
    from tests.reliability.tablet_writer import DEVICE_ID, load_key

    rng = random.Random(seed)
    fig = Figures(runs=1)
    store_path = workdir / f"tablet-{seed}.db"
    key_path = workdir / f"tablet-{seed}.key"
    args = [
        sys.executable,
        "-m",
        "tests.reliability.tablet_writer",
        str(store_path),
        str(key_path),
        str(permits),
        str(per_permit),
    ]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(ln.decode().strip() for ln in proc.stdout))
    reader.start()
    # Kill after a random number of commits plus a few random milliseconds: the writer is
    # almost always inside its next write (an fsync'd transaction) when the signal lands.
    target = rng.randint(1, permits * per_permit - 2)
    deadline = time.monotonic() + 60
    while len(seen) < target and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.001)
    time.sleep(rng.uniform(0, 0.005))
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
        fig.tablet_kills += 1
    proc.wait(timeout=30)
    reader.join()
    proc.stdout.close()
    proc.stderr.close()
    committed = list(seen)
    fig.committed_before_kill += sum(1 for c in committed if c.startswith("event "))
    fig.integrity_checks += 1
    if not _integrity(store_path):
        fig.unexpected.append(f"tablet seed {seed}: integrity_check failed after kill")
    key = DeviceKey(DEVICE_ID, load_key(key_path))
    keys = {DEVICE_ID: key.public_b64()}

    def check(expect_events: int | None) -> None:
        with Store(store_path) as store:
            held = {}
            for p in range(permits):
                pid = f"TAB-P{p}"
                chain = store.events_for_permit(pid)
                held.update({e["event_id"]: e for e in chain})
                if chain:
                    result = verify_chain(chain, keys, permit_id=pid)
                    if result.valid:
                        fig.chains_verified += 1
                    else:
                        fig.chains_broken += 1
                        fig.unexpected.append(f"tablet {pid}: {result.code} at {result.seq}")
            for line in committed:
                kind, ident = line.split(" ", 1)
                if kind == "event" and ident not in held:
                    fig.lost += 1
                if kind == "chunk":
                    data = store.chunk(ident)
                    if data is None or hashlib.sha256(data).hexdigest() != ident:
                        fig.lost += 1
            if expect_events is not None and len(held) != expect_events:
                fig.unexpected.append(f"tablet: {len(held)} events, expected {expect_events}")

    check(None)
    # Start the tablet again: it must carry on from what the store holds.
    done = subprocess.run(args, cwd=ROOT, capture_output=True, timeout=300, check=False)
    if done.returncode != 0:
        fig.unexpected.append(f"tablet restart failed: {done.stderr.decode()[-500:]}")
    committed += done.stdout.decode().split("\n")
    committed = [c for c in committed if c.strip()]
    fig.events += sum(1 for c in committed if c.startswith("event "))
    check(None)
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.chaos")
    parser.add_argument("--runs", type=int, default=5, help="server runs and tablet runs each")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args(argv)
    server, tablet = Figures(), Figures()
    with tempfile.TemporaryDirectory(prefix="cspermit-chaos-") as tmp:
        for i in range(opts.runs):
            server.add(server_run(Path(tmp), opts.seed + i))
            tablet.add(tablet_run(Path(tmp), opts.seed + i))
    out = {"server": asdict(server), "tablet": asdict(tablet)}
    print(json.dumps(out) if opts.json else json.dumps(out, indent=1))
    bad = server.unexpected or tablet.unexpected or server.lost or tablet.lost
    return 1 if bad or server.duplicated or server.chains_broken or tablet.chains_broken else 0


if __name__ == "__main__":
    sys.exit(main())

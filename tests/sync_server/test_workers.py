"""Several server processes share nothing but the database: pushes for the same permit
racing through two of them keep one chain, decided by the database
(``storage.begin_write``), never by a worker's cache (the replay kept of a permit pushed
lately is an optimisation: a worker that holds a stale one replays from storage)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.support.server_process import cli_server, workers_of
from tests.sync_server.chains import Tablet, cancelled, enroll_tablet, filler, simple_permit
from tests.sync_server.conftest import ASGIClient, World, build_world, make_settings

ROUNDS = 8


def _world(db_url: str) -> tuple[World, Tablet]:
    from sync_server.app import create_app

    app = create_app(make_settings(db_url))
    client = ASGIClient(app)
    try:
        world = build_world(client, app)
        tab = enroll_tablet(client, world.h("a-admin"))
        r = client.post(
            "/api/v1/sync/events", json={"events": simple_permit(tab, "W-1")}, headers=tab.headers
        )
        assert r.json()["accepted"] == 2
        world.client = None
        return world, tab
    finally:
        client.close()
        app.state.engine.dispose()


def _race(urls: list[str], tab: Tablet, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """POST each body to its server at the same moment; the results, in order."""
    barrier = threading.Barrier(len(bodies))
    out: list[Any] = [None] * len(bodies)

    def push(i: int) -> None:
        with httpx.Client(timeout=60) as http:
            barrier.wait()
            r = http.post(
                f"{urls[i]}/api/v1/sync/events", json={"events": [bodies[i]]}, headers=tab.headers
            )
            assert r.status_code == 200, r.text
            out[i] = r.json()["results"][0]

    threads = [threading.Thread(target=push, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    return out


def test_two_workers_racing_for_one_permit_keep_one_chain(db_url: str, tmp_path: Path) -> None:
    tab = _world(db_url)[1]
    with (
        cli_server(db_url, tmp_path) as (one, _p1),
        cli_server(db_url, tmp_path) as (two, _p2),
    ):
        for round_ in range(ROUNDS):
            seq, head = tab.heads["W-1"]
            # Two different events for the next place, one through each worker: a fork.
            a = tab.event("W-1", filler(round_))
            tab.heads["W-1"] = (seq, head)
            b = tab.event("W-1", filler(100 + round_))
            results = _race([one, two] if round_ % 2 else [two, one], tab, [a, b])
            statuses = sorted((r["status"], r.get("code")) for r in results)
            assert statuses == [("accepted", None), ("rejected", "VERSION_CONFLICT")], statuses
            winner = a if results[0]["status"] == "accepted" else b
            tab.heads["W-1"] = (seq + 1, winner["hash"])
            # The same next event through both (a resend after a lost answer landing on
            # the other worker): stored once, the other told it is held.
            c = tab.event("W-1", filler(200 + round_))
            results = _race([one, two], tab, [c, c])
            assert sorted(r["status"] for r in results) == ["accepted", "duplicate"], results
        with httpx.Client(timeout=60) as http:
            token = http.post(
                f"{two}/api/v1/auth/token", data={"username": "bureau", "password": "bureau-pass"}
            ).json()["access_token"]
            trace = http.get(
                f"{one}/api/v1/permits/W-1", headers={"Authorization": f"Bearer {token}"}
            ).json()
    assert [e["seq"] for e in trace["events"]] == list(range(1, 3 + 2 * ROUNDS))
    assert len(trace["conflicts"]) == ROUNDS
    assert trace["verification"]["ok"], trace["verification"]


def test_workers_option_serves_from_several_processes_and_replaces_a_dead_one(
    db_url: str, tmp_path: Path
) -> None:
    tab = _world(db_url)[1]
    with cli_server(db_url, tmp_path, "--workers", "2") as (base, proc):
        deadline = time.monotonic() + 60
        while len(workers_of(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = set(workers_of(proc.pid))
        assert len(workers) >= 2, workers
        os.kill(sorted(workers)[0], signal.SIGKILL)
        # The chain goes on while the supervisor starts another worker.
        events = [tab.event("W-1", cancelled("done"))]
        answer: Any = None
        with httpx.Client(timeout=30) as http:
            while answer is None and time.monotonic() < deadline:
                try:
                    answer = http.post(
                        f"{base}/api/v1/sync/events", json={"events": events}, headers=tab.headers
                    ).json()
                except httpx.TransportError:
                    time.sleep(0.2)
        assert answer is not None and answer["accepted"] == 1, answer
        while len(set(workers_of(proc.pid)) - workers) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(set(workers_of(proc.pid)) - workers) >= 1, "the dead worker was not replaced"

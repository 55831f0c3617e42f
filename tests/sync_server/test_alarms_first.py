"""Alarms first (docs/server.md): against a real server whose workers are busy storing
catch-up batches, a push that carries an alarm, evacuation, entry or exit recorded now
is taken at once, bulk batches past the admission limit are answered 429 with
Retry-After, and the tablet's sync client waits that long and sends them again until
every event is stored."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.support.server_process import cli_server
from permits.events import EntrantEntered
from permits.urgency import LANE_HEADER, URGENT_LANE, carries_urgent
from tablet_app.sync_client import ServerUnavailable, SyncClient, SyncClientError
from tests.sync_server.chains import Tablet, drafted, enroll_tablet, filler
from tests.sync_server.conftest import ASGIClient, World, build_world, make_settings

OLD = datetime.now(UTC) - timedelta(days=2)


def _backlog(tab: Tablet, permit_id: str, n: int) -> list[dict[str, Any]]:
    """A permit recorded two days ago during an outage: bulk, whatever it holds."""
    events = [tab.event(permit_id, drafted(tab.enterprise_id), at=OLD)]
    events += [tab.event(permit_id, filler(i), at=OLD + timedelta(seconds=i)) for i in range(n)]
    return events


def _setup(db_url: str) -> tuple[list[Tablet], Tablet]:
    from sync_server.app import create_app

    app = create_app(make_settings(db_url))
    client = ASGIClient(app)
    try:
        world = build_world(client, app)
        bulk = [enroll_tablet(client, world.h("a-admin")) for _ in range(3)]
        live = enroll_tablet(client, world.h("a-admin"))
        return bulk, live
    finally:
        client.close()
        app.state.engine.dispose()


def test_the_urgent_rule_is_recent_alarms_entries_and_exits() -> None:
    tab = Tablet(device_id="d-1", enterprise_id="ent-a")
    now = datetime.now(UTC)
    entered = tab.event("P-1", EntrantEntered(entrant_id="p-1"), at=now - timedelta(minutes=1))
    assert carries_urgent([entered], now)
    old = Tablet(device_id="d-1", enterprise_id="ent-a")
    history = old.event("P-2", EntrantEntered(entrant_id="p-1"), at=now - timedelta(hours=3))
    assert not carries_urgent([history], now)
    assert not carries_urgent([tab.event("P-1", filler(1), at=now)], now)
    assert not carries_urgent([{"type": ["alarm_raised"]}, "junk", None], now)
    # dated ahead of the server: urgent only within the window, never a whole backlog
    ahead = Tablet(device_id="d-1", enterprise_id="ent-a")
    soon = ahead.event("P-3", EntrantEntered(entrant_id="p-1"), at=now + timedelta(minutes=2))
    assert carries_urgent([soon], now)
    far = ahead.event("P-4", EntrantEntered(entrant_id="p-1"), at=now + timedelta(days=300))
    assert not carries_urgent([far], now)


def test_busy_workers_defer_bulk_with_retry_after_and_never_an_alarm(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk_tabs, live = _setup(db_url)
    monkeypatch.setenv("CSPERMIT_MAX_BULK_PUSHES_IN_FLIGHT", "1")
    monkeypatch.setenv("CSPERMIT_BULK_RETRY_AFTER_S", "1")
    deferred: list[tuple[int, str, str]] = []
    stop = threading.Event()
    with cli_server(db_url, tmp_path) as (base, _proc):

        def hammer(tab: Tablet, k: int) -> None:
            # A tablet that ignores Retry-After and pushes its backlog over and over.
            with httpx.Client(timeout=60) as http:
                n = 0
                while not stop.is_set():
                    n += 1
                    batch = _backlog(tab, f"OLD-{k}-{n}", 199)
                    r = http.post(
                        f"{base}/api/v1/sync/events", json={"events": batch}, headers=tab.headers
                    )
                    if r.status_code == 429:
                        deferred.append(
                            (r.status_code, r.headers["Retry-After"], r.json()["error"]["code"])
                        )

        threads = [threading.Thread(target=hammer, args=(t, k)) for k, t in enumerate(bulk_tabs)]
        for t in threads:
            t.start()
        try:
            deadline = time.monotonic() + 60
            while not deferred and time.monotonic() < deadline:
                time.sleep(0.05)
            assert deferred, "no bulk batch was deferred while three tablets pushed at once"
            assert deferred[0] == (429, "1", "PUSH_DEFERRED"), deferred[0]
            # While bulk is being deferred, live jobs' entries are taken every time.
            waits = []
            with httpx.Client(timeout=60) as http:
                for i in range(5):
                    entered = live.event(
                        f"LIVE-{i}",
                        EntrantEntered(entrant_id="p-1"),
                        at=datetime.now(UTC) - timedelta(seconds=1),
                    )
                    t0 = time.perf_counter()
                    r = http.post(
                        f"{base}/api/v1/sync/events",
                        json={"events": [entered]},
                        headers={**live.headers, LANE_HEADER: URGENT_LANE},
                    )
                    waits.append(time.perf_counter() - t0)
                    assert r.status_code == 200, r.text
                    assert r.json()["accepted"] == 1, r.json()
            assert max(waits) < 2, waits
            # The tablet's sync client honours the deferral and gets its backlog in.
            sleeps: list[float] = []

            async def sleep(s: float) -> None:
                sleeps.append(s)
                await asyncio.sleep(s)

            async def push(backlog: list[dict[str, Any]]) -> Any:
                async with SyncClient(base, token=bulk_tabs[0].token, sleep=sleep) as client:
                    return await client.push_events(backlog)

            # Whether a batch lands while another tablet's is being stored is timing:
            # each round is a new backlog, until one was deferred (nearly always the first).
            for k in range(5):
                backlog = _backlog(bulk_tabs[0], f"OLD-CLIENT-{k}", 399)
                outcome = asyncio.run(push(backlog))
                assert len(outcome.acknowledged_ids) == len(backlog)
                if sleeps:
                    break
            assert sleeps, "the client's backlog was never deferred"
            assert min(sleeps) >= 1, sleeps  # each wait at least Retry-After
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=120)


def test_the_sync_client_sends_urgent_permits_first_in_the_urgent_lane(
    world: World, app: Any
) -> None:
    seen: list[tuple[str | None, list[str]]] = []

    class Recording(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner = inner

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/sync/events"):
                body = json.loads(request.content)
                seen.append(
                    (request.headers.get(LANE_HEADER), [e["permit_id"] for e in body["events"]])
                )
            return await self.inner.handle_async_request(request)

    tab = enroll_tablet(world.client, world.h("a-admin"))
    now = datetime.now(UTC)
    old = _backlog(tab, "OLD-1", 3)
    live = [tab.event("LIVE-1", drafted("ent-a"), at=now - timedelta(minutes=3))]
    live.append(tab.event("LIVE-1", EntrantEntered(entrant_id="p-1"), at=now))
    events = old[:2] + live[:1] + old[2:] + live[1:]

    async def push() -> Any:
        transport = Recording(httpx.ASGITransport(app=app))
        async with SyncClient(
            "http://localhost", token=tab.token, transport=transport, batch_size=3
        ) as c:
            return await c.push_events(events)

    outcome = asyncio.run(push())
    assert seen[0] == (URGENT_LANE, ["LIVE-1", "LIVE-1"])
    assert all(lane is None and set(ids) == {"OLD-1"} for lane, ids in seen[1:])
    # One result per event, in the order given; every one stored.
    assert [r["index"] for r in outcome.results] == list(range(len(events)))
    assert len(outcome.acknowledged_ids) == len(events)
    assert [r["event_id"] for r in outcome.results] == [e["event_id"] for e in events]


def test_a_connection_the_server_closed_is_replaced_at_once(world: World, app: Any) -> None:
    """A worker restarted under a kept-alive connection: the push goes again on a new
    connection without a backoff; a server that cannot be reached still backs off."""
    sleeps: list[float] = []

    async def sleep(s: float) -> None:
        sleeps.append(s)

    class Restarted(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport, error: type[Exception]) -> None:
            self.inner, self.error, self.calls = inner, error, 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            self.calls += 1
            if self.calls <= 2:
                raise self.error("Server disconnected without sending a response.")
            return await self.inner.handle_async_request(request)

    tab = enroll_tablet(world.client, world.h("a-admin"))
    events = _backlog(tab, "OLD-2", 2)

    async def push(error: type[Exception]) -> Any:
        transport = Restarted(httpx.ASGITransport(app=app), error)
        async with SyncClient(
            "http://localhost", token=tab.token, transport=transport, sleep=sleep
        ) as c:
            return await c.push_events(events), transport.calls

    outcome, calls = asyncio.run(push(httpx.RemoteProtocolError))
    assert calls == 3 and sleeps == [] and len(outcome.acknowledged_ids) == 3
    outcome, calls = asyncio.run(push(httpx.ConnectError))
    assert calls == 3 and len(sleeps) == 2 and len(outcome.acknowledged_ids) == 3


def test_deferrals_are_waited_out_without_using_up_the_retries(world: World, app: Any) -> None:
    sleeps: list[float] = []

    async def sleep(s: float) -> None:
        sleeps.append(s)

    class Deferring(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport, times: int) -> None:
            self.inner, self.times, self.calls = inner, times, 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            self.calls += 1
            if self.calls <= self.times:
                body = {"error": {"code": "PUSH_DEFERRED", "message": "busy", "field": None}}
                return httpx.Response(429, headers={"Retry-After": "3"}, json=body)
            return await self.inner.handle_async_request(request)

    tab = enroll_tablet(world.client, world.h("a-admin"))
    events = _backlog(tab, "OLD-3", 2)

    async def push(times: int, deferrals: int) -> Any:
        transport = Deferring(httpx.ASGITransport(app=app), times)
        async with SyncClient(
            "http://localhost",
            token=tab.token,
            transport=transport,
            sleep=sleep,
            max_retries=2,
            max_deferrals=deferrals,
        ) as c:
            return await c.push_events(events)

    # Six deferrals, more than the two retries: waited out, each at least Retry-After.
    outcome = asyncio.run(push(6, 10))
    assert len(outcome.acknowledged_ids) == 3
    assert len(sleeps) == 6 and all(3 <= s <= 4.5 for s in sleeps), sleeps
    # Past max_deferrals the retries count again, and then the client gives up.
    with pytest.raises(ServerUnavailable):
        asyncio.run(push(99, 1))


def test_a_429_that_is_not_a_deferral_is_said_at_once(world: World, app: Any) -> None:
    """A locked account or a throttled code also answers 429 with Retry-After: that is
    the server's answer, not a wait (only PUSH_DEFERRED is waited out)."""
    sleeps: list[float] = []

    async def sleep(s: float) -> None:
        sleeps.append(s)

    class Locked(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            body = {"error": {"code": "ACCOUNT_LOCKED", "message": "locked", "field": None}}
            return httpx.Response(429, headers={"Retry-After": "900"}, json=body)

    tab = enroll_tablet(world.client, world.h("a-admin"))

    async def push() -> Any:
        async with SyncClient(
            "http://localhost", token=tab.token, transport=Locked(), sleep=sleep
        ) as c:
            return await c.push_events(_backlog(tab, "OLD-4", 1))

    with pytest.raises(SyncClientError) as refused:
        asyncio.run(push())
    assert refused.value.code == "ACCOUNT_LOCKED" and refused.value.status == 429
    assert sleeps == []

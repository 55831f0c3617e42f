"""Alarms first (docs/server.md): against a real server whose workers are busy storing
catch-up batches, a push that carries an alarm, evacuation, entry or exit recorded now
is taken at once, bulk batches past the admission limit wait a bounded time for a slot
and are then answered 429 with Retry-After, and the tablet's sync client waits that long
and sends them again until every event is stored."""

from __future__ import annotations

import asyncio
import contextlib
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
from permits.urgency import BULK_LANE, LANE_HEADER, URGENT_LANE, carries_urgent
from sync_server.admission import MAX_RETRY_AFTER_S, PushAdmission
from sync_server.errors import TooManyRequests
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
    # No wait for a slot: a bulk batch past the limit is deferred at once (the bounded
    # wait is tested below), so three tablets at once are deferred every time.
    monkeypatch.setenv("CSPERMIT_BULK_WAIT_FOR_SLOT_S", "0")
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


def test_bulk_pushes_past_the_limit_wait_for_a_slot_instead_of_429(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three tablets push at once into one bulk slot: with a wait longer than the pushes
    take, each is stored when the one before it frees the slot, none is deferred."""
    bulk_tabs, _live = _setup(db_url)
    monkeypatch.setenv("CSPERMIT_MAX_BULK_PUSHES_IN_FLIGHT", "1")
    monkeypatch.setenv("CSPERMIT_BULK_WAIT_FOR_SLOT_S", "60")
    answers: list[tuple[int, int]] = []
    go = threading.Barrier(len(bulk_tabs))
    with cli_server(db_url, tmp_path) as (base, _proc):

        def push(tab: Tablet, k: int) -> None:
            batch = _backlog(tab, f"OLD-WAIT-{k}", 199)
            with httpx.Client(timeout=120) as http:
                go.wait()
                r = http.post(
                    f"{base}/api/v1/sync/events", json={"events": batch}, headers=tab.headers
                )
            answers.append((r.status_code, r.json().get("accepted", 0)))

        threads = [threading.Thread(target=push, args=(t, k)) for k, t in enumerate(bulk_tabs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
    assert answers == [(200, 200)] * len(bulk_tabs), answers


def _bulk(n: int = 2) -> list[dict[str, Any]]:
    tab = Tablet(device_id="d-1", enterprise_id="ent-a")
    return _backlog(tab, "OLD-A", n)


def _urgent() -> list[dict[str, Any]]:
    tab = Tablet(device_id="d-2", enterprise_id="ent-a")
    return [tab.event("LIVE-A", EntrantEntered(entrant_id="p-1"), at=datetime.now(UTC))]


def _one_slot(**overrides: Any) -> tuple[Any, PushAdmission]:
    """A worker's admission with one bulk slot and a long wait (unless overridden)."""
    values: dict[str, Any] = {"max_bulk_pushes_in_flight": 1, "bulk_wait_for_slot_s": 60}
    return make_settings("sqlite://", **{**values, **overrides}), PushAdmission()


def test_a_bulk_push_waiting_for_a_slot_is_admitted_when_one_frees() -> None:
    settings, gate = _one_slot()

    async def scenario() -> list[str]:
        order: list[str] = []
        release_first = asyncio.Event()

        async def first() -> None:
            async with gate.admit(settings, _bulk()):
                order.append("first in")
                await release_first.wait()
            order.append("first out")

        async def second() -> None:
            async with gate.admit(settings, _bulk()):
                order.append("second in")
                assert gate.bulk_in_flight == 1  # the slot was handed over, not doubled

        one = asyncio.create_task(first())
        await asyncio.sleep(0.01)
        two = asyncio.create_task(second())
        await asyncio.sleep(0.2)
        assert order == ["first in"] and gate.bulk_waiting == 1
        release_first.set()
        await asyncio.wait_for(asyncio.gather(one, two), timeout=5)
        return order

    assert asyncio.run(scenario()) == ["first in", "first out", "second in"]
    assert gate.bulk_in_flight == 0 and gate.bulk_waiting == 0 and gate.bulk_deferred == 0


def test_an_urgent_push_is_served_while_bulk_pushes_wait() -> None:
    settings, gate = _one_slot()

    async def scenario() -> None:
        hold = asyncio.Event()

        async def bulk() -> None:
            async with gate.admit(settings, _bulk()):
                await hold.wait()

        tasks = [asyncio.create_task(bulk()) for _ in range(3)]
        await asyncio.sleep(0.1)
        assert gate.bulk_in_flight == 1 and gate.bulk_waiting == 2
        t0 = time.perf_counter()
        async with gate.admit(settings, _urgent()) as urgent:
            assert urgent is True
            assert gate.bulk_waiting == 2  # the bulk pushes still wait; the urgent did not
        assert time.perf_counter() - t0 < 0.1
        hold.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)

    asyncio.run(scenario())
    assert gate.urgent_admitted == 1 and gate.bulk_in_flight == 0 and gate.bulk_deferred == 0


def test_a_bulk_push_is_deferred_when_no_slot_frees_in_time_or_too_many_wait() -> None:
    settings, gate = _one_slot(
        bulk_wait_for_slot_s=0.3, max_bulk_pushes_waiting=1, bulk_retry_after_s=2
    )

    async def scenario() -> tuple[float, float, TooManyRequests, TooManyRequests]:
        hold = asyncio.Event()

        async def bulk() -> None:
            async with gate.admit(settings, _bulk()):
                await hold.wait()

        async def deferred() -> tuple[float, TooManyRequests]:
            t0 = time.perf_counter()
            with pytest.raises(TooManyRequests) as refused:
                async with gate.admit(settings, _bulk()):
                    pass
            return time.perf_counter() - t0, refused.value

        holder = asyncio.create_task(bulk())
        await asyncio.sleep(0.01)
        waiter = asyncio.create_task(deferred())
        await asyncio.sleep(0.01)
        # One already waits (the most allowed): the next is deferred at once.
        full_s, full = await deferred()
        waited_s, timed_out = await waiter
        hold.set()
        await holder
        return full_s, waited_s, full, timed_out

    full_s, waited_s, full, timed_out = asyncio.run(scenario())
    assert full_s < 0.1 and 0.3 <= waited_s < 2, (full_s, waited_s)
    for refused in (full, timed_out):
        assert (refused.status, refused.code, refused.retry_after) == (429, "PUSH_DEFERRED", 2)
    assert gate.bulk_deferred == 2 and gate.bulk_in_flight == 0 and gate.bulk_waiting == 0


def test_a_waiting_push_whose_tablet_hangs_up_gives_its_place_on() -> None:
    settings, gate = _one_slot()

    async def scenario() -> list[str]:
        order: list[str] = []
        hold = asyncio.Event()

        async def bulk(name: str) -> None:
            async with gate.admit(settings, _bulk()):
                order.append(name)
                await hold.wait()

        first = asyncio.create_task(bulk("first"))
        await asyncio.sleep(0.01)
        gone = asyncio.create_task(bulk("gone"))
        third = asyncio.create_task(bulk("third"))
        await asyncio.sleep(0.05)
        gone.cancel()
        await asyncio.sleep(0.05)
        assert gate.bulk_waiting == 1
        hold.set()
        await asyncio.wait_for(asyncio.gather(first, third), timeout=5)
        return order

    assert asyncio.run(scenario()) == ["first", "third"]
    assert gate.bulk_in_flight == 0 and gate.bulk_waiting == 0


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
    assert all(lane == BULK_LANE and set(ids) == {"OLD-1"} for lane, ids in seen[1:])
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


def test_a_proxys_429_without_our_error_is_waited_out(world: World, app: Any) -> None:
    """A reverse proxy or load balancer in front of the workers answers 429 with its own
    page: not an answer of ours, so the tablet waits it out as a deferral."""
    sleeps: list[float] = []

    async def sleep(s: float) -> None:
        sleeps.append(s)

    class Proxy(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner, self.calls = inner, 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            self.calls += 1
            if self.calls <= 3:
                return httpx.Response(429, headers={"Retry-After": "2"}, text="<html>busy</html>")
            return await self.inner.handle_async_request(request)

    tab = enroll_tablet(world.client, world.h("a-admin"))

    async def push() -> Any:
        async with SyncClient(
            "http://localhost",
            token=tab.token,
            transport=Proxy(httpx.ASGITransport(app=app)),
            sleep=sleep,
            max_retries=1,
        ) as c:
            return await c.push_events(_backlog(tab, "OLD-5", 1))

    outcome = asyncio.run(push())
    assert len(outcome.acknowledged_ids) == 2
    assert len(sleeps) == 3 and all(2 <= s <= 3 for s in sleeps), sleeps


def test_a_declared_bulk_batch_is_deferred_before_its_body_is_read(
    db_url: str, tmp_path: Path
) -> None:
    """A batch in the bulk lane while the worker's slots are taken is answered 429
    before its body is read: a body that is not even JSON is deferred, not refused (it
    was never parsed), and the worker stores nothing of it. Once a slot is free the same
    body is refused naming the field, and a good batch is stored."""
    from sync_server.app import create_app

    app = create_app(make_settings(db_url, bulk_wait_for_slot_s=0))
    client = ASGIClient(app)
    try:
        world = build_world(client, app)
        tab = enroll_tablet(client, world.h("a-admin"))
        bulk = {**tab.headers, LANE_HEADER: BULK_LANE, "Content-Type": "application/json"}
        gate = app.state.push_admission = PushAdmission()
        gate.bulk_in_flight = app.state.settings.max_bulk_pushes_in_flight  # all taken
        r = client.post("/api/v1/sync/events", content=b"{not json", headers=bulk)
        assert r.status_code == 429, r.text
        assert r.json()["error"]["code"] == "PUSH_DEFERRED"
        assert r.headers["Retry-After"] == "1"
        # Undeclared, the same body is read and judged by its content first.
        r = client.post("/api/v1/sync/events", content=b"{not json", headers=tab.headers)
        assert r.status_code == 400 and r.json()["error"]["field"] == "body", r.text
        gate.bulk_in_flight = 0
        r = client.post("/api/v1/sync/events", content=b"{not json", headers=bulk)
        assert r.status_code == 400, r.text
        assert (r.json()["error"]["code"], r.json()["error"]["field"]) == ("MALFORMED_JSON", "body")
        batch = _backlog(tab, "OLD-DECLARED", 3)
        r = client.post("/api/v1/sync/events", json={"events": batch}, headers=bulk)
        assert r.status_code == 200 and r.json()["accepted"] == 4, r.text
        assert gate.bulk_in_flight == 0 and gate.bulk_deferred == 1
    finally:
        client.close()
        app.state.engine.dispose()


def test_a_deferred_bulk_body_is_read_off_so_the_connection_serves_on(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over a real server with no bulk slot at all: a large bulk batch (3.5 MB) is
    answered 429 without being parsed, whole (no reset while the tablet still sends the
    body), three times, and the next push, an alarm in the urgent lane, is stored, all
    on one kept-alive connection: uvicorn reads off and drops the unread body."""
    _bulk_tabs, live = _setup(db_url)
    monkeypatch.setenv("CSPERMIT_MAX_BULK_PUSHES_IN_FLIGHT", "0")
    monkeypatch.setenv("CSPERMIT_BULK_WAIT_FOR_SLOT_S", "0")
    with cli_server(db_url, tmp_path) as (base, _proc), httpx.Client(timeout=60) as http:
        big = json.dumps({"events": _backlog(live, "OLD-BIG", 499)}).encode()
        big = big[:-2] + b" " * (3_500_000 - len(big)) + big[-2:]
        bulk = {**live.headers, LANE_HEADER: BULK_LANE, "Content-Type": "application/json"}
        ports = set()  # the client's end of each answer's connection
        for _ in range(3):
            r = http.post(f"{base}/api/v1/sync/events", content=big, headers=bulk)
            assert r.status_code == 429, r.text
            assert r.json()["error"]["code"] == "PUSH_DEFERRED"
            ports.add(r.extensions["network_stream"].get_extra_info("client_addr"))
        entered = live.event("LIVE-KEPT", EntrantEntered(entrant_id="p-1"), at=datetime.now(UTC))
        r = http.post(
            f"{base}/api/v1/sync/events",
            json={"events": [entered]},
            headers={**live.headers, LANE_HEADER: URGENT_LANE},
        )
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
        ports.add(r.extensions["network_stream"].get_extra_info("client_addr"))
        assert len(ports) == 1, ports


def test_retry_after_is_when_the_waiting_pushes_are_expected_to_be_served() -> None:
    """A deferred bulk push is told to come back when this worker expects to have
    served the pushes waiting now, from how long a bulk push has lately held its slot:
    not a fixed second, which brought a storm's tablets back before their turn."""
    settings, gate = _one_slot(
        bulk_wait_for_slot_s=0.05, max_bulk_pushes_waiting=2, bulk_retry_after_s=1
    )
    assert gate.retry_after_s(settings) == 1  # nothing known yet: the least

    async def scenario() -> TooManyRequests:
        for _ in range(20):  # pushes that hold the slot ~0.1 s each
            async with gate.admit(settings, _bulk()):
                await asyncio.sleep(0.1)
        assert 0.08 < gate.bulk_hold_s < 0.2, gate.bulk_hold_s
        gate.bulk_hold_s = 2.0  # a busy worker: each push holds its slot 2 s
        hold = asyncio.Event()

        async def bulk() -> None:
            async with gate.admit(settings, _bulk()):
                await hold.wait()

        async def waits() -> None:
            with contextlib.suppress(TooManyRequests):
                async with gate.admit(settings, _bulk()):
                    await hold.wait()

        holder = asyncio.create_task(bulk())
        await asyncio.sleep(0.01)
        waiting = [asyncio.create_task(waits()) for _ in range(2)]
        await asyncio.sleep(0.01)
        with pytest.raises(TooManyRequests) as refused:
            async with gate.admit(settings, _bulk()):
                pass
        hold.set()
        await asyncio.gather(holder, *waiting)
        return refused.value

    refused = asyncio.run(scenario())
    # Two waiting and this one, 2 s each, one slot.
    assert refused.retry_after == 6, refused.retry_after
    gate.bulk_hold_s = 1000.0
    assert gate.retry_after_s(settings) == MAX_RETRY_AFTER_S

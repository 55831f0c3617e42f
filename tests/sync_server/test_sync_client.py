"""The tablet's sync client against the real server app, in-process over httpx."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import httpx
import pytest

from tablet_app.i18n import gettext as tablet_gettext
from tablet_app.store import Store
from tablet_app.sync_client import (
    EncodedEvent,
    InsecureTransportError,
    Progress,
    ServerUnavailable,
    SyncClient,
    SyncClientError,
    batch_body,
)
from tests.sync_server.chains import Tablet, drafted, filler
from tests.sync_server.conftest import LEDGER_SPACE, World


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_refuses_plain_http_to_a_remote_host() -> None:
    with pytest.raises(InsecureTransportError):
        SyncClient("http://bureau.example.cn")
    SyncClient("http://bureau.example.cn", allow_insecure_http=True)
    SyncClient("http://127.0.0.1:8000")
    SyncClient("https://bureau.example.cn")


def test_enroll_push_upload_pull_round_trip(world: World, app: Any) -> None:
    code = world.client.post("/api/v1/enrollments", json={}, headers=world.h("a-admin")).json()[
        "code"
    ]
    world.client.put(
        "/api/v1/enterprises/ent-a/spaces/T-1", json=LEDGER_SPACE, headers=world.h("a-admin")
    )
    seen: list[Progress] = []

    async def scenario() -> None:
        tablet = Tablet()
        async with SyncClient(
            "http://localhost",
            transport=httpx.ASGITransport(app=app),
            batch_size=2,
            progress=seen.append,
        ) as client:
            enrollment = await client.enroll(code, tablet.public_key_b64)
            tablet.device_id = enrollment.device_id
            events = [tablet.event("SC-1", drafted("ent-a"))] + [
                tablet.event("SC-1", filler(i)) for i in range(4)
            ]
            outcome = await client.push_events(events)
            assert [r["status"] for r in outcome.results] == ["accepted"] * 5
            assert [r["index"] for r in outcome.results] == [0, 1, 2, 3, 4]
            again = await client.push_events(events)
            assert again.acknowledged_ids == [e["event_id"] for e in events]
            chunks = [b"chunk-%d" % i for i in range(3)]
            digests = await client.upload_chunks(chunks)
            assert digests == [hashlib.sha256(c).hexdigest() for c in chunks]
            await client.upload_chunks(chunks)  # held already: each PUT answers 200 (idempotent)
            ref = await client.pull_reference()
            assert [i["item_id"] for i in ref.items] == ["T-1"]
            assert (await client.pull_reference(ref.cursor)).items == []
            chain = await client.pull_chain("SC-1")
            assert [e["seq"] for e in chain] == [1, 2, 3, 4, 5]
            with pytest.raises(SyncClientError) as err:
                await client.enroll(code, Tablet().public_key_b64)
            assert err.value.code == "ENROLLMENT_CODE_USED" and err.value.status == 409

    run(scenario())
    assert [p.done for p in seen if p.stage == "events"][:4] == [0, 2, 4, 5]
    assert any(p.stage == "chunks" and p.done == 3 for p in seen)


def test_stored_events_are_pushed_as_the_store_holds_them(
    world: World, app: Any, tmp_path: Any
) -> None:
    """The tablet pushes its store's JSON text as it is (``EncodedEvent``), not decoded
    and encoded again: the server's answers are those a push of the same events as
    mappings gets, and a batch of mappings is the bytes ``json.dumps`` writes."""
    code = world.client.post("/api/v1/enrollments", json={}, headers=world.h("a-admin")).json()[
        "code"
    ]
    store = Store(tmp_path / "tablet.db")

    async def scenario() -> None:
        tablet = Tablet()
        async with SyncClient(
            "http://localhost", transport=httpx.ASGITransport(app=app), batch_size=3
        ) as client:
            tablet.device_id = (await client.enroll(code, tablet.public_key_b64)).device_id
            events = [tablet.event("SC-E", drafted("ent-a"))] + [
                tablet.event("SC-E", filler(i)) for i in range(4)
            ]
            assert batch_body(events) == json.dumps({"events": events}, ensure_ascii=False).encode()
            store.append_events(events)
            stored = store.unacked_encoded()
            assert all(isinstance(e, EncodedEvent) for e in stored)
            assert [json.loads(e.text) for e in stored] == store.unacked_events() == events
            outcome = await client.push_events(stored)
            assert [r["status"] for r in outcome.results] == ["accepted"] * 5
            assert outcome.acknowledged_ids == [e["event_id"] for e in events]
            # Sent again as mappings: the server holds the same events.
            again = await client.push_events(events)
            assert [r["status"] for r in again.results] == ["duplicate"] * 5
            chain = await client.pull_chain("SC-E")
            assert [e["event_id"] for e in chain] == [e["event_id"] for e in events]
            # A stored text that is not JSON (a damaged row) makes the server refuse the
            # batch (400 MALFORMED_JSON): the client answers that row itself and sends
            # the rest again, so another permit's events in the batch still get in; the
            # damaged one is rejected with words, nothing of it stored.
            late = tablet.event("SC-E", filler(9))
            broken = EncodedEvent(
                late["event_id"], "SC-E", late["type"], late["occurred_at"], '{"event_id": '
            )
            other = [tablet.event("SC-F", drafted("ent-a"))]
            seen: list[Progress] = []
            client.progress = seen.append
            mixed = await client.push_events([broken, *other])
            assert seen[-1] == Progress("events", 2, 2)  # the damaged one counted done
            assert [(r["status"], r.get("code")) for r in mixed.results] == [
                ("rejected", "STORED_EVENT_DAMAGED"),
                ("accepted", None),
            ]
            assert mixed.results[0]["message"] == tablet_gettext(
                "this event's stored record is damaged and cannot be sent; "
                "keep the tablet and ask the safety manager to have it examined"
            )
            assert mixed.acknowledged_ids == [other[0]["event_id"]]
            alone = await client.push_events([broken])
            assert [r["code"] for r in alone.results] == ["STORED_EVENT_DAMAGED"]
            assert [e["seq"] for e in await client.pull_chain("SC-E")] == [1, 2, 3, 4, 5]
        # Any other refusal of a whole batch is still said, not swallowed: over the
        # server's batch limit (500 events) is 413.
        async with SyncClient(
            "http://localhost",
            transport=httpx.ASGITransport(app=app),
            token=client.token,
            batch_size=600,
        ) as big:
            with pytest.raises(SyncClientError) as err:
                await big.push_events([tablet.event("SC-G", filler(i)) for i in range(600)])
            assert (err.value.status, err.value.code) == (413, "BATCH_TOO_LARGE")

    run(scenario())
    store.close()


class FlakyTransport(httpx.AsyncBaseTransport):
    """Drops the first ``fail`` requests on the floor (as a dead mobile link does)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, fail: int, status: int | None = None):
        self.inner = inner
        self.fail = fail
        self.status = status
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls <= self.fail:
            if self.status is not None:
                return httpx.Response(self.status, headers={"Retry-After": "2"})
            raise httpx.ConnectError("link down", request=request)
        return await self.inner.handle_async_request(request)


def test_retries_with_backoff_then_succeeds_or_gives_up(app: Any) -> None:
    delays: list[float] = []

    async def fake_sleep(s: float) -> None:
        delays.append(s)

    async def scenario() -> None:
        flaky = FlakyTransport(httpx.ASGITransport(app=app), fail=2)
        client = SyncClient("http://localhost", transport=flaky, sleep=fake_sleep, backoff_s=0.1)
        with pytest.raises(SyncClientError) as err:  # reached the server: a real 401
            await client.pull_reference()
        assert err.value.code == "TOKEN_MISSING"
        assert flaky.calls == 3 and len(delays) == 2 and delays[1] > delays[0] * 1.0
        await client.aclose()
        busy = FlakyTransport(httpx.ASGITransport(app=app), fail=99, status=503)
        client = SyncClient("http://localhost", transport=busy, sleep=fake_sleep, max_retries=2)
        with pytest.raises(ServerUnavailable):
            await client.pull_reference()
        assert busy.calls == 3 and delays[-1] >= 2  # Retry-After honoured
        await client.aclose()

    run(scenario())

"""FOUND (left failing for the owner of sync_server/services/ingest.py): the same event
twice in one push batch (a client that retries by appending to its outgoing batch, or
a proxy that replays) gets ``accepted`` for the first copy and ``rejected
EVENT_ID_REUSED`` for the byte-identical second one. docs/server.md: a resend of an
event the server holds is ``duplicate`` ("safe to mark as synced"); EVENT_ID_REUSED is
for a *different* event under a used id. A client that trusts the rejection would keep
a permanently "rejected" event that is in fact stored.

Fix: in the batch loop, an event whose event_id was accepted earlier in the same batch
with the same hash is ``duplicate`` (compare with the in-batch accepted set as well as
with the stored rows)."""

from __future__ import annotations

from tests.sync_server.chains import enroll_tablet, filler, simple_permit
from tests.sync_server.conftest import World


def test_identical_event_twice_in_one_batch_is_a_duplicate(world: World) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    evs = simple_permit(tab, "DUP-1")
    third = tab.event("DUP-1", filler(3))
    r = world.client.post(
        "/api/v1/sync/events",
        json={"events": [evs[0], evs[0], evs[1], third, evs[1], third]},
        headers=tab.headers,
    )
    got = [(x["status"], x.get("code")) for x in r.json()["results"]]
    assert got == [
        ("accepted", None),
        ("duplicate", None),
        ("accepted", None),
        ("accepted", None),
        ("duplicate", None),
        ("duplicate", None),
    ], got

"""The aggregator's read-only feed."""

from __future__ import annotations

from tests.sync_server.chains import enroll_tablet, simple_permit
from tests.sync_server.conftest import World


def test_feed_pages_by_cursor_and_stays_in_jurisdiction(world: World) -> None:
    tab_a = enroll_tablet(world.client, world.h("a-admin"))
    tab_c = enroll_tablet(world.client, world.h("c-admin"))
    for tab, pid in ((tab_a, "FA-1"), (tab_a, "FA-2"), (tab_c, "FC-1")):
        r = world.client.post(
            "/api/v1/sync/events", json={"events": simple_permit(tab, pid)}, headers=tab.headers
        )
        assert r.json()["accepted"] == 2
    world.client.post(
        "/api/v1/hazards", json={"enterprise_id": "ent-a", "title": "t"}, headers=world.h("a-admin")
    )
    # The aggregator (province 53) sees all three permits; the county reviewer not FC-1.
    seen: list[str] = []
    cursor = 0
    while True:
        page = world.client.get(
            f"/api/v1/feed?cursor={cursor}&limit=2", headers=world.h("agg")
        ).json()
        seen += [
            i["data"]["permit_id"] if i["kind"] == "permit" else i["data"]["hazard_id"]
            for i in page["items"]
        ]
        cursor = page["cursor"]
        if not page["more"]:
            break
    # Three permits, the reported hazard and the automatic ones the replay filed (these
    # test chains skip role assignment), each exactly once.
    assert {"FA-1", "FA-2", "FC-1"} <= set(seen) and len(seen) == len(set(seen)) >= 4
    county = world.client.get("/api/v1/feed", headers=world.h("bureau")).json()
    assert "FC-1" not in {i["data"].get("permit_id") for i in county["items"]}
    assert county["items"] and all(i["data"]["enterprise_id"] != "ent-c" for i in county["items"])
    # Read-only: the aggregator can do nothing else.
    assert world.client.get("/api/v1/permits", headers=world.h("agg")).status_code == 403
    assert (
        world.client.post(
            "/api/v1/hazards", json={"enterprise_id": "ent-a", "title": "x"}, headers=world.h("agg")
        ).status_code
        == 403
    )
    # An enterprise admin has no feed.
    assert world.client.get("/api/v1/feed", headers=world.h("a-admin")).status_code == 403

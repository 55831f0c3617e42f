"""The dashboard's counts and words: the "open now" tile and the list its link opens count
the same permits; anomaly codes read as words."""

from __future__ import annotations

import re

from tests.sync_server.chains import cancelled, enroll_tablet, simple_permit
from tests.sync_server.conftest import World
from tests.sync_server.test_ledger_cross_check import _signed_in_page


def test_the_open_now_tile_and_its_list_agree(world: World) -> None:
    tablet = enroll_tablet(world.client, world.h("a-admin"))
    for pid in ("OPEN-1", "OPEN-2", "GONE-1"):
        r = world.client.post(
            "/api/v1/sync/events",
            json={"events": simple_permit(tablet, pid)},
            headers=tablet.headers,
        )
        assert r.json()["accepted"] == 2, r.text
    r = world.client.post(
        "/api/v1/sync/events",
        json={"events": [tablet.event("GONE-1", cancelled())]},
        headers=tablet.headers,
    )
    assert r.json()["accepted"] == 1, r.text
    page = _signed_in_page(world, "/web/", "bureau")
    tile = re.search(r'href="([^"]+)"><span class="n" id="tile-active">(\d+)<', page)
    assert tile is not None, page
    link, shown = tile.group(1), int(tile.group(2))
    assert link == "/web/permits?status=open" and shown == 2
    listed = world.client.get("/api/v1/permits?status=open", headers=world.h("bureau")).json()
    assert listed["total"] == shown
    assert sorted(p["permit_id"] for p in listed["items"]) == ["OPEN-1", "OPEN-2"]
    assert "OPEN-1" in _signed_in_page(world, link, "bureau")


def test_every_stored_anomaly_code_reads_as_words() -> None:
    """Badges and findings show words: the table's codes, every ledger mismatch, the
    fork cap, and for any other rule's code a word, never the code itself."""
    from sync_server.i18n import gettext_for
    from sync_server.labels import anomaly

    zh = gettext_for("zh_CN")
    assert anomaly("LEDGER_MISMATCH_ROSTER_CONTRACTOR_BLACKLISTED", zh) == "与台账不一致"
    assert anomaly("CONFLICT_LIMIT", zh) == "冲突版本过多"
    other = anomaly("SOME_RULE_CODE", zh)
    assert other and "SOME_RULE_CODE" not in other

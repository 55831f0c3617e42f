"""Permit history for the bureau: filters, pagination and the full trace of a demo history
written with the permit core's commands."""

from __future__ import annotations

import hashlib

import pytest

from cspermit.demo.permit_history import build_history
from cspermit.demo.seed import DEMO_PEOPLE, DEMO_SPACES
from tests.sync_server.chains import enroll_tablet
from tests.sync_server.conftest import LEDGER_SPACE, World


@pytest.fixture
def history(world: World) -> World:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    for space in DEMO_SPACES["ent-a"]:
        world.client.put(
            f"/api/v1/enterprises/ent-a/spaces/{space['id']}",
            json={**LEDGER_SPACE, **space},
            headers=world.h("a-admin"),
        )
    for permit in build_history(
        "ent-a", DEMO_SPACES["ent-a"], DEMO_PEOPLE["ent-a"], "GASL-4-0001", tab.device_key
    ):
        for chunk in permit.chunks:
            r = world.client.put(
                f"/api/v1/sync/chunks/{hashlib.sha256(chunk).hexdigest()}",
                content=chunk,
                headers=tab.headers,
            )
            assert r.status_code == 201
        r = world.client.post(
            "/api/v1/sync/events", json={"events": permit.events}, headers=tab.headers
        )
        assert r.json()["rejected"] == 0, r.json()
    return world


def ids(world: World, query: str) -> list[str]:
    r = world.client.get(f"/api/v1/permits?{query}", headers=world.h("bureau"))
    assert r.status_code == 200, r.text
    return sorted(p["permit_id"] for p in r.json()["items"])


def test_filters_find_the_right_permits(history: World) -> None:
    w = history
    assert ids(w, "status=closed") == ["A-2026-0001", "A-2026-0003"]
    assert ids(w, "status=active") == ["A-2026-0004"]
    assert ids(w, "status=cancelled") == ["A-2026-0002"]
    assert ids(w, "anomaly=EVACUATION_ORDERED") == ["A-2026-0003"]
    assert ids(w, "anomaly=ENTRY_WITHOUT_GUARDIAN") == ["A-2026-0005"]
    assert "A-2026-0002" in ids(w, "anomaly=false")
    assert ids(w, "space_id=A-T1") == ["A-2026-0001", "A-2026-0003"]
    assert ids(w, "person=a-p-zhou") == ["A-2026-0001", "A-2026-0003", "A-2026-0004"]
    assert ids(w, "detector=GASL-4-0001") == ["A-2026-0001", "A-2026-0003", "A-2026-0004"]
    assert ids(w, "enterprise_id=ent-b") == []
    page = w.client.get("/api/v1/permits?limit=2&offset=2", headers=w.h("bureau")).json()
    assert page["total"] == 5 and len(page["items"]) == 2
    first = w.client.get("/api/v1/permits?limit=5", headers=w.h("bureau")).json()["items"]
    recent = first[0]["first_at"]
    assert ids(w, f"date_from={recent.replace('+', '%2B')}") == [first[0]["permit_id"]]
    r = w.client.get("/api/v1/permits?date_from=yesterday", headers=w.h("bureau"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "date_from"


def test_trace_shows_chain_readings_and_verification(history: World) -> None:
    w = history
    t = w.client.get("/api/v1/permits/A-2026-0001", headers=w.h("bureau")).json()
    assert t["verification"] == {"ok": True, "events": len(t["events"])}
    assert [e["seq"] for e in t["events"]] == list(range(1, len(t["events"]) + 1))
    assert t["readings"] == {"chunks": 3, "held": 3, "missing": []}
    assert t["permit"]["status"] == "closed" and not t["findings"]
    bad = w.client.get("/api/v1/permits/A-2026-0005", headers=w.h("bureau")).json()
    assert {h["rule_code"] for h in bad["hazards"]} >= {"ENTRY_WITHOUT_APPROVAL"}

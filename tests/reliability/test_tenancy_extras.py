"""Beyond the authorisation matrix (tests/sync_server/test_authorization_matrix.py):
another tenant's ids smuggled inside bodies, revoked devices on every device endpoint,
expired tokens on writes, enrollment codes reused (also in a race) or expired, and
oversized or deeply nested payloads on every JSON endpoint: a clear 4xx, never a 5xx,
nothing stored."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from sync_server.schema import events, hazards, notes
from tests.sync_server.chains import enroll_tablet, simple_permit
from tests.sync_server.conftest import LEDGER_SPACE, World, operator_app


def _b_objects(world: World) -> dict[str, str]:
    """A permit, a hazard and a chunk of enterprise B."""
    tab_b = enroll_tablet(world.client, world.h("b-admin"))
    r = world.client.post(
        "/api/v1/sync/events", json={"events": simple_permit(tab_b, "B-P1")}, headers=tab_b.headers
    )
    assert r.json()["accepted"] == 2
    h = world.client.post(
        "/api/v1/hazards",
        json={
            "enterprise_id": "ent-b",
            "title": "B's hazard",
            "source": "self_inspection",
            "category": "other",
        },
        headers=world.h("b-admin"),
    )
    assert h.status_code == 201, h.text
    blob = b"B's readings"
    digest = hashlib.sha256(blob).hexdigest()
    r = world.client.put(f"/api/v1/sync/chunks/{digest}", content=blob, headers=tab_b.headers)
    assert r.status_code == 201
    return {
        "permit": "B-P1",
        "hazard": h.json()["hazard_id"],
        "chunk": digest,
        "device": tab_b.device_id,
    }


def test_another_tenants_ids_inside_bodies_are_not_found(world: World, app: Any) -> None:
    b = _b_objects(world)
    a = world.h("a-admin")
    tab_a = enroll_tablet(world.client, a)
    attempts: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        # A hazard of A's enterprise pointing at B's permit.
        (
            "POST",
            "/api/v1/hazards",
            {
                "json": {
                    "enterprise_id": "ent-a",
                    "title": "x",
                    "source": "self_inspection",
                    "category": "other",
                    "permit_id": b["permit"],
                }
            },
            a,
        ),
        (
            "POST",
            "/api/v1/notes",
            {"json": {"object_kind": "permit", "object_id": b["permit"], "text": "x"}},
            a,
        ),
        (
            "POST",
            "/api/v1/notes",
            {"json": {"object_kind": "hazard", "object_id": b["hazard"], "text": "x"}},
            a,
        ),
        (
            "POST",
            f"/api/v1/hazards/{b['hazard']}/actions",
            {
                "json": {
                    "action": "plan",
                    "measures": "m",
                    "responsible": "r",
                    "deadline": "2099-01-01T00:00:00+08:00",
                }
            },
            a,
        ),
        ("POST", "/api/v1/enrollments", {"json": {"enterprise_id": "ent-b", "label": "x"}}, a),
        ("DELETE", f"/api/v1/devices/{b['device']}", {}, a),
        ("GET", f"/api/v1/sync/chunks/{b['chunk']}", {}, tab_a.headers),
        ("GET", f"/api/v1/sync/chunks/{b['chunk']}?enterprise_id=ent-b", {}, tab_a.headers),
        ("GET", f"/api/v1/sync/permits/{b['permit']}/events", {}, tab_a.headers),
        ("GET", f"/api/v1/permits/{b['permit']}/export.json", {}, a),
        ("PUT", "/api/v1/enterprises/ent-b/spaces/S-9", {"json": LEDGER_SPACE}, a),
        (
            "PUT",
            "/api/v1/enterprises/ent-a/spaces/S-9",
            {"json": {**LEDGER_SPACE, "enterprise_id": "ent-b"}},
            a,
        ),
    ]
    for method, url, kw, headers in attempts:
        r = world.client.request(method, url, headers=headers, **kw)
        assert r.status_code in (403, 404, 422), (method, url, r.status_code, r.text)
        if r.status_code == 422:
            # An id mismatch, or "unknown permit": the same answer as for an id that does
            # not exist, naming the field.
            assert r.json()["error"]["code"] in ("ID_MISMATCH", "UNKNOWN_PERMIT"), (url, r.text)
        else:
            assert "B's" not in r.text and b["permit"] not in r.text, (url, r.text)
    # "Which digests do you hold?" must not reveal B's chunk to A's tablet.
    r = world.client.post(
        "/api/v1/sync/chunks/have", json={"digests": [b["chunk"]]}, headers=tab_a.headers
    )
    assert r.status_code == 200 and r.json()["have"] == []
    # Nothing of those attempts was stored against B.
    with app.state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(notes)).scalar() == 0
        assert (
            conn.execute(
                sa.select(sa.func.count())
                .select_from(hazards)
                .where(hazards.c.permit_id == b["permit"], hazards.c.enterprise_id == "ent-a")
            ).scalar()
            == 0
        )


def test_revoked_device_is_refused_everywhere_and_stores_nothing(world: World, app: Any) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    evs = simple_permit(tab, "REV-1")
    r = world.client.delete(f"/api/v1/devices/{tab.device_id}", headers=world.h("a-admin"))
    assert r.status_code in (200, 204), r.text
    blob = b"late chunk"
    digest = hashlib.sha256(blob).hexdigest()
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/v1/sync/events", {"json": {"events": evs}}),
        ("PUT", f"/api/v1/sync/chunks/{digest}", {"content": blob}),
        ("PUT", f"/api/v1/sync/attachments/{digest}", {"content": blob}),
        ("POST", "/api/v1/sync/chunks/have", {"json": {"digests": [digest]}}),
        ("GET", "/api/v1/sync/reference?cursor=0", {}),
        ("GET", "/api/v1/sync/permits/REV-1/events", {}),
        ("GET", "/api/v1/auth/me", {}),
    ]
    for method, url, kw in calls:
        r = world.client.request(method, url, headers=tab.headers, **kw)
        assert r.status_code == 401, (url, r.status_code, r.text)
        assert r.json()["error"]["code"] in ("DEVICE_REVOKED", "TOKEN_REVOKED"), (url, r.text)
    with app.state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar() == 0
    # Re-enrolling the same key is refused or gives a new device; the old token stays dead.
    code = world.client.post(
        "/api/v1/enrollments", json={"label": "again"}, headers=world.h("a-admin")
    ).json()["code"]
    r = world.client.post("/api/v1/devices", json={"code": code, "public_key": tab.public_key_b64})
    assert (r.status_code == 201 and r.json()["device_id"] != tab.device_id) or (
        r.status_code == 409
    ), r.text
    assert world.client.get("/api/v1/auth/me", headers=tab.headers).status_code == 401


def test_expired_people_tokens_cannot_write(db_url: str) -> None:
    with operator_app(db_url, token_ttl_s=0) as (client, h):
        writes: list[tuple[str, str, dict[str, Any]]] = [
            (
                "POST",
                "/api/v1/enterprises",
                {"json": {"name": "X", "credit_code": "x", "jurisdiction": "530102"}},
            ),
            (
                "POST",
                "/api/v1/accounts",
                {"json": {"username": "u", "password": "p" * 12, "role": "operator"}},
            ),
            ("POST", "/api/v1/enrollments", {"json": {"enterprise_id": "ent-a"}}),
            ("POST", "/api/v1/hazards", {"json": {}}),
            ("POST", "/api/v1/auth/revoke", {}),
        ]
        for method, url, kw in writes:
            r = client.request(method, url, headers=h, **kw)
            assert r.status_code == 401 and r.json()["error"]["code"] == "TOKEN_EXPIRED", (
                url,
                r.text,
            )


def test_expired_enrollment_code_is_refused(db_url: str) -> None:
    from tests.sync_server.chains import Tablet

    with operator_app(db_url, enrollment_code_ttl_s=0) as (client, h):
        r = client.post(
            "/api/v1/enterprises",
            headers=h,
            json={
                "enterprise_id": "ent-a",
                "name": "A",
                "credit_code": "91530102MA6K3XY09U",
                "jurisdiction": "530102",
            },
        )
        assert r.status_code == 201, r.text
        code = client.post(
            "/api/v1/enrollments", json={"enterprise_id": "ent-a"}, headers=h
        ).json()["code"]
        r = client.post(
            "/api/v1/devices", json={"code": code, "public_key": Tablet().public_key_b64}
        )
        assert r.status_code in (401, 409, 410, 422), r.text
        assert "EXPIRED" in r.json()["error"]["code"], r.text


def test_one_enrollment_code_raced_enrolls_exactly_one_device(world: World, app: Any) -> None:
    from tests.sync_server.chains import Tablet

    code = world.client.post(
        "/api/v1/enrollments", json={"label": "race"}, headers=world.h("a-admin")
    ).json()["code"]

    async def race() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as c:
            return list(
                await asyncio.gather(
                    *(
                        c.post(
                            "/api/v1/devices",
                            json={"code": code, "public_key": Tablet().public_key_b64},
                        )
                        for _ in range(6)
                    )
                )
            )

    loop = asyncio.new_event_loop()
    try:
        answers = loop.run_until_complete(race())
    finally:
        loop.close()
    codes = sorted(r.status_code for r in answers)
    assert codes == [201, 409, 409, 409, 409, 409], [r.text for r in answers]
    assert all(
        r.json()["error"]["code"] == "ENROLLMENT_CODE_USED" for r in answers if r.status_code == 409
    )


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


# /sync/events parses its own body: see test_found_sync_deep_json.py.
JSON_ENDPOINTS = [
    ("POST", "/api/v1/sync/chunks/have", "dev"),
    ("POST", "/api/v1/hazards", "a"),
    ("POST", "/api/v1/notes", "a"),
    ("POST", "/api/v1/enrollments", "a"),
    ("POST", "/api/v1/devices", "anon"),
    ("PUT", "/api/v1/enterprises/ent-a/spaces/S-1", "a"),
    ("PATCH", "/api/v1/enterprises/ent-a", "a"),
    ("POST", "/api/v1/accounts", "op"),
    ("POST", "/api/v1/enterprises", "op"),
]


@pytest.mark.parametrize("depth", [64, 5_000, 200_000])
def test_deeply_nested_json_is_a_clear_4xx_everywhere(world: World, depth: int) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    heads = {"dev": tab.headers, "a": world.h("a-admin"), "op": world.h("op"), "anon": {}}
    body = _nested(depth)
    for method, url, who in JSON_ENDPOINTS:
        r = world.client.request(
            method,
            url,
            content=body,
            headers={**heads[who], "Content-Type": "application/json"},
        )
        # Modest nesting is valid JSON (an unknown key may be ignored); deep nesting is
        # a clear 4xx. Never a 5xx, never a dropped connection.
        assert r.status_code < 500, (url, depth, r.status_code, r.text[:300])
        if depth > 1000:
            assert 400 <= r.status_code < 500, (url, depth, r.status_code, r.text[:300])
            assert r.json()["error"]["code"], r.text[:300]


def test_deep_nesting_inside_an_event_payload_is_rejected_not_stored(
    world: World, app: Any
) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    ev = simple_permit(tab, "DEEP-1")[0]
    import json

    # 900 levels: the most Python's own json module writes; the server must refuse it
    # by schema (work_description is a string) and store nothing.
    deep: Any = "x"
    for _ in range(900):
        deep = {"d": deep}
    ev["payload"] = {**ev["payload"], "work_description": deep}
    r = world.client.post(
        "/api/v1/sync/events",
        content=json.dumps({"events": [ev]}),
        headers={**tab.headers, "Content-Type": "application/json"},
    )
    assert r.status_code in (200, 400, 413, 422), (r.status_code, r.text[:300])
    if r.status_code == 200:
        assert r.json()["results"][0]["status"] == "rejected"
    with app.state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar() == 0

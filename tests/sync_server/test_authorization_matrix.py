"""Every endpoint by role by tenant. The object under test belongs to enterprise A (county
530102). ``b`` is another tenant's admin (404: no existence leak), ``bureau`` the county
reviewer (reads, files findings and notes), ``agg`` the provincial aggregator (feed only)."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.sync_server.chains import enroll_tablet, simple_permit
from tests.sync_server.conftest import LEDGER_SPACE, World

ROLES = ("anon", "a", "b", "bureau", "agg", "dev_a", "dev_b")


def _matrix(ids: dict[str, str]) -> list[tuple[str, str, dict[str, Any], dict[str, int]]]:
    pid, hid, chunk = ids["permit"], ids["hazard"], ids["chunk"]
    return [
        (
            "GET",
            "/api/v1/enterprises/ent-a",
            {},
            {"a": 200, "b": 404, "bureau": 200, "agg": 200, "dev_a": 200, "dev_b": 404},
        ),
        (
            "PATCH",
            "/api/v1/enterprises/ent-a",
            {"json": {"name": "A2"}},
            {"a": 200, "b": 404, "bureau": 403, "agg": 403, "dev_a": 403, "dev_b": 404},
        ),
        (
            "PUT",
            "/api/v1/enterprises/ent-a/spaces/M-1",
            {"json": LEDGER_SPACE},
            {"a": 201, "b": 404, "bureau": 403, "agg": 403, "dev_a": 403, "dev_b": 404},
        ),
        (
            "GET",
            "/api/v1/enterprises/ent-a/spaces",
            {},
            {"a": 200, "b": 404, "bureau": 200, "agg": 403, "dev_a": 200, "dev_b": 404},
        ),
        (
            "GET",
            "/api/v1/enterprises/ent-a/spaces/T-1/qr",
            {},
            {"a": 200, "b": 404, "bureau": 200, "agg": 403, "dev_a": 200, "dev_b": 404},
        ),
        (
            "POST",
            "/api/v1/enrollments",
            {"json": {"enterprise_id": "ent-a"}},
            {"a": 201, "b": 404, "bureau": 403, "agg": 403, "dev_a": 403, "dev_b": 403},
        ),
        (
            "GET",
            "/api/v1/devices?enterprise_id=ent-a",
            {},
            {"a": 200, "b": 404, "bureau": 200, "agg": 403, "dev_a": 403, "dev_b": 403},
        ),
        (
            "GET",
            "/api/v1/permits",
            {},
            {"a": 200, "b": 200, "bureau": 200, "agg": 403, "dev_a": 403, "dev_b": 403},
        ),
        (
            "GET",
            f"/api/v1/permits/{pid}",
            {},
            {"a": 200, "b": 404, "bureau": 200, "agg": 403, "dev_a": 403, "dev_b": 403},
        ),
        (
            "GET",
            f"/api/v1/permits/{pid}/export.json",
            {},
            {"a": 200, "b": 404, "bureau": 200, "agg": 403, "dev_a": 403, "dev_b": 403},
        ),
        (
            "POST",
            "/api/v1/hazards",
            {"json": {"enterprise_id": "ent-a", "title": "t"}},
            {"a": 201, "b": 404, "bureau": 201, "agg": 403, "dev_a": 403, "dev_b": 404},
        ),
        (
            "POST",
            "/api/v1/hazards",
            {
                "json": {
                    "enterprise_id": "ent-a",
                    "title": "t",
                    "source": "worker_report",
                    "details": {"tablet_report_id": "r-1"},
                }
            },
            {"a": 201, "b": 404, "bureau": 201, "agg": 403, "dev_a": 201, "dev_b": 404},
        ),
        (
            "GET",
            "/api/v1/hazards",
            {},
            {"a": 200, "b": 200, "bureau": 200, "agg": 403, "dev_a": 403, "dev_b": 403},
        ),
        (
            "GET",
            f"/api/v1/hazards/{hid}",
            {},
            {"a": 200, "b": 404, "bureau": 200, "agg": 403, "dev_a": 403, "dev_b": 403},
        ),
        (
            "POST",
            f"/api/v1/hazards/{hid}/actions",
            {"json": {"action": "close"}},
            # 422: the admin may act, but a reported hazard cannot be closed yet.
            {"a": 422, "b": 404, "bureau": 403, "agg": 403, "dev_a": 403, "dev_b": 403},
        ),
        (
            "POST",
            "/api/v1/notes",
            {"json": {"object_kind": "permit", "object_id": pid, "text": "n"}},
            {"a": 201, "b": 404, "bureau": 201, "agg": 403, "dev_a": 403, "dev_b": 403},
        ),
        (
            "GET",
            "/api/v1/audit",
            {},
            {"a": 200, "b": 200, "bureau": 200, "agg": 403, "dev_a": 403, "dev_b": 403},
        ),
        (
            "GET",
            "/api/v1/conflicts",
            {},
            {"a": 200, "b": 200, "bureau": 200, "agg": 403, "dev_a": 403, "dev_b": 403},
        ),
        (
            "GET",
            "/api/v1/feed",
            {},
            {"a": 403, "b": 403, "bureau": 200, "agg": 200, "dev_a": 403, "dev_b": 403},
        ),
        (
            "GET",
            "/api/v1/sync/reference",
            {},
            {"a": 200, "b": 200, "bureau": 403, "agg": 403, "dev_a": 200, "dev_b": 200},
        ),
        (
            "POST",
            "/api/v1/sync/events",
            {"json": {"events": []}},
            {"a": 403, "b": 403, "bureau": 403, "agg": 403, "dev_a": 200, "dev_b": 200},
        ),
        (
            "GET",
            f"/api/v1/sync/permits/{pid}/events",
            {},
            {"a": 403, "b": 403, "bureau": 403, "agg": 403, "dev_a": 200, "dev_b": 404},
        ),
        (
            "GET",
            f"/api/v1/sync/chunks/{chunk}?enterprise_id=ent-a",
            {},
            {"a": 200, "b": 404, "bureau": 200, "agg": 403, "dev_a": 200, "dev_b": 404},
        ),
        (
            "POST",
            "/api/v1/accounts",
            {
                "json": {
                    "username": "x1",
                    "password": "x1-cat-kettle-9",
                    "role": "enterprise_admin",
                    "enterprise_id": "ent-a",
                }
            },
            {"a": 201, "b": 403, "bureau": 403, "agg": 403, "dev_a": 403, "dev_b": 403},
        ),
        (
            "POST",
            "/api/v1/enterprises",
            {"json": {"name": "n", "credit_code": "x", "jurisdiction": "530102"}},
            {"a": 403, "b": 403, "bureau": 403, "agg": 403, "dev_a": 403, "dev_b": 403},
        ),
        (
            "DELETE",
            f"/api/v1/devices/{ids['spare_device']}",
            {},
            {"b": 404, "bureau": 403, "agg": 403, "dev_a": 403, "dev_b": 404, "a": 204},
        ),
    ]


def matrix(ids: dict[str, str]) -> list[tuple[str, str, dict[str, Any], dict[str, int]]]:
    # Without a token every endpoint but enrollment answers 401.
    return [(m, u, kw, {"anon": 401, **exp}) for m, u, kw, exp in _matrix(ids)]


def test_every_endpoint_by_role_and_tenant(world: World) -> None:
    c = world.client
    tab_a = enroll_tablet(c, world.h("a-admin"))
    tab_b = enroll_tablet(c, world.h("b-admin"))
    spare = enroll_tablet(c, world.h("a-admin"))
    c.put("/api/v1/enterprises/ent-a/spaces/T-1", json=LEDGER_SPACE, headers=world.h("a-admin"))
    r = c.post(
        "/api/v1/sync/events", json={"events": simple_permit(tab_a, "PA-1")}, headers=tab_a.headers
    )
    assert r.json()["accepted"] == 2
    data = b"chunk"
    chunk = hashlib.sha256(data).hexdigest()
    c.put(f"/api/v1/sync/chunks/{chunk}", content=data, headers=tab_a.headers)
    hid = c.post(
        "/api/v1/hazards", json={"enterprise_id": "ent-a", "title": "h"}, headers=world.h("a-admin")
    ).json()["hazard_id"]
    headers = {
        "anon": {},
        "a": world.h("a-admin"),
        "b": world.h("b-admin"),
        "bureau": world.h("bureau"),
        "agg": world.h("agg"),
        "dev_a": tab_a.headers,
        "dev_b": tab_b.headers,
    }
    rows = matrix(
        {"permit": "PA-1", "hazard": hid, "chunk": chunk, "spare_device": spare.device_id}
    )
    failures = []
    for method, url, kw, expected in rows:
        for role in ("anon", "b", "bureau", "agg", "dev_b", "dev_a", "a"):
            want = expected.get(role)
            if want is None:
                continue
            got = c.request(method, url, headers=headers[role], **kw)
            if got.status_code != want:
                failures.append(f"{role:7} {method:6} {url}: {got.status_code} != {want}")
            if got.status_code >= 400:
                assert "code" in got.json()["error"], got.text
    assert not failures, "\n".join(failures)

"""FOUND (left failing for the owner of sync_server/app.py): only the sync endpoints cap the
request body (``_read_limited`` in routers/sync.py). Every other JSON endpoint, and the
sign-in form, reads a body of any size into memory before validating it: a 9 MiB (or
9 GiB) body to ``POST /api/v1/hazards`` is parsed and answered 422, not refused 413.
docs/server.md promises ``BODY_TOO_LARGE`` (413).

Fix: a small ASGI middleware in ``create_app`` that refuses a declared
``Content-Length`` over a limit (e.g. ``max_batch_bytes``, 4 MiB) and counts streamed
bytes for chunked bodies, answering 413 ``BODY_TOO_LARGE``; the blob uploads keep their
own ``max_blob_bytes`` limit (exempt them or give them the larger cap).
(FastAPI parses the body before dependencies run, so a router dependency cannot do it.)"""

from __future__ import annotations

import pytest

from tests.sync_server.conftest import World

ENDPOINTS = [
    ("POST", "/api/v1/sync/chunks/have", "a"),
    ("POST", "/api/v1/hazards", "a"),
    ("POST", "/api/v1/notes", "a"),
    ("POST", "/api/v1/enrollments", "a"),
    ("POST", "/api/v1/devices", "anon"),
    ("PUT", "/api/v1/enterprises/ent-a/spaces/S-1", "a"),
    ("PATCH", "/api/v1/enterprises/ent-a", "a"),
    ("POST", "/api/v1/accounts", "op"),
    ("POST", "/api/v1/enterprises", "op"),
]


@pytest.mark.parametrize(("method", "url", "who"), ENDPOINTS)
def test_oversized_json_body_is_413(world: World, method: str, url: str, who: str) -> None:
    heads = {"a": world.h("a-admin"), "op": world.h("op"), "anon": {}}
    big = b'{"x": "' + b"a" * (9 * 1024 * 1024) + b'"}'
    r = world.client.request(
        method, url, content=big, headers={**heads[who], "Content-Type": "application/json"}
    )
    assert r.status_code == 413, (url, r.status_code, r.text[:200])
    assert r.json()["error"]["code"] == "BODY_TOO_LARGE"

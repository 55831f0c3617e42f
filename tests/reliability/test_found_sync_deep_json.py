"""FOUND (left failing for the owner of sync_server/routers/sync.py): a deeply nested JSON
body on ``POST /api/v1/sync/events`` raises ``RecursionError`` out of ``json.loads`` in
``push_events`` (only JSONDecodeError/UnicodeDecodeError are caught), so the request ends
in a 500 / a dropped connection instead of a 400 ``MALFORMED_JSON``.

Fix: catch ``RecursionError`` next to ``json.JSONDecodeError`` in ``push_events`` and
answer ``BadRequest(..., code="MALFORMED_JSON", field="body")``."""

from __future__ import annotations

from tests.sync_server.chains import enroll_tablet
from tests.sync_server.conftest import World


def test_deeply_nested_push_is_400_malformed_json(world: World) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    depth = 100_000
    body = b'{"events": [' + b"[" * depth + b"]" * depth + b"]}"
    r = world.client.post(
        "/api/v1/sync/events",
        content=body,
        headers={**tab.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.status_code
    assert r.json()["error"]["code"] == "MALFORMED_JSON"

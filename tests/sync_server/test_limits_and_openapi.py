"""Stated limits (413) and the published API description."""

from __future__ import annotations

from typing import Any

from sync_server.app import create_app
from tests.sync_server.chains import enroll_tablet, simple_permit
from tests.sync_server.conftest import ASGIClient, make_settings


def _small_app(db_url: str) -> Any:
    return create_app(make_settings(db_url, max_batch_bytes=1000, max_blob_bytes=10))


def test_body_and_blob_limits_are_413_and_store_nothing(db_url: str) -> None:
    from sync_server.security import Role
    from sync_server.services import accounts as account_service
    from sync_server.services import enterprises as enterprise_service
    from tests.sync_server.conftest import sign_in

    app = _small_app(db_url)
    client = ASGIClient(app)
    try:
        with app.state.engine.begin() as conn:
            enterprise_service.create(
                conn,
                enterprise_id="ent-a",
                name="A",
                credit_code="91530102MA6K3XY09U",
                jurisdiction="530102",
                details={},
            )
            account_service.create_account(
                conn,
                app.state.passwords,
                username="a-admin",
                password="a-admin-pass",
                role=Role.ENTERPRISE_ADMIN,
                enterprise_id="ent-a",
            )
        h = {"Authorization": f"Bearer {sign_in(client, 'a-admin', 'a-admin-pass')}"}
        tab = enroll_tablet(client, h)
        r = client.post(
            "/api/v1/sync/events", json={"events": simple_permit(tab, "L-1")}, headers=tab.headers
        )
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "BODY_TOO_LARGE" and r.json()["error"]["limit"] == 1000
        r = client.put("/api/v1/sync/chunks/" + "a" * 64, content=b"x" * 11, headers=tab.headers)
        assert r.status_code == 413
        listed = client.get("/api/v1/permits", headers=h).json()
        assert listed["total"] == 0
    finally:
        client.close()
        app.state.engine.dispose()


def test_openapi_and_docs_are_served(client: Any) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/v1/auth/token",
        "/api/v1/sync/events",
        "/api/v1/sync/reference",
        "/api/v1/permits/{permit_id}/export.json",
        "/api/v1/feed",
        "/api/v1/hazards/{hazard_id}/actions",
    ):
        assert path in spec["paths"], path
    assert "application/octet-stream" in str(spec["paths"]["/api/v1/sync/chunks/{sha256}"])
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert client.get("/nowhere").json()["error"]["code"] == "NOT_FOUND"


def test_a_chunked_body_without_a_length_is_counted_and_refused(db_url: str) -> None:
    """No Content-Length to trust: the cap counts the bytes as they stream in."""
    app = _small_app(db_url)
    client = ASGIClient(app)

    async def stream() -> Any:
        for _ in range(100):
            yield b" " * 100

    try:
        r = client.post(
            "/api/v1/auth/token",
            content=stream(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 413, r.text
        assert r.json()["error"] == {
            "code": "BODY_TOO_LARGE",
            "message": r.json()["error"]["message"],
            "limit": 1000,
        }
        # A small body on the same endpoint is still read and answered normally.
        ok = client.post("/api/v1/auth/token", data={"username": "x", "password": "y"})
        assert ok.status_code == 401, ok.text
    finally:
        client.close()
        app.state.engine.dispose()

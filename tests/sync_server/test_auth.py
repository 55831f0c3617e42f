"""Sign-in, tokens, throttling and enrollment."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.sync_server.conftest import World


def public_key_b64() -> str:
    key = Ed25519PrivateKey.generate().public_key()
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def test_password_sign_in_gives_a_bearer_token_that_identifies_the_account(world: World) -> None:
    r = world.client.get("/api/v1/auth/me", headers=world.h("a-admin"))
    assert r.status_code == 200
    assert r.json()["role"] == "enterprise_admin"
    assert r.json()["enterprise_id"] == "ent-a"


def test_wrong_password_is_401_with_a_code_and_no_hint(world: World) -> None:
    r = world.client.post("/api/v1/auth/token", data={"username": "a-admin", "password": "nope"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "INVALID_CREDENTIALS"
    r2 = world.client.post("/api/v1/auth/token", data={"username": "nobody", "password": "nope"})
    assert r2.json() == r.json()


def test_repeated_failures_are_throttled_with_retry_after(world: World) -> None:
    for _ in range(5):
        r = world.client.post("/api/v1/auth/token", data={"username": "b-admin", "password": "x"})
        assert r.status_code == 401
    r = world.client.post(
        "/api/v1/auth/token", data={"username": "b-admin", "password": "b-admin-pass"}
    )
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "SIGN_IN_THROTTLED"
    assert int(r.headers["Retry-After"]) > 0
    # Another user is not affected.
    r = world.client.post(
        "/api/v1/auth/token", data={"username": "a-admin", "password": "a-admin-pass"}
    )
    assert r.status_code == 200


def test_revoked_token_stops_working(world: World) -> None:
    h = world.h("a-admin")
    assert world.client.post("/api/v1/auth/revoke", headers=h).status_code == 204
    r = world.client.get("/api/v1/auth/me", headers=h)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "TOKEN_REVOKED"


def test_expired_token_is_refused(db_url: str) -> None:
    from sync_server.app import create_app
    from sync_server.security import Role
    from sync_server.services import accounts as account_service
    from tests.sync_server.conftest import ASGIClient, make_settings, sign_in

    app = create_app(make_settings(db_url, token_ttl_s=0))
    try:
        with app.state.engine.begin() as conn:
            account_service.create_account(
                conn,
                app.state.passwords,
                username="op",
                password="op-password",
                role=Role.OPERATOR,
            )
        client = ASGIClient(app)
        token = sign_in(client, "op", "op-password")
        r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        client.close()
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "TOKEN_EXPIRED"
    finally:
        app.state.engine.dispose()


def test_missing_and_garbage_tokens_are_401(world: World) -> None:
    r = world.client.get("/api/v1/auth/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "TOKEN_MISSING"
    r = world.client.get("/api/v1/auth/me", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "TOKEN_INVALID"


def enroll(world: World, admin: str = "a-admin") -> dict[str, Any]:
    r = world.client.post("/api/v1/enrollments", json={"label": "tablet 1"}, headers=world.h(admin))
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    r = world.client.post("/api/v1/devices", json={"code": code, "public_key": public_key_b64()})
    assert r.status_code == 201, r.text
    return {"code": code, **r.json()}


def test_enrollment_code_gives_a_device_token_once(world: World) -> None:
    dev = enroll(world)
    assert dev["enterprise_id"] == "ent-a"
    me = world.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {dev['token']}"})
    assert me.json()["role"] == "device" and me.json()["subject_id"] == dev["device_id"]
    again = world.client.post(
        "/api/v1/devices", json={"code": dev["code"], "public_key": public_key_b64()}
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ENROLLMENT_CODE_USED"


def test_bad_public_key_and_unknown_code_are_refused(world: World) -> None:
    r = world.client.post("/api/v1/enrollments", json={}, headers=world.h("a-admin"))
    code = r.json()["code"]
    bad = world.client.post("/api/v1/devices", json={"code": code, "public_key": "AAAA"})
    assert bad.status_code == 422
    assert bad.json()["error"] == {
        "code": "PUBLIC_KEY_INVALID",
        "message": bad.json()["error"]["message"],
        "field": "public_key",
    }
    # The failed attempt did not burn the code.
    ok = world.client.post("/api/v1/devices", json={"code": code, "public_key": public_key_b64()})
    assert ok.status_code == 201
    unknown = world.client.post(
        "/api/v1/devices", json={"code": "AAAAA-BBBBB", "public_key": public_key_b64()}
    )
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "ENROLLMENT_CODE_INVALID"


def test_revoked_device_token_is_refused(world: World) -> None:
    dev = enroll(world)
    r = world.client.delete(f"/api/v1/devices/{dev['device_id']}", headers=world.h("a-admin"))
    assert r.status_code == 204
    me = world.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {dev['token']}"})
    assert me.status_code == 401
    assert me.json()["error"]["code"] in ("TOKEN_REVOKED", "DEVICE_REVOKED")


def test_another_enterprises_device_is_not_found(world: World) -> None:
    dev = enroll(world)
    r = world.client.delete(f"/api/v1/devices/{dev['device_id']}", headers=world.h("b-admin"))
    assert r.status_code == 404


def test_unknown_enterprise_is_a_clear_error(world: World) -> None:
    r = world.client.post(
        "/api/v1/accounts",
        json={
            "username": "ghost-admin",
            "password": "ghost-pass",
            "role": "enterprise_admin",
            "enterprise_id": "ent-nowhere",
        },
        headers=world.h("op"),
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "UNKNOWN_ENTERPRISE"
    assert r.json()["error"]["field"] == "enterprise_id"
    r = world.client.get("/api/v1/enterprises/ent-nowhere/spaces", headers=world.h("op"))
    assert r.status_code == 404


def test_bad_credit_code_and_wrong_types_are_422(world: World) -> None:
    r = world.client.post(
        "/api/v1/enterprises",
        json={"name": "x", "credit_code": "91530102MA6K3XY09V", "jurisdiction": "530102"},
        headers=world.h("op"),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "CREDIT_CODE_INVALID"
    r = world.client.post(
        "/api/v1/enterprises",
        json={"name": 5, "credit_code": [], "jurisdiction": "x"},
        headers=world.h("op"),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert r.json()["error"]["field"].startswith("body.")

"""Reference-data admin API and the tablets' pull since a cursor."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from sync_server.schema import audit_log, space_public_codes
from tests.sync_server.conftest import LEDGER_SPACE, World, person
from tests.sync_server.test_auth import enroll

SPACE = LEDGER_SPACE


def test_admin_writes_ledger_and_reads_it_back(world: World) -> None:
    c = world.client
    r = c.put("/api/v1/enterprises/ent-a/spaces/T-1", json=SPACE, headers=world.h("a-admin"))
    assert r.status_code == 201, r.text
    assert r.json()["data"]["name"] == SPACE["name"]
    r = c.put("/api/v1/enterprises/ent-a/spaces/T-1", json=SPACE, headers=world.h("a-admin"))
    assert r.status_code == 200
    listed = c.get("/api/v1/enterprises/ent-a/spaces", headers=world.h("a-admin")).json()
    assert [i["item_id"] for i in listed] == ["T-1"]
    qr = c.get("/api/v1/enterprises/ent-a/spaces/T-1/qr", headers=world.h("a-admin")).json()
    # The card's QR: the space's public page (码上查), by a random token, no ids.
    assert qr["payload"].startswith("https://codes.example.cn/q/") and "T-1" not in qr["payload"]
    assert qr["svg"].startswith("<?xml")


def test_a_spaces_code_is_issued_when_it_is_saved_and_never_made_by_a_read(
    world: World, app: Any
) -> None:
    c = world.client
    c.put("/api/v1/enterprises/ent-a/spaces/T-1", json=SPACE, headers=world.h("a-admin"))
    with app.state.engine.connect() as conn:
        issued = conn.execute(
            sa.select(audit_log.c.action, audit_log.c.actor).where(
                audit_log.c.object_id == "T-1", audit_log.c.action == "public_code.issue"
            )
        ).all()
    assert [tuple(r) for r in issued] == [("public_code.issue", "a-admin")]
    qr = "/api/v1/enterprises/ent-a/spaces/T-1/qr"
    first = c.get(qr, headers=world.h("a-admin")).json()["payload"]
    assert c.get(qr, headers=world.h("bureau")).json()["payload"] == first
    # A space written before codes came with saving has none: a read says so, makes none.
    with app.state.engine.begin() as conn:
        conn.execute(space_public_codes.delete())
    for reader in ("a-admin", "bureau"):
        r = c.get(qr, headers=world.h(reader))
        assert r.status_code == 422 and r.json()["error"]["code"] == "PUBLIC_CODE_MISSING"
        assert c.get("/api/v1/enterprises/ent-a/spaces", headers=world.h(reader)).is_success
    with app.state.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(space_public_codes)).scalar() == 0
        )


def test_other_tenant_gets_404_and_bureau_may_read_not_write(world: World) -> None:
    c = world.client
    c.put("/api/v1/enterprises/ent-a/spaces/T-1", json=SPACE, headers=world.h("a-admin"))
    r = c.get("/api/v1/enterprises/ent-a/spaces/T-1", headers=world.h("b-admin"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    r = c.put("/api/v1/enterprises/ent-a/spaces/T-2", json=SPACE, headers=world.h("b-admin"))
    assert r.status_code == 404
    assert (
        c.get("/api/v1/enterprises/ent-a/spaces/T-1", headers=world.h("bureau")).status_code == 200
    )
    r = c.put("/api/v1/enterprises/ent-a/spaces/T-2", json=SPACE, headers=world.h("bureau"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "ROLE_FORBIDDEN"
    # A reviewer of another county does not see it at all.
    r = c.get("/api/v1/enterprises/ent-c/spaces", headers=world.h("bureau"))
    assert r.status_code == 404


def test_stricter_profile_override_accepted_looser_refused(world: World) -> None:
    c = world.client
    h = world.h("a-admin")
    ok = c.put(
        "/api/v1/enterprises/ent-a/profile-overrides/sugar",
        json={"base": "cn-gongmao", "override": {"test_max_age": {"minutes": 20}}},
        headers=h,
    )
    assert ok.status_code == 201, ok.text
    bad = c.put(
        "/api/v1/enterprises/ent-a/profile-overrides/loose",
        json={"base": "cn-gongmao", "override": {"test_max_age": {"minutes": 60}}},
        headers=h,
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "OVERRIDE_LOOSER"
    assert bad.json()["error"]["field"] == "override"
    # Nothing was stored for the refused override.
    assert c.get("/api/v1/enterprises/ent-a/profile-overrides/loose", headers=h).status_code == 404


def test_device_pulls_changes_since_its_cursor_including_deletions(world: World) -> None:
    c = world.client
    h = world.h("a-admin")
    c.put("/api/v1/enterprises/ent-a/spaces/T-1", json=SPACE, headers=h)
    c.put("/api/v1/enterprises/ent-a/people/p-1", json=person("张三", "ent-a"), headers=h)
    c.put(
        "/api/v1/enterprises/ent-b/people/p-9",
        json=person("李四", "ent-b"),
        headers=world.h("b-admin"),
    )
    dev = enroll(world)
    dh = {"Authorization": f"Bearer {dev['token']}"}
    first = c.get("/api/v1/sync/reference", headers=dh).json()
    assert {(i["kind"], i["item_id"]) for i in first["items"]} == {
        ("spaces", "T-1"),
        ("people", "p-1"),
    }
    assert first["enterprise"]["enterprise_id"] == "ent-a"
    assert "cn-gongmao" in first["profiles"]
    again = c.get(f"/api/v1/sync/reference?cursor={first['cursor']}", headers=dh).json()
    assert again["items"] == [] and again["enterprise"] is None
    assert c.delete("/api/v1/enterprises/ent-a/people/p-1", headers=h).status_code == 204
    later = c.get(f"/api/v1/sync/reference?cursor={first['cursor']}", headers=dh).json()
    assert later["items"] == [
        {
            "kind": "people",
            "item_id": "p-1",
            "deleted": True,
            "data": None,
            "rev": later["items"][0]["rev"],
        }
    ]


def test_unknown_kind_and_bad_cursor_are_422(world: World) -> None:
    c = world.client
    r = c.put("/api/v1/enterprises/ent-a/rockets/x", json={}, headers=world.h("a-admin"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    dev = enroll(world)
    r = c.get(
        "/api/v1/sync/reference?cursor=-1", headers={"Authorization": f"Bearer {dev['token']}"}
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "query.cursor"


def test_core_model_validation_names_the_field(world: World) -> None:
    bad = {**LEDGER_SPACE, "required_channels": []}
    r = world.client.put(
        "/api/v1/enterprises/ent-a/spaces/T-1", json=bad, headers=world.h("a-admin")
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "required_channels"
    r = world.client.put(
        "/api/v1/enterprises/ent-a/spaces/T-1",
        json={**LEDGER_SPACE, "enterprise_id": "ent-b"},
        headers=world.h("a-admin"),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "ID_MISMATCH"


def test_space_without_warning_sign_files_a_mem10_hazard_once(world: World) -> None:
    h = world.h("a-admin")
    no_sign = {**LEDGER_SPACE, "warning_sign_present": False}
    world.client.put("/api/v1/enterprises/ent-a/spaces/T-3", json=no_sign, headers=h)
    world.client.put("/api/v1/enterprises/ent-a/spaces/T-3", json=no_sign, headers=h)
    items = world.client.get("/api/v1/hazards?source=automatic", headers=h).json()["items"]
    assert [(i["space_id"], i["rule_code"], i["category"]) for i in items] == [
        ("T-3", "LEDGER_NO_WARNING_SIGN", "MEM10 Art. 13 (一)")
    ]

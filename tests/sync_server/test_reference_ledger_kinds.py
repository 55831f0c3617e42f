"""The ledger kinds issue 14 adds: written delegations, the enterprise's default profile,
one profile override per base profile, a space's profile; checked by the core's models."""

from __future__ import annotations

from tests.sync_server.conftest import LEDGER_SPACE, World
from tests.sync_server.test_auth import enroll

DELEGATION = {
    "delegator": "p-boss",
    "delegate": "p-deputy",
    "space_ids": ["T-1"],
    "valid_from": "2026-11-01",
    "valid_until": "2026-12-31",
    "document_ref": "委托书 2026-11",
}


def test_a_written_delegation_is_validated_stored_and_pulled(world: World) -> None:
    c, h = world.client, world.h("a-admin")
    url = "/api/v1/enterprises/ent-a/delegations/D-1"
    r = c.put(url, json=DELEGATION, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["data"]["enterprise_id"] == "ent-a"
    backwards = c.put(url, json={**DELEGATION, "valid_until": "2026-10-01"}, headers=h)
    assert backwards.status_code == 422 and backwards.json()["error"]["field"] == "delegations"
    to_self = c.put(url, json={**DELEGATION, "delegate": "p-boss"}, headers=h)
    assert to_self.status_code == 422
    # The refused edits left the stored delegation as it was.
    assert c.get(url, headers=h).json()["data"]["valid_until"] == "2026-12-31"
    dev = enroll(world)
    pulled = c.get(
        "/api/v1/sync/reference", headers={"Authorization": f"Bearer {dev['token']}"}
    ).json()
    (item,) = [i for i in pulled["items"] if i["kind"] == "delegations"]
    assert item["item_id"] == "D-1" and item["data"]["delegate"] == "p-deputy"


def test_the_default_profile_names_a_known_profile(world: World) -> None:
    c, h = world.client, world.h("a-admin")
    ok = c.put(
        "/api/v1/enterprises/ent-a/default-profile/default",
        json={"profile": "cn-gb30871-2022"},
        headers=h,
    )
    assert ok.status_code == 201, ok.text
    unknown = c.put(
        "/api/v1/enterprises/ent-a/default-profile/default", json={"profile": "x"}, headers=h
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "PROFILE_UNKNOWN"
    other_id = c.put(
        "/api/v1/enterprises/ent-a/default-profile/spare",
        json={"profile": "cn-gongmao"},
        headers=h,
    )
    assert other_id.status_code == 422 and other_id.json()["error"]["code"] == "ID_MISMATCH"


def test_one_override_per_base_profile(world: World) -> None:
    c, h = world.client, world.h("a-admin")
    body = {"base": "cn-gongmao", "override": {"test_max_age": {"minutes": 20}}}
    assert c.put("/api/v1/enterprises/ent-a/profile-overrides/a", json=body, headers=h).is_success
    # Editing the same override is fine; a second one for the same base is not.
    assert c.put("/api/v1/enterprises/ent-a/profile-overrides/a", json=body, headers=h).is_success
    r = c.put("/api/v1/enterprises/ent-a/profile-overrides/b", json=body, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "PROFILE_OVERRIDE_DUPLICATE"


def test_a_space_may_name_its_profile(world: World) -> None:
    c, h = world.client, world.h("a-admin")
    url = "/api/v1/enterprises/ent-a/spaces/T-9"
    ok = c.put(url, json={**LEDGER_SPACE, "profile": "cn-gb30871-2022"}, headers=h)
    assert ok.status_code == 201 and ok.json()["data"]["profile"] == "cn-gb30871-2022"
    bad = c.put(url, json={**LEDGER_SPACE, "profile": "acme"}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "profile"

"""One-time sign-on codes over HTTP against the real app: issued by the enterprise
admin, traded once by a tablet for the hash of the PIN the person chose; wrong, used,
expired, revoked and another enterprise's codes refused; guessing throttled. And the
enrolment codes listed and revoked, the tablets' last sync (docs/server.md)."""

from __future__ import annotations

import base64
import re
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from permits.reference import hash_pin, verify_pin
from sync_server.schema import signon_codes
from sync_server.services import enrolments

from .conftest import World, person

CODE = re.compile(r"^[A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5}$")


def _device(w: World, admin: str, name: str) -> None:
    """Enrol a tablet with ``admin``'s code; its token is ``w.tokens[name]``."""
    code = w.client.post("/api/v1/enrollments", json={"label": name}, headers=w.h(admin))
    assert code.status_code == 201, code.text
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    r = w.client.post(
        "/api/v1/devices",
        json={"code": code.json()["code"], "public_key": base64.b64encode(raw).decode()},
    )
    assert r.status_code == 201, r.text
    w.tokens[name] = r.json()["token"]


def _people(w: World) -> None:
    for eid, admin, pid, name in (
        ("ent-a", "a-admin", "P-LI", "李明"),
        ("ent-a", "a-admin", "P-WANG", "王芳"),
        ("ent-b", "b-admin", "P-ZHAO", "赵强"),
    ):
        r = w.client.put(
            f"/api/v1/enterprises/{eid}/people/{pid}", json=person(name, eid), headers=w.h(admin)
        )
        assert r.status_code == 201, r.text


def _issue(w: World, pid: str = "P-LI", admin: str = "a-admin", eid: str = "ent-a") -> Any:
    r = w.client.post(f"/api/v1/enterprises/{eid}/people/{pid}/signon-codes", headers=w.h(admin))
    assert r.status_code == 201, r.text
    return r.json()


def _redeem(w: World, device: str, code: str, pid: str = "P-LI", pin_hash: str = "") -> Any:
    body = {"code": code, "person_id": pid, "pin_hash": pin_hash or hash_pin("482916")}
    return w.client.post("/api/v1/signon", json=body, headers=w.h(device))


def test_a_code_is_issued_once_and_traded_for_the_persons_own_pin(world: World, app: Any) -> None:
    w = world
    _people(w)
    _device(w, "a-admin", "tab-1")
    issued = _issue(w)
    assert CODE.match(issued["code"]) and issued["state"] == "issued"
    assert issued["person_name"] == "李明"
    listed = w.client.get("/api/v1/enterprises/ent-a/signon-codes", headers=w.h("a-admin")).json()
    assert [c["state"] for c in listed] == ["issued"]
    assert issued["code"] not in str(listed)  # shown once, never listed
    with app.state.engine.connect() as conn:
        stored = [dict(r._mapping) for r in conn.execute(sa.select(signon_codes))]
    assert issued["code"] not in str(stored)
    assert issued["code"].replace("-", "") not in str(stored)  # only its digest

    pin_hash = hash_pin("482916")
    # typed in lower case with a space, as a person might
    r = _redeem(w, "tab-1", issued["code"].lower().replace("-", " "), pin_hash=pin_hash)
    assert r.status_code == 200, r.text
    assert r.json() == {"person_id": "P-LI", "name": "李明"}
    li = w.client.get("/api/v1/enterprises/ent-a/people/P-LI", headers=w.h("a-admin")).json()
    assert li["data"]["pin_hash"] == pin_hash and verify_pin("482916", li["data"]["pin_hash"])
    # the tablets pull it with the ledger
    pulled = w.client.get("/api/v1/sync/reference", headers=w.h("tab-1")).json()
    (item,) = [i for i in pulled["items"] if i["item_id"] == "P-LI"]
    assert item["data"]["pin_hash"] == pin_hash
    history = w.client.get(
        "/api/v1/enterprises/ent-a/people/P-LI/history", headers=w.h("a-admin")
    ).json()
    assert history[-1]["changed_by"] == "tab-1"  # who set it: the tablet, by its label
    listed = w.client.get("/api/v1/enterprises/ent-a/signon-codes", headers=w.h("a-admin")).json()
    assert [c["state"] for c in listed] == ["used"] and listed[0]["used_at"]

    again = _redeem(w, "tab-1", issued["code"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "SIGNON_CODE_USED"
    li_after = w.client.get("/api/v1/enterprises/ent-a/people/P-LI", headers=w.h("a-admin"))
    assert li_after.json()["data"]["pin_hash"] == pin_hash  # nothing changed by the refusal


def test_wrong_another_persons_and_another_enterprises_codes_read_the_same(
    world: World,
) -> None:
    w = world
    _people(w)
    _device(w, "a-admin", "tab-a")
    _device(w, "b-admin", "tab-b")
    li = _issue(w)["code"]
    for device, code, pid in (
        ("tab-a", "ABCDE-FGHJK", "P-LI"),  # no such code
        ("tab-a", li, "P-WANG"),  # 李明's code for 王芳
        ("tab-b", li, "P-LI"),  # enterprise A's code on enterprise B's tablet
    ):
        r = _redeem(w, device, code, pid)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "SIGNON_CODE_INVALID"
        assert r.json()["error"]["field"] == "code"
    people = w.client.get("/api/v1/enterprises/ent-a/people", headers=w.h("a-admin")).json()
    assert all(not p["data"].get("pin_hash") for p in people)
    # still good for its own person on its own enterprise's tablet
    assert _redeem(w, "tab-a", li).status_code == 200


def test_expired_and_replaced_codes_are_refused(world: World, app: Any) -> None:
    w = world
    _people(w)
    _device(w, "a-admin", "tab-1")
    old = _issue(w)
    new = _issue(w)  # a reset: the older code is revoked
    states = {
        c["code_id"]: c["state"]
        for c in w.client.get(
            "/api/v1/enterprises/ent-a/signon-codes", headers=w.h("a-admin")
        ).json()
    }
    assert states == {old["code_id"]: "revoked", new["code_id"]: "issued"}
    r = _redeem(w, "tab-1", old["code"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "SIGNON_CODE_REVOKED"

    with app.state.engine.begin() as conn:
        conn.execute(
            signon_codes.update()
            .where(signon_codes.c.code_id == new["code_id"])
            .values(expires_at="2020-01-01T00:00:00.000000+00:00")
        )
    r = _redeem(w, "tab-1", new["code"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "SIGNON_CODE_EXPIRED"

    wang = _issue(w, "P-WANG")
    gone = w.client.delete(
        f"/api/v1/enterprises/ent-a/signon-codes/{wang['code_id']}", headers=w.h("a-admin")
    )
    assert gone.status_code == 204
    r = _redeem(w, "tab-1", wang["code"], "P-WANG")
    assert r.status_code == 422 and r.json()["error"]["code"] == "SIGNON_CODE_REVOKED"
    twice = w.client.delete(
        f"/api/v1/enterprises/ent-a/signon-codes/{wang['code_id']}", headers=w.h("a-admin")
    )
    assert twice.status_code == 404


def test_guessing_is_throttled_per_tablet(world: World) -> None:
    w = world
    _people(w)
    _device(w, "a-admin", "tab-1")
    _device(w, "a-admin", "tab-2")
    good = _issue(w)["code"]
    pin_hash = hash_pin("482916")
    for i in range(5):
        r = _redeem(w, "tab-1", f"WRONG-CODE{i}", pin_hash=pin_hash)
        assert r.status_code == 422, (i, r.text)
    r = _redeem(w, "tab-1", good, pin_hash=pin_hash)  # even the right code waits now
    assert r.status_code == 429 and r.json()["error"]["code"] == "SIGNON_THROTTLED"
    assert int(r.headers["Retry-After"]) >= 1
    # another tablet of the enterprise is not locked by this one's guesses
    assert _redeem(w, "tab-2", good, pin_hash=pin_hash).status_code == 200


def test_only_a_hash_by_the_cores_rule_is_taken(world: World) -> None:
    w = world
    _people(w)
    _device(w, "a-admin", "tab-1")
    code = _issue(w)["code"]
    good = hash_pin("1234")
    weak = good.replace("m=19456", "m=8")
    assert weak != good  # the core's memory cost, lowered
    for bad in (
        "482916",
        "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        weak,
    ):
        r = _redeem(w, "tab-1", code, pin_hash=bad)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] in ("PIN_HASH_INVALID", "VALIDATION_ERROR")
    # none of those used the code up
    assert _redeem(w, "tab-1", code).status_code == 200


def test_who_may_issue_list_and_redeem(world: World) -> None:
    w = world
    _people(w)
    _device(w, "a-admin", "tab-1")
    url = "/api/v1/enterprises/ent-a/people/P-LI/signon-codes"
    assert w.client.post(url, headers=w.h("b-admin")).status_code == 404  # another tenant
    assert w.client.post(url, headers=w.h("bureau")).status_code == 403  # sees, may not
    assert w.client.post(url, headers=w.h("tab-1")).status_code == 403  # a tablet
    assert w.client.post(url, headers=w.h("op")).status_code == 201  # the operator may
    missing = "/api/v1/enterprises/ent-a/people/P-NOBODY/signon-codes"
    assert w.client.post(missing, headers=w.h("a-admin")).status_code == 404
    listing = "/api/v1/enterprises/ent-a/signon-codes"
    assert w.client.get(listing, headers=w.h("b-admin")).status_code == 404
    code = _issue(w)["code"]
    r = w.client.post(
        "/api/v1/signon",
        json={"code": code, "person_id": "P-LI", "pin_hash": hash_pin("482916")},
        headers=w.h("a-admin"),
    )
    assert r.status_code == 403  # only a tablet trades a code


def test_enrolment_codes_listed_and_revoked_and_tablets_last_sync(world: World, app: Any) -> None:
    w = world
    made = w.client.post(
        "/api/v1/enrollments", json={"label": "1号糖罐入口平板"}, headers=w.h("a-admin")
    )
    pending = w.client.get("/api/v1/enrollments?pending=true", headers=w.h("a-admin")).json()
    assert [(c["label"], c["state"]) for c in pending] == [("1号糖罐入口平板", "pending")]
    assert made.json()["code"] not in str(pending)
    assert w.client.get("/api/v1/enrollments", headers=w.h("b-admin")).json() == []
    code_id = pending[0]["code_id"]
    other = w.client.delete(f"/api/v1/enrollments/{code_id}", headers=w.h("b-admin"))
    assert other.status_code == 404  # not B's to revoke
    gone = w.client.delete(f"/api/v1/enrollments/{code_id}", headers=w.h("a-admin"))
    assert gone.status_code == 204
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    r = w.client.post(
        "/api/v1/devices",
        json={"code": made.json()["code"], "public_key": base64.b64encode(raw).decode()},
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "ENROLLMENT_CODE_REVOKED"
    assert w.client.get("/api/v1/enrollments?pending=true", headers=w.h("a-admin")).json() == []

    _device(w, "a-admin", "tab-1")
    w.client.get("/api/v1/sync/reference", headers=w.h("tab-1"))
    with app.state.engine.connect() as conn:
        (tablet,) = enrolments.device_list(conn, "ent-a")
    assert tablet["label"] == "tab-1" and tablet["state"] == "active"
    assert tablet["last_sync_at"] and tablet["ledger_age_days"] < 0.01
    assert tablet["ledger_stale"] is False


def test_the_migration_gives_older_enrolment_codes_an_id_and_goes_back(empty_db: str) -> None:
    from sync_server.storage import make_engine, migrate

    engine = make_engine(empty_db)
    try:
        migrate(engine, "0005")
        old = sa.table(
            "enrollment_codes",
            *(sa.column(c) for c in ("code_hash", "enterprise_id", "created_by", "label")),
            *(sa.column(c) for c in ("created_at", "expires_at", "used_at", "device_id")),
        )
        with engine.begin() as conn:
            conn.execute(
                old.insert().values(
                    code_hash="ab" * 32, enterprise_id="ent-a", created_by="x", label="旧平板",
                    created_at="2026-12-01T00:00:00+00:00",
                    expires_at="2099-12-01T00:00:00+00:00", used_at=None, device_id=None,
                )
            )  # fmt: skip
        migrate(engine)
        with engine.connect() as conn:
            (codes,) = enrolments.codes_of(conn, "ent-a")
        assert codes["code_id"] and codes["state"] == "pending" and codes["label"] == "旧平板"
        migrate(engine, "0005", down=True)
        names = sa.inspect(engine).get_table_names()
        assert "signon_codes" not in names
        columns = {c["name"] for c in sa.inspect(engine).get_columns("enrollment_codes")}
        assert "code_id" not in columns and "revoked_at" not in columns
        migrate(engine)
    finally:
        engine.dispose()


def test_the_codes_rules_come_from_the_data_file_with_their_reason() -> None:
    import tomllib

    from sync_server.services import signon_codes as signon

    data = tomllib.loads(signon.DATA.read_text("utf-8"))
    assert data["lifetime"]["reason"].strip()  # a number with its reason
    rules = signon.rules()
    assert rules.lifetime.total_seconds() == data["lifetime"]["hours"] * 3600
    codes = {signon.new_code() for _ in range(200)}
    assert len(codes) == 200  # random, not repeating
    for code in codes:
        raw = code.replace("-", "")
        assert len(raw) == rules.length and set(raw) <= set(rules.alphabet)
        assert not set(raw) & set("IO01")  # nothing to misread on paper
    assert signon.check_pin_hash(hash_pin("0000")).startswith("$argon2id$")


def test_a_deleted_persons_old_code_is_listed_under_their_name(world: World) -> None:
    w = world
    _people(w)
    _issue(w, "P-WANG")
    gone = w.client.delete("/api/v1/enterprises/ent-a/people/P-WANG", headers=w.h("a-admin"))
    assert gone.status_code in (200, 204), gone.text
    listed = w.client.get("/api/v1/enterprises/ent-a/signon-codes", headers=w.h("a-admin")).json()
    assert [c["person_name"] for c in listed] == ["王芳"]  # a name, never the id P-WANG

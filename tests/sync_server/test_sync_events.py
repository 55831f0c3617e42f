"""Pushing permit event chains: per-event results, idempotency, forgery, forks, skew."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.sync_server.chains import cancelled, drafted, enroll_tablet, filler, simple_permit
from tests.sync_server.conftest import World


def push(world: World, tablet, events):  # type: ignore[no-untyped-def]
    return world.client.post("/api/v1/sync/events", json={"events": events}, headers=tablet.headers)


def test_accepted_then_duplicate_on_resend(world: World) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    evs = simple_permit(tab, "P-1")
    r = push(world, tab, evs)
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == ["accepted", "accepted"]
    r = push(world, tab, evs)
    assert [x["status"] for x in r.json()["results"]] == ["duplicate", "duplicate"]
    assert r.json()["accepted"] == 0 and r.json()["duplicate"] == 2


def test_forged_signature_is_rejected_and_earlier_events_kept(world: World) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    evs = simple_permit(tab, "P-2")
    evs.append(tab.event("P-2", filler(1)))
    forged = copy.deepcopy(evs)
    forged[1]["sig"] = forged[0]["sig"]
    r = push(world, tab, forged)
    statuses = [(x["status"], x.get("code")) for x in r.json()["results"]]
    assert statuses[0] == ("accepted", None)
    assert statuses[1][0] == "rejected" and statuses[1][1] == "BAD_SIGNATURE"
    assert statuses[2] == ("rejected", "PREDECESSOR_REJECTED")
    # The genuine events still go in afterwards: nothing of the forged one was stored.
    r = push(world, tab, evs)
    assert [x["status"] for x in r.json()["results"]] == ["duplicate", "accepted", "accepted"]


def test_tampered_payload_fails_the_hash(world: World) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    evs = simple_permit(tab, "P-3")
    evs[0]["payload"]["work_description"] = "something else"
    r = push(world, tab, evs)
    assert r.json()["results"][0]["status"] == "rejected"
    assert r.json()["results"][0]["code"] == "BAD_HASH"


def test_fork_is_stored_as_version_conflict(world: World) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    evs = simple_permit(tab, "P-4")
    assert push(world, tab, evs).json()["accepted"] == 2
    # Rewind the tablet's head and write a different seq 2.
    tab.heads["P-4"] = (1, evs[0]["hash"])
    fork = tab.event("P-4", cancelled())
    r = push(world, tab, [fork]).json()["results"][0]
    assert r["status"] == "rejected" and r["code"] == "VERSION_CONFLICT"
    assert r["conflict_id"]
    trace = world.client.get("/api/v1/permits/P-4", headers=world.h("a-admin")).json()
    assert [c["incoming_hash"] for c in trace["conflicts"]] == [fork["hash"]]
    assert "VERSION_CONFLICT" in trace["permit"]["anomalies"]
    # Pushing the fork again does not store it twice.
    again = push(world, tab, [fork]).json()["results"][0]
    assert again["conflict_id"] == r["conflict_id"]
    # The bureau sees it in the review queue and marks it reviewed; B's admin cannot.
    queue = world.client.get("/api/v1/conflicts", headers=world.h("bureau")).json()
    assert [c["conflict_id"] for c in queue] == [r["conflict_id"]]
    assert world.client.get("/api/v1/conflicts", headers=world.h("b-admin")).json() == []
    url = f"/api/v1/conflicts/{r['conflict_id']}/review"
    assert world.client.post(url, json={"note": "x"}, headers=world.h("b-admin")).status_code == 404
    done = world.client.post(
        url, json={"note": "tablet restored from an old backup"}, headers=world.h("bureau")
    )
    assert done.status_code == 200 and done.json()["status"] == "reviewed"
    assert world.client.get("/api/v1/conflicts", headers=world.h("bureau")).json() == []


def test_gap_wrong_device_and_other_tenant(world: World) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    tab_b = enroll_tablet(world.client, world.h("b-admin"))
    evs = simple_permit(tab, "P-5")
    r = push(world, tab, [evs[1]]).json()["results"][0]
    assert (r["status"], r["code"]) == ("rejected", "CHAIN_GAP")
    # B's tablet pushing A's events (signed by A's device): refused, not stored.
    r = push(world, tab_b, evs).json()["results"]
    assert [x["code"] for x in r] == ["ENTERPRISE_MISMATCH", "DEVICE_MISMATCH"]
    assert push(world, tab, evs).json()["accepted"] == 2
    # B's tablet writing on after A's head of permit id P-5: B holds no P-5 of its own
    # (ids are the enterprise's own, migration 0006), so seq 3 is a gap; A's is untouched.
    tab_b.heads["P-5"] = (2, evs[1]["hash"])
    r = push(world, tab_b, [tab_b.event("P-5", cancelled())]).json()["results"][0]
    assert (r["status"], r["code"]) == ("rejected", "CHAIN_GAP")
    held = world.client.get("/api/v1/permits/P-5", headers=world.h("a-admin")).json()
    assert [e["seq"] for e in held["events"]] == [1, 2]
    assert world.client.get("/api/v1/permits/P-5", headers=world.h("b-admin")).status_code == 404


def test_clock_ahead_is_flagged_not_corrected(world: World) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    future = datetime.now(UTC) + timedelta(hours=3)
    ev = tab.event("P-6", drafted("ent-a"), at=future)
    r = push(world, tab, [ev]).json()["results"][0]
    assert r["status"] == "accepted" and r["clock_flag"] == "CLOCK_AHEAD"
    trace = world.client.get("/api/v1/permits/P-6", headers=world.h("a-admin")).json()
    assert trace["events"][0]["occurred_at"] == ev["occurred_at"]
    assert "CLOCK_AHEAD" in trace["permit"]["anomalies"]


def test_oversized_batch_is_413_and_malformed_json_400(world: World) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    r = world.client.post("/api/v1/sync/events", json={"events": [{}] * 501}, headers=tab.headers)
    assert r.status_code == 413 and r.json()["error"]["code"] == "BATCH_TOO_LARGE"
    r = world.client.post("/api/v1/sync/events", content=b"{nope", headers=tab.headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "MALFORMED_JSON"
    r = world.client.post(
        "/api/v1/sync/events", json={"events": [{"seq": "one"}]}, headers=tab.headers
    )
    res = r.json()["results"][0]
    assert res["status"] == "rejected" and res["code"] == "EVENT_INVALID"


def test_people_cannot_push_events(world: World) -> None:
    r = world.client.post("/api/v1/sync/events", json={"events": []}, headers=world.h("a-admin"))
    assert r.status_code == 403


def test_chunks_are_content_addressed_and_idempotent(world: World) -> None:
    import hashlib

    tab = enroll_tablet(world.client, world.h("a-admin"))
    data = b"\x00\x01readings" * 100
    digest = hashlib.sha256(data).hexdigest()
    url = f"/api/v1/sync/chunks/{digest}"
    r = world.client.put(url, content=data, headers=tab.headers)
    assert r.status_code == 201 and r.json()["status"] == "stored"
    r = world.client.put(url, content=data, headers=tab.headers)
    assert r.status_code == 200 and r.json()["status"] == "duplicate"
    bad = world.client.put(f"/api/v1/sync/chunks/{'0' * 64}", content=data, headers=tab.headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "HASH_MISMATCH"
    got = world.client.get(url, headers=world.h("a-admin"))
    assert got.content == data
    assert world.client.get(url, headers=world.h("b-admin")).status_code == 404


def test_entry_without_approval_files_automatic_hazards_and_is_kept(world: World) -> None:
    from permits.events import EntrantEntered

    tab = enroll_tablet(world.client, world.h("a-admin"))
    evs = [
        tab.event("P-7", drafted("ent-a")),
        tab.event("P-7", EntrantEntered(entrant_id="p-entrant")),
    ]
    r = push(world, tab, evs).json()
    assert r["accepted"] == 2  # signed facts from the site are kept, never dropped
    trace = world.client.get("/api/v1/permits/P-7", headers=world.h("bureau")).json()
    codes = {f["code"] for f in trace["findings"]}
    assert {
        "ENTRY_WITHOUT_APPROVAL",
        "ENTRY_WITHOUT_PASSING_TEST",
        "ENTRY_WITHOUT_GUARDIAN",
    } <= codes
    hazards = world.client.get(
        "/api/v1/hazards?source=automatic", headers=world.h("bureau")
    ).json()["items"]
    assert {h["rule_code"] for h in hazards if h["permit_id"] == "P-7"} >= {
        "ENTRY_WITHOUT_APPROVAL",
        "ENTRY_WITHOUT_GUARDIAN",
    }
    assert all(
        h["category"] == "MEM10 Art. 13 (二)"
        for h in hazards
        if h["rule_code"].startswith("ENTRY_WITHOUT")
    )
    # Pushing the same chain again files nothing twice.
    push(world, tab, evs)
    again = world.client.get("/api/v1/hazards?source=automatic", headers=world.h("bureau")).json()[
        "total"
    ]
    assert again == len(hazards)


def test_export_verifies_offline_with_the_core(world: World) -> None:
    from permits.attestation import Anchor, verify_anchored
    from permits.integrity import read_export, verify_chain

    tab = enroll_tablet(world.client, world.h("a-admin"))
    push(world, tab, simple_permit(tab, "P-8"))
    data = world.client.get("/api/v1/permits/P-8/export.json", headers=world.h("bureau")).json()
    assert set(data) == {"permit_id", "events", "devices", "head", "attestation"}
    export = read_export(data)
    verified = verify_chain(export.events, export.devices)
    assert verified.valid
    server_key = world.client.get("/api/v1/server-key").json()["public_key"]
    attested = verify_anchored(export, Anchor(server_keys=(server_key,)))
    assert attested.valid and attested.head_hash == verified.head_hash
    statement = data["attestation"]["statement"]
    assert [d["device_id"] for d in statement["devices"]] == [tab.device_id]
    assert statement["head"] == data["head"] and statement["permit_id"] == "P-8"
    assert export.head == (len(export.events), verified.head_hash)
    data["events"][0]["payload"]["work_description"] = "edited afterwards"
    tampered = verify_chain(data["events"], data["devices"])
    assert not tampered.valid and tampered.code == "BAD_HASH" and tampered.seq == 1


def test_signed_handover_lets_a_second_tablet_continue(world: World) -> None:
    from permits.events import DeviceHandover

    first = enroll_tablet(world.client, world.h("a-admin"))
    second = enroll_tablet(world.client, world.h("a-admin"))
    evs = simple_permit(first, "P-9")
    evs.append(
        first.event(
            "P-9",
            DeviceHandover(to_device_id=second.device_id, to_public_key=second.public_key_b64),
        )
    )
    assert push(world, first, evs).json()["accepted"] == 3
    chain = world.client.get("/api/v1/sync/permits/P-9/events", headers=second.headers).json()
    second.heads["P-9"] = (len(chain["events"]), chain["events"][-1]["hash"])
    nxt = second.event("P-9", filler(1))
    r = push(world, second, [nxt]).json()["results"][0]
    assert r["status"] == "accepted", r
    # The old tablet no longer holds the permit.
    first.heads["P-9"] = second.heads["P-9"]
    late = first.event("P-9", filler(2))
    r = push(world, first, [late]).json()["results"][0]
    assert (r["status"], r["code"]) == ("rejected", "BAD_DEVICE")


def test_revoked_devices_events_stay_verifiable(world: World) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    push(world, tab, simple_permit(tab, "P-10"))
    world.client.delete(f"/api/v1/devices/{tab.device_id}", headers=world.h("a-admin"))
    r = push(world, tab, [tab.event("P-10", filler(1))])
    assert r.status_code == 401
    trace = world.client.get("/api/v1/permits/P-10", headers=world.h("a-admin")).json()
    assert trace["verification"]["ok"] is True


def test_a_fork_with_a_junk_hash_or_signature_is_not_kept(world: World) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    evs = simple_permit(tab, "P-JUNK")
    assert push(world, tab, evs).json()["accepted"] == 2
    tab.heads["P-JUNK"] = (1, evs[0]["hash"])
    fork = tab.event("P-JUNK", cancelled())
    for junk in ({**fork, "sig": evs[1]["sig"]}, {**fork, "hash": "0" * 64}):
        r = push(world, tab, [junk]).json()["results"][0]
        assert (r["status"], r["code"]) == ("rejected", "BAD_SIGNATURE"), r
    trace = world.client.get("/api/v1/permits/P-JUNK", headers=world.h("a-admin")).json()
    assert trace["conflicts"] == [] and "VERSION_CONFLICT" not in trace["permit"]["anomalies"]


def test_forks_past_the_cap_are_refused_and_the_permit_flagged(world: World, app: Any) -> None:
    app.state.settings.max_conflicts_per_permit = 2
    tab = enroll_tablet(world.client, world.h("a-admin"))
    evs = simple_permit(tab, "P-CAP")
    assert push(world, tab, evs).json()["accepted"] == 2
    codes = []
    for n in range(4):
        tab.heads["P-CAP"] = (1, evs[0]["hash"])
        fork = tab.event("P-CAP", cancelled(f"fork {n}"))
        codes.append(push(world, tab, [fork]).json()["results"][0]["code"])
    assert codes == ["VERSION_CONFLICT", "VERSION_CONFLICT", "CONFLICT_LIMIT", "CONFLICT_LIMIT"]
    trace = world.client.get("/api/v1/permits/P-CAP", headers=world.h("bureau")).json()
    assert len(trace["conflicts"]) == 2
    assert {"VERSION_CONFLICT", "CONFLICT_LIMIT"} <= set(trace["permit"]["anomalies"])

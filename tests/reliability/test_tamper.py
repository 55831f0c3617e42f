"""Tampering with stored evidence is found: events modified, deleted, reordered or
inserted straight in the server database (someone with the database file, not the
API), readings chunks deleted, and the same edits made to an exported chain that
``cspermit permit verify`` checks offline.

The trace (``GET /api/v1/permits/{id}``) must answer ``verification.ok = false`` naming
the first bad event; the trace page shows that block (see docs/reliability.md)."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from permits.events import ReadingsChunkRecorded, parse_event
from permits.integrity import event_hash, seal
from sync_server.schema import blobs, events
from tests.sync_server.chains import Tablet, enroll_tablet, filler, simple_permit
from tests.sync_server.conftest import World

PERMIT = "TAMPER-1"
CHUNK = b'{"readings": [["O2", 20.9], ["H2S", 0.0]]}'


def _push(world: World, tab: Tablet, evs: list[dict[str, Any]]) -> None:
    r = world.client.post("/api/v1/sync/events", json={"events": evs}, headers=tab.headers)
    assert r.status_code == 200 and r.json()["accepted"] == len(evs), r.text


def _chunk_event(tab: Tablet) -> dict[str, Any]:
    now = datetime.now(UTC) - timedelta(minutes=4)
    return tab.event(
        PERMIT,
        ReadingsChunkRecorded(
            sha256=hashlib.sha256(CHUNK).hexdigest(),
            detector_serial="GASL-0A17",
            start=now - timedelta(minutes=1),
            end=now,
            channels=("O2", "H2S"),
            values=2,
        ),
    )


@pytest.fixture
def stored(world: World, app: Any) -> tuple[World, Tablet, Any]:
    """A four-event permit with one readings chunk held by the server."""
    tab = enroll_tablet(world.client, world.h("a-admin"))
    evs = [*simple_permit(tab, PERMIT), tab.event(PERMIT, filler(1)), _chunk_event(tab)]
    _push(world, tab, evs)
    r = world.client.put(
        f"/api/v1/sync/chunks/{hashlib.sha256(CHUNK).hexdigest()}",
        content=CHUNK,
        headers=tab.headers,
    )
    assert r.status_code == 201, r.text
    engine = app.state.engine
    return world, tab, engine


def _trace(world: World) -> dict[str, Any]:
    r = world.client.get(f"/api/v1/permits/{PERMIT}", headers=world.h("bureau"))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _body(engine: Any, seq: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(events.c.body).where(events.c.permit_id == PERMIT, events.c.seq == seq)
        ).one()
    return dict(row.body)


def _set(engine: Any, seq: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(
            events.update()
            .where(events.c.permit_id == PERMIT, events.c.seq == seq)
            .values(**values)
        )


def _modify_payload(engine: Any, tab: Tablet) -> int:
    body = _body(engine, 3)
    body["payload"]["hazard"] = "nothing to see here"
    _set(engine, 3, body=body)
    return 3


def _modify_and_rehash(engine: Any, tab: Tablet) -> int:
    # A careful forger recomputes the hash; only the device's signature stops them.
    body = _body(engine, 3)
    body["payload"]["hazard"] = "nothing to see here"
    ev = parse_event(body)
    body["hash"] = event_hash(ev)
    _set(engine, 3, body=body, hash=body["hash"])
    return 3


def _delete_middle(engine: Any, tab: Tablet) -> int:
    with engine.begin() as conn:
        conn.execute(events.delete().where(events.c.permit_id == PERMIT, events.c.seq == 2))
    return 3  # the event now standing where seq 2 should be


def _reorder(engine: Any, tab: Tablet) -> int:
    b2, b3 = _body(engine, 2), _body(engine, 3)
    with engine.begin() as conn:
        # Move seq 2 aside first: (permit_id, seq) is unique.
        conn.execute(
            events.update().where(events.c.permit_id == PERMIT, events.c.seq == 2).values(seq=-2)
        )
        conn.execute(
            events.update().where(events.c.permit_id == PERMIT, events.c.seq == 3).values(seq=2)
        )
        conn.execute(
            events.update().where(events.c.permit_id == PERMIT, events.c.seq == -2).values(seq=3)
        )
    # The bodies keep their own seq fields: swap them too, as a forger would.
    b2["seq"], b3["seq"] = 3, 2
    _set(engine, 2, body=b3)
    _set(engine, 3, body=b2)
    return 2


def _insert_forged(engine: Any, tab: Tablet) -> int:
    # An extra event sealed with a key that is not the enrolled one, under the tablet's id.
    forger = Tablet(device_id=tab.device_id, enterprise_id=tab.enterprise_id)
    forger.heads = dict(tab.heads)
    ev = forger.event(PERMIT, filler(99))
    _insert(engine, ev, tab.enterprise_id)
    return 5


def _insert_from_other_tablet(engine: Any, tab: Tablet, other: Tablet) -> int:
    # Signed by a real, enrolled tablet of the same enterprise, but not the permit's writer.
    other.heads = dict(tab.heads)
    ev = other.event(PERMIT, filler(98))
    _insert(engine, ev, tab.enterprise_id)
    return 5


def _insert(engine: Any, ev: dict[str, Any], enterprise_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            events.insert().values(
                event_id=ev["event_id"],
                enterprise_id=enterprise_id,
                permit_id=PERMIT,
                seq=ev["seq"],
                type=ev["type"],
                occurred_at=datetime.fromisoformat(ev["occurred_at"]),
                received_at=datetime.now(UTC),
                device_id=ev["device_id"],
                actor=ev["actor"],
                hash=ev["hash"],
                body=ev,
            )
        )


def _resign_rewritten(engine: Any, tab: Tablet) -> int:
    # Rewrite history from seq 2 on with a stolen *unenrolled* key: every link recomputes.
    thief = Tablet(device_id=tab.device_id, enterprise_id=tab.enterprise_id)
    from permits.integrity import DeviceKey

    prev = _body(engine, 1)["hash"]
    for seq in (2, 3, 4):
        ev = parse_event(_body(engine, seq))
        ev = ev.model_copy(update={"hash": None, "sig": None, "prev_hash": None})
        sealed = seal(ev, prev, DeviceKey(tab.device_id, thief.key))
        assert sealed.hash is not None
        _set(engine, seq, body=sealed.to_json(), hash=sealed.hash)
        prev = sealed.hash
    return 2


def _unparseable(engine: Any, tab: Tablet) -> int:
    # A body that is no longer an event at all: the trace names it, it does not fail.
    body = _body(engine, 3)
    body["type"] = "no_such_event"
    _set(engine, 3, body=body)
    return 3


TAMPERS: dict[str, Callable[[Any, Tablet], int]] = {
    "modified payload": _modify_payload,
    "modified payload, hash recomputed": _modify_and_rehash,
    "deleted middle event": _delete_middle,
    "reordered events": _reorder,
    "inserted forged event": _insert_forged,
    "history rewritten with another key": _resign_rewritten,
    "body no longer an event": _unparseable,
}


@pytest.mark.parametrize("how", list(TAMPERS))
def test_server_database_tamper_is_flagged_on_the_trace(
    stored: tuple[World, Tablet, Any], how: str
) -> None:
    world, tab, engine = stored
    assert _trace(world)["verification"] == {"ok": True, "events": 4}
    bad_seq = TAMPERS[how](engine, tab)
    verification = _trace(world)["verification"]
    assert verification["ok"] is False, verification
    assert verification["seq"] == bad_seq, verification
    assert verification["code"] and verification["message"]
    # The export carries the same tampered chain: the offline verifier flags it too.
    export = world.client.get(f"/api/v1/permits/{PERMIT}/export.json", headers=world.h("bureau"))
    assert export.status_code == 200
    code, out = _cli_verify(export.json(), server_key=server_key(world))
    assert code == 1 and out["valid"] is False and out["seq"] == bad_seq, out


def test_event_from_another_enrolled_tablet_is_flagged(stored: tuple[World, Tablet, Any]) -> None:
    world, tab, engine = stored
    other = enroll_tablet(world.client, world.h("a-admin"))
    _insert_from_other_tablet(engine, tab, other)
    verification = _trace(world)["verification"]
    assert verification["ok"] is False and verification["seq"] == 5, verification


def test_deleted_readings_chunk_is_listed_missing(stored: tuple[World, Tablet, Any]) -> None:
    world, _tab, engine = stored
    digest = hashlib.sha256(CHUNK).hexdigest()
    assert _trace(world)["readings"] == {"chunks": 1, "held": 1, "missing": []}
    with engine.begin() as conn:
        conn.execute(blobs.delete().where(blobs.c.sha256 == digest))
    assert _trace(world)["readings"] == {"chunks": 1, "held": 0, "missing": [digest]}


# --- the export, offline ------------------------------------------------------------


def _cli_verify(
    export: Any, *, server_key: str | None = None, pinned: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """``cspermit permit verify FILE [--server-key KEY] [--keys KEYS.json]``, the Typer app
    in-process."""
    import tempfile

    from typer.testing import CliRunner

    from cspermit.cli import app as cli

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.json"
        path.write_text(json.dumps(export), "utf-8")
        args = ["permit", "verify", str(path)]
        if server_key is not None:
            args += ["--server-key", server_key]
        if pinned is not None:
            keys = Path(tmp) / "keys.json"
            keys.write_text(json.dumps(pinned), "utf-8")
            args += ["--keys", str(keys)]
        done = CliRunner().invoke(cli, args)
    return done.exit_code, json.loads(done.stdout or "{}")


def server_key(world: World) -> str:
    """The server's public identity key, as anyone fetches it."""
    r = world.client.get("/api/v1/server-key")
    assert r.status_code == 200, r.text
    return str(r.json()["public_key"])


GOLDEN = Path(__file__).resolve().parent.parent / "data" / "permits" / "demo-chain.json"


def _export_tampers() -> dict[str, Callable[[dict[str, Any]], int]]:
    def modify(d: dict[str, Any]) -> int:
        d["events"][9]["payload"] = {**d["events"][9]["payload"], "note": "x"}
        return 10

    def modify_time(d: dict[str, Any]) -> int:
        d["events"][4]["occurred_at"] = "2026-11-28T07:00:00+08:00"
        return 5

    def delete(d: dict[str, Any]) -> int:
        del d["events"][20]
        return 22  # seq 22 stands where 21 should be

    def reorder(d: dict[str, Any]) -> int:
        d["events"][6], d["events"][7] = d["events"][7], d["events"][6]
        return 8

    def insert(d: dict[str, Any]) -> int:
        d["events"].insert(3, copy.deepcopy(d["events"][3]))
        return 4  # a second seq 4 where 5 should be

    def swap_key(d: dict[str, Any]) -> int:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from permits.integrity import DeviceKey

        dev = next(iter(d["devices"]))
        d["devices"][dev] = DeviceKey(dev, Ed25519PrivateKey.generate()).public_b64()
        return 1

    def resign(d: dict[str, Any]) -> int:
        # The attack the file's own keys cannot catch: lower the alarm's value, re-hash and
        # re-sign every event with a new key, and put that key in ``devices``.
        from permits.events import GENESIS_HASH, parse_event
        from permits.integrity import DeviceKey, seal

        dev = next(iter(d["devices"]))
        key = DeviceKey.generate(dev)
        prev, out = GENESIS_HASH, []
        for raw in d["events"]:
            if raw["type"] == "alarm_raised":
                raw = {**raw, "payload": {**raw["payload"], "value": 1.0}}
            event = seal(parse_event(raw), prev, key)
            prev = event.hash or ""
            out.append(event.to_json())
        d["events"], d["devices"][dev] = out, key.public_b64()
        if "head" in d:
            d["head"] = {"seq": out[-1]["seq"], "hash": prev}
        return 1

    return {
        "modified payload": modify,
        "modified device time": modify_time,
        "deleted event": delete,
        "reordered events": reorder,
        "duplicated event inserted": insert,
        "device key replaced": swap_key,
        "whole chain re-signed with another key": resign,
    }


@pytest.mark.parametrize("how", list(_export_tampers()))
def test_export_tamper_is_flagged_offline(how: str) -> None:
    golden = json.loads(GOLDEN.read_text("utf-8"))
    # The reviewer pins the device key from the registry, never the file's own.
    pinned = dict(golden["devices"])
    code, out = _cli_verify(golden, pinned=pinned)
    assert code == 0 and out["valid"], out
    bad = copy.deepcopy(golden)
    seq = _export_tampers()[how](bad)
    code, out = _cli_verify(bad, pinned=pinned)
    if how == "device key replaced":
        # The file's devices are ignored under pinned keys: swapping them changes nothing,
        # and without an anchor the swapped file is never called valid either.
        assert code == 0 and out["valid"], out
        code, out = _cli_verify(bad)
        assert code == 1 and out["code"] in ("BAD_SIGNATURE", "NOT_ANCHORED"), out
        return
    assert code == 1 and out["valid"] is False, out
    assert out["seq"] == seq, out


def test_a_chain_re_signed_under_a_new_key_verifies_only_under_its_own_keys() -> None:
    golden = json.loads(GOLDEN.read_text("utf-8"))
    forged = copy.deepcopy(golden)
    _export_tampers()["whole chain re-signed with another key"](forged)
    code, out = _cli_verify(forged)
    assert code == 1 and out["code"] == "NOT_ANCHORED" and out["keys_from"] == "file", out
    code, out = _cli_verify(forged, pinned=golden["devices"])
    assert (code, out["code"], out["seq"]) == (1, "BAD_SIGNATURE", 1), out

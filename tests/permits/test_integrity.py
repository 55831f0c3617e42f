"""Sealing and verifying a permit chain: hashes, Ed25519 signatures, device keys."""

from __future__ import annotations

import base64
import hashlib

import pytest

from cspermit.demo.molasses_tank import DEVICE_ID, demo_session
from permits.canonical import canonical_bytes
from permits.commands import PermitSession
from permits.errors import IntegrityError, InvalidInput
from permits.events import GENESIS_HASH
from permits.integrity import (
    BAD_DEVICE,
    BAD_HASH,
    BAD_SCHEMA,
    BAD_SIGNATURE,
    CHAIN_TRUNCATED,
    EMPTY_CHAIN,
    UNKNOWN_DEVICE,
    DeviceKey,
    check_head,
    event_hash,
    export_chain,
    public_key_from,
    read_export,
    seal,
    signature_valid,
    stored_hash,
    verify_chain,
)


def test_a_recorded_chain_verifies(key: DeviceKey, keys: dict[str, str]) -> None:
    events = demo_session(key).events
    result = verify_chain(events, keys)
    assert result.valid, result
    assert result.count == len(events)
    assert result.head_hash == events[-1].hash


def test_hash_is_sha256_of_the_canonical_json_of_all_fields_but_hash_and_sig(
    ready: PermitSession,
) -> None:
    event = ready.events[3]
    fields = event.to_json()
    del fields["hash"], fields["sig"]
    assert hashlib.sha256(canonical_bytes(fields)).hexdigest() == event.hash
    assert ready.events[0].prev_hash == GENESIS_HASH
    assert event.prev_hash == ready.events[2].hash


def test_signature_is_ed25519_over_the_raw_hash_bytes(ready: PermitSession, key: DeviceKey) -> None:
    event = ready.events[0]
    assert event.hash is not None and event.sig is not None
    public_key_from(key.public_b64()).verify(base64.b64decode(event.sig), bytes.fromhex(event.hash))
    assert signature_valid(event.hash, event.sig, key.public_bytes())


def test_device_key_round_trips_through_base64(key: DeviceKey) -> None:
    again = DeviceKey.from_private_b64(key.device_id, key.private_b64())
    assert again.public_b64() == key.public_b64()
    assert len(base64.b64decode(key.public_b64())) == 32


def test_a_bad_public_key_is_refused_with_the_field_named() -> None:
    with pytest.raises(InvalidInput) as info:
        public_key_from("not base64!")
    assert info.value.field == "public_key"
    with pytest.raises(InvalidInput):
        public_key_from(base64.b64encode(b"short").decode())


def test_sealing_with_another_device_key_is_refused(ready: PermitSession) -> None:
    event = ready.events[0].model_copy(update={"hash": None, "sig": None})
    with pytest.raises(IntegrityError) as info:
        seal(event, GENESIS_HASH, DeviceKey.generate("TAB-OTHER"))
    assert info.value.reason == BAD_DEVICE


def test_unknown_device_fails_closed(ready: PermitSession) -> None:
    result = verify_chain(ready.events, {})
    assert not result.valid
    assert (result.seq, result.code) == (1, UNKNOWN_DEVICE)


def test_an_unsealed_event_is_a_schema_error(ready: PermitSession, keys: dict[str, str]) -> None:
    events = [*ready.events[:2], ready.events[2].model_copy(update={"sig": None})]
    result = verify_chain(events, keys)
    assert (result.seq, result.code) == (3, BAD_SCHEMA)


def test_empty_chain_is_not_valid() -> None:
    assert verify_chain([], {}).code == EMPTY_CHAIN


def test_raise_if_invalid_gives_an_integrity_error(ready: PermitSession) -> None:
    with pytest.raises(IntegrityError) as info:
        verify_chain(ready.events, {}).raise_if_invalid()
    assert info.value.seq == 1
    assert info.value.code == UNKNOWN_DEVICE


def test_export_reads_back(ready: PermitSession, key: DeviceKey) -> None:
    exported = export_chain(ready.events, {DEVICE_ID: key.public_b64()})
    back = read_export(exported)
    assert back.permit_id == ready.state.permit_id
    assert verify_chain(back.events, back.devices, permit_id=back.permit_id).valid
    bare = read_export(exported["events"])
    assert bare.devices == {} and bare.permit_id is None and bare.head is None


def test_an_export_cut_short_fails_against_its_recorded_head(
    ready: PermitSession, key: DeviceKey
) -> None:
    exported = export_chain(ready.events, {DEVICE_ID: key.public_b64()})
    whole = read_export(exported)
    assert whole.head == (ready.events[-1].seq, ready.events[-1].hash)
    result = verify_chain(whole.events, whole.devices)
    assert check_head(result, whole.events, whole.head) is result
    # The tail removed: what is left still links and verifies on its own ...
    cut = read_export({**exported, "events": exported["events"][:-2]})
    alone = verify_chain(cut.events, cut.devices)
    assert alone.valid
    # ... but not against the head the exporter recorded.
    checked = check_head(alone, cut.events, cut.head)
    assert not checked.valid and checked.code == CHAIN_TRUNCATED
    assert checked.seq == ready.events[-1].seq and str(len(cut.events)) in checked.reason
    # A head that names another last event is refused too; an invalid chain stays invalid.
    other = check_head(result, whole.events, (whole.head[0], "0" * 64))  # type: ignore[index]
    assert other.code == CHAIN_TRUNCATED
    broken = verify_chain(whole.events[1:], whole.devices)
    assert check_head(broken, whole.events[1:], whole.head) is broken


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"events": "x"}, "events"),
        ({"events": [], "devices": ["k"]}, "devices"),
        ({"events": [], "permit_id": 3}, "permit_id"),
        ({"events": [], "head": {"seq": "3", "hash": "ab"}}, "head"),
        ({"events": [], "head": {"seq": True, "hash": "ab"}}, "head"),
        ("text", "(file)"),
    ],
)
def test_a_malformed_export_names_the_field(data: object, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        read_export(data)
    assert info.value.field == field


def test_hand_over_to_another_device_continues_the_chain(
    ready: PermitSession, key: DeviceKey
) -> None:
    other = DeviceKey.generate("TAB-SUGAR-02")
    ready.hand_over(other, ready.events[-1].occurred_at, actor="P-LI")
    from permits.events import VentilationStopped

    ready.record(VentilationStopped(reason="shift end"), ready.events[-1].occurred_at, actor="P-LI")
    assert ready.events[-1].device_id == "TAB-SUGAR-02"
    keys = {key.device_id: key.public_b64(), other.device_id: other.public_b64()}
    assert verify_chain(ready.events, keys).valid
    # The new device's key must be enrolled: the handover payload alone is not trusted.
    result = verify_chain(ready.events, {key.device_id: key.public_b64()})
    assert (result.seq, result.code) == (len(ready.events), UNKNOWN_DEVICE)
    assert event_hash(ready.events[-1]) == ready.events[-1].hash


def test_default_payload_fields_are_not_hashed(ready: PermitSession, keys: dict[str, str]) -> None:
    # An optional field added to a payload later must not change old hashes:
    # a field at its default is left out of the hashed form.
    raw = [e.to_json() for e in ready.events]
    approved = next(e for e in raw if e["type"] == "approved")
    assert "signature_image_sha256" not in approved["payload"]["signoff"]
    approved["payload"]["signoff"]["signature_image_sha256"] = None  # explicit default
    assert verify_chain(raw, keys).valid


def test_an_event_that_does_not_continue_the_head_is_a_version_conflict(
    ready: PermitSession,
) -> None:
    from permits.errors import VersionConflict
    from permits.integrity import CHAIN_FORK, check_continues

    head = ready.events[-1]
    check_continues(head.seq - 1, ready.events[-2].hash or "", head)
    with pytest.raises(VersionConflict) as info:
        check_continues(head.seq, head.hash or "", head)
    assert info.value.code == CHAIN_FORK


def test_the_golden_chain_still_verifies() -> None:
    # A permit sealed by an earlier version must verify forever (see tests/data/permits/README.md).
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "permits" / "demo-chain.json"
    export = read_export(json.loads(path.read_text(encoding="utf-8")))
    result = verify_chain(export.events, export.devices, permit_id=export.permit_id)
    assert result.valid, result.as_dict()
    assert result.count == 44


def test_a_canonical_body_is_hash_checked_as_stored(key: DeviceKey, keys: dict[str, str]) -> None:
    # The fast path (stored_hash) must give the verdicts of the full canonical form:
    # a stored body as the tablet writes it matches its hash as it is; an edit is caught.
    bodies = [e.to_json() for e in demo_session(key).events]
    assert all(stored_hash(b) == b["hash"] for b in bodies)
    assert verify_chain(bodies, keys).valid
    edited = [dict(b) for b in bodies]
    edited[4]["actor"] = "someone-else"
    result = verify_chain(edited, keys)
    assert not result.valid and result.code == BAD_HASH and result.seq == 5


def test_a_non_canonical_body_still_verifies_the_long_way(
    key: DeviceKey, keys: dict[str, str]
) -> None:
    # Another client's encoder: an integral float where canonical JSON has an int, and
    # a "Z" time. The bytes differ from what was hashed, the content does not.
    bodies = [e.to_json() for e in demo_session(key).events]
    odd = dict(bodies[0], seq=1.0, occurred_at=bodies[0]["occurred_at"].replace("+00:00", "Z"))
    assert stored_hash(odd) != odd["hash"]
    assert verify_chain([odd, *bodies[1:]], keys).valid
    assert stored_hash({"seq": float("nan")}) is None  # not JSON: the long way, no crash


def test_raw_bodies_must_be_parallel_to_the_events(key: DeviceKey, keys: dict[str, str]) -> None:
    events = demo_session(key).events
    with pytest.raises(ValueError, match="parallel"):
        verify_chain(events, keys, raw_bodies=[e.to_json() for e in events[:-1]])


@pytest.mark.parametrize("sig", ["", "AAAA", base64.b64encode(b"\0" * 64).decode(), "not b64!"])
def test_a_malformed_or_wrong_signature_is_bad_signature(
    ready: PermitSession, keys: dict[str, str], sig: str
) -> None:
    bodies = [e.to_json() for e in ready.events]
    bodies[2]["sig"] = sig
    result = verify_chain(bodies, keys)
    assert not result.valid and result.code in (BAD_SIGNATURE, BAD_SCHEMA) and result.seq == 3


def test_a_lone_surrogate_is_a_schema_error_not_a_crash(
    key: DeviceKey, keys: dict[str, str]
) -> None:
    # Found by fuzzing exports: JSON can spell "\udddd", which has no UTF-8 form, so the
    # event has no canonical bytes to hash. It is refused by name, with its seq.
    bodies = [e.to_json() for e in demo_session(key).events]
    bodies[1] = dict(bodies[1], actor="P-\udddd")
    result = verify_chain(bodies, keys)
    assert not result.valid and result.code == BAD_SCHEMA and result.seq == 2
    with pytest.raises(InvalidInput, match="surrogate"):
        canonical_bytes({"name": "\udddd"})

"""Every way of tampering with a chain is detected, at the right first bad event."""

from __future__ import annotations

from typing import Any

import pytest

from cspermit.demo.molasses_tank import demo_session
from permits.events import Event
from permits.integrity import (
    BAD_DEVICE,
    BAD_HASH,
    BAD_PREV_HASH,
    BAD_SCHEMA,
    BAD_SEQ,
    BAD_SIGNATURE,
    UNKNOWN_DEVICE,
    WRONG_PERMIT,
    DeviceKey,
    event_hash,
    seal,
    verify_chain,
)


@pytest.fixture
def chain(key: DeviceKey) -> list[Event]:
    return demo_session(key).events


def _raw(chain: list[Event]) -> list[dict[str, Any]]:
    return [e.to_json() for e in chain]


@pytest.mark.parametrize("k", [1, 10, 30])
def test_edited_payload_is_bad_hash_at_that_event(
    chain: list[Event], keys: dict[str, str], k: int
) -> None:
    raw = _raw(chain)
    raw[k - 1]["actor"] = "P-FORGED"
    result = verify_chain(raw, keys)
    assert (result.seq, result.code) == (k, BAD_HASH)


def test_edited_atmosphere_value_is_detected(chain: list[Event], keys: dict[str, str]) -> None:
    raw = _raw(chain)
    k = next(i for i, e in enumerate(raw) if e["type"] == "atmosphere_test_recorded")
    raw[k]["payload"]["test"]["samples"][2]["readings"][2]["value"] = 0.5
    result = verify_chain(raw, keys)
    assert (result.seq, result.code) == (k + 1, BAD_HASH)


def test_edited_and_rehashed_event_is_bad_signature(
    chain: list[Event], keys: dict[str, str]
) -> None:
    k = 12
    forged = chain[k - 1].model_copy(update={"actor": "P-FORGED"})
    forged = forged.model_copy(update={"hash": event_hash(forged)})
    result = verify_chain([*chain[: k - 1], forged, *chain[k:]], keys)
    assert (result.seq, result.code) == (k, BAD_SIGNATURE)


def test_edited_resealed_event_breaks_the_next_link(
    chain: list[Event], keys: dict[str, str], key: DeviceKey
) -> None:
    # Even with the device key, rewriting one event breaks the event after it.
    k = 12
    forged = seal(
        chain[k - 1].model_copy(update={"actor": "P-FORGED"}), chain[k - 1].prev_hash or "", key
    )
    result = verify_chain([*chain[: k - 1], forged, *chain[k:]], keys)
    assert (result.seq, result.code) == (k + 1, BAD_PREV_HASH)


@pytest.mark.parametrize("k", [1, 7, 44])
def test_deleted_event_is_bad_seq(chain: list[Event], keys: dict[str, str], k: int) -> None:
    remaining = chain[: k - 1] + chain[k:]
    result = verify_chain(remaining, keys)
    if k == len(chain):
        # Deleting the tail cannot be seen in the chain alone: the server compares heads.
        assert result.valid
        assert result.head_hash == chain[-2].hash
    else:
        assert (result.seq, result.code) == (k + 1, BAD_SEQ)
        assert result.facts["expected_seq"] == k


def test_reordered_events_are_bad_seq(chain: list[Event], keys: dict[str, str]) -> None:
    swapped = list(chain)
    swapped[4], swapped[5] = swapped[5], swapped[4]
    result = verify_chain(swapped, keys)
    assert (result.seq, result.code) == (6, BAD_SEQ)


def test_duplicated_event_is_bad_seq(chain: list[Event], keys: dict[str, str]) -> None:
    result = verify_chain([*chain[:5], chain[4], *chain[5:]], keys)
    assert (result.seq, result.code, result.index) == (5, BAD_SEQ, 5)


def test_inserted_forged_event_is_caught(chain: list[Event], keys: dict[str, str]) -> None:
    # An attacker without the device key forges event 8 with a key of their own.
    thief = DeviceKey.generate(chain[0].device_id)
    forged = seal(chain[7].model_copy(update={"actor": "P-FORGED"}), chain[6].hash or "", thief)
    result = verify_chain([*chain[:7], forged, *chain[7:]], keys)
    assert (result.seq, result.code) == (8, BAD_SIGNATURE)


def test_resigned_with_another_key_is_bad_signature(
    chain: list[Event], keys: dict[str, str]
) -> None:
    other = DeviceKey.generate(chain[0].device_id)
    resigned = [chain[0], seal(chain[1], chain[1].prev_hash or "", other), *chain[2:]]
    result = verify_chain(resigned, keys)
    assert (result.seq, result.code) == (2, BAD_SIGNATURE)


def test_swapped_to_an_unknown_device_is_unknown_device(
    chain: list[Event], keys: dict[str, str]
) -> None:
    rogue = DeviceKey.generate("TAB-ROGUE")
    k = 20
    moved = seal(
        chain[k - 1].model_copy(update={"device_id": "TAB-ROGUE"}), chain[k - 2].hash or "", rogue
    )
    result = verify_chain([*chain[: k - 1], moved], keys)
    assert (result.seq, result.code) == (k, UNKNOWN_DEVICE)


def test_swapped_to_another_enrolled_device_without_handover_is_bad_device(
    chain: list[Event], keys: dict[str, str]
) -> None:
    other = DeviceKey.generate("TAB-SUGAR-02")
    k = 20
    moved = seal(
        chain[k - 1].model_copy(update={"device_id": other.device_id}),
        chain[k - 2].hash or "",
        other,
    )
    result = verify_chain([*chain[: k - 1], moved], {**keys, other.device_id: other.public_b64()})
    assert (result.seq, result.code) == (k, BAD_DEVICE)


def test_event_of_another_permit_is_wrong_permit(chain: list[Event], keys: dict[str, str]) -> None:
    raw = _raw(chain)
    raw[9]["permit_id"] = "PMT-OTHER"
    result = verify_chain(raw, keys)
    assert (result.seq, result.code) == (10, WRONG_PERMIT)
    assert verify_chain(raw, keys, permit_id="PMT-OTHER").code == WRONG_PERMIT


def test_garbled_event_is_bad_schema_naming_the_field(
    chain: list[Event], keys: dict[str, str]
) -> None:
    raw = _raw(chain)
    raw[2]["occurred_at"] = "yesterday"
    result = verify_chain(raw, keys)
    assert (result.seq, result.code) == (3, BAD_SCHEMA)
    assert result.facts["field"] == "occurred_at"
    raw[2] = ["not", "an", "object"]  # type: ignore[call-overload]
    assert (verify_chain(raw, keys).seq, verify_chain(raw, keys).code) == (3, BAD_SCHEMA)


def test_as_dict_names_the_first_bad_event(chain: list[Event], keys: dict[str, str]) -> None:
    raw = _raw(chain)
    raw[4]["actor"] = "X"
    raw[9]["actor"] = "Y"
    out = verify_chain(raw, keys).as_dict()
    assert out["valid"] is False and out["seq"] == 5 and out["code"] == BAD_HASH

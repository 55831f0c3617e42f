"""Exports forged against the server's attestation (docs/permit-lifecycle.md, "Verifying
an export offline"): each forgery the file's own keys cannot catch is refused with its
code once the reviewer checks against the server's key, from the option or the trust
store; a key rotation leaves earlier exports verifiable against the listed old key."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from permits.attestation import ServerKey
from permits.events import GENESIS_HASH, parse_event
from permits.integrity import DeviceKey, seal
from tests.reliability.test_tamper import PERMIT, _cli_verify, server_key, stored  # noqa: F401
from tests.sync_server.chains import Tablet
from tests.sync_server.conftest import World


def _export(world: World) -> dict[str, Any]:
    r = world.client.get(f"/api/v1/permits/{PERMIT}/export.json", headers=world.h("bureau"))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _resealed(events: list[dict[str, Any]], keys: dict[str, DeviceKey]) -> list[dict[str, Any]]:
    prev, out = GENESIS_HASH, []
    for raw in events:
        event = seal(parse_event(raw), prev, keys[raw["device_id"]])
        prev = event.hash or ""
        out.append(event.to_json())
    return out


def _head_of(d: dict[str, Any]) -> None:
    d["head"] = {"seq": d["events"][-1]["seq"], "hash": d["events"][-1]["hash"]}


def resigned_under_a_new_key(d: dict[str, Any]) -> None:
    dev = d["events"][0]["device_id"]
    key = DeviceKey.generate(dev)
    d["events"] = _resealed(d["events"], {dev: key})
    d["devices"] = {dev: key.public_b64()}
    _head_of(d)


def new_device_added(d: dict[str, Any]) -> None:
    dev = d["events"][0]["device_id"]
    evil = DeviceKey.generate("TAB-EVIL")
    d["events"][-1] = {**d["events"][-1], "device_id": "TAB-EVIL"}
    d["events"] = _resealed(d["events"], {dev: DeviceKey.generate(dev), "TAB-EVIL": evil})
    d["devices"]["TAB-EVIL"] = evil.public_b64()
    _head_of(d)


def head_moved(d: dict[str, Any]) -> None:
    d["events"] = d["events"][:-1]
    _head_of(d)


def attested_by_another_server(d: dict[str, Any]) -> None:
    d["attestation"] = ServerKey.generate().attest(d["attestation"]["statement"])


def statement_edited(d: dict[str, Any]) -> None:
    stranger = DeviceKey.generate("x").public_b64()
    d["attestation"]["statement"]["devices"][0]["public_key"] = stranger


def attestation_removed(d: dict[str, Any]) -> None:
    del d["attestation"]


FORGERIES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "re-signed under a new key": (resigned_under_a_new_key, "BAD_SIGNATURE"),
    "a new device id added": (new_device_added, "DEVICE_NOT_ATTESTED"),
    "head moved with the cut": (head_moved, "ATTESTATION_MISMATCH"),
    "attestation from another server": (attested_by_another_server, "ATTESTATION_BAD_SIGNATURE"),
    "attested statement edited": (statement_edited, "ATTESTATION_BAD_SIGNATURE"),
    "attestation removed": (attestation_removed, "ATTESTATION_MISSING"),
}


UNDETECTABLE_BY_OWN_KEYS = {
    "re-signed under a new key",
    "attestation from another server",
    "attested statement edited",
}


@pytest.mark.parametrize("how", list(FORGERIES))
def test_each_forgery_is_refused_against_the_servers_key(
    stored: tuple[World, Tablet, Any],  # noqa: F811
    how: str,
) -> None:
    world, _tab, _engine = stored
    export, key = _export(world), server_key(world)
    code, out = _cli_verify(export, server_key=key)
    assert code == 0 and out["valid"] and out["anchor"] == "server-key", out
    forged = copy.deepcopy(export)
    forge, expected = FORGERIES[how]
    forge(forged)
    code, out = _cli_verify(forged, server_key=key)
    assert (code, out["valid"], out["code"]) == (1, False, expected), out
    if how in UNDETECTABLE_BY_OWN_KEYS:
        # Under the file's own keys these forgeries hold together: only an anchor finds
        # them, and without one the chain is not called valid either.
        code, own = _cli_verify(forged)
        assert (code, own["code"]) == (1, "NOT_ANCHORED"), own


def test_the_trust_store_anchors_verify_and_survives_a_rotation(
    stored: tuple[World, Tablet, Any],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from cspermit.cli import app as cli
    from sync_server.services import server_identity

    world, _tab, engine = stored
    monkeypatch.setenv("CSPERMIT_TRUST_STORE", str(tmp_path / "trust.json"))
    export = _export(world)
    assert _cli_verify(export)[1]["code"] == "NOT_ANCHORED"
    published = tmp_path / "server-key.json"
    published.write_text(json.dumps(world.client.get("/api/v1/server-key").json()), "utf-8")
    added = CliRunner().invoke(cli, ["permit", "trust", "add", str(published), "--name", "县局"])
    assert added.exit_code == 0, added.stdout + added.stderr
    code, out = _cli_verify(export)
    assert (code, out["valid"], out["anchor"]) == (0, True, "trust-store"), out
    assert (tmp_path / "trust.json").stat().st_mode & 0o777 == 0o600

    with engine.connect() as conn:
        old = server_identity.keys(conn)[0]
    new = server_identity.rotate(engine)
    assert new.key_id != old.key_id
    listed = world.client.get("/api/v1/server-key").json()
    assert listed["key_id"] == new.key_id
    assert [k["key_id"] for k in listed["keys"]] == [new.key_id, old.key_id]
    assert listed["keys"][1]["retired_at"]
    # The export made before the rotation still verifies against the old key, which the
    # store keeps; the new key alone does not vouch for it.
    assert _cli_verify(export)[0] == 0
    code, out = _cli_verify(export, server_key=new.public_key)
    assert (code, out["code"]) == (1, "ATTESTATION_BAD_SIGNATURE"), out
    # A new export is attested with the new key.
    assert _cli_verify(_export(world), server_key=new.public_key)[0] == 0
    removed = CliRunner().invoke(cli, ["permit", "trust", "remove", "县局"])
    assert removed.exit_code == 0 and json.loads(removed.stdout)["removed"] == 1
    assert _cli_verify(export)[1]["code"] == "NOT_ANCHORED"


def test_the_server_key_is_public_and_a_bad_key_is_unreadable_input(
    stored: tuple[World, Tablet, Any],  # noqa: F811
) -> None:
    world, _tab, _engine = stored
    r = world.client.get("/api/v1/server-key")  # no Authorization header
    assert r.status_code == 200
    body = r.json()
    assert body["algorithm"] == "Ed25519" and len(body["fingerprint"].replace(" ", "")) == 64
    code, _out = _cli_verify(_export(world), server_key="not-a-key")
    assert code == 2

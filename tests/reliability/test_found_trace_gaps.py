"""FOUND (left failing for the owner of sync_server/routers/permits.py, and of the export
format in permits/integrity.py): tampering the trace does not see.

1. Deleting the *last* events of a chain in the database leaves a shorter chain that
   verifies: the trace says ``verification.ok`` although ``permits.last_seq`` /
   ``last_hash`` still name the deleted head. Fix: in ``trace`` (and the export), compare
   the stored chain's length and head hash with the ``permits`` row and report
   ``{"ok": false, "code": "CHAIN_TRUNCATED", "seq": last_seq}``.
2. A readings chunk whose stored bytes were changed still counts as ``held``: the trace
   checks only that a row with the digest exists. Fix: recompute SHA-256 over
   ``blobs.data`` for the referenced chunks and list mismatches as
   ``readings.corrupt`` (not counted in ``held``); ``GET /sync/chunks/{sha}`` should
   refuse to serve bytes that do not hash to their name.
3. The export (``/permits/{id}/export.json``) carries no head: an export with its tail
   cut off passes ``cspermit permit verify``. Fix: add ``last_seq`` and ``head_hash`` to
   the export and have ``read_export``/``verify_chain`` check them when present.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sync_server.schema import blobs, events
from tests.reliability.test_tamper import (  # noqa: F401
    CHUNK,
    PERMIT,
    _cli_verify,
    _trace,
    server_key,
    stored,
)
from tests.sync_server.chains import Tablet
from tests.sync_server.conftest import World


def test_deleted_tail_is_flagged(stored: tuple[World, Tablet, Any]) -> None:  # noqa: F811
    world, _tab, engine = stored
    with engine.begin() as conn:
        conn.execute(events.delete().where(events.c.permit_id == PERMIT, events.c.seq == 4))
    verification = _trace(world)["verification"]
    assert verification["ok"] is False, verification


def test_changed_chunk_bytes_are_flagged(stored: tuple[World, Tablet, Any]) -> None:  # noqa: F811
    world, _tab, engine = stored
    digest = hashlib.sha256(CHUNK).hexdigest()
    with engine.begin() as conn:
        conn.execute(
            blobs.update()
            .where(blobs.c.sha256 == digest)
            .values(data=CHUNK.replace(b"20.9", b"29.0"))
        )
    readings = _trace(world)["readings"]
    assert readings["held"] == 0 and readings.get("corrupt") == [digest], readings


def test_truncated_export_fails_offline_verification(
    stored: tuple[World, Tablet, Any],  # noqa: F811
) -> None:
    world, _tab, _engine = stored
    export = world.client.get(
        f"/api/v1/permits/{PERMIT}/export.json", headers=world.h("bureau")
    ).json()
    key = server_key(world)
    assert _cli_verify(export, server_key=key)[0] == 0
    cut = json.loads(json.dumps(export))
    cut["events"] = cut["events"][:-1]
    code, out = _cli_verify(cut, server_key=key)
    assert code == 1 and out["valid"] is False, out

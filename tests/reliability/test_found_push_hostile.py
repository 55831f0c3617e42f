"""FOUND (issue 15 part 2): what an enrolled tablet could push that the server should
refuse per event, or that blocked another enterprise. Each test was a strict xfail until
the push path was fixed; each is now the finding's regression test (docs/reliability.md,
"Found by these tests").

* A "fork" whose hash and signature do not verify was stored as a version conflict, and
  conflicts per permit were not capped: fixed (forks verified, MAX_CONFLICTS_PER_PERMIT).
* A permit id with a control character or a look-alike was accepted: fixed (the core's
  PermitId, refused per event naming permit_id).
* A permit id claimed first by one enterprise blocked another enterprise's tablet: fixed
  (permits keyed by enterprise and id, migration 0006).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from permits.events import new_event
from permits.integrity import seal
from tests.sync_server.chains import approved, enroll_tablet, simple_permit
from tests.sync_server.conftest import World


def _push(world: World, tablet: Any, events: list[dict[str, Any]]) -> Any:
    return world.client.post("/api/v1/sync/events", json={"events": events}, headers=tablet.headers)


def _fork(tablet: Any, permit_id: str, prev: str, i: int) -> dict[str, Any]:
    """A second event at seq 2, signed by the tablet on the same first event."""
    fork = new_event(
        approved(tablet, permit_id, person=f"p-{i}"),
        permit_id=permit_id,
        seq=2,
        actor="p-approver",
        device_id=tablet.device_id,
        occurred_at=datetime.now(UTC),
    )
    return seal(fork, prev, tablet.device_key).to_json()


# Already holds on this branch (kept as the regression test of the finding).
def test_a_fork_with_a_junk_signature_is_not_stored_as_a_conflict(world: World, app: Any) -> None:
    from sync_server.schema import version_conflicts

    tablet = enroll_tablet(world.client, world.h("a-admin"))
    chain = simple_permit(tablet, "PA-F")
    r = _push(world, tablet, chain)
    assert r.json()["accepted"] == 2
    forks = []
    for i in range(30):
        sealed = _fork(tablet, "PA-F", chain[0]["hash"], i)
        sealed["hash"] = f"{i:064x}"
        sealed["signature"] = "AAAA"
        forks.append(sealed)
    r = _push(world, tablet, forks)
    assert r.status_code == 200
    assert all(x["status"] == "rejected" for x in r.json()["results"]), r.json()
    with app.state.engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(version_conflicts))
        assert stored.scalar_one() == 0


# Fixed: permits are keyed by (enterprise_id, permit_id) (migration 0006).
def test_another_enterprise_cannot_squat_a_permit_id(world: World) -> None:
    tab_a = enroll_tablet(world.client, world.h("a-admin"))
    tab_b = enroll_tablet(world.client, world.h("b-admin"))
    r = _push(world, tab_b, simple_permit(tab_b, "2026-0001"))
    assert r.json()["accepted"] == 2
    r = _push(world, tab_a, simple_permit(tab_a, "2026-0001"))
    assert r.json()["accepted"] == 2, r.json()


@pytest.mark.parametrize("permit_id", ["PA\u20141", "P\u0410-1", "PA-1\u200b"])
def test_a_pushed_permit_id_with_a_look_alike_is_rejected(world: World, permit_id: str) -> None:
    # The core will not even build such an event; a hostile client writes the JSON itself.
    tablet = enroll_tablet(world.client, world.h("a-admin"))
    forged = [{**e, "permit_id": permit_id} for e in simple_permit(tablet, "PA-1")]
    r = _push(world, tablet, forged)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert all(x["status"] == "rejected" for x in results), results
    assert results[0]["field"] == "events.0.permit_id", results[0]


def test_version_conflicts_per_permit_are_capped(world: World, app: Any) -> None:
    from sync_server.schema import version_conflicts

    tablet = enroll_tablet(world.client, world.h("a-admin"))
    chain = simple_permit(tablet, "PA-C")
    assert _push(world, tablet, chain).json()["accepted"] == 2
    forks = [_fork(tablet, "PA-C", chain[0]["hash"], i) for i in range(60)]
    r = _push(world, tablet, forks)
    assert r.status_code == 200
    with app.state.engine.connect() as conn:
        stored = conn.execute(
            sa.select(sa.func.count()).select_from(version_conflicts)
        ).scalar_one()
    # Properly signed forks are kept for review, but not without limit.
    assert 0 < stored < 60

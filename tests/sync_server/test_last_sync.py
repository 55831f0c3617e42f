"""A tablet's last sync (``enrolments.seen``): written by one statement that reads
nothing first (docs/performance.md, wave 8), at most once a ``SEEN_EVERY`` for pushes,
always with the ledger's time for a whole pull; a revoked or unknown token is refused
by the one joined read of token and device."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tests.sync_server.chains import enroll_tablet


def _stamps(app: Any, device_id: str) -> tuple[str | None, str | None]:
    from sync_server.schema import devices

    with app.state.engine.connect() as conn:
        row = conn.execute(
            sa.select(devices.c.last_sync_at, devices.c.ledger_pulled_at).where(
                devices.c.device_id == device_id
            )
        ).one()
    return row.last_sync_at, row.ledger_pulled_at


def test_a_push_is_noted_at_most_once_a_minute_and_a_pull_always(world: Any, app: Any) -> None:
    from sync_server.security import Principal, Role
    from sync_server.services import enrolments
    from sync_server.storage import now_iso

    tab = enroll_tablet(world.client, world.h("a-admin"))
    device = Principal(Role.DEVICE, tab.device_id, "t", enterprise_id=tab.enterprise_id)
    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    engine = app.state.engine

    def seen(at: datetime, *, pulled: bool = False) -> None:
        with engine.begin() as conn:
            enrolments.seen(conn, device, pulled_ledger=pulled, now=at)

    with engine.begin() as conn:  # never synced
        from sync_server.schema import devices

        conn.execute(
            devices.update()
            .where(devices.c.device_id == tab.device_id)
            .values(last_sync_at=None, ledger_pulled_at=None)
        )
    seen(t0)
    assert _stamps(app, tab.device_id) == (now_iso(t0), None)
    seen(t0 + timedelta(seconds=59))  # within the minute: not written
    assert _stamps(app, tab.device_id) == (now_iso(t0), None)
    minute = t0 + enrolments.SEEN_EVERY
    seen(minute)  # a minute on: written
    assert _stamps(app, tab.device_id) == (now_iso(minute), None)
    pulled = minute + timedelta(seconds=5)
    seen(pulled, pulled=True)  # a whole pull: always, with the ledger's time
    assert _stamps(app, tab.device_id) == (now_iso(pulled), now_iso(pulled))
    seen(t0)  # an earlier clock: never moves it back
    assert _stamps(app, tab.device_id) == (now_iso(pulled), now_iso(pulled))


def test_a_push_notes_the_sync_and_a_revoked_tablet_is_refused(world: Any, app: Any) -> None:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    r = world.client.post("/api/v1/sync/events", json={"events": []}, headers=tab.headers)
    assert r.status_code == 200, r.text
    last, _ = _stamps(app, tab.device_id)
    assert last is not None and last[:10] == datetime.now(UTC).date().isoformat()
    from sync_server.schema import devices

    # The device row revoked while its token still stands: the joined read sees it.
    with app.state.engine.begin() as conn:
        conn.execute(
            devices.update().where(devices.c.device_id == tab.device_id).values(revoked_at=last)
        )
    r = world.client.post("/api/v1/sync/events", json={"events": []}, headers=tab.headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "DEVICE_REVOKED", r.text
    other = enroll_tablet(world.client, world.h("a-admin"))
    r = world.client.delete(f"/api/v1/devices/{other.device_id}", headers=world.h("a-admin"))
    assert r.status_code == 204, r.text
    r = world.client.post("/api/v1/sync/events", json={"events": []}, headers=other.headers)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] in ("TOKEN_REVOKED", "DEVICE_REVOKED"), r.text
    r = world.client.post(
        "/api/v1/sync/events", json={"events": []}, headers={"Authorization": "Bearer nope"}
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "TOKEN_INVALID", r.text

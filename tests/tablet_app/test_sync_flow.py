"""The tablet's sync round against the real server app in-process (httpx ASGI transport,
temp SQLite, the server's demo ledger): enrol, push, pull reference into the store,
server hazards on home, progress on screen, attachments uploaded, reports kept."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from permits.events import IsolationMethod, Role
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk, person_snapshot, space_snapshot
from tablet_app.presenters.home import HomePresenter
from tablet_app.presenters.settings import SettingsPresenter
from tablet_app.presenters.setup import SetupPresenter
from tablet_app.store import Store

from .server_rig import demo_app, enrol_and_sync


@pytest.fixture
def server(tmp_path: Path) -> Any:
    app = demo_app(tmp_path)
    yield app
    app.state.engine.dispose()


def test_enrol_sync_pulls_the_ledger_and_hazards_and_shows_progress(
    server: Any, tmp_path: Path
) -> None:
    store = Store(tmp_path / "tablet.db")
    context = AppContext(store=store, server_url="http://localhost")
    desk = PermitDesk(context)  # makes the device key
    transport = httpx.ASGITransport(app=server)
    settings = SettingsPresenter(context, transport=transport)
    seen: list[str] = []
    context.extras["on_sync_progress"] = lambda: seen.append(settings.progress)
    photo = store.put_attachment(b"\x89PNG fake photo", content_type="image/png", purpose="photo")
    store.add_hazard_report(
        {
            "id": "HR-1",
            "enterprise_id": "ent-a",
            "title": "manhole cover cracked",
            "photos": [photo],
            "reported_by": "a-p-li",
        }
    )

    try:
        asyncio.run(enrol_and_sync(settings, transport))
        # the ledger, mapped to what a permit records
        space = store.reference("spaces", "A-T1")
        assert space is not None
        snap = space_snapshot(space)
        assert snap.sample_points == ("top", "middle", "bottom")
        assert {p.point_id for p in snap.isolation_points} == {"V-101", "M-1"}
        people = {p["id"]: p for p in store.references("people")}
        assert "a-p-li" in people and people["a-p-li"]["training_valid_until"]
        li = person_snapshot(people["a-p-li"])
        assert [c.kind for c in li.certificates] == ["hot_work"]
        assert people["a-p-zhao"]["approval_authority"] == "principal"
        assert store.reference("detectors", "GASL-4-0001")["last_bump_test"]
        assert int(store.get_cursor("reference") or 0) > 0
        # the pit without a warning sign has an open hazard on the server: home shows it
        home = HomePresenter(context, desk).view()
        assert any("A-P1" in h or "废水" in h for h in home.hazards), home.hazards
        # the photo is on the server; progress was shown while it ran, and is cleared
        assert store.unacked_attachments() == []
        assert any("/" in s or ":" in s for s in seen) and settings.progress == ""
        # the worker's hazard report reached the server (never lost: were it refused, it
        # would stay here with the server's answer)
        (report,) = store.hazard_reports()
        assert report["acked_at"] and report["server_id"] and not report["last_error"], report
        assert asyncio.run(settings.sync_now())  # a second round: nothing new, no error
        # a permit on the pulled ledger, staffed with pulled people, reaches the server
        context.user = "a-p-zhao"
        assert HomePresenter(context, desk).new_permit("A-T1", "清罐").ok
        setup = SetupPresenter(context, desk)
        assert setup.assign("a-p-li", Role.ENTRANT).ok, setup.last.lines()
        assert setup.assign("a-p-sun", Role.GUARDIAN).ok, setup.last.lines()
        context.user = "a-p-sun"
        assert setup.apply_isolation("V-101", IsolationMethod.BLIND_FLANGE, "L-1", "T-1").ok, (
            setup.last.lines()
        )
        assert asyncio.run(settings.sync_now()), settings.sync_result
        assert store.count_unacked() == {"events": 0, "chunks": 0}
    finally:
        store.close()

"""扫码作业 end to end: the warning card the server prints (an https URL of the space's
public page, 码上查) opens its space on a tablet that synced that enterprise's ledger —
typed, or through the camera's decoder (zxing-cpp) from the QR as segno renders it — and
the card of another enterprise's space, or a replaced card, does not.

The server's card page and its QR endpoint are fetched over the real app (httpx ASGI
transport, temp SQLite, the demo ledger); the tablet is a real store enrolled and synced
through the real sync client; the payload is what the card prints under its QR code.
"""

from __future__ import annotations

import asyncio
import re
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest

from permits.space_code import space_code
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk
from tablet_app.presenters.home import HomePresenter
from tablet_app.presenters.scanning import decode_frame
from tablet_app.presenters.settings import SettingsPresenter
from tablet_app.store import Store

from .server_rig import enrol_and_sync
from .test_scanning import camera_frame
from .test_sync_flow import server  # noqa: F401  (the fixture)

CARD_PAYLOAD = re.compile(r'<div class="card-qr">.*?<p class="mono small">([^<]+)</p>', re.S)


def printed_on_card(app: Any, enterprise_id: str, space_id: str, user: str) -> str:
    """What the warning card shows under its QR code, as a browser receives it."""

    async def fetch() -> str:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as web:
            form = await web.get("/web/sign-in")
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert csrf, form.text
            r = await web.post(
                "/web/sign-in",
                data={
                    "username": user,
                    "password": f"{user}-demo",
                    "csrf": csrf.group(1),
                    "next": "/web/",
                },
            )
            assert r.status_code == 303, r.text
            card = await web.get(f"/web/enterprises/{enterprise_id}/spaces/{space_id}/card")
            assert card.status_code == 200, card.text
            token = await web.post(
                "/api/v1/auth/token", data={"username": user, "password": f"{user}-demo"}
            )
            api = await web.get(
                f"/api/v1/enterprises/{enterprise_id}/spaces/{space_id}/qr",
                headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            )
            assert api.status_code == 200, api.text
            match = CARD_PAYLOAD.search(card.text)
            assert match, "the card shows the code under its QR"
            printed = unescape(match.group(1)).strip()
            assert api.json()["payload"] == printed  # one code, whichever door it comes from
            return printed

    return asyncio.run(fetch())


_SETTINGS: dict[int, SettingsPresenter] = {}


@pytest.fixture
def synced(server: Any, tmp_path: Path) -> tuple[Any, AppContext, PermitDesk]:  # noqa: F811
    store = Store(tmp_path / "tablet.db")
    context = AppContext(store=store, server_url="http://localhost")
    desk = PermitDesk(context)
    transport = httpx.ASGITransport(app=server)
    settings = SettingsPresenter(context, transport=transport)

    asyncio.run(enrol_and_sync(settings, transport, label="entrance tablet"))
    _SETTINGS[id(context)] = settings
    yield server, context, desk
    _SETTINGS.pop(id(context), None)
    store.close()


def sync(context: AppContext) -> None:
    """The tablet's next sync round (the ledger pull carries the cards' codes)."""
    settings = _SETTINGS[id(context)]
    assert asyncio.run(settings.sync_now()), settings.sync_result


def test_the_printed_card_opens_its_space_on_the_tablet(
    synced: tuple[Any, AppContext, PermitDesk],
) -> None:
    app, context, desk = synced
    from sync_server.security import Principal, Role
    from sync_server.services import public_codes

    # The admin replaces the space's code after the tablet's last sync (a space's code is
    # issued when it is saved, so the sync already carried the first one).
    admin = Principal(Role.OPERATOR, "op", "operator")
    with app.state.engine.begin() as conn:
        public_codes.rotate(conn, admin, "ent-a", "A-T1")
    payload = printed_on_card(app, "ent-a", "A-T1", "a-admin")
    assert payload.startswith("https://codes.example.cn/q/") and "A-T1" not in payload
    # Printed after the last sync: the tablet does not know the code yet, and says so.
    context.user = next(iter(p["id"] for p in context.store.references("people")))
    early = HomePresenter(context, desk).new_permit_from_qr(payload, "清理沉淀池")
    assert (not early.ok and "Sync" in (early.error or "")) or "同步" in (early.error or "")
    sync(context)
    # What the phone's camera sees: the QR as the server renders it, decoded by zxing.
    scanned = decode_frame(camera_frame(payload), 640, 480, bottom_up=True)
    assert scanned == payload
    leader = next(iter(p["id"] for p in context.store.references("people")))
    context.user = leader
    outcome = HomePresenter(context, desk).new_permit_from_qr(scanned, "清理沉淀池")
    assert outcome.ok, outcome.lines()
    state = desk.state(outcome.value)
    assert state.space is not None and state.space.space_id == "A-T1"


def test_a_card_printed_before_the_public_page_still_opens_its_space(
    synced: tuple[Any, AppContext, PermitDesk],
) -> None:
    _app, context, desk = synced
    context.user = next(iter(p["id"] for p in context.store.references("people")))
    old_card = space_code("ent-a", "A-P1")  # cspermit://space/ent-a/A-P1, on older walls
    outcome = HomePresenter(context, desk).new_permit_from_qr(old_card, "检修")
    assert outcome.ok, outcome.lines()
    assert desk.state(outcome.value).space.space_id == "A-P1"  # type: ignore[union-attr]


def test_a_replaced_card_is_refused_after_the_next_sync(
    synced: tuple[Any, AppContext, PermitDesk],
) -> None:
    app, context, desk = synced
    old = printed_on_card(app, "ent-a", "A-T1", "a-admin")
    sync(context)
    from sync_server.security import Principal, Role
    from sync_server.services import public_codes

    admin = Principal(Role.OPERATOR, "op", "operator")
    with app.state.engine.begin() as conn:
        public_codes.rotate(conn, admin, "ent-a", "A-T1")
    sync(context)
    context.user = next(iter(p["id"] for p in context.store.references("people")))
    refused = HomePresenter(context, desk).new_permit_from_qr(old, "清理")
    assert not refused.ok and desk.permit_ids() == []
    new = printed_on_card(app, "ent-a", "A-T1", "a-admin")
    assert new != old
    assert HomePresenter(context, desk).new_permit_from_qr(new, "清理").ok


def test_another_enterprises_card_is_refused_and_nothing_is_drafted(
    synced: tuple[Any, AppContext, PermitDesk],
) -> None:
    app, context, desk = synced
    payload = printed_on_card(app, "ent-b", "B-S1", "b-admin")
    context.user = next(iter(p["id"] for p in context.store.references("people")))
    outcome = HomePresenter(context, desk).new_permit_from_qr(payload, "清理")
    assert not outcome.ok and outcome.error
    assert desk.permit_ids() == []

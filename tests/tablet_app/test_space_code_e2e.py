"""扫码作业 end to end: the warning card the server prints opens its space on a tablet
that synced that enterprise's ledger, and the card of another enterprise's space does not.

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

from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk
from tablet_app.presenters.home import HomePresenter
from tablet_app.presenters.settings import SettingsPresenter
from tablet_app.store import Store

from .server_rig import enrol_and_sync
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


@pytest.fixture
def synced(server: Any, tmp_path: Path) -> tuple[Any, AppContext, PermitDesk]:  # noqa: F811
    store = Store(tmp_path / "tablet.db")
    context = AppContext(store=store, server_url="http://localhost")
    desk = PermitDesk(context)
    transport = httpx.ASGITransport(app=server)
    settings = SettingsPresenter(context, transport=transport)

    asyncio.run(enrol_and_sync(settings, transport, label="entrance tablet"))
    yield server, context, desk
    store.close()


def test_the_printed_card_opens_its_space_on_the_tablet(
    synced: tuple[Any, AppContext, PermitDesk],
) -> None:
    app, context, desk = synced
    payload = printed_on_card(app, "ent-a", "A-T1", "a-admin")
    leader = next(iter(p["id"] for p in context.store.references("people")))
    context.user = leader
    outcome = HomePresenter(context, desk).new_permit_from_qr(payload, "清理沉淀池")
    assert outcome.ok, outcome.lines()
    state = desk.state(outcome.value)
    assert state.space is not None and state.space.space_id == "A-T1"


def test_another_enterprises_card_is_refused_and_nothing_is_drafted(
    synced: tuple[Any, AppContext, PermitDesk],
) -> None:
    app, context, desk = synced
    payload = printed_on_card(app, "ent-b", "B-S1", "b-admin")
    context.user = next(iter(p["id"] for p in context.store.references("people")))
    outcome = HomePresenter(context, desk).new_permit_from_qr(payload, "清理")
    assert not outcome.ok and outcome.error
    assert desk.permit_ids() == []

"""A tablet enrolled with, and synced from, the real server app in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tablet_app.presenters.settings import SettingsPresenter
from tablet_app.sync_client import SyncClient


async def enrol_and_sync(
    settings: SettingsPresenter,
    transport: httpx.AsyncBaseTransport,
    *,
    admin: tuple[str, str] = ("a-admin", "a-admin-demo"),
    label: str = "test tablet",
) -> None:
    """The enterprise admin issues a one-time code; the tablet's settings screen enrols
    with it and runs one sync round (push, reference pull)."""
    async with SyncClient("http://localhost", transport=transport) as client:
        await client.sign_in(*admin)
        code = await client.create_enrollment_code(label)
    assert await settings.enroll(code), settings.sync_result
    assert await settings.sync_now(), settings.sync_result


def demo_app(workdir: Path) -> Any:
    """The real server app on a temp SQLite file with the demo's accounts and ledger
    (a-admin of ent-a, the sugar mill's people); dispose ``app.state.engine`` after."""
    from cspermit.demo.seed import seed_reference
    from sync_server.app import create_app
    from sync_server.settings import Settings
    from sync_server.storage import make_engine, migrate

    url = f"sqlite:///{workdir / 'server.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    app = create_app(
        Settings(
            db_url=url,
            argon2_time_cost=1,
            argon2_memory_cost_kib=64,
            public_base_url="https://codes.example.cn",  # the cards' 码上查 URLs
        )
    )
    seed_reference(app.state.engine, app.state.passwords)
    return app


async def issue_signon_code(
    transport: httpx.AsyncBaseTransport,
    person_id: str,
    *,
    enterprise_id: str = "ent-a",
    admin: tuple[str, str] = ("a-admin", "a-admin-demo"),
) -> str:
    """The enterprise admin issues ``person_id`` a one-time sign-on code (the API the
    web page's button calls)."""
    async with SyncClient("http://localhost", transport=transport) as client:
        await client.sign_in(*admin)
        r = await client._request(
            "POST", f"/api/v1/enterprises/{enterprise_id}/people/{person_id}/signon-codes"
        )
    return str(r.json()["code"])

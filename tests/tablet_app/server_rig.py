"""A tablet enrolled with, and synced from, the real server app in-process."""

from __future__ import annotations

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

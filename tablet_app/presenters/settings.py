"""Settings: language, sync server, this device, what is waiting to sync."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from permits.reference.rules import reference_rules
from tablet_app.context import AppContext
from tablet_app.i18n import N_, _, get_language
from tablet_app.presenters.home import ledger_age_text
from tablet_app.reference_sync import ledger_pulled_at
from tablet_app.syncing import enroll_device, sync_all

STAGE_TEXT = {
    "events": N_("Sending events"),
    "chunks": N_("Sending readings chunks"),
    "attachments": N_("Sending signatures and photos"),
    "reference": N_("Receiving the ledger"),
}

LANGUAGES = (("zh_CN", "中文"), ("en", "English"))


@dataclass(frozen=True)
class SettingsView:
    title: str
    language: str
    languages: tuple[tuple[str, str], ...]
    server_url: str
    device_id: str
    pending: str
    database: str
    enrolled: str
    server_address: str  # what the address field shows: the enrolled server, if any
    sync_result: str
    progress: str
    ledger_age: str = ""


class SettingsPresenter:
    def __init__(self, context: AppContext, transport: Any = None) -> None:
        self.context = context
        # httpx transport: None for the network; httpx.ASGITransport(app) in tests
        self.transport = transport
        self.sync_result = ""
        self.progress = ""  # what the running sync is doing, e.g. "Sending events 40/120"
        self.syncing = False

    def on_progress(self, progress: Any) -> None:
        stage = _(STAGE_TEXT.get(progress.stage, progress.stage))
        if progress.total is None:
            self.progress = f"{stage}: {progress.done}"
        else:
            self.progress = f"{stage}: {progress.done}/{progress.total}"
        # the home screen shows it too
        self.context.extras["sync_progress"] = self.progress
        listener = self.context.extras.get("on_sync_progress")
        if listener is not None:
            listener()

    def _client(self) -> Any:
        from tablet_app.sync_client import SyncClient

        url = self.context.server_url or self.context.store.get_setting("server_url")
        if not url:
            raise ValueError(_("Set the sync server address first."))
        return SyncClient(
            url,
            token=self.context.store.get_setting("device_token"),
            transport=self.transport,
            progress=self.on_progress,
        )

    async def enroll(self, code: str) -> bool:
        """Trade the one-time code for a device id; events made after carry it."""
        try:
            async with self._client() as client:
                enrollment = await enroll_device(self.context.store, client, code.strip())
        except Exception as exc:  # shown to the person; the store is unchanged
            self.sync_result = _("Enrolment failed: {error}").format(error=exc)
            return False
        self.context.device_id = enrollment.device_id
        # the server this tablet is enrolled with is the one its token is good for
        url = self.context.server_url or self.context.store.get_setting("server_url")
        if url:
            self.context.store.set_setting("server_url", url)
        self.sync_result = _("Enrolled as device {id}").format(id=enrollment.device_id)
        return True

    async def sync_now(self) -> bool:
        if not self.context.store.get_setting("device_token"):
            self.sync_result = _("Not enrolled: enter the one-time code from the safety manager")
            return False
        self.syncing = True
        try:
            async with self._client() as client:
                result = await sync_all(self.context.store, client)
        except Exception as exc:  # offline is normal: everything stays queued
            self.sync_result = _("Sync failed, kept on the tablet: {error}").format(error=exc)
            return False
        finally:
            self.syncing, self.progress = False, ""
            self.context.extras["sync_progress"] = ""
        self.sync_result = _("Sent {n} records; {rejected} refused by the server").format(
            n=result["pushed"] + result["chunks"] + result["attachments"],
            rejected=len(result["rejected"]),
        )
        if result["reports"]["waiting"]:
            self.sync_result += " · " + _(
                "{n} hazard reports kept on the tablet (the server did not take them)"
            ).format(n=result["reports"]["waiting"])
        return not result["rejected"]

    def view(self) -> SettingsView:
        counts = self.context.store.count_waiting()
        server = self.context.server_url or self.context.store.get_setting("server_url", "")
        return SettingsView(
            title=_("Settings"),
            language=get_language(),
            languages=LANGUAGES,
            server_url=server or _("not set (offline only)"),
            device_id=self.context.device_id,
            pending=_(
                "{events} events, {chunks} readings chunks, {attachments} signatures and photos,"
                " {reports} hazard reports not yet acknowledged"
            ).format(**counts),
            database=str(self.context.store.path),
            enrolled=(
                _("Enrolled with {server} as device {id}").format(
                    server=server or _("an unknown server"),
                    id=self.context.store.get_setting("device_id"),
                )
                if self.context.store.get_setting("device_token")
                else _("Not enrolled: enter the one-time code from the safety manager")
            ),
            server_address=server or "",
            sync_result=self.sync_result,
            progress=self.progress,
            ledger_age=self._ledger_age(),
        )

    def _ledger_age(self) -> str:
        pulled = ledger_pulled_at(self.context.store)
        age = None if pulled is None else self.context.now() - pulled
        limit = timedelta(days=reference_rules().ledger.max_age_days)
        return ledger_age_text(age, limit)[0]

    def set_server_url(self, url: str) -> None:
        url = url.strip()
        if url and not url.startswith(("http://", "https://")):
            raise ValueError(_("server address: expected http://… or https://…"))
        self.context.server_url = url or None
        self.context.store.set_setting("server_url", url)

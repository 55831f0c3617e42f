"""Settings: language, sync server, this device, what is waiting to sync."""

from __future__ import annotations

from dataclasses import dataclass

from tablet_app.context import AppContext
from tablet_app.i18n import _, get_language

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


class SettingsPresenter:
    def __init__(self, context: AppContext) -> None:
        self.context = context

    def view(self) -> SettingsView:
        counts = self.context.store.count_unacked()
        server = self.context.server_url or self.context.store.get_setting("server_url", "")
        return SettingsView(
            title=_("Settings"),
            language=get_language(),
            languages=LANGUAGES,
            server_url=server or _("not set (offline only)"),
            device_id=self.context.device_id,
            pending=_("{events} events and {chunks} readings chunks not yet acknowledged").format(
                **counts
            ),
            database=str(self.context.store.path),
        )

    def set_server_url(self, url: str) -> None:
        url = url.strip()
        if url and not url.startswith(("http://", "https://")):
            raise ValueError(_("server address: expected http://… or https://…"))
        self.context.server_url = url or None
        self.context.store.set_setting("server_url", url)

"""The server's gettext domain (zh_CN default, English msgids)."""

from __future__ import annotations

from pathlib import Path

from permits.i18n import make_gettext

gettext = make_gettext("sync_server", Path(__file__).parent / "locale")

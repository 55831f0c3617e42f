"""The server's gettext domain (zh_CN default, English msgids).

``gettext`` follows the process language (the API's messages); ``gettext_for`` is one
language's catalogue, for a page rendered in its reader's language and for the permit
PDF, which is always Chinese.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from permits.i18n import make_gettext, translations

Gettext = Callable[[str], str]

LOCALE_DIR = Path(__file__).resolve().parent / "locale"

gettext = make_gettext("sync_server", LOCALE_DIR)


def gettext_for(language: str) -> Gettext:
    return translations("sync_server", LOCALE_DIR, language).gettext

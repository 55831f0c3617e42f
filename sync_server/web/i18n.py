"""Per-request language for the pages: zh_CN by default, English on request.

The API's messages follow the process language (``permits.i18n``); a page is rendered in
the language its reader chose (``?lang=`` sets the ``cspermit_lang`` cookie), so two
readers of one server can read it in two languages at once. Strings live in the
``sync_server`` domain (``locale/zh_CN/LC_MESSAGES/web.po``).
"""

from __future__ import annotations

from fastapi import Request

from permits.i18n import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES
from sync_server.i18n import Gettext, gettext_for

LANG_COOKIE = "cspermit_lang"


def request_language(request: Request) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return asked if asked in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def request_gettext(request: Request) -> Gettext:
    """The page's translation: its reader's language."""
    return gettext_for(request_language(request))

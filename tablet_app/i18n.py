"""Translation for the tablet app (gettext domain ``tablet_app``), Kivy-free.

The language is process-wide and shared with ``permits`` (refusal messages come
from there), so switching it here switches it there. The Kivy binding that
re-renders ``.kv`` text on a switch lives in :mod:`tablet_app.kv_i18n`.
"""

from __future__ import annotations

from pathlib import Path

from permits.i18n import get_language, make_gettext, set_language

LOCALE_DIR = Path(__file__).parent / "locale"

gettext = make_gettext("tablet_app", LOCALE_DIR)
_ = gettext


def N_(message: str) -> str:
    """Mark a msgid for extraction without translating it yet (translated at display)."""
    return message


__all__ = ["LOCALE_DIR", "N_", "_", "get_language", "gettext", "set_language"]

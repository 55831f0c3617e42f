"""Translation for user-facing text: zh_CN first, English second.

Each package has its own gettext domain and ``locale/`` folder; the catalogues
(.po) are compiled to .mo by ``python -m cspermit.i18n_build`` during set-up.
The language is process-wide: ``CSPERMIT_LANG`` (``zh_CN`` or ``en``), default
``zh_CN``, or :func:`set_language`.
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Callable
from pathlib import Path

SUPPORTED_LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"

_language = os.environ.get("CSPERMIT_LANG", DEFAULT_LANGUAGE)
_cache: dict[tuple[str, str], _gettext.NullTranslations] = {}


def set_language(language: str) -> None:
    global _language
    if language not in SUPPORTED_LANGUAGES:
        raise ValueError(f"language must be one of {SUPPORTED_LANGUAGES}, got {language!r}")
    _language = language


def get_language() -> str:
    return _language


def translations(
    domain: str, localedir: Path, language: str | None = None
) -> _gettext.NullTranslations:
    lang = language or _language
    key = (domain, lang)
    if key not in _cache:
        # fallback=True: a missing catalogue shows the msgid (English) rather than crashing;
        # tests check that every visible string has a zh_CN translation.
        _cache[key] = _gettext.translation(
            domain, localedir=str(localedir), languages=[lang], fallback=True
        )
    return _cache[key]


def make_gettext(domain: str, localedir: Path) -> Callable[[str], str]:
    def gettext(message: str) -> str:
        return translations(domain, localedir).gettext(message)

    return gettext


def make_ngettext(domain: str, localedir: Path) -> Callable[[str, str, int], str]:
    def ngettext(singular: str, plural: str, n: int) -> str:
        return translations(domain, localedir).ngettext(singular, plural, n)

    return ngettext


LOCALE_DIR = Path(__file__).parent / "locale"
gettext = make_gettext("permits", LOCALE_DIR)
ngettext = make_ngettext("permits", LOCALE_DIR)

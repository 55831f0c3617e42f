"""Ids, filter text and times at the API's and the pages' boundary: normalised, then
checked.

An id a person or a tablet sends is NFKC-normalised (a full-width ``ＢＳ１`` is ``BS1``)
and must then be of a safe alphabet: ASCII letters, digits and ``_ . : - @``. Control
characters, spaces and look-alikes (a Cyrillic ``а`` for a Latin ``a``) are refused with a
422 naming the field, so no two ids look the same on a page or in a printed record
(docs/reliability.md, section 8). Free-text filters keep any letter but no control
character (PostgreSQL refuses a NUL in text, which was a 500).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from sync_server.errors import Unprocessable
from sync_server.i18n import gettext as _
from sync_server.storage import parse_iso

ID_MAX = 64
_SAFE_ID = re.compile(r"[A-Za-z0-9_.:@-]+")


def normalised(value: str) -> str:
    return unicodedata.normalize("NFKC", value)


def id_problem(value: str) -> str | None:
    """Why ``value`` (already normalised) is no id, or None."""
    if not value:
        return _("an id may not be empty")
    if len(value) > ID_MAX:
        return _("an id has at most {n} characters").format(n=ID_MAX)
    if _SAFE_ID.fullmatch(value) is None:
        return _("an id has only letters A-Z, digits and _ . : - @")
    return None


def safe_id(value: str, field: str) -> str:
    """``value`` normalised, or a 422 ``ID_INVALID`` naming ``field``."""
    clean = normalised(value)
    problem = id_problem(clean)
    if problem is not None:
        raise Unprocessable(problem, code="ID_INVALID", field=field)
    return clean


def _checked_id(value: str) -> str:
    clean = normalised(value)
    problem = id_problem(clean)
    if problem is not None:
        raise ValueError(problem)
    return clean


def _has_control(value: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cs", "Cf") for c in value)


def _checked_text(value: str) -> str:
    clean = normalised(value)
    if _has_control(clean):
        raise ValueError(_("control characters are not allowed"))
    return clean


def _checked_prose(value: str) -> str:
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in value):
        raise ValueError(_("control characters are not allowed"))
    return value


# Pydantic fields: the error names the field like any other validation error.
SafeId = Annotated[str, AfterValidator(_checked_id)]
FilterText = Annotated[str, Field(max_length=200), AfterValidator(_checked_text)]
# Free text written by people (titles, notes): any letter and line breaks, no NUL.
Prose = Annotated[str, AfterValidator(_checked_prose)]

# A time a person sends (a hazard's deadline): ISO 8601 with an offset, within these years
# (UTC). Past them no plan is plausible, and a time at the calendar's edge had no UTC
# (9999-12-31T23:59-12:00), a 500 where it was stored.
PLAUSIBLE_FROM = datetime(2000, 1, 1, tzinfo=UTC)
PLAUSIBLE_TO = datetime(2100, 1, 1, tzinfo=UTC)


def _checked_time(value: str) -> str:
    try:
        at = parse_iso(value)
    except ValueError as exc:
        raise ValueError(_("expected an ISO 8601 time with an offset")) from exc
    if not PLAUSIBLE_FROM <= at < PLAUSIBLE_TO:
        raise ValueError(_("expected a time between the years 2000 and 2099"))
    return value


PlausibleTime = Annotated[str, AfterValidator(_checked_time)]

"""The code on a space's warning sign (安全风险码上查): one writer, one reader.

The server prints it on the warning card as a QR code; the tablet reads it back to
open that space (扫码作业). Both sides use this module, so what the server prints is
by construction what the tablet accepts (tests/web/test_space_code_e2e.py feeds the
tablet the card the server renders).

Forms read:

- ``cspermit://space/<enterprise_id>/<space_id>`` — what the server prints; ids are
  percent-encoded, so any ledger id survives the trip;
- ``cspermit:space:<space_id>`` — the first tablets' own form (no enterprise);
- an address ending in ``…/enterprises/<enterprise_id>/spaces/<space_id>`` or
  ``…/spaces/<space_id>`` (a link to the ledger page), query and ``/card`` ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from permits.errors import InvalidInput
from permits.i18n import gettext as _

SCHEME_PREFIX = "cspermit://space/"
LEGACY_PREFIX = "cspermit:space:"
# A QR code holds a few hundred characters at the sizes printed; anything longer is
# not one of ours.
MAX_LENGTH = 512


@dataclass(frozen=True)
class SpaceCode:
    space_id: str
    enterprise_id: str | None = None


def space_code(enterprise_id: str, space_id: str) -> str:
    """The text of the QR code printed on the warning sign of one space."""
    return f"{SCHEME_PREFIX}{quote(enterprise_id, safe='')}/{quote(space_id, safe='')}"


def _refuse(got: str) -> InvalidInput:
    return InvalidInput(
        "qr",
        _("a space code from a warning sign (cspermit://space/<enterprise>/<space>)"),
        got[:60],
    )


def _part(text: str, got: str) -> str:
    value = unquote(text).strip()
    if not value or any(ord(c) < 32 or c == "/" for c in value):
        raise _refuse(got)
    return value


def parse_space_code(payload: str) -> SpaceCode:
    """Read a scanned or typed code; :class:`InvalidInput` (field ``qr``) if it is none."""
    text = payload.strip()
    if not text or len(text) > MAX_LENGTH:
        raise _refuse(text)
    if text.startswith(SCHEME_PREFIX):
        parts = text[len(SCHEME_PREFIX) :].split("?")[0].strip("/").split("/")
        if len(parts) != 2:
            raise _refuse(text)
        return SpaceCode(_part(parts[1], text), _part(parts[0], text))
    if text.startswith(LEGACY_PREFIX):
        return SpaceCode(_part(text[len(LEGACY_PREFIX) :], text))
    path = urlsplit(text).path if "://" in text else text
    segments = [s for s in path.split("/") if s]
    if segments and segments[-1] == "card":
        segments.pop()
    if len(segments) >= 2 and segments[-2] == "spaces":
        space_id = _part(segments[-1], text)
        if len(segments) >= 4 and segments[-4] == "enterprises":
            return SpaceCode(space_id, _part(segments[-3], text))
        return SpaceCode(space_id)
    raise _refuse(text)

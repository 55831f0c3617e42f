"""The code on a space's warning sign (安全风险码上查): one writer, one reader.

The server prints it on the warning card as a QR code; the tablet reads it back to
open that space (扫码作业). Both sides use this module, so what the server prints is
by construction what the tablet accepts (tests/web/test_space_code_e2e.py feeds the
tablet the card the server renders).

Forms read:

- ``https://<server>/q/<token>`` — what the server prints (码上查): a phone's camera
  opens the space's public page; the token is random (no id on the card) and the
  tablet resolves it to the space from its synced ledger (``SpaceCode.token``);
- ``cspermit://space/<enterprise_id>/<space_id>`` — what the server printed before the
  public page (cards already on the walls); ids are percent-encoded;
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
PUBLIC_PATH = "/q/"
LEGACY_PREFIX = "cspermit:space:"
# A QR code holds a few hundred characters at the sizes printed; anything longer is
# not one of ours.
MAX_LENGTH = 512


@dataclass(frozen=True)
class SpaceCode:
    """A space named by ids (old cards, ledger links), or only by its public ``token``
    (``space_id`` is then empty until the tablet resolves the token)."""

    space_id: str
    enterprise_id: str | None = None
    token: str | None = None


# A public token: URL-safe base64 (``secrets.token_urlsafe``), at least 128 bits.
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
MIN_TOKEN_LENGTH = 22  # 22 base64 characters carry 132 bits
MAX_TOKEN_LENGTH = 64


def is_token(text: str) -> bool:
    return MIN_TOKEN_LENGTH <= len(text) <= MAX_TOKEN_LENGTH and set(text) <= _TOKEN_CHARS


def public_url(base_url: str, token: str) -> str:
    """The text of the QR code printed on the warning sign: the space's public page."""
    if not is_token(token):
        raise InvalidInput("token", _("a public token of 22 to 64 URL-safe characters"), token)
    return f"{base_url.rstrip('/')}{PUBLIC_PATH}{token}"


def space_code(enterprise_id: str, space_id: str) -> str:
    """The QR text cards carried before the public page (still read: ``parse_space_code``)."""
    return f"{SCHEME_PREFIX}{quote(enterprise_id, safe='')}/{quote(space_id, safe='')}"


def _refuse(got: str) -> InvalidInput:
    return InvalidInput(
        "qr",
        _("a space code from a warning sign (https://<server>/q/<code>)"),
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
    url = urlsplit(text) if "://" in text else None
    path = url.path if url is not None else text
    if url is not None and url.scheme in ("https", "http") and PUBLIC_PATH in path:
        token = path.rsplit(PUBLIC_PATH, 1)[1].strip("/")
        if not is_token(token):
            raise _refuse(text)
        return SpaceCode("", token=token)
    segments = [s for s in path.split("/") if s]
    if segments and segments[-1] == "card":
        segments.pop()
    if len(segments) >= 2 and segments[-2] == "spaces":
        space_id = _part(segments[-1], text)
        if len(segments) >= 4 and segments[-4] == "enterprises":
            return SpaceCode(space_id, _part(segments[-3], text))
        return SpaceCode(space_id)
    raise _refuse(text)

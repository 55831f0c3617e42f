"""The enrolment QR a tablet scans to join a server: one writer, one reader.

The server's devices page prints it (the server's address and a one-time code); the
tablet's settings screen reads it back and fills both fields. Both sides use this
module, so what the server prints is by construction what the tablet accepts
(tests/web/test_people_access.py decodes the page's QR through the tablet's reader).

Forms read:

- ``cspermit://enrol?server=<address>&code=<code>`` — what the server prints; the
  address is percent-encoded, so a server under a path prefix survives the trip;
- ``http(s)://host/…?code=<code>`` — a link carrying the code (its scheme and host
  are the server);
- the bare code as the admin page shows it (typed, or an older printout).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

SCHEME_PREFIX = "cspermit://enrol?"
# A QR code holds a few hundred characters at the sizes printed; anything longer is
# not one of ours.
MAX_LENGTH = 512


@dataclass(frozen=True)
class EnrolmentCode:
    code: str
    server: str | None = None


def enrolment_payload(server: str, code: str) -> str:
    """The text of the enrolment QR: the server's address and the one-time code."""
    return SCHEME_PREFIX + urlencode({"server": server.rstrip("/"), "code": code})


def parse_enrolment_code(payload: str) -> EnrolmentCode:
    """A scanned or typed enrolment code; the server too when the payload names one
    (only an ``http``/``https`` address is taken as a server)."""
    text = payload.strip()[:MAX_LENGTH]
    if "://" not in text:
        return EnrolmentCode(text)
    parts = urlsplit(text)
    query = parse_qs(parts.query)
    code = (query.get("code") or [""])[0].strip()
    if not code:
        return EnrolmentCode(text)
    if text.startswith(SCHEME_PREFIX):
        named = (query.get("server") or [""])[0].strip()
        ok = named.startswith(("http://", "https://"))
        return EnrolmentCode(code, named.rstrip("/") if ok else None)
    host = f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else None
    return EnrolmentCode(code, host)

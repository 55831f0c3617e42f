"""码上查: each space's public token (the QR on its warning card), what the public page
shows of the space and its status now, and when the enterprise's tablets last reached the
server (docs/server.md, "The public page").

The status is the core's fold of the space's open permits (``domain.replay_chain``, the
same replay the server runs on every push), read at the time of the page: never a
second fold. Nothing here answers "safe": a status is information, entry is the
guardian's decision, and stale data is "unknown", not "no permit".
"""

from __future__ import annotations

import re
import secrets
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from permits.space_code import public_url
from sync_server.errors import NotFound, Unprocessable
from sync_server.i18n import gettext as _
from sync_server.schema import devices, enterprises, permits, space_public_codes
from sync_server.security import Principal
from sync_server.services import audit, public_folds
from sync_server.services import enterprises as enterprise_service
from sync_server.services import names as names_service
from sync_server.services import reference as ref
from sync_server.services.permits import OPEN_NOW
from sync_server.services.reference import Kind
from sync_server.services.tenancy import require_admin_of
from sync_server.storage import now_iso, parse_iso

CONFIG: dict[str, Any] = tomllib.loads(
    Path(__file__).with_name("public_page.toml").read_text(encoding="utf-8")
)
STALE_AFTER = timedelta(minutes=int(CONFIG["status"]["stale_after_minutes"]))
# Permit statuses (the ``permits`` summary) whose chain the page folds; the fold then says
# whether the permit still stands at the page's time (validity may have run out since).
OPEN_STATUSES = OPEN_NOW
# An enterprise's emergency phone (the onboarding page and the public desk check it so).
PHONE = re.compile(r"[0-9+() -]{3,40}")
EVACUATING = "evacuating"


def new_token() -> str:
    # 18 random bytes: 144 bits, 24 URL-safe characters (≥ 128 bits, issue 17).
    return secrets.token_urlsafe(18)


# ----------------------------------------------------------------- tokens


def current_token(conn: Connection, enterprise_id: str, space_id: str) -> str | None:
    row = conn.execute(
        sa.select(space_public_codes.c.token).where(
            space_public_codes.c.enterprise_id == enterprise_id,
            space_public_codes.c.space_id == space_id,
            space_public_codes.c.replaced_at.is_(None),
            space_public_codes.c.revoked_at.is_(None),
        )
    ).first()
    return None if row is None else str(row.token)


def _insert(conn: Connection, enterprise_id: str, space_id: str) -> str:
    token = new_token()
    conn.execute(
        space_public_codes.insert().values(
            token=token, enterprise_id=enterprise_id, space_id=space_id, created_at=now_iso()
        )
    )
    return token


def _issue(conn: Connection, who: Principal, enterprise_id: str, space_id: str) -> str:
    token = _insert(conn, enterprise_id, space_id)
    audit.record(
        conn,
        who,
        "public_code.issue",
        "space",
        space_id,
        enterprise_id=enterprise_id,
        before=None,
        after={"token": token[:4] + "…"},
    )
    return token


def issue_first(conn: Connection, who: Principal, enterprise_id: str, space_id: str) -> None:
    """A space saved for the first time gets its token (audit-logged); one that has had a
    token keeps what it has: a withdrawn code is not brought back by an edit."""
    # Every change of a space's code reads the current one first: the enterprise's row
    # is held so that two at once (a double click) run one after the other, never
    # both past the read into the one-current-code index.
    enterprise_service.lock(conn, enterprise_id)
    had = conn.execute(
        sa.select(space_public_codes.c.token).where(
            space_public_codes.c.enterprise_id == enterprise_id,
            space_public_codes.c.space_id == space_id,
        )
    ).first()
    if had is None:
        _issue(conn, who, enterprise_id, space_id)


def issue(conn: Connection, who: Principal, enterprise_id: str, space_id: str) -> str:
    """The space's code, issued by the admin where it has none (a space entered before
    codes were made on saving, or one whose code was withdrawn). Audit-logged."""
    require_admin_of(conn, who, enterprise_id)
    enterprise_service.lock(conn, enterprise_id)
    ref.get(conn, enterprise_id, Kind.SPACE, space_id)  # NotFound for no such space
    return current_token(conn, enterprise_id, space_id) or _issue(
        conn, who, enterprise_id, space_id
    )


def rotate(conn: Connection, who: Principal, enterprise_id: str, space_id: str) -> str:
    """A new token for the space (a card was copied, or misused): the old QR then opens a
    page saying the code has been replaced. Audit-logged."""
    require_admin_of(conn, who, enterprise_id)
    enterprise_service.lock(conn, enterprise_id)
    ref.get(conn, enterprise_id, Kind.SPACE, space_id)
    old = current_token(conn, enterprise_id, space_id)
    if old is not None:
        conn.execute(
            space_public_codes.update()
            .where(space_public_codes.c.token == old)
            .values(replaced_at=now_iso())
        )
    token = _insert(conn, enterprise_id, space_id)
    audit.record(
        conn,
        who,
        "public_code.rotate",
        "space",
        space_id,
        enterprise_id=enterprise_id,
        before={"token": old[:4] + "…" if old else None},
        after={"token": token[:4] + "…"},
    )
    return token


def revoke(conn: Connection, who: Principal, enterprise_id: str, space_id: str) -> None:
    """Withdraw the space's code without a new one (the space is out of use)."""
    require_admin_of(conn, who, enterprise_id)
    enterprise_service.lock(conn, enterprise_id)
    old = current_token(conn, enterprise_id, space_id)
    if old is None:
        raise NotFound(_("this space has no public code to withdraw"), code="NOT_FOUND")
    conn.execute(
        space_public_codes.update()
        .where(space_public_codes.c.token == old)
        .values(revoked_at=now_iso())
    )
    audit.record(
        conn,
        who,
        "public_code.revoke",
        "space",
        space_id,
        enterprise_id=enterprise_id,
        before={"token": old[:4] + "…"},
        after=None,
    )


def card_url(conn: Connection, base_url: str | None, enterprise_id: str, space_id: str) -> str:
    """What the warning card's QR encodes. Fails closed without the server's public
    address: a card printed with a guessed one would open nowhere for years."""
    if not base_url or not base_url.startswith(("https://", "http://")):
        raise Unprocessable(
            _(
                "The server's public address is not set, so no warning card can be printed: "
                "a phone would not open its QR code. The operator sets CSPERMIT_PUBLIC_BASE_URL "
                "(e.g. https://codes.example.gov.cn) and restarts the server."
            ),
            code="PUBLIC_BASE_URL_MISSING",
            field="public_base_url",
        )
    # A read never makes a token: issuing one is a write with its audit entry.
    token = current_token(conn, enterprise_id, space_id)
    if token is None:
        raise Unprocessable(
            _(
                "This space has no public code yet, so no warning card can be printed: the "
                "enterprise's admin issues one on the enterprise's public page (码上查)."
            ),
            code="PUBLIC_CODE_MISSING",
            field="space_id",
        )
    return public_url(base_url, token)


@dataclass(frozen=True)
class Resolved:
    """What a scanned token names: ``current``, ``replaced``, ``revoked`` or ``unknown``."""

    state: str
    enterprise_id: str = ""
    space_id: str = ""


def resolve(conn: Connection, token: str) -> Resolved:
    row = conn.execute(
        sa.select(space_public_codes).where(space_public_codes.c.token == token)
    ).first()
    if row is None:
        return Resolved("unknown")
    if row.revoked_at is not None:
        return Resolved("revoked")
    if row.replaced_at is not None:
        return Resolved("replaced")
    return Resolved("current", row.enterprise_id, row.space_id)


def tablet_codes(conn: Connection, enterprise_id: str) -> list[dict[str, str]]:
    """The enterprise's current tokens, for its tablets' reference pull: a tablet opens the
    space of a scanned card from these (``permits.space_code``), offline."""
    rows = conn.execute(
        sa.select(space_public_codes.c.token, space_public_codes.c.space_id)
        .where(
            space_public_codes.c.enterprise_id == enterprise_id,
            space_public_codes.c.replaced_at.is_(None),
            space_public_codes.c.revoked_at.is_(None),
        )
        .order_by(space_public_codes.c.space_id)
    )
    return [{"token": r.token, "space_id": r.space_id} for r in rows]


def codes_of(conn: Connection, enterprise_id: str) -> dict[str, str]:
    """Space id → current token, for the enterprise's own page."""
    return {c["space_id"]: c["token"] for c in tablet_codes(conn, enterprise_id)}


# ----------------------------------------------------------------- tablets' contact


def last_contact(conn: Connection, enterprise_id: str) -> datetime | None:
    value = conn.execute(
        sa.select(sa.func.max(devices.c.last_sync_at)).where(
            devices.c.enterprise_id == enterprise_id, devices.c.revoked_at.is_(None)
        )
    ).scalar_one()
    return None if value is None else parse_iso(str(value))


# ----------------------------------------------------------------- what the page shows

_PHONE = re.compile(r"(?<!\d)(\+?\d[\d\- ]{5,}\d)(?!\d)")


def mask_name(name: str) -> str:
    """张三 → 张*, 王小明 → 王**: the surname only, never the name's length past two
    (a stranger at the entrance)."""
    name = name.strip()
    return name[:1] + "*" * min(2, max(1, len(name) - 1)) if name else ""


def scrub(text: str, full_names: dict[str, str]) -> str:
    """Free ledger text for the public: known people's names masked, phone-like digit
    runs masked (only the enterprise's emergency phone is shown whole)."""
    for full, masked in sorted(full_names.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(full, masked)
    return _PHONE.sub(lambda m: m.group(1)[:3] + "****", text)


def _open_permit_states(
    conn: Connection, enterprise_id: str, space_id: str, now: datetime
) -> list[tuple[Any, Any]]:
    """(permits row, the core's summary at ``now``) of the space's permits that stand."""
    rows = conn.execute(
        sa.select(permits).where(
            permits.c.enterprise_id == enterprise_id,
            permits.c.space_id == space_id,
            permits.c.status.in_(OPEN_STATUSES),
        )
    )
    out = []
    for row in rows:
        summary = public_folds.summary_at(conn, row, now)
        if summary is not None and summary.status in OPEN_STATUSES:
            out.append((row, summary))
    return out


def _job(row: Any, summary: Any, names: dict[str, str]) -> dict[str, Any]:
    state = summary.state
    guardian = getattr(state, "guardian", None) or getattr(state, "fire_watcher", None)
    people = getattr(state, "people", {}) or {}
    guardian_name = ""
    if guardian:
        snapshot = people.get(guardian)
        guardian_name = getattr(snapshot, "name", "") or names.get(guardian, "")
    expires = getattr(state, "expires_at", None)
    return {
        "permit_type": row.permit_type,
        "status": summary.status,
        "valid_until": expires.isoformat() if expires else None,
        "guardian": mask_name(guardian_name) if guardian_name else "",
        "inside": len(getattr(state, "inside", ()) or ()),
    }


def status_now(
    conn: Connection, enterprise_id: str, space_id: str, now: datetime | None = None
) -> dict[str, Any]:
    """``state``: ``unknown`` (the enterprise's tablets have not reached the server within
    the limit: the data may be old), ``evacuating``, ``active`` (with each standing
    permit's type, validity, masked guardian and how many are inside) or ``none``."""
    now = now or datetime.now(UTC)
    contact = last_contact(conn, enterprise_id)
    base: dict[str, Any] = {"last_contact": now_iso(contact) if contact else None, "jobs": []}
    if contact is None or now - contact > STALE_AFTER:
        return {**base, "state": "unknown", "stale_minutes": int(STALE_AFTER.total_seconds() // 60)}
    names = names_service.person_names(conn, enterprise_id)
    jobs = [
        _job(row, s, names) for row, s in _open_permit_states(conn, enterprise_id, space_id, now)
    ]
    if any(j["status"] == EVACUATING for j in jobs):
        state = "evacuating"
    elif jobs:
        state = "active"
    else:
        state = "none"
    return {**base, "state": state, "jobs": jobs}


def _lines(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if str(v).strip()]
    return []


def public_view(conn: Connection, token: str, now: datetime | None = None) -> dict[str, Any]:
    """Everything the public page shows for a token: nothing but the one space's card and
    status (no id, no full name, no phone but the enterprise's emergency phone)."""
    found = resolve(conn, token)
    if found.state != "current":
        return {"code": found.state}
    eid, space_id = found.enterprise_id, found.space_id
    item = ref.find(conn, eid, Kind.SPACE, space_id)
    if item is None:
        return {"code": "revoked"}
    ent = conn.execute(
        sa.select(enterprises.c.name, enterprises.c.data, enterprises.c.emergency_phone).where(
            enterprises.c.enterprise_id == eid
        )
    ).one()
    names = names_service.person_names(conn, eid)
    masks = {n: mask_name(n) for n in names.values() if n}
    space = item.data
    four = space.get("four_lists") or {}
    emergency = _lines(four.get("emergency_response")) or _lines(
        (ent.data or {}).get("emergency_response")
    )
    responsible = [
        mask_name(names[p]) if names.get(p) else scrub(p, masks)
        for p in _lines(four.get("responsible_persons"))
    ]
    return {
        "code": "current",
        "enterprise": scrub(ent.name, masks),
        "emergency_phone": ent.emergency_phone or "",
        "space": {
            "name": scrub(str(space.get("name", "")), masks),
            "location": scrub(str(space.get("location", "")), masks),
            "type": space.get("type", ""),
            "hazards": list(space.get("hazards") or ()),
            "required_ppe": list(space.get("required_ppe") or ()),
            "rescue_equipment": list(space.get("rescue_equipment") or ()),
        },
        "responsible": responsible,
        "emergency_response": [scrub(x, masks) for x in emergency],
        "status": status_now(conn, eid, space_id, now),
    }


def set_emergency_phone(conn: Connection, who: Principal, enterprise_id: str, phone: str) -> None:
    """The enterprise's emergency phone, shown whole on its public pages (a number to
    call, not a person's)."""
    require_admin_of(conn, who, enterprise_id)
    phone = phone.strip()
    if phone and not PHONE.fullmatch(phone):
        raise Unprocessable(
            _("expected a phone number: digits, spaces, + ( ) and - (3 to 40 characters)"),
            code="INVALID_INPUT",
            field="emergency_phone",
        )
    before = conn.execute(
        sa.select(enterprises.c.emergency_phone).where(enterprises.c.enterprise_id == enterprise_id)
    ).scalar_one_or_none()
    conn.execute(
        enterprises.update()
        .where(enterprises.c.enterprise_id == enterprise_id)
        .values(emergency_phone=phone or None, updated_at=now_iso())
    )
    audit.record(
        conn,
        who,
        "enterprise.emergency_phone",
        "enterprise",
        enterprise_id,
        enterprise_id=enterprise_id,
        before={"emergency_phone": before},
        after={"emergency_phone": phone or None},
    )

"""Tablets enrolled from the web: pending enrolment codes listed and revoked, the
enterprise's tablets with their last sync and ledger age, and what a tablet's sync
tells the server about itself.

The code itself is made and traded by ``services.accounts`` (``create_enrollment_code``,
``enroll_device``); the QR the page prints is the core's format
(``permits.enrolment_code``), the one the tablet reads.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from permits.reference.rules import reference_rules
from sync_server.errors import NotFound
from sync_server.i18n import gettext as _
from sync_server.schema import devices, enrollment_codes
from sync_server.security import Principal
from sync_server.services import accounts, audit, one_time_codes
from sync_server.settings import Settings
from sync_server.storage import autocommit, now_iso, parse_iso

PENDING = "pending"


def create_code(
    conn: Connection, settings: Settings, who: Principal, enterprise_id: str, label: str
) -> tuple[str, str]:
    """A one-time code for the tablet called ``label``: (code, expires_at), audited."""
    code, expires = accounts.create_enrollment_code(conn, settings, who, enterprise_id, label)
    audit.record(
        conn,
        who,
        "enrollment.create",
        "enrollment",
        label,
        enterprise_id=enterprise_id,
        after={"label": label, "expires_at": expires},
    )
    return code, expires


def revoke_device(conn: Connection, who: Principal, enterprise_id: str, device_id: str) -> None:
    """Revoke one of the enterprise's tablets (another enterprise's is 404); audited."""
    row = accounts.device_row(conn, device_id)
    if row.enterprise_id != enterprise_id:
        raise NotFound(_("not found"), code="NOT_FOUND")
    if row.revoked_at is not None:
        return
    accounts.revoke_device(conn, device_id)
    audit.record(
        conn,
        who,
        "device.revoke",
        "device",
        device_id,
        enterprise_id=enterprise_id,
        before={"label": row.label},
        after={"revoked": True},
    )


def code_state(row: Any, now: datetime) -> str:
    return one_time_codes.state_of(row, now, PENDING)


def codes_of(conn: Connection, enterprise_id: str, *, pending_only: bool = False) -> list[Any]:
    """The enterprise's enrolment codes, newest first, with their state (never the code)."""
    now = datetime.now(UTC)
    rows = conn.execute(
        sa.select(enrollment_codes)
        .where(enrollment_codes.c.enterprise_id == enterprise_id)
        .order_by(enrollment_codes.c.created_at.desc())
    )
    out = [
        {
            "code_id": r.code_id,
            "label": r.label,
            "created_at": r.created_at,
            "expires_at": r.expires_at,
            "used_at": r.used_at,
            "revoked_at": r.revoked_at,
            "device_id": r.device_id,
            "state": code_state(r, now),
        }
        for r in rows
    ]
    return [c for c in out if c["state"] == PENDING] if pending_only else out


def revoke_code(conn: Connection, who: Principal, enterprise_id: str, code_id: str) -> bool:
    """Revoke a pending code: a tablet presenting it is refused (ENROLLMENT_CODE_REVOKED).
    False when it is used, revoked already or not the enterprise's (nothing changes)."""
    return one_time_codes.revoke_open(
        conn, who, enrollment_codes, enterprise_id, code_id, "enrollment"
    )


def device_list(conn: Connection, enterprise_id: str) -> list[dict[str, Any]]:
    """The enterprise's tablets, newest first: label, state, last sync, ledger age (in
    days, judged against the ledger's age limit the tablets apply, docs/rules.md)."""
    now = datetime.now(UTC)
    limit_days = reference_rules().ledger.max_age_days
    rows = conn.execute(
        sa.select(devices)
        .where(devices.c.enterprise_id == enterprise_id)
        .order_by(devices.c.enrolled_at.desc())
    )
    out = []
    for r in rows:
        age_days = None
        if r.ledger_pulled_at:
            age_days = (now - parse_iso(r.ledger_pulled_at)).total_seconds() / 86400
        out.append(
            {
                "device_id": r.device_id,
                "label": r.label,
                "enrolled_at": r.enrolled_at,
                "revoked_at": r.revoked_at,
                "last_sync_at": r.last_sync_at,
                "ledger_pulled_at": r.ledger_pulled_at,
                "ledger_age_days": age_days,
                "ledger_stale": age_days is None or age_days > limit_days,
                "state": "revoked" if r.revoked_at else "active",
            }
        )
    return out


# A tablet's last sync is written at most this often (a push of many batches is one
# write); a pull of the whole ledger is always written, with its time.
SEEN_EVERY = timedelta(seconds=60)
# Built once: every push runs it (building the statement cost as much as its round trip).
_SEEN_IF_DUE = (
    devices.update()
    .where(
        devices.c.device_id == sa.bindparam("device"),
        sa.or_(devices.c.last_sync_at.is_(None), devices.c.last_sync_at <= sa.bindparam("due")),
    )
    .values(last_sync_at=sa.bindparam("at"))
)


def seen(
    conn: Connection, device: Principal, *, pulled_ledger: bool = False, now: datetime | None = None
) -> None:
    """A tablet synced (pushed or pulled); ``pulled_ledger``: it pulled the ledger. The
    one writer of ``devices.last_sync_at``: the tablets page shows it, the public page's
    状态未知 reads it."""
    if not device.is_device:
        return
    now = now or datetime.now(UTC)
    stamp = now_iso(now)
    if pulled_ledger:
        conn.execute(
            devices.update()
            .where(devices.c.device_id == device.subject_id)
            .values(last_sync_at=stamp, ledger_pulled_at=stamp)
        )
        return
    # One statement, no read first (a round trip fewer a push, docs/performance.md, wave
    # 8): written only when the last is older than SEEN_EVERY. Every value is this
    # function's ``now_iso`` (UTC, fixed width), so the text compares as the time does.
    conn.execute(
        _SEEN_IF_DUE, {"device": device.subject_id, "due": now_iso(now - SEEN_EVERY), "at": stamp}
    )


def touch(engine: Engine, device: Principal) -> None:
    """``seen`` on a connection of its own (a push runs its own transactions per batch),
    its one statement its own transaction."""
    if device.is_device:
        with autocommit(engine) as conn:
            seen(conn, device)

"""Readings chunks and attachments: content-addressed by SHA-256, per enterprise."""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server.errors import BadRequest, NotFound, Unprocessable
from sync_server.i18n import gettext as _
from sync_server.schema import blobs
from sync_server.storage import now_iso

KINDS = ("chunk", "attachment")


def check_digest(sha256: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise BadRequest(
            _("expected a lower-case hex SHA-256 of 64 characters"),
            code="DIGEST_INVALID",
            field="sha256",
        )
    return sha256


def put(
    conn: Connection,
    enterprise_id: str,
    kind: str,
    sha256: str,
    data: bytes,
    content_type: str,
    device_id: str | None,
) -> bool:
    """Store; True when new, False when already there (idempotent)."""
    check_digest(sha256)
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise Unprocessable(
            _("the body's SHA-256 is {actual}, not the one in the path").format(actual=actual),
            code="HASH_MISMATCH",
            field="sha256",
        )
    key = (blobs.c.enterprise_id == enterprise_id, blobs.c.kind == kind, blobs.c.sha256 == sha256)
    if conn.execute(sa.select(blobs.c.size).where(*key)).first() is not None:
        return False
    conn.execute(
        blobs.insert().values(
            enterprise_id=enterprise_id,
            kind=kind,
            sha256=sha256,
            size=len(data),
            content_type=content_type,
            data=data,
            device_id=device_id,
            received_at=now_iso(),
        )
    )
    return True


def get(conn: Connection, enterprise_id: str, kind: str, sha256: str) -> sa.Row[tuple[bytes, str]]:
    row = conn.execute(
        sa.select(blobs.c.data, blobs.c.content_type).where(
            blobs.c.enterprise_id == enterprise_id, blobs.c.kind == kind, blobs.c.sha256 == sha256
        )
    ).first()
    if row is None:
        raise NotFound(_("not found"), code="NOT_FOUND")
    return row


def have(conn: Connection, enterprise_id: str, kind: str, digests: list[str]) -> set[str]:
    rows = conn.execute(
        sa.select(blobs.c.sha256).where(
            blobs.c.enterprise_id == enterprise_id,
            blobs.c.kind == kind,
            blobs.c.sha256.in_(digests),
        )
    )
    return {r[0] for r in rows}

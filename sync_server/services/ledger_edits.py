"""One write path for a ledger item, whoever writes it (the JSON API, the web forms):
the admin's check, the item and its version (``reference.upsert``), the audit entry,
and for a space the automatic hazards that follow the ledger (docs/server.md,
"Hazards"). A deletion is a tombstone the tablets pull.

The written delegation's scan is an attachment blob of the enterprise (``blobs``),
named in the delegation's ``document_ref`` by its SHA-256, so the tablet and the
ledger's history carry the same reference (``Delegation.document_ref`` is free text).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlalchemy.engine import Connection

from sync_server.security import Principal
from sync_server.services import audit, blobs
from sync_server.services import hazards as hazard_service
from sync_server.services import reference as ref
from sync_server.services.reference import Kind
from sync_server.services.tenancy import require_admin_of

# "授权委托书 2026-01 [sha256:…]": the document's number, then the stored scan.
_ATTACHED = re.compile(r"^(?P<text>.*?)\s*\[sha256:(?P<sha>[0-9a-f]{64})\]$", re.S)


def save(
    conn: Connection,
    who: Principal,
    enterprise_id: str,
    kind: Kind,
    item_id: str,
    data: dict[str, Any],
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Create or replace one item as ``who``; return (before, after)."""
    require_admin_of(conn, who, enterprise_id)
    before, after = ref.upsert(conn, enterprise_id, kind, item_id, data, changed_by=who.name)
    audit.record(
        conn,
        who,
        f"{kind.value}.put",
        kind.value,
        item_id,
        enterprise_id=enterprise_id,
        before=before,
        after=after,
    )
    if kind is Kind.SPACE:
        hazard_service.follow_ledger(conn, who, enterprise_id, item_id, after)
    return before, after


def remove(
    conn: Connection, who: Principal, enterprise_id: str, kind: Kind, item_id: str
) -> dict[str, Any]:
    """Delete one item (a tombstone) as ``who``; return what it was."""
    require_admin_of(conn, who, enterprise_id)
    before = ref.delete(conn, enterprise_id, kind, item_id, changed_by=who.name)
    audit.record(
        conn,
        who,
        f"{kind.value}.delete",
        kind.value,
        item_id,
        enterprise_id=enterprise_id,
        before=before,
        after=None,
    )
    return before


def carried_over(before: dict[str, Any] | None, on_form: set[str]) -> dict[str, Any]:
    """What a form does not show of a stored item and must keep (a person's PIN hash):
    a form replaces only the fields it has."""
    return {k: v for k, v in (before or {}).items() if k not in on_form}


def attach(conn: Connection, enterprise_id: str, data: bytes, content_type: str) -> str:
    """Store a document's scan (idempotent); return its SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    blobs.put(conn, enterprise_id, "attachment", sha, data, content_type, None)
    return sha


def with_attachment(text: str, sha256: str | None) -> str:
    """The ``document_ref`` naming the document and, when there is one, its scan."""
    return f"{text.strip()} [sha256:{sha256}]".strip() if sha256 else text.strip()


def split_attachment(document_ref: str) -> tuple[str, str | None]:
    """(the document's number or name, the SHA-256 of its stored scan or None)."""
    m = _ATTACHED.match(document_ref or "")
    return (m.group("text"), m.group("sha")) if m else (document_ref or "", None)

"""Reference data: the ledger (spaces), people, training, certificates, contractors,
detectors, written delegations, the default profile and profile overrides. One row per
item; deletions are tombstones so tablets pulling since a cursor learn of them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server import domain
from sync_server.errors import NotFound, Unprocessable
from sync_server.i18n import Gettext
from sync_server.i18n import gettext as _
from sync_server.schema import enterprises, hazards, reference_items
from sync_server.services import ledger_catalogue, ledger_history
from sync_server.services import simops as simops_service
from sync_server.storage import next_rev, now_iso


class Kind(StrEnum):
    SPACE = "spaces"
    PERSON = "people"
    TRAINING = "training"
    CERTIFICATE = "certificates"
    CONTRACTOR = "contractors"
    DETECTOR = "detectors"
    PROFILE_OVERRIDE = "profile-overrides"
    # A principal's written delegation to approve (MEM13 Art. 7; permits.reference.Delegation).
    DELEGATION = "delegations"
    # The enterprise's default atmosphere profile, one item ``default``: {"profile": name}.
    # A space's own ``profile`` wins; the enterprise's override of the resolved profile
    # (``profile-overrides``, one per base profile) is applied on top.
    DEFAULT_PROFILE = "default-profile"


def validate(kind: Kind, item_id: str, data: dict[str, Any], enterprise_id: str) -> dict[str, Any]:
    """The permit core's model checks the item; its errors become a 422 naming the first
    field (``field``, ``code``) and, in ``errors``, every invalid field by its label."""
    try:
        return domain.validate_reference(kind.value, item_id, data, enterprise_id)
    except domain.ReferenceInvalid as exc:
        every = ledger_catalogue.validate_all(kind.value, item_id, data, enterprise_id)
        raise Unprocessable(
            exc.message,
            code=exc.code,
            field=exc.field,
            extra={"errors": [e.as_json() for e in every]},
        ) from exc


def get(conn: Connection, enterprise_id: str, kind: Kind, item_id: str) -> Any:
    row = conn.execute(
        sa.select(reference_items).where(
            reference_items.c.enterprise_id == enterprise_id,
            reference_items.c.kind == kind.value,
            reference_items.c.item_id == item_id,
        )
    ).first()
    if row is None or row.deleted:
        raise NotFound(_("not found"), code="NOT_FOUND")
    return row


def find(conn: Connection, enterprise_id: str, kind: Kind, item_id: str) -> Any | None:
    try:
        return get(conn, enterprise_id, kind, item_id)
    except NotFound:
        return None


def upsert(
    conn: Connection,
    enterprise_id: str,
    kind: Kind,
    item_id: str,
    data: dict[str, Any],
    changed_by: str = "",
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Write one item and a version of it (``ledger_history``); return (before, after)."""
    clean = validate(kind, item_id, data, enterprise_id)
    if kind is Kind.PROFILE_OVERRIDE:
        _one_override_per_base(conn, enterprise_id, item_id, clean)
    key = (
        reference_items.c.enterprise_id == enterprise_id,
        reference_items.c.kind == kind.value,
        reference_items.c.item_id == item_id,
    )
    row = conn.execute(sa.select(reference_items).where(*key)).first()
    values = {"data": clean, "deleted": False, "rev": next_rev(conn), "updated_at": now_iso()}
    ledger_history.record(
        conn,
        enterprise_id,
        kind.value,
        item_id,
        clean,
        changed_by=changed_by,
        at=values["updated_at"],
        rev=values["rev"],
    )
    if row is None:
        conn.execute(
            reference_items.insert().values(
                enterprise_id=enterprise_id, kind=kind.value, item_id=item_id, **values
            )
        )
        return None, clean
    conn.execute(reference_items.update().where(*key).values(**values))
    return (None if row.deleted else row.data), clean


def override_bases(conn: Connection, enterprise_id: str) -> dict[str, Any]:
    """The enterprise's profile overrides: override id → the base profile it tightens."""
    return {
        r.item_id: r.data.get("base")
        for r in list_items(conn, enterprise_id, Kind.PROFILE_OVERRIDE)
    }


def override_clash(
    bases: dict[str, Any], item_id: str, base: Any, gettext: Gettext = _
) -> str | None:
    """Why override ``item_id`` of ``base`` cannot stand beside ``bases`` (id → base, the
    ledger as it would be), or None. A permit carries one override of its profile: two
    for the same base would leave the tablet to choose which one tightens (docs/rules.md,
    Profiles)."""
    other = next((o for o, b in sorted(bases.items()) if b == base and o != item_id), None)
    if other is None:
        return None
    return gettext("the enterprise already overrides {base} with {other}: change that one").format(
        base=base, other=other
    )


def _one_override_per_base(
    conn: Connection, enterprise_id: str, item_id: str, clean: dict[str, Any]
) -> None:
    clash = override_clash(override_bases(conn, enterprise_id), item_id, clean["base"])
    if clash is not None:
        raise Unprocessable(clash, code="PROFILE_OVERRIDE_DUPLICATE", field="base")


def delete(
    conn: Connection, enterprise_id: str, kind: Kind, item_id: str, changed_by: str = ""
) -> dict[str, Any]:
    row = get(conn, enterprise_id, kind, item_id)
    rev, at = next_rev(conn), now_iso()
    conn.execute(
        reference_items.update()
        .where(
            reference_items.c.enterprise_id == enterprise_id,
            reference_items.c.kind == kind.value,
            reference_items.c.item_id == item_id,
        )
        .values(deleted=True, rev=rev, updated_at=at)
    )
    ledger_history.record(
        conn, enterprise_id, kind.value, item_id, None, changed_by=changed_by, at=at, rev=rev
    )
    before: dict[str, Any] = row.data
    return before


def list_items(conn: Connection, enterprise_id: str, kind: Kind) -> list[Any]:
    return list(
        conn.execute(
            sa.select(reference_items)
            .where(
                reference_items.c.enterprise_id == enterprise_id,
                reference_items.c.kind == kind.value,
                reference_items.c.deleted.is_(False),
            )
            .order_by(reference_items.c.item_id)
        )
    )


def changes_since(conn: Connection, enterprise_id: str, cursor: int, limit: int) -> dict[str, Any]:
    """Everything a tablet of ``enterprise_id`` needs that changed after ``cursor``."""
    items = list(
        conn.execute(
            sa.select(reference_items)
            .where(reference_items.c.enterprise_id == enterprise_id, reference_items.c.rev > cursor)
            .order_by(reference_items.c.rev)
            .limit(limit + 1)
        )
    )
    more = len(items) > limit
    items = items[:limit]
    # Hazards and the enterprise record ride along up to the same revision, so one cursor
    # covers all three without skipping anything.
    upto = items[-1].rev if more else None
    hz_q = sa.select(hazards).where(
        hazards.c.enterprise_id == enterprise_id, hazards.c.rev > cursor
    )
    ent_q = sa.select(enterprises).where(
        enterprises.c.enterprise_id == enterprise_id, enterprises.c.rev > cursor
    )
    if upto is not None:
        hz_q = hz_q.where(hazards.c.rev <= upto)
        ent_q = ent_q.where(enterprises.c.rev <= upto)
    hz = list(conn.execute(hz_q.order_by(hazards.c.rev)))
    ent = conn.execute(ent_q).first()
    revs = [r.rev for r in items] + [h.rev for h in hz] + ([ent.rev] if ent else [])
    new_cursor = max([cursor, *revs])
    return {
        "cursor": new_cursor,
        "more": more,
        "enterprise": None
        if ent is None
        else {
            "enterprise_id": ent.enterprise_id,
            "name": ent.name,
            "credit_code": ent.credit_code,
            "jurisdiction": ent.jurisdiction,
            "details": ent.data,
        },
        "items": [
            {
                "kind": r.kind,
                "item_id": r.item_id,
                "deleted": bool(r.deleted),
                "data": None if r.deleted else r.data,
                "rev": r.rev,
            }
            for r in items
        ],
        "hazards": [hazard_summary(h) for h in hz],
        "profiles": domain.profile_names(),
        # The SIMOPS conflicts standing now across the enterprise's tablets (not by
        # cursor: the whole list, small, replaced on every pull).
        "simops": simops_service.standing(conn, enterprise_id),
    }


def hazard_summary(h: Any) -> dict[str, Any]:
    return {
        "hazard_id": h.hazard_id,
        "enterprise_id": h.enterprise_id,
        "source": h.source,
        "category": h.category,
        "status": h.status,
        "title": h.title,
        "space_id": h.space_id,
        "permit_id": h.permit_id,
        "rule_code": h.rule_code,
        "deadline": h.deadline,
        "created_at": h.created_at,
        "updated_at": h.updated_at,
        "rev": h.rev,
    }

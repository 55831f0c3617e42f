"""Permit history for enterprises and the bureau: the search, the trace (every event,
readings held, chain verification, findings, conflicts, hazards, notes), the verifiable
export that ``cspermit permit verify`` accepts, and forked chains kept for review.

Every read goes through the tenancy scope (``services.tenancy``): another tenant's
permit is NotFound, never Forbidden (its existence is not disclosed).
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection

from permits.hot_work.state import HOT_WORK_TERMINAL, HotWorkStatus
from permits.state import TERMINAL, Status
from sync_server import domain
from sync_server.errors import Forbidden, NotFound, Unprocessable
from sync_server.i18n import gettext as _
from sync_server.ids import FilterText
from sync_server.schema import (
    blobs,
    devices,
    findings,
    hazards,
    permit_anomalies,
    permit_detectors,
    permit_people,
    permits,
    version_conflicts,
)
from sync_server.security import Principal, Role
from sync_server.services import audit, chains, notes, permit_lookup, server_identity
from sync_server.services.reference import hazard_summary
from sync_server.services.tenancy import (
    require_role,
    require_visible,
    scope_filter,
    visible_enterprises,
)
from sync_server.storage import DB_INT4_MAX, now_iso, parse_iso


class PermitItem(BaseModel):
    permit_id: str
    enterprise_id: str
    status: str
    space_id: str | None
    first_at: str = Field(description="time of the first event (device clock, UTC)")
    last_at: str
    last_seq: int
    people: list[str]
    detectors: list[str]
    anomalies: list[str]
    has_anomaly: bool
    updated_at: str
    permit_type: str = "confined_space"


# Counting stops after this many matches: a county-wide search matched up to 1M permits,
# and counting them all was most of its time. Tests lower it.
COUNT_CAP = 10_000


class PermitPage(BaseModel):
    items: list[PermitItem]
    total: int = Field(
        description=f"permits matching; when total_exact is false, more than this many "
        f"match (the count stops at {COUNT_CAP:,})"
    )
    total_exact: bool = Field(
        description=f"false when more than {COUNT_CAP:,} permits match: total is then "
        f"{COUNT_CAP:,}, meaning 'more than {COUNT_CAP:,}'; page on while a page comes "
        "back full"
    )
    limit: int
    offset: int


def item_of(row: Any) -> PermitItem:
    """A ``permits`` row as the API lists it (the row's columns of the same names)."""
    return PermitItem.model_validate({name: getattr(row, name) for name in PermitItem.model_fields})


def require_reader(who: Principal) -> None:
    """Tablets and the provincial feed read no permit histories."""
    if who.role in (Role.DEVICE, Role.AGGREGATOR):
        raise Forbidden(_("this account's role may not do this"), code="ROLE_FORBIDDEN")


def _iso_bound(value: str, field: str) -> str:
    try:
        return now_iso(parse_iso(value))
    except ValueError as exc:
        raise Unprocessable(
            _("expected an ISO 8601 time with an offset"), code="DATE_INVALID", field=field
        ) from exc


class PermitQuery(BaseModel):
    """The search's filters (the API's query parameters): every one given must match."""

    enterprise_id: FilterText | None = None
    space_id: FilterText | None = None
    status: FilterText | None = Field(
        default=None, description="a status, or open: every permit in progress"
    )
    date_from: FilterText | None = Field(default=None, description="first event at or after (ISO)")
    date_to: FilterText | None = Field(default=None, description="first event before (ISO)")
    person: FilterText | None = None
    detector: FilterText | None = None
    anomaly: FilterText | None = Field(
        default=None, description="'true', 'false', or one anomaly code"
    )
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=DB_INT4_MAX)


# Permits in progress: every status of every permit type but before approval and after
# the end (the core's TERMINAL sets, expired). The dashboard's "open now" tile counts
# these, its link lists them (``status=open``), the public page folds them.
OPEN_NOW = tuple(
    sorted(
        {s.value for s in (*Status, *HotWorkStatus)}
        - {Status.NONE.value, Status.DRAFT.value, Status.EXPIRED.value}
        - {s.value for s in (*TERMINAL, *HOT_WORK_TERMINAL)}
    )
)


def search(conn: Connection, who: Principal, query: PermitQuery) -> PermitPage:
    """Permits the caller may read, newest first (by the time of the first event), with
    every filter given."""
    require_reader(who)
    enterprise_id, date_from, date_to = query.enterprise_id, query.date_from, query.date_to
    person, detector, anomaly = query.person, query.detector, query.anomaly
    space_id, status, limit, offset = query.space_id, query.status, query.limit, query.offset
    scope = visible_enterprises(conn, who)
    code = anomaly if anomaly not in (None, "", "true", "false") else None
    # A person, detector or code filter starts from its member table, whose index on
    # (value, first_at) lists that value's permits newest first; the others then narrow
    # the permits joined to it. Without one, the permits indexes on (filter, first_at) do.
    members = [
        (table, column, value)
        for table, column, value in (
            (permit_people, permit_people.c.person_id, person),
            (permit_detectors, permit_detectors.c.detector_id, detector),
            (permit_anomalies, permit_anomalies.c.code, code),
        )
        if value is not None
    ]
    lead: sa.Table = members[0][0] if members else permits
    conds: list[Any] = [scope_filter(lead.c.enterprise_id, scope)]
    if enterprise_id is not None:
        conds.append(lead.c.enterprise_id == enterprise_id)
    if date_from is not None:
        conds.append(lead.c.first_at >= _iso_bound(date_from, "date_from"))
    if date_to is not None:
        conds.append(lead.c.first_at < _iso_bound(date_to, "date_to"))
    for table, column, value in members:
        conds.append(
            column == value
            if table is lead
            else _key(lead).in_(
                sa.select(table.c.enterprise_id, table.c.permit_id).where(column == value)
            )
        )
    permit_conds: list[Any] = []
    if space_id is not None:
        permit_conds.append(permits.c.space_id == space_id)
    if status == "open":
        permit_conds.append(permits.c.status.in_(OPEN_NOW))
    elif status is not None:
        permit_conds.append(permits.c.status == status)
    if anomaly == "true":
        permit_conds.append(permits.c.has_anomaly.is_(True))
    elif anomaly == "false":
        permit_conds.append(permits.c.has_anomaly.is_(False))
    joined = lead.join(
        permits,
        sa.and_(
            permits.c.enterprise_id == lead.c.enterprise_id,
            permits.c.permit_id == lead.c.permit_id,
        ),
    )
    source = joined if lead is not permits and permit_conds else lead
    where = sa.and_(*conds, *permit_conds)
    # A LIMITed subquery: at most COUNT_CAP + 1 rows are read to tell "more than". It
    # selects a constant, so SQLite too can answer from a covering index (permit_id is
    # not in the indexes).
    counted = conn.execute(
        sa.select(sa.func.count()).select_from(
            sa.select(sa.literal_column("1"))
            .select_from(source)
            .where(where)
            .limit(COUNT_CAP + 1)
            .subquery()
        )
    ).scalar_one()
    rows = conn.execute(
        sa.select(permits)
        .select_from(joined if lead is not permits else permits)
        .where(where)
        .order_by(lead.c.first_at.desc(), lead.c.permit_id, lead.c.enterprise_id)
        .limit(limit)
        .offset(offset)
    )
    return PermitPage(
        items=[item_of(r) for r in rows],
        total=min(int(counted), COUNT_CAP),
        total_exact=int(counted) <= COUNT_CAP,
        limit=limit,
        offset=offset,
    )


def _key(table: sa.Table) -> Any:
    """A permit's key in ``table``: ids are unique per enterprise (migration 0006)."""
    return sa.tuple_(table.c.enterprise_id, table.c.permit_id)


def anomaly_codes(conn: Connection, who: Principal) -> list[str]:
    """The anomaly codes in use in the caller's scope (the search form's choices)."""
    # From the indexed member rows (not the JSON of every anomalous permit: 50,000 of
    # them in a county of 1M).
    rows = conn.execute(
        sa.select(permit_anomalies.c.code)
        .where(scope_filter(permit_anomalies.c.enterprise_id, visible_enterprises(conn, who)))
        .distinct()
    )
    return sorted(str(r.code) for r in rows)


def visible_permit(
    conn: Connection, who: Principal, permit_id: str, enterprise_id: str | None = None
) -> Any:
    """The permit's row, for a reader who may see it; else NotFound. A bureau reviewer
    names the enterprise when several of theirs hold the id (``permit_lookup``)."""
    require_reader(who)
    return permit_lookup.find(conn, who, permit_id, enterprise_id)


def _keys(conn: Connection, enterprise_id: str, device_ids: set[str]) -> dict[str, str]:
    rows = conn.execute(
        sa.select(devices.c.device_id, devices.c.public_key_b64).where(
            devices.c.enterprise_id == enterprise_id, devices.c.device_id.in_(device_ids)
        )
    )
    return {r.device_id: r.public_key_b64 for r in rows}


def _verification(row: Any, chain: list[Any], keys: dict[str, str]) -> dict[str, Any]:
    try:
        domain.verify_stored([e.body for e in chain], keys)
        verification: dict[str, Any] = {"ok": True, "events": len(chain)}
    except domain.ChainInvalid as exc:
        verification = {"ok": False, "seq": exc.seq, "code": exc.code, "message": exc.message}
    if verification["ok"] and (
        not chain or chain[-1].seq != row.last_seq or chain[-1].hash != row.last_hash
    ):
        # A chain cut short still verifies link by link: compare its head with the head
        # the server recorded when the events arrived.
        held_to = chain[-1].seq if chain else 0
        verification = {
            "ok": False,
            "seq": held_to + 1,
            "code": "CHAIN_TRUNCATED",
            "message": _(
                "the stored chain ends at event {held}, but the server received events "
                "up to {last} (head {head}): events are missing"
            ).format(held=held_to, last=row.last_seq, head=row.last_hash[:16]),
        }
    return verification


def _readings(conn: Connection, enterprise_id: str, chain: list[Any]) -> dict[str, Any]:
    chunk_refs = domain.chunk_digests([e.body for e in chain])
    held: set[str] = set()
    corrupt: list[str] = []
    for r in conn.execute(
        sa.select(blobs.c.sha256, blobs.c.data).where(
            blobs.c.enterprise_id == enterprise_id,
            blobs.c.kind == "chunk",
            blobs.c.sha256.in_(chunk_refs),
        )
    ):
        # Content-addressed: bytes that no longer hash to their name were changed.
        if hashlib.sha256(bytes(r.data)).hexdigest() == r.sha256:
            held.add(r.sha256)
        else:
            corrupt.append(r.sha256)
    return {
        "chunks": len(chunk_refs),
        "held": len(held),
        "missing": sorted(set(chunk_refs) - held - set(corrupt)),
        # Present only when some stored chunk no longer hashes to its name.
        **({"corrupt": sorted(corrupt)} if corrupt else {}),
    }


def trace_data(
    conn: Connection, who: Principal, permit_id: str, enterprise_id: str | None = None
) -> dict[str, Any]:
    """The trace as a dict of JSON values (the API's body). Another tenant's or an
    unknown permit raises NotFound."""
    return trace_and_chain(conn, who, permit_id, enterprise_id)[0]


def trace_and_chain(
    conn: Connection, who: Principal, permit_id: str, enterprise_id: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The trace and the stored event bodies it was read from, in chain order (the
    trace page and the PDF fold them with the core)."""
    row = visible_permit(conn, who, permit_id, enterprise_id)
    owner = row.enterprise_id
    chain = chains.event_rows(conn, owner, permit_id)
    keys = _keys(conn, row.enterprise_id, {e.device_id for e in chain})
    trace = {
        "permit": item_of(row).model_dump(),
        "verification": _verification(row, chain, keys),
        "events": [
            {
                "seq": e.seq,
                "event_id": e.event_id,
                "type": e.type,
                "occurred_at": e.body.get("occurred_at"),
                "received_at": e.received_at,
                "actor": e.actor,
                "device_id": e.device_id,
                "hash": e.hash,
                "payload": e.body.get("payload"),
                "clock_flag": e.clock_flag,
                "clock_skew_s": e.clock_skew_s,
            }
            for e in chain
        ],
        "readings": _readings(conn, row.enterprise_id, chain),
        "findings": [
            {"seq": f.seq, "code": f.code, "facts": f.facts, "hazard_id": f.hazard_id}
            for f in conn.execute(
                sa.select(findings)
                .where(findings.c.enterprise_id == owner, findings.c.permit_id == permit_id)
                .order_by(findings.c.seq)
            )
        ],
        "conflicts": [
            {k: v for k, v in _conflict_out(c).items() if k not in _CONFLICT_LIST_ONLY}
            for c in conn.execute(
                sa.select(version_conflicts).where(
                    version_conflicts.c.enterprise_id == owner,
                    version_conflicts.c.permit_id == permit_id,
                )
            )
        ],
        "hazards": [
            hazard_summary(h)
            for h in conn.execute(
                sa.select(hazards).where(
                    hazards.c.enterprise_id == owner, hazards.c.permit_id == permit_id
                )
            )
        ],
        "notes": notes.of(conn, "permit", permit_id, owner),
    }
    return trace, [e.body for e in chain]


def export(
    conn: Connection, who: Principal, permit_id: str, enterprise_id: str | None = None
) -> dict[str, Any]:
    """The verifiable chain: ``{"permit_id", "events", "devices": {device_id:
    public_key_b64}, "head": {"seq", "hash"}, "attestation"}``, the format
    ``cspermit permit verify`` checks offline against this server's key."""
    row = visible_permit(conn, who, permit_id, enterprise_id)
    chain = chains.event_rows(conn, row.enterprise_id, permit_id)
    writers = {e.device_id for e in chain}
    return {
        "permit_id": permit_id,
        "events": [e.body for e in chain],
        "devices": _keys(conn, row.enterprise_id, writers),
        # The head this server recorded: an export with its tail cut off no longer
        # verifies offline (the events still link; only the head shows the loss).
        "head": {"seq": row.last_seq, "hash": row.last_hash},
        # What this server vouches for, signed with its identity key: the head and the
        # device keys from its own registry. Offline verification trusts these, never
        # the ``devices`` above (permits.attestation).
        "attestation": server_identity.attest_export(
            conn, permit_id=permit_id, head=(row.last_seq, row.last_hash), device_ids=writers
        ),
    }


def chain_for_device(conn: Connection, device: Principal, permit_id: str) -> list[Any]:
    """The stored event bodies of one permit of the device's own enterprise (a second
    tablet continues the chain after a signed handover)."""
    row = permit_lookup.find(conn, device, permit_id)
    return [e.body for e in chains.event_rows(conn, row.enterprise_id, permit_id)]


# ----------------------------------------------------------------- conflicts


# The conflicts list names the permit and carries the forked event; the trace does not.
_CONFLICT_LIST_ONLY = frozenset({"enterprise_id", "permit_id", "event"})


_CONFLICT_FIELDS = (
    "conflict_id",
    "enterprise_id",
    "permit_id",
    "seq",
    "existing_hash",
    "incoming_hash",
    "device_id",
    "received_at",
    "status",
)


def _conflict_out(c: Any) -> dict[str, Any]:
    return {**{name: getattr(c, name) for name in _CONFLICT_FIELDS}, "event": c.body}


def conflicts(conn: Connection, who: Principal, status: str | None) -> list[dict[str, Any]]:
    """Forked chains kept for review (same permit, same seq, another hash)."""
    require_reader(who)
    scope = visible_enterprises(conn, who)
    query = sa.select(version_conflicts).where(
        scope_filter(version_conflicts.c.enterprise_id, scope)
    )
    if status:
        query = query.where(version_conflicts.c.status == status)
    rows = conn.execute(query.order_by(version_conflicts.c.received_at))
    return [_conflict_out(c) for c in rows]


def review_conflict(
    conn: Connection, who: Principal, conflict_id: str, note: str
) -> dict[str, Any]:
    """Mark a conflict reviewed, with a note on its permit; the forked event stays."""
    row = conn.execute(
        sa.select(version_conflicts).where(version_conflicts.c.conflict_id == conflict_id)
    ).first()
    if row is None:
        raise NotFound(_("not found"), code="NOT_FOUND")
    require_visible(conn, who, row.enterprise_id)
    require_role(who, Role.ENTERPRISE_ADMIN, Role.BUREAU_REVIEWER, Role.OPERATOR)
    conn.execute(
        version_conflicts.update()
        .where(version_conflicts.c.conflict_id == conflict_id)
        .values(status="reviewed")
    )
    notes.insert(
        conn,
        who,
        row.enterprise_id,
        "permit",
        row.permit_id,
        f"[conflict {conflict_id} seq {row.seq}] {note}",
    )
    audit.record(
        conn,
        who,
        "conflict.review",
        "conflict",
        conflict_id,
        enterprise_id=row.enterprise_id,
        before={"status": row.status},
        after={"status": "reviewed", "note": note},
    )
    out = _conflict_out(row)
    out["status"] = "reviewed"
    return out


__all__ = [
    "COUNT_CAP",
    "PermitItem",
    "PermitPage",
    "PermitQuery",
    "anomaly_codes",
    "conflicts",
    "export",
    "item_of",
    "review_conflict",
    "search",
    "trace_data",
    "visible_permit",
]

"""A hot job inside a confined space, checked against the confined-space chain the
server holds (docs/server.md, "Hot work").

Each fire start carries the linked permit as the tablet saw it
(``LinkedPermitSnapshot``: its id, status, seq, head hash, space), and the core's rule
judged the start on that snapshot, so the chain replays with no outside lookup
(docs/architecture.md). Here the server compares the snapshot with the linked chain
it holds, folded by the core (``permits.state.fold``) up to the fire's time: the
linked permit must have been active then, with that event at that seq, in that
space. A disagreement is stored as evidence and an anomaly on both permits. A linked
chain the server does not hold yet contradicts nothing then; when it arrives, the open
hot-work permits linked to it are checked against it (:func:`recheck_linked_to`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from permits.events import EventType
from permits.hot_work.events import HotWorkFireStarted, LinkedPermitSnapshot
from permits.state import Status, fold
from sync_server import domain
from sync_server.i18n import gettext as _
from sync_server.schema import findings, permits
from sync_server.services import chains, permit_findings, permit_members
from sync_server.services.simops import CLOSED_STATUSES

LINK_MISMATCH = "HOT_WORK_LINK_MISMATCH"


def _disagreements(
    conn: Connection, enterprise_id: str, linked: LinkedPermitSnapshot, fire: domain.ParsedEvent
) -> list[dict[str, Any]] | None:
    """Each field where the snapshot and the held chain disagree; None when the server
    holds no such confined-space permit of this enterprise (a link stays within one
    enterprise: another's permit of the same id is not the one linked)."""
    row = conn.execute(
        sa.select(permits.c.permit_type).where(
            permits.c.permit_id == linked.permit_id, permits.c.enterprise_id == enterprise_id
        )
    ).first()
    if row is None:
        return None
    chain = chains.parsed(conn, enterprise_id, linked.permit_id)
    at = fire.occurred_at
    out: list[dict[str, Any]] = []
    if row.permit_type != domain.CONFINED_SPACE:
        out.append(
            {"field": "permit_type", "recorded": "confined_space", "server": row.permit_type}
        )
        return out
    by_seq = {ev.seq: ev for ev in chain}
    if linked.seq > max(by_seq, default=0):
        # Not held that far yet (a chain arrives in batches; the hot work may come first
        # in the urgent lane): nothing to contradict; recheck_linked_to checks it when
        # the rest arrives.
        return None
    held = by_seq.get(linked.seq)
    if held is None or held.hash != linked.head_hash:
        out.append(
            {
                "field": "head_hash",
                "recorded": f"{linked.seq}:{linked.head_hash}",
                "server": f"{held.seq}:{held.hash}" if held is not None else None,
            }
        )
    then = fold(ev.obj for ev in chain if ev.occurred_at <= at)
    status = then.status_at(at)
    if status.value != linked.status:
        out.append({"field": "status", "recorded": linked.status, "server": status.value})
    elif status is not Status.ACTIVE:
        out.append({"field": "status", "recorded": linked.status, "server": status.value})
    space = then.space.space_id if then.space is not None else None
    if space != linked.space_id:
        out.append({"field": "space_id", "recorded": linked.space_id, "server": space})
    return out


def _mark_linked(
    conn: Connection, enterprise_id: str, linked_id: str, facts: dict[str, Any], now: str
) -> None:
    """The finding and the anomaly on the confined-space permit's own trace."""
    seen = conn.execute(
        sa.select(findings.c.facts).where(
            findings.c.enterprise_id == enterprise_id,
            findings.c.permit_id == linked_id,
            findings.c.code == LINK_MISMATCH,
        )
    )
    key = (facts["hot_work_permit_id"], facts["hot_work_seq"])
    if not any(
        (f.facts.get("hot_work_permit_id"), f.facts.get("hot_work_seq")) == key for f in seen
    ):
        permit_findings.record(conn, enterprise_id, linked_id, None, LINK_MISMATCH, facts, now)
    permit_members.flag(conn, enterprise_id, linked_id, LINK_MISMATCH)


def _facts(
    linked: LinkedPermitSnapshot, ev: domain.ParsedEvent, fields: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "linked_permit_id": linked.permit_id,
        "hot_work_permit_id": ev.permit_id,
        "hot_work_seq": ev.seq,
        "fields": fields,
        # In words on the trace, like every other finding's message.
        "message": _(
            "the hot work {hot} recorded its linked confined-space permit {linked} "
            "differently from the chain the server holds"
        ).format(hot=ev.permit_id, linked=linked.permit_id),
    }


def with_link_check(
    conn: Connection,
    enterprise_id: str,
    summary: domain.ReplaySummary,
    new: list[domain.ParsedEvent],
    now: str,
) -> domain.ReplaySummary:
    """The summary plus a ``HOT_WORK_LINK_MISMATCH`` for each new fire start whose
    linked-permit snapshot disagrees with the chain held (also marked on that permit)."""
    found: list[domain.ReplayFinding] = []
    for ev in new:
        payload = ev.obj.payload
        if not isinstance(payload, HotWorkFireStarted) or payload.linked is None:
            continue
        linked = payload.linked
        fields = _disagreements(conn, enterprise_id, linked, ev)
        if not fields:
            continue
        facts = _facts(linked, ev, fields)
        found.append(domain.ReplayFinding(ev.seq, LINK_MISMATCH, facts))
        _mark_linked(conn, enterprise_id, linked.permit_id, facts, now)
    if not found:
        return summary
    return dataclasses.replace(summary, evidence=[*summary.evidence, *found])


# Built once: every confined-space push runs it (docs/performance.md, wave 8). A closed
# hot job's row keeps no footprint, but as JSON null, which ``IS NOT NULL`` lets by: its
# status is what leaves it out, or every push would read the enterprise's whole history
# of hot work.
_OPEN_HOT_WORK = sa.select(permits.c.permit_id, permits.c.footprint).where(
    permits.c.enterprise_id == sa.bindparam("enterprise_id"),
    permits.c.permit_type == domain.HOT_WORK,
    permits.c.status.not_in(CLOSED_STATUSES),
    permits.c.footprint.is_not(None),
)


def recheck_linked_to(
    conn: Connection, enterprise_id: str, linked_ids: Collection[str], now: str
) -> None:
    """Confined-space chains were pushed (``linked_ids``, one push's): the fire starts of
    the enterprise's open hot-work permits linked to one of them are checked against it
    now. A fire start pushed before its linked chain was checked against nothing (see
    the module's docstring); this is where it is checked once the chain is held. Only
    open hot-work permits keep their link on their row (``permits.footprint``,
    services/simops.py), so a hot job closed before its linked chain reached the server
    is not checked again. The open hot work is read once for all the chains."""
    rows = conn.execute(_OPEN_HOT_WORK, {"enterprise_id": enterprise_id})
    wanted = set(linked_ids)
    links = [(r.permit_id, (r.footprint or {}).get("linked_permit_id")) for r in rows]
    for hot_id, linked_id in links:
        if linked_id not in wanted:
            continue
        mine = (findings.c.enterprise_id == enterprise_id, findings.c.permit_id == hot_id)
        done = {
            r.seq
            for r in conn.execute(
                sa.select(findings.c.seq).where(*mine, findings.c.code == LINK_MISMATCH)
            )
        }
        fire = EventType.HOT_WORK_FIRE_STARTED.value
        for ev in chains.parsed(conn, enterprise_id, hot_id, event_type=fire):
            payload = ev.obj.payload
            if ev.seq in done or not isinstance(payload, HotWorkFireStarted):
                continue
            if payload.linked is None or payload.linked.permit_id != linked_id:
                continue
            fields = _disagreements(conn, enterprise_id, payload.linked, ev)
            if not fields:
                continue
            facts = _facts(payload.linked, ev, fields)
            permit_findings.record(conn, enterprise_id, hot_id, ev.seq, LINK_MISMATCH, facts, now)
            permit_members.flag(conn, enterprise_id, hot_id, LINK_MISMATCH)
            _mark_linked(conn, enterprise_id, linked_id, facts, now)

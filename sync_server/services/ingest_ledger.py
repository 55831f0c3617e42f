"""The ingest's ledger cross-check (docs/server.md): each snapshot a tablet recorded
compared with the server's ledger as it stood at the event's time, and the chain
replayed on the ledger's facts, continuing the replays kept in memory (O(n) a push).
Split from ``ingest`` (the module size limit); ``ingest.push`` is its only caller."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server import domain
from sync_server.schema import events as event_rows
from sync_server.services import ledger_history

LEDGER_MISMATCH_PREFIX = domain.LEDGER_MISMATCH_PREFIX


def load_chain(conn: Connection, enterprise_id: str, permit_id: str) -> list[domain.ParsedEvent]:
    rows = conn.execute(
        sa.select(event_rows.c.body)
        .where(event_rows.c.enterprise_id == enterprise_id, event_rows.c.permit_id == permit_id)
        .order_by(event_rows.c.seq)
    )
    return [domain.parse_event(r.body) for r in rows]


def with_ledger_check(
    conn: Connection,
    enterprise_id: str,
    permit: Any,
    chain: list[domain.ParsedEvent],
    new: list[domain.ParsedEvent],
    summary: domain.ReplaySummary,
    resume: Any,
    ledger_resume: Any,
    items: dict[tuple[str, str], list[Any]],
) -> tuple[domain.ReplaySummary, Any]:
    # ``items``: the ledger items' versions read so far in this push (its permits share
    # them, ``ingest._Shared``).
    """The summary plus the ledger cross-check, and the replay on the ledger's facts to
    continue from (None while they agree with the tablet's). Each disagreement between
    a snapshot the tablet recorded and the server's ledger at the event's time is
    evidence (``LEDGER_MISMATCH_*``); each refusal the core's rules make on the ledger's
    facts is a hazard finding. Run when a new event carries a snapshot, or when the
    permit has disagreements already (a later event may be judged differently on the
    ledger's facts): on the new events, continuing the two replays; from seq 1 when
    they are not in memory."""
    earlier = permit is not None and any(
        str(a).startswith(LEDGER_MISMATCH_PREFIX) for a in permit.anomalies
    )
    if not earlier and not any(domain.has_snapshot(ev) for ev in new):
        return summary, None
    before, events = resume, new
    if chain or (earlier and ledger_resume is None):
        # From seq 1: the stored chain was replayed from seq 1 too, or the replay on the
        # ledger's facts is not in memory (a restart, another worker).
        before, ledger_resume = None, None
        events = [*(chain or load_chain(conn, enterprise_id, permit.permit_id)), *new]
    kinds: dict[str, list[Any]] = {}

    def lookup(kind: str, item_id: str, at: datetime) -> dict[str, Any] | None:
        # One query per item and push, each event's instant picked from its versions
        # (profiled: one query per snapshot event was 12 % of a catch-up push).
        if (kind, item_id) not in items:
            items[kind, item_id] = ledger_history.item_versions(conn, enterprise_id, kind, item_id)
        return ledger_history.item_at(items[kind, item_id], at)

    def every(kind: str, at: datetime) -> dict[str, dict[str, Any]]:
        # One query per kind and push; each event's instant picked from the versions.
        if kind not in kinds:
            kinds[kind] = ledger_history.versions_of(conn, enterprise_id, kind)
        return ledger_history.standing_at(kinds[kind], at)

    check, ledger_replayer = domain.cross_check_ledger(
        events, lookup, every, recorded_before=before, ledger_before=ledger_resume
    )
    if not check.mismatches and not check.refusals:
        return summary, ledger_replayer
    return dataclasses.replace(
        summary,
        hazard_findings=[*summary.hazard_findings, *check.refusals],
        evidence=[*summary.evidence, *check.mismatches],
    ), ledger_replayer

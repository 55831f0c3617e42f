"""What a push writes after its permits' events: each permit's summary row, its member
rows, findings and hazards, the enterprise's SIMOPS conflicts and the re-check of hot
work linked to a pushed chain (``services/ingest.py`` decides what; this writes it).

The permits of one push are written together, after all their events: one change
counter update for all of them (their revs consecutive, in the push's order), the new
permits' rows in one insert and the others' in one update statement run with every
row's values (executemany), each member table's new rows in one insert, the
enterprise's conflicts re-checked once when a footprint changed and the open hot work
read once (docs/performance.md, wave 9: written permit by permit these were a fifth of a
push's CPU, a batch holding about three permits). Those two are dated with the last
permit's arrival time (the push's permits arrive milliseconds apart)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server import domain
from sync_server.schema import findings, permits
from sync_server.services import hazards as hazard_service
from sync_server.services import hot_work_links, permit_findings, permit_members
from sync_server.services import simops as simops_service
from sync_server.storage import next_revs, now_iso, parse_iso


@dataclass(frozen=True)
class Save:
    """A permit's writes after its events (``write``)."""

    enterprise_id: str
    permit_id: str
    permit: Any  # the row as the push read it, or None
    new: list[domain.ParsedEvent]
    flags: set[str]
    summary: domain.ReplaySummary
    now: str


_SHOWN_TYPES = frozenset({"ALARM_RAISED", "EVACUATION_ORDERED"})
# Anomalies that come from what was stored, not from the replay: kept from the row and
# added to as new events and conflicts come (only the ingest writes this column).
_STORED_ANOMALIES = _SHOWN_TYPES | {"CLOCK_AHEAD", "CLOCK_BACKWARDS", "VERSION_CONFLICT"}
_STORED_ANOMALIES |= {"CONFLICT_LIMIT", hot_work_links.LINK_MISMATCH}
_LISTS = ("people", "detectors", "anomalies")

# Built once and sent with each row's values (the bind names differ from the columns').
_UPDATE_PERMIT = permits.update().where(
    permits.c.enterprise_id == sa.bindparam("row_enterprise_id"),
    permits.c.permit_id == sa.bindparam("row_permit_id"),
)


def write(conn: Connection, saves: Sequence[Save]) -> None:
    """Write the saves of one push (its permits, one enterprise's), in their order."""
    if not saves:
        return
    enterprise_id = saves[0].enterprise_id
    assert all(s.enterprise_id == enterprise_id for s in saves)
    # The change counter's lock is taken here, after every event of the push, and held
    # to the commit: revs handed out in commit order (storage.next_revs).
    revs = next_revs(conn, len(saves))
    pairs = [(s, _row(s, rev)) for s, rev in zip(saves, revs, strict=True)]
    inserts = [{"permit_id": s.permit_id, **r} for s, r in pairs if s.permit is None]
    if inserts:
        conn.execute(permits.insert(), inserts)
    updates = [
        {"row_enterprise_id": enterprise_id, "row_permit_id": s.permit_id, **r}
        for s, r in pairs
        if s.permit is not None
    ]
    if updates:
        conn.execute(_UPDATE_PERMIT, updates)
    # A footprint that changed changes the enterprise's conflicts: re-checked once, on
    # every row as this push leaves them (refresh reads them all).
    if any(r["footprint"] != _footprint(s.permit) for s, r in pairs):
        simops_service.refresh(conn, enterprise_id, parse_iso(saves[-1].now))
    permit_members.write_many(
        conn,
        enterprise_id,
        [
            permit_members.Lists(
                s.permit_id,
                r["first_at"],
                {k: r[k] for k in _LISTS},
                before=None if s.permit is None else {k: getattr(s.permit, k) for k in _LISTS},
                new_permit=s.permit is None,
            )
            for s, r in pairs
        ],
    )
    for s in saves:
        _save_findings(conn, enterprise_id, s.permit_id, s.summary, s.now)
    # Hot work pushed before the chain it is linked to is checked against it now.
    chains = [s.permit_id for s in saves if s.summary.permit_type == domain.CONFINED_SPACE]
    if chains:
        hot_work_links.recheck_linked_to(conn, enterprise_id, chains, saves[-1].now)


def _footprint(existing: Any) -> Any:
    return existing.footprint if existing is not None else None


def _row(save: Save, rev: int) -> dict[str, Any]:
    """The permit's summary row after the ``new`` events: the replay's codes, and the
    stored ones (clock flags, conflicts, alarms: the bureau filters on them) that the row
    held before plus those of this push (``flags``)."""
    existing, new, summary = save.permit, save.new, save.summary
    last = new[-1]
    kept = set(existing.anomalies) & _STORED_ANOMALIES if existing is not None else set()
    anomalies = sorted(
        {
            *summary.anomalies,
            *(f.code for f in summary.hazard_findings),
            *(f.code for f in summary.evidence),
            *kept,
            *save.flags,
            *({ev.type.upper() for ev in new} & _SHOWN_TYPES),
        }
    )
    return {
        "enterprise_id": save.enterprise_id,
        "space_id": summary.space_id,
        "status": summary.status,
        "last_seq": last.seq,
        "last_hash": last.hash,
        "writer_device_id": last.device_id,
        "first_at": existing.first_at if existing else now_iso(new[0].occurred_at),
        "last_at": now_iso(last.occurred_at),
        "people": summary.people,
        "detectors": summary.detectors,
        "anomalies": anomalies,
        "has_anomaly": bool(anomalies),
        "rev": rev,
        "updated_at": save.now,
        "permit_type": summary.permit_type,
        "footprint": simops_service.footprint_of(summary.state, parse_iso(save.now)),
    }


def _save_findings(
    conn: Connection, enterprise_id: str, permit_id: str, summary: domain.ReplaySummary, now: str
) -> None:
    """The replay's hazard findings and evidence become rows of ``findings`` (kept
    forever); each hazard finding also files an automatic hazard (docs/rules.md)."""
    if not summary.hazard_findings and not summary.evidence:
        return
    existing = {
        (r.seq, r.code)
        for r in conn.execute(
            sa.select(findings.c.seq, findings.c.code).where(
                findings.c.enterprise_id == enterprise_id, findings.c.permit_id == permit_id
            )
        )
    }
    for item, files_hazard in [(f, True) for f in summary.hazard_findings] + [
        (f, False) for f in summary.evidence
    ]:
        key = (item.seq, item.code)
        hazard_id = None
        if files_hazard:
            hazard_id = hazard_service.file_automatic(
                conn, enterprise_id, permit_id, summary.space_id, item
            )
        if key in existing:
            continue
        existing.add(key)
        permit_findings.record(
            conn, enterprise_id, permit_id, item.seq, item.code, item.facts, now, hazard_id
        )

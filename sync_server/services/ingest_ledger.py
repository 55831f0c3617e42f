"""The ingest's ledger cross-check (docs/server.md): each snapshot a tablet recorded
compared with the server's ledger as it stood at the event's time, and the chain
replayed on the ledger's facts, continuing the replays kept in memory (O(n) a push).
Split from ``ingest`` (the module size limit); ``ingest.push`` is its only caller."""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server import domain
from sync_server.schema import events as event_rows
from sync_server.schema import reference_item_versions as versions
from sync_server.services import ledger_history

LEDGER_MISMATCH_PREFIX = domain.LEDGER_MISMATCH_PREFIX


# The ledger's mark, read by every push that checks a snapshot; built once.
_MARK = sa.select(sa.func.max(versions.c.rev), sa.func.count()).where(
    versions.c.enterprise_id == sa.bindparam("enterprise_id")
)


@dataclasses.dataclass
class LedgerVersions:
    """The ledger's versions a push has read, for all its permits: each item's (and each
    kind's) versions, read once, and each event's instant picked from them. Kept between
    pushes too (``_KEPT``), for as long as the enterprise's ledger has had no new version
    (``mark``): a catch-up's every push asked again for the same few people, spaces and
    detectors (profiled: ~6 % of a push, docs/performance.md, wave 8)."""

    enterprise_id: str
    mark: tuple[int, int] | None = None  # (highest rev, versions) when first asked
    items: dict[tuple[str, str], list[Any]] = dataclasses.field(default_factory=dict)
    kinds: dict[str, list[Any]] = dataclasses.field(default_factory=dict)

    def item(self, conn: Connection, kind: str, item_id: str) -> list[Any]:
        def read() -> list[Any]:
            return ledger_history.item_versions(conn, self.enterprise_id, kind, item_id)

        return self._read(conn, self.items, (kind, item_id), read)

    def kind(self, conn: Connection, kind: str) -> list[Any]:
        def read() -> list[Any]:
            return ledger_history.versions_of(conn, self.enterprise_id, kind)

        return self._read(conn, self.kinds, kind, read)

    def _read(
        self, conn: Connection, store: dict[Any, list[Any]], key: Any, read: Callable[[], Any]
    ) -> list[Any]:
        # Read once a push at most: from this push's reads, else from those kept under
        # the same mark, else from the database (and kept for the next push).
        if key not in store:
            self._resume(conn)
        if key not in store:
            store[key] = read()
            _keep(self)
        return store[key]

    def _resume(self, conn: Connection) -> None:
        # Once a push: the versions kept from an earlier push are this push's when the
        # ledger has had no version since. Every version takes the next global rev under
        # the counter's lock (``storage.next_rev``), so revs are committed in order: a
        # version committed after the mark was read has a higher rev and moves it (rows
        # read after the mark may already hold it: kept under the older mark, they are
        # dropped by the next push, never used for a newer ledger). The count also moves
        # when versions are replaced wholesale (a restore into an emptied database).
        if self.mark is not None:
            return
        row = conn.execute(_MARK, {"enterprise_id": self.enterprise_id}).one()
        self.mark = (int(row[0] or 0), int(row[1]))
        with _KEPT_LOCK:
            kept = _KEPT.get(self.enterprise_id)
        if kept is not None and kept.mark == self.mark:
            # In place: ``_read`` holds these dicts.
            for key, rows in kept.items.items():
                self.items.setdefault(key, rows)
            for kind, rows in kept.kinds.items():
                self.kinds.setdefault(kind, rows)


# enterprise id -> the versions the last push read, under its mark. Bounded; a miss only
# costs the reads. Never needed for correctness: a worker without it reads them again.
_KEPT: OrderedDict[str, LedgerVersions] = OrderedDict()
_KEPT_MAX = 256
_KEPT_LOCK = threading.Lock()


def _keep(read: LedgerVersions) -> None:
    copy = LedgerVersions(read.enterprise_id, read.mark, dict(read.items), dict(read.kinds))
    with _KEPT_LOCK:
        _KEPT[read.enterprise_id] = copy
        _KEPT.move_to_end(read.enterprise_id)
        while len(_KEPT) > _KEPT_MAX:
            _KEPT.popitem(last=False)


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
    ledger: LedgerVersions,
) -> tuple[domain.ReplaySummary, Any]:
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

    def lookup(kind: str, item_id: str, at: datetime) -> dict[str, Any] | None:
        # One query per item at most a push, each event's instant picked from its
        # versions (profiled: one query per snapshot event was 12 % of a catch-up push).
        return ledger_history.item_at(ledger.item(conn, kind, item_id), at)

    def every(kind: str, at: datetime) -> dict[str, dict[str, Any]]:
        return ledger_history.standing_at(ledger.kind(conn, kind), at)

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

"""Event push: per-event results, chain checks with the core's integrity code, replay with
the core's rules, version conflicts kept for review, clock skew measured and flagged.

Events are grouped by permit. The new events of a permit are verified continuing from the
stored chain's head (seq, hash, writer: the stored events were verified when they came)
and replayed with the core's rules continuing from the replay of the stored chain, kept
in memory for the permits pushed lately and checked against the stored head; when it is
not there (a restart, another worker), the stored chain is loaded and replayed from seq 1.
So a push of n events into a long chain costs O(n), not O(chain) (profiled: the full
re-verification and re-replay made a job pushed as it happens cost O(chain²)).
Everything a push stores is written in one transaction (each permit's events, then the
permits' rows: ``push``); a rejected event writes nothing, and the accepted events before
it in the same batch are kept.

Each snapshot a tablet recorded is also compared with the server's ledger as it stood at
the event's time, and the chain replayed on the ledger's facts (``ingest_ledger``,
docs/server.md): that replay is kept in memory beside the permit's, so it costs O(n) too.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.exc import OperationalError as DbOperationalError

from sync_server import domain
from sync_server.i18n import gettext as _
from sync_server.schema import devices, events, permits
from sync_server.security import Principal
from sync_server.services import hot_work_links, ingest_forks, ingest_save
from sync_server.services.ingest_ledger import LedgerVersions, load_chain, with_ledger_check
from sync_server.settings import Settings
from sync_server.storage import insert_rows, now_iso, write_transaction


@dataclass(frozen=True)
class _Replays:
    replayer: Any
    ledger: Any
    head: domain.ParsedEvent


# The replay of each permit pushed lately, to continue from on its next push:
# (enterprise id, permit id) -> (the core's Replayer, the replay on the server's ledger
# facts or None while they agree with the tablet's: the ledger cross-check's, the head
# event the new events continue from), whose state names the head (seq, hash) it was
# made for. Bounded; a miss only costs a replay from seq 1.
_REPLAYS: OrderedDict[tuple[str, str], _Replays] = OrderedDict()
_REPLAYS_MAX = 512
_REPLAYS_LOCK = threading.Lock()


def _cached_replays(permit: Any) -> _Replays | None:
    """The replays kept for the permit's stored head, or None (not kept, or kept for
    another head: a push this worker did not see, from another worker)."""
    if permit is None:
        return None
    with _REPLAYS_LOCK:
        kept = _REPLAYS.get((permit.enterprise_id, permit.permit_id))
    # Kept together with the replays after their commit, the head names what they fold.
    if kept is None or (kept.head.seq, kept.head.hash) != (permit.last_seq, permit.last_hash):
        return None
    return kept


def _keep_replay(key: tuple[str, str], replays: _Replays) -> None:
    with _REPLAYS_LOCK:
        _REPLAYS[key] = replays
        _REPLAYS.move_to_end(key)
        while len(_REPLAYS) > _REPLAYS_MAX:
            _REPLAYS.popitem(last=False)


@dataclass
class Result:
    index: int
    event_id: str | None
    permit_id: str | None
    seq: int | None
    status: str  # accepted | duplicate | rejected
    code: str | None = None
    message: str | None = None
    field: str | None = None
    conflict_id: str | None = None
    clock_flag: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "event_id": self.event_id,
            "permit_id": self.permit_id,
            "seq": self.seq,
            "status": self.status,
        }
        for key in ("code", "message", "field", "conflict_id", "clock_flag"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


def push(
    engine: Engine, settings: Settings, device: Principal, raw_events: list[Any]
) -> list[Result]:
    results: dict[int, Result] = {}
    groups: dict[str, list[tuple[int, domain.ParsedEvent]]] = defaultdict(list)
    for index, raw in enumerate(raw_events):
        if not isinstance(raw, dict):
            results[index] = Result(
                index,
                None,
                None,
                None,
                "rejected",
                "EVENT_INVALID",
                _("expected an event object"),
                f"events.{index}",
            )
            continue
        try:
            ev = domain.parse_event(raw)
        except domain.EventInvalid as exc:
            results[index] = Result(
                index,
                _str(raw.get("event_id")),
                _str(raw.get("permit_id")),
                None,
                "rejected",
                exc.code,
                exc.message,
                f"events.{index}.{exc.field}" if exc.field else None,
            )
            continue
        named = domain.event_enterprise(ev)
        if named is not None and named != device.enterprise_id:
            results[index] = Result(
                index,
                ev.event_id,
                ev.permit_id,
                ev.seq,
                "rejected",
                "ENTERPRISE_MISMATCH",
                _("the event belongs to another enterprise"),
                f"events.{index}.payload.enterprise_id",
            )
            continue
        if ev.device_id != device.subject_id:
            results[index] = Result(
                index,
                ev.event_id,
                ev.permit_id,
                ev.seq,
                "rejected",
                "DEVICE_MISMATCH",
                _("an event must be pushed by the device that signed it"),
                f"events.{index}.device_id",
            )
            continue
        groups[ev.permit_id].append((index, ev))
    # What the push's permits share, read once per push, not once per permit: the
    # pusher's key and the ledger items' versions (``_Shared``).
    shared = _Shared(LedgerVersions(device.enterprise_id or ""))
    # One transaction a push (docs/performance.md, wave 8): a commit, not one a permit,
    # each waited for while the worker's CPU idled. Each permit's checks and events come
    # first, its row and what takes the change counter's lock after all of them, so that
    # lock is held for the writes alone, not across the push's later permits' checks
    # (the other worker's pushes wait on it). Permit rows are locked in id order, before
    # the counter, so two pushes never wait on each other in a circle. A hot-work event
    # reads its linked permit's row and chain as the push leaves them: a push holding
    # one is written permit by permit in the batch's order, as before.
    in_turn = any(ev.type.startswith("hot_work") for g in groups.values() for _, ev in g)
    order = list(groups.items()) if in_turn else sorted(groups.items())
    enterprise_id = device.enterprise_id or ""
    with engine.connect() as conn:
        for attempt in range(3):
            outs: list[list[Result]] = []
            kept: list[tuple[tuple[str, str], _Replays]] = []
            try:
                with write_transaction(conn):
                    saves: list[ingest_save.Save] = []
                    for permit_id, group in order:
                        out, replays, save = _push_permit(
                            conn, settings, device, permit_id, group, shared, careful=attempt > 0
                        )
                        outs.append(out)
                        if replays is not None:
                            kept.append(((enterprise_id, permit_id), replays))
                        if save is not None and in_turn:
                            ingest_save.write(conn, [save])
                        elif save is not None:
                            saves.append(save)
                    ingest_save.write(conn, saves)
                break
            except DbIntegrityError:
                # Another push for a permit committed first, or an event reuses an id
                # stored elsewhere (``_stored_matches``): read again, every id, and redo.
                if attempt == 2:
                    raise
            except DbOperationalError as exc:
                # Two pushes each waiting on a row the other holds (a fork's conflict
                # takes the counter among its permit's checks): PostgreSQL ends one.
                if attempt == 2 or getattr(exc.orig, "sqlstate", None) != "40P01":
                    raise
    for key, replays in kept:  # committed: the next push continues from them
        _keep_replay(key, replays)
    for out in outs:
        for r in out:
            results[r.index] = r
    return [results[i] for i in sorted(results)]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _of_permit(enterprise_id: str, permit_id: str) -> tuple[Any, Any]:
    # Permit ids are the enterprise's own (migration 0006): every look-up names both.
    return events.c.enterprise_id == enterprise_id, events.c.permit_id == permit_id


def _stored_matches(
    conn: Connection,
    enterprise_id: str,
    permit_id: str,
    group: list[tuple[int, domain.ParsedEvent]],
    last_seq: int,
    careful: bool,
) -> tuple[dict[str, Any], dict[int, str]]:
    """The stored events the batch may repeat, by event id, and the stored hash at each
    seq the batch claims up to the chain's head (a resend or a fork). The stored chain
    holds every seq from 1 to ``last_seq`` (an event is stored only when it continues
    the chain, and none is deleted), so they are read by the chain's key. An event past
    the head that reuses an id stored elsewhere is not looked for first: the insert
    refuses it on the primary key and the push is redone ``careful``, every id read
    (docs/performance.md, wave 7: reading every id of a batch of 200 was most of
    PostgreSQL's time a push, a plan that walked the enterprise's events)."""
    claimed = sorted({ev.seq for _, ev in group if ev.seq <= last_seq})
    rows = (
        conn.execute(
            sa.select(events.c.seq, events.c.event_id, events.c.hash, events.c.permit_id).where(
                *_of_permit(enterprise_id, permit_id), events.c.seq.in_(claimed)
            )
        ).all()
        if claimed
        else []
    )
    known: dict[str, Any] = {r.event_id: r for r in rows}
    held = {r.seq: r.hash for r in rows}
    # A fork's id may be another permit's event (EVENT_ID_REUSED, not a conflict).
    ids = [
        ev.event_id for _, ev in group if careful or (ev.seq in held and ev.event_id not in known)
    ]
    if ids:
        found = conn.execute(
            sa.select(events.c.event_id, events.c.hash, events.c.permit_id).where(
                events.c.enterprise_id == enterprise_id, events.c.event_id.in_(ids)
            )
        )
        known.update({r.event_id: r for r in found})
    return known, held


@dataclass
class _Shared:
    """Read once per push for all its permits. Every event of a push is the pusher's
    (``DEVICE_MISMATCH`` otherwise), so the pusher's key is the only one its checks use.
    A ledger item's versions are read by the first permit that asks (or kept from an
    earlier push while the ledger has no new version, ``ingest_ledger.LedgerVersions``);
    each event's instant is picked from them (a ledger write committed during the push
    is dated after the events, as ``valid_from`` is the time of the write)."""

    ledger: LedgerVersions
    keys: dict[str, str] | None = None


# The statements every push runs, built once (profiled: building a statement cost about
# what its round trip did; docs/performance.md, wave 8).
_PUSHER_KEY = sa.select(devices.c.device_id, devices.c.public_key_b64).where(
    devices.c.enterprise_id == sa.bindparam("enterprise_id"),
    devices.c.device_id == sa.bindparam("device_id"),
)
_PERMIT_FOR_UPDATE = (
    sa.select(permits)
    .where(
        permits.c.enterprise_id == sa.bindparam("enterprise_id"),
        permits.c.permit_id == sa.bindparam("permit_id"),
    )
    .with_for_update()
)


def _pusher_key(conn: Connection, enterprise_id: str, device_id: str) -> dict[str, str]:
    rows = conn.execute(_PUSHER_KEY, {"enterprise_id": enterprise_id, "device_id": device_id})
    return {r.device_id: r.public_key_b64 for r in rows}


def _push_permit(
    conn: Connection,
    settings: Settings,
    device: Principal,
    permit_id: str,
    group: list[tuple[int, domain.ParsedEvent]],
    shared: _Shared,
    *,
    careful: bool = False,
) -> tuple[list[Result], _Replays | None, ingest_save.Save | None]:
    enterprise_id = device.enterprise_id or ""
    received = datetime.now(UTC)
    out: list[Result] = []
    # FOR UPDATE: concurrent pushes for one permit take turns (PostgreSQL; SQLite's
    # BEGIN IMMEDIATE in begin_write); a new permit's race ends at the unique index.
    # Another enterprise's permit of the same id is another permit: ids are unique per
    # enterprise, so none can take another's first (docs/reliability.md, section 8).
    permit = conn.execute(
        _PERMIT_FOR_UPDATE, {"enterprise_id": enterprise_id, "permit_id": permit_id}
    ).first()
    # A permit without its row has no events stored: they are written in the row's
    # transaction. (One committed by a racing push since the row was read makes this
    # push's insert fail on the unique (enterprise, permit, seq), and it is redone.)
    last_seq = permit.last_seq if permit is not None else 0
    candidates: list[tuple[int, domain.ParsedEvent]] = []
    expected = last_seq + 1
    seen_ids: set[str] = set()
    known, held = _stored_matches(conn, enterprise_id, permit_id, group, last_seq, careful)
    # A byte-identical copy of an event earlier in this batch (a client that retries by
    # appending, a replaying proxy) gets the first copy's outcome: "duplicate" when that
    # one is stored, its rejection otherwise; EVENT_ID_REUSED is for a different event.
    first_copy: dict[str, tuple[int, str, str]] = {}
    echoes: list[tuple[int, domain.ParsedEvent, int]] = []
    for index, ev in sorted(group, key=lambda item: item[1].seq):
        dup = known.get(ev.event_id)
        first = first_copy.get(ev.event_id)
        if dup is None and first is not None and first[1:] == (ev.hash, ev.permit_id):
            echoes.append((index, ev, first[0]))
            continue
        if dup is not None or ev.event_id in seen_ids:
            if dup is not None and dup.hash == ev.hash and dup.permit_id == ev.permit_id:
                out.append(Result(index, ev.event_id, ev.permit_id, ev.seq, "duplicate"))
            else:
                out.append(
                    Result(
                        index,
                        ev.event_id,
                        ev.permit_id,
                        ev.seq,
                        "rejected",
                        "EVENT_ID_REUSED",
                        _("this event id is already used by a different event"),
                    )
                )
            continue
        seen_ids.add(ev.event_id)
        first_copy[ev.event_id] = (index, ev.hash, ev.permit_id)
        if ev.seq in held:
            # Same permit, same seq, different event: a fork. Kept for review, not dropped,
            # when it is a genuine signed event of an enrolled device and the permit has not
            # reached its cap (a device cannot fill the review list with junk).
            refused = ingest_forks.fork_refused(conn, settings, enterprise_id, ev)
            if refused is not None:
                out.append(Result(index, ev.event_id, ev.permit_id, ev.seq, "rejected", *refused))
                continue
            conflict_id = ingest_forks.store_conflict(
                conn, enterprise_id, ev, held[ev.seq], received
            )
            out.append(
                Result(
                    index,
                    ev.event_id,
                    ev.permit_id,
                    ev.seq,
                    "rejected",
                    "VERSION_CONFLICT",
                    _("another event already holds this place in the chain; kept for review"),
                    conflict_id=conflict_id,
                )
            )
            continue
        if ev.seq != expected:
            out.append(
                Result(
                    index,
                    ev.event_id,
                    ev.permit_id,
                    ev.seq,
                    "rejected",
                    "CHAIN_GAP",
                    _("expected seq {expected}, got {seq}").format(expected=expected, seq=ev.seq),
                    "seq",
                )
            )
            continue
        candidates.append((index, ev))
        expected += 1
    out, replays, save = _group_outcome(
        conn, settings, device, permit_id, permit, candidates, out, received, shared
    )
    return _with_echoes(out, echoes), replays, save


def _with_echoes(
    out: list[Result], echoes: list[tuple[int, domain.ParsedEvent, int]]
) -> list[Result]:
    by_index = {r.index: r for r in out}
    for index, ev, first_index in echoes:
        first = by_index[first_index]
        if first.status in ("accepted", "duplicate"):
            out.append(Result(index, ev.event_id, ev.permit_id, ev.seq, "duplicate"))
        else:
            out.append(dataclasses.replace(first, index=index))
    return out


def _group_outcome(
    conn: Connection,
    settings: Settings,
    device: Any,
    permit_id: str,
    permit: Any,
    candidates: list[tuple[int, domain.ParsedEvent]],
    out: list[Result],
    received: datetime,
    shared: _Shared,
) -> tuple[list[Result], _Replays | None, ingest_save.Save | None]:
    """Verify, replay and store the candidates that continue the chain (their events; the
    rest of the writes are the ``ingest_save.Save`` returned)."""
    enterprise_id = device.enterprise_id or ""
    if not candidates:
        return out, None, None

    kept = _cached_replays(permit)
    resume, ledger_resume = (kept.replayer, kept.ledger) if kept is not None else (None, None)
    chain: list[domain.ParsedEvent] = []
    last: domain.ParsedEvent | None = None
    if kept is not None:
        last = kept.head  # the stored head, as the row names it (checked)
    elif permit is not None:
        chain = load_chain(conn, enterprise_id, permit_id)
        last = chain[-1]
    if shared.keys is None:
        shared.keys = _pusher_key(conn, enterprise_id, device.subject_id)
    keys = shared.keys
    accepted = candidates
    try:
        # The stored chain was verified event by event when it was pushed; the new events
        # are verified continuing from its head (seq, hash, writer), with the same checks.
        domain.verify_chain([ev for _, ev in candidates], keys, after=last)
    except domain.ChainInvalid as exc:
        bad_seq = exc.seq if exc.seq is not None else candidates[0][1].seq
        accepted = [(i, ev) for i, ev in candidates if ev.seq < bad_seq]
        for i, ev in candidates:
            if ev.seq == bad_seq:
                out.append(
                    Result(i, ev.event_id, ev.permit_id, ev.seq, "rejected", exc.code, exc.message)
                )
            elif ev.seq > bad_seq:
                out.append(
                    Result(
                        i,
                        ev.event_id,
                        ev.permit_id,
                        ev.seq,
                        "rejected",
                        "PREDECESSOR_REJECTED",
                        _("an earlier event of this permit in the batch was rejected"),
                    )
                )
    if not accepted:
        return out, None, None

    new = [ev for _, ev in accepted]
    summary, replayer = domain.replay_chain([*chain, *new], received, resume=resume)
    summary, ledger_replayer = with_ledger_check(
        conn, enterprise_id, permit, chain, new, summary, resume, ledger_resume, shared.ledger
    )
    previous_at = last.occurred_at if last is not None else None
    received_iso = now_iso(received)
    summary = hot_work_links.with_link_check(conn, enterprise_id, summary, new, received_iso)
    rows = []
    for index, ev in accepted:
        flag, skew = _clock(ev.occurred_at, previous_at, received, settings)
        previous_at = ev.occurred_at
        rows.append(
            {
                "event_id": ev.event_id,
                "enterprise_id": enterprise_id,
                "permit_id": ev.permit_id,
                "seq": ev.seq,
                "type": ev.type,
                "occurred_at": now_iso(ev.occurred_at),
                "received_at": received_iso,
                "device_id": ev.device_id,
                "actor": ev.actor,
                "hash": ev.hash,
                "body": ev.raw,
                "clock_flag": flag,
                "clock_skew_s": skew,
            }
        )
        out.append(Result(index, ev.event_id, ev.permit_id, ev.seq, "accepted", clock_flag=flag))
    insert_rows(conn, events, rows)
    flags = {r["clock_flag"] for r in rows if r["clock_flag"]}
    if any(r.code == "VERSION_CONFLICT" for r in out):
        flags.add("VERSION_CONFLICT")
    save = ingest_save.Save(enterprise_id, permit_id, permit, new, flags, summary, received_iso)
    return out, _Replays(replayer, ledger_replayer, new[-1]), save


def _clock(
    occurred: datetime, previous: datetime | None, received: datetime, settings: Settings
) -> tuple[str | None, float | None]:
    """Measure, flag, never correct. Late arrival is normal (offline for days); an event
    from the future or earlier than its predecessor in the chain is not."""
    ahead = (occurred - received).total_seconds()
    if ahead > settings.clock_ahead_tolerance_s:
        return "CLOCK_AHEAD", ahead
    if previous is not None and occurred < previous:
        return "CLOCK_BACKWARDS", (occurred - previous).total_seconds()
    return None, None


__all__ = ["Result", "push"]

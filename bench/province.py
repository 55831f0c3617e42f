"""A province's storm (issue 20): tablets reconnecting after an outage push their
backlog at once to a server of several workers on PostgreSQL, while live jobs raise
alarms and workers are killed and restarted.

* Tablets are async clients (the tablet's own ``SyncClient``, which sends urgent
  permits first in the urgent lane and waits out 429 ``Retry-After``), each with its
  own Ed25519 key enrolled through the API; their chains are written with the core
  (``bench.histories``: ``decide → seal → apply``, a readings chunk event a minute).
* A fraction of the tablets run a live job (set up and entered a few minutes ago);
  during the storm each records an H2S alarm with the core at a random moment and the
  time from recording to ``GET /api/v1/permits/{id}`` showing it is measured.
* ``cspermit server run --workers N`` (one a core and one more) serves on loopback; a
  worker is killed with SIGKILL twice during the storm (uvicorn's supervisor starts
  another).
* Every event sent, acknowledged (accepted or duplicate) and stored (read from the
  database afterwards) is counted: lost = sent but not stored, duplicated = stored rows
  over distinct events sent.
* The floor: the same backlog's canonical SHA-256 and Ed25519 check plus a raw SQLite
  insert in batches of 200, serially in this process, in the same run; floor rate =
  1 / (1/checks + 1/raw). ``server.ingest_vs_floor`` is the storm's catch-up rate
  (backlog events acknowledged / time until the last is) over it.

The backlogs are streamed, never all held: each tablet's chains are written with the
core in a pool of processes (one a core) to a file of its own before the storm, and a
tablet reads its file when it reconnects, at most ``pushing_at_once`` tablets at a time
(the rest reconnect as those finish), and drops it once every event is acknowledged.
The floor is measured on a sample of whole tablets' backlogs (at most ``FLOOR_SAMPLE``
events: it is a rate). A line of progress (events acknowledged, the rate, this
process's memory) goes to stderr every ``PROGRESS_S``.

Loopback only, bounded in count and time. Quick mode: 40 tablets, 120 permits
(~7,000 events), 8 live jobs, under 3 minutes; the full run (2,000 tablets, 20,000
permits, ~1.2 M events) also reports ``province.day_ingest_minutes``. Targets:
``bench.AREAS``.
"""

from __future__ import annotations

import asyncio
import collections
import json
import marshal
import multiprocessing
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import Figure, judged, p50_p99
from bench.support.server_process import cli_server, workers_of
from tablet_app.sync_client import BATCH_SIZE

ROOT = Path(__file__).resolve().parents[1]
BATCH = BATCH_SIZE  # the tablet's own batches
FLOOR_SAMPLE = 20_000
# The server's workers (``cspermit server run --workers``): one a core and one more, which
# runs while the others wait on PostgreSQL (a commit's flush, the change counter's lock):
# with one a core the two cores idled ~6 % of the catch-up (docs/performance.md, wave 10).
WORKERS = int(os.environ.get("CSPERMIT_PROVINCE_WORKERS", (os.cpu_count() or 2) + 1))
PROGRESS_S = 30.0


@dataclass(frozen=True)
class Size:
    enterprises: int
    tablets: int
    permits_per_tablet: int
    minutes_inside: int
    live_fraction: float
    deadline_s: float
    pushing_at_once: int


# (enterprises, tablets, permits a tablet, minutes inside a job, live fraction, deadline s,
# tablets pushing their backlogs at once)
QUICK = Size(4, 40, 3, 30, 0.2, 150, 40)
FULL = Size(200, 2000, 10, 45, 0.05, 1800, 200)


@dataclass
class Tablet:
    enterprise_id: str
    key: Any = None
    token: str = ""
    backlog_file: Path | None = None  # written by ``build_backlogs``, read when it pushes
    backlog_ids: frozenset[str] = frozenset()
    live: Any = None  # the core's writer of a live job, or None
    acked: set[str] = field(default_factory=set)

    def backlog(self) -> list[Any]:
        """The backlog as the tablet's store holds it: each event's JSON text and the
        fields a push orders by (``EncodedEvent``), sent as stored. (marshal, not JSON, for
        the file: the generator shares the server's two cores, docs/performance.md.)"""
        from tablet_app.encoded import EncodedEvent

        assert self.backlog_file is not None, "build_backlogs first"
        return list(map(EncodedEvent._make, marshal.loads(self.backlog_file.read_bytes())))


def _event_id(event: Any) -> str:
    return str(event.event_id if hasattr(event, "event_id") else event["event_id"])


def _uscc(first17: str, check: Any) -> str:
    return first17 + check(first17)


def make_accounts(db_url: str, size: Size) -> list[str]:
    """The enterprises, one admin each (``admin-E-n`` / ``admin-pass``) and a provincial
    reviewer (``reviewer``); the enterprise ids."""
    from permits.reference import uscc_check_char
    from sync_server.security import Passwords, Role
    from sync_server.services import accounts as account_service
    from sync_server.services import enterprises as enterprise_service
    from sync_server.storage import make_engine

    engine = make_engine(db_url)
    passwords = Passwords(1, 64)
    ids = [f"P-{i:04d}" for i in range(size.enterprises)]
    with engine.begin() as conn:
        for i, eid in enumerate(ids):
            enterprise_service.create(
                conn,
                enterprise_id=eid,
                name=f"enterprise {i}",
                credit_code=_uscc(f"91530102{i:09d}", uscc_check_char),
                jurisdiction="530102",
                details={},
            )
            account_service.create_account(
                conn,
                passwords,
                username=f"admin-{eid}",
                password="admin-pass",
                role=Role.ENTERPRISE_ADMIN,
                enterprise_id=eid,
            )
        account_service.create_account(
            conn,
            passwords,
            username="reviewer",
            password="reviewer-pass",
            role=Role.BUREAU_REVIEWER,
            jurisdiction="53",
        )
    engine.dispose()
    return ids


async def enroll_tablets(http: Any, base: str, tablets: list[Tablet]) -> None:
    from permits.integrity import DeviceKey

    admins: dict[str, str] = {}
    for tab in tablets:
        if tab.enterprise_id not in admins:
            r = await http.post(
                f"{base}/api/v1/auth/token",
                data={"username": f"admin-{tab.enterprise_id}", "password": "admin-pass"},
            )
            admins[tab.enterprise_id] = r.json()["access_token"]
        h = {"Authorization": f"Bearer {admins[tab.enterprise_id]}"}
        code = (await http.post(f"{base}/api/v1/enrollments", json={}, headers=h)).json()["code"]
        key = DeviceKey.generate("pending")
        dev = (
            await http.post(
                f"{base}/api/v1/devices", json={"code": code, "public_key": key.public_b64()}
            )
        ).json()
        tab.key = DeviceKey(dev["device_id"], key.private_key)
        tab.token = dev["token"]


def _write_backlog(
    index: int, enterprise_id: str, device_id: str, private_b64: str, size: Size, path: Path
) -> tuple[int, list[str]]:
    """One tablet's backlog (jobs of the day before the outage ended, one in five with
    an alarm), written with the core to ``path`` (marshal: ``Tablet.backlog``); run in a
    pool process.
    Returns the count and the event ids."""
    from bench.histories import job
    from permits.integrity import DeviceKey
    from tablet_app.store import stored_text

    key = DeviceKey.from_private_b64(device_id, private_b64)
    rng = random.Random(f"province-{index}")
    now = datetime.now(UTC)
    events: list[dict[str, Any]] = []
    for p in range(size.permits_per_tablet):
        start = now - timedelta(hours=rng.uniform(3, 20))
        events += job(
            f"{enterprise_id}-T{index:04d}-{p:02d}",
            key,
            start,
            size.minutes_inside,
            alarm=rng.random() < 0.2,
            enterprise_id=enterprise_id,
        )
    # As the tablet's store keeps them (``Store.unacked_encoded``): the text and the
    # fields the push orders by.
    rows = [
        (e["event_id"], e["permit_id"], e["type"], e["occurred_at"], stored_text(e)) for e in events
    ]
    path.write_bytes(marshal.dumps(rows))
    ids = [event["event_id"] for event in events]
    return len(ids), ids


def build_backlogs(tablets: list[Tablet], size: Size, where: Path) -> int:
    """Every tablet's backlog written to a file of its own in ``where``, by a pool of
    processes (one a core), so no process holds them all; some tablets also get a live
    job entered a few minutes ago. Returns the backlog events written."""
    from bench.histories import live_writer

    rng = random.Random(20)
    now = datetime.now(UTC)
    for t, tab in enumerate(tablets):
        if rng.random() < size.live_fraction or t == 0:
            tab.live = live_writer(
                f"{tab.enterprise_id}-T{t:04d}-LIVE",
                tab.key,
                now - timedelta(minutes=8),
                enterprise_id=tab.enterprise_id,
            )
    spawn = multiprocessing.get_context("spawn")  # no fork of a process with threads
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=spawn) as pool:
        futures = []
        for t, tab in enumerate(tablets):
            tab.backlog_file = where / f"backlog-{t:04d}.marshal"
            args = (t, tab.enterprise_id, tab.key.device_id, tab.key.private_b64(), size)
            futures.append(pool.submit(_write_backlog, *args, tab.backlog_file))
        total = 0
        for tab, future in zip(tablets, futures, strict=True):
            n, ids = future.result()
            tab.backlog_ids = frozenset(ids)
            total += n
    return total


async def _push(client: Any, tab: Tablet, events: list[Any], until: float) -> None:
    """Push until every event is acknowledged: a client that gives up (a worker killed
    under it, retries used up) is started again, as the tablet's background sync is."""
    from tablet_app.sync_client import ServerUnavailable

    pending = [e for e in events if _event_id(e) not in tab.acked]
    while pending and time.monotonic() < until:
        try:
            outcome = await client.push_events(pending)
        except ServerUnavailable:
            await asyncio.sleep(0.5)
            continue
        tab.acked.update(outcome.acknowledged_ids)
        pending = [e for e in pending if _event_id(e) not in tab.acked]


async def _live(
    client: Any,
    http: Any,
    base: str,
    review: dict[str, str],
    tab: Tablet,
    at_s: float,
    until: float,
    latencies: list[float],
    acks: list[float],
) -> None:
    import httpx

    from cspermit.demo.permit_history import h2s_alarm

    w = tab.live
    await _push(client, tab, list(w.out.events), until)
    await asyncio.sleep(at_s)
    w.at = datetime.now(UTC) - timedelta(minutes=0.1)
    h2s_alarm(w, "a-p-sun", 12.0, minutes=0.1)
    recorded = time.perf_counter()
    alarm = w.out.events[-1]
    push = asyncio.create_task(_push(client, tab, [alarm], until))
    push.add_done_callback(lambda _t: acks.append(time.perf_counter() - recorded))
    while time.monotonic() < until:
        try:
            r = await http.get(f"{base}/api/v1/permits/{w.out.permit_id}", headers=review)
        except httpx.TransportError:  # the worker that had the connection was killed
            await asyncio.sleep(0.05)
            continue
        if r.status_code == 200 and any(e["seq"] == alarm["seq"] for e in r.json()["events"]):
            latencies.append(time.perf_counter() - recorded)
            break
        await asyncio.sleep(0.05)
    await push


def _spies(server_pid: int) -> list[tuple[Any, Path]]:
    """With ``CSPERMIT_PROVINCE_PY_SPY=<dir>`` (a diagnostic; ``pip install py-spy``),
    each server worker sampled by py-spy from the storm's start until the catch-up ends
    (or for ``CSPERMIT_PROVINCE_PY_SPY_S`` seconds), its stacks written to
    ``<dir>/worker-<pid>.txt``."""
    import subprocess

    from bench.ingest_profile import py_spy

    where = os.environ.get("CSPERMIT_PROVINCE_PY_SPY")
    if not where:
        return []
    spy = py_spy()
    Path(where).mkdir(parents=True, exist_ok=True)
    out = []
    for pid in workers_of(server_pid):
        raw = Path(where) / f"worker-{pid}.txt"
        cmd = [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "100"]
        cmd += ["--nonblocking", "--duration", os.environ.get("CSPERMIT_PROVINCE_PY_SPY_S", "600")]
        proc = subprocess.Popen(
            [*cmd, "-o", str(raw)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        out.append((proc, raw))
    time.sleep(1.0)  # attached before the first push
    return out


def _stop_spies(spies: list[tuple[Any, Path]]) -> None:
    from bench.ingest_profile import shares

    for proc, raw in spies:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        print(f"{raw}:\n{shares(raw)}", file=sys.stderr, flush=True)


async def _storm(
    base: str, tablets: list[Tablet], size: Size, server: Any, spread_s: float
) -> dict[str, Any]:
    import httpx

    from bench.support import cpu
    from tablet_app.sync_client import SyncClient

    until = time.monotonic() + size.deadline_s
    latencies: list[float] = []
    acks: list[float] = []
    kills: list[int] = []
    rng = random.Random(7)

    statuses: collections.Counter[int] = collections.Counter()

    class Counting(httpx.AsyncHTTPTransport):
        # Every push's answer counted by status: how many were deferred (429).
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await super().handle_async_request(request)
            statuses[response.status_code] += 1
            return response

    def client_of(tab: Tablet) -> Any:
        # Plain HTTP on loopback: a transport that loads no CA bundle (the default
        # loads one a client, ~15 % of this process's CPU at 2,000 tablets, profiled).
        return SyncClient(
            base,
            token=tab.token,
            max_retries=6,
            backoff_s=0.2,
            batch_size=BATCH,
            timeout_s=120,
            transport=Counting(verify=False),
        )

    async with httpx.AsyncClient(timeout=60) as http:
        token = (
            await http.post(
                f"{base}/api/v1/auth/token",
                data={"username": "reviewer", "password": "reviewer-pass"},
            )
        ).json()["access_token"]
        review = {"Authorization": f"Bearer {token}"}
        spies = _spies(server.pid)
        t0 = time.perf_counter()
        cpu_at_start = cpu.snapshot()
        cpu_spent: dict[str, float] = {}
        done_at: list[float] = []
        queue = iter(tablets)

        async def catch_up() -> None:
            # One of pushing_at_once places: the next tablet reconnects when the last
            # is done, its backlog read then and dropped once acknowledged. (Places
            # that take tablets in turn, not a task a tablet waiting on a semaphore:
            # 2,000 waiters made asyncio's semaphore ~8 % of this process, profiled.)
            for tab in queue:
                async with client_of(tab) as client:
                    await _push(client, tab, tab.backlog(), until)
                if tab.backlog_ids <= tab.acked:  # else the deadline came first
                    done_at.append(time.perf_counter() - t0)
                    if len(done_at) == len(tablets):
                        cpu_spent.update(cpu.spent(cpu_at_start, cpu.snapshot()))
                        _stop_spies(spies)

        async def live(tab: Tablet) -> None:
            async with client_of(tab) as client:
                at_s = rng.uniform(1, spread_s)
                await _live(client, http, base, review, tab, at_s, until, latencies, acks)

        total = sum(len(t.backlog_ids) for t in tablets)

        async def progress() -> None:
            while True:
                await asyncio.sleep(PROGRESS_S)
                acked = sum(len(t.acked & t.backlog_ids) for t in tablets)
                elapsed = time.perf_counter() - t0
                rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(
                    f"province: {elapsed:.0f} s: {acked} of {total} backlog events "
                    f"acknowledged ({60 * acked / elapsed:.0f} a minute), {len(done_at)} of "
                    f"{len(tablets)} tablets caught up; bench peak RSS {rss_mb:.0f} MB",
                    file=sys.stderr,
                    flush=True,
                )

        async def killer() -> None:
            # One worker at a time: the next is killed only once the supervisor's
            # replacement of the last has started and had a few seconds to serve, so the
            # storm always has a worker (two at once would be an outage, not a restart).
            for at in (spread_s * 0.3, spread_s * 0.6):
                await asyncio.sleep(max(0.0, at - (time.perf_counter() - t0)))
                before = workers_of(server.pid)
                if len(before) < WORKERS:
                    continue
                os.kill(before[0], signal.SIGKILL)
                kills.append(before[0])
                while time.monotonic() < until:
                    now = workers_of(server.pid)
                    if len(now) >= WORKERS and set(now) != set(before):
                        break
                    await asyncio.sleep(0.2)
                await asyncio.sleep(3)

        tasks = [catch_up() for _ in range(min(size.pushing_at_once, len(tablets)))]
        tasks += [live(t) for t in tablets if t.live is not None]
        reporter = asyncio.create_task(progress())
        await asyncio.gather(killer(), *tasks)
        reporter.cancel()
        # None: not every tablet caught up before the deadline.
        catch_up_s = max(done_at) if len(done_at) == len(tablets) else None
    return {
        "latencies": latencies,
        "acks": acks,
        "kills": kills,
        "catch_up_s": catch_up_s,
        "cpu": cpu_spent,
        "statuses": dict(sorted(statuses.items())),
        "wall_s": time.perf_counter() - t0,
    }


def floor_rates(tablets: list[Tablet], tmp: Path) -> tuple[float, float, float]:
    """Events/s of the checks alone, of the raw insert alone, and the floor, on the
    backlogs of whole tablets up to ``FLOOR_SAMPLE`` events (all of them in quick mode)."""
    from bench.server import raw_sqlite
    from permits.events import parse_event
    from permits.integrity import _signed_by, event_hash, verify_key_from

    flat: list[dict[str, Any]] = []
    parsed = []
    for t in tablets:
        if len(flat) >= FLOOR_SAMPLE:
            break
        public = verify_key_from(t.key.public_b64())
        backlog = [json.loads(e.text) for e in t.backlog()]
        flat += backlog
        parsed += [(parse_event(e), public) for e in backlog]
    t0 = time.perf_counter()
    for ev, public in parsed:
        if event_hash(ev) != ev.hash or not _signed_by(public, ev.hash, ev.sig):
            raise RuntimeError("a bench event failed its checks")
    checks = len(parsed) / (time.perf_counter() - t0)
    raw = raw_sqlite(tmp / "raw.db", [flat[i : i + BATCH] for i in range(0, len(flat), BATCH)])
    return checks, raw, 1 / (1 / checks + 1 / raw)


def _stored(db_url: str, sent: set[str]) -> tuple[int, int, int]:
    """(rows stored, distinct sent events stored, sent events missing)."""
    import sqlalchemy as sa

    from sync_server.schema import events
    from sync_server.storage import make_engine

    engine = make_engine(db_url)
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.select(events.c.event_id))]
    engine.dispose()
    stored = set(ids) & sent
    return len(ids), len(stored), len(sent - stored)


def measure(db_url: str, size: Size, quick: bool) -> list[Figure]:
    import httpx

    from bench.support import cpu

    tmp = Path(tempfile.mkdtemp(prefix="cspermit-province-"))
    try:
        enterprise_ids = make_accounts(db_url, size)
        tablets = [Tablet(enterprise_ids[i % len(enterprise_ids)]) for i in range(size.tablets)]
        with cli_server(
            db_url, tmp, "--workers", str(WORKERS), env={"CSPERMIT_MAX_BATCH_EVENTS": "500"}
        ) as (base, proc):

            async def enroll() -> None:
                async with httpx.AsyncClient(timeout=60) as http:
                    await enroll_tablets(http, base, tablets)

            asyncio.run(enroll())
            t_build = time.perf_counter()
            events_n = build_backlogs(tablets, size, tmp)
            build_s = time.perf_counter() - t_build
            # The alarms are spread over the time the catch-up is expected to take.
            spread = max(5.0, min(60.0, events_n / 400))
            storm = asyncio.run(_storm(base, tablets, size, proc, spread))
        sent = set().union(*(t.backlog_ids for t in tablets))
        sent |= {e["event_id"] for t in tablets if t.live for e in t.live.out.events}
        acked = set().union(*(t.acked for t in tablets))
        rows, stored, lost = _stored(db_url, sent)
        checks, raw, floor = floor_rates(tablets, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    backlog_acked = sum(len(t.acked & t.backlog_ids) for t in tablets)
    catch_up_s: float | None = storm["catch_up_s"]
    rate = backlog_acked / catch_up_s if catch_up_s is not None else None
    ratio = rate / floor if rate is not None else None
    lat = storm["latencies"]
    live_n = sum(1 for t in tablets if t.live)
    p50, p99 = p50_p99(lat) if lat else (float("nan"), float("nan"))
    duplicated = rows - stored
    counts = (
        f"sent {len(sent)}, acknowledged {len(acked & sent)}, stored {stored} "
        f"({rows} rows); workers killed: {len(storm['kills'])}; the tablets' requests "
        f"answered by status: {storm['statuses']}"
    )
    if catch_up_s is not None:
        took = f"in {catch_up_s:.1f} s"
    else:
        took = f"not all within the {size.deadline_s:.0f} s deadline"
    figures = [
        judged(
            "province.alarm_during_catchup_p99",
            round(p99, 3) if lat else None,
            ok=len(lat) == live_n,
            note=f"{len(lat)} of {live_n} live alarms seen; p50 {p50:.3f} s; pushed and "
            f"acknowledged in {', '.join(f'{a:.2f}' for a in sorted(storm['acks']))} s; "
            "recorded with "
            "the core, pushed by SyncClient (urgent lane), polled on GET /permits/{id}",
        ),
        judged("province.events_lost", lost, note=counts),
        judged("province.events_duplicated", duplicated),
        judged(
            "server.ingest_vs_floor",
            round(ratio, 3) if ratio is not None else None,
            baseline=round(floor),
            note=f"catch-up {round(rate or 0)} events/s over HTTP ({backlog_acked} of "
            f"{events_n} backlog events of {size.tablets} tablets {took}, "
            f"{min(size.pushing_at_once, size.tablets)} pushing at once, {WORKERS} workers, "
            f"PostgreSQL, 429s and killed workers included); floor {round(floor)} "
            f"events/s = checks {round(checks)} + raw SQLite insert {round(raw)}, serial",
        ),
        Figure(
            "province.catch_up_events_per_s",
            round(rate) if rate is not None else None,
            "events/s",
            baseline=round(floor),
        ),
        Figure(
            "province.server_cpu_us_per_event",
            round(1e6 * storm["cpu"].get("server", 0) / backlog_acked) if storm["cpu"] else None,
            "µs",
            baseline=round(1e6 / floor),
            note=f"the server workers' CPU an event during the catch-up (from /proc), the "
            f"floor's in baseline; {cpu.said(storm['cpu'], backlog_acked)}"
            if storm["cpu"]
            else "not measured (the catch-up did not finish)",
        ),
        Figure(
            "province.chains_built_s",
            round(build_s, 1),
            "s",
            note=f"{events_n} backlog events written with the core, "
            f"{os.cpu_count()} processes, to files",
        ),
    ]
    if quick:
        figures.append(
            judged(
                "province.day_ingest_minutes",
                None,
                note="not measured in quick mode (full run only)",
            )
        )
    else:
        minutes = catch_up_s / 60 if catch_up_s is not None else None
        figures.append(
            judged(
                "province.day_ingest_minutes",
                round(minutes, 2) if minutes is not None else None,
                note=f"{backlog_acked} of {events_n} backlog events acknowledged {took}",
            )
        )
    return figures


def run(quick: bool) -> list[Figure]:
    """The storm on a throwaway PostgreSQL; a failure propagates (``python -m bench``
    reports this area's figures as not measured, with the traceback)."""
    from bench.search import pg_cluster

    size = QUICK if quick else FULL
    if "CSPERMIT_PROVINCE_TABLETS" in os.environ:  # a smaller or larger storm by hand
        size = replace(size, tablets=int(os.environ["CSPERMIT_PROVINCE_TABLETS"]))
    with pg_cluster() as url:
        return measure(url, size, quick)


if __name__ == "__main__":
    for fig in run(quick="--quick" in sys.argv):
        print(json.dumps(fig.as_dict(), ensure_ascii=False))

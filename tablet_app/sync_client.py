"""The tablet's sync client (httpx, async): enroll, push event batches, upload readings
chunks and attachments, pull reference data, pull a chain for a handover.

It retries transport errors, 5xx and 429 (honouring Retry-After) with exponential backoff,
never 4xx: a refused event is an answer, not a failure. It refuses plain HTTP except to
the local machine unless ``allow_insecure_http=True`` (a TLS-terminating proxy on the same
host, a lab network). Tests pass ``transport=httpx.ASGITransport(app)`` to run it against
the real server in-process.

SyncClientError              root; ``code`` is the server's error code or a local one
├── InsecureTransportError   plain HTTP to a non-local host
└── ServerUnavailable        retries exhausted (offline, 5xx, throttled)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from permits.urgency import BULK_LANE, LANE_HEADER, URGENT_LANE, is_urgent_event
from tablet_app.encoded import EncodedEvent
from tablet_app.i18n import gettext as _

__all__ = [
    "EncodedEvent",
    "Enrollment",
    "InsecureTransportError",
    "Progress",
    "PushOutcome",
    "ReferenceUpdate",
    "ServerUnavailable",
    "SyncClient",
    "SyncClientError",
]

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
# Ask which chunks the server holds only when more than this is waiting (bench/wire.py:
# the check costs ~500 bytes of HTTP both ways; a five-minute chunk is ~750 bytes).
HAVE_CHECK_ABOVE_BYTES = 4096


# Events a push carries (the server's limit is larger: docs/server.md); the benches
# push in the same batches.
BATCH_SIZE = 200


class SyncClientError(Exception):
    def __init__(
        self,
        message: str,
        *,
        code: str = "SYNC_CLIENT_ERROR",
        status: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.field = field


class InsecureTransportError(SyncClientError):
    pass


class ServerUnavailable(SyncClientError):
    pass


@dataclass(frozen=True)
class Progress:
    stage: str  # "events" | "chunks" | "attachments" | "reference"
    done: int
    total: int | None


def _permit_of(event: Mapping[str, Any] | EncodedEvent) -> str:
    return event.permit_id if isinstance(event, EncodedEvent) else str(event.get("permit_id"))


def _is_urgent(event: Mapping[str, Any] | EncodedEvent, now: datetime) -> bool:
    if isinstance(event, EncodedEvent):
        return is_urgent_event({"type": event.type, "occurred_at": event.occurred_at}, now)
    return is_urgent_event(event, now)


def _json_of(event: Mapping[str, Any] | EncodedEvent) -> str:
    if isinstance(event, EncodedEvent):
        return event.text
    return json.dumps(dict(event), ensure_ascii=False)


def batch_body(events: Iterable[Mapping[str, Any] | EncodedEvent]) -> bytes:
    """The JSON body of a push: ``{"events": [...]}``, each encoded event's text as it is
    (for mappings, what ``json.dumps({"events": [...]}, ensure_ascii=False)`` writes)."""
    return ('{"events": [' + ", ".join(_json_of(e) for e in events) + "]}").encode("utf-8")


@dataclass(frozen=True)
class Enrollment:
    device_id: str
    token: str
    enterprise_id: str


@dataclass
class PushOutcome:
    results: list[dict[str, Any]] = field(default_factory=list)

    def by_status(self, status: str) -> list[dict[str, Any]]:
        return [r for r in self.results if r["status"] == status]

    @property
    def acknowledged_ids(self) -> list[str]:
        """Event ids the server holds (accepted now or before): safe to mark as synced.
        Rejected events stay on the tablet for a person to look at."""
        return [r["event_id"] for r in self.results if r["status"] in ("accepted", "duplicate")]


@dataclass
class ReferenceUpdate:
    cursor: int
    items: list[dict[str, Any]] = field(default_factory=list)
    hazards: list[dict[str, Any]] = field(default_factory=list)
    enterprise: dict[str, Any] | None = None
    profiles: list[str] = field(default_factory=list)
    # Every space's current public token (the QR on its warning card); None from a server
    # that does not send them.
    public_codes: list[dict[str, str]] | None = None


# The connection died under a request (the server process went away), as opposed to a
# server that cannot be reached at all (ConnectError, timeouts).
STALE_CONNECTION = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class SyncClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        allow_insecure_http: bool = False,
        timeout_s: float = 30.0,
        max_retries: int = 4,
        backoff_s: float = 0.5,
        batch_size: int = BATCH_SIZE,
        max_deferrals: int = 120,
        progress: Callable[[Progress], None] | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https"):
            raise SyncClientError(
                _("the server address must start with https://"), code="URL_INVALID"
            )
        if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS and not allow_insecure_http:
            raise InsecureTransportError(
                _("refusing plain HTTP to {host}: use https://").format(host=parts.hostname),
                code="INSECURE_TRANSPORT",
            )
        self.token = token
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.max_deferrals = max_deferrals
        self.backoff_s = backoff_s
        self.progress = progress
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), transport=transport, timeout=timeout_s
        )

    async def __aenter__(self) -> SyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ plumbing

    def _report(self, stage: str, done: int, total: int | None) -> None:
        if self.progress is not None:
            self.progress(Progress(stage, done, total))

    async def _request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        last: str = ""
        attempt = deferred = stale = 0
        while True:
            delay = self.backoff_s * (2**attempt) * (0.5 + random.random() / 2)
            try:
                response = await self._http.request(method, url, headers=headers, **kw)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
                # A kept-alive connection the server closed under us (its worker was
                # restarted): the pool drops it, and a new connection is answered by a
                # live worker at once, so that is tried now, not after a backoff (a
                # backoff for each stale connection in the pool added seconds to an
                # alarm's push in the province bench).
                if isinstance(exc, STALE_CONNECTION) and stale < self.max_retries:
                    stale += 1
                    continue
            else:
                if response.status_code == 429 and not _deferred(response):
                    # any other 429 (a locked account, a throttled code) is an answer,
                    # not a wait: said at once, in the server's words
                    raise _error_of(response)
                if response.status_code == 429 or response.status_code >= 500:
                    last = f"HTTP {response.status_code}"
                    retry_after = response.headers.get("Retry-After", "")
                    if retry_after.isdigit():
                        delay = max(delay, float(retry_after))
                        # A server that defers a bulk batch under load (429 PUSH_DEFERRED,
                        # docs/server.md "Alarms first") is up and says when: that wait
                        # does not use up a retry, and is spread so the tablets it
                        # deferred together do not all come back in the same second.
                        if response.status_code == 429 and deferred < self.max_deferrals:
                            deferred += 1
                            await self._sleep(float(retry_after) * (1 + random.random() / 2))
                            continue
                else:
                    if response.status_code >= 400:
                        raise _error_of(response)
                    return response
            if attempt >= self.max_retries:
                break
            attempt += 1
            await self._sleep(delay)
        raise ServerUnavailable(
            _("the server did not answer after {n} tries ({last})").format(
                n=attempt + deferred + stale + 1, last=last
            ),
            code="SERVER_UNAVAILABLE",
        )

    # ------------------------------------------------------------------ people

    async def sign_in(self, username: str, password: str) -> str:
        """For admin tools: OAuth2 password grant; the token is kept for later calls."""
        r = await self._request(
            "POST", "/api/v1/auth/token", data={"username": username, "password": password}
        )
        self.token = str(r.json()["access_token"])
        return self.token

    async def create_enrollment_code(self, label: str = "") -> str:
        r = await self._request("POST", "/api/v1/enrollments", json={"label": label})
        return str(r.json()["code"])

    # ------------------------------------------------------------------ device

    async def enroll(self, code: str, public_key_b64: str, label: str = "") -> Enrollment:
        """Trade a one-time code and the tablet's Ed25519 public key for a device token."""
        saved, self.token = self.token, None
        try:
            r = await self._request(
                "POST",
                "/api/v1/devices",
                json={"code": code, "public_key": public_key_b64, "label": label},
            )
        finally:
            self.token = saved
        body = r.json()
        self.token = str(body["token"])
        return Enrollment(str(body["device_id"]), str(body["token"]), str(body["enterprise_id"]))

    async def redeem_signon_code(self, code: str, person_id: str, pin_hash: str) -> dict[str, Any]:
        """A person's first sign-on: their one-time code and the hash of the PIN they
        chose (never the PIN); the server writes the hash into their ledger entry."""
        # One try, no retry: a person waits at the screen, and a throttled code (429)
        # must say so at once rather than be retried behind their back.
        body = {"code": code, "person_id": person_id, "pin_hash": pin_hash}
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            r = await self._http.post("/api/v1/signon", json=body, headers=headers)
        except httpx.TransportError as exc:
            raise ServerUnavailable(
                _("the server did not answer ({error})").format(error=type(exc).__name__),
                code="SERVER_UNAVAILABLE",
            ) from exc
        if r.status_code >= 400:
            raise _error_of(r)
        return dict(r.json())

    async def push_events(self, events: Sequence[Mapping[str, Any] | EncodedEvent]) -> PushOutcome:
        """Push events in chain order, in batches; one result per event, in input order.
        An event is its JSON form (a mapping) or, as the store keeps it, an
        :class:`EncodedEvent` sent as it is.

        Alarms first: the permits with an urgent event (``permits.urgency``: an alarm,
        evacuation, entry or exit recorded lately) are pushed before the rest, each
        permit's events still in chain order, in batches marked for the urgent lane; the
        server never defers those behind a backlog."""
        outcome = PushOutcome()
        total = len(events)
        self._report("events", 0, total)
        now = datetime.now(UTC)
        urgent = {_permit_of(e) for e in events if _is_urgent(e, now)}
        first = [i for i, e in enumerate(events) if _permit_of(e) in urgent]
        rest = [i for i, e in enumerate(events) if _permit_of(e) not in urgent]
        batches = [
            (first[i : i + self.batch_size], True) for i in range(0, len(first), self.batch_size)
        ]
        batches += [
            (rest[i : i + self.batch_size], False) for i in range(0, len(rest), self.batch_size)
        ]
        done = 0
        for positions, urgent_lane in batches:
            try:
                r = await self._post_batch(events, positions, urgent_lane)
            except SyncClientError as exc:
                # A stored text that is not JSON (a damaged row) makes the server refuse
                # its whole batch: looked for only then, it is answered here and the
                # rest of the batch is sent again, so one bad row holds back no other.
                damaged = {i for i in positions if not _is_json_object(events[i])}
                if exc.code != "MALFORMED_JSON" or not damaged:
                    raise
                outcome.results += [_damaged_result(i, events[i]) for i in sorted(damaged)]
                done += len(damaged)
                positions = [i for i in positions if i not in damaged]
                if not positions:
                    continue
                r = await self._post_batch(events, positions, urgent_lane)
            for result in r.json()["results"]:
                result = dict(result)
                result["index"] = positions[int(result["index"])]
                outcome.results.append(result)
            done += len(positions)
            self._report("events", done, total)
        outcome.results.sort(key=lambda r: int(r["index"]))
        return outcome

    async def _post_batch(
        self,
        events: Sequence[Mapping[str, Any] | EncodedEvent],
        positions: list[int],
        urgent_lane: bool,
    ) -> httpx.Response:
        # Encoded once, not again on each try: a batch the server defers under load is
        # sent again and again (docs/performance.md, the full-size storm). The lane is
        # said, so the server admits a backlog batch before reading it.
        lane = URGENT_LANE if urgent_lane else BULK_LANE
        headers = {"Content-Type": "application/json", LANE_HEADER: lane}
        body = batch_body(events[i] for i in positions)
        return await self._request("POST", "/api/v1/sync/events", content=body, headers=headers)

    async def _upload(self, kind: str, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        await self._request(
            "PUT",
            f"/api/v1/sync/{kind}/{digest}",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        return digest

    async def upload_chunk(self, data: bytes) -> str:
        """Upload one readings chunk; returns its SHA-256 (idempotent)."""
        return await self._upload("chunks", data)

    async def upload_attachment(self, data: bytes) -> str:
        return await self._upload("attachments", data)

    async def upload_chunks(self, chunks: Iterable[bytes]) -> list[str]:
        """Upload the chunks the server does not hold yet; returns every digest.

        The have-check (``POST /sync/chunks/have``) only pays when it can save more than it
        costs: a request and answer of ~500 bytes of HTTP against re-sending bytes the
        server may already hold (an earlier upload whose answer was lost). A backlog
        after a day offline is asked about first; the one fresh chunk a sealing span
        makes online is simply PUT (idempotent: 200 when already held)."""
        by_digest = {hashlib.sha256(c).hexdigest(): c for c in chunks}
        digests = list(by_digest)
        held: set[str] = set()
        if sum(len(c) for c in by_digest.values()) > HAVE_CHECK_ABOVE_BYTES:
            for start in range(0, len(digests), 1000):
                r = await self._request(
                    "POST",
                    "/api/v1/sync/chunks/have",
                    json={"digests": digests[start : start + 1000]},
                )
                held |= set(r.json()["have"])
        todo = [d for d in digests if d not in held]
        self._report("chunks", 0, len(todo))
        for i, digest in enumerate(todo, start=1):
            await self._upload("chunks", by_digest[digest])
            self._report("chunks", i, len(todo))
        return digests

    async def pull_reference(self, cursor: int = 0) -> ReferenceUpdate:
        """Reference data changed since ``cursor``, following pages until complete. Keep
        the returned cursor for the next pull."""
        update = ReferenceUpdate(cursor=cursor)
        while True:
            r = await self._request(
                "GET", "/api/v1/sync/reference", params={"cursor": update.cursor}
            )
            body = r.json()
            update.items += body["items"]
            update.hazards += body["hazards"]
            update.enterprise = body["enterprise"] or update.enterprise
            update.profiles = body["profiles"]
            if "public_codes" in body:
                update.public_codes = list(body["public_codes"])
            update.cursor = int(body["cursor"])
            self._report("reference", len(update.items), None)
            if not body["more"]:
                return update

    async def report_hazard(self, report: Mapping[str, Any]) -> dict[str, Any]:
        """File a worker's hazard report (``POST /api/v1/hazards``); the photo is an
        attachment uploaded before, named by its SHA-256 in ``details``."""
        body = {
            "enterprise_id": report["enterprise_id"],
            "title": report["title"],
            "source": "worker_report",
            "space_id": report.get("space_id"),
            "permit_id": report.get("permit_id"),
            "details": {
                "description": report.get("description", ""),
                "reported_by": report.get("reported_by"),
                "reported_at": report.get("reported_at"),
                "photos": list(report.get("photos", ())),
                "tablet_report_id": report["id"],
            },
        }
        r = await self._request("POST", "/api/v1/hazards", json=body)
        return dict(r.json())

    async def pull_chain(self, permit_id: str) -> list[dict[str, Any]]:
        """The server's copy of a permit chain, to continue it after a signed handover."""
        r = await self._request("GET", f"/api/v1/sync/permits/{permit_id}/events")
        return list(r.json()["events"])


def _is_json_object(event: Mapping[str, Any] | EncodedEvent) -> bool:
    if not isinstance(event, EncodedEvent):
        return True
    try:
        return isinstance(json.loads(event.text), dict)
    except (ValueError, RecursionError):
        return False


def _damaged_result(index: int, event: Mapping[str, Any] | EncodedEvent) -> dict[str, Any]:
    """The answer for a stored event whose text is not JSON: rejected here, so it stays
    on the tablet, unacknowledged, for a person to look at (its later events in the
    chain are refused by the server as a gap)."""
    assert isinstance(event, EncodedEvent)
    return {
        "index": index,
        "event_id": event.event_id,
        "permit_id": event.permit_id,
        "seq": None,
        "status": "rejected",
        "code": "STORED_EVENT_DAMAGED",
        "message": _(
            "this event's stored record is damaged and cannot be sent; "
            "keep the tablet and ask the safety manager to have it examined"
        ),
    }


def _deferred(response: httpx.Response) -> bool:
    """A bulk push put off under load: the server's 429 PUSH_DEFERRED, or a 429 without
    the server's error body (``{"error": {"code": …}}``: a proxy's or a load balancer's
    page), waited out as before. A 429 with any other code in that body (a locked
    account, a throttled code) is an answer, said at once."""
    try:
        return bool(response.json()["error"]["code"] == "PUSH_DEFERRED")
    except (ValueError, KeyError, TypeError):
        return True


def _error_of(response: httpx.Response) -> SyncClientError:
    try:
        err = response.json()["error"]
        return SyncClientError(
            str(err.get("message", "")),
            code=str(err.get("code", "HTTP_ERROR")),
            status=response.status_code,
            field=err.get("field"),
        )
    except (ValueError, KeyError, TypeError):
        return SyncClientError(
            _("the server answered HTTP {status}").format(status=response.status_code),
            code=f"HTTP_{response.status_code}",
            status=response.status_code,
        )

"""The tablets' sync API: push event batches, upload readings chunks and attachments,
pull a permit's chain for a handover."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from permits.urgency import BULK_LANE, LANE_HEADER
from sync_server.admission import PushAdmission
from sync_server.deps import AppEngine, AppSettings, Conn, CurrentPrincipal, PrincipalApart
from sync_server.errors import BadRequest, PayloadTooLarge
from sync_server.i18n import gettext as _
from sync_server.security import Principal, Role
from sync_server.services import blobs as blob_service
from sync_server.services import enrolments, ingest
from sync_server.services import permits as permit_service
from sync_server.services.tenancy import require_role, require_visible
from sync_server.settings import Settings

router = APIRouter(prefix="/api/v1/sync", tags=["sync"])

Digest = Annotated[str, Path(description="lower-case hex SHA-256 of the body")]


class EventResult(BaseModel):
    index: int = Field(description="position of the event in the pushed batch")
    event_id: str | None
    permit_id: str | None
    seq: int | None
    status: str = Field(description="accepted | duplicate | rejected")
    code: str | None = Field(default=None, description="why, when rejected")
    message: str | None = None
    field: str | None = None
    conflict_id: str | None = Field(default=None, description="a stored VersionConflict")
    clock_flag: str | None = Field(default=None, description="CLOCK_AHEAD | CLOCK_BACKWARDS")


class PushResult(BaseModel):
    results: list[EventResult]
    accepted: int
    duplicate: int
    rejected: int


class BlobResult(BaseModel):
    sha256: str
    status: str = Field(description="stored | duplicate")


class HaveIn(BaseModel):
    digests: list[str] = Field(max_length=5000)


class HaveOut(BaseModel):
    have: list[str]


def _device(who: Principal) -> Principal:
    require_role(who, Role.DEVICE)
    return who


def _batch_of(raw: bytes, settings: Settings) -> list[Any]:
    """The pushed body's events, or the error naming what is wrong with it."""
    try:
        body = json.loads(raw)
    # RecursionError: a deeply nested body (json has no depth limit of its own).
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest(
            _("the request body is not valid JSON"), code="MALFORMED_JSON", field="body"
        ) from exc
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise BadRequest(
            _("expected an object with an 'events' array"), code="EVENTS_REQUIRED", field="events"
        )
    batch: list[Any] = body["events"]
    if len(batch) > settings.max_batch_events:
        raise PayloadTooLarge(
            _("a batch holds at most {limit} events; got {n}").format(
                limit=settings.max_batch_events, n=len(batch)
            ),
            code="BATCH_TOO_LARGE",
            field="events",
            extra={"limit": settings.max_batch_events},
        )
    return batch


def _parse_and_push(
    raw: bytes, engine: Engine, settings: Settings, device: Principal
) -> list[ingest.Result]:
    return ingest.push(engine, settings, device, _batch_of(raw, settings))


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            _("the body is over the limit of {limit} bytes").format(limit=limit),
            code="BODY_TOO_LARGE",
            extra={"limit": limit},
        )
    body = bytearray()
    async for part in request.stream():
        body.extend(part)
        if len(body) > limit:
            raise PayloadTooLarge(
                _("the body is over the limit of {limit} bytes").format(limit=limit),
                code="BODY_TOO_LARGE",
                extra={"limit": limit},
            )
    return bytes(body)


@router.post(
    "/events",
    response_model=PushResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["events"],
                        "properties": {"events": {"type": "array", "items": {"type": "object"}}},
                    }
                }
            },
        }
    },
)
async def push_events(
    request: Request, engine: AppEngine, settings: AppSettings, who: PrincipalApart
) -> PushResult:
    """Push a batch of permit events (device only). At most ``max_batch_events`` events
    (500 by default) and ``max_batch_bytes`` (4 MiB) per batch; over either is 413.

    Idempotent by ``event_id``. Each event gets a result: ``accepted``, ``duplicate`` or
    ``rejected`` with a code (``EVENT_INVALID``, ``DEVICE_MISMATCH``,
    ``CHAIN_GAP``, ``VERSION_CONFLICT``, ``HASH_MISMATCH``, ``BAD_SIGNATURE``,
    ``PREV_HASH_MISMATCH``, ``PREDECESSOR_REJECTED``, ``EVENT_ID_REUSED`` …).

    Alarms first: a batch with an alarm, evacuation, entry or exit recorded in the last
    10 minutes is always taken at once; a bulk batch while this worker is storing
    ``max_bulk_pushes_in_flight`` others waits up to ``bulk_wait_for_slot_s`` for one to
    finish, else is 429 ``PUSH_DEFERRED`` with ``Retry-After``. A batch sent with
    ``X-CSPermit-Lane: bulk`` is admitted (or deferred) before its body is read.
    """
    device = _device(who)
    if request.headers.get(LANE_HEADER) == BULK_LANE:
        # Admitted before the body is read: a deferred backlog batch costs the worker
        # neither its parsing nor a transaction (docs/performance.md, the full storm).
        # A deferred push's unread body is read off and dropped by uvicorn once the 429
        # is sent, so the connection serves on (tested over a real server).
        async with admission(request).admit_declared_bulk(settings):
            await run_in_threadpool(enrolments.touch, engine, device)
            raw = await _read_limited(request, settings.max_batch_bytes)
            # Parsed off the event loop, with the push: a backlog batch's body is
            # hundreds of kB, and the loop serves the urgent lane meanwhile.
            results = await run_in_threadpool(_parse_and_push, raw, engine, settings, device)
    else:
        await run_in_threadpool(enrolments.touch, engine, device)  # its last sync (码上查)
        raw = await _read_limited(request, settings.max_batch_bytes)
        batch = _batch_of(raw, settings)
        del raw  # a push waiting for a slot holds only its parsed events
        async with admission(request).admit(settings, batch):
            results = await run_in_threadpool(ingest.push, engine, settings, device, batch)
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    for r in results:
        counts[r.status] += 1
    return PushResult(results=[EventResult(**r.as_dict()) for r in results], **counts)


def admission(request: Request) -> PushAdmission:
    """This worker's admission control, made on its first push."""
    state = request.app.state
    if not hasattr(state, "push_admission"):
        state.push_admission = PushAdmission()
    return state.push_admission  # type: ignore[no-any-return]


async def _put_blob(
    kind: str,
    sha256: str,
    request: Request,
    engine: Any,
    settings: Any,
    who: Principal,
    response: Response,
) -> BlobResult:
    device = _device(who)
    blob_service.check_digest(sha256)
    data = await _read_limited(request, settings.max_blob_bytes)
    content_type = request.headers.get("content-type", "application/octet-stream")

    def write() -> bool:
        with engine.begin() as conn:
            return blob_service.put(
                conn,
                device.enterprise_id or "",
                kind,
                sha256,
                data,
                content_type,
                device.subject_id,
            )

    created = await run_in_threadpool(write)
    response.status_code = 201 if created else 200
    return BlobResult(sha256=sha256, status="stored" if created else "duplicate")


_BINARY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.put("/chunks/{sha256}", response_model=BlobResult, openapi_extra=_BINARY_BODY)
async def put_chunk(
    sha256: Digest,
    request: Request,
    engine: AppEngine,
    settings: AppSettings,
    who: PrincipalApart,
    response: Response,
) -> BlobResult:
    """Upload a readings chunk by its SHA-256 (device only). 201 stored, 200 already there,
    422 HASH_MISMATCH when the body does not hash to the path, 413 over ``max_blob_bytes``."""
    return await _put_blob("chunk", sha256, request, engine, settings, who, response)


@router.put("/attachments/{sha256}", response_model=BlobResult, openapi_extra=_BINARY_BODY)
async def put_attachment(
    sha256: Digest,
    request: Request,
    engine: AppEngine,
    settings: AppSettings,
    who: PrincipalApart,
    response: Response,
) -> BlobResult:
    """Upload an attachment (drawn signature, photo) by its SHA-256, like a chunk."""
    return await _put_blob("attachment", sha256, request, engine, settings, who, response)


@router.post("/chunks/have", response_model=HaveOut)
def have_chunks(body: HaveIn, conn: Conn, who: CurrentPrincipal) -> HaveOut:
    """Which of these chunk digests the server already holds (skip re-uploading them)."""
    device = _device(who)
    return HaveOut(
        have=sorted(blob_service.have(conn, device.enterprise_id or "", "chunk", body.digests))
    )


@router.get("/{kind}/{sha256}", responses={200: {"content": {"application/octet-stream": {}}}})
def get_blob(
    kind: Annotated[str, Path(pattern="^(chunks|attachments)$")],
    sha256: Digest,
    conn: Conn,
    who: CurrentPrincipal,
    enterprise_id: str | None = None,
) -> Response:
    """Download a chunk or attachment (its device's enterprise, admins, reviewers)."""
    require_role(who, Role.DEVICE, Role.ENTERPRISE_ADMIN, Role.BUREAU_REVIEWER, Role.OPERATOR)
    eid = enterprise_id or who.enterprise_id
    require_visible(conn, who, eid)
    row = blob_service.get(conn, eid or "", kind.rstrip("s"), blob_service.check_digest(sha256))
    # The content type is the uploader's word: the browser must not sniff past it
    # (an "image" that is HTML), and it saves rather than shows the file.
    return Response(
        content=row.data,
        media_type=row.content_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'attachment; filename="{kind.rstrip("s")}-{sha256}"',
        },
    )


@router.get("/permits/{permit_id}/events")
def pull_chain(permit_id: str, conn: Conn, who: CurrentPrincipal) -> dict[str, Any]:
    """The stored chain of one permit, so a second tablet can continue it after a signed
    handover (device of the same enterprise)."""
    device = _device(who)
    return {
        "permit_id": permit_id,
        "events": permit_service.chain_for_device(conn, device, permit_id),
    }


__all__ = ["Body", "router"]

"""Server-rendered pages for bureau reviewers and enterprise admins (``/web``).

Every page reads through the same tenancy rules as the API (another tenant's permit,
hazard or enterprise is a 404 page) and every form post is CSRF-checked. Pages are
rendered in the reader's language (zh_CN by default).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

import segno
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool

from sync_server.deps import AppEngine, AppPasswords, AppSettings
from sync_server.errors import SyncError, TooManyRequests, Unprocessable
from sync_server.routers import hazards as hazard_api
from sync_server.routers import permits as permit_api
from sync_server.schema import notes, permit_anomalies
from sync_server.security import Principal, Role
from sync_server.services import accounts as account_service
from sync_server.services import audit
from sync_server.services import enterprises as enterprise_service
from sync_server.services import hazards as hazard_service
from sync_server.services import reference as ref
from sync_server.services.reference import Kind
from sync_server.services.tenancy import require_visible
from sync_server.storage import now_iso
from sync_server.web import queries
from sync_server.web import trace as trace_mod
from sync_server.web.i18n import LANG_COOKIE, gettext_for, request_language
from sync_server.web.labels import (
    BEIJING,
    EVENT_TYPES,
    HAZARD_ACTIONS,
    HAZARD_SOURCES,
    HAZARD_STATUSES,
    PERMIT_STATUSES,
    ROLES,
    label,
    local_time,
)
from sync_server.web.session import (
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    csrf_for,
    new_presession,
    page_principal,
    session_token,
)

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
PAGE_SIZE = 20
CLOSURE_CHECK_PREFIX = "[销号复核 closure checked]"


class SignInRequired(Exception):
    pass


def page_conn(request: Request, engine: AppEngine) -> Connection:
    """The page's transaction. Unlike the API's ``Conn`` (a dependency with ``yield``,
    which FastAPI closes only after the response has been sent), it is committed by
    ``PageRoute`` before the response leaves: the browser follows a redirect at once, and
    the next page must see what the form just wrote (and the new session token)."""
    conn = engine.connect()
    conn.begin()
    request.state.page_conn = conn
    return conn


PageConn = Annotated[Connection, Depends(page_conn)]


def _finish(request: Request, commit: bool) -> None:
    conn: Connection | None = getattr(request.state, "page_conn", None)
    if conn is None:
        return
    request.state.page_conn = None
    try:
        if commit:
            conn.commit()
        else:
            conn.rollback()
    finally:
        conn.close()


class PageRoute(APIRoute):
    """Commits the page's transaction before the response is sent (rolls it back on any
    error); errors on a page become a page (404, 403 …) in the reader's language, and a
    missing session becomes a redirect to the sign-in form, not a JSON body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except SignInRequired:
                await run_in_threadpool(_finish, request, False)
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                return RedirectResponse(f"/web/sign-in?next={quote(target)}", status_code=303)
            except SyncError as exc:
                await run_in_threadpool(_finish, request, False)
                return error_page(request, exc)
            except BaseException:
                await run_in_threadpool(_finish, request, False)
                raise
            # A page that answers an error status (a refused form) keeps nothing it wrote,
            # except a failed sign-in, which must be counted for throttling.
            keep = response.status_code < 400 or getattr(request.state, "keep_on_error", False)
            await run_in_threadpool(_finish, request, keep)
            return response

        return handler


router = APIRouter(prefix="/web", route_class=PageRoute, include_in_schema=False)


def page_who(request: Request, conn: PageConn) -> Principal:
    who = page_principal(conn, request)
    if who is None:
        raise SignInRequired()
    if who.role in (Role.DEVICE, Role.AGGREGATOR):
        from sync_server.errors import Forbidden

        _ = gettext_for(request_language(request))
        raise Forbidden(_("this account's role has no web pages"), code="ROLE_FORBIDDEN")
    return who


Who = Annotated[Principal, Depends(page_who)]


def _ctx(request: Request, who: Principal | None, **extra: Any) -> dict[str, Any]:
    lang = request_language(request)
    token = session_token(request)
    return {
        "request": request,
        "_": gettext_for(lang),
        "lang": lang,
        "who": who,
        "csrf": csrf_for(token) if token and who else "",
        "t": local_time,
        "label": label,
        "EVENT_TYPES": EVENT_TYPES,
        "PERMIT_STATUSES": PERMIT_STATUSES,
        "HAZARD_STATUSES": HAZARD_STATUSES,
        "HAZARD_SOURCES": HAZARD_SOURCES,
        "HAZARD_ACTIONS": HAZARD_ACTIONS,
        "ROLES": ROLES,
        "is_bureau": who is not None and who.role is Role.BUREAU_REVIEWER,
        "is_admin": who is not None and who.role in (Role.ENTERPRISE_ADMIN, Role.OPERATOR),
        "other_lang": "en" if lang == "zh_CN" else "zh_CN",
        # The same page in the other language, filters and page kept.
        "lang_url": "?"
        + urlencode(
            [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
            + [("lang", "en" if lang == "zh_CN" else "zh_CN")]
        ),
        **extra,
    }


def render(
    request: Request, name: str, who: Principal | None, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, name, _ctx(request, who, **extra), status_code=status_code
    )
    lang = request.query_params.get("lang")
    if lang in ("zh_CN", "en"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: Request, exc: SyncError) -> HTMLResponse:
    return render(
        request,
        "error.html",
        None,
        status_code=exc.status,
        error=exc,
        # Looking up whether someone is signed in here would need a connection; the
        # error page offers the way back instead of the menu.
    )


def _blank(value: str | None) -> str | None:
    return value.strip() or None if isinstance(value, str) else value


def _safe_next(target: str | None) -> str:
    # Only our own pages: an open redirect would let a phishing link borrow our sign-in.
    if target and target.startswith("/web") and not target.startswith("//"):
        return target
    return "/web/"


# ----------------------------------------------------------------- sign-in


@router.get("/sign-in")
def sign_in_form(request: Request, conn: PageConn, next: str | None = None) -> HTMLResponse:
    presession = request.cookies.get(PRESESSION_COOKIE) or new_presession()
    response = render(
        request,
        "sign_in.html",
        None,
        next=_safe_next(next),
        form_csrf=csrf_for(presession),
        error=None,
        username="",
    )
    response.set_cookie(PRESESSION_COOKIE, presession, httponly=True, samesite="strict")
    return response


@router.post("/sign-in")
def sign_in(
    request: Request,
    conn: PageConn,
    settings: AppSettings,
    passwords: AppPasswords,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/web/",
) -> Response:
    _ = gettext_for(request_language(request))
    presession = request.cookies.get(PRESESSION_COOKIE)
    check_csrf(presession, csrf)
    error: str | None = None
    status = 401
    result = None
    if not username.strip() or not password:
        error = _("enter your username and password")
        status = 422
    else:
        try:
            result = account_service.sign_in(conn, settings, passwords, username.strip(), password)
        except TooManyRequests as exc:
            error = _("too many failed sign-ins; try again in {seconds} s").format(
                seconds=exc.retry_after
            )
            status = 429
        if result is None and error is None:
            error = _("wrong username or password")
    if result is None:
        request.state.keep_on_error = True  # the failure count is what throttles guessing
        response = render(
            request,
            "sign_in.html",
            None,
            status_code=status,
            next=_safe_next(next),
            form_csrf=csrf_for(presession or ""),
            error=error,
            username=username,
        )
        return response
    token, ttl = result
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    redirect.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ttl,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    redirect.delete_cookie(PRESESSION_COOKIE)
    return redirect


@router.post("/sign-out")
def sign_out(request: Request, conn: PageConn, csrf: Annotated[str, Form()] = "") -> Response:
    token = session_token(request)
    check_csrf(token, csrf)
    if token:
        account_service.revoke_token(conn, token)
    response = RedirectResponse("/web/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# ----------------------------------------------------------------- dashboard


@router.get("/")
def dashboard(request: Request, conn: PageConn, who: Who) -> HTMLResponse:
    from permits.reference import EmergencyDrill, TopicTraining

    data = queries.dashboard(conn, who)
    names = queries.enterprise_names(conn, who)
    today = datetime.now(BEIJING).date()
    # Enterprises whose yearly emergency drill or topic training is overdue (MEM13).
    training_due = []
    for eid in names:
        details = dict(enterprise_service.get(conn, eid).data or {})
        drill = _drills(details, "drills", EmergencyDrill, today)["overdue"]
        topic = _drills(details, "topic_trainings", TopicTraining, today)["overdue"]
        if drill or topic:
            training_due.append({"enterprise_id": eid, "drill": drill, "topic": topic})
    return render(
        request,
        "dashboard.html",
        who,
        d=data,
        names=names,
        today_date=today.isoformat(),
        training_due=training_due,
    )


# ----------------------------------------------------------------- permits


def _permit_filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    out: dict[str, Any] = {}
    for key in ("enterprise_id", "space_id", "status", "person", "detector", "anomaly"):
        value = _blank(q.get(key))
        if value:
            out[key] = value
    for key in ("date_from", "date_to"):
        value = _blank(q.get(key))
        if value:
            out[key] = value
    return out


def _api_dates(filters: dict[str, Any], _: Callable[[str], str]) -> dict[str, Any]:
    """Dates from the form (a Beijing calendar day) as the API's ISO bounds; ``date_to``
    includes its whole day."""
    args = dict(filters)
    for key in ("date_from", "date_to"):
        if key in args:
            try:
                day = date.fromisoformat(args[key])
            except ValueError as exc:
                raise Unprocessable(
                    _("expected a date as YYYY-MM-DD"), code="DATE_INVALID", field=key
                ) from exc
            if key == "date_to":
                day += timedelta(days=1)
            args[key] = datetime(day.year, day.month, day.day, tzinfo=BEIJING).isoformat()
    return args


def _search(
    conn: Connection, who: Principal, filters: dict[str, Any], limit: int, offset: int, _: Any
) -> Any:
    return permit_api.list_permits(conn, who, **_api_dates(filters, _), limit=limit, offset=offset)


def _page_size(request: Request) -> int:
    """Rows per page: ``size`` from 5 to 100 (a reviewer printing a list wants more)."""
    try:
        size = int(request.query_params.get("size", PAGE_SIZE))
    except ValueError:
        return PAGE_SIZE
    return min(100, max(5, size))


@router.get("/permits")
def permit_search(request: Request, conn: PageConn, who: Who, page: int = 1) -> HTMLResponse:
    _ = gettext_for(request_language(request))
    filters = _permit_filters(request)
    page = max(1, page)
    size = _page_size(request)
    error = None
    result = None
    has_next = False
    try:
        # One row more than the page shows: whether a next page exists, which ``total``
        # cannot tell once the API stops counting (10,000).
        result = _search(conn, who, filters, size + 1, (page - 1) * size, _)
        has_next = len(result.items) > size
        result.items = result.items[:size]
    except Unprocessable as exc:
        error = exc
    total = result.total if result else 0
    pages = max(1, (total + size - 1) // size)
    pages_more = result is not None and not result.total_exact
    if pages_more:
        pages = page + 1 if has_next else page
    return render(
        request,
        "permits.html",
        who,
        status_code=422 if error else 200,
        filters=filters,
        result=result,
        error=error,
        page=page,
        pages=pages,
        pages_more=pages_more,
        names=queries.enterprise_names(conn, who),
        query=urlencode({**filters, **({"size": size} if size != PAGE_SIZE else {})}),
        anomaly_codes=_anomaly_codes(conn, who),
    )


def _anomaly_codes(conn: Connection, who: Principal) -> list[str]:
    from sync_server.services.tenancy import scope_filter, visible_enterprises

    # The codes in use, from the indexed member rows (not the JSON of every anomalous
    # permit: 50,000 of them in a county of 1M).
    rows = conn.execute(
        sa.select(permit_anomalies.c.code)
        .where(scope_filter(permit_anomalies.c.enterprise_id, visible_enterprises(conn, who)))
        .distinct()
    )
    return sorted(str(r.code) for r in rows)


def _csv_response(rows: list[list[Any]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        # Spreadsheet formula injection: a cell that starts like a formula is quoted.
        writer.writerow(
            [
                "'" + s if (s := "" if c is None else str(c))[:1] in ("=", "+", "-", "@") else s
                for c in row
            ]
        )
    # A byte-order mark so spreadsheet programs read the Chinese as UTF-8.
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/permits.csv")
def permits_csv(request: Request, conn: PageConn, who: Who) -> Response:
    _ = gettext_for(request_language(request))
    filters = _permit_filters(request)
    rows: list[list[Any]] = [
        [
            "permit_id",
            "enterprise_id",
            "status",
            "space_id",
            "first_at",
            "last_at",
            "events",
            "people",
            "detectors",
            "anomalies",
        ]
    ]
    offset = 0
    while True:
        result = _search(conn, who, filters, 200, offset, _)
        for p in result.items:
            rows.append(
                [
                    p.permit_id,
                    p.enterprise_id,
                    p.status,
                    p.space_id,
                    p.first_at,
                    p.last_at,
                    p.last_seq,
                    " ".join(p.people),
                    " ".join(p.detectors),
                    " ".join(p.anomalies),
                ]
            )
        offset += 200
        # A short page is the last: ``total`` stops counting at the API's cap.
        if len(result.items) < 200:
            break
    return _csv_response(rows, "permits.csv")


@router.get("/permits/{permit_id}")
def permit_trace(request: Request, permit_id: str, conn: PageConn, who: Who) -> HTMLResponse:
    _ = gettext_for(request_language(request))
    view = trace_mod.build(conn, who, permit_id, _)
    return render(request, "trace.html", who, v=view)


@router.post("/permits/{permit_id}/notes")
def permit_note(
    request: Request,
    permit_id: str,
    conn: PageConn,
    who: Who,
    text: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    _add_note(request, conn, who, "permit", permit_id, text, csrf)
    return RedirectResponse(f"/web/permits/{quote(permit_id)}#notes", status_code=303)


def _add_note(
    request: Request,
    conn: Connection,
    who: Any,
    kind: Literal["permit", "hazard"],
    object_id: str,
    text: str,
    csrf: str,
) -> None:
    """A note on a permit or a hazard from a page form (CSRF-checked, never empty)."""
    check_csrf(session_token(request), csrf)
    _ = gettext_for(request_language(request))
    if not text.strip():
        raise Unprocessable(_("write the note first"), code="VALIDATION_ERROR", field="text")
    hazard_api.add_note(
        hazard_api.NoteIn(object_kind=kind, object_id=object_id, text=text.strip()), conn, who
    )


# ----------------------------------------------------------------- enterprises


@router.get("/enterprises")
def enterprise_list(request: Request, conn: PageConn, who: Who) -> Response:
    names = queries.enterprise_names(conn, who)
    if who.role is Role.ENTERPRISE_ADMIN and who.enterprise_id:
        return RedirectResponse(f"/web/enterprises/{quote(who.enterprise_id)}", status_code=303)
    return render(request, "enterprises.html", who, names=names)


def _expiry(day: str | None, today: date, warn_days: int) -> str:
    if not day:
        return ""
    try:
        d = date.fromisoformat(day[:10])
    except ValueError:
        return ""
    if d < today:
        return "expired"
    if d <= today + timedelta(days=warn_days):
        return "expiring"
    return ""


def _drills(data: dict[str, Any], key: str, model: Any, today: date) -> dict[str, Any]:
    """Drills or topic trainings kept in the enterprise record, checked with the core's
    model; the enterprise is overdue with none on record or the latest past its interval."""
    from permits.reference import latest_overdue

    records = []
    invalid = []
    for raw in data.get(key) or []:
        try:
            records.append(model.model_validate(raw))
        except Exception:
            invalid.append(raw)
    records.sort(key=lambda r: r.held_on, reverse=True)
    return {
        "records": records,
        "invalid": invalid,
        "overdue": latest_overdue(records, today),
        "next_due": records[0].next_due() if records else None,
    }


@router.get("/enterprises/{enterprise_id}")
def enterprise_page(request: Request, enterprise_id: str, conn: PageConn, who: Who) -> HTMLResponse:
    from permits.reference import EmergencyDrill, TopicTraining

    require_visible(conn, who, enterprise_id)
    ent = enterprise_service.get(conn, enterprise_id)
    today = datetime.now(BEIJING).date()
    people = {r.item_id: r.data for r in ref.list_items(conn, enterprise_id, Kind.PERSON)}
    training = [r.data for r in ref.list_items(conn, enterprise_id, Kind.TRAINING)]
    certificates = [r.data for r in ref.list_items(conn, enterprise_id, Kind.CERTIFICATE)]
    person_rows = []
    for pid, pdata in people.items():
        records = [t for t in training if t.get("person_id") == pid] + list(
            pdata.get("training") or []
        )
        latest = max((t.get("valid_until", "") for t in records), default="")
        certs = [c for c in certificates if c.get("person_id") == pid]
        flags = {_expiry(latest, today, 30)} if latest else {"expired"}
        flags |= {_expiry(c.get("expires_on"), today, 60) for c in certs}
        person_rows.append(
            {
                "person_id": pid,
                "name": pdata.get("name", pid),
                "roles": pdata.get("roles") or [],
                "employer": (pdata.get("employer") or {}).get("id", ""),
                "training_until": latest,
                "training_flag": _expiry(latest, today, 30) if latest else "expired",
                "certificates": [
                    {**c, "flag": _expiry(c.get("expires_on"), today, 60)} for c in certs
                ],
                "attention": bool(flags - {""}),
            }
        )
    person_rows.sort(key=lambda r: (not r["attention"], r["person_id"]))
    contractors = [
        {**r.data, "flag": _expiry(r.data.get("contract_valid_until"), today, 30)}
        for r in ref.list_items(conn, enterprise_id, Kind.CONTRACTOR)
    ]
    detectors = [
        {**r.data, "flag": _expiry(r.data.get("calibration_due"), today, 30)}
        for r in ref.list_items(conn, enterprise_id, Kind.DETECTOR)
    ]
    spaces = [r.data for r in ref.list_items(conn, enterprise_id, Kind.SPACE)]
    recent = permit_api.list_permits(conn, who, enterprise_id=enterprise_id, limit=10)
    open_hazards = hazard_api.list_hazards(
        conn, who, enterprise_id=enterprise_id, open_only=True, limit=50
    )
    data = dict(ent.data or {})
    return render(
        request,
        "enterprise.html",
        who,
        ent=ent,
        spaces=spaces,
        people=person_rows,
        contractors=contractors,
        detectors=detectors,
        drills=_drills(data, "drills", EmergencyDrill, today),
        topic=_drills(data, "topic_trainings", TopicTraining, today),
        recent=recent,
        open_hazards=open_hazards,
    )


def _qr_svg(payload: str) -> str:
    # segno's inline SVG: a vector QR that prints sharp on the warning-sign card.
    return str(
        segno.make(payload, error="m").svg_inline(scale=4, border=2, title=payload, omitsize=True)
    )


def _space_payload(enterprise_id: str, space_id: str) -> str:
    return f"cspermit://space/{enterprise_id}/{space_id}"


@router.get("/enterprises/{enterprise_id}/spaces")
def ledger(request: Request, enterprise_id: str, conn: PageConn, who: Who) -> HTMLResponse:
    require_visible(conn, who, enterprise_id)
    ent = enterprise_service.get(conn, enterprise_id)
    spaces = []
    for row in ref.list_items(conn, enterprise_id, Kind.SPACE):
        payload = _space_payload(enterprise_id, row.item_id)
        spaces.append({**row.data, "qr": _qr_svg(payload), "payload": payload})
    return render(request, "ledger.html", who, ent=ent, spaces=spaces)


@router.get("/enterprises/{enterprise_id}/spaces/{space_id}/card")
def warning_card(
    request: Request, enterprise_id: str, space_id: str, conn: PageConn, who: Who
) -> HTMLResponse:
    require_visible(conn, who, enterprise_id)
    ent = enterprise_service.get(conn, enterprise_id)
    row = ref.get(conn, enterprise_id, Kind.SPACE, space_id)
    payload = _space_payload(enterprise_id, space_id)
    return render(
        request,
        "card.html",
        who,
        ent=ent,
        space=row.data,
        qr=_qr_svg(payload),
        payload=payload,
    )


# ----------------------------------------------------------------- hazards


def _hazard_filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    out: dict[str, Any] = {}
    for key in ("enterprise_id", "status", "source"):
        value = _blank(q.get(key))
        if value:
            out[key] = value
    for key in ("open_only", "overdue"):
        if q.get(key) in ("1", "true", "on"):
            out[key] = True
    return out


@router.get("/hazards")
def hazard_list(request: Request, conn: PageConn, who: Who, page: int = 1) -> HTMLResponse:
    filters = _hazard_filters(request)
    page = max(1, page)
    size = _page_size(request)
    result = hazard_api.list_hazards(conn, who, **filters, limit=size, offset=(page - 1) * size)
    pages = max(1, (result["total"] + size - 1) // size)
    return render(
        request,
        "hazards.html",
        who,
        filters=filters,
        result=result,
        page=page,
        pages=pages,
        names=queries.enterprise_names(conn, who),
        query=urlencode(
            {
                **{k: ("1" if v is True else v) for k, v in filters.items()},
                **({"size": size} if size != PAGE_SIZE else {}),
            }
        ),
        form=request.query_params,
        error=None,
    )


@router.get("/hazards.csv")
def hazards_csv(request: Request, conn: PageConn, who: Who) -> Response:
    filters = _hazard_filters(request)
    rows: list[list[Any]] = [
        [
            "hazard_id",
            "enterprise_id",
            "source",
            "category",
            "status",
            "overdue",
            "title",
            "space_id",
            "permit_id",
            "rule_code",
            "deadline",
            "created_at",
            "updated_at",
        ]
    ]
    offset = 0
    while True:
        result = hazard_api.list_hazards(conn, who, **filters, limit=200, offset=offset)
        for h in result["items"]:
            rows.append(
                [
                    h["hazard_id"],
                    h["enterprise_id"],
                    h["source"],
                    h["category"],
                    h["status"],
                    "yes" if h["overdue"] else "",
                    h["title"],
                    h["space_id"],
                    h["permit_id"],
                    h["rule_code"],
                    h["deadline"],
                    h["created_at"],
                    h["updated_at"],
                ]
            )
        offset += 200
        if offset >= result["total"]:
            break
    return _csv_response(rows, "hazards.csv")


@router.post("/hazards")
def hazard_report(
    request: Request,
    conn: PageConn,
    who: Who,
    enterprise_id: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "self_inspection",
    space_id: Annotated[str, Form()] = "",
    permit_id: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """A bureau reviewer files an inspection finding; an admin reports a hazard."""
    check_csrf(session_token(request), csrf)
    _ = gettext_for(request_language(request))
    if not title.strip():
        raise Unprocessable(_("give the hazard a title"), code="VALIDATION_ERROR", field="title")
    # An unknown source is refused, not quietly replaced; the API itself makes a
    # reviewer's report a bureau finding and refuses that source to anyone else.
    if source not in ("self_inspection", "worker_report", "bureau_inspection"):
        raise Unprocessable(_("unknown hazard source"), code="VALIDATION_ERROR", field="source")
    fields: dict[str, Any] = {
        "enterprise_id": enterprise_id,
        "title": title.strip(),
        "source": source,
        "space_id": _blank(space_id),
        "permit_id": _blank(permit_id),
        "details": {"description": description.strip()} if description.strip() else {},
    }
    if category.strip():  # else the API's default clause
        fields["category"] = category.strip()
    try:
        body = hazard_api.HazardIn(**fields)
    except ValidationError as exc:  # e.g. a title over the API's length: a 422, not a 500
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        raise Unprocessable(
            _("invalid input at {field}: {problem}").format(field=field, problem=first["msg"]),
            code="VALIDATION_ERROR",
            field=field,
        ) from exc
    out = hazard_api.report_hazard(
        body,
        conn,
        who,
        Response(),  # the API's status code is not this page's answer
    )
    return RedirectResponse(f"/web/hazards/{quote(out['hazard_id'])}", status_code=303)


def _hazard_response(
    request: Request,
    conn: Connection,
    who: Principal,
    hazard_id: str,
    error: SyncError | None = None,
) -> HTMLResponse:
    h = hazard_api.get_hazard(hazard_id, conn, who)
    checks = [n for n in h["notes"] if n["text"].startswith(CLOSURE_CHECK_PREFIX)]
    return render(
        request,
        "hazard.html",
        who,
        status_code=error.status if error else 200,
        h=h,
        closure_checks=checks,
        names=queries.enterprise_names(conn, who),
        error=error,
    )


@router.get("/hazards/{hazard_id}")
def hazard_page(request: Request, hazard_id: str, conn: PageConn, who: Who) -> HTMLResponse:
    return _hazard_response(request, conn, who, hazard_id)


@router.post("/hazards/{hazard_id}/actions")
def hazard_action(
    request: Request,
    hazard_id: str,
    conn: PageConn,
    who: Who,
    action: Annotated[str, Form()] = "",
    measures: Annotated[str, Form()] = "",
    responsible: Annotated[str, Form()] = "",
    deadline: Annotated[str, Form()] = "",
    evidence: Annotated[str, Form()] = "",
    person: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """The enterprise moves its hazard through the loop (plan → rectify → verify →
    close); a refusal shows the core's reason on the hazard page."""
    check_csrf(session_token(request), csrf)
    _ = gettext_for(request_language(request))
    if action not in ("plan", "rectify", "verify", "reject", "close"):
        raise Unprocessable(_("unknown hazard action"), code="VALIDATION_ERROR", field="action")
    deadline_iso = None
    if deadline.strip():
        try:
            day = date.fromisoformat(deadline.strip())
        except ValueError as exc:
            raise Unprocessable(
                _("expected a date as YYYY-MM-DD"), code="DATE_INVALID", field="deadline"
            ) from exc
        # The end of that day in Beijing: "by the 30th" means by the end of the 30th.
        deadline_iso = (
            datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=BEIJING)
            .astimezone(UTC)
            .isoformat()
        )
    body = hazard_api.HazardAction(
        action=action,
        person=_blank(person),
        measures=_blank(measures),
        responsible=_blank(responsible),
        deadline=deadline_iso,
        evidence=_blank(evidence),
        note=_blank(note),
    )
    try:
        # The core refuses before anything is written, so the request's transaction
        # holds nothing of the refused step.
        hazard_api.act_on_hazard(hazard_id, body, conn, who)
    except Unprocessable as exc:
        # The core's reason, on the hazard page itself (422), with the form to try again.
        return _hazard_response(request, conn, who, hazard_id, error=exc)
    return RedirectResponse(f"/web/hazards/{quote(hazard_id)}", status_code=303)


@router.post("/hazards/{hazard_id}/closure-check")
def closure_check(
    request: Request,
    hazard_id: str,
    conn: PageConn,
    who: Who,
    text: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """The bureau confirms a closed hazard on site (复核销号). Reviewers write only
    findings and notes, so the confirmation is a note with a fixed prefix, audited."""
    import uuid

    check_csrf(session_token(request), csrf)
    _ = gettext_for(request_language(request))
    from sync_server.errors import Forbidden

    h = hazard_service.get(conn, hazard_id)
    require_visible(conn, who, h.enterprise_id)
    if who.role not in (Role.BUREAU_REVIEWER, Role.OPERATOR):
        raise Forbidden(_("only the bureau confirms a closure"), code="ROLE_FORBIDDEN")
    if h.status != "closed":
        raise Unprocessable(
            _("the hazard is not closed yet: the enterprise closes it first"),
            code="HAZARD_NOT_CLOSED",
            field="status",
        )
    note_text = f"{CLOSURE_CHECK_PREFIX} {text.strip()}".strip()
    conn.execute(
        notes.insert().values(
            note_id=str(uuid.uuid4()),
            enterprise_id=h.enterprise_id,
            object_kind="hazard",
            object_id=hazard_id,
            author_account_id=who.subject_id,
            author=who.name,
            text=note_text,
            created_at=now_iso(),
        )
    )
    audit.record(
        conn,
        who,
        "hazard.closure_check",
        "hazard",
        hazard_id,
        enterprise_id=h.enterprise_id,
        after={"text": note_text},
    )
    return RedirectResponse(f"/web/hazards/{quote(hazard_id)}", status_code=303)


@router.post("/hazards/{hazard_id}/notes")
def hazard_note(
    request: Request,
    hazard_id: str,
    conn: PageConn,
    who: Who,
    text: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    _add_note(request, conn, who, "hazard", hazard_id, text, csrf)
    return RedirectResponse(f"/web/hazards/{quote(hazard_id)}", status_code=303)


# Registered last: any other path under /web is a 404 page, not the API's JSON body.
@router.get("/{rest:path}")
def not_found(request: Request, rest: str) -> HTMLResponse:
    from sync_server.errors import NotFound

    _ = gettext_for(request_language(request))
    return error_page(request, NotFound(_("there is no such page"), code="NOT_FOUND"))

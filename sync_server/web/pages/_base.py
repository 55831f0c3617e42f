"""What every page shares: the page's transaction, who is signed in, rendering in the
reader's language, error pages, and one helper for form posts (``FormPost``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool

from sync_server.deps import AppEngine, session_token
from sync_server.errors import Forbidden, SyncError, Unprocessable
from sync_server.i18n import Gettext, gettext_for
from sync_server.labels import (
    ACCOUNT_ROLES,
    ANOMALY_CODES,
    CERTIFICATE_TYPES,
    EQUIPMENT,
    EVENT_TYPES,
    HAZARD_ACTIONS,
    HAZARD_CATEGORIES,
    HAZARD_FACTORS,
    HAZARD_SOURCES,
    HAZARD_STATUSES,
    PERMIT_STATUSES,
    PERMIT_TYPES,
    ROLES,
    SAMPLE_POINTS,
    SIMOPS_RULES,
    SIMOPS_VERDICTS,
    SYSTEM_ACTORS,
    TOPICS,
    anomaly,
    hazard_text,
    label,
    labels,
    local_time,
    words,
)
from sync_server.security import Principal, Role
from sync_server.services import permit_lookup
from sync_server.storage import DB_INT4_MAX
from sync_server.web.i18n import LANG_COOKIE, request_gettext, request_language
from sync_server.web.session import PRESESSION_COOKIE, check_csrf, csrf_for, page_principal

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
PAGE_SIZE = 20

M = TypeVar("M", bound=BaseModel)


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
            except RequestValidationError as exc:
                # A form FastAPI refuses before the page runs (a field too long, one
                # missing): a page naming the fields, not the API's JSON body.
                await run_in_threadpool(_finish, request, False)
                return error_page(request, _form_refused(request, exc))
            except BaseException:
                await run_in_threadpool(_finish, request, False)
                raise
            # A page that answers an error status (a refused form) keeps nothing it wrote
            # (a failed sign-in is counted in a transaction of its own, before the check).
            await run_in_threadpool(_finish, request, response.status_code < 400)
            return response

        return handler


def page_router() -> APIRouter:
    """A resource's pages: committed and rendered by ``PageRoute``, kept out of the API
    schema."""
    return APIRouter(route_class=PageRoute, include_in_schema=False)


def page_who(request: Request, conn: PageConn) -> Principal:
    who = page_principal(conn, request)
    if who is None:
        raise SignInRequired()
    if who.role in (Role.DEVICE, Role.AGGREGATOR):
        _ = request_gettext(request)
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
        "anomaly": anomaly,
        "EVENT_TYPES": EVENT_TYPES,
        "PERMIT_STATUSES": PERMIT_STATUSES,
        "PERMIT_TYPES": PERMIT_TYPES,
        "SIMOPS_VERDICTS": SIMOPS_VERDICTS,
        "SIMOPS_RULES": SIMOPS_RULES,
        "HAZARD_STATUSES": HAZARD_STATUSES,
        "HAZARD_SOURCES": HAZARD_SOURCES,
        "HAZARD_ACTIONS": HAZARD_ACTIONS,
        "ROLES": ROLES,
        # Words for stored codes (docs/web.md, "Words, not codes").
        "words": lambda text, names=None: words(text, gettext_for(lang), names),
        "hazard_words": lambda source, text, names=None: hazard_text(
            source, text, gettext_for(lang), names
        ),
        "labels": labels,
        "ANOMALY_CODES": ANOMALY_CODES,
        "HAZARD_CATEGORIES": HAZARD_CATEGORIES,
        "HAZARD_FACTORS": HAZARD_FACTORS,
        "EQUIPMENT": EQUIPMENT,
        "CERTIFICATE_TYPES": CERTIFICATE_TYPES,
        "SAMPLE_POINTS": SAMPLE_POINTS,
        "SYSTEM_ACTORS": SYSTEM_ACTORS,
        "TOPICS": TOPICS,
        "ACCOUNT_ROLES": ACCOUNT_ROLES,
        "is_bureau": who is not None and who.role is Role.BUREAU_REVIEWER,
        "permit_url": lambda pid, eid, path="": permit_url(who, pid, eid, path),
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


def permit_url(who: Principal | None, permit_id: str, enterprise_id: str, path: str = "") -> str:
    """A page's link to a permit (``path``: a sub-page, an ``#anchor``): a bureau
    reviewer's names the enterprise, so it is never ambiguous (``permit_lookup``)."""
    anchor = path.partition("#")[2]
    sub = path.partition("#")[0]
    query = permit_lookup.enterprise_query(who, enterprise_id)
    return f"/web/permits/{permit_id}{sub}{query}" + (f"#{anchor}" if anchor else "")


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


def _form_refused(request: Request, exc: RequestValidationError) -> Unprocessable:
    _ = request_gettext(request)
    fields = [str(e["loc"][-1]) for e in exc.errors() if e.get("loc")]
    shown = ", ".join(dict.fromkeys(fields)) or "-"
    return Unprocessable(
        _("the form was not accepted: check {fields} (missing or too long)").format(fields=shown),
        code="INVALID_INPUT",
        field=fields[0] if fields else None,
    )


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


def blank(value: str | None) -> str | None:
    return value.strip() or None if isinstance(value, str) else value


def page_size(request: Request) -> int:
    """Rows per page: ``size`` from 5 to 100 (a reviewer printing a list wants more)."""
    try:
        size = int(request.query_params.get("size", PAGE_SIZE))
    except ValueError:
        return PAGE_SIZE
    return min(100, max(5, size))


# Pages past this are refused: page x size stays an offset every engine can take.
MAX_PAGE = DB_INT4_MAX // 100


def page_number(request: Request) -> int:
    """The list's ``page`` (from 1): anything else is a 422 page naming the field, never
    an offset the database cannot take (docs/reliability.md, section 8)."""
    raw = request.query_params.get("page", "1").strip() or "1"
    try:
        page = int(raw)
    except ValueError:
        page = 0
    if not 1 <= page <= MAX_PAGE:
        _ = request_gettext(request)
        raise Unprocessable(
            _("expected a page number from 1 to {max}").format(max=MAX_PAGE),
            code="VALIDATION_ERROR",
            field="page",
        )
    return page


def list_page(filters: dict[str, Any], size: int, page: int, pages: int) -> dict[str, Any]:
    """What a list page's template needs to page on: its filters, this page, how many
    pages, and the query its page links carry."""
    return {"filters": filters, "page": page, "pages": pages, "query": list_query(filters, size)}


def list_query(filters: dict[str, Any], size: int) -> str:
    """A list page's filters (and a size other than the default) as its links' query."""
    return urlencode(
        {
            **{k: ("1" if v is True else v) for k, v in filters.items()},
            **({"size": size} if size != PAGE_SIZE else {}),
        }
    )


# Spreadsheet formula injection (OWASP "CSV injection"): a cell starting with one of
# these is read as a formula, or (tab, CR) shifts the cell so the next character is.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A CSV cell as text, a leading ``'`` on one a spreadsheet would run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_response(rows: list[list[Any]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([csv_cell(c) for c in row])
    # A byte-order mark so spreadsheet programs read the Chinese as UTF-8.
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def see_other(url: str) -> RedirectResponse:
    """After a form post: the browser loads ``url`` with a GET (303)."""
    return RedirectResponse(url, status_code=303)


def validated(model: type[M], _: Gettext, **fields: Any) -> M:
    """A service's input model (a form, a list's filters) from what the page was sent; a
    refusal is a 422 naming the field in the reader's language, never a 500."""
    try:
        return model(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        raise Unprocessable(
            _("invalid input at {field}: {problem}").format(field=field, problem=first["msg"]),
            code="VALIDATION_ERROR",
            field=field,
        ) from exc


class FormPost:
    """One form post: its CSRF token checked first, then its input validated in the
    reader's language; a refusal is a 422 naming the field (``SyncError`` → error page),
    or the form's own page again (``attempt``)."""

    def __init__(self, request: Request, csrf: str, *, before_sign_in: bool = False) -> None:
        # Signed-in forms are keyed by the session token; the sign-in form by its
        # pre-session cookie (double submit, ``web.session``).
        secret = request.cookies.get(PRESESSION_COOKIE) if before_sign_in else None
        check_csrf(secret if before_sign_in else session_token(request), csrf)
        self.request = request
        self.gettext: Gettext = request_gettext(request)

    def refuse(self, message: str, field: str, code: str = "VALIDATION_ERROR") -> Unprocessable:
        return Unprocessable(message, code=code, field=field)

    def required(self, value: str, message: str, field: str) -> str:
        """``value`` stripped; an empty one is refused with ``message``."""
        if not value.strip():
            raise self.refuse(message, field)
        return value.strip()

    def one_of(self, value: str, allowed: tuple[str, ...], message: str, field: str) -> str:
        if value not in allowed:
            raise self.refuse(message, field)
        return value

    def model(self, model: type[M], **fields: Any) -> M:
        """The service's input model; e.g. a title over its length is a 422, not a 500."""
        return validated(model, self.gettext, **fields)

    def attempt(
        self,
        write: Callable[[], Any],
        done: Callable[[], Response],
        refused: Callable[[Unprocessable], Response],
    ) -> Response:
        """Run the service's write; its refusal (422) shows ``refused`` — the form's page
        with the reason — and nothing it wrote is kept (``PageRoute`` rolls back)."""
        try:
            write()
        except Unprocessable as exc:
            return refused(exc)
        return done()

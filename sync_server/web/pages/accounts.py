"""County onboarding and accounts: the operator registers an enterprise with its first
admin and adds bureau reviewers; admins add admins, reset another admin's password,
disable and enable; everyone changes their own password (docs/web.md, "Accounts").

Every form names each wrong field at once, in the reader's language, and a refused form
stores nothing (the page answers 422 and ``PageRoute`` rolls the transaction back)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from sync_server import domain
from sync_server.deps import SESSION_COOKIE, AppPasswords
from sync_server.errors import Conflict, SyncError, Unauthorized, Unprocessable
from sync_server.i18n import Gettext
from sync_server.labels import ACCOUNT_ROLES, INDUSTRIES
from sync_server.security import Principal, Role
from sync_server.services import account_admin, password_policy, public_codes
from sync_server.services import accounts as account_service
from sync_server.services import dashboard as dashboard_service
from sync_server.services.tenancy import require_role
from sync_server.web.pages import _base as base
from sync_server.web.pages._base import FormPost, PageConn, Who

router = base.page_router()

USERNAME = re.compile(r"[A-Za-z0-9_.@-]{2,64}")
DIVISION = re.compile(r"[0-9]{2,12}")
ENTERPRISE_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MANAGERS = (Role.OPERATOR, Role.ENTERPRISE_ADMIN)


class Errors(dict[str, str]):
    """Form field → what is wrong with it, in the reader's language (first one kept)."""

    def add(self, field: str, message: str) -> None:
        self.setdefault(field, message)

    def check(self, field: str, write: Callable[[], Any]) -> Any:
        """Run a write that may refuse the input; the refusal lands on the form's
        ``field``. Not another tenant's account (404) or a role's refusal (403): those
        are pages of their own."""
        try:
            return write()
        except (Unprocessable, Conflict, Unauthorized) as exc:
            self.add(field, exc.message)
            return None


# The password policy's refusals (``services.password_policy``), in the reader's language.
POLICY = {
    "PASSWORD_TOO_SHORT": "a password needs at least {n} characters",
    "PASSWORD_COMMON": "this password is among the most common ones; choose another",
    "PASSWORD_FROM_USERNAME": "a password may not be made of the username",
}


def _password_errors(errors: Errors, _: Gettext, field: str, password: str, username: str) -> None:
    if not password:
        errors.add(field, _("enter a password"))
        return
    try:
        password_policy.check(password, username or " ")
    except SyncError as exc:
        if exc.code in POLICY:
            errors.add(field, _(POLICY[exc.code]).format(n=password_policy.MIN_LENGTH))
        else:
            errors.add(field, exc.message)


def _new_account_errors(
    errors: Errors, _: Gettext, prefix: str, username: str, display_name: str, password: str
) -> None:
    if not USERNAME.fullmatch(username):
        errors.add(
            prefix + "username",
            _("a username has 2 to 64 letters, digits or . _ @ - (no spaces)"),
        )
    if not display_name:
        errors.add(prefix + "display_name", _("enter the person's name as pages show it"))
    elif len(display_name) > 200:
        errors.add(prefix + "display_name", _("a name has at most 200 characters"))
    _password_errors(errors, _, prefix + "password", password, username)


# ------------------------------------------------------------------ onboarding


class EnterpriseForm(BaseModel):
    csrf: str = ""
    name: str = ""
    credit_code: str = ""
    jurisdiction: str = ""
    industry: str = ""
    emergency_phone: str = ""
    enterprise_id: str = ""
    admin_username: str = ""
    admin_display_name: str = ""
    admin_password: str = ""


def _onboarding_page(
    request: Request, who: Principal, form: EnterpriseForm | None, errors: Errors | None = None
) -> HTMLResponse:
    shown = (form or EnterpriseForm()).model_dump(exclude={"csrf", "admin_password"})
    return base.render(
        request,
        "onboarding.html",
        who,
        status_code=422 if errors else 200,
        form=shown,
        errors=errors or {},
        INDUSTRIES=INDUSTRIES,
        min_password=password_policy.MIN_LENGTH,
    )


@router.get("/onboarding")
def onboarding_form(request: Request, conn: PageConn, who: Who) -> HTMLResponse:
    require_role(who, Role.OPERATOR)
    return _onboarding_page(request, who, None)


def _enterprise_errors(form: EnterpriseForm, _: Gettext) -> Errors:
    errors = Errors()
    if not form.name.strip():
        errors.add("name", _("enter the enterprise's name"))
    elif len(form.name.strip()) > 200:
        errors.add("name", _("a name has at most 200 characters"))
    try:
        domain.validate_credit_code(form.credit_code)
    except ValueError as exc:
        errors.add(
            "credit_code",
            _("the unified social credit code is not valid: {reason}").format(reason=exc),
        )
    if not DIVISION.fullmatch(form.jurisdiction.strip()):
        errors.add("jurisdiction", _("the county is its division code: 2 to 12 digits"))
    if form.industry and form.industry not in INDUSTRIES:
        errors.add("industry", _("choose an industry from the list"))
    phone = form.emergency_phone.strip()
    if phone and not public_codes.PHONE.fullmatch(phone):
        errors.add("emergency_phone", _("a telephone number has digits, spaces, + ( ) or -"))
    if form.enterprise_id.strip() and not ENTERPRISE_ID.fullmatch(form.enterprise_id.strip()):
        errors.add("enterprise_id", _("a short code has letters, digits or . _ - (no spaces)"))
    _new_account_errors(
        errors,
        _,
        "admin_",
        form.admin_username.strip(),
        form.admin_display_name.strip(),
        form.admin_password,
    )
    return errors


@router.post("/onboarding")
def onboard(
    request: Request,
    conn: PageConn,
    who: Who,
    passwords: AppPasswords,
    posted: Annotated[EnterpriseForm, Form()],
) -> Response:
    """The enterprise and its first admin, both or neither."""
    form = FormPost(request, posted.csrf)
    require_role(who, Role.OPERATOR)
    _ = form.gettext
    errors = _enterprise_errors(posted, _)
    if errors:
        return _onboarding_page(request, who, posted, errors)
    details = {"industry": posted.industry} if posted.industry else {}
    created = errors.check(
        "credit_code",
        lambda: account_admin.create_enterprise(
            conn,
            who,
            enterprise_id=posted.enterprise_id.strip() or None,
            name=posted.name.strip(),
            credit_code=posted.credit_code,
            jurisdiction=posted.jurisdiction.strip(),
            details=details,
        ),
    )
    if created is not None and posted.emergency_phone.strip():
        # where the public pages and the warning card read it (one place, one rule)
        errors.check(
            "emergency_phone",
            lambda: public_codes.set_emergency_phone(
                conn, who, created["enterprise_id"], posted.emergency_phone
            ),
        )
    if created is not None:
        errors.check(
            "admin_username",
            lambda: account_admin.create_account(
                conn,
                passwords,
                who,
                username=posted.admin_username.strip(),
                password=posted.admin_password,
                role=Role.ENTERPRISE_ADMIN,
                display_name=posted.admin_display_name.strip(),
                enterprise_id=created["enterprise_id"],
                jurisdiction=None,
            ),
        )
    if errors:
        return _onboarding_page(request, who, posted, errors)
    return base.see_other(f"/web/accounts?created={created['enterprise_id']}")


# ------------------------------------------------------------------ accounts


class AccountForm(BaseModel):
    csrf: str = ""
    role: str = Role.ENTERPRISE_ADMIN.value
    enterprise_id: str = ""
    jurisdiction: str = ""
    username: str = ""
    display_name: str = ""
    password: str = ""


def _accounts_page(
    request: Request,
    conn: PageConn,
    who: Principal,
    *,
    form: AccountForm | None = None,
    errors: Errors | None = None,
    reset_for: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    require_role(who, *MANAGERS)
    names = dashboard_service.enterprise_names(conn, who)
    rows = account_service.accounts_for(conn, who)
    shown = (form or AccountForm(enterprise_id=who.enterprise_id or "")).model_dump(
        exclude={"csrf", "password"}
    )
    return base.render(
        request,
        "accounts.html",
        who,
        status_code=422 if errors else status_code,
        accounts=[
            {
                **account_admin.account_view(r),
                "manageable": _manageable(who, r),
                "enterprise_name": names.get(r.enterprise_id or "", ""),
            }
            for r in rows
            if r.role != Role.DEVICE.value
        ],
        names=names,
        form=shown,
        errors=errors or {},
        reset_for=reset_for,
        min_password=password_policy.MIN_LENGTH,
        created=request.query_params.get("created"),
        done=request.query_params.get("done"),
        ACCOUNT_ROLES=ACCOUNT_ROLES,
        roles_offered=(
            [Role.ENTERPRISE_ADMIN.value]
            if who.role is Role.ENTERPRISE_ADMIN
            else [Role.ENTERPRISE_ADMIN.value, Role.BUREAU_REVIEWER.value]
        ),
    )


def _manageable(who: Principal, row: Any) -> bool:
    if row.account_id == who.subject_id:
        return False
    if who.role is Role.OPERATOR:
        return True
    return bool(row.enterprise_id == who.enterprise_id and row.role == Role.ENTERPRISE_ADMIN.value)


@router.get("/accounts")
def account_list(request: Request, conn: PageConn, who: Who) -> HTMLResponse:
    return _accounts_page(request, conn, who)


def _account_errors(
    who: Principal, posted: AccountForm, _: Gettext, names: dict[str, str]
) -> Errors:
    errors = Errors()
    allowed = (
        (Role.ENTERPRISE_ADMIN.value,)
        if who.role is Role.ENTERPRISE_ADMIN
        else (Role.ENTERPRISE_ADMIN.value, Role.BUREAU_REVIEWER.value)
    )
    if posted.role not in allowed:
        errors.add("role", _("choose a role from the list"))
    elif posted.role == Role.ENTERPRISE_ADMIN.value and posted.enterprise_id not in names:
        errors.add("enterprise_id", _("choose the enterprise the admin keeps"))
    elif posted.role == Role.BUREAU_REVIEWER.value and not DIVISION.fullmatch(
        posted.jurisdiction.strip()
    ):
        errors.add("jurisdiction", _("the county is its division code: 2 to 12 digits"))
    _new_account_errors(
        errors, _, "", posted.username.strip(), posted.display_name.strip(), posted.password
    )
    return errors


@router.post("/accounts")
def add_account(
    request: Request,
    conn: PageConn,
    who: Who,
    passwords: AppPasswords,
    posted: Annotated[AccountForm, Form()],
) -> Response:
    form = FormPost(request, posted.csrf)
    require_role(who, *MANAGERS)
    _ = form.gettext
    if who.role is Role.ENTERPRISE_ADMIN:
        posted.role, posted.enterprise_id = Role.ENTERPRISE_ADMIN.value, who.enterprise_id or ""
    names = dashboard_service.enterprise_names(conn, who)
    errors = _account_errors(who, posted, _, names)
    if not errors:
        reviewer = posted.role == Role.BUREAU_REVIEWER.value
        errors.check(
            "username",
            lambda: account_admin.create_account(
                conn,
                passwords,
                who,
                username=posted.username.strip(),
                password=posted.password,
                role=Role(posted.role),
                display_name=posted.display_name.strip(),
                enterprise_id=None if reviewer else posted.enterprise_id,
                jurisdiction=posted.jurisdiction.strip() if reviewer else None,
            ),
        )
    if errors:
        return _accounts_page(request, conn, who, form=posted, errors=errors)
    return base.see_other("/web/accounts?done=created")


class StateForm(BaseModel):
    csrf: str = ""


@router.post("/accounts/{account_id}/disable")
def disable(
    request: Request,
    account_id: str,
    conn: PageConn,
    who: Who,
    posted: Annotated[StateForm, Form()],
) -> Response:
    FormPost(request, posted.csrf)
    return _set_disabled(request, conn, who, account_id, True)


@router.post("/accounts/{account_id}/enable")
def enable(
    request: Request,
    account_id: str,
    conn: PageConn,
    who: Who,
    posted: Annotated[StateForm, Form()],
) -> Response:
    FormPost(request, posted.csrf)
    return _set_disabled(request, conn, who, account_id, False)


def _set_disabled(
    request: Request, conn: PageConn, who: Principal, account_id: str, disabled: bool
) -> Response:
    errors = Errors()
    errors.check("account_id", lambda: account_admin.set_disabled(conn, who, account_id, disabled))
    if errors:
        return _accounts_page(request, conn, who, errors=errors)
    return base.see_other("/web/accounts?done=" + ("disabled" if disabled else "enabled"))


class ResetForm(BaseModel):
    csrf: str = ""
    password: str = ""
    password_again: str = ""


@router.post("/accounts/{account_id}/password")
def reset(
    request: Request,
    account_id: str,
    conn: PageConn,
    who: Who,
    passwords: AppPasswords,
    posted: Annotated[ResetForm, Form()],
) -> Response:
    """Another account's new password (an admin of the same enterprise, or the operator)."""
    form = FormPost(request, posted.csrf)
    _ = form.gettext
    row = account_service.account_to_manage(conn, who, account_id)
    errors = Errors()
    _password_errors(errors, _, "password", posted.password, str(row.username))
    if posted.password != posted.password_again:
        errors.add("password_again", _("the two new passwords differ"))
    if not errors:
        errors.check(
            "password",
            lambda: account_admin.reset_password(conn, passwords, who, account_id, posted.password),
        )
    if errors:
        return _accounts_page(request, conn, who, errors=errors, reset_for=account_id)
    return base.see_other("/web/accounts?done=reset")


class OwnPasswordForm(BaseModel):
    csrf: str = ""
    current: str = ""
    password: str = ""
    password_again: str = ""


def _own_page(request: Request, who: Principal, errors: Errors | None = None) -> HTMLResponse:
    return base.render(
        request,
        "own_password.html",
        who,
        errors=errors or {},
        min_password=password_policy.MIN_LENGTH,
    )


@router.get("/account/password")
def own_password_form(request: Request, conn: PageConn, who: Who) -> HTMLResponse:
    return _own_page(request, who)


@router.post("/account/password")
def change_own_password(
    request: Request,
    conn: PageConn,
    who: Who,
    passwords: AppPasswords,
    posted: Annotated[OwnPasswordForm, Form()],
) -> Response:
    """The person's own password; then they sign in again with it (every session ends)."""
    form = FormPost(request, posted.csrf)
    _ = form.gettext
    errors = Errors()
    if not posted.current:
        errors.add("current", _("enter your current password"))
    _password_errors(errors, _, "password", posted.password, who.name)
    if posted.password != posted.password_again:
        errors.add("password_again", _("the two new passwords differ"))
    if not errors:
        errors.check(
            "current",
            lambda: account_admin.change_own_password(
                conn, passwords, who, posted.current, posted.password
            ),
        )
    if errors:
        response = _own_page(request, who, errors)
        response.status_code = 422
        return response
    response = base.see_other("/web/sign-in?changed=1")
    response.delete_cookie(SESSION_COOKIE)
    return response

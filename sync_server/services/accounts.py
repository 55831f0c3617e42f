"""Accounts, sign-in with throttling, bearer tokens, enrollment codes and devices."""

from __future__ import annotations

import base64
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Connection, Engine

from sync_server.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    Unprocessable,
)
from sync_server.i18n import gettext as _
from sync_server.schema import (
    accounts,
    devices,
    enrollment_codes,
    enterprises,
    tokens,
)
from sync_server.security import (
    Passwords,
    Principal,
    Role,
    new_enrollment_code,
    new_token,
    normalise_code,
    token_digest,
)
from sync_server.services import password_policy, throttle
from sync_server.settings import Settings
from sync_server.storage import begin_write, now_iso, parse_iso


def create_account(
    conn: Connection,
    passwords: Passwords,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str = "",
    enterprise_id: str | None = None,
    jurisdiction: str | None = None,
) -> str:
    if role in (Role.ENTERPRISE_ADMIN,) and not enterprise_id:
        raise Unprocessable(
            _("an enterprise admin needs an enterprise"),
            code="ENTERPRISE_REQUIRED",
            field="enterprise_id",
        )
    if role in (Role.BUREAU_REVIEWER, Role.AGGREGATOR) and not jurisdiction:
        raise Unprocessable(
            _("a bureau or aggregator account needs a jurisdiction code"),
            code="JURISDICTION_REQUIRED",
            field="jurisdiction",
        )
    if role is Role.DEVICE:
        raise Unprocessable(
            _("devices enroll with a one-time code, not as accounts"),
            code="ROLE_INVALID",
            field="role",
        )
    if enterprise_id is not None:
        found = conn.execute(
            sa.select(enterprises.c.enterprise_id).where(
                enterprises.c.enterprise_id == enterprise_id
            )
        ).first()
        if found is None:
            raise Unprocessable(
                _("unknown enterprise"), code="UNKNOWN_ENTERPRISE", field="enterprise_id"
            )
    if not username or any(c.isspace() or unicodedata.category(c)[0] == "C" for c in username):
        # Spaces are kept for the sign-in throttle's address keys (``ADDRESS_KEY``).
        raise Unprocessable(
            _("a username has no spaces or control characters"),
            code="USERNAME_INVALID",
            field="username",
        )
    password_policy.check(password, username)
    exists = conn.execute(
        sa.select(accounts.c.account_id).where(accounts.c.username == username)
    ).first()
    if exists is not None:
        raise Conflict(_("this username is taken"), code="USERNAME_TAKEN", field="username")
    account_id = str(uuid.uuid4())
    conn.execute(
        accounts.insert().values(
            account_id=account_id,
            enterprise_id=enterprise_id if role is Role.ENTERPRISE_ADMIN else None,
            username=username,
            password_hash=passwords.hash(password),
            role=role.value,
            jurisdiction=jurisdiction,
            display_name=display_name or username,
            disabled=False,
            created_at=now_iso(),
        )
    )
    return account_id


# Failed sign-ins are counted under the username and, with a space no username has, under
# the client's address: one address guessing many usernames is throttled too.
ADDRESS_KEY = "address {}"


def sign_in(
    engine: Engine,
    settings: Settings,
    passwords: Passwords,
    username: str,
    password: str,
    address: str | None = None,
) -> tuple[str, int] | None:
    """Check the password; return (token, expires_in seconds), or None for a failure
    (the caller answers 401), or raise 429 while throttled. The attempt is counted and
    committed first (``throttle.count_attempt``), under the username and the client's address,
    so guesses running in parallel are counted like guesses in a row. Failures are
    counted by username whether or not it exists, and the answer never says which part
    was wrong. A successful sign-in clears the username's count and takes its own
    attempt back from the address's."""
    now = datetime.now(UTC)
    by_name = not any(c.isspace() for c in username)  # no account has one (create_account)
    with begin_write(engine) as conn:
        if by_name:
            throttle.count_attempt(conn, settings, username, settings.max_failed_sign_ins, now)
        if address:
            key = ADDRESS_KEY.format(address)
            limit = settings.max_failed_sign_ins_per_address
            throttle.count_attempt(conn, settings, key, limit, now, settings.lockout_max_s)
    with engine.connect() as conn:
        row = conn.execute(sa.select(accounts).where(accounts.c.username == username)).first()
    ok = passwords.verify(row.password_hash if row is not None else None, password)
    if not ok or row is None or row.disabled or not by_name:
        return None
    token = new_token()
    with engine.begin() as conn:
        throttle.clear(conn, username)
        if address:
            throttle.give_back(conn, ADDRESS_KEY.format(address))
        conn.execute(
            tokens.insert().values(
                token_hash=token_digest(token),
                enterprise_id=row.enterprise_id,
                account_id=row.account_id,
                device_id=None,
                issued_at=now_iso(now),
                expires_at=now_iso(now + timedelta(seconds=settings.token_ttl_s)),
                revoked_at=None,
            )
        )
    return token, settings.token_ttl_s


# The token with its device or account in one statement, built once: a tablet's every
# push authenticates, and each round trip to PostgreSQL costs this machine ~100 µs of
# the client's CPU (measured; docs/performance.md, wave 8), as two statements and the
# statement's building did.
_TOKEN_WITH_HOLDER = (
    sa.select(
        tokens.c.revoked_at,
        tokens.c.expires_at,
        tokens.c.device_id,
        devices.c.device_id.label("dev_id"),
        devices.c.enterprise_id.label("dev_enterprise_id"),
        devices.c.revoked_at.label("dev_revoked_at"),
        accounts.c.account_id,
        accounts.c.role,
        accounts.c.username,
        accounts.c.enterprise_id,
        accounts.c.jurisdiction,
        accounts.c.display_name,
        accounts.c.disabled,
    )
    .select_from(
        tokens.outerjoin(devices, devices.c.device_id == tokens.c.device_id).outerjoin(
            accounts, accounts.c.account_id == tokens.c.account_id
        )
    )
    .where(tokens.c.token_hash == sa.bindparam("digest"))
)


def authenticate(conn: Connection, token: str) -> Principal:
    row = conn.execute(_TOKEN_WITH_HOLDER, {"digest": token_digest(token)}).first()
    if row is None:
        raise Unauthorized(_("unknown token"), code="TOKEN_INVALID")
    if row.revoked_at is not None:
        raise Unauthorized(_("this token has been revoked"), code="TOKEN_REVOKED")
    if row.expires_at is not None and parse_iso(row.expires_at) <= datetime.now(UTC):
        raise Unauthorized(_("this token has expired; sign in again"), code="TOKEN_EXPIRED")
    if row.device_id is not None:
        if row.dev_id is None or row.dev_revoked_at is not None:
            raise Unauthorized(_("this device has been revoked"), code="DEVICE_REVOKED")
        return Principal(
            role=Role.DEVICE,
            subject_id=row.dev_id,
            name=f"device:{row.dev_id}",
            enterprise_id=row.dev_enterprise_id,
        )
    if row.account_id is None or row.disabled:
        raise Unauthorized(_("this account is disabled"), code="ACCOUNT_DISABLED")
    return Principal(
        role=Role(row.role),
        subject_id=row.account_id,
        name=row.username,
        enterprise_id=row.enterprise_id,
        jurisdiction=row.jurisdiction,
        display_name=row.display_name or "",
    )


def revoke_token(conn: Connection, token: str) -> None:
    conn.execute(
        tokens.update()
        .where(tokens.c.token_hash == token_digest(token), tokens.c.revoked_at.is_(None))
        .values(revoked_at=now_iso())
    )


def create_enrollment_code(
    conn: Connection, settings: Settings, who: Principal, enterprise_id: str, label: str
) -> tuple[str, str]:
    code = new_enrollment_code()
    expires = now_iso(datetime.now(UTC) + timedelta(seconds=settings.enrollment_code_ttl_s))
    conn.execute(
        enrollment_codes.insert().values(
            code_hash=token_digest(normalise_code(code)),
            enterprise_id=enterprise_id,
            created_by=who.subject_id,
            label=label,
            created_at=now_iso(),
            expires_at=expires,
            used_at=None,
            device_id=None,
            code_id=str(uuid.uuid4()),
        )
    )
    return code, expires


def decode_public_key(public_key_b64: str) -> bytes:
    try:
        raw = base64.b64decode(public_key_b64, validate=True)
        Ed25519PublicKey.from_public_bytes(raw)
    except Exception as exc:  # binascii.Error, ValueError
        raise Unprocessable(
            _("expected a base64 Ed25519 public key of 32 bytes"),
            code="PUBLIC_KEY_INVALID",
            field="public_key",
        ) from exc
    return raw


def enroll_device(
    conn: Connection, settings: Settings, code: str, public_key_b64: str, label: str
) -> tuple[str, str, str]:
    """Trade a one-time code and a public key for (device_id, token, enterprise_id)."""
    decode_public_key(public_key_b64)
    row = conn.execute(
        sa.select(enrollment_codes).where(
            enrollment_codes.c.code_hash == token_digest(normalise_code(code))
        )
    ).first()
    if row is None:
        raise Unauthorized(_("unknown enrollment code"), code="ENROLLMENT_CODE_INVALID")
    if row.used_at is not None:
        raise Conflict(
            _("this enrollment code has already been used"),
            code="ENROLLMENT_CODE_USED",
            field="code",
        )
    if row.revoked_at is not None:
        raise Unauthorized(_("this enrollment code was revoked"), code="ENROLLMENT_CODE_REVOKED")
    if parse_iso(row.expires_at) <= datetime.now(UTC):
        raise Unauthorized(_("this enrollment code has expired"), code="ENROLLMENT_CODE_EXPIRED")
    taken = conn.execute(
        sa.select(devices.c.device_id).where(devices.c.public_key_b64 == public_key_b64)
    ).first()
    if taken is not None:
        raise Conflict(
            _("this public key is already enrolled"), code="PUBLIC_KEY_TAKEN", field="public_key"
        )
    # Mark the code used first, guarded on used_at IS NULL: two tablets racing with the
    # same code cannot both win.
    used = conn.execute(
        enrollment_codes.update()
        .where(enrollment_codes.c.code_hash == row.code_hash, enrollment_codes.c.used_at.is_(None))
        .values(used_at=now_iso())
    )
    if used.rowcount != 1:
        raise Conflict(
            _("this enrollment code has already been used"),
            code="ENROLLMENT_CODE_USED",
            field="code",
        )
    device_id = str(uuid.uuid4())
    conn.execute(
        devices.insert().values(
            device_id=device_id,
            enterprise_id=row.enterprise_id,
            label=label or row.label,
            public_key_b64=public_key_b64,
            enrolled_at=now_iso(),
            revoked_at=None,
        )
    )
    conn.execute(
        enrollment_codes.update()
        .where(enrollment_codes.c.code_hash == row.code_hash)
        .values(device_id=device_id)
    )
    token = new_token()
    expires = (
        None
        if settings.device_token_ttl_s is None
        else now_iso(datetime.now(UTC) + timedelta(seconds=settings.device_token_ttl_s))
    )
    conn.execute(
        tokens.insert().values(
            token_hash=token_digest(token),
            enterprise_id=row.enterprise_id,
            account_id=None,
            device_id=device_id,
            issued_at=now_iso(),
            expires_at=expires,
            revoked_at=None,
        )
    )
    return device_id, token, row.enterprise_id


def revoke_device(conn: Connection, device_id: str) -> None:
    now = now_iso()
    conn.execute(
        devices.update()
        .where(devices.c.device_id == device_id, devices.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    conn.execute(
        tokens.update()
        .where(tokens.c.device_id == device_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def device_row(conn: Connection, device_id: str) -> sa.Row[object]:
    row = conn.execute(sa.select(devices).where(devices.c.device_id == device_id)).first()
    if row is None:
        raise NotFound(_("not found"), code="NOT_FOUND")
    return row


def devices_of(conn: Connection, enterprise_id: str | None) -> list[sa.Row[object]]:
    """An enterprise's tablets, in the order they enrolled."""
    return list(
        conn.execute(
            sa.select(devices)
            .where(devices.c.enterprise_id == enterprise_id)
            .order_by(devices.c.enrolled_at)
        )
    )


def account_row(conn: Connection, account_id: str) -> sa.Row[object]:
    return conn.execute(sa.select(accounts).where(accounts.c.account_id == account_id)).one()


def accounts_for(conn: Connection, who: Principal) -> list[sa.Row[object]]:
    """The accounts an operator (all) or an enterprise admin (its own) may list."""
    query = sa.select(accounts).order_by(accounts.c.username)
    if who.role is Role.ENTERPRISE_ADMIN:
        query = query.where(accounts.c.enterprise_id == who.enterprise_id)
    return list(conn.execute(query))


# ------------------------------------------------------- disabling, password resets


def account_to_manage(conn: Connection, who: Principal, account_id: str) -> sa.Row[object]:
    """An account ``who`` may disable or reset: an operator any other account; an
    enterprise admin another admin of its own enterprise. Else NotFound (another
    tenant's account is not disclosed) or Forbidden."""
    row = conn.execute(sa.select(accounts).where(accounts.c.account_id == account_id)).first()
    if who.role is Role.ENTERPRISE_ADMIN:
        if row is None or row.enterprise_id != who.enterprise_id:
            raise NotFound(_("not found"), code="NOT_FOUND")
        if row.role != Role.ENTERPRISE_ADMIN.value:
            raise Forbidden(_("this account's role may not do this"), code="ROLE_FORBIDDEN")
    elif who.role is not Role.OPERATOR:
        raise Forbidden(_("this account's role may not do this"), code="ROLE_FORBIDDEN")
    if row is None:
        raise NotFound(_("not found"), code="NOT_FOUND")
    return row


def account_by_username(conn: Connection, username: str) -> sa.Row[object]:
    row = conn.execute(sa.select(accounts).where(accounts.c.username == username)).first()
    if row is None:
        raise NotFound(_("no account of this username"), code="NOT_FOUND", field="username")
    return row


def _end_sessions(conn: Connection, account_id: str) -> None:
    conn.execute(
        tokens.update()
        .where(tokens.c.account_id == account_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=now_iso())
    )


def set_disabled(conn: Connection, account_id: str, disabled: bool) -> None:
    """Disable (or enable again) an account. Disabling ends its sessions and tokens at
    once, on the API and the pages alike (``authenticate`` refuses a disabled account's
    token too); enabling brings none back: the person signs in again."""
    conn.execute(
        accounts.update().where(accounts.c.account_id == account_id).values(disabled=disabled)
    )
    if disabled:
        _end_sessions(conn, account_id)


def disable_by(conn: Connection, who: Principal, account_id: str, disabled: bool) -> sa.Row[object]:
    """``set_disabled`` for an account ``who`` manages (``account_to_manage``), never
    their own (an operator locking themselves out); returns the row as it was."""
    row = account_to_manage(conn, who, account_id)
    if disabled and row.account_id == who.subject_id:
        raise Unprocessable(
            _("you cannot disable your own account"), code="ACCOUNT_SELF", field="account_id"
        )
    set_disabled(conn, account_id, disabled)
    return row


def reset_password(conn: Connection, passwords: Passwords, account_id: str, password: str) -> None:
    """A new password (checked like a new account's); every session and token of the
    account ends, and its failed sign-ins are forgotten."""
    row = account_row(conn, account_id)
    password_policy.check(password, str(row.username))
    conn.execute(
        accounts.update()
        .where(accounts.c.account_id == account_id)
        .values(password_hash=passwords.hash(password))
    )
    _end_sessions(conn, account_id)
    throttle.clear(conn, str(row.username))

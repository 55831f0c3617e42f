"""Attempts against guessing, counted before the secret is checked: failed sign-ins
(by username and by address, ``services.accounts``) and wrong sign-on codes (by tablet
and by enterprise, ``services.signon_codes``), in one table (``sign_in_failures``) under
keys that cannot collide (a username has no spaces, every other key has one).

A key that reaches its limit is locked for ``Settings.lockout_s``, doubling with each
further failure up to ``lockout_max_s``; while locked every attempt is a 429 without a
check (docs/server.md, "Authentication")."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from sync_server.errors import TooManyRequests
from sync_server.i18n import gettext as _
from sync_server.schema import sign_in_failures
from sync_server.settings import Settings
from sync_server.storage import now_iso, parse_iso


def lock_for(settings: Settings, failures: int, limit: int) -> int | None:
    """Seconds of lockout after ``failures`` in a row (None: not yet at ``limit``)."""
    if failures < limit:
        return None
    return int(min(settings.lockout_s * (2 ** (failures - limit)), settings.lockout_max_s))


def count_attempt(
    conn: Connection,
    settings: Settings,
    key: str,
    limit: int,
    now: datetime,
    fresh_after_s: int | None = None,
) -> None:
    """Count one attempt under ``key`` *before* the secret is checked, atomically: the
    row is created if absent (INSERT .. ON CONFLICT DO NOTHING), then incremented in one
    UPDATE that also refuses while locked. A parallel burst cannot read the same count and
    each get a try (the lost update of read-then-write); the attempt that reaches
    ``limit`` sets the lock, and every one after it is a 429 without a check.
    ``fresh_after_s``: a count idle that long starts again at one (an address's)."""
    stamp = now_iso(now)
    insert = (sqlite_insert if conn.dialect.name == "sqlite" else pg_insert)(sign_in_failures)
    conn.execute(
        insert.values(
            username=key, enterprise_id=None, failures=0, locked_until=None, last_failure_at=stamp
        ).on_conflict_do_nothing(index_elements=["username"])
    )
    t = sign_in_failures.c
    failures: Any = t.failures + 1
    if fresh_after_s is not None:
        idle_since = now_iso(now - timedelta(seconds=fresh_after_s))
        failures = sa.case((t.last_failure_at < idle_since, 1), else_=t.failures + 1)
    counted = conn.execute(
        sign_in_failures.update()
        .where(t.username == key, sa.or_(t.locked_until.is_(None), t.locked_until <= stamp))
        .values(failures=failures, last_failure_at=stamp)
        .returning(t.failures)
    ).first()
    if counted is None:
        row = conn.execute(sa.select(t.locked_until).where(t.username == key)).first()
        until = parse_iso(row.locked_until) if row is not None and row.locked_until else now
        raise TooManyRequests(
            _("too many failed sign-ins; try again later"),
            retry_after=max(1, int((until - now).total_seconds() + 0.999)),
            code="SIGN_IN_THROTTLED",
        )
    lock = lock_for(settings, int(counted.failures), limit)
    if lock is not None:
        conn.execute(
            sign_in_failures.update()
            .where(t.username == key)
            .values(locked_until=now_iso(now + timedelta(seconds=lock)))
        )


def clear(conn: Connection, key: str) -> None:
    """Forget every attempt under ``key`` (the right secret, or a new one, was given)."""
    conn.execute(sign_in_failures.delete().where(sign_in_failures.c.username == key))


def give_back(conn: Connection, key: str) -> None:
    """Take one counted attempt back from ``key`` (a shared key: the address, the
    enterprise), so one success does not forgive the others' failures."""
    t = sign_in_failures.c
    conn.execute(
        sign_in_failures.update()
        .where(t.username == key, t.failures > 0)
        .values(failures=t.failures - 1)
    )

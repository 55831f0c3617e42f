"""Engines and migrations. The URL picks the engine: ``sqlite:///path`` (WAL) or
``postgresql+psycopg://...`` (``postgresql://`` is read as psycopg 3)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sync_server.schema import counters

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the bureau read while a tablet pushes; NORMAL is durable in WAL mode
            # except for the last transactions on power loss, which the tablet re-sends.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A transaction whose reads all see one state, for read-check-write work (a push).

    pysqlite runs SELECTs outside a transaction until the first write, so each read saw
    the latest commit: a push racing another for the same permit read the permit row
    before the other committed and the chain after, and rejected its event as BAD_SEQ
    instead of storing the fork as a VERSION_CONFLICT (seen under load in
    test_concurrency). On SQLite, BEGIN IMMEDIATE takes the write lock first (writers
    are serialised by SQLite anyway; the busy timeout waits); on PostgreSQL the caller
    locks the permit row (SELECT ... FOR UPDATE)."""
    with engine.connect() as conn, write_transaction(conn):
        yield conn


@contextmanager
def write_transaction(conn: Connection) -> Iterator[Connection]:
    """``begin_write``'s transaction on a connection the caller holds (a push's one
    transaction, on the connection it checked out for all its tries: one pool checkout
    and its ping a push, docs/performance.md, wave 8)."""
    with conn.begin():
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


@contextmanager
def autocommit(engine: Engine) -> Iterator[Connection]:
    """A connection whose every statement is its own transaction, for work of one
    statement (a token read, a last-sync note) that needs no read-check-write. On
    PostgreSQL it saves the BEGIN and the ROLLBACK or COMMIT round trips a transaction
    adds (each ~100 µs of this machine's client CPU, measured: docs/performance.md, wave
    8); SQLite's driver runs a lone statement the same way."""
    with engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (each a value for every column of ``table``) in the caller's
    transaction. On PostgreSQL by COPY: measured against executemany for a push's 200
    event rows, it costs the server about half the CPU a row (~19 against ~39 µs) and
    PostgreSQL less too (~20 against ~33 µs; docs/performance.md, wave 7). A duplicate
    key raises SQLAlchemy's IntegrityError as an INSERT does, so callers retry alike (any
    other driver error is SQLAlchemy's class for it too, as ``conn.execute`` raises).
    The statement goes to SQLAlchemy's ``before_cursor_execute`` listeners like any
    other (the statement audit reads every statement, tests/sync_server)."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), list(rows))
        return
    columns = list(table.columns)
    as_json = [isinstance(c.type, sa.JSON) for c in columns]
    sql = f"COPY {table.name} ({', '.join(c.name for c in columns)}) FROM STDIN"
    driver = conn.connection.driver_connection
    assert driver is not None
    import psycopg  # the PostgreSQL driver (psycopg 3); only a PostgreSQL engine gets here

    with driver.cursor() as cursor:
        if conn.dispatch.before_cursor_execute:
            conn.dispatch.before_cursor_execute(conn, cursor, sql, rows, None, True)
        try:
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(
                        [
                            json.dumps(row[c.name])
                            if j and row[c.name] is not None
                            else row[c.name]
                            for c, j in zip(columns, as_json, strict=True)
                        ]
                    )
        except psycopg.Error as exc:
            raise sa.exc.DBAPIError.instance(sql, None, exc, psycopg.Error) from exc


# Alembic is imported where it is used: it loads only to migrate or read the revision,
# not for every import of this module (the CLI's queries, the tablet-facing services).
def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def migrate(engine: Engine, revision: str = "head", *, down: bool = False) -> None:
    """Bring the schema to ``revision`` (back to it with ``down``, for tests of a
    migration's downgrade); safe to run on every start."""
    from alembic import command

    cfg = alembic_config(str(engine.url))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# The largest integer every engine stores and compares (SQLite INTEGER, PostgreSQL
# BIGINT): a cursor, offset or id past it is refused at the boundary (a 422 naming the
# field), never sent to the database, where it was an OverflowError and a 500.
DB_INT_MAX = 2**63 - 1
# The same for a 32-bit column or clause: PostgreSQL's INTEGER (audit ids) and the
# parameters of LIMIT and OFFSET, which SQLAlchemy sends cast to INTEGER.
DB_INT4_MAX = 2**31 - 1


def now_iso(at: datetime | None = None) -> str:
    """``at`` in UTC as stored text, fixed width, so the text compares as the time does
    (``isoformat``: the year always four digits, which strftime's ``%Y`` did not give
    below 1000; and about a third less time than strftime, twice an event pushed). A
    time whose UTC falls outside years 1 to 9999 (year 1 at +08:00) is a ValueError,
    like any unreadable time, never an OverflowError."""
    try:
        at = (at or datetime.now(UTC)).astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"time out of range: {at!r}") from exc
    return at.isoformat(timespec="microseconds")


def parse_iso(value: str) -> datetime:
    """An ISO 8601 time with an offset, in UTC; ValueError for anything else, including a
    time at the edge of the calendar whose UTC does not exist (9999-12-31T23:00-05:00)."""
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if at.tzinfo is None:
        raise ValueError(f"time without an offset: {value!r}")
    try:
        return at.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"time out of range: {value!r}") from exc


# Built once: every write of a permit, hazard or ledger item takes one (a statement's
# building cost about what its round trip does, profiled: docs/performance.md, wave 8).
_NEXT_REVS = (
    counters.update()
    .where(counters.c.name == "rev")
    .values(value=counters.c.value + sa.bindparam("n", type_=sa.Integer))
    .returning(counters.c.value)
)


def next_rev(conn: Connection) -> int:
    """A global change number for cursors. The UPDATE takes a row lock on PostgreSQL, so
    revisions are handed out in commit order and a reader's cursor never skips a change."""
    return next_revs(conn, 1)[0]


def next_revs(conn: Connection, n: int) -> list[int]:
    """``n`` consecutive change numbers taken at once (``next_rev``'s, for the rows one
    write makes together: a push's permits, services/ingest_save.py)."""
    if n < 1:  # a count of none or less would hand out nothing or move the counter back
        raise ValueError(f"next_revs needs a count of at least 1, got {n}")
    row = conn.execute(_NEXT_REVS, {"n": n}).first()
    if row is None:
        conn.execute(counters.insert().values(name="rev", value=n, enterprise_id=None))
        return list(range(1, n + 1))
    last = int(row[0])
    return list(range(last - n + 1, last + 1))

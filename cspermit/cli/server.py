"""`cspermit server ...`: run the sync server, seed the demo data, back up, show its key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

app = typer.Typer(help="The bureau's sync server (FastAPI) / 监管同步服务器", no_args_is_help=True)

DB_HELP = "database URL: sqlite:////abs/path.db or postgresql+psycopg://user@host/db"


Username = Annotated[str, typer.Option("--username", help="sign-in name")]
DbUrl = Annotated[str | None, typer.Option("--db", help=DB_HELP + " (default: $CSPERMIT_DB_URL)")]
NewPassword = Annotated[
    str,
    typer.Option(
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="read from the terminal when not given",
    ),
]


@app.command("run")
def run(
    db: str = typer.Option(None, "--db", help=DB_HELP + " (default: $CSPERMIT_DB_URL)"),
    host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on"),
    port: int = typer.Option(8000, "--port", help="TCP port"),
    ssl_certfile: str = typer.Option(None, "--ssl-certfile", help="TLS certificate (PEM)"),
    ssl_keyfile: str = typer.Option(None, "--ssl-keyfile", help="TLS private key (PEM)"),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        help=(
            "server processes sharing the port; they share nothing but the database "
            "(one a core and one more fills the waits on it: docs/server.md)"
        ),
    ),
) -> None:
    """Serve the API (migrating the database first). OpenAPI docs at /docs."""
    import os

    import uvicorn

    from sync_server.app import create_app
    from sync_server.serving import tune_for_serving
    from sync_server.settings import Settings

    settings = Settings(db_url=db) if db else Settings()
    application = create_app(settings)
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "ssl_certfile": ssl_certfile,
        "ssl_keyfile": ssl_keyfile,
        "proxy_headers": True,
    }
    if workers == 1:
        tune_for_serving()
        uvicorn.run(application, **common)
        return
    # Several processes (uvicorn's supervisor restarts one that dies). The schema and the
    # server's identity key are made here, once, before any worker starts; each worker
    # builds its own app from the environment and keeps only caches of its own (the
    # replay of a permit pushed lately: a worker that misses it replays from storage), so
    # what a push may store is decided by the database (storage.begin_write).
    application.state.engine.dispose()
    os.environ["CSPERMIT_DB_URL"] = settings.db_url
    os.environ["CSPERMIT_RUN_MIGRATIONS"] = "false"
    uvicorn.run("sync_server.serving:served_app", factory=True, workers=workers, **common)


@app.command("seed-demo")
def seed_demo(
    db: str = typer.Option(None, "--db", help=DB_HELP + " (default: $CSPERMIT_DB_URL)"),
) -> None:
    """Create the demo bureau, two enterprises, their ledgers and a permit history.

    Demo passwords only (bureau / bureau-demo, a-admin / a-admin-demo, b-admin /
    b-admin-demo): never on a real server.
    """
    from cspermit.demo.seed import push_history, seed_reference
    from sync_server.app import create_app
    from sync_server.settings import Settings

    settings = Settings(db_url=db) if db else Settings()
    application = create_app(settings)
    try:
        result = seed_reference(application.state.engine, application.state.passwords)
        if not result.created:
            typer.echo("demo data already present; nothing to do")
            return
        typer.echo(f"demo accounts: {', '.join(result.accounts)}")
        typer.echo(f"demo enterprises: {', '.join(result.enterprises)}")
        import asyncio

        summary = asyncio.run(push_history(application))
        for line in summary:
            typer.echo(line)
    finally:
        application.state.engine.dispose()


@app.command("create-account")
def create_account(
    password: NewPassword,
    username: str = typer.Option(..., "--username", help="sign-in name"),
    role: str = typer.Option(
        ..., "--role", help="operator | enterprise_admin | bureau_reviewer | aggregator"
    ),
    db: str = typer.Option(None, "--db", help=DB_HELP + " (default: $CSPERMIT_DB_URL)"),
    enterprise_id: str = typer.Option(None, "--enterprise-id", help="for enterprise_admin"),
    jurisdiction: str = typer.Option(
        None, "--jurisdiction", help="division code prefix, for bureau_reviewer / aggregator"
    ),
) -> None:
    """Create an account (the first operator, bureau reviewers, aggregators)."""
    from sync_server.security import Role
    from sync_server.services import accounts as account_service

    try:
        role_value = Role(role)
    except ValueError:
        typer.echo(
            f"--role: expected one of operator, enterprise_admin, bureau_reviewer, "
            f"aggregator; got {role!r}",
            err=True,
        )
        raise typer.Exit(2) from None
    with _accounts_of(db) as (conn, passwords):
        account_service.create_account(
            conn,
            passwords,
            username=username,
            password=password,
            role=role_value,
            enterprise_id=enterprise_id,
            jurisdiction=jurisdiction,
        )
    typer.echo(f"created {role_value.value} {username}")


@contextmanager
def _accounts_of(db: str | None) -> Iterator[tuple[Any, Any]]:
    """One committed transaction on the server's database and its password hasher; a
    refusal exits 2 naming the field and the code."""
    from sync_server.app import create_app
    from sync_server.errors import SyncError
    from sync_server.settings import Settings

    application = create_app(Settings(db_url=db) if db else Settings())
    try:
        with application.state.engine.begin() as conn:
            yield conn, application.state.passwords
    except SyncError as exc:
        typer.echo(f"{exc.field or 'account'}: {exc.message} ({exc.code})", err=True)
        raise typer.Exit(2) from None
    finally:
        application.state.engine.dispose()


def _account_change(db: str | None, username: str, change: str, password: str = "") -> None:
    """Disable, enable or reset the password of ``username`` on the server's database,
    audited as the server's console (``cli``)."""
    from sync_server.security import Principal, Role
    from sync_server.services import accounts as account_service
    from sync_server.services import audit

    with _accounts_of(db) as (conn, passwords):
        row = account_service.account_by_username(conn, username)
        if change == "reset-password":
            account_service.reset_password(conn, passwords, row.account_id, password)
        else:
            account_service.set_disabled(conn, row.account_id, change == "disable")
        console = Principal(role=Role.OPERATOR, subject_id="cli", name="cli")
        action = f"account.{change.replace('-', '_')}"
        audit.record(
            conn, console, action, "account", row.account_id, enterprise_id=row.enterprise_id
        )


@app.command("disable-account")
def disable_account(username: Username, db: DbUrl = None) -> None:
    """Disable an account: its sessions and tokens end at once (API and pages)."""
    _account_change(db, username, "disable")
    typer.echo(f"disabled {username}; its sessions and tokens are revoked")


@app.command("enable-account")
def enable_account(username: Username, db: DbUrl = None) -> None:
    """Enable a disabled account again (the person signs in anew)."""
    _account_change(db, username, "enable")
    typer.echo(f"enabled {username}")


@app.command("reset-password")
def reset_password(
    username: Username,
    password: NewPassword,
    db: DbUrl = None,
) -> None:
    """Set a new password (not a common one, not made of the username); the account's
    sessions and tokens end and its failed sign-ins are forgotten."""
    _account_change(db, username, "reset-password", password)
    typer.echo(f"password of {username} reset; its sessions and tokens are revoked")


def _passphrase(path: str | None) -> str | None:
    import os
    from pathlib import Path

    if path is None:
        return os.environ.get("CSPERMIT_BACKUP_PASSPHRASE") or None
    try:
        line = Path(path).read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError):
        typer.echo(f"--passphrase-file: cannot read a passphrase from {path}", err=True)
        raise typer.Exit(2) from None
    if len(line) < 12:
        typer.echo("--passphrase-file: the passphrase needs at least 12 characters", err=True)
        raise typer.Exit(2)
    return line


@app.command("backup")
def backup(
    out: str = typer.Option(..., "--out", help="file to write"),
    db: str = typer.Option(None, "--db", help=DB_HELP + " (default: $CSPERMIT_DB_URL)"),
    fmt: str = typer.Option(
        "archive",
        "--format",
        help="archive: engine-neutral .jsonl.gz (SQLite <-> PostgreSQL); "
        "sqlite: SQLite online backup API (a .db file); pg_dump: pg_dump --format=custom",
    ),
    passphrase_file: str = typer.Option(
        None,
        "--passphrase-file",
        help="file whose first line seals the server's private key into the archive "
        "(default: $CSPERMIT_BACKUP_PASSPHRASE; without one the key is left out)",
    ),
) -> None:
    """Back up a live server, signed with its key and written 0600: an engine-neutral
    archive, or the engine's own online copy with its signature in FILE.sig."""
    from pathlib import Path

    from sync_server.backup import backup_file
    from sync_server.errors import SyncError
    from sync_server.settings import Settings
    from sync_server.storage import make_engine

    settings = Settings(db_url=db) if db else Settings()
    engine = make_engine(settings.db_url)
    try:
        counts = backup_file(engine, Path(out), fmt, _passphrase(passphrase_file))
    except SyncError as exc:
        typer.echo(f"{exc.message} ({exc.code})", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(f"wrote {out} ({fmt}): {sum(counts.values())} rows in {len(counts)} tables")


@app.command("restore")
def restore(
    src: str = typer.Option(..., "--from", help="a file written by cspermit server backup"),
    db: str = typer.Option(None, "--db", help=DB_HELP + " (default: $CSPERMIT_DB_URL)"),
    server_key: str = typer.Option(
        None,
        "--server-key",
        help="the key of the server that wrote the backup: its public key or fingerprint "
        "(as cspermit server key shows it), or a file with either or with GET /server-key",
    ),
    passphrase_file: str = typer.Option(
        None,
        "--passphrase-file",
        help="file whose first line opens the sealed server key "
        "(default: $CSPERMIT_BACKUP_PASSPHRASE)",
    ),
) -> None:
    """Load a backup (any format, recognised by its first bytes) into an empty database,
    then migrate it to the latest schema; refused, with nothing written, unless it was
    signed by the key given and not changed since."""
    from pathlib import Path

    from sync_server.backup import restore_file
    from sync_server.errors import SyncError
    from sync_server.settings import Settings
    from sync_server.storage import make_engine

    settings = Settings(db_url=db) if db else Settings()
    engine = make_engine(settings.db_url)
    try:
        fmt, counts = restore_file(engine, Path(src), server_key, _passphrase(passphrase_file))
    except SyncError as exc:
        typer.echo(f"{exc.message} ({exc.code})", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(f"restored {sum(counts.values())} rows ({fmt})")


@app.command("key")
def key(
    db: str = typer.Option(None, "--db", help=DB_HELP + " (default: $CSPERMIT_DB_URL)"),
    rotate: bool = typer.Option(
        False, "--rotate", help="make a new identity key; the old one stays listed as retired"
    ),
) -> None:
    """The server's identity key (it signs export attestations): public key, fingerprint,
    and the retired keys with their periods. Made on first use."""
    import json

    from sync_server.services import server_identity
    from sync_server.settings import Settings
    from sync_server.storage import make_engine, migrate

    settings = Settings(db_url=db) if db else Settings()
    engine = make_engine(settings.db_url)
    try:
        migrate(engine)
        server_identity.ensure(engine)
        if rotate:
            server_identity.rotate(engine)
        with engine.connect() as conn:
            keys = [k.as_json() for k in server_identity.keys(conn)]
    finally:
        engine.dispose()
    typer.echo(json.dumps({**keys[0], "keys": keys}, ensure_ascii=False, indent=2))

"""`cspermit tablet ...`: run the guardian's tablet app, or walk it through a permit.

Kivy, the simulator and the drivers are imported inside the commands, so
``cspermit --help`` stays fast. The walkthrough and ``connect`` are demo code, in
``cspermit.demo``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="The guardian's tablet app / 监护人平板", no_args_is_help=True)

DEFAULT_DB = Path.home() / ".cspermit" / "tablet.db"


@app.command("run")
def run(
    server: Annotated[str | None, typer.Option(help="sync server URL (https://…)")] = None,
    db: Annotated[Path, typer.Option(help="local SQLite file")] = DEFAULT_DB,
    demo: Annotated[bool, typer.Option(help="load the demo ledger if the tablet is empty")] = False,
    detector: Annotated[
        str | None,
        typer.Option(help="detector: serial port, socket://host:port or ble:<address>"),
    ] = None,
    protocol: Annotated[str, typer.Option(help="gasl, winsen-uart or modbus-gt4")] = "gasl",
) -> None:
    """Start the tablet app (a window; set SDL_VIDEODRIVER=offscreen for none)."""
    from tablet_app.env import prepare_environment

    prepare_environment()
    if demo:
        from cspermit.demo.tablet import seed_demo
        from tablet_app.store import Store

        with Store(db) as store:
            if not store.references("people"):
                seed_demo(store)
    from tablet_app.app import run as run_app

    run_app(db, server_url=server, detector=detector, protocol=protocol)


@app.command("walkthrough")
def walkthrough(
    screenshots: Annotated[Path, typer.Option(help="folder for one PNG per screen")],
    headless: Annotated[bool, typer.Option(help="no window (SDL offscreen)")] = True,
    db: Annotated[Path | None, typer.Option(help="local SQLite file (default: temp)")] = None,
    server: Annotated[
        str | None,
        typer.Option(help="sync to this running server (default: one in-process, temp SQLite)"),
    ] = None,
    admin: Annotated[
        str, typer.Option(help="with --server: USER:PASSWORD of the enterprise admin")
    ] = "a-admin:a-admin-demo",
) -> None:
    """Drive the real screens through the molasses-tank permit on simulated detectors.

    Prints one JSON line with the outcome of every step; exit 0 only if every step
    ended as expected.
    """
    from cspermit.demo.walkthrough import run as run_walkthrough

    report = run_walkthrough(screenshots, headless=headless, db=db, server=server, admin=admin)
    print(json.dumps(report, ensure_ascii=False))
    raise typer.Exit(0 if report["ok"] else 1)


# The admin's password comes from here or the terminal, never the command line (where
# other users see it in the process list and it stays in the shell's history).
ADMIN_PASSWORD_ENV = "CSPERMIT_ADMIN_PASSWORD"


def _admin_password(username: str) -> str | None:
    import os

    password = os.environ.get(ADMIN_PASSWORD_ENV)
    if password:
        return password
    if sys.stdin.isatty():
        return str(typer.prompt(f"password of {username}", hide_input=True))
    return None


@app.command("connect")
def connect(
    server: Annotated[
        str, typer.Option(help="the running sync server, e.g. http://127.0.0.1:8000")
    ],
    db: Annotated[Path, typer.Option(help="the tablet's local SQLite file")] = DEFAULT_DB,
    admin: Annotated[
        str,
        typer.Option(
            help=f"username of the enterprise admin; the password from ${ADMIN_PASSWORD_ENV}"
            " or the terminal"
        ),
    ] = "a-admin",
    code: Annotated[
        str | None,
        typer.Option(help="an enrolment code made on the web's tablets page (or the QR's text)"),
    ] = None,
    label: Annotated[
        str, typer.Option(help="the tablet's name on the tablets page, e.g. 1号糖罐入口平板")
    ] = "演示平板",
    sim_endpoints: Annotated[
        Path | None,
        typer.Option(help="the JSON lines `cspermit sim run` printed: its detectors"),
    ] = None,
    detector: Annotated[
        str, typer.Option(help="which simulated detector the tablet reads")
    ] = "gasl-serial",
    demo_pins: Annotated[
        bool, typer.Option(help="DEMO ONLY: give ledger people without a PIN the PINs 1111…")
    ] = False,
) -> None:
    """Enrol the tablet with a running server, register the simulator's detectors in the
    enterprise's ledger, and pull the ledger into the tablet (for ``scripts/run.sh``).

    Prints one JSON line: device id, detector to read, people and their demo PINs."""
    from cspermit.demo.connect import AdminNeeded
    from cspermit.demo.connect import connect as connect_tablet

    if ":" in admin:
        typer.echo(
            f"--admin takes the username only; give the password in ${ADMIN_PASSWORD_ENV},"
            " at the prompt, or enrol with --code from the web's tablets page",
            err=True,
        )
        raise typer.Exit(2)
    needs_admin = sim_endpoints is not None or demo_pins or code is None
    password = _admin_password(admin) if needs_admin else None
    credentials = (admin, password) if password else None
    try:
        report = asyncio.run(
            connect_tablet(
                server, db, credentials, sim_endpoints, detector, demo_pins, code=code, label=label
            )
        )
    except AdminNeeded as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())

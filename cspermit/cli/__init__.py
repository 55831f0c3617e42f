"""``cspermit``: one command with a sub-command per package.

Each sub-command group lives in its own module and imports its heavy
dependencies (FastAPI, Kivy, bleak) inside the command functions, so
``cspermit --help`` and the atmosphere check start fast.
"""

from __future__ import annotations

import typer

from cspermit.cli import atmosphere, detector, permit, server, sim, simops, tablet

app = typer.Typer(
    name="cspermit",
    help="Confined-space permits and lockout-tagout / 有限空间作业审批与挂牌上锁",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(atmosphere.app, name="atmosphere")
app.add_typer(permit.app, name="permit")
app.add_typer(simops.app, name="simops")
app.add_typer(detector.app, name="detector")
app.add_typer(sim.app, name="sim")
app.add_typer(server.app, name="server")
app.add_typer(tablet.app, name="tablet")


def main() -> None:
    app()

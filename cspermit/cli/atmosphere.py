"""`cspermit atmosphere ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="atmosphere", no_args_is_help=True)

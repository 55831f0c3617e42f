"""`cspermit permit ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="permit", no_args_is_help=True)

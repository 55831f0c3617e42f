"""`cspermit detector ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="detector", no_args_is_help=True)

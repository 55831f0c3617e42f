"""`cspermit tablet ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="tablet", no_args_is_help=True)

"""`cspermit simops check PLAN.json`: the planner's check for simultaneous operations.

Prints ``{"conflicts": [...]}`` (one entry per conflicting pair of permits: the
strongest verdict and every pair rule that applies) and exits 0 with no conflict,
1 with any, 2 for an unreadable file or an invalid plan (a message on stderr naming
the field). docs/rules.md, Simultaneous operations, explains the rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cspermit.cli.permit import _emit, _fail, _read_json

# permits.simops is imported inside the command: it loads the rule table and
# pulls in the canonical JSON, which `cspermit --help` need not pay for.

app = typer.Typer(
    help="Simultaneous operations: conflicts between planned permits / 交叉作业冲突检查",
    no_args_is_help=True,
)

EXIT_NO_CONFLICT = 0
EXIT_CONFLICT = 1


@app.command()
def check(
    plan: Annotated[Path, typer.Argument(help="the plan: profile and permits (JSON)")],
) -> None:
    """List every conflict between the plan's permits (exit 1 if there is any)."""
    from permits.errors import InvalidInput
    from permits.simops import conflicts, parse_plan

    try:
        parsed = parse_plan(_read_json(plan))
    except InvalidInput as exc:
        _fail(f"{plan}: {exc}")
    found = conflicts(parsed.footprints)
    _emit({"conflicts": [c.as_dict() for c in found]})
    raise typer.Exit(EXIT_CONFLICT if found else EXIT_NO_CONFLICT)

"""schemathesis against the server's own OpenAPI (``/openapi.json``), the real app
in-process: every operation gets generated requests (valid and invalid), signed in as
the role that may call it; no answer may be a 5xx and every documented answer must
match its schema and content type. A few examples per operation here; set
``CSPERMIT_SCHEMATHESIS_EXAMPLES`` for longer runs (scripts/reliability.sh does)."""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.sync_server.chains import enroll_tablet, simple_permit
from tests.sync_server.conftest import World

EXAMPLES = int(os.environ.get("CSPERMIT_SCHEMATHESIS_EXAMPLES", "6"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]

# Operations that end the caller's own session would sign the rest of the run out.
SKIP = {("POST", "/api/v1/auth/revoke")}


def _who(path: str) -> str:
    if path.startswith("/api/v1/sync"):
        return "dev"
    if path.startswith("/api/v1/feed"):
        return "agg"
    return "op"


def run_schemathesis(world: World, app: Any, examples: int = EXAMPLES) -> dict[str, int]:
    load_all_checks()
    tab = enroll_tablet(world.client, world.h("a-admin"))
    world.client.post(
        "/api/v1/sync/events", json={"events": simple_permit(tab, "ST-1")}, headers=tab.headers
    )
    heads = {"dev": tab.headers, "agg": world.h("agg"), "op": world.h("op")}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    figures = {"operations": 0, "requests": 0, "server_errors": 0}
    failures: list[str] = []
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) in SKIP:
            continue
        figures["operations"] += 1
        _run_operation(op, heads, examples, figures, failures)
    assert not failures, "\n\n".join(failures)
    return figures


def _run_operation(
    op: Any,
    heads: dict[str, dict[str, str]],
    examples: int,
    figures: dict[str, int],
    failures: list[str],
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy())
    def check(case: Any) -> None:
        headers = {**(case.headers or {}), **heads[_who(op.path)]}
        response = case.call(headers=headers)
        figures["requests"] += 1
        figures["server_errors"] += response.status_code >= 500
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        check()
    except Exception as exc:  # collect every operation's failure, report them all
        failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:600]}")


def test_no_5xx_and_schema_conformant_answers(world: World, app: Any) -> None:
    figures = run_schemathesis(world, app)
    assert figures["operations"] >= 30
    assert figures["server_errors"] == 0

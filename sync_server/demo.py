"""Demo data: a bureau, two enterprises and their ledgers. DEMO PASSWORDS ONLY.

The reference data is written through the same services the admin API uses; the permit
history is built with the permit core's commands and pushed through the real sync path by
``cspermit server seed-demo`` (which may use the tablet's sync client).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sync_server.schema import accounts
from sync_server.security import Passwords, Role
from sync_server.services import accounts as account_service
from sync_server.services import enterprises as enterprise_service

JURISDICTION = "530102"  # a county-level division code (demo)

DEMO_ACCOUNTS = [
    # username, password, role, enterprise, jurisdiction
    ("bureau", "bureau-demo", Role.BUREAU_REVIEWER, None, JURISDICTION),
    ("a-admin", "a-admin-demo", Role.ENTERPRISE_ADMIN, "ent-a", None),
    ("b-admin", "b-admin-demo", Role.ENTERPRISE_ADMIN, "ent-b", None),
    ("feed", "feed-demo-aggregator", Role.AGGREGATOR, None, "53"),
    ("operator", "operator-demo", Role.OPERATOR, None, None),
]

DEMO_ENTERPRISES: list[dict[str, Any]] = [
    {
        "enterprise_id": "ent-a",
        "name": "云南甘蔗糖业有限公司 (demo sugar mill)",
        "credit_code": "91530102MA6K6GH00F",
        "jurisdiction": JURISDICTION,
        "details": {"industry": "sugar", "address": "demo county, Yunnan"},
    },
    {
        "enterprise_id": "ent-b",
        "name": "滇中水泥有限公司 (demo cement plant)",
        "credit_code": "91530102MA6K7JK03A",
        "jurisdiction": JURISDICTION,
        "details": {"industry": "cement", "address": "demo county, Yunnan"},
    },
]


@dataclass(frozen=True)
class SeedResult:
    created: bool
    accounts: list[str]
    enterprises: list[str]


def seed_reference(engine: Engine, passwords: Passwords) -> SeedResult:
    """Accounts and enterprises; does nothing when the demo accounts already exist."""
    with engine.begin() as conn:
        if conn.execute(
            sa.select(accounts.c.account_id).where(accounts.c.username == "bureau")
        ).first():
            return SeedResult(False, [], [])
        for ent in DEMO_ENTERPRISES:
            enterprise_service.create(conn, **ent)
        for username, password, role, eid, jur in DEMO_ACCOUNTS:
            account_service.create_account(
                conn,
                passwords,
                username=username,
                password=password,
                role=role,
                enterprise_id=eid,
                jurisdiction=jur,
            )
    return SeedResult(
        True, [a[0] for a in DEMO_ACCOUNTS], [e["enterprise_id"] for e in DEMO_ENTERPRISES]
    )

"""One router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from sync_server.routers import (
    auth,
    devices,
    enterprises,
    feed,
    hazards,
    ledger_excel,
    permits,
    reference,
    server_key,
    sync,
)

ALL_ROUTERS: list[APIRouter] = [
    auth.router,
    enterprises.router,
    devices.router,
    # before reference: /enterprises/{id}/ledger.xlsx is not a {kind}
    ledger_excel.router,
    reference.router,
    sync.router,
    permits.router,
    permits.conflicts_router,
    hazards.router,
    feed.router,
    server_key.router,
]

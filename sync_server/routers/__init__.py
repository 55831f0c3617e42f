"""One router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from sync_server.routers import (
    auth,
    devices,
    enterprises,
    feed,
    hazards,
    permits,
    reference,
    server_key,
    sync,
)

ALL_ROUTERS: list[APIRouter] = [
    auth.router,
    enterprises.router,
    devices.router,
    reference.router,
    sync.router,
    permits.router,
    permits.conflicts_router,
    hazards.router,
    feed.router,
    server_key.router,
]

"""The bureau's sync server (FastAPI): enrollment, sync, tenancy, hazards, history, feed.

Public API::

    from sync_server import create_app, Settings, SyncError
    app = create_app(Settings(db_url="sqlite:////abs/path/server.db"))

Everything else is internal; the HTTP API is described at ``/docs`` and in docs/server.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Settings", "SyncError", "create_app"]


def __getattr__(name: str) -> Any:
    # Lazy: importing the package (for its settings, say) does not pull in FastAPI.
    if name == "create_app":
        from sync_server.app import create_app

        return create_app
    if name == "Settings":
        from sync_server.settings import Settings

        return Settings
    if name == "SyncError":
        from sync_server.errors import SyncError

        return SyncError
    raise AttributeError(name)

"""What every presenter shares: the store, the clock, this device, who is signed in.

Kivy-free, so presenters and their tests build one without a window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tablet_app.store import Store


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    store: Store
    device_id: str = "tablet-local"
    clock: Callable[[], datetime] = utc_now
    server_url: str | None = None
    # the person signed in on this tablet (a reference row / domain Person), or None
    user: Any = None
    # the permit the screens are working on
    permit_id: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock()

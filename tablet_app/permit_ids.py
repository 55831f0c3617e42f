"""Permit numbers the tablet mints: ``PMT-`` (confined space) or ``HW-`` (hot work), the
day, and 64 random bits as 16 upper-case hex digits, within the core's ASCII
``PermitId`` alphabet (permits/events.py).

Tablets mint offline and ask no one, so a number is unique only by chance. With 6 hex
digits (24 bits) a day, a province's few thousand permits a day held the same number
more often than not (the birthday bound: n²/2 pairs over 16.7 million). 64 bits make a
repeat practically impossible, within an enterprise (where the server keys permits,
docs/server.md) and across the province alike.
"""

from __future__ import annotations

import secrets
from datetime import datetime

RANDOM_BYTES = 8  # 64 bits


def new_permit_id(prefix: str, now: datetime) -> str:
    return f"{prefix}-{now:%Y%m%d}-{secrets.token_hex(RANDOM_BYTES).upper()}"

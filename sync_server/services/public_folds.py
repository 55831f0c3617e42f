"""The core's fold of each standing permit the public page shows, kept between views.

Every unauthenticated view of a space's page asks the status of its open permits; the
stored chain changes only when a push appends to it. So the fed replayer (the fold up to
the permit's last event) is kept by (enterprise, permit, last seq, last hash), and a view
asks it for the state at its own time (validity runs out without an event). An
optimisation only: a miss, or a key the next push has moved past, folds the stored chain
again, and the cache is bounded (least recently used out first)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from sync_server import domain
from sync_server.services import chains

MAX_PERMITS = 512
_folds: OrderedDict[tuple[str, str, int, str], Any] = OrderedDict()
_lock = threading.Lock()


def summary_at(conn: Connection, row: Any, now: datetime) -> domain.ReplaySummary | None:
    """The core's summary of the permit of ``row`` (a ``permits`` row) at ``now``; None
    for a permit without a stored event."""
    key = (str(row.enterprise_id), str(row.permit_id), int(row.last_seq), str(row.last_hash))
    with _lock:
        fold = _folds.get(key)
        if fold is not None:
            _folds.move_to_end(key)
    if fold is not None:
        # The cached replayer is never fed again: the core's resume works on a copy.
        summary, _copy = domain.replay_chain([], now, resume=fold)
        return summary
    chain = chains.parsed(conn, key[0], key[1])
    if not chain:
        return None
    summary, fold = domain.replay_chain(chain, now)
    with _lock:
        _folds[key] = fold
        while len(_folds) > MAX_PERMITS:
            _folds.popitem(last=False)
    return summary

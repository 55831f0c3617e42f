"""The search bench's bulk load (``bench.search.load``, the 1,000,000-permit figures)
writes into the current schema on both databases: it names every table's columns, so a
column a migration adds cannot break it unseen (0009's emergency phone broke the SQLite
load, and the full run reported its three figures as not measured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa


def test_the_search_bench_loads_into_the_current_schema(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import search
    from bench.histories import job
    from permits.integrity import DeviceKey
    from sync_server.schema import enterprises, events, permit_people, permits
    from sync_server.storage import make_engine

    monkeypatch.setattr(search, "PERMITS", 400)
    monkeypatch.setattr(search, "FILLER_CHAINS", 3)
    template: list[dict[str, Any]] = list(
        job("ent-a-TEMPLATE", DeviceKey.generate("d-1"), datetime.now(UTC) - timedelta(days=1), 5)
    )
    engine = make_engine(db_url)
    try:
        search.load(engine, template)
        with engine.connect() as conn:

            def count(table: sa.Table) -> int:
                return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar())

            assert count(enterprises) == search.ENTERPRISES
            assert count(permits) == 400
            assert count(permit_people) > 0
            assert count(events) == 3 * len(template)
    finally:
        engine.dispose()

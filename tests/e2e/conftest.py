"""One server app and one enrolled, synced tablet per test (tests/e2e/harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tablet_app.store import Store
from tests.e2e.harness import Site


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    from cspermit.demo.seed import seed_reference
    from sync_server.app import create_app
    from sync_server.settings import Settings
    from sync_server.storage import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'server.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    app = create_app(Settings(db_url=url, argon2_time_cost=1, argon2_memory_cost_kib=64))
    seed_reference(app.state.engine, app.state.passwords)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def site(server: Any, tmp_path: Path) -> Iterator[Site]:
    store = Store(tmp_path / "tablet.db")
    yield Site(server, store)
    store.close()

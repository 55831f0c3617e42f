"""One server app (the tablet tests' fixture: temp SQLite, the demo's enterprises and
accounts) and one tablet store per test (tests/e2e/harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tablet_app.store import Store
from tests.e2e.harness import Site
from tests.tablet_app.test_sync_flow import server  # noqa: F401  (the fixture)


@pytest.fixture
def site(server: Any, tmp_path: Path) -> Iterator[Site]:  # noqa: F811
    store = Store(tmp_path / "tablet.db")
    yield Site(server, store)
    store.close()

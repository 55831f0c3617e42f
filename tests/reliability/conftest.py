"""The server fixtures of tests/sync_server (a fresh migrated database per test, the
two-enterprise world). Reliability tests run on SQLite by default; the ones that are
about the engine (backup, restore) ask for PostgreSQL explicitly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sync_server.conftest import (  # noqa: F401  (fixtures)
    app,
    client,
    make_settings,
    pg_cluster,
    settings,
    sqlite_template,
    world,
)


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> str:  # noqa: F811
    import shutil

    target = tmp_path / "server.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"

"""A PostgreSQL connection is pinged before use only after it sat idle in the pool
(``storage.PING_IDLE_S``; docs/performance.md, wave 11): one idle longer that the
database dropped is replaced without an error; one dropped within the window fails
its statement once as a disconnect, and the pool recovers for the next."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from sync_server.storage import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(pg_cluster) -> str:  # type: ignore[no-untyped-def]
    if pg_cluster is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl)")
    name = f"ping{next(pg_cluster.counter)}"
    pg_cluster.admin(f"CREATE DATABASE {name}")
    return str(pg_cluster.url(name))


def _backend(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


@pytest.fixture
def engines() -> Iterator[list[sa.Engine]]:
    made: list[sa.Engine] = []
    yield made
    for engine in made:
        engine.dispose()


def test_a_connection_idle_past_the_window_that_died_is_replaced_unseen(
    pg_cluster, pg_url: str, engines: list[sa.Engine]
) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(pg_url, ping_idle_s=0.2)
    engines.append(engine)
    first = _backend(engine)
    pg_cluster.admin(f"SELECT pg_terminate_backend({first})")
    time.sleep(0.4)
    assert _backend(engine) != first  # pinged, found dead, another opened: no error


def test_within_the_window_a_dead_connection_fails_once_and_the_pool_recovers(
    pg_cluster, pg_url: str, engines: list[sa.Engine]
) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(pg_url, ping_idle_s=60)
    engines.append(engine)
    first = _backend(engine)
    pg_cluster.admin(f"SELECT pg_terminate_backend({first})")
    time.sleep(0.2)
    # Not pinged (back in the pool just now): the statement meets the dead connection.
    with pytest.raises(sa.exc.OperationalError) as failed, engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert failed.value.connection_invalidated
    assert _backend(engine) != first

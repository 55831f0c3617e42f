"""The pages' own queries (dashboard, search, hazards series, CSV, trace, PDF) on
PostgreSQL, the production engine: the demo seeded through ``seed-demo`` into a
throwaway cluster, served by a real uvicorn process."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.sync_server.conftest import PgCluster
from tests.sync_server.conftest import pg_cluster as pg_cluster  # the session fixture
from tests.web.conftest import seed_demo, serve, sign_in

pytestmark = pytest.mark.postgres


def test_pages_and_exports_on_postgresql(pg_cluster: PgCluster | None, tmp_path: Path) -> None:
    if pg_cluster is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl)")
    name = f"web{os.getpid()}"
    pg_cluster.admin(f"CREATE DATABASE {name} TEMPLATE cspermit_template")
    url = pg_cluster.url(name)
    seed_demo(url)
    with serve(url, tmp_path) as base, httpx.Client(base_url=base, timeout=30) as client:
        sign_in(client, "bureau", "bureau-demo")
        dash = client.get("/web/")
        assert dash.status_code == 200
        assert 'id="tile-alarms">2<' in dash.text
        assert 'id="tile-open">9<' in dash.text
        found = client.get("/web/permits?anomaly=ALARM_RAISED&date_from=2000-01-01")
        assert "找到 2 张作业票" in found.text
        trace = client.get("/web/permits/B-2026-0003")
        assert trace.status_code == 200 and "校验通过" in trace.text
        pdf = client.get("/api/v1/permits/B-2026-0003/export.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        csv = client.get("/web/hazards.csv?open_only=1")
        assert csv.status_code == 200 and csv.text.count("\n") == 10  # header and 9 hazards
        assert client.get("/web/enterprises/ent-b").status_code == 200

"""The pages' own queries (dashboard, search, hazards series, CSV, trace, PDF) on
PostgreSQL, the production engine: the demo seeded through ``seed-demo`` into a
throwaway cluster, the app in-process over httpx."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.sync_server.conftest import ASGIClient, PgCluster, make_settings
from tests.sync_server.conftest import pg_cluster as pg_cluster  # the session fixture
from tests.web.conftest import ROOT

pytestmark = pytest.mark.postgres


def test_pages_and_exports_on_postgresql(pg_cluster: PgCluster | None) -> None:
    if pg_cluster is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl)")
    from sync_server.app import create_app

    name = f"web{os.getpid()}"
    pg_cluster.admin(f"CREATE DATABASE {name} TEMPLATE cspermit_template")
    url = pg_cluster.url(name)
    seeded = subprocess.run(
        [sys.executable, "-m", "cspermit.cli", "server", "seed-demo", "--db", url],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert seeded.returncode == 0, seeded.stderr
    app = create_app(make_settings(url))
    client = ASGIClient(app)
    try:
        form = client.get("/web/sign-in")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        r = client.post(
            "/web/sign-in",
            data={"username": "bureau", "password": "bureau-demo", "csrf": token},
        )
        assert r.status_code == 303, r.text
        # The in-process client keeps the session cookie like a browser.
        dash = client.get("/web/")
        assert dash.status_code == 200
        assert re.search(r'id="tile-alarms">2<', dash.text)
        assert re.search(r'id="tile-open">9<', dash.text)
        found = client.get("/web/permits?anomaly=ALARM_RAISED&date_from=2000-01-01")
        assert "找到 2 张作业证" in found.text
        trace = client.get("/web/permits/B-2026-0003")
        assert trace.status_code == 200 and "校验通过" in trace.text
        pdf = client.get("/api/v1/permits/B-2026-0003/export.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        csv = client.get("/web/hazards.csv?open_only=1")
        assert csv.status_code == 200 and csv.text.count("\n") == 10  # header and 9 hazards
        ent = client.get("/web/enterprises/ent-b")
        assert ent.status_code == 200
    finally:
        client.close()
        app.state.engine.dispose()

"""The ledger kept in Excel reaches the rules: a blacklisted contractor and its worker
imported from a workbook made here (``POST /api/v1/enterprises/{id}/ledger.xlsx``), then
a real tablet store synced; the tablet refuses the worker and the server's replay finds
the chain that rostered them anyway (docs/server.md, "The ledger in Excel")."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import httpx

from tests.e2e.harness import ADMIN, ENTERPRISE, Site, days, person, space
from tests.e2e.test_roster_ledger import _refused_on_tablet_and_found_by_the_server
from tests.sync_server.ledger_workbooks import CONTRACTOR_HEADERS, PEOPLE_HEADERS, workbook


def _workbook() -> bytes:
    return workbook(
        {
            "承包商 (contractors)": [
                CONTRACTOR_HEADERS,
                [
                    "CON-XLS",
                    "表格承包商",
                    "91530102MA6K6GH00F",
                    "HT-XLS",
                    date.fromisoformat(days(-100)),
                    date.fromisoformat(days(100)),
                    date.fromisoformat(days(-2)),
                    "发生亡人事故",
                ],
            ],
            "人员 (people)": [
                PEOPLE_HEADERS,
                ["e-worker", "孙七", "承包商", "CON-XLS", "作业人员"],
            ],
            "人员台账内的培训记录 (person_training)": [
                [
                    "人员编号 (person_id)",
                    "培训主题 (topic)",
                    "培训完成日期 (completed_on)",
                    "有效期至 (valid_until)",
                ],
                ["e-worker", "有限空间作业安全", days(-30), days(200)],
            ],
        }
    )


def _import(site: Site, content: bytes) -> dict[str, Any]:
    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=site.transport, base_url="http://localhost") as web:
            token = (
                await web.post(
                    "/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]}
                )
            ).json()["access_token"]
            return await web.post(
                f"/api/v1/enterprises/{ENTERPRISE}/ledger.xlsx",
                files={"file": ("ledger.xlsx", content)},
                headers={"Authorization": f"Bearer {token}"},
            )

    r = asyncio.run(call())
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_blacklisted_contractor_imported_from_excel_is_refused_and_found(site: Site) -> None:
    site.put("spaces", "E-S1", space("E-S1"))
    site.put("people", "e-leader", person("作业负责人", roles=["work_leader"]))
    imported = _import(site, _workbook())
    assert (imported["created"], imported["errors"]) == (2, [])
    site.enrol()
    worker = site.store.reference("people", "e-worker")
    assert worker is not None and worker["name"] == "孙七"
    snapshot = site.desk.person_snapshot(worker)
    assert snapshot.contractor is not None
    assert snapshot.contractor.blacklist_reason == "发生亡人事故"
    _refused_on_tablet_and_found_by_the_server(site, "ROSTER_CONTRACTOR_BLACKLISTED")

"""The ledger kept in Excel reaches the rules: a blacklisted contractor and its worker
imported from a workbook made here (``POST /api/v1/enterprises/{id}/ledger.xlsx``), then
a real tablet store synced; the tablet refuses the worker and the server's replay finds
the chain that rostered them anyway (docs/server.md, "The ledger in Excel")."""

from __future__ import annotations

import asyncio
import io
from datetime import date
from typing import Any

import httpx
from openpyxl import Workbook

from tests.e2e.harness import ADMIN, ENTERPRISE, Site, days, person, space
from tests.e2e.test_roster_ledger import _refused_on_tablet_and_found_by_the_server


def _workbook() -> bytes:
    wb = Workbook()
    contractors = wb.active
    contractors.title = "承包商 (contractors)"
    contractors.append(
        ["编号 (id)", "名称 (name)", "统一社会信用代码 (uscc)", "合同编号 (contract_reference)",
         "合同生效日期 (contract_valid_from)", "合同到期日期 (contract_valid_until)",
         "列入黑名单日期 (blacklisted_on)", "列入黑名单原因 (blacklist_reason)"]
    )  # fmt: skip
    contractors.append(
        ["CON-XLS", "表格承包商", "91530102MA6K6GH00F", "HT-XLS",
         date.fromisoformat(days(-100)), date.fromisoformat(days(100)),
         date.fromisoformat(days(-2)), "发生亡人事故"]
    )  # fmt: skip
    people = wb.create_sheet("人员 (people)")
    people.append(["编号 (id)", "姓名 (name)", "用人单位 (employer.kind)",
                   "用人单位编号（本企业或承包商） (employer.id)", "角色 (roles)"])  # fmt: skip
    people.append(["e-worker", "孙七", "承包商", "CON-XLS", "作业人员"])
    training = wb.create_sheet("人员台账内的培训记录 (person_training)")
    training.append(["人员编号 (person_id)", "培训主题 (topic)", "培训完成日期 (completed_on)",
                     "有效期至 (valid_until)"])  # fmt: skip
    training.append(["e-worker", "有限空间作业安全", days(-30), days(200)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


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

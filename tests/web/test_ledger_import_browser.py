"""The enterprise's admin keeps the ledger in Excel, in real headless Chromium: from the
ledger page to the Excel page, a blank template downloaded, a workbook made here
uploaded, the preview read as a diff, applied, and the same workbook again changing
nothing. Its own seeded server: the import writes to the ledger, which the other web
tests count on."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from tests.web.conftest import SCREENSHOTS, DemoServer, seed_demo, serve

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def own_server() -> Iterator[DemoServer]:
    tmp = Path(tempfile.mkdtemp(prefix="cspermit-excel-"))
    url = f"sqlite:///{tmp / 'demo.db'}"
    seed_demo(url)
    with serve(url, tmp) as base:
        yield DemoServer(base, tmp / "demo.db")


def _workbook(path: Path) -> Path:
    wb = Workbook()
    contractors = wb.active
    contractors.title = "承包商 (contractors)"
    contractors.append(
        ["编号 (id)", "名称 (name)", "统一社会信用代码 (uscc)", "合同编号 (contract_reference)",
         "合同生效日期 (contract_valid_from)", "合同到期日期 (contract_valid_until)",
         "列入黑名单日期 (blacklisted_on)", "列入黑名单原因 (blacklist_reason)"]
    )  # fmt: skip
    contractors.append(
        ["a-c-qingxi", "滇中管道清洗有限公司", "91530102MA6K3XY09U", "HT-2026-07",
         date(2026, 1, 1), date(2026, 12, 31), date(2026, 11, 20), "有限空间作业未经审批"]
    )  # fmt: skip
    people = wb.create_sheet("人员 (people)")
    people.append(["编号 (id)", "姓名 (name)", "用人单位 (employer.kind)",
                   "用人单位编号（本企业或承包商） (employer.id)", "角色 (roles)"])  # fmt: skip
    people.append(["a-p-zhaoqiang", "赵强", "承包商", "a-c-qingxi", "作业人员"])
    wb.save(path)
    return path


def _sign_in(page: Any, base: str) -> None:
    page.goto(base + "/web/")
    page.get_by_label("用户名").fill("a-admin")
    page.get_by_label("密码").fill("a-admin-demo")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base + "/web/")


def test_admin_uploads_a_workbook_sees_the_preview_and_applies(
    page: Any, own_server: DemoServer, tmp_path: Path
) -> None:
    base = own_server.url
    _sign_in(page, base)
    page.goto(base + "/web/enterprises/ent-a/spaces")
    page.get_by_role("link", name="Excel 台账：下载、导入").click()
    page.wait_for_url(base + "/web/enterprises/ent-a/ledger/import")

    with page.expect_download() as download:
        page.get_by_role("link", name="下载空白模板").click()
    template = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert "承包商 (contractors)" in template.sheetnames

    page.get_by_label("工作簿（.xlsx）").set_input_files(str(_workbook(tmp_path / "台账.xlsx")))
    page.get_by_role("button", name="预览变更").click()
    page.wait_for_selector("#result")
    assert page.locator("#h-result").inner_text() == "预览：尚未保存任何内容"
    assert page.locator("#n-created").inner_text() == "2"
    changes = page.locator("#changes").inner_text()
    assert "列入黑名单原因" in changes and "有限空间作业未经审批" in changes
    assert "赵强" in changes and "作业人员" in changes
    page.screenshot(path=str(SCREENSHOTS / "20-ledger-import-preview.png"), full_page=True)

    page.get_by_role("button", name="导入这些变更").click()
    page.wait_for_selector("#result")
    assert page.locator("#h-result").inner_text() == "已导入"
    page.screenshot(path=str(SCREENSHOTS / "21-ledger-import-applied.png"), full_page=True)

    # The same workbook again: nothing to change.
    page.get_by_label("工作簿（.xlsx）").set_input_files(str(tmp_path / "台账.xlsx"))
    page.get_by_role("button", name="预览变更").click()
    page.wait_for_selector("#result")
    assert page.locator("#n-unchanged").inner_text() == "2"
    assert page.locator("#n-created").inner_text() == "0"
    assert page.locator("#apply").count() == 0

    # The enterprise page lists the imported contractor.
    page.goto(base + "/web/enterprises/ent-a")
    assert "滇中管道清洗有限公司" in page.content()

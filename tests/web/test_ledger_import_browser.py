"""The enterprise's admin keeps the ledger in Excel, in real headless Chromium: from the
ledger page to the Excel page, a blank template downloaded, a workbook made here
uploaded, the preview read as a diff, applied, and the same workbook again changing
nothing. Its own seeded server: the import writes to the ledger, which the other web
tests count on."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.sync_server.ledger_workbooks import CONTRACTOR_HEADERS, PEOPLE_HEADERS, workbook
from tests.web.conftest import SCREENSHOTS, DemoServer, browser_sign_in, fresh_demo_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def own_server() -> Iterator[DemoServer]:
    with fresh_demo_server("cspermit-excel-") as server:
        yield server


def _workbook(path: Path) -> Path:
    content = workbook(
        {
            "承包商 (contractors)": [
                CONTRACTOR_HEADERS,
                [
                    "a-c-qingxi",
                    "滇中管道清洗有限公司",
                    "91530102MA6K3XY09U",
                    "HT-2026-07",
                    date(2026, 1, 1),
                    date(2026, 12, 31),
                    date(2026, 11, 20),
                    "有限空间作业未经审批",
                ],
            ],
            "人员 (people)": [
                PEOPLE_HEADERS,
                ["a-p-zhaoqiang", "赵强", "承包商", "a-c-qingxi", "作业人员"],
            ],
        }
    )
    path.write_bytes(content)
    return path


def test_admin_uploads_a_workbook_sees_the_preview_and_applies(
    page: Any, own_server: DemoServer, tmp_path: Path
) -> None:
    base = own_server.url
    browser_sign_in(page, base, "a-admin", "a-admin-demo", start="/web/")
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

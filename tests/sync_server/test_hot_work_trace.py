"""A pushed hot-work permit's trace page, PDF (GB 30871 Table A.1, read back with
pdftotext), CSV and attested export (verified offline with ``--server-key``)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.sync_server.chains import enroll_tablet
from tests.sync_server.conftest import World
from tests.sync_server.hot_work_chains import bodies, closed_job
from tests.sync_server.test_cli_server import verify_offline
from tests.sync_server.test_hot_work_server import push
from tests.sync_server.test_ledger_cross_check import _signed_in_page


@pytest.fixture
def hot(world: World) -> World:
    tab = enroll_tablet(world.client, world.h("a-admin"))
    push(world, tab, bodies(closed_job(tab.device_key)))
    return world


def test_the_trace_page_shows_the_table_a1_fields_in_chinese(hot: World) -> None:
    page = _signed_in_page(hot, "/web/permits/HW-1")
    table = page[page.index('id="hot-work-a1"') :]
    table = table[: table.index("</table>")]
    for word in ("作业编号", "级别", "动火地点/部位", "动火方式", "动火人及证书", "监火人"):
        assert word in table, word
    assert "tank 3 manway" in table and "electric welding" in table
    assert "P-WELD" in table and "hot_work T-1" in table  # the welder and the certificate
    assert "P-WATCH" in table and "一级" in table
    analyses = page[page.index('id="hot-work-analyses"') :]
    assert "LEL 2 %LEL" in analyses and "合格" in analyses
    assert "已关闭" in page  # the closed status in words


def test_the_pdf_is_the_hot_work_permit_layout(hot: World, tmp_path: Path) -> None:
    r = hot.client.get("/api/v1/permits/HW-1/export.pdf", headers=hot.h("bureau"))
    if r.status_code == 503 or shutil.which("pdftotext") is None:
        pytest.skip("no CJK font or no pdftotext on this machine")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    path = tmp_path / "hw.pdf"
    path.write_bytes(r.content)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    for word in (
        "动火安全作业票",
        "作业编号",
        "级别",
        "动火地点/部位",
        "动火方式",
        "动火人及证书",
        "监火人",
        "气体分析",
        "关联的其他特殊作业",
        "危害辨识",
        "安全措施",
        "审批",
        "完工验收",
        "HW-1",
        "tank 3 manway",
    ):
        assert word in text, word


def test_the_list_and_the_csv_show_the_permit_type(hot: World) -> None:
    page = _signed_in_page(hot, "/web/permits")
    row = page[page.index('href="/web/permits/HW-1"') :]
    row = row[: row.index("</tr>")]
    assert "动火作业" in row and "已关闭" in row
    csv = hot.client.get("/web/permits.csv").text
    header, row = csv.splitlines()[:2]
    assert header.split(",")[-1] == "permit_type"
    assert row.startswith("HW-1,") and row.endswith(",hot_work")


def test_the_export_verifies_offline_against_the_server_key(hot: World, tmp_path: Path) -> None:
    data = hot.client.get("/api/v1/permits/HW-1/export.json", headers=hot.h("bureau")).json()
    assert data["attestation"]["statement"]["permit_id"] == "HW-1"
    key = hot.client.get("/api/v1/server-key").json()["public_key"]
    path = tmp_path / "HW-1.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    ok = verify_offline(path, key)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["valid"] is True

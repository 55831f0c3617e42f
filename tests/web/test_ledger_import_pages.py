"""The Excel page over HTTP against the shared demo server, writing nothing to it: the
admin's downloads, a preview, a refused workbook named row by row, CSRF, tenancy, and
a previewed workbook that was changed on its way back."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator

import httpx
import pytest
from openpyxl import Workbook, load_workbook

from tests.web.conftest import DemoServer, sign_in

PAGE = "/web/enterprises/ent-a/ledger/import"


@pytest.fixture
def admin_a(demo_server: DemoServer) -> Iterator[httpx.Client]:
    with demo_server.client() as c:
        c.headers["x-csrf"] = sign_in(c, "a-admin", "a-admin-demo")
        yield c


def _contractors(*rows: list[object]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "承包商 (contractors)"
    ws.append(["编号 (id)", "名称 (name)", "统一社会信用代码 (uscc)"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _post(c: httpx.Client, content: bytes, action: str = "preview") -> httpx.Response:
    return c.post(
        PAGE,
        data={"csrf": c.headers["x-csrf"], "action": action},
        files={"file": ("ledger.xlsx", content)},
    )


def test_the_admin_downloads_the_ledger_without_pins(admin_a: httpx.Client) -> None:
    page = admin_a.get(PAGE)
    assert page.status_code == 200 and "下载空白模板" in page.text
    r = admin_a.get("/web/enterprises/ent-a/ledger.xlsx")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    people = wb["人员 (people)"]
    assert people.max_row > 1  # the demo's people
    text = " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row)
    assert "argon2" not in text


def test_a_preview_of_the_export_changes_nothing(admin_a: httpx.Client) -> None:
    export = admin_a.get("/web/enterprises/ent-a/ledger.xlsx").content
    r = _post(admin_a, export)
    assert r.status_code == 200, r.text
    assert re.search(r'id="n-created">0<', r.text) and re.search(r'id="n-updated">0<', r.text)
    assert 'id="apply"' not in r.text


def test_a_wrong_workbook_is_refused_row_by_row(admin_a: httpx.Client) -> None:
    r = _post(admin_a, _contractors(["C-X", "甲", "123"], ["C-X", "乙", "123"]), action="apply")
    assert r.status_code == 422
    assert "未导入任何内容" in r.text
    assert "编号 C-X 已在第 2 行出现" in r.text
    assert "统一社会信用代码" in r.text


def test_a_previewed_workbook_changed_on_its_way_back_is_refused(admin_a: httpx.Client) -> None:
    content = _contractors(["C-NEW", "新承包商", "91530102MA6K3XY09U"])
    preview = _post(admin_a, content)
    digest = re.search(r'name="digest" value="([0-9a-f]+)"', preview.text)
    assert digest is None  # the contractor lacks its contract: no apply form
    other = base64.b64encode(b"PK not the previewed one").decode()
    r = admin_a.post(
        PAGE,
        data={"csrf": admin_a.headers["x-csrf"], "action": "apply", "carried": other,
              "digest": "0" * 64},
    )  # fmt: skip
    assert r.status_code == 422 and "请重新上传" in r.text


def test_csrf_and_tenancy(demo_server: DemoServer, admin_a: httpx.Client) -> None:
    forged = admin_a.post(
        PAGE, data={"csrf": "forged", "action": "preview"}, files={"file": ("x.xlsx", b"x")}
    )
    assert forged.status_code == 403
    assert admin_a.get("/web/enterprises/ent-b/ledger/import").status_code == 404
    assert admin_a.get("/web/enterprises/ent-b/ledger.xlsx").status_code == 404
    with demo_server.client() as c:
        sign_in(c, "bureau", "bureau-demo")
        assert c.get(PAGE).status_code == 403

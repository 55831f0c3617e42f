"""The pages over HTTP against the same real server: tenancy, CSRF, sign-in, the hazard
loop with the bureau's closure check, exports, language, and a tampered chain."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import subprocess
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import DemoServer, sign_in


@pytest.fixture
def bureau(demo_server: DemoServer):  # type: ignore[no-untyped-def]
    with demo_server.client() as c:
        c.headers["x-csrf"] = sign_in(c, "bureau", "bureau-demo")
        yield c


@pytest.fixture
def admin_a(demo_server: DemoServer):  # type: ignore[no-untyped-def]
    with demo_server.client() as c:
        c.headers["x-csrf"] = sign_in(c, "a-admin", "a-admin-demo")
        yield c


@pytest.fixture
def admin_b(demo_server: DemoServer):  # type: ignore[no-untyped-def]
    with demo_server.client() as c:
        c.headers["x-csrf"] = sign_in(c, "b-admin", "b-admin-demo")
        yield c


def csrf(c: httpx.Client) -> str:
    return str(c.headers["x-csrf"])


def test_pages_need_a_session_and_sign_in_refusals_say_why(demo_server: DemoServer) -> None:
    with demo_server.client() as c:
        r = c.get("/web/permits/A-2026-0003")
        assert r.status_code == 303
        assert r.headers["location"] == "/web/sign-in?next=/web/permits/A-2026-0003"
        form = c.get("/web/sign-in")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        bad = c.post(
            "/web/sign-in",
            data={"username": "nobody-here", "password": "wrong-pass", "csrf": token},
        )
        assert bad.status_code == 401 and "用户名或密码错误" in bad.text
        forged = c.post(
            "/web/sign-in",
            data={"username": "bureau", "password": "bureau-demo", "csrf": "forged"},
        )
        assert forged.status_code == 403 and "CSRF_INVALID" in forged.text
        # The next page must be one of ours (no open redirect through the sign-in).
        ok = c.post(
            "/web/sign-in",
            data={
                "username": "bureau",
                "password": "bureau-demo",
                "csrf": token,
                "next": "https://evil.example/",
            },
        )
        assert ok.status_code == 303 and ok.headers["location"] == "/web/"
        page = c.get("/web/")
        assert page.status_code == 200
        assert "default-src 'self'" in page.headers["content-security-policy"]
        session_csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        out = c.post("/web/sign-out", data={"csrf": session_csrf})
        assert out.status_code == 303
        # The token was revoked, not just forgotten by the browser.
        assert c.get("/web/").status_code == 303


def test_another_tenants_permit_is_a_404_page_and_pdf(
    admin_a: httpx.Client, bureau: httpx.Client
) -> None:
    assert admin_a.get("/web/permits/A-2026-0003").status_code == 200
    other = admin_a.get("/web/permits/B-2026-0003")
    assert other.status_code == 404 and "未找到" in other.text
    assert admin_a.get("/api/v1/permits/B-2026-0003/export.pdf").status_code == 404
    assert admin_a.get("/api/v1/permits/B-2026-0003/export.json").status_code == 404
    assert admin_a.get("/web/enterprises/ent-b").status_code == 404
    missing = admin_a.get("/web/no/such/page")
    assert missing.status_code == 404 and "没有这个页面" in missing.text
    listing = admin_a.get("/web/permits")
    assert "A-2026-0001" in listing.text and "B-2026-0001" not in listing.text
    assert bureau.get("/web/permits/B-2026-0003").status_code == 200


def test_pdf_export_with_a_bearer_token(demo_server: DemoServer, tmp_path: Path) -> None:
    with demo_server.client() as c:
        assert c.get("/api/v1/permits/A-2026-0001/export.pdf").status_code == 401
        token = c.post(
            "/api/v1/auth/token", data={"username": "a-admin", "password": "a-admin-demo"}
        ).json()["access_token"]
        r = c.get(
            "/api/v1/permits/A-2026-0001/export.pdf",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        assert r.content.startswith(b"%PDF")
        (tmp_path / "p.pdf").write_bytes(r.content)
        fonts = subprocess.run(
            ["pdffonts", str(tmp_path / "p.pdf")], capture_output=True, text=True, check=True
        ).stdout
        # The CJK font is embedded (a subset): the PDF reads the same on any machine.
        wqy = [line for line in fonts.splitlines() if "WenQuanYi" in line]
        assert wqy and all(" yes " in line for line in wqy), fonts


def test_forms_refuse_a_missing_or_foreign_csrf_token(
    admin_a: httpx.Client, bureau: httpx.Client
) -> None:
    body = {"enterprise_id": "ent-a", "title": "csrf probe"}
    assert admin_a.post("/web/hazards", data=body).status_code == 403
    r = admin_a.post("/web/hazards", data={**body, "csrf": csrf(bureau)})
    assert r.status_code == 403 and "CSRF_INVALID" in r.text
    listing = bureau.get("/web/hazards?enterprise_id=ent-a")
    assert "csrf probe" not in listing.text


def test_bureau_finding_through_the_loop_to_a_confirmed_closure(
    bureau: httpx.Client, admin_b: httpx.Client, admin_a: httpx.Client
) -> None:
    r = bureau.post(
        "/web/hazards",
        data={
            "csrf": csrf(bureau),
            "enterprise_id": "ent-b",
            "title": "熟料筒仓入口未上锁 silo hatch unlocked",
            "category": "MEM10-13-2",
            "space_id": "B-S1",
            # A reviewer's finding is always a bureau inspection, whatever the form says.
            "source": "self_inspection",
        },
    )
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    page = bureau.get(url)
    assert "监管检查" in page.text and "已上报" in page.text
    assert admin_a.get(url).status_code == 404  # another enterprise's hazard

    # A step out of order, and a deadline already past, are refused in words and the
    # reader's Beijing date (not "状态为 reported 的隐患不能执行 hazard_closed").
    early_close = admin_b.post(url + "/actions", data={"action": "close", "csrf": csrf(admin_b)})
    assert early_close.status_code == 422
    assert "该隐患当前为“已上报”，下一步不能是“销号”" in early_close.text
    assert "reported" not in early_close.text and "hazard_closed" not in early_close.text
    unnamed = admin_b.post(
        url + "/actions", data={"action": "plan", "measures": "加装联锁", "csrf": csrf(admin_b)}
    )
    assert unnamed.status_code == 422 and "责任人：未填写" in unnamed.text
    assert "String should" not in unnamed.text
    past = (date.today() - timedelta(days=2)).isoformat()
    late = admin_b.post(
        url + "/actions",
        data={
            "action": "plan",
            "measures": "加装联锁",
            "responsible": "孙海",
            "deadline": past,
            "csrf": csrf(admin_b),
        },
    )
    assert late.status_code == 422 and f"整改期限 {past} 已过" in late.text

    # who did a step on site is chosen among the enterprise's people by name
    form = admin_b.get(url).text
    assert '<option value="b-p-wu">吴芳</option>' in form and "人员编号" not in form
    deadline = (date.today() + timedelta(days=7)).isoformat()
    steps = [
        {"action": "plan", "measures": "加装联锁", "responsible": "孙海", "deadline": deadline},
        {"action": "rectify", "person": "b-p-wu", "evidence": "photo of the new lock"},
    ]
    for step in steps:
        r = admin_b.post(url + "/actions", data={**step, "csrf": csrf(admin_b)})
        assert r.status_code == 303, r.text
    # The rectifier may not verify their own work: the core's refusal is shown.
    r = admin_b.post(
        url + "/actions", data={"action": "verify", "person": "b-p-wu", "csrf": csrf(admin_b)}
    )
    assert r.status_code == 422 and 'id="step-refused"' in r.text
    assert "吴芳 负责整改此隐患，不能进行验收" in r.text  # the core's reason, by name
    assert "HAZARD_VERIFIER_IS_RECTIFIER" not in r.text
    # The bureau may not close the enterprise's hazard, only confirm a closure.
    early = bureau.post(url + "/closure-check", data={"csrf": csrf(bureau), "text": "early"})
    assert early.status_code == 422 and "HAZARD_NOT_CLOSED" in early.text
    for step in ({"action": "verify", "person": "b-p-sun"}, {"action": "close"}):
        r = admin_b.post(url + "/actions", data={**step, "csrf": csrf(admin_b)})
        assert r.status_code == 303, r.text
    assert "已销号" in admin_b.get(url).text
    r = bureau.post(url + "/closure-check", data={"csrf": csrf(bureau), "text": "现场复核：已上锁"})
    assert r.status_code == 303
    page = bureau.get(url)
    # By the reviewer's display name (the demo's 县应急管理局 李监管), not the username.
    assert 'id="closure-checked"' in page.text and "县应急管理局 李监管" in page.text


def test_a_hazard_title_a_person_typed_is_shown_as_typed(bureau: httpx.Client) -> None:
    """Only the server's own text (an automatic finding) has its codes put in words: a
    reviewer's "harness" stays "harness", not 全身式安全带."""
    typed = "2号罐入口 harness 挂点松动"
    r = bureau.post(
        "/web/hazards",
        data={
            "csrf": csrf(bureau),
            "enterprise_id": "ent-b",
            "title": typed,
            "category": "MEM10-13-2",
        },
    )
    assert r.status_code == 303, r.text
    page = bureau.get(r.headers["location"]).text
    assert f"<h1>{typed}</h1>" in page


def _csv(r: httpx.Response) -> list[list[str]]:
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_csv_exports_match_the_search(bureau: httpx.Client) -> None:
    rows = _csv(bureau.get("/web/permits.csv"))
    assert rows[0][:3] == ["permit_id", "enterprise_id", "status"]
    assert len(rows) - 1 == 10
    alarmed = _csv(bureau.get("/web/permits.csv?anomaly=ALARM_RAISED"))
    assert sorted(r[0] for r in alarmed[1:]) == ["A-2026-0003", "B-2026-0003"]
    hazards = _csv(bureau.get("/web/hazards.csv?source=automatic"))
    assert hazards[0][0] == "hazard_id"
    codes = {r[9] for r in hazards[1:]}
    assert {"ENTRY_WITHOUT_APPROVAL", "LEDGER_NO_WARNING_SIGN"} <= codes


def test_english_on_request_and_remembered(bureau: httpx.Client) -> None:
    r = bureau.get("/web/permits?status=closed&lang=en")
    assert "Permit search" in r.text and "作业票查询" not in r.text
    # The switch back keeps the page's filters.
    assert 'href="?status=closed&amp;lang=zh_CN"' in r.text
    assert "Permit search" in bureau.get("/web/permits").text  # the cookie keeps it
    for path, text in (
        ("/web/", "Open major hazards"),
        ("/web/permits/A-2026-0003", "Inside the space at that moment"),
        ("/web/enterprises/ent-a", "Emergency drills"),
        ("/web/enterprises/ent-a/spaces", "Printable warning sign"),
        ("/web/hazards", "File an inspection finding"),
    ):
        r = bureau.get(path)
        assert r.status_code == 200 and text in r.text, path
    assert "作业票查询" in bureau.get("/web/permits?lang=zh_CN").text


def test_bad_search_input_names_the_field(bureau: httpx.Client) -> None:
    r = bureau.get("/web/permits?date_from=28/11/2026")
    assert r.status_code == 422 and "date_from" in r.text and "YYYY-MM-DD" in r.text


def test_ledger_has_qr_codes_and_printable_cards(admin_a: httpx.Client) -> None:
    ledger = admin_a.get("/web/enterprises/ent-a/spaces")
    assert ledger.text.count("<svg") == 2
    assert ledger.text.count("https://codes.example.cn/q/") == 2  # each space's public page
    card = admin_a.get("/web/enterprises/ent-a/spaces/A-T1/card")
    assert "未经许可 严禁入内" in card.text and "<svg" in card.text
    ent = admin_a.get("/web/enterprises/ent-a")
    ledger_rows = ent.text.split('id="ent-ledger"')[1].split("</table>")[0]
    # Spaces by name (docs/web.md, "Words, not codes").
    assert "1号糖蜜罐" in ledger_rows and "废水沉淀池" in ledger_rows and "未设置" in ledger_rows
    # No drill or topic training on record in the demo: both are flagged overdue.
    assert "没有应急演练记录" in ent.text and "没有专题培训记录" in ent.text


def test_a_tampered_event_is_named_on_the_trace_and_in_the_pdf(
    bureau: httpx.Client, demo_server: DemoServer
) -> None:
    with sqlite3.connect(demo_server.db_path) as db:
        (body,) = db.execute(
            "SELECT body FROM events WHERE permit_id = 'B-2026-0002' AND seq = 2"
        ).fetchone()
        event = json.loads(body)
        event["payload"]["reason"] = "rewritten after the fact"
        db.execute(
            "UPDATE events SET body = ? WHERE permit_id = 'B-2026-0002' AND seq = 2",
            (json.dumps(event),),
        )
    db.close()
    page = bureau.get("/web/permits/B-2026-0002")
    assert "校验未通过，第一个不符的事件为第 2 条" in page.text
    pdf = bureau.get("/api/v1/permits/B-2026-0002/export.pdf")
    assert pdf.status_code == 200
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True
    ).stdout.decode()
    assert "校验未通过：第一个不符的事件序号为 2" in text
    # The PDF names the key that attests the export, so a reader can check it offline.
    fingerprint = bureau.get("/api/v1/server-key").json()["fingerprint"]
    assert f"服务器身份密钥指纹（SHA-256）：{fingerprint[:19]}" in text


def test_drills_and_topic_training_kept_in_the_enterprise_record(
    demo_server: DemoServer, admin_b: httpx.Client, bureau: httpx.Client
) -> None:
    today = date.today()
    with demo_server.client() as api:
        token = api.post(
            "/api/v1/auth/token", data={"username": "b-admin", "password": "b-admin-demo"}
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        details = api.get("/api/v1/enterprises/ent-b", headers=h).json()["details"]
        details["drills"] = [
            {
                "id": "D-1",
                "enterprise_id": "ent-b",
                "held_on": (today - timedelta(days=40)).isoformat(),
                "scenario": "筒仓内中毒窒息救援 rescue from the silo",
                "space_ids": ["B-S1"],
            }
        ]
        details["topic_trainings"] = [
            {
                "id": "T-1",
                "enterprise_id": "ent-b",
                "held_on": (today - timedelta(days=500)).isoformat(),
                "participants": ["b-p-wu", "b-p-zheng"],
            }
        ]
        r = api.patch("/api/v1/enterprises/ent-b", json={"details": details}, headers=h)
        assert r.status_code == 200, r.text
    page = admin_b.get("/web/enterprises/ent-b").text
    drills = page.split('id="h-drills"')[1].split("</section>")[0]
    topic = page.split('id="h-topic"')[1].split("</section>")[0]
    assert "筒仓内中毒窒息救援" in drills and "逾期" not in drills
    assert "逾期" in topic  # the latest topic training is more than a year old
    # The bureau's dashboard lists what each enterprise is overdue on.
    dash = bureau.get("/web/").text
    due = dash.split('id="h-drills-due"')[1].split("</ul>")[0]
    b_item = next(li for li in due.split("<li") if "/web/enterprises/ent-b" in li)
    a_item = next(li for li in due.split("<li") if "/web/enterprises/ent-a" in li)
    assert "专题培训" in b_item and "应急演练" not in b_item
    assert "专题培训" in a_item and "应急演练" in a_item  # nothing on record for ent-a


def test_expiring_and_expired_certificates_are_flagged(
    demo_server: DemoServer, admin_b: httpx.Client
) -> None:
    today = date.today()
    with demo_server.client() as api:
        token = api.post(
            "/api/v1/auth/token", data={"username": "b-admin", "password": "b-admin-demo"}
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        for cert_id, person, expires in (
            ("b-wu-confined", "b-p-wu", today + timedelta(days=20)),
            ("b-zheng-hot", "b-p-zheng", today - timedelta(days=3)),
        ):
            r = api.put(
                f"/api/v1/enterprises/ent-b/certificates/{cert_id}",
                json={
                    "person_id": person,
                    "type": "confined_space",
                    "number": cert_id.upper(),
                    "issued_on": (today - timedelta(days=700)).isoformat(),
                    "expires_on": expires.isoformat(),
                },
                headers=h,
            )
            assert r.status_code in (200, 201), r.text
    page = admin_b.get("/web/enterprises/ent-b").text
    rows = page.split('id="people"')[1].split("</table>")[0].split("<tr")
    # People by name, never by id.
    assert not any("b-p-" in r for r in rows)
    wu = next(r for r in rows if "吴芳" in r)
    zheng = next(r for r in rows if "郑伟" in r)
    sun = next(r for r in rows if "孙海" in r)
    assert "即将到期" in wu and 'class="anomaly"' in wu
    assert "已过期" in zheng and 'class="anomaly"' in zheng
    assert "有限空间作业" in wu  # the certificate's type in words
    assert "anomaly" not in sun and "主要负责人" in sun  # roles in Chinese, nothing due


def test_pagination_walks_every_permit_once(bureau: httpx.Client) -> None:
    seen: list[str] = []
    url = "/web/permits?size=3"  # below the minimum: 5 a page
    for page in (1, 2):
        r = bureau.get(url)
        assert f"第 {page} 页，共 2 页" in r.text
        table = r.text.split('id="permit-results"')[1].split("</table>")[0]
        # The bureau's links name each permit's enterprise (ids are unique per enterprise).
        seen += re.findall(r'href="/web/permits/([A-Z]-2026-\d{4})\?enterprise_id=ent-[ab]"', table)
        nxt = re.search(r'href="\?([^"]+)" rel="next"', r.text)
        if page < 2:
            assert nxt, r.text
            url = "/web/permits?" + nxt.group(1).replace("&amp;", "&")
        else:
            assert nxt is None
    assert len(seen) == 10 and len(set(seen)) == 10


def test_the_aggregator_account_has_no_pages(demo_server: DemoServer) -> None:
    with demo_server.client() as c:
        form = c.get("/web/sign-in")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        r = c.post(
            "/web/sign-in",
            data={"username": "feed", "password": "feed-demo-aggregator", "csrf": token},
        )
        assert r.status_code == 303
        page = c.get("/web/")
        assert page.status_code == 403 and "该账号角色没有网页功能" in page.text
        assert c.get("/api/v1/permits/A-2026-0003/export.pdf").status_code == 403


def test_a_cut_chain_and_changed_chunk_bytes_are_named(
    bureau: httpx.Client, demo_server: DemoServer
) -> None:
    with sqlite3.connect(demo_server.db_path) as db:
        (last,) = db.execute(
            "SELECT MAX(seq) FROM events WHERE permit_id = 'B-2026-0004'"
        ).fetchone()
        db.execute("DELETE FROM events WHERE permit_id = 'B-2026-0004' AND seq = ?", (last,))
        (body,) = db.execute(
            "SELECT body FROM events WHERE permit_id = 'B-2026-0001' "
            "AND type = 'readings_chunk_recorded' ORDER BY seq LIMIT 1"
        ).fetchone()
        digest = json.loads(body)["payload"]["sha256"]
        (data,) = db.execute("SELECT data FROM blobs WHERE sha256 = ?", (digest,)).fetchone()
        db.execute("UPDATE blobs SET data = ? WHERE sha256 = ?", (bytes(data) + b"\0", digest))
    db.close()
    cut = bureau.get("/web/permits/B-2026-0004")
    # The failure in words (记录被截短), not its code.
    assert f"第一个不符的事件为第 {last} 条（记录被截短）" in cut.text
    changed = bureau.get("/web/permits/B-2026-0001")
    assert 'id="chunks-corrupt"' in changed.text and "校验通过" in changed.text
    assert "读数数据块：应有 3，已收到 2，缺失 0" in changed.text


def test_the_hazard_form_names_a_bad_field_and_files_nothing(admin_a: httpx.Client) -> None:
    before = admin_a.get("/web/hazards.csv").text.count("\n")
    base = {"csrf": csrf(admin_a), "enterprise_id": "ent-a", "title": "井盖破损"}
    r = admin_a.post("/web/hazards", data={**base, "source": "rumour"})
    assert r.status_code == 422 and "来源" in r.text, r.text[:300]
    # An admin may not file a bureau finding: the API's refusal, shown as a page.
    r = admin_a.post("/web/hazards", data={**base, "source": "bureau_inspection"})
    assert r.status_code == 403, r.text[:300]
    r = admin_a.post("/web/hazards", data={**base, "title": "长" * 301})
    assert r.status_code == 422, r.text[:300]
    assert admin_a.get("/web/hazards.csv").text.count("\n") == before


def test_the_dashboard_counts_alarms_within_the_readers_scope(
    bureau: httpx.Client, admin_a: httpx.Client
) -> None:
    # The alarm tile reads the indexed anomaly rows, filtered by the reader's tenancy:
    # the county sees both enterprises' alarmed permits, an enterprise only its own.
    assert 'id="tile-alarms">2<' in bureau.get("/web/").text
    page = admin_a.get("/web/").text
    assert 'id="tile-alarms">1<' in page
    assert "A-2026-0003" in page and "B-2026-0003" not in page


def test_pages_carry_the_security_headers_and_the_api_is_left_alone(
    bureau: httpx.Client,
) -> None:
    """Every page and static file says where scripts may come from and forbids framing
    (the sign-in and hazard forms); the API's answers are passed through untouched."""
    for path in ("/web/", "/web/sign-in", "/static/web/charts.js"):
        r = bureau.get(path)
        assert r.status_code == 200, (path, r.status_code)
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["referrer-policy"] == "same-origin", path
        assert len(r.headers.get_list("content-security-policy")) == 1, path
    api = bureau.get("/healthz")
    assert api.status_code == 200 and "content-security-policy" not in api.headers

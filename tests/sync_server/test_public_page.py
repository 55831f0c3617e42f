"""码上查 on the server: the space's public token and card, the public page's status and
what it never shows, reports through the hazard loop to the answer seen with the receipt
(docs/server.md, "The public page"). The real app in-process over httpx, a real SQLite
file, the demo ledger and history pushed by the tablet's sync client."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image

from permits.space_code import parse_space_code
from sync_server.schema import audit_log, blobs, devices, hazards, public_reports
from sync_server.services import public_reports as report_service
from tests.support.photos import photo_with_gps
from tests.sync_server.conftest import ASGIClient, make_settings

BASE = "https://codes.example.cn"
CARD_PAYLOAD = re.compile(r'<div class="card-qr">.*?<p class="mono small">([^<]+)</p>', re.S)


def _app(tmp_path: Path, **settings: Any) -> Any:
    from cspermit.demo.seed import push_history, seed_reference
    from sync_server.app import create_app

    app = create_app(make_settings(f"sqlite:///{tmp_path / 'server.db'}", **settings))
    seed_reference(app.state.engine, app.state.passwords)
    asyncio.run(push_history(app))
    return app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    application = _app(tmp_path, public_base_url=BASE)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def web(app: Any) -> Iterator[ASGIClient]:
    c = ASGIClient(app)
    yield c
    c.close()


def sign_in(client: ASGIClient, user: str) -> str:
    form = client.get("/web/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    r = client.post(
        "/web/sign-in",
        data={"username": user, "password": f"{user}-demo", "csrf": csrf.group(1), "next": "/web/"},
    )
    assert r.status_code == 303, r.text
    page = client.get("/web/")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def card_url(client: ASGIClient, space: str, enterprise: str = "ent-a") -> str:
    card = client.get(f"/web/enterprises/{enterprise}/spaces/{space}/card")
    assert card.status_code == 200, card.text
    match = CARD_PAYLOAD.search(card.text)
    assert match
    return unescape(match.group(1)).strip()


def token_of(url: str) -> str:
    code = parse_space_code(url)
    assert code.token is not None
    return code.token


def public_path(url: str) -> str:
    assert url.startswith(BASE + "/q/")
    return url[len(BASE) :]


def send_report(client: ASGIClient, path: str, *, photos: list[bytes] = (), **fields: str) -> Any:  # type: ignore[assignment]
    page = client.get(path)
    challenge = re.search(r'name="challenge" value="([^"]+)"', page.text)
    assert challenge, page.text
    value = unescape(challenge.group(1))
    data = {
        "category": "no_guardian",
        "text": "入口没有监护人 nobody at the manhole",
        "contact": "",
        "challenge": value,
        "nonce": report_service.solve(value),
        **fields,
    }
    files = [("photos", (f"p{i}.jpg", p, "image/jpeg")) for i, p in enumerate(photos)]
    return client.post(f"{path}/report", data=data, files=files or None)


def receipt_of(response: Any) -> str:
    found = re.search(r'id="receipt-code">([^<]+)<', response.text)
    assert found, response.text
    return found.group(1).strip()


def progress(client: ASGIClient, receipt: str) -> Any:
    return client.post("/q/progress", data={"receipt": receipt})


# ----------------------------------------------------------------- the card and the token


def test_the_card_prints_a_phone_url_with_a_random_token(web: ASGIClient) -> None:
    sign_in(web, "a-admin")
    url = card_url(web, "A-P1")
    token = token_of(url)
    assert len(token) >= 22  # ≥ 128 bits of URL-safe base64
    assert "ent-a" not in url and "A-P1" not in url  # no ids on the card
    assert card_url(web, "A-P1") == url  # one code per space until replaced
    assert token_of(card_url(web, "A-T1")) != token
    card = web.get("/web/enterprises/ent-a/spaces/A-P1/card").text
    assert "(A-P1)" not in card and "硫化氢" in card and "呼吸器" in card


def test_no_public_address_no_card(tmp_path: Path) -> None:
    app = _app(tmp_path, public_base_url=None)
    web = ASGIClient(app)
    try:
        sign_in(web, "a-admin")
        card = web.get("/web/enterprises/ent-a/spaces/A-P1/card")
        assert card.status_code == 422 and "CSPERMIT_PUBLIC_BASE_URL" in card.text
        token = web.post(
            "/api/v1/auth/token", data={"username": "a-admin", "password": "a-admin-demo"}
        ).json()["access_token"]
        qr = web.get(
            "/api/v1/enterprises/ent-a/spaces/A-P1/qr", headers={"Authorization": f"Bearer {token}"}
        )
        assert qr.status_code == 422 and qr.json()["error"]["code"] == "PUBLIC_BASE_URL_MISSING"
    finally:
        web.close()
        app.state.engine.dispose()


# ----------------------------------------------------------------- the status


def test_status_active_none_and_stale(app: Any, web: ASGIClient) -> None:
    sign_in(web, "a-admin")
    active_path = public_path(card_url(web, "A-P1"))
    idle_path = public_path(card_url(web, "A-T1"))
    public = ASGIClient(app)  # a phone: no session
    try:
        page = public.get(active_path)
        assert page.status_code == 200
        assert 'data-state="active"' in page.text and "作业中" in page.text
        assert re.search(r"在岗监护人: .\*+<", page.text)  # the guardian, masked (张*)
        assert "内部作业人数: 1<" in page.text and "有效期至: " in page.text
        idle = public.get(idle_path)
        assert 'data-state="none"' in idle.text and "无作业" in idle.text
        # The tablets fall silent: the page says unknown, not "no permit".
        old = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
        with app.state.engine.begin() as conn:
            conn.execute(devices.update().values(last_sync_at=old))
        stale = public.get(idle_path)
        assert 'data-state="unknown"' in stale.text and "状态未知" in stale.text
        assert "无作业" not in stale.text
    finally:
        public.close()


def test_a_new_event_changes_what_the_page_shows_at_once(app: Any, web: ASGIClient) -> None:
    """The page keeps each permit's fold between views (``services.public_folds``); the
    next event pushed is on the next view."""
    from sync_server.services import public_folds
    from tests.sync_server.chains import cancelled, enroll_tablet, simple_permit

    sign_in(web, "a-admin")
    path = public_path(card_url(web, "A-T1"))
    token = web.post(
        "/api/v1/auth/token", data={"username": "a-admin", "password": "a-admin-demo"}
    ).json()["access_token"]
    tab = enroll_tablet(web, {"Authorization": f"Bearer {token}"})

    def push(events: list[dict[str, Any]]) -> None:
        r = web.post("/api/v1/sync/events", json={"events": events}, headers=tab.headers)
        assert r.status_code == 200 and r.json()["rejected"] == 0, r.text

    push(simple_permit(tab, "A-2026-0100", "A-T1"))
    public = ASGIClient(app)  # a phone: no session
    try:
        assert 'data-state="none"' not in public.get(path).text  # a permit stands
        seq, head = tab.heads["A-2026-0100"]
        assert ("ent-a", "A-2026-0100", seq, head) in public_folds._folds  # kept
        assert 'data-state="none"' not in public.get(path).text  # the kept fold, same answer
        push([tab.event("A-2026-0100", cancelled())])
        after = public.get(path).text
        assert 'data-state="none"' in after and "无作业" in after
    finally:
        public.close()


def test_the_page_shows_no_id_full_name_or_phone(app: Any, web: ASGIClient) -> None:
    from cspermit.demo.seed import DEMO_PEOPLE

    csrf = sign_in(web, "a-admin")
    r = web.post(
        "/web/enterprises/ent-a/public/phone",
        data={"csrf": csrf, "emergency_phone": "0871-6543 2100"},
    )
    assert r.status_code == 303, r.text
    path = public_path(card_url(web, "A-P1"))
    phone = ASGIClient(app)
    try:
        html = phone.get(path).text
    finally:
        phone.close()
    assert "0871-6543 2100" in html  # the emergency phone, whole (a number to call)
    for _pid, name, _a in DEMO_PEOPLE["ent-a"]:
        assert name not in html
    for secret in ("ent-a", "A-P1", "A-2026", "a-p-", "ent-b", "B-S1"):
        assert secret not in html
    digits = html.replace("0871-6543 2100", "").replace("tel:0871-65432100", "")
    digits = re.sub(r'name="challenge" value="[^"]*"', "", digits)  # a time and a MAC
    assert not re.search(r"\d{7,}", re.sub(r"[A-Za-z0-9_-]{22,}", "", digits))
    assert not re.search(r"\bsafe\b", html, re.I)  # a status, never "safe"
    for word in ("安全进入", "可以进入", "无危险"):
        assert word not in html


# ----------------------------------------------------------------- reports


def test_a_report_with_a_photo_through_to_the_answer(app: Any, web: ASGIClient) -> None:
    sign_in(web, "a-admin")
    path = public_path(card_url(web, "A-T1"))
    phone = ASGIClient(app)
    try:
        r = send_report(phone, path, photos=[photo_with_gps()], contact="13912345678")
        assert r.status_code == 200, r.text
        receipt = receipt_of(r)
        seen = progress(phone, receipt)
        assert 'data-stage="received" data-done="yes"' in seen.text
        assert 'data-stage="checked" data-done="no"' in seen.text
        assert "13912345678" not in seen.text and "A-T1" not in seen.text
    finally:
        phone.close()
    with app.state.engine.connect() as conn:
        row = conn.execute(sa.select(public_reports)).one()
        hazard = conn.execute(sa.select(hazards).where(hazards.c.hazard_id == row.hazard_id)).one()
        stored = conn.execute(sa.select(blobs.c.data).where(blobs.c.sha256 == row.photos[0])).one()
    assert hazard.source == "worker_report" and hazard.enterprise_id == "ent-a"
    assert hazard.space_id == "A-T1" and hazard.status == "reported"
    img = Image.open(io.BytesIO(stored.data))
    assert not img.getexif() and "exif" not in img.info  # EXIF (GPS, phone) stripped
    assert max(img.size) <= 1600
    # The bureau sees it among the enterprise's hazards and on its dashboard.
    bureau = ASGIClient(app)
    try:
        bcsrf = sign_in(bureau, "bureau")
        assert row.hazard_id in bureau.get("/web/hazards").text
        # the loop's first step names who reported it in words, not the server's code
        step = bureau.get(f"/web/hazards/{row.hazard_id}").text
        assert "码上查公众举报" in step and "public-report" not in step
        dash = bureau.get("/web/").text
        assert 'id="public-report-counts"' in dash
        # The contact: only on a deliberate, audited view.
        listing = bureau.get("/web/public-reports").text
        assert "13912345678" not in listing
        shown = bureau.post(f"/web/public-reports/{row.report_id}/contact", data={"csrf": bcsrf})
        assert "13912345678" in shown.text
        # A report not yet verified cannot be marked for a reward.
        refused = bureau.post(f"/web/public-reports/{row.report_id}/reward", data={"csrf": bcsrf})
        assert refused.status_code == 422
    finally:
        bureau.close()
    with app.state.engine.connect() as conn:
        views = conn.execute(
            sa.select(audit_log).where(audit_log.c.action == "public_report.contact_view")
        ).all()
    assert len(views) == 1 and views[0].actor == "bureau"
    # The enterprise plans (核实) and answers (反馈); the reporter reads the answer.
    csrf = sign_in(web, "a-admin")
    deadline = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    token = web.post(
        "/api/v1/auth/token", data={"username": "a-admin", "password": "a-admin-demo"}
    ).json()["access_token"]
    planned = web.post(
        f"/api/v1/hazards/{row.hazard_id}/actions",
        json={"action": "plan", "measures": ["监护人到岗"], "responsible": "a-p-zhao",
              "deadline": deadline},
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert planned.status_code == 200, planned.text
    answered = web.post(
        f"/web/public-reports/{row.report_id}/answer",
        data={"csrf": csrf, "answer": "经核实属实，已安排监护人到岗。"},
    )
    assert answered.status_code == 303, answered.text
    phone = ASGIClient(app)
    try:
        seen = progress(phone, receipt)
        assert 'data-stage="checked" data-done="yes"' in seen.text
        assert 'data-stage="answered" data-done="yes"' in seen.text
        assert "经核实属实，已安排监护人到岗。" in seen.text
        assert progress(phone, "AAAA-BBBB-CCCC").status_code == 404
    finally:
        phone.close()
    # Rectified by one person, verified by another: now it can be marked for a reward.
    for body in (
        {"action": "rectify", "person": "a-p-qian", "evidence": ["监护人已到岗"]},
        {"action": "verify", "person": "a-p-zhao"},
    ):
        step = web.post(
            f"/api/v1/hazards/{row.hazard_id}/actions",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert step.status_code == 200, step.text
    bureau = ASGIClient(app)
    try:
        bcsrf = sign_in(bureau, "bureau")
        marked = bureau.post(f"/web/public-reports/{row.report_id}/reward", data={"csrf": bcsrf})
        assert marked.status_code == 303, marked.text
        assert "已标记奖励" in bureau.get("/web/public-reports").text
    finally:
        bureau.close()


def test_reports_are_throttled_per_address(app: Any, web: ASGIClient) -> None:
    sign_in(web, "a-admin")
    path = public_path(card_url(web, "A-T1"))
    phone = ASGIClient(app)
    try:
        limit = int(report_service.LIMITS["per_address_per_hour"])
        for _ in range(limit):
            assert send_report(phone, path).status_code == 200
        refused = send_report(phone, path)
        assert refused.status_code == 429 and 'id="report-error"' in refused.text
    finally:
        phone.close()
    with app.state.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(public_reports)).scalar() == limit
        )


def test_refusals_store_nothing(app: Any, web: ASGIClient) -> None:
    sign_in(web, "a-admin")
    path = public_path(card_url(web, "A-T1"))
    phone = ASGIClient(app)
    try:
        not_image = send_report(phone, path, photos=[b"%PDF-1.4 not a photo"])
        assert not_image.status_code == 422 and "JPEG" in not_image.text
        lazy = send_report(phone, path, nonce="")
        assert lazy.status_code == 422
        page = phone.get(path)
        value = unescape(re.search(r'name="challenge" value="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
        nonce = report_service.solve(value)
        data = {"category": "other", "text": "x", "challenge": value, "nonce": nonce}
        assert phone.post(f"{path}/report", data=data).status_code == 200
        assert phone.post(f"{path}/report", data=data).status_code == 422  # used once
    finally:
        phone.close()
    with app.state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(public_reports)).scalar() == 1


def test_a_replaced_code_says_so_and_reaches_nothing(app: Any, web: ASGIClient) -> None:
    csrf = sign_in(web, "a-admin")
    old = public_path(card_url(web, "A-T1"))
    r = web.post("/web/enterprises/ent-a/spaces/A-T1/public-code/rotate", data={"csrf": csrf})
    assert r.status_code == 303
    new = public_path(card_url(web, "A-T1"))
    assert new != old
    phone = ASGIClient(app)
    try:
        gone = phone.get(old)
        assert gone.status_code == 410 and "已被替换" in gone.text
        assert "1号糖蜜罐" not in gone.text and "report-form" not in gone.text
        assert phone.get(new).status_code == 200
        assert phone.get("/q/" + "x" * 24).status_code == 410
        # Nothing of another enterprise's space from this token.
        page = phone.get(new).text
        assert "滇中水泥" not in page and "熟料筒仓" not in page
    finally:
        phone.close()
    b = ASGIClient(app)
    try:
        sign_in(b, "b-admin")
        assert b.post(
            "/web/enterprises/ent-a/spaces/A-T1/public-code/rotate", data={"csrf": "x"}
        ).status_code in (403, 404)
    finally:
        b.close()


def test_the_dashboard_flags_a_report_not_answered_in_time(app: Any, web: ASGIClient) -> None:
    sign_in(web, "a-admin")
    path = public_path(card_url(web, "A-T1"))
    phone = ASGIClient(app)
    try:
        assert send_report(phone, path).status_code == 200
        assert send_report(phone, path, category="no_warning_sign").status_code == 200
    finally:
        phone.close()
    days = report_service.ANSWER_WITHIN.days
    late = (datetime.now(UTC) - timedelta(days=days, hours=1)).isoformat()
    with app.state.engine.begin() as conn:
        first = conn.execute(sa.select(public_reports.c.report_id).limit(1)).scalar_one()
        conn.execute(
            public_reports.update()
            .where(public_reports.c.report_id == first)
            .values(created_at=late)
        )
    bureau = ASGIClient(app)
    try:
        sign_in(bureau, "bureau")
        dash = bureau.get("/web/").text
    finally:
        bureau.close()
    counts = dash.split('id="public-report-counts"', 1)[1].split("</ul>", 1)[0]
    assert re.search(r'data-stage="received">受理: <span class="n">2<', counts)
    flagged = re.search(r'id="public-reports-overdue">([^<]+)<', dash)
    assert flagged and f"1 件举报超过 {days} 天未答复" in flagged.group(1)


def test_a_withdrawn_code_opens_nothing_and_leaves_the_tablets_list(
    app: Any, web: ASGIClient
) -> None:
    from sync_server.services import public_codes

    csrf = sign_in(web, "a-admin")
    path = public_path(card_url(web, "A-P1"))
    with app.state.engine.connect() as conn:
        assert token_of(BASE + path) in {
            c["token"] for c in public_codes.tablet_codes(conn, "ent-a")
        }
    r = web.post("/web/enterprises/ent-a/spaces/A-P1/public-code/revoke", data={"csrf": csrf})
    assert r.status_code == 303, r.text
    phone = ASGIClient(app)
    try:
        gone = phone.get(path)
        assert (
            gone.status_code == 410 and "此码已撤销" in gone.text and "废水沉淀池" not in gone.text
        )
        # printing the card again does not bring a code back: that is the admin's
        # decision, issued (and audit-logged) as a write, never made by a read
        refused = web.get("/web/enterprises/ent-a/spaces/A-P1/card")
        assert refused.status_code == 422 and "尚无公开码" in refused.text
        with app.state.engine.connect() as conn:
            assert not any(
                c["space_id"] == "A-P1" for c in public_codes.tablet_codes(conn, "ent-a")
            )
        issued = web.post(
            "/web/enterprises/ent-a/spaces/A-P1/public-code/issue", data={"csrf": csrf}
        )
        assert issued.status_code == 303, issued.text
        assert send_report(phone, public_path(card_url(web, "A-P1"))).status_code == 200
    finally:
        phone.close()
    with app.state.engine.connect() as conn:
        tokens = {c["token"] for c in public_codes.tablet_codes(conn, "ent-a")}
        actions = [
            r.action
            for r in conn.execute(
                sa.select(audit_log.c.action).where(audit_log.c.object_id == "A-P1")
            )
        ]
    assert token_of(BASE + path) not in tokens  # the code issued again is a new one
    assert actions[-2:] == ["public_code.revoke", "public_code.issue"]


def test_the_migration_keeps_one_current_code_per_space_and_goes_back(empty_db: str) -> None:
    """Migration 0011: a space's older current codes (two reads that both made one) are
    replaced by its newest; a second current code is then refused by the database."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from sync_server.schema import metadata, space_public_codes
    from sync_server.storage import make_engine, migrate

    def code(token: str, at: str, **extra: Any) -> dict[str, Any]:
        return {
            "token": token,
            "enterprise_id": "ent-a",
            "space_id": "A-P1",
            "created_at": at,
            "replaced_at": None,
            "revoked_at": None,
            **extra,
        }

    def current(engine: Any) -> list[str]:
        t = space_public_codes.c
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.token).where(t.replaced_at.is_(None), t.revoked_at.is_(None))
            )
            return sorted(r.token for r in rows)

    engine = make_engine(empty_db)
    try:
        migrate(engine, "0010")
        with engine.begin() as conn:
            conn.execute(
                space_public_codes.insert(),
                [
                    code("old", "2026-12-01T00:00:00+00:00"),
                    code("new", "2026-12-01T00:00:01+00:00"),
                    code("gone", "2026-11-01T00:00:00+00:00", revoked_at="2026-11-02"),
                ],
            )
        migrate(engine)
        assert current(engine) == ["new"]  # the newest stays; the older one is replaced
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(space_public_codes.insert().values(**code("twin", "2026-12-02")))
        with engine.begin() as conn:  # a withdrawn or replaced code may sit beside it
            conn.execute(
                space_public_codes.insert().values(**code("x", "2026-12-02", replaced_at="now"))
            )
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        migrate(engine, "0010", down=True)
        with engine.begin() as conn:  # without the index two current codes fit again
            conn.execute(space_public_codes.insert().values(**code("twin", "2026-12-02")))
        migrate(engine)
        assert current(engine) == ["twin"]
    finally:
        engine.dispose()


def test_two_replacements_at_once_leave_one_current_code(app: Any) -> None:
    """A double click on "replace the code": each replacement reads the current code
    and writes a new one; run at once they must run one after the other (the one
    current code a space is a unique index: the second write would fail, a 500)."""
    import threading

    from sync_server.schema import space_public_codes
    from sync_server.security import Principal, Role
    from sync_server.services import public_codes

    admin = Principal(Role.ENTERPRISE_ADMIN, "acc-a", "a-admin", enterprise_id="ent-a")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def replace_many() -> None:
        barrier.wait()
        try:
            for _ in range(10):
                with app.state.engine.begin() as conn:
                    public_codes.rotate(conn, admin, "ent-a", "A-T1")
        except BaseException as exc:  # a thread's failure is the test's
            errors.append(exc)

    threads = [threading.Thread(target=replace_many) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    t = space_public_codes.c
    with app.state.engine.connect() as conn:
        current = conn.execute(
            sa.select(sa.func.count()).where(
                t.enterprise_id == "ent-a",
                t.space_id == "A-T1",
                t.replaced_at.is_(None),
                t.revoked_at.is_(None),
            )
        ).scalar_one()
    assert current == 1

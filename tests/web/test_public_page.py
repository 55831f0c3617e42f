"""码上查 in a phone's browser: the public page behind a warning card's QR (status no
permit / active / evacuating / stale), a report with a photo through to the answer read
with its receipt, a replaced code, throttling, and what the page never shows; and the
warning card printed on one A4 page in its colours.

Real Chromium at a phone's viewport against a real server (``cspermit server run``) on
its own demo database (these tests change it: a new permit, a stale tablet, reports);
the tablet's sync client pushes the evacuation. Screenshots go to build/screenshots/
(the ones in docs/web.md are copies).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from sync_server.services.public_reports import LIMITS, solve
from tests.support.photos import photo_with_gps
from tests.web.conftest import (
    PUBLIC_BASE_URL,
    SCREENSHOTS,
    DemoServer,
    fresh_demo_server,
    sign_in,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
CARD = re.compile(r'<div class="card-qr">.*?<p class="mono small">([^<]+)</p>', re.S)
# What must never reach a passer-by: ids, other tenants, people's full names.
NEVER = ("ent-a", "ent-b", "A-T1", "A-P1", "B-S1", "A-2026", "a-p-", "滇中水泥", "熟料筒仓")


@pytest.fixture(scope="module")
def own_server() -> Iterator[DemoServer]:
    with fresh_demo_server("cspermit-public-") as server:
        yield server


@pytest.fixture(scope="module")
def admin(own_server: DemoServer) -> Iterator[tuple[httpx.Client, str]]:
    with own_server.client() as c:
        yield c, sign_in(c, "a-admin", "a-admin-demo")


@pytest.fixture
def phone(browser_context: Any) -> Iterator[Any]:
    """A page at a phone's viewport; as conftest's ``page``, any browser error fails the
    test, but for the statuses these tests ask for (429 throttled, 410 a replaced code)."""
    page = browser_context.new_page()
    page.set_viewport_size(PHONE)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        yield page
        expected = ("status of 429", "status of 410")
        assert [e for e in errors if not any(x in e for x in expected)] == [], errors
    finally:
        page.close()
        browser_context.clear_cookies()


def public_path(admin: httpx.Client, space: str) -> str:
    card = admin.get(f"/web/enterprises/ent-a/spaces/{space}/card")
    assert card.status_code == 200, card.text
    found = CARD.search(card.text)
    assert found
    url = found.group(1).strip()
    assert url.startswith(PUBLIC_BASE_URL + "/q/")
    return url[len(PUBLIC_BASE_URL) :]


def open_page(phone: Any, server: DemoServer, path: str) -> tuple[str, list[str]]:
    """Load the page as a phone does; the HTML and every URL the browser requested."""
    requested: list[str] = []

    def seen(request: Any) -> None:
        requested.append(request.url)

    phone.on("request", seen)
    try:
        phone.goto(server.url + path)
        html = phone.content()
    finally:
        phone.remove_listener("request", seen)
    return html, requested


def check_shows_nothing_private(html: str) -> None:
    from cspermit.demo.seed import DEMO_PEOPLE

    for word in NEVER:
        assert word not in html, word
    for people in DEMO_PEOPLE.values():
        for _pid, name, _a in people:
            assert name not in html, name
    assert not re.search(r"\bsafe\b", html, re.I)


def push_evacuation(server: DemoServer) -> None:
    """A new permit on A-T1 whose guardian ordered an evacuation, from a new tablet."""
    from cspermit.demo.permit_history import Writer, _enter, _prepare, _space, h2s_alarm
    from cspermit.demo.seed import DEMO_DETECTORS, DEMO_PEOPLE, DEMO_SPACES
    from permits.events import DetectorIdentity, EvacuationOrdered
    from permits.integrity import DeviceKey
    from tablet_app.sync_client import SyncClient

    async def run() -> None:
        async with SyncClient(server.url) as client:
            await client.sign_in("a-admin", "a-admin-demo")
            code = await client.create_enrollment_code("entrance tablet 2")
            key = DeviceKey.generate("pending")
            enrolled = await client.enroll(code, key.public_b64(), label="entrance tablet 2")
            key = DeviceKey(enrolled.device_id, key.private_key)
            now = datetime.now(UTC)
            people = DEMO_PEOPLE["ent-a"]
            names = {pid: (name, authority) for pid, name, authority in people}
            principal = next(pid for pid, _, a in people if a == "principal")
            plain = [pid for pid, _, a in people if a == "none"]
            guardian, entrants = plain[0], plain[1:] or plain[:1]
            space = _space(DEMO_SPACES["ent-a"][0])
            detector = DetectorIdentity(
                serial=DEMO_DETECTORS["ent-a"][0]["serial"],
                model="four-gas",
                calibration_due=now.date() + timedelta(days=120),
                last_bump_test=now - timedelta(hours=2),
            )
            w = Writer("A-2026-0099", key, now - timedelta(minutes=90))
            roles = {
                "leader": principal,
                "approver": principal,
                "guardian": guardian,
                "entrants": ",".join(entrants),
            }
            _prepare(w, "ent-a", space, roles, detector, now.date(), names, "硫化氢中毒")
            _enter(w, space, detector, entrants, principal)
            h2s_alarm(w, guardian, 12.0, minutes=1)
            w.step(EvacuationOrdered(reason="H2S over the limit"), actor=guardian, minutes=0.2)
            outcome = await client.push_events(w.out.events)
            assert not outcome.by_status("rejected"), outcome

    # Playwright's sync API holds this thread's event loop: the client runs in another.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def test_status_no_permit_active_evacuating_and_stale(
    phone: Any, own_server: DemoServer, admin: tuple[httpx.Client, str]
) -> None:
    client, _csrf = admin
    tank, pit = public_path(client, "A-T1"), public_path(client, "A-P1")

    html, requested = open_page(phone, own_server, tank)
    assert phone.locator("#status").get_attribute("data-state") == "none"
    assert "无作业" in phone.locator("#status").inner_text()
    # One request, to this server: no third-party asset, nothing else to load.
    assert [u for u in requested if not u.startswith(own_server.url)] == []
    assert len([u for u in requested if not u.startswith("data:")]) == 1
    size = len(html.encode())
    assert size < 12_000, size  # measured: 5.4 KB (2.9 KB gzipped), style and script in one
    check_shows_nothing_private(html)
    phone.screenshot(path=str(SCREENSHOTS / "public-01-no-permit.png"), full_page=True)

    open_page(phone, own_server, pit)
    status = phone.locator("#status")
    assert status.get_attribute("data-state") == "active"
    text = status.inner_text()
    assert "作业中" in text and "有效期至" in text and "内部作业人数: 1" in text
    assert re.search(r"在岗监护人: .\*+", text)  # the guardian, masked
    check_shows_nothing_private(phone.content())
    phone.screenshot(path=str(SCREENSHOTS / "public-02-active.png"), full_page=True)

    push_evacuation(own_server)
    open_page(phone, own_server, tank)
    assert phone.locator("#status").get_attribute("data-state") == "evacuating"
    assert "撤离中" in phone.locator("#status").inner_text()
    check_shows_nothing_private(phone.content())
    phone.screenshot(path=str(SCREENSHOTS / "public-03-evacuating.png"), full_page=True)

    # The enterprise's tablets fall silent: unknown, never "no permit".
    old = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    with sqlite3.connect(own_server.db_path) as db:
        db.execute("UPDATE devices SET last_sync_at = ?", (old,))
    for path in (tank, pit):
        open_page(phone, own_server, path)
        assert phone.locator("#status").get_attribute("data-state") == "unknown"
        assert "状态未知" in phone.locator("#status").inner_text()
        assert "无作业" not in phone.content()
    phone.screenshot(path=str(SCREENSHOTS / "public-04-stale.png"), full_page=True)


def test_a_report_with_a_photo_to_the_answer_then_throttled(
    phone: Any, own_server: DemoServer, admin: tuple[httpx.Client, str], tmp_path: Path
) -> None:
    client, csrf = admin
    path = public_path(client, "A-P1")
    photo = tmp_path / "manhole.jpg"
    photo.write_bytes(photo_with_gps(1200, 900))

    open_page(phone, own_server, path)
    phone.select_option("#category", "no_guardian")
    phone.fill("#text", "沉淀池入口没有监护人")
    phone.set_input_files("#photos", str(photo))
    phone.fill("#contact", "13912345678")
    phone.screenshot(path=str(SCREENSHOTS / "public-05-report-form.png"), full_page=True)
    phone.click("#send")  # the page's proof of work runs, then the form is sent
    phone.wait_for_selector("#receipt-code", timeout=60_000)
    receipt = phone.locator("#receipt-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", receipt)
    phone.screenshot(path=str(SCREENSHOTS / "public-06-receipt.png"), full_page=True)

    # The enterprise sees it (no contact listed), plans the fix and answers.
    desk = client.get("/web/enterprises/ent-a/public").text
    assert "沉淀池入口没有监护人" in desk and "13912345678" not in desk
    report_id = re.search(r'data-report="([^"]+)"', desk).group(1)  # type: ignore[union-attr]
    hazard_id = re.search(r'href="/web/hazards/([^"]+)"', desk.split(report_id, 1)[1]).group(1)  # type: ignore[union-attr]
    token = client.post(
        "/api/v1/auth/token", data={"username": "a-admin", "password": "a-admin-demo"}
    ).json()["access_token"]
    planned = client.post(
        f"/api/v1/hazards/{hazard_id}/actions",
        json={
            "action": "plan",
            "measures": ["监护人到岗后方可作业"],
            "responsible": "a-p-zhao",
            "deadline": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert planned.status_code == 200, planned.text
    r = client.post(
        f"/web/public-reports/{report_id}/answer",
        data={"csrf": csrf, "answer": "经核实属实，已责令整改，监护人到岗后方可作业。"},
    )
    assert r.status_code == 303, r.text

    open_page(phone, own_server, path)
    phone.fill("#receipt", receipt)
    phone.click("text=查询进度")
    phone.wait_for_selector("#stages")
    stages = phone.locator("#stages li")
    assert [stages.nth(i).get_attribute("data-done") for i in range(4)] == [
        "yes",
        "yes",
        "no",
        "yes",
    ]
    assert "经核实属实" in phone.locator("#answer").inner_text()
    shown = phone.content()
    assert "13912345678" not in shown and "沉淀池入口没有监护人" not in shown  # nothing else
    phone.screenshot(path=str(SCREENSHOTS / "public-07-answer.png"), full_page=True)

    # Throttled per address: the hour's allowance used up, the next report is refused.
    with own_server.client() as other:
        for _ in range(int(LIMITS["per_address_per_hour"]) - 1):
            page = other.get(path).text
            value = re.search(r'name="challenge" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            sent = other.post(
                f"{path}/report",
                data={"category": "other", "text": "x", "challenge": value, "nonce": solve(value)},
            )
            assert sent.status_code == 200, sent.text
    open_page(phone, own_server, path)
    phone.fill("#text", "再报一次")
    phone.click("#send")
    phone.wait_for_selector("#report-error", timeout=60_000)
    assert "稍后再试" in phone.locator("#report-error").inner_text()
    phone.screenshot(path=str(SCREENSHOTS / "public-08-throttled.png"), full_page=True)


def test_a_replaced_code_says_so(
    phone: Any, own_server: DemoServer, admin: tuple[httpx.Client, str]
) -> None:
    client, csrf = admin
    old = public_path(client, "A-T1")
    r = client.post("/web/enterprises/ent-a/spaces/A-T1/public-code/rotate", data={"csrf": csrf})
    assert r.status_code == 303, r.text
    new = public_path(client, "A-T1")
    assert new != old
    html, _requested = open_page(phone, own_server, old)
    assert phone.locator("#code-state").get_attribute("data-code") == "replaced"
    assert "此码已被替换" in html and "1号糖蜜罐" not in html and "report-form" not in html
    phone.screenshot(path=str(SCREENSHOTS / "public-09-replaced.png"), full_page=True)
    html, _requested = open_page(phone, own_server, new)
    assert "1号糖蜜罐" in html
    # Every link and form on the page stays on this space's page or the receipt lookup.
    targets = re.findall(r'(?:href|action)="([^"]+)"', html)
    assert all(t.startswith((new, "/q/progress", "tel:", "data:")) for t in targets), targets
    check_shows_nothing_private(html)


def test_the_warning_card_prints_on_one_a4_page_in_colour(
    page: Any, own_server: DemoServer, admin: tuple[httpx.Client, str]
) -> None:
    client, _csrf = admin
    page.context.add_cookies(
        [{"name": k, "value": v, "url": own_server.url} for k, v in client.cookies.items()]
    )
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.goto(own_server.url + "/web/enterprises/ent-a/spaces/A-P1/card")
    page.emulate_media(media="print")
    card = page.locator("article.card")
    box = card.bounding_box()
    assert box is not None
    assert box["height"] >= 0.9 * 279 / 25.4 * 96  # fills the page (279 mm of 297)
    text = card.inner_text()
    assert "硫化氢" in text and "正压式空气呼吸器" in text and "全身式安全带" in text
    # Nothing cut off: the card's content (the QR last) fits inside its box.
    assert card.evaluate("el => el.scrollHeight <= el.clientHeight + 1")
    qr = card.locator(".card-qr svg").bounding_box()
    assert qr is not None and qr["y"] + qr["height"] <= box["y"] + box["height"]
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # one page
    page.screenshot(path=str(SCREENSHOTS / "public-10-card-print.png"), full_page=True)
    shot = Image.open(SCREENSHOTS / "public-10-card-print.png").convert("RGB")
    head = card.locator(".card-head").bounding_box()
    assert head is not None
    r, g, b = shot.getpixel((int(head["x"] + 8), int(head["y"] + 8)))
    assert r > 230 and g > 190 and b < 60  # the yellow head kept in print (#ffd600)

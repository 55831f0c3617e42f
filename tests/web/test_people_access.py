"""Tablets enrolled from the web and PINs nobody else knows, end to end in real headless
Chromium against the real demo server: the enterprise admin makes an enrolment QR for
each of two labelled tablets (the test decodes the QR from a screenshot of the page
through the tablet's own camera decoder and enrols real tablet stores with it), issues
李强 a sign-on code and reads it off the printable slip; 李强 enters it on the first
tablet and chooses his PIN; the second tablet, after its sync, signs him in with it.
The pages then show the code used, the PIN set, the tablets by label with their last
sync, and a pending enrolment code revoked."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from sync_server.services import signon_codes
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk
from tablet_app.presenters.first_signon import CONFIRM, FirstSignOnPresenter
from tablet_app.presenters.scanning import decode_frame, parse_enrolment_code
from tablet_app.presenters.settings import SettingsPresenter
from tablet_app.presenters.signin import SignInPresenter
from tablet_app.store import Store
from tests.web.conftest import SCREENSHOTS, DemoServer, browser_sign_in

pytestmark = pytest.mark.browser

PERSON, NAME, PIN = "a-p-li", "李强", "739251"


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    # Playwright's sync API keeps its own event loop in this thread: the tablet's
    # async calls run on a loop of their own in another thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _qr_in(png: bytes) -> str | None:
    """The QR code in a screenshot, read by the tablet's camera decoder (zxing-cpp)."""
    grey = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    return decode_frame(np.ascontiguousarray(grey), grey.shape[1], grey.shape[0])


class Tablet:
    def __init__(self, path: Path) -> None:
        self.store = Store(path)
        self.context = AppContext(store=self.store)
        self.desk = PermitDesk(self.context)
        self.settings = SettingsPresenter(self.context)

    def enrol_from(self, payload: str) -> None:
        """What the settings screen does with a scanned QR: the server, then the code."""
        scanned = parse_enrolment_code(payload)
        assert scanned.server, payload
        self.settings.set_server_url(scanned.server)
        assert _run(self.settings.enroll(scanned.code)), self.settings.sync_result
        assert _run(self.settings.sync_now()), self.settings.sync_result

    def sign_in(self, pin: str) -> bool:
        signin = SignInPresenter(self.context, self.desk)
        signin.select(PERSON)
        for d in pin:
            signin.press(d)
        return signin.submit()


def _enrolment_qr(page: Any, base: str, label: str, shot: str) -> str:
    page.goto(base + "/web/enterprises/ent-a/devices")
    page.get_by_label("平板名称").fill(label)
    page.get_by_role("button", name="生成注册二维码").click()
    page.wait_for_selector("#enrol-qr svg")
    assert label in page.locator("h1").inner_text()
    png = page.screenshot(path=str(SCREENSHOTS / shot), full_page=True)
    payload = _qr_in(png)
    assert payload is not None, "no QR code readable in the page's screenshot"
    # what the page prints in words is what the QR carries
    scanned = parse_enrolment_code(payload)
    assert scanned.server == base
    assert scanned.code == page.locator("#enrol-code").inner_text().strip()
    return payload


def test_web_enrolment_and_first_sign_on_end_to_end(
    demo_server: DemoServer, page: Any, tmp_path: Path
) -> None:
    base = demo_server.url
    browser_sign_in(page, base)
    page.goto(base + "/web/enterprises/ent-a")
    page.get_by_role("link", name="作业平板").click()
    page.wait_for_url(base + "/web/enterprises/ent-a/devices")

    one, two = Tablet(tmp_path / "one.db"), Tablet(tmp_path / "two.db")
    try:
        one.enrol_from(_enrolment_qr(page, base, "1号糖罐入口平板", "20-enrolment-qr.png"))
        two.enrol_from(_enrolment_qr(page, base, "2号糖罐入口平板", "20b-enrolment-qr.png"))
        assert not two.sign_in(PIN)  # no PIN yet

        # the admin issues the code from the list of people, and prints the slip
        page.goto(base + "/web/enterprises/ent-a/people-access")
        page.get_by_role("button", name=f"为{NAME}签发首次登录码").click()
        page.wait_for_selector("#slip-code")
        assert page.locator("#slip-name").inner_text() == NAME
        code = page.locator("#slip-code").inner_text().strip()
        assert re.fullmatch(r"[A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5}", code)
        slip = page.screenshot(path=str(SCREENSHOTS / "21-signon-slip.png"), full_page=True)
        assert _qr_in(slip) == code  # the slip's QR is what the tablet's scan reads
        assert "有效期至" in page.content() and "只能使用一次" in page.content()
        page.emulate_media(media="print")
        assert page.locator("header.top").is_hidden()  # the slip prints without the menu
        page.emulate_media(media="screen")

        # 李强 on the first tablet: the code once, his PIN twice
        first = FirstSignOnPresenter(one.context, one.desk)
        first.start(PERSON)
        first.scanned(code)
        for d in PIN:
            first.press(d)
        first.choose(CONFIRM)
        for d in PIN:
            first.press(d)
        assert _run(first.submit()), first.error
        assert one.sign_in(PIN)

        # the second tablet, after its sync
        assert _run(two.settings.sync_now()), two.settings.sync_result
        assert two.sign_in(PIN)

        # the pages: the code used, shown never again; the PIN set; the tablets by label
        page.goto(base + "/web/enterprises/ent-a/people-access")
        row = page.locator("#people-signon tr", has_text=NAME)
        assert "已设定" in row.inner_text() and "已使用" in row.inner_text()
        assert code not in page.content()
        page.screenshot(path=str(SCREENSHOTS / "22-people-access.png"), full_page=True)
        page.goto(base + "/web/enterprises/ent-a/devices")
        for label in ("1号糖罐入口平板", "2号糖罐入口平板"):
            shown = page.locator("#devices tr", has_text=label).inner_text()
            assert "使用中" in shown and "今天" in shown, shown  # synced, its ledger fresh
            assert "从未" not in shown and "过旧" not in shown, shown

        # a pending code made and revoked: a tablet presenting it is refused
        page.get_by_label("平板名称").fill("备用平板")
        page.get_by_role("button", name="生成注册二维码").click()
        spare = parse_enrolment_code(_qr_in(page.screenshot()) or "")
        page.goto(base + "/web/enterprises/ent-a/devices")
        pending = page.locator("#enrolment-codes tr", has_text="备用平板")
        assert "等待平板注册" in pending.inner_text()
        page.screenshot(path=str(SCREENSHOTS / "23-devices.png"), full_page=True)
        pending.get_by_role("button", name="撤销").click()
        page.wait_for_url(base + "/web/enterprises/ent-a/devices")
        assert "备用平板" not in page.locator("#enrolment-codes").inner_text()
        three = Tablet(tmp_path / "three.db")
        three.settings.set_server_url(base)
        assert not _run(three.settings.enroll(spare.code))
        assert "撤销" in three.settings.sync_result
        three.store.close()

        # revoking a tablet on the page: its token stops at once
        page.get_by_role("button", name="撤销2号糖罐入口平板").click()
        page.wait_for_url(base + "/web/enterprises/ent-a/devices")
        assert "已撤销" in page.locator("#devices tr", has_text="2号糖罐入口平板").inner_text()
        assert not _run(two.settings.sync_now())
    finally:
        one.store.close()
        two.store.close()


def _connect(base: str, db: Path, *args: str, password: str | None = None) -> Any:
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "CSPERMIT_ADMIN_PASSWORD"}
    if password is not None:
        env["CSPERMIT_ADMIN_PASSWORD"] = password
    command = [sys.executable, "-m", "cspermit.cli", "tablet", "connect", "--server", base]
    done = subprocess.run(
        [*command, "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return done.returncode, (json.loads(lines[-1]) if lines else None), done.stderr


def test_the_cli_enrols_without_a_password_on_its_command_line(
    demo_server: DemoServer, tmp_path: Path
) -> None:
    base = demo_server.url
    with demo_server.client() as http:
        token = http.post(
            "/api/v1/auth/token", data={"username": "a-admin", "password": "a-admin-demo"}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        code = http.post("/api/v1/enrollments", json={"label": "-"}, headers=auth).json()["code"]
    # a code made on the web: no admin, no password
    rc, report, err = _connect(base, tmp_path / "a.db", "--code", code, "--label", "巡检平板")
    assert rc == 0, err
    assert report["device_id"] and report["reference"]["people"] > 0  # the ledger pulled
    # the admin's password on the command line is refused, nothing enrolled
    rc, report, err = _connect(base, tmp_path / "b.db", "--admin", "a-admin:a-admin-demo")
    assert rc == 2 and report is None and "CSPERMIT_ADMIN_PASSWORD" in err
    # nor without a code and without the password (no terminal to ask at)
    rc, report, err = _connect(base, tmp_path / "c.db")
    assert rc == 2 and "CSPERMIT_ADMIN_PASSWORD" in err
    # the password from the environment, as scripts/run.sh gives it
    rc, report, err = _connect(
        base, tmp_path / "d.db", "--label", "1号糖罐入口演示平板（run.sh）", password="a-admin-demo"
    )
    assert rc == 0, err
    with demo_server.client() as http:
        listed = http.get("/api/v1/devices", headers=auth).json()
    labels = {d["label"] for d in listed}
    assert {"巡检平板", "1号糖罐入口演示平板（run.sh）"} <= labels


def test_the_pages_keep_to_the_enterprise_check_csrf_and_show_a_code_once(
    demo_server: DemoServer,
) -> None:
    from tests.web.conftest import sign_in

    with demo_server.client() as b:
        sign_in(b, "b-admin", "b-admin-demo")
        for url in ("/web/enterprises/ent-a/people-access", "/web/enterprises/ent-a/devices"):
            assert b.get(url).status_code == 404  # another enterprise's: as if missing
    with demo_server.client() as bureau:
        sign_in(bureau, "bureau", "bureau-demo")
        # the bureau sees the enterprise, but its people's codes are the admin's alone
        assert bureau.get("/web/enterprises/ent-a/people-access").status_code == 403
    with demo_server.client() as a:
        csrf = sign_in(a, "a-admin", "a-admin-demo")
        issue = "/web/enterprises/ent-a/people/a-p-zhou/signon-code"
        refused = a.post(issue, data={"csrf": "forged"})
        assert refused.status_code == 403
        listing = a.get("/web/enterprises/ent-a/people-access").text
        assert "周明" in listing and "签发首次登录码" in listing
        slip = a.post(issue, data={"csrf": csrf})
        assert slip.status_code == 200
        code = re.search(r'id="slip-code">([A-Z0-9-]+)<', slip.text)
        assert code, slip.text
        assert "周明" in slip.text and "只能使用一次" in slip.text
        listing = a.get("/web/enterprises/ent-a/people-access").text
        assert code.group(1) not in listing  # never shown again
        assert "已签发，未使用" in listing
        # a reset: the next code revokes this one
        again = a.post(issue, data={"csrf": csrf})
        code2 = re.search(r'id="slip-code">([A-Z0-9-]+)<', again.text)
        assert code2 and code2.group(1) != code.group(1)
        listing = a.get("/web/enterprises/ent-a/people-access").text
        zhou = [row for row in listing.split("<tr>") if "周明" in row and "已撤销" in row]
        assert zhou, "the older code of 周明 reads revoked"
        # a tablet without a name is refused, nothing made
        before = a.get("/web/enterprises/ent-a/devices").text.count("等待平板注册")
        nameless = a.post("/web/enterprises/ent-a/devices/enrol", data={"csrf": csrf, "label": " "})
        assert nameless.status_code == 422 and "请先为平板命名" in nameless.text
        after = a.get("/web/enterprises/ent-a/devices").text.count("等待平板注册")
        assert after == before
        # the slip reads in the reader's language, the PIN's bounds the core's own
        low, high = signon_codes.PIN_DIGITS
        english = a.post(issue + "?lang=en", data={"csrf": csrf}).text
        assert f"Choose a PIN of {low} to {high} digits" in english
        assert "首次登录单" not in english and "只能使用一次" not in english
        chinese = a.post(issue + "?lang=zh_CN", data={"csrf": csrf}).text
        assert f"自己设定 {low} 至 {high} 位数字的 PIN 码" in chinese

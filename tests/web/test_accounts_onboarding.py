"""County onboarding and accounts in real headless Chromium, on a server of its own (a
fresh database with only the operator): the operator registers a sugar mill with a
wrong, then the right, unified social credit code and its first admin; the admin signs
in, adds a second admin, changes their own password, disables and re-enables the second
admin. Screenshots for docs/web.md go to docs/images/."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import ROOT, browser_sign_in, serve

pytestmark = pytest.mark.browser

IMAGES = ROOT / "docs" / "images"
OPERATOR = ("county-op", "Yunwei-county-2026")


@pytest.fixture(scope="module")
def fresh_server() -> Iterator[str]:
    from sync_server.security import Passwords, Role
    from sync_server.services import accounts as account_service
    from sync_server.settings import Settings
    from sync_server.storage import make_engine, migrate

    tmp = Path(tempfile.mkdtemp(prefix="cspermit-onboarding-"))
    url = f"sqlite:///{tmp / 'county.db'}"
    settings = Settings(db_url=url)
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        account_service.create_account(
            conn,
            Passwords(settings.argon2_time_cost, settings.argon2_memory_cost_kib),
            username=OPERATOR[0],
            password=OPERATOR[1],
            role=Role.OPERATOR,
            display_name="县平台运维 杨帆",
        )
    engine.dispose()
    try:
        with serve(url, tmp) as base:
            yield base
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# The refused form (422) and the refused old password (401) are answers this walk asks
# for; Chromium logs each as a failed resource. Any other console error fails the test.
EXPECTED_REFUSALS = tuple(
    f"Failed to load resource: the server responded with a status of {status}"
    for status in ("422 (Unprocessable Entity)", "401 (Unauthorized)")
)


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        yield page
        assert [e for e in errors if not e.startswith(EXPECTED_REFUSALS)] == []
        assert any(e.startswith(EXPECTED_REFUSALS[0]) for e in errors)  # it was refused
    finally:
        page.close()
        browser_context.clear_cookies()


def _shot(page: Any, name: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / f"web-{name}.png"), full_page=True)


def test_a_county_onboards_a_sugar_mill_and_its_admins_keep_their_accounts(
    page: Any, fresh_server: str
) -> None:
    base = fresh_server
    browser_sign_in(page, base, *OPERATOR)
    assert page.locator("header .who").inner_text() == "县平台运维 杨帆"
    page.get_by_role("link", name="账号", exact=True).click()
    page.get_by_role("link", name="登记企业").click()
    page.get_by_label("企业名称").fill("滇南制糖有限公司")
    page.get_by_label("统一社会信用代码").fill("91530102MA6K6GH001")  # check character wrong
    page.get_by_label("所属区县（行政区划代码）").fill("530102")
    page.get_by_label("行业").select_option("sugar")
    page.get_by_label("应急电话").fill("0871-6543 2100")
    page.get_by_label("管理员姓名").fill("张敏")
    page.get_by_label("管理员用户名").fill("dn-admin")
    page.get_by_label("管理员初始密码").fill("Tang-zhang-2026")
    page.get_by_role("button", name="登记企业").click()
    error = page.locator("#e-credit_code")
    assert "统一社会信用代码无效" in error.inner_text()
    assert "校验码应为 F" in error.inner_text()
    assert page.locator("#form-errors li").count() == 1  # only that field is wrong
    assert page.get_by_label("企业名称").input_value() == "滇南制糖有限公司"  # kept
    _shot(page, "onboarding-refused")

    page.get_by_label("统一社会信用代码").fill("91530102MA6K6GH00F")
    page.get_by_label("管理员初始密码").fill("Tang-zhang-2026")  # passwords are not kept
    page.get_by_role("button", name="登记企业").click()
    assert "已登记企业及其首位管理员：滇南制糖有限公司" in page.locator("#created").inner_text()
    assert page.locator("#account-dn-admin").get_by_text("张敏").count() == 1
    _shot(page, "accounts-operator")
    page.get_by_role("button", name="退出登录").click()

    browser_sign_in(page, base, "dn-admin", "Tang-zhang-2026")
    assert page.locator("header .who").inner_text() == "张敏"
    page.get_by_role("link", name="账号", exact=True).click()
    page.get_by_label("姓名").fill("王芳")
    page.get_by_label("用户名").fill("dn-admin-2")
    page.get_by_label("初始密码").fill("Wang-fang-2026")
    page.get_by_role("button", name="添加").click()
    assert "账号已添加" in page.locator("#done").inner_text()
    second = page.locator("#account-dn-admin-2")
    assert second.get_by_text("王芳").count() == 1
    assert "使用中" in second.locator(".state").inner_text()

    # Their own password: every session ends; they sign in again with the new one.
    page.get_by_role("link", name="修改我的密码").first.click()
    page.get_by_label("当前密码").fill("Tang-zhang-2026")
    page.get_by_label("新密码", exact=True).fill("Zhang-min-new-26")
    page.get_by_label("再次输入新密码").fill("Zhang-min-new-26")
    _shot(page, "own-password")
    page.get_by_role("button", name="修改密码").click()
    assert "密码已修改" in page.locator("#password-changed").inner_text()
    page.locator("#username").fill("dn-admin")
    page.locator("#password").fill("Tang-zhang-2026")
    page.get_by_role("button", name="登录").click()
    assert "用户名或密码错误" in page.locator("#sign-in-error").inner_text()
    browser_sign_in(page, base, "dn-admin", "Zhang-min-new-26")

    page.get_by_role("link", name="账号", exact=True).click()
    page.locator("#account-dn-admin-2").get_by_role("button", name="停用").click()
    assert "账号已停用" in page.locator("#done").inner_text()
    assert "已停用" in page.locator("#account-dn-admin-2 .state").inner_text()
    _shot(page, "accounts-admin-disabled")
    page.locator("#account-dn-admin-2").get_by_role("button", name="启用").click()
    assert "账号已启用" in page.locator("#done").inner_text()
    assert "使用中" in page.locator("#account-dn-admin-2 .state").inner_text()
    page.get_by_role("button", name="退出登录").click()
    browser_sign_in(page, base, "dn-admin-2", "Wang-fang-2026")  # enabled again: it signs in
    assert page.locator("header .who").inner_text() == "王芳"

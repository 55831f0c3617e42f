"""The accounts and county-onboarding pages over HTTP (the real app in-process on a real
SQLite file): every form valid and invalid with each wrong field named, CSRF, the wrong
role, audit entries, and nothing stored on a refusal."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from tests.sync_server.conftest import ASGIClient, World

GOOD_USCC = "91530102MA6K6GH00F"  # the demo sugar mill's, valid (GB 32100-2015)
BAD_USCC = "91530102MA6K6GH001"  # the same with a wrong check character


def pages(app: Any, username: str, password: str) -> tuple[ASGIClient, str]:
    """A browser-like client signed in through the sign-in form; its session's CSRF token."""
    c = ASGIClient(app)
    form = c.get("/web/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text
    r = c.post(
        "/web/sign-in",
        data={"username": username, "password": password, "csrf": token.group(1), "next": "/web/"},
    )
    assert r.status_code == 303, r.text
    page = c.get("/web/account/password")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    return c, csrf.group(1)


def can_sign_in(app: Any, username: str, password: str) -> bool:
    c = ASGIClient(app)
    try:
        r = c.post("/api/v1/auth/token", data={"username": username, "password": password})
        return r.status_code == 200
    finally:
        c.close()


def field_errors(html: str) -> set[str]:
    return set(re.findall(r'id="e-([a-z_]+)"', html))


def accounts_of(world: World) -> dict[str, dict[str, Any]]:
    r = world.client.get("/api/v1/accounts", headers=world.h("op"))
    return {a["username"]: a for a in r.json()}


def audit_actions(world: World) -> list[str]:
    r = world.client.get("/api/v1/audit?limit=200", headers=world.h("op"))
    assert r.status_code == 200, r.text
    return [e["action"] for e in r.json()["items"]]


@pytest.fixture
def operator(world: World, app: Any):  # type: ignore[no-untyped-def]
    c, csrf = pages(app, "op", "op-password")
    yield c, csrf
    c.close()


@pytest.fixture
def admin_a(world: World, app: Any):  # type: ignore[no-untyped-def]
    c, csrf = pages(app, "a-admin", "a-admin-pass")
    yield c, csrf
    c.close()


ONBOARDING = {
    "name": "滇南制糖有限公司",
    "credit_code": GOOD_USCC,
    "jurisdiction": "530102",
    "industry": "sugar",
    "emergency_phone": "0871-6543 2100",
    "enterprise_id": "ent-d",
    "admin_username": "d-admin",
    "admin_display_name": "张敏",
    "admin_password": "Tang-zhang-2026",
}


def test_the_operator_registers_an_enterprise_and_its_first_admin(
    world: World, app: Any, operator: tuple[ASGIClient, str]
) -> None:
    c, csrf = operator
    assert c.get("/web/onboarding").status_code == 200
    wrong = c.post("/web/onboarding", data={**ONBOARDING, "credit_code": BAD_USCC, "csrf": csrf})
    assert wrong.status_code == 422
    assert field_errors(wrong.text) == {"credit_code"}
    # In Chinese, naming the field and the check character the standard gives.
    assert "统一社会信用代码无效" in wrong.text and "校验码应为 F" in wrong.text
    assert "ent-d" not in {
        e["enterprise_id"]
        for e in world.client.get("/api/v1/enterprises", headers=world.h("op")).json()
    }
    assert "d-admin" not in accounts_of(world)

    right = c.post("/web/onboarding", data={**ONBOARDING, "csrf": csrf})
    assert right.status_code == 303, right.text
    assert right.headers["location"] == "/web/accounts?created=ent-d"
    ent = world.client.get("/api/v1/enterprises/ent-d", headers=world.h("op")).json()
    assert ent["credit_code"] == GOOD_USCC and ent["jurisdiction"] == "530102"
    assert ent["details"] == {"industry": "sugar"}
    # the phone is where the public pages and the warning card read it
    with app.state.engine.connect() as conn:
        from sync_server.schema import enterprises

        phone = conn.execute(
            sa.select(enterprises.c.emergency_phone).where(enterprises.c.enterprise_id == "ent-d")
        ).scalar_one()
    assert phone == "0871-6543 2100"
    assert {"enterprise.emergency_phone"} <= set(audit_actions(world))
    admin = accounts_of(world)["d-admin"]
    assert admin["display_name"] == "张敏" and admin["enterprise_id"] == "ent-d"
    assert admin["role"] == "enterprise_admin"
    assert {"enterprise.create", "account.create"} <= set(audit_actions(world))
    assert can_sign_in(app, "d-admin", "Tang-zhang-2026")
    listed = c.get("/web/accounts?created=ent-d")
    assert "已登记企业及其首位管理员：滇南制糖有限公司" in listed.text and "张敏" in listed.text
    english = c.get("/web/accounts?lang=en").text
    assert "Register an enterprise" in english and "Disable" in english and "停用" not in english


def test_onboarding_names_every_wrong_field_at_once_and_stores_nothing(
    world: World, operator: tuple[ASGIClient, str]
) -> None:
    c, csrf = operator
    before = audit_actions(world)
    r = c.post(
        "/web/onboarding",
        data={
            "csrf": csrf,
            "name": "",
            "credit_code": "12345",
            "jurisdiction": "county",
            "industry": "shipbuilding",
            "emergency_phone": "call me",
            "enterprise_id": "ent d",
            "admin_username": "d admin",
            "admin_display_name": "",
            "admin_password": "short",
        },
    )
    assert r.status_code == 422
    assert field_errors(r.text) == {
        "name",
        "credit_code",
        "jurisdiction",
        "industry",
        "emergency_phone",
        "enterprise_id",
        "admin_username",
        "admin_display_name",
        "admin_password",
    }
    for words in (
        "请填写企业名称",
        "18",
        "行政区划代码",
        "请从列表中选择行业",
        "电话号码",
        "企业简码",
        "用户名为 2 至 64",
        "请填写页面上显示的姓名",
        "至少需要 8 个字符",
    ):
        assert words in r.text, words
    assert "未保存任何内容" in r.text
    assert audit_actions(world) == before


def test_an_admin_username_taken_keeps_the_enterprise_out_too(
    world: World, operator: tuple[ASGIClient, str]
) -> None:
    c, csrf = operator
    r = c.post("/web/onboarding", data={**ONBOARDING, "admin_username": "a-admin", "csrf": csrf})
    assert r.status_code == 422
    assert field_errors(r.text) == {"admin_username"}
    ids = {
        e["enterprise_id"]
        for e in world.client.get("/api/v1/enterprises", headers=world.h("op")).json()
    }
    assert "ent-d" not in ids  # both or neither


def test_a_duplicate_credit_code_is_named(world: World, operator: tuple[ASGIClient, str]) -> None:
    c, csrf = operator
    assert c.post("/web/onboarding", data={**ONBOARDING, "csrf": csrf}).status_code == 303
    again = c.post(
        "/web/onboarding",
        data={**ONBOARDING, "enterprise_id": "ent-e", "admin_username": "e-admin", "csrf": csrf},
    )
    assert again.status_code == 422 and field_errors(again.text) == {"credit_code"}
    assert "e-admin" not in accounts_of(world)


def test_the_operator_adds_a_bureau_reviewer(
    world: World, app: Any, operator: tuple[ASGIClient, str]
) -> None:
    c, csrf = operator
    form = {
        "csrf": csrf,
        "role": "bureau_reviewer",
        "username": "county-2",
        "display_name": "王监管",
        "password": "Jian-guan-2026",
    }
    missing = c.post("/web/accounts", data={**form, "jurisdiction": ""})
    assert missing.status_code == 422 and field_errors(missing.text) == {"jurisdiction"}
    assert "county-2" not in accounts_of(world)
    done = c.post("/web/accounts", data={**form, "jurisdiction": "530102"})
    assert done.status_code == 303, done.text
    reviewer = accounts_of(world)["county-2"]
    assert reviewer["role"] == "bureau_reviewer" and reviewer["jurisdiction"] == "530102"
    assert reviewer["display_name"] == "王监管"
    # The reviewer's header shows the name, not the username.
    rc, _csrf = pages(app, "county-2", "Jian-guan-2026")
    assert ">王监管</a>" in rc.get("/web/").text
    rc.close()


def test_an_admin_adds_an_admin_and_every_wrong_field_is_named(
    world: World, app: Any, admin_a: tuple[ASGIClient, str]
) -> None:
    c, csrf = admin_a
    bad = c.post(
        "/web/accounts",
        data={"csrf": csrf, "username": "x", "display_name": "", "password": "password"},
    )
    assert bad.status_code == 422
    assert field_errors(bad.text) == {"username", "display_name", "password"}
    assert "常见" in bad.text  # "password" is among the common passwords
    # An enterprise admin cannot make a reviewer or an admin of another enterprise: the
    # form's role and enterprise are its own, whatever is posted.
    ok = c.post(
        "/web/accounts",
        data={
            "csrf": csrf,
            "role": "bureau_reviewer",
            "enterprise_id": "ent-b",
            "username": "a-admin-2",
            "display_name": "钱二",
            "password": "Qian-er-2026",
        },
    )
    assert ok.status_code == 303, ok.text
    second = accounts_of(world)["a-admin-2"]
    assert second["role"] == "enterprise_admin" and second["enterprise_id"] == "ent-a"
    page = c.get("/web/accounts").text
    assert "钱二" in page and "b-admin" not in page  # only its own enterprise's accounts


def test_disable_enable_and_reset_another_admin(
    world: World, app: Any, admin_a: tuple[ASGIClient, str]
) -> None:
    c, csrf = admin_a
    world.client.post(
        "/api/v1/accounts",
        json={
            "username": "a-admin-2",
            "password": "Qian-er-2026",
            "role": "enterprise_admin",
            "display_name": "钱二",
            "enterprise_id": "ent-a",
        },
        headers=world.h("op"),
    )
    aid = accounts_of(world)["a-admin-2"]["account_id"]
    other, _other_csrf = pages(app, "a-admin-2", "Qian-er-2026")

    assert c.post(f"/web/accounts/{aid}/disable", data={"csrf": csrf}).status_code == 303
    assert accounts_of(world)["a-admin-2"]["disabled"] is True
    assert other.get("/web/").status_code == 303  # its session ended at once
    assert not can_sign_in(app, "a-admin-2", "Qian-er-2026")
    assert c.post(f"/web/accounts/{aid}/enable", data={"csrf": csrf}).status_code == 303
    assert can_sign_in(app, "a-admin-2", "Qian-er-2026")

    differ = c.post(
        f"/web/accounts/{aid}/password",
        data={"csrf": csrf, "password": "Qian-san-2026", "password_again": "other-2026"},
    )
    assert differ.status_code == 422 and field_errors(differ.text) == {"password_again"}
    weak = c.post(
        f"/web/accounts/{aid}/password",
        data={"csrf": csrf, "password": "a-admin-2", "password_again": "a-admin-2"},
    )
    assert weak.status_code == 422 and field_errors(weak.text) == {"password"}
    assert can_sign_in(app, "a-admin-2", "Qian-er-2026")  # nothing changed on refusal
    reset = c.post(
        f"/web/accounts/{aid}/password",
        data={"csrf": csrf, "password": "Qian-san-2026", "password_again": "Qian-san-2026"},
    )
    assert reset.status_code == 303
    assert can_sign_in(app, "a-admin-2", "Qian-san-2026")
    assert not can_sign_in(app, "a-admin-2", "Qian-er-2026")
    actions = audit_actions(world)
    assert {"account.disable", "account.enable", "account.reset_password"} <= set(actions)
    other.close()


def test_changing_ones_own_password(
    world: World, app: Any, admin_a: tuple[ASGIClient, str]
) -> None:
    c, csrf = admin_a
    form = {
        "csrf": csrf,
        "current": "a-admin-pass",
        "password": "Xin-mima-2026",
        "password_again": "Xin-mima-2026",
    }
    wrong = c.post("/web/account/password", data={**form, "current": "not-it-at-all"})
    assert wrong.status_code == 422 and field_errors(wrong.text) == {"current"}
    assert "当前密码不正确" in wrong.text
    empty = c.post(
        "/web/account/password",
        data={"csrf": csrf, "current": "", "password": "123", "password_again": "456"},
    )
    assert empty.status_code == 422
    assert field_errors(empty.text) == {"current", "password", "password_again"}
    assert can_sign_in(app, "a-admin", "a-admin-pass")
    done = c.post("/web/account/password", data=form)
    assert done.status_code == 303 and done.headers["location"] == "/web/sign-in?changed=1"
    assert c.get("/web/").status_code == 303  # this session ended too
    assert "密码已修改" in c.get("/web/sign-in?changed=1").text
    assert can_sign_in(app, "a-admin", "Xin-mima-2026")
    assert not can_sign_in(app, "a-admin", "a-admin-pass")
    assert "account.change_password" in audit_actions(world)


@pytest.mark.parametrize(
    "path",
    [
        "/web/onboarding",
        "/web/accounts",
        "/web/accounts/{aid}/disable",
        "/web/accounts/{aid}/enable",
        "/web/accounts/{aid}/password",
        "/web/account/password",
    ],
)
def test_every_form_refuses_a_post_without_its_csrf_token(
    world: World, app: Any, operator: tuple[ASGIClient, str], path: str
) -> None:
    c, _csrf = operator
    aid = accounts_of(world)["b-admin"]["account_id"]
    before = audit_actions(world)
    data = {
        **ONBOARDING,
        "username": "zz-admin",
        "display_name": "某",
        "password": "Zz-admin-2026",
        "password_again": "Zz-admin-2026",
        "current": "op-password",
        "enterprise_id": "ent-a",
    }
    for csrf in ("", "forged"):
        r = c.post(path.format(aid=aid), data={**data, "csrf": csrf})
        assert r.status_code == 403, (path, r.text)
    assert audit_actions(world) == before
    assert accounts_of(world)["b-admin"]["disabled"] is False


def test_the_wrong_role_is_refused(world: World, app: Any, admin_a: tuple[ASGIClient, str]) -> None:
    c, csrf = admin_a
    assert c.get("/web/onboarding").status_code == 403
    assert c.post("/web/onboarding", data={**ONBOARDING, "csrf": csrf}).status_code == 403
    accounts = accounts_of(world)
    # Accounts outside the admin's enterprise (another's admin, the operator) are not
    # disclosed: 404, as the API answers.
    b_admin, op = accounts["b-admin"]["account_id"], accounts["op"]["account_id"]
    assert c.post(f"/web/accounts/{b_admin}/disable", data={"csrf": csrf}).status_code == 404
    assert c.post(f"/web/accounts/{op}/disable", data={"csrf": csrf}).status_code == 404
    assert (
        c.post(
            f"/web/accounts/{op}/password",
            data={"csrf": csrf, "password": "Op-new-2026", "password_again": "Op-new-2026"},
        ).status_code
        == 404
    )
    bureau, bcsrf = pages(app, "bureau", "bureau-pass")
    assert bureau.get("/web/accounts").status_code == 403
    r = bureau.post(
        "/web/accounts",
        data={"csrf": bcsrf, "username": "sneaky", "display_name": "某", "password": "Sneaky-2026"},
    )
    assert r.status_code == 403 and "sneaky" not in accounts_of(world)
    assert bureau.get("/web/account/password").status_code == 200  # but its own password
    bureau.close()
    assert accounts_of(world)["b-admin"]["disabled"] is False


def test_the_operator_cannot_disable_itself(world: World, operator: tuple[ASGIClient, str]) -> None:
    c, csrf = operator
    me = accounts_of(world)["op"]["account_id"]
    r = c.post(f"/web/accounts/{me}/disable", data={"csrf": csrf})
    assert r.status_code == 422 and "不能停用自己的账户" in r.text
    assert accounts_of(world)["op"]["disabled"] is False


def test_a_form_refused_before_its_page_runs_answers_a_page_naming_the_field(
    admin_a: Any,
) -> None:
    """A field over its form limit (or missing) is refused by FastAPI before the handler:
    the browser gets a page in words naming it, not the API's JSON, and nothing changes."""
    c, csrf = admin_a
    r = c.post(
        "/web/enterprises/ent-a/public/phone", data={"csrf": csrf, "emergency_phone": "1" * 200}
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert "表单未被接受" in r.text and "emergency_phone" in r.text
    assert "1" * 200 not in c.get("/web/enterprises/ent-a/public").text

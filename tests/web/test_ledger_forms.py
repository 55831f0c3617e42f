"""The ledger's forms, in real headless Chromium and over HTTP, against a real server of
their own (seeded like the demo; the shared demo server stays as the other web tests
expect it): an enterprise admin enters a space, a blacklisted contractor, a person with
training and a certificate, a detector, a written delegation with its document and an
emergency drill, each first with mistakes (every one named at once, in Chinese, next to
its input and in a summary, nothing stored), then corrected, saved and edited; the
history shows the change; then a real tablet store enrolls over the network and syncs
what was entered.

Refusals over HTTP: a reviewer reads but cannot post, a post without the form's CSRF
token or from another tenant is refused, and nothing of a refused form is stored."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from permits.reference import hash_pin
from sync_server.labels import BEIJING
from tests.web.conftest import (
    SCREENSHOTS,
    DemoServer,
    browser_sign_in,
    fresh_demo_server,
    sign_in,
)

ENT = "/web/enterprises/ent-a"
USCC = "91530102MA6K6GH00F"  # a valid 统一社会信用代码
# Chromium logs each refused form's 422 as a console error: expected here, nothing else.
EXPECTED_CONSOLE_ERRORS = ("the server responded with a status of 422",)


@pytest.fixture(scope="module")
def forms_server() -> Iterator[DemoServer]:
    with fresh_demo_server("cspermit-forms-") as server:
        yield server


def api(
    server: DemoServer, path: str, user: tuple[str, str] = ("a-admin", "a-admin-demo")
) -> httpx.Response:
    with server.client() as c:
        token = c.post("/api/v1/auth/token", data={"username": user[0], "password": user[1]})
        return c.get(path, headers={"Authorization": f"Bearer {token.json()['access_token']}"})


def stored(server: DemoServer, kind: str, item_id: str) -> dict[str, Any] | None:
    r = api(server, f"/api/v1/enterprises/ent-a/{kind}/{item_id}")
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def today(days: int = 0) -> str:
    return (datetime.now(BEIJING).date() + timedelta(days=days)).isoformat()


# ---------------------------------------------------------------- the browser walk


def _save(page: Any) -> None:
    page.locator("#save").click()
    page.wait_for_load_state()


def _summary(page: Any) -> list[str]:
    assert page.locator("#error-summary").is_visible()
    return [t.strip() for t in page.locator("#error-summary li").all_inner_texts()]


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"ledger-{name}.png"), full_page=True)


def _space(page: Any, base: str, server: DemoServer) -> None:
    page.goto(base + ENT + "/spaces")
    page.locator("#new-space").click()
    page.locator("#f-item_id").fill("WF-S1")
    page.locator("#f-name").fill("3号澄清池")
    page.locator("#f-type").select_option("underground")
    page.locator("#f-hazards-H2S").check()
    page.locator("#f-isolation_points-0-id").fill("V-9")
    page.locator("#f-isolation_points-0-description").fill("进浆阀")
    page.locator("#f-isolation_points-0-energy").select_option("pipe")
    _save(page)  # no location, no gases, no sample points, no isolation method
    errors = _summary(page)
    for expected in ("位置：必填", "应检测气体", "检测点", "隔离点 第 1 行 隔离方式"):
        assert any(expected in e for e in errors), errors
    assert page.locator("#f-location-error").inner_text() == "位置：必填"
    assert "隔离方式" in page.locator("#f-isolation_points-0-kind-error").inner_text()
    # What was entered stays; nothing was stored.
    assert page.locator("#f-name").input_value() == "3号澄清池"
    assert page.locator("#f-hazards-H2S").is_checked()
    assert page.locator("#f-isolation_points-0-description").input_value() == "进浆阀"
    assert stored(server, "spaces", "WF-S1") is None
    _shot(page, "space-refused")

    page.locator("#f-location").fill("制炼车间南侧")
    page.locator("#f-required_channels-O2").check()
    page.locator("#f-required_channels-H2S").check()
    page.locator("#f-sample_points-top").check()  # a named point, and two of its own
    page.locator("#f-sample_points-_other").fill("池口\n池底")
    page.locator("#f-isolation_points-0-kind").select_option("blind_flange")
    page.locator("#f-required_ppe-harness").check()
    page.locator("#f-rescue_equipment-tripod").check()
    page.locator("#f-warning_sign_present").check()
    _save(page)
    assert page.url.endswith("/ledger/spaces/WF-S1?saved=1"), page.url
    assert page.locator("#saved").is_visible()
    # H2S is a poisoning gas: the principal approves, as the core derives it.
    assert "是" in page.locator("#derived").inner_text()
    space = stored(server, "spaces", "WF-S1")
    assert space is not None and space["isolation_points"][0]["kind"] == "blind_flange"
    assert space["sample_points"] == ["top", "池口", "池底"]
    _shot(page, "space-form")

    page.locator("#f-location").fill("制炼车间北侧")
    _save(page)
    page.locator("#history-link").click()
    latest = page.locator("#history li").first
    text = latest.inner_text()
    assert "位置" in text and "制炼车间南侧" in text and "制炼车间北侧" in text, text
    assert today() in latest.locator(".when").inner_text()  # Beijing time
    assert latest.locator(".by").inner_text().strip()  # who changed it
    _shot(page, "history")

    page.goto(base + ENT + "/spaces")
    row = page.locator("#space-WF-S1")
    # By name and in words, not by id or code: the point's description and its method.
    assert "进浆阀：盲板隔离" in row.locator(".isolation-points").inner_text()
    assert "安全带" in row.locator(".ppe").inner_text()
    assert "三脚架" in row.locator(".rescue").inner_text()
    assert "池口" in row.locator(".sample-points").inner_text()
    _shot(page, "ledger")


def _contractor(page: Any, base: str, server: DemoServer) -> None:
    page.goto(base + ENT + "/ledger/contractors/new")
    page.locator("#f-item_id").fill("WF-C1")
    page.locator("#f-name").fill("黑名单安装公司")
    page.locator("#f-uscc").fill("123")
    page.locator("#f-contract_reference").fill("HT-2026-9")
    page.locator("#f-contract_valid_from").fill(today(-30))
    _save(page)
    errors = _summary(page)
    assert any("统一社会信用代码" in e for e in errors), errors
    assert "合同到期日期：必填" in errors, errors
    assert stored(server, "contractors", "WF-C1") is None
    page.locator("#f-uscc").fill(USCC)
    page.locator("#f-contract_valid_until").fill(today(300))
    page.locator("#f-blacklisted_on").fill(today(-3))
    page.locator("#f-blacklist_reason").fill("违章作业致事故")
    _save(page)
    assert page.locator("#saved").is_visible()
    _shot(page, "contractor-form")
    assert (stored(server, "contractors", "WF-C1") or {})["blacklisted_on"] == today(-3)


def _person(page: Any, base: str, server: DemoServer) -> None:
    page.goto(base + ENT + "/ledger/people/new")
    page.locator("#f-item_id").fill("WF-P1")
    page.locator("#f-employer-kind").select_option("contractor")
    page.locator("#f-employer-id").select_option("WF-C1")
    page.locator("#f-roles-entrant").check()
    page.locator("#f-training-0-topic").select_option("confined_space")
    page.locator("#f-training-0-completed_on").fill(today(10))
    page.locator("#f-training-0-valid_until").fill(today(-10))  # before it was completed
    page.locator("#f-certificates-0-type").select_option("electrician")
    page.locator("#f-certificates-0-issued_on").fill(today(-100))
    page.locator("#f-certificates-0-expires_on").fill(today(600))
    _save(page)  # no name, training ends before it began, certificate without number
    errors = _summary(page)
    assert any("姓名" in e for e in errors), errors
    assert any("证书编号" in e for e in errors), errors
    assert any("培训记录 第 1 行" in e and "有效期至早于完成日期" in e for e in errors), errors
    assert len(errors) >= 3
    assert stored(server, "people", "WF-P1") is None
    _shot(page, "person-refused")
    page.locator("#f-name").fill("周强")
    page.locator("#f-training-0-completed_on").fill(today(-10))
    page.locator("#f-training-0-valid_until").fill(today(350))
    page.locator("#f-certificates-0-number").fill("T530102199001011234")
    _save(page)
    assert page.locator("#saved").is_visible()
    _shot(page, "person-form")
    person = stored(server, "people", "WF-P1") or {}
    assert person["employer"] == {"kind": "contractor", "id": "WF-C1"}
    assert person["certificates"][0]["number"] == "T530102199001011234"
    assert person["training"][0]["valid_until"] == today(350)


def _detector(page: Any, base: str, server: DemoServer) -> None:
    page.goto(base + ENT + "/ledger/detectors/new")
    page.locator("#f-item_id").fill("WF-D1")
    page.locator("#f-protocol").select_option("modbus-gt4")
    page.locator("#f-calibration_due").fill(today(90))
    page.locator("#f-bump_tests-0-at").fill(today() + "T08:30")
    _save(page)  # no model, no gases, a bump test without its result
    errors = _summary(page)
    assert any("型号" in e for e in errors), errors
    assert any(e.startswith("检测气体") for e in errors), errors
    assert any("结果" in e for e in errors), errors
    assert stored(server, "detectors", "WF-D1") is None
    page.locator("#f-model").fill("GT-4 四合一")
    for gas in ("O2", "LEL", "H2S", "CO"):
        page.locator(f"#f-channels-{gas}").check()
    page.locator("#f-bump_tests-0-passed").select_option("true")
    _save(page)
    assert page.locator("#saved").is_visible()
    _shot(page, "detector-form")
    bump = (stored(server, "detectors", "WF-D1") or {})["bump_tests"][0]
    assert bump["passed"] is True
    assert datetime.fromisoformat(bump["at"]).astimezone(BEIJING).hour == 8


def _delegation(page: Any, base: str, server: DemoServer, tmp: Path) -> None:
    page.goto(base + ENT + "/ledger/delegations/new")
    page.locator("#f-item_id").fill("WF-DL1")
    page.locator("#f-delegator").select_option("a-p-zhao")
    page.locator("#f-delegate").select_option("a-p-zhao")  # to themselves
    page.locator("#f-valid_from").fill(today(10))
    page.locator("#f-valid_until").fill(today(-10))
    _save(page)
    errors = _summary(page)
    # The core judges the delegation as a whole: the first thing wrong is named.
    assert any("有效期至早于生效日期" in e for e in errors), errors
    assert stored(server, "delegations", "WF-DL1") is None
    page.locator("#f-delegate").select_option("a-p-qian")
    page.locator("#f-valid_from").fill(today(-1))
    page.locator("#f-valid_until").fill(today(300))
    page.locator("#f-space_ids-WF-S1").check()
    page.locator("#f-document_ref").fill("授权委托书 WF-01")
    scan = b"%PDF-1.4\n% the signed delegation\n"
    page.locator("#f-document_file").set_input_files(
        files=[{"name": "委托书.pdf", "mimeType": "application/pdf", "buffer": scan}]
    )
    _save(page)
    assert page.locator("#saved").is_visible()
    _shot(page, "delegation-form")
    data = stored(server, "delegations", "WF-DL1") or {}
    assert data["space_ids"] == ["WF-S1"] and data["document_ref"].startswith("授权委托书 WF-01")
    with page.expect_download() as info:
        page.locator("#document-stored a").click()
    info.value.save_as(tmp / "scan.pdf")
    assert (tmp / "scan.pdf").read_bytes() == scan


def _drill(page: Any, base: str) -> None:
    page.goto(base + ENT + "/ledger/drills/new")
    page.locator("#f-item_id").fill("WF-DR1")
    page.locator("#f-held_on").fill(today(-1))
    page.locator("#f-space_ids-WF-S1").check()
    page.locator("#f-participants-a-p-li").check()
    page.locator("#f-participants-a-p-sun").check()
    _save(page)  # no scenario
    assert _summary(page) == ["演练情景：必填"]
    assert page.locator("#f-participants-a-p-sun").is_checked()
    page.locator("#f-scenario").fill("澄清池硫化氢中毒救援")
    _save(page)
    assert page.locator("#saved").is_visible()
    _shot(page, "drill-form")
    page.goto(base + ENT)
    assert "澄清池硫化氢中毒救援" in page.locator("#h-drills + ul").inner_text()


def _tablet_syncs(base: str, tmp: Path) -> Any:
    """A real tablet store enrolls with the live server over the network and syncs."""
    from tablet_app.context import AppContext
    from tablet_app.desk import PermitDesk
    from tablet_app.presenters.settings import SettingsPresenter
    from tablet_app.store import Store
    from tablet_app.sync_client import SyncClient

    store = Store(tmp / "tablet.db")
    context = AppContext(store=store, server_url=base)
    PermitDesk(context)  # makes the device key
    settings = SettingsPresenter(context)

    async def enrol() -> None:
        async with SyncClient(base) as client:
            await client.sign_in("a-admin", "a-admin-demo")
            code = await client.create_enrollment_code("表单测试平板")
        assert await settings.enroll(code), settings.sync_result
        assert await settings.sync_now(), settings.sync_result

    # Playwright's sync API holds this thread's event loop: the tablet runs its own.
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(enrol())
        except BaseException as exc:  # re-raised below, in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    assert not thread.is_alive() and not failure, failure
    return store


@pytest.mark.browser
def test_an_admin_enters_the_ledger_through_the_forms_and_a_tablet_syncs_it(
    page: Any, forms_server: DemoServer, tmp_path: Path
) -> None:
    base = forms_server.url
    browser_sign_in(page, base, start="/web/")
    _space(page, base, forms_server)
    _contractor(page, base, forms_server)
    _person(page, base, forms_server)
    _detector(page, base, forms_server)
    _delegation(page, base, forms_server, tmp_path)
    _drill(page, base)

    store = _tablet_syncs(base, tmp_path)
    try:
        # The tablet's rows (tablet_app/reference_sync.py) of what was entered.
        space = store.reference("spaces", "WF-S1") or {}
        assert space["location"] == "制炼车间北侧"
        assert space["isolation_points"][0]["description"] == "进浆阀"
        assert space["isolation_methods"] == {"V-9": "blind_flange"}
        assert space["required_ppe"] == ["harness"] and space["rescue_items"] == ["tripod"]
        person = store.reference("people", "WF-P1") or {}
        assert person["name"] == "周强" and person["contractor_id"] == "WF-C1"
        assert person["training_valid_until"] == today(350)
        assert any(c["number"] == "T530102199001011234" for c in person["certificates"])
        contractor = store.reference("contractors", "WF-C1") or {}
        assert contractor["blacklisted_on"] == today(-3)
        detector = store.reference("detectors", "WF-D1") or {}
        assert detector["model"] == "GT-4 四合一" and detector["last_bump_test"]
        delegation = store.reference("delegations", "WF-DL1") or {}
        assert delegation["delegate"] == "a-p-qian" and delegation["space_ids"] == ["WF-S1"]
    finally:
        store.close()


@pytest.mark.browser
def test_a_tablet_width_form_does_not_scroll_sideways(page: Any, forms_server: DemoServer) -> None:
    page.set_viewport_size({"width": 800, "height": 1200})
    browser_sign_in(page, forms_server.url, start="/web/")
    page.goto(forms_server.url + ENT + "/ledger/spaces/A-T1")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 800, width
    box = page.locator("#f-hazards-H2S").bounding_box()
    label = page.locator("label[for=f-hazards-H2S]").bounding_box()
    # A tick box and its label a finger can hit: 44 px tall together (docs/web.md).
    assert box["height"] >= 24 and label["height"] >= 40, (box, label)
    _shot(page, "space-tablet")


# ---------------------------------------------------------------- refusals over HTTP


def _csrf(c: httpx.Client, user: str, password: str) -> str:
    return sign_in(c, user, password)


def test_a_refused_form_stores_nothing_and_names_every_field(forms_server: DemoServer) -> None:
    with forms_server.client() as c:
        token = _csrf(c, "a-admin", "a-admin-demo")
        r = c.post(
            ENT + "/ledger/contractors/new",
            data={"csrf": token, "item_id": "HT-C1", "name": "某公司", "uscc": "bad"},
        )
        assert r.status_code == 422
        summary = re.findall(r'<li><a href="#(f-[^"]+)">([^<]+)</a>', r.text)
        ids = {i for i, _ in summary}
        assert {
            "f-uscc",
            "f-contract_reference",
            "f-contract_valid_from",
            "f-contract_valid_until",
        } <= ids, summary
        for target in ids:  # each line of the summary leads to its input
            assert f'id="{target}"' in r.text, target
        empty = c.post(ENT + "/ledger/spaces/new", data={"csrf": token, "item_id": "HT-S1"})
        targets = re.findall(r'<li><a href="#(f-[^"]+)">', empty.text)
        assert "f-required_channels" in targets  # a group of tick boxes
        for target in targets:
            assert f'id="{target}"' in empty.text, target
        assert 'value="某公司"' in r.text  # kept
        assert stored(forms_server, "contractors", "HT-C1") is None
        history = api(forms_server, "/api/v1/enterprises/ent-a/contractors/HT-C1/history")
        assert history.json() == []
        # "Add a row" shows the form again with one more row, and stores nothing either.
        r = c.post(
            ENT + "/ledger/detectors/new",
            data={
                "csrf": token,
                "item_id": "HT-D1",
                "model": "X",
                "bump_tests.0.at": "",  # the form's empty row, as the browser posts it
                "_add_row": "bump_tests",
            },
        )
        assert r.status_code == 200 and 'name="bump_tests.1.at"' in r.text
        assert stored(forms_server, "detectors", "HT-D1") is None


def test_a_new_entry_never_overwrites_one_of_the_same_id(forms_server: DemoServer) -> None:
    before = stored(forms_server, "spaces", "A-T1")
    with forms_server.client() as c:
        token = _csrf(c, "a-admin", "a-admin-demo")
        r = c.post(
            ENT + "/ledger/spaces/new",
            data={
                "csrf": token,
                "item_id": "A-T1",
                "name": "冒名",
                "location": "x",
                "type": "underground",
                "required_channels": "O2",
                "sample_points": "a",
            },
        )
        assert r.status_code == 422 and "已有" in r.text
        # Nor takes the id of the blank form's path.
        r = c.post(ENT + "/ledger/contractors/new", data={"csrf": token, "item_id": "new"})
        assert r.status_code == 422 and "请换一个编号" in r.text
    assert stored(forms_server, "spaces", "A-T1") == before


def test_a_reviewer_reads_the_form_but_cannot_post(forms_server: DemoServer) -> None:
    with forms_server.client() as c:
        token = _csrf(c, "bureau", "bureau-demo")
        page = c.get(ENT + "/ledger/spaces/A-T1")
        assert page.status_code == 200
        assert 'id="read-only"' in page.text and 'id="save"' not in page.text
        assert 'id="f-name"' in page.text and "disabled" in page.text
        assert c.get(ENT + "/ledger/spaces/new").status_code == 403
        r = c.post(ENT + "/ledger/spaces/A-T1", data={"csrf": token, "name": "改名"})
        assert r.status_code == 403
        r = c.post(ENT + "/ledger/spaces/A-T1/delete", data={"csrf": token})
        assert r.status_code == 403
    assert (stored(forms_server, "spaces", "A-T1") or {})["name"] != "改名"


def test_a_post_without_the_forms_token_or_from_another_tenant_is_refused(
    forms_server: DemoServer,
) -> None:
    data = {
        "item_id": "HT-C2",
        "name": "某公司",
        "uscc": USCC,
        "contract_reference": "H-1",
        "contract_valid_from": today(-1),
        "contract_valid_until": today(100),
    }
    with forms_server.client() as c:
        _csrf(c, "a-admin", "a-admin-demo")
        r = c.post(ENT + "/ledger/contractors/new", data=data)
        assert r.status_code == 403 and "CSRF_INVALID" in r.text
        r = c.post(ENT + "/ledger/contractors/new", data={**data, "csrf": "forged"})
        assert r.status_code == 403
    with forms_server.client() as c:
        token = _csrf(c, "b-admin", "b-admin-demo")
        r = c.post(ENT + "/ledger/contractors/new", data={**data, "csrf": token})
        assert r.status_code == 404
        assert c.get(ENT + "/ledger/spaces/A-T1").status_code == 404
    assert stored(forms_server, "contractors", "HT-C2") is None


def test_editing_a_person_keeps_their_pin_and_deleting_leaves_a_tombstone(
    forms_server: DemoServer,
) -> None:
    pin_hash = hash_pin("2468")
    with forms_server.client() as c:
        token = c.post(
            "/api/v1/auth/token", data={"username": "a-admin", "password": "a-admin-demo"}
        ).json()["access_token"]
        body = {
            "name": "吴六",
            "employer": {"kind": "enterprise", "id": "ent-a"},
            "roles": ["entrant"],
            "pin_hash": pin_hash,
        }
        r = c.put(
            "/api/v1/enterprises/ent-a/people/HT-P1",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text
    with forms_server.client() as c:
        csrf = _csrf(c, "a-admin", "a-admin-demo")
        form = c.get(ENT + "/ledger/people/HT-P1")
        assert pin_hash not in form.text  # never shown
        r = c.post(
            ENT + "/ledger/people/HT-P1",
            data={
                "csrf": csrf,
                "name": "吴六六",
                "employer.kind": "enterprise",
                "roles": ["entrant", "guardian"],
            },
        )
        assert r.status_code == 303, r.text
        person = stored(forms_server, "people", "HT-P1") or {}
        assert person["name"] == "吴六六" and person["pin_hash"] == pin_hash
        assert sorted(person["roles"]) == ["entrant", "guardian"]
        r = c.post(ENT + "/ledger/people/HT-P1/delete", data={"csrf": csrf})
        assert r.status_code == 303
        assert stored(forms_server, "people", "HT-P1") is None
        said = re.search(r'id="deleted">([^<]*)<', c.get(r.headers["location"]).text)
        assert said and "吴六六" in said.group(1) and "HT-P1" not in said.group(1)  # a name
        history = c.get(ENT + "/ledger/people/HT-P1/history")
        assert history.status_code == 200 and "已删除" in history.text
        heading = re.search(r"<h1>([^<]*)</h1>", history.text)
        assert heading and "吴六六" in heading.group(1) and "HT-P1" not in heading.group(1)
        assert "吴六" in history.text and "吴六六" in history.text
    pull = api(forms_server, "/api/v1/sync/reference?cursor=0&limit=5000")
    tomb = [i for i in pull.json()["items"] if i["item_id"] == "HT-P1"]
    assert tomb and tomb[-1]["deleted"] is True


def test_a_topic_training_is_kept_in_the_enterprise_record_with_its_history(
    forms_server: DemoServer,
) -> None:
    with forms_server.client() as c:
        csrf = _csrf(c, "a-admin", "a-admin-demo")
        path = ENT + "/ledger/topic-trainings"
        r = c.post(path + "/new", data={"csrf": csrf, "item_id": "HT-T1", "topic": "gas_detection"})
        assert r.status_code == 422 and "举行日期：必填" in r.text
        r = c.post(
            path + "/new",
            data={"csrf": csrf, "item_id": "HT-T1", "topic": "gas_detection", "held_on": today()},
        )
        assert r.status_code == 303, r.text
        r = c.post(
            path + "/HT-T1",
            data={"csrf": csrf, "topic": "gas_detection", "held_on": today(), "trainer": "王工"},
        )
        assert r.status_code == 303, r.text
        history = c.get(path + "/HT-T1/history")
        assert history.status_code == 200 and "授课人" in history.text and "王工" in history.text
    details = api(forms_server, "/api/v1/enterprises/ent-a").json()["details"]
    (training,) = [t for t in details["topic_trainings"] if t["id"] == "HT-T1"]
    assert training["trainer"] == "王工" and training["enterprise_id"] == "ent-a"
    with forms_server.client() as c:
        csrf = _csrf(c, "a-admin", "a-admin-demo")
        assert c.post(path + "/HT-T1/delete", data={"csrf": csrf}).status_code == 303
    details = api(forms_server, "/api/v1/enterprises/ent-a").json()["details"]
    assert all(t["id"] != "HT-T1" for t in details["topic_trainings"])

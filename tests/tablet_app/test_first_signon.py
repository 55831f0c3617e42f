"""First sign-on against the real server app in-process: the admin issues a code, the
person enters it on one tablet and chooses a PIN (hashed there), and signs in with that
PIN on a second tablet of the enterprise after it syncs. Refusals in words: wrong code,
PINs that differ, not enrolled, offline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk
from tablet_app.presenters.first_signon import CONFIRM, FirstSignOnPresenter
from tablet_app.presenters.settings import SettingsPresenter
from tablet_app.presenters.signin import SignInPresenter
from tablet_app.store import Store

from .server_rig import demo_app, enrol_and_sync, issue_signon_code

PERSON = "a-p-li"  # 李强, no PIN on the server's demo ledger
PIN = "739251"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    app = demo_app(tmp_path)
    yield app
    app.state.engine.dispose()


class Tablet:
    def __init__(self, path: Path, transport: Any, server_url: str = "http://localhost") -> None:
        self.store = Store(path)
        self.context = AppContext(store=self.store, server_url=server_url)
        self.desk = PermitDesk(self.context)  # makes the device key
        self.settings = SettingsPresenter(self.context, transport=transport)
        self.first = FirstSignOnPresenter(self.context, self.desk, transport=transport)

    def type_pins(self, first: str, second: str) -> None:
        for d in first:
            self.first.press(d)
        self.first.choose(CONFIRM)
        for d in second:
            self.first.press(d)

    def sign_in(self, person_id: str, pin: str) -> tuple[bool, str]:
        signin = SignInPresenter(self.context, self.desk)
        signin.select(person_id)
        for d in pin:
            signin.press(d)
        return signin.submit(), signin.error


def test_the_code_sets_the_persons_pin_and_the_second_tablet_accepts_it(
    server: Any, tmp_path: Path, in_chinese: None
) -> None:
    transport = httpx.ASGITransport(app=server)
    one = Tablet(tmp_path / "one.db", transport)
    two = Tablet(tmp_path / "two.db", transport)
    try:
        asyncio.run(enrol_and_sync(one.settings, transport, label="1号糖罐入口平板"))
        asyncio.run(enrol_and_sync(two.settings, transport, label="2号平板"))
        assert two.sign_in(PERSON, PIN) == (False, "此人未设置 PIN 码：请联系安全管理人员。")
        code = asyncio.run(issue_signon_code(transport, PERSON))

        one.first.start(PERSON)
        one.first.set_code("ABCDE-FGHJK")  # not the slip's code
        one.type_pins(PIN, PIN)
        assert asyncio.run(one.first.submit()) is False
        assert "李强" in one.first.error and "核对" in one.first.error
        assert one.first.view().pin_dots == ""  # the PIN is not kept after a try

        one.first.set_code(code)
        one.type_pins(PIN, "739250")
        assert asyncio.run(one.first.submit()) is False
        assert "两次" in one.first.error

        one.first.set_code(code.lower().replace("-", " "))  # as a person might type it
        one.type_pins(PIN, PIN)
        assert asyncio.run(one.first.submit()) is True, one.first.error
        assert "李强" in one.first.done
        # this tablet accepts the PIN at once; the row holds a hash, never the PIN
        row = one.store.reference("people", PERSON)
        assert row is not None and row["pin_hash"].startswith("$argon2id$")
        assert PIN not in str(row)
        assert one.sign_in(PERSON, PIN)[0] is True

        # the second tablet after its next sync
        assert asyncio.run(two.settings.sync_now()), two.settings.sync_result
        assert two.sign_in(PERSON, "000000")[0] is False
        assert two.sign_in(PERSON, PIN) == (True, "")

        # the code is spent: a second use is refused in words
        one.first.start(PERSON)
        one.first.set_code(code)
        one.type_pins("111111", "111111")
        assert asyncio.run(one.first.submit()) is False
        assert "已经使用" in one.first.error
        assert one.sign_in(PERSON, PIN)[0] is True  # the PIN stays as it was
    finally:
        one.store.close()
        two.store.close()


def test_offline_and_unenrolled_tablets_say_what_the_step_needs(
    server: Any, tmp_path: Path, in_chinese: None
) -> None:
    transport = httpx.ASGITransport(app=server)
    fresh = Tablet(tmp_path / "fresh.db", transport)
    fresh.first.start(PERSON)
    fresh.first.set_code("ABCDE-FGHJK")
    fresh.type_pins(PIN, PIN)
    assert asyncio.run(fresh.first.submit()) is False
    assert "未在服务器注册" in fresh.first.error
    fresh.store.close()

    tablet = Tablet(tmp_path / "t.db", transport)
    try:
        asyncio.run(enrol_and_sync(tablet.settings, transport))
        code = asyncio.run(issue_signon_code(transport, PERSON))
        # the same tablet, its server gone: a real connection to a closed port
        tablet.context.server_url = "http://127.0.0.1:9"
        tablet.first.transport = None
        tablet.first.start(PERSON)
        tablet.first.set_code(code)
        tablet.type_pins(PIN, PIN)
        assert asyncio.run(tablet.first.submit()) is False
        assert "联网" in tablet.first.error
        assert tablet.store.reference("people", PERSON)["pin_hash"] is None
        # back online, the same code still works
        tablet.context.server_url = "http://localhost"
        tablet.first.transport = transport
        tablet.type_pins(PIN, PIN)
        tablet.first.set_code(code)
        assert asyncio.run(tablet.first.submit()) is True, tablet.first.error
    finally:
        tablet.store.close()


def test_a_short_pin_is_refused_before_anything_is_sent(tablet: Any) -> None:
    presenter = FirstSignOnPresenter(tablet.context, tablet.desk)
    tablet.store.set_setting("server_url", "http://127.0.0.1:9")
    tablet.store.set_setting("device_token", "not-used")
    presenter.start(tablet.desk.people()[0]["id"])
    presenter.set_code("ABCDE-FGHJK")
    for d in "12":
        presenter.press(d)
    presenter.choose(CONFIRM)
    for d in "12":
        presenter.press(d)
    assert asyncio.run(presenter.submit()) is False
    assert "4" in presenter.error and "12" in presenter.error

"""Account security (issue 15, part 2; docs/server.md, Authentication): sign-in attempts
counted atomically before the password check, per username and per client address;
weak passwords refused; disabling and resetting end sessions at once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sync_server.errors import TooManyRequests
from sync_server.security import Passwords, Role
from sync_server.services import accounts as account_service
from sync_server.services.password_policy import check, common_passwords
from sync_server.storage import make_engine
from tests.sync_server.conftest import World, make_settings

ROOT = Path(__file__).resolve().parents[2]


class SlowPasswords(Passwords):
    """argon2 takes its time on a real server: the window in which parallel guesses
    used to read the same failure count. Counts the checks it is asked for."""

    def __init__(self) -> None:
        super().__init__(1, 64)
        self.checks = 0
        self._lock = threading.Lock()

    def verify(self, stored_hash: str | None, password: str) -> bool:
        with self._lock:
            self.checks += 1
        time.sleep(0.05)
        return super().verify(stored_hash, password)


def test_a_parallel_burst_gets_no_more_tries_than_the_limit(db_url: str) -> None:
    # A real SQLite file or PostgreSQL (db_url), one engine shared by the threads like
    # the server's, and 24 wrong guesses at once.
    settings = make_settings(db_url, max_failed_sign_ins=5)
    engine = make_engine(db_url)
    passwords = SlowPasswords()
    with engine.begin() as conn:
        account_service.create_account(
            conn, passwords, username="victim", password="a-long-secret-1", role=Role.OPERATOR
        )

    def guess(i: int) -> str:
        try:
            result = account_service.sign_in(
                engine, settings, passwords, "victim", f"guess-{i}", None
            )
        except TooManyRequests:
            return "throttled"
        return "wrong" if result is None else "in"

    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(guess, range(24)))
        assert answers.count("in") == 0
        assert passwords.checks <= 5 and answers.count("wrong") == passwords.checks
        assert answers.count("throttled") >= 24 - 5
        # Locked now, even for the right password.
        with pytest.raises(TooManyRequests):
            account_service.sign_in(engine, settings, passwords, "victim", "a-long-secret-1")
    finally:
        engine.dispose()


def test_one_address_guessing_many_usernames_is_throttled(world: World, app: Any) -> None:
    settings = app.state.settings.model_copy(update={"max_failed_sign_ins_per_address": 4})
    engine, passwords = app.state.engine, app.state.passwords
    answers = []
    for i in range(6):
        try:
            answers.append(
                account_service.sign_in(engine, settings, passwords, f"user{i}", "x", "10.0.0.9")
            )
        except TooManyRequests as exc:
            answers.append(exc.code)
    assert answers == [None, None, None, None, "SIGN_IN_THROTTLED", "SIGN_IN_THROTTLED"]
    # Another address is not held back, and a username with a space cannot reach the
    # address's count.
    assert account_service.sign_in(
        engine, settings, passwords, "a-admin", "a-admin-pass", "10.0.0.8"
    )
    assert (
        account_service.sign_in(engine, settings, passwords, "address 10.0.0.7", "x", "10.0.0.6")
        is None
    )


def test_the_api_throttles_by_address_too(world: World, app: Any) -> None:
    app.state.settings.max_failed_sign_ins_per_address = 3
    codes = [
        world.client.post(
            "/api/v1/auth/token", data={"username": f"nobody{i}", "password": "x"}
        ).status_code
        for i in range(4)
    ]
    assert codes == [401, 401, 401, 429]


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short", "PASSWORD_TOO_SHORT"),
        ("password", "PASSWORD_COMMON"),
        ("Woaini1314", "PASSWORD_COMMON"),
        ("QWERTYUIOP", "PASSWORD_COMMON"),
        ("zhangsan123", "PASSWORD_FROM_USERNAME"),
        ("Zhangsan!!", "PASSWORD_FROM_USERNAME"),
        ("nasgnahz2026", "PASSWORD_FROM_USERNAME"),
    ],
)
def test_weak_passwords_are_refused_naming_the_field(
    world: World, password: str, code: str
) -> None:
    r = world.client.post(
        "/api/v1/accounts",
        json={
            "username": "zhangsan",
            "password": password,
            "role": "bureau_reviewer",
            "jurisdiction": "530102",
        },
        headers=world.h("op"),
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"].endswith("password")
    if len(password) >= 8:
        assert r.json()["error"]["code"] == code


def test_the_common_password_list_is_data_with_its_source() -> None:
    text = (ROOT / "sync_server" / "services" / "common_passwords.txt").read_text("utf-8")
    assert "SecLists" in text.splitlines()[1]
    assert {"password", "12345678", "woaini1314", "1qaz2wsx"} <= common_passwords()
    assert all(len(p) >= 8 for p in common_passwords())
    check("bureau-demo", "bureau")  # a demo password: a word beside the name is fine


def _admin_b2(app: Any) -> str:
    with app.state.engine.begin() as conn:
        return account_service.create_account(
            conn,
            app.state.passwords,
            username="b-admin-2",
            password="otter-lantern-41",
            role=Role.ENTERPRISE_ADMIN,
            enterprise_id="ent-b",
        )


def test_disabling_ends_the_accounts_tokens_and_sessions_at_once(world: World, app: Any) -> None:
    from tests.sync_server.conftest import sign_in

    c = world.client
    account_id = _admin_b2(app)
    token = sign_in(c, "b-admin-2", "otter-lantern-41")
    cookie = {"Cookie": f"cspermit_session={token}"}
    assert c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert c.get("/web/hazards", headers=cookie).status_code == 200
    # Another enterprise's admin cannot see it; its own enterprise's admin can.
    assert (
        c.post(f"/api/v1/accounts/{account_id}/disable", headers=world.h("a-admin")).status_code
        == 404
    )
    r = c.post(f"/api/v1/accounts/{account_id}/disable", headers=world.h("b-admin"))
    assert r.status_code == 200 and r.json()["disabled"] is True
    r = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    page = c.get("/web/hazards", headers=cookie)
    assert page.status_code == 303 and "/web/sign-in" in page.headers["location"]
    r = c.post("/api/v1/auth/token", data={"username": "b-admin-2", "password": "otter-lantern-41"})
    assert r.status_code == 401
    # Enabled again: a new sign-in works, the old token stays dead.
    assert c.post(f"/api/v1/accounts/{account_id}/enable", headers=world.h("op")).status_code == 200
    assert sign_in(c, "b-admin-2", "otter-lantern-41")
    r = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    # Nobody disables themselves, and a reviewer disables no one.
    me = c.get("/api/v1/auth/me", headers=world.h("op")).json()["subject_id"]
    r = c.post(f"/api/v1/accounts/{me}/disable", headers=world.h("op"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "ACCOUNT_SELF"
    assert (
        c.post(f"/api/v1/accounts/{account_id}/disable", headers=world.h("bureau")).status_code
        == 403
    )
    actions = [e["action"] for e in c.get("/api/v1/audit", headers=world.h("op")).json()["items"]]
    assert "account.disable" in actions and "account.enable" in actions


def test_a_password_reset_ends_sessions_and_lifts_the_lock(world: World, app: Any) -> None:
    from tests.sync_server.conftest import sign_in

    c = world.client
    account_id = _admin_b2(app)
    token = sign_in(c, "b-admin-2", "otter-lantern-41")
    for _ in range(5):
        c.post("/api/v1/auth/token", data={"username": "b-admin-2", "password": "nope"})
    r = c.post("/api/v1/auth/token", data={"username": "b-admin-2", "password": "otter-lantern-41"})
    assert r.status_code == 429
    url = f"/api/v1/accounts/{account_id}/password"
    r = c.post(url, json={"password": "b-admin-2-2026"}, headers=world.h("b-admin"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "PASSWORD_FROM_USERNAME"
    r = c.post(url, json={"password": "heron-quarry-77"}, headers=world.h("b-admin"))
    assert r.status_code == 204, r.text
    assert c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert sign_in(c, "b-admin-2", "heron-quarry-77")
    audit = c.get("/api/v1/audit", headers=world.h("op")).json()["items"]
    reset = next(e for e in audit if e["action"] == "account.reset_password")
    assert "heron" not in str(reset)


def test_the_cli_disables_and_resets_an_account(tmp_path: Path) -> None:
    from sync_server.app import create_app
    from tests.sync_server.conftest import ASGIClient, sign_in
    from tests.sync_server.test_cli_server import cli

    url = f"sqlite:///{tmp_path / 's.db'}"
    app = create_app(make_settings(url))
    with app.state.engine.begin() as conn:
        account_service.create_account(
            conn, app.state.passwords, username="rev", password="rev-kestrel-8", role=Role.OPERATOR
        )
    client = ASGIClient(app)
    try:
        token = sign_in(client, "rev", "rev-kestrel-8")
        r = cli("disable-account", "--db", url, "--username", "rev")
        assert r.returncode == 0, r.stderr
        me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401
        assert cli("enable-account", "--db", url, "--username", "rev").returncode == 0
        r = cli("reset-password", "--db", url, "--username", "rev", "--password", "iloveyou")
        assert r.returncode == 2 and "PASSWORD_COMMON" in r.stderr
        r = cli(
            "reset-password", "--db", url, "--username", "rev", "--password", "magpie-orchard-3"
        )
        assert r.returncode == 0, r.stderr
        assert sign_in(client, "rev", "magpie-orchard-3")
        r = cli("disable-account", "--db", url, "--username", "ghost")
        assert r.returncode == 2 and "username" in r.stderr
    finally:
        client.close()
        app.state.engine.dispose()

"""One demo server for every web test: seeded once through the real ``seed-demo`` path
(the tablet's sync client pushing signed chains), served by a real uvicorn process on a
free port, driven by Debian's headless Chromium through Playwright (no downloaded
browser build)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.support.server_process import cli_server

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
PUBLIC_BASE_URL = "https://codes.example.cn"


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cspermit.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=ROOT,
    )


@dataclass
class DemoServer:
    url: str
    db_path: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)


@contextmanager
def serve(url: str, workdir: Path) -> Iterator[str]:
    """``cspermit server run`` on ``url`` until the block ends; yields the base URL.
    Phones reach it at ``PUBLIC_BASE_URL``: what the warning cards' QR codes print."""
    with cli_server(url, workdir, env={"CSPERMIT_PUBLIC_BASE_URL": PUBLIC_BASE_URL}) as (
        base,
        _proc,
    ):
        yield base


def seed_demo(url: str) -> None:
    seeded = _cli("server", "seed-demo", "--db", url, env={**os.environ, "CSPERMIT_LANG": "zh_CN"})
    assert seeded.returncode == 0, seeded.stderr


@contextmanager
def fresh_demo_server(prefix: str) -> Iterator[DemoServer]:
    """A server on a demo database of its own, seeded anew, removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    db = tmp / "demo.db"
    url = f"sqlite:///{db}"
    try:
        seed_demo(url)
        with serve(url, tmp) as base:
            yield DemoServer(base, db)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    with fresh_demo_server("cspermit-web-") as server:
        yield server


def sign_in(client: httpx.Client, username: str, password: str) -> str:
    """Sign in through the form like a browser; return the CSRF token of the session."""
    form = client.get("/web/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text
    r = client.post(
        "/web/sign-in",
        data={"username": username, "password": password, "csrf": token.group(1), "next": "/web/"},
    )
    assert r.status_code == 303, r.text
    page = client.get("/web/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    return csrf.group(1)


def browser_sign_in(
    page: Any,
    base: str,
    username: str = "a-admin",
    password: str = "a-admin-demo",
    *,
    start: str = "/web/sign-in",
) -> None:
    """Sign in through the form in the browser, by the labels a person reads, ending on
    the overview. ``start``: the page opened first, which without a session asks to sign
    in."""
    page.goto(base + start)
    assert "/web/sign-in" in page.url  # no session: the page asks to sign in first
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base + "/web/")


# Module scope: Playwright's sync API keeps an event loop running in this thread while
# the browser is open; it is closed before any later module runs its own loop.
@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh (Debian package chromium)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="cspermit-chromium-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox"],
            accept_downloads=True,
            # A 10-inch tablet in landscape.
            viewport={"width": 1280, "height": 800},
            locale="zh-CN",
        )
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser_context: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    page = browser_context.new_page()
    errors: list[str] = []
    # A module may expect some console errors (Chromium logs a refused form's 422).
    expected = getattr(request.module, "EXPECTED_CONSOLE_ERRORS", ())
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not any(e in msg.text for e in expected)
            else None
        ),
    )
    try:
        yield page
        assert not errors, f"browser errors: {errors}"
    finally:
        page.close()
        browser_context.clear_cookies()

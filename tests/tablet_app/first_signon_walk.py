"""The real first sign-on screen, headless, against the real server app in this process:
``python -m tests.tablet_app.first_signon_walk OUT`` (Kivy keeps one window per
process, so tests/tablet_app/test_first_signon_screen.py runs this in a subprocess).

Two tablets enrol with the server; the admin issues 李强 a sign-on code; on the first
tablet's sign-in screen he picks his name, opens "first sign-on", types a wrong code
(refused), then the slip's code and his PIN twice, and signs in with it; the second
tablet, after its sync, accepts the same PIN. One PNG per step, the visible texts in
``texts.json``, one JSON line on stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

PERSON, NAME, PIN = "a-p-li", "李强 (entrant)", "739251"
EXPECTED = {
    "wrong_code": "refused",
    "first_signon": "pin set",
    "sign_in_here": "signed in",
    "sign_in_on_second_tablet": "signed in",
}


def run(out: Path) -> dict[str, Any]:
    from tablet_app.env import prepare_environment

    prepare_environment(headless=True, kivy_home=tempfile.mkdtemp(prefix="cspermit-kivy-"))
    out.mkdir(parents=True, exist_ok=True)
    return asyncio.run(walk(out, Path(tempfile.mkdtemp(prefix="cspermit-signon-"))))


async def walk(out: Path, work: Path) -> dict[str, Any]:
    import httpx
    from kivy.clock import Clock

    from cspermit.demo.drive import run_scripted
    from cspermit.demo.walkthrough import _qr_texture, _visible_texts
    from tablet_app.context import AppContext
    from tablet_app.desk import PermitDesk
    from tablet_app.presenters.settings import SettingsPresenter
    from tablet_app.presenters.signin import SignInPresenter
    from tablet_app.store import Store
    from tests.tablet_app.server_rig import demo_app, enrol_and_sync, issue_signon_code

    server = demo_app(work)
    transport = httpx.ASGITransport(app=server)
    stores = [Store(work / "one.db"), Store(work / "two.db")]
    contexts = [AppContext(store=s, server_url="http://localhost") for s in stores]
    desks = [PermitDesk(c) for c in contexts]  # the device keys
    settings = [SettingsPresenter(c, transport=transport) for c in contexts]
    outcomes: dict[str, str] = {}
    notes: dict[str, Any] = {}
    shots: list[str] = []
    texts: dict[str, list[dict[str, str]]] = {}

    await enrol_and_sync(settings[0], transport, label="1号糖罐入口平板")
    await enrol_and_sync(settings[1], transport, label="2号平板")
    code = await issue_signon_code(transport, PERSON)
    contexts[0].device_id = str(stores[0].get_setting("device_id"))

    async def script(app: Any) -> None:
        async def frames(n: int = 4) -> None:
            start = Clock.frames_displayed
            for _ in range(3000):
                if Clock.frames_displayed >= start + n:
                    return
                await asyncio.sleep(0.01)

        async def shot(name: str) -> None:
            await frames()
            shown = app.root.current_screen
            png = out / f"{len(shots) + 1:02d}-{name}.png"
            shown.export_to_png(str(png))
            texts[png.name] = _visible_texts(shown)
            shots.append(str(png))

        def keypad(screen: Any, digits: str) -> None:
            for d in digits:
                screen.key(d)

        try:
            signin = app.go("signin")
            signin.select(PERSON)
            await shot("signin")
            signin.first_signon()  # the sign-in screen's "first sign-on" button
            first = app.screens["first_signon"]
            first.presenter.transport = transport  # the server in this process
            notes["screen_after_button"] = app.root.current
            first.ids.code.text = "ABCDE-FGHJK"
            keypad(first, PIN)
            first.key("→")
            keypad(first, PIN)
            await shot("first-signon-filled")
            ok = await first.submit()
            outcomes["wrong_code"] = "pin set" if ok else "refused"
            notes["wrong_code_error"] = first.ids.error.text
            await shot("first-signon-wrong-code")
            # the slip's QR, as a camera frame, through the screen's scan path
            notes["slip_scanned"] = first.scan_frame(_qr_texture(code))
            notes["code_field_after_scan"] = first.ids.code.text
            keypad(first, PIN)
            first.key("→")
            keypad(first, PIN)
            ok = await first.submit()
            outcomes["first_signon"] = "pin set" if ok else "refused"
            notes["first_signon_error"] = first.presenter.error
            notes["screen_after_pin_set"] = app.root.current
            notes["selected_after_pin_set"] = signin.presenter.selected
            await shot("signin-after-first-signon")
            keypad(signin, PIN)
            signin.key("✓")
            outcomes["sign_in_here"] = "signed in" if contexts[0].user == PERSON else "refused"
            notes["screen_after_sign_in"] = app.root.current
        except Exception as exc:  # the JSON line says which step, exit 1
            notes["error"] = f"{type(exc).__name__}: {exc}"

    await run_scripted(contexts[0], script)
    # the second tablet, after its sync, accepts the PIN chosen on the first
    await settings[1].sync_now()
    second = SignInPresenter(contexts[1], desks[1])
    second.select(PERSON)
    for d in PIN:
        second.press(d)
    outcomes["sign_in_on_second_tablet"] = "signed in" if second.submit() else second.error
    for s in stores:
        s.close()
    server.state.engine.dispose()
    (out / "texts.json").write_text(json.dumps(texts, ensure_ascii=False, indent=1), "utf-8")
    ok = outcomes == EXPECTED and "error" not in notes
    return dict(ok=ok, outcomes=outcomes, expected=EXPECTED, notes=notes, screenshots=shots)


if __name__ == "__main__":
    report = run(Path(sys.argv[1]))
    print(json.dumps(report, ensure_ascii=False))
    sys.exit(0 if report["ok"] else 1)

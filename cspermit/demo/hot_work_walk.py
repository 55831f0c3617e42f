"""The real hot-work screens driven through a permit, headless (issue 19):
``python -m cspermit.demo.hot_work_walk OUT``.

A refused draft (an operator without the welding and hot-cutting certificate), the
draft and its approval by the level's approver, the gas analysis from the detector
feed, the fire start signed by the fire watcher, a flammable release at the fire
point that suspends the job at once, resumption after a new analysis, work done, the
fire watch whose "no residual fire" is refused before its 30 min, and the close.
One PNG per step, the visible texts in ``texts.json``, one JSON line on stdout.
Kivy is imported inside :func:`walk`: the environment is prepared first.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cspermit.demo import molasses_tank as demo
from cspermit.demo.tablet import DEMO_PINS, seed_demo

EXPECTED = {
    "draft_without_certificate": "refused",
    "draft": "drafted",
    "approval": "approved",
    "analysis": "passed",
    "fire": "burning",
    "flammable_release": "suspended",
    "resume_after_analysis": "burning",
    "watch_before_30_min": "refused",
    "watch_after_30_min": "no residual fire",
    "close": "closed",
}


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def run(out: Path) -> dict[str, Any]:
    from tablet_app.env import prepare_environment

    prepare_environment(headless=True, kivy_home=tempfile.mkdtemp(prefix="cspermit-kivy-"))
    out.mkdir(parents=True, exist_ok=True)
    return asyncio.run(walk(out, Path(tempfile.mkdtemp(prefix="cspermit-hw-")) / "tablet.db"))


async def walk(out: Path, db_path: Path) -> dict[str, Any]:
    from kivy.clock import Clock

    from cspermit.demo.drive import run_scripted
    from cspermit.demo.walkthrough import _visible_texts
    from permits.hot_work.state import HotWorkStatus
    from permits.readings import Channel, Reading, Unit
    from tablet_app.context import AppContext
    from tablet_app.store import Store

    store = Store(db_path)
    seed_demo(store)
    clock = _Clock(demo.START + timedelta(hours=1))
    context = AppContext(store=store, device_id=demo.DEVICE_ID, clock=clock, user=demo.LEADER)
    outcomes: dict[str, str] = {}
    notes: dict[str, Any] = {}
    shots: list[str] = []
    texts: dict[str, list[dict[str, str]]] = {}

    async def script(app: Any) -> None:
        app.judging = False

        async def frames(n: int = 2) -> None:
            start = Clock.frames_displayed
            for _ in range(3000):
                if Clock.frames_displayed >= start + n:
                    return
                await asyncio.sleep(0.01)

        async def shot(name: str, screen: str) -> Any:
            shown = app.go(screen)
            await frames(4)  # labels size their texture, then the columns their height
            png = out / f"{len(shots) + 1:02d}-{name}.png"
            shown.export_to_png(str(png))
            texts[png.name] = _visible_texts(shown)
            shots.append(str(png))
            return shown

        def air(lel: float, seconds: int = 3) -> None:
            for _ in range(seconds):
                clock.now += timedelta(seconds=1)
                for channel, value, unit, gas in (
                    (Channel.LEL, lel, Unit.LEL, "CH4"),
                    (Channel.O2, 20.9, Unit.VOL, None),
                ):
                    app.feed.add(
                        Reading(
                            device_serial=demo.DETECTOR.serial,
                            channel=channel,
                            value=value,
                            unit=unit,
                            received_at=clock.now,
                            gas=gas,
                        )
                    )

        def verdict(ok: bool, yes: str, no: str = "refused") -> str:
            return yes if ok else no

        try:
            home = await shot("home", "home")
            home.hot_work()
            draft = app.screens["hot_work_draft"]
            dp = draft.presenter
            ids = draft.ids
            ids.location.text, ids.x.text, ids.y.text, ids.z.text = "罐顶人孔", "10", "5", "3"
            draft.add_point()
            draft.toggle(demo.ELECTRICIAN)  # 孙涛: no welding and hot-cutting certificate
            draft.watcher(demo.GUARDIAN)
            draft.draft()
            outcomes["draft_without_certificate"] = verdict(dp.last.ok, "drafted")
            await shot("hot-work-draft-refused", "hot_work_draft")
            draft.toggle(demo.ELECTRICIAN)
            draft.toggle(demo.ENTRANT_A)
            draft.draft()
            outcomes["draft"] = verdict(dp.last.ok, "drafted")
            context.user = demo.PRINCIPAL
            draft.approve()
            outcomes["approval"] = verdict(dp.last.ok, "approved")
            await shot("hot-work-draft-approved", "hot_work_draft")
            draft.to_work()
            work = app.screens["hot_work"]
            wp = work.presenter
            context.user = demo.LEADER
            air(0.0)
            work.act("analyse", "FP1")
            outcomes["analysis"] = verdict(wp.last.ok, "passed")
            work.ids.pin.text = DEMO_PINS[demo.GUARDIAN]
            work.act("start_fire")
            outcomes["fire"] = verdict(wp.state().status is HotWorkStatus.ACTIVE, "burning")
            await shot("hot-work-burning", "hot_work")
            home = await shot("home-hot-work-open", "home")  # the open hot work is listed
            home.open_hot_work(wp.permit_id)
            clock.now += timedelta(minutes=10)
            air(25.0, seconds=1)  # a flammable release at the fire point
            app.judge_now()
            suspended = wp.state().status is HotWorkStatus.SUSPENDED
            outcomes["flammable_release"] = verdict(suspended, "suspended", "not suspended")
            notes["screen_after_release"] = app.root.current
            await shot("hot-work-suspended", "hot_work")
            air(0.0)
            app.judge_now()  # the alarm clears when the gas is gone
            # the new analysis typed in from a second detector, countersigned by the watcher
            work.ids.typed_lel.text, work.ids.pin.text = "0", DEMO_PINS[demo.GUARDIAN]
            work.typed()
            notes["typed_analysis"] = bool(wp.last and wp.last.ok)
            work.act("resume")  # the suspension ends on the new analysis
            work.ids.pin.text = DEMO_PINS[demo.GUARDIAN]
            work.act("resume")  # the fire restarts, the watcher signs
            burning = wp.state().status is HotWorkStatus.ACTIVE
            outcomes["resume_after_analysis"] = verdict(burning, "burning")
            if not burning:
                notes["resume_refusal"] = wp.last.lines(wp.wording) if wp.last else []
            clock.now += timedelta(minutes=20)
            work.act("done")
            work.ids.pin.text = DEMO_PINS[demo.GUARDIAN]
            work.act("start_watch")
            clock.now += timedelta(minutes=10)
            work.ids.pin.text = DEMO_PINS[demo.GUARDIAN]
            work.act("confirm_presence")
            clock.now += timedelta(minutes=5)
            work.ids.pin.text = DEMO_PINS[demo.GUARDIAN]
            work.act("end_watch")
            outcomes["watch_before_30_min"] = verdict(wp.last.ok, "no residual fire")
            notes["watch_refusal_codes"] = [str(c) for c in wp.last.codes]
            await shot("hot-work-fire-watch-refused", "hot_work")
            clock.now += timedelta(minutes=15)
            work.ids.pin.text = DEMO_PINS[demo.GUARDIAN]
            work.act("end_watch")
            outcomes["watch_after_30_min"] = verdict(wp.last.ok, "no residual fire")
            work.act("close")
            closed = wp.state().status is HotWorkStatus.CLOSED
            outcomes["close"] = verdict(closed, "closed", "open")
            await shot("hot-work-closed", "hot_work")
        except Exception as exc:  # the JSON line says which step, exit 1
            notes["error"] = f"{type(exc).__name__}: {exc}"

    await run_scripted(context, script)
    store.close()
    (out / "texts.json").write_text(json.dumps(texts, ensure_ascii=False, indent=1), "utf-8")
    ok = outcomes == EXPECTED and "error" not in notes
    return dict(ok=ok, outcomes=outcomes, expected=EXPECTED, notes=notes, screenshots=shots)


if __name__ == "__main__":
    report = run(Path(sys.argv[1]))
    print(json.dumps(report, ensure_ascii=False))
    sys.exit(0 if report["ok"] else 1)

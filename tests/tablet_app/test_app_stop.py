"""The app's background sync loop stops when the app stops, even when the stop lands in
the same loop turn as an alarm waking the loop (3.11's ``asyncio.wait_for`` dropped that
cancel; the loop then outlived the app and ``asyncio.run`` never returned).

The real app runs headless in a subprocess: Kivy keeps one window per process."""

from __future__ import annotations

from pathlib import Path

from tests.tablet_app.world import run_app_process

SCRIPT = r"""
import asyncio, json, sys, tempfile
from pathlib import Path
from tablet_app.env import prepare_environment

prepare_environment(headless=True, kivy_home=tempfile.mkdtemp(prefix="cspermit-kivy-"))
from cspermit.demo.drive import run_scripted
from tablet_app.context import AppContext
from tablet_app.store import Store

store = Store(Path(tempfile.mkdtemp(prefix="cspermit-stop-")) / "tablet.db")
stopped = []

async def script(app):
    for _ in range(20):
        loop_task = asyncio.ensure_future(app.sync_forever(every_s=30))
        while app._sync_now is None or app._sync_now.is_set():
            await asyncio.sleep(0.01)  # the loop now sleeps until the period or an alarm
        await asyncio.sleep(0.01)
        app._sync_now.set()  # an alarm wakes it (what record_alarm does) ...
        loop_task.cancel()  # ... and the app stops in the same turn
        done, _ = await asyncio.wait({loop_task}, timeout=5)
        stopped.append(bool(done) and loop_task.cancelled())
        if not done:
            break
        app._sync_now = None

asyncio.run(run_scripted(AppContext(store=store), script))
store.close()
print(json.dumps({"stopped": stopped}))
"""


def test_the_sync_loop_stops_when_an_alarm_and_the_stop_come_together(tmp_path: Path) -> None:
    report, _ = run_app_process(["-c", SCRIPT], tmp_path, 180)
    assert report["stopped"] == [True] * 20

"""Tablet figures: cold start to first frame, resident memory, frame time while four
detectors stream at 1 Hz, and memory growth over a 12-hour shift on an accelerated clock.

Kivy keeps one window per process and a cold start must be cold, so the window figures
run in a fresh ``python`` each (SDL offscreen). Targets come from issue 5 and its
follow-up: first frame < 3 s, memory growth over a 12-h shift < 20 MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from bench import Figure

ROOT = Path(__file__).resolve().parents[1]
# the demo's detector (the permit's monitoring detector) and three more portables
DETECTORS = ("GT4-0001", "GASL-BENCH-2", "GASL-BENCH-3", "GASL-BENCH-4")


# ------------------------------------------------------------ shared (Kivy-free)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def active_permit(db: Path, clock: Any) -> Any:
    """A tablet with the demo ledger and the molasses permit monitoring and one entrant
    inside, driven through the real presenters. Returns (context, desk, feed, board)."""
    from cspermit.demo import molasses_tank as demo
    from cspermit.demo.tablet import DEMO_PINS, demo_signature, seed_demo
    from permits.events import IsolationMethod, Role
    from tablet_app.context import AppContext
    from tablet_app.desk import PermitDesk
    from tablet_app.live import LiveFeed
    from tablet_app.presenters.atmosphere import AtmospherePresenter
    from tablet_app.presenters.board import BoardPresenter
    from tablet_app.presenters.home import HomePresenter
    from tablet_app.presenters.setup import SetupPresenter
    from tablet_app.store import Store

    store = Store(db)
    detectors = [
        {
            "id": serial,
            **demo.DETECTOR.model_dump(mode="json"),
            "serial": serial,
        }
        for serial in dict.fromkeys((demo.DETECTOR.serial, *DETECTORS))
    ]
    seed_demo(store, detectors=detectors)
    context = AppContext(store=store, device_id="TAB-BENCH", clock=clock)
    desk = PermitDesk(context)
    feed = LiveFeed(clock)

    def ok(outcome: Any, what: str) -> None:
        if not outcome.ok:
            raise RuntimeError(f"bench set-up {what}: {outcome.lines()}")

    context.user = demo.LEADER
    space = store.references("spaces")[0]["id"]
    ok(HomePresenter(context, desk).new_permit(space, "清理糖蜜储罐底部结垢"), "draft")
    setup = SetupPresenter(context, desk)
    for pid, role in (
        (demo.PRINCIPAL, Role.APPROVER),
        (demo.GUARDIAN, Role.GUARDIAN),
        (demo.ENTRANT_A, Role.ENTRANT),
    ):
        ok(setup.assign(pid, role), f"assign {pid}")
    ok(setup.identify_hazard("硫化氢 H2S from molasses residue", ("blind the inlet",)), "hazard")
    context.user = demo.ELECTRICIAN
    ok(
        setup.apply_isolation("IP-AGITATOR", IsolationMethod.ELECTRICAL_LOCKOUT, "L-1", "T-1"),
        "lock 1",
    )
    ok(setup.apply_isolation("IP-INLET", IsolationMethod.BLIND_FLANGE, "L-2", "T-2"), "lock 2")
    context.user = demo.LEADER
    ok(setup.verify_isolation("IP-AGITATOR", "L-1"), "verify 1")
    ok(setup.verify_isolation("IP-INLET", "L-2"), "verify 2")
    context.user = demo.GUARDIAN
    ok(setup.start_ventilation(equipment="fan"), "ventilation")
    ok(setup.guardian_on_duty(), "guardian")
    ok(setup.confirm_equipment(("SCBA", "harness", "tripod_winch")), "equipment")
    atmo = AtmospherePresenter(context, desk, feed)
    board = BoardPresenter(context, desk, feed)
    stream = Stream(feed, clock)
    stream.seconds(25, serials=(demo.DETECTOR.serial,))
    for point in ("top", "middle", "bottom"):
        ok(atmo.take_sample(point), f"sample {point}")
    ok(atmo.record(), "test")
    context.user = demo.LEADER
    ok(
        setup.sign_briefing(demo.ENTRANT_A, DEMO_PINS[demo.ENTRANT_A], demo_signature()),
        "briefing",
    )
    ok(atmo.confirm_readings(demo.ENTRANT_A, DEMO_PINS[demo.ENTRANT_A]), "confirm")
    context.user = demo.PRINCIPAL
    ok(setup.approve(), "approve")
    context.user = demo.GUARDIAN
    stream.seconds(2, serials=(demo.DETECTOR.serial,))
    ok(board.start_monitoring("bottom"), "monitoring")
    ok(board.enter(demo.ENTRANT_A), "entry")
    return context, desk, feed, board


class Stream:
    """Four-channel clean air from each detector, one reading per channel per second."""

    def __init__(self, feed: Any, clock: Any) -> None:
        from permits.readings import Channel, Reading, Unit

        self.feed, self.clock, self.Reading = feed, clock, Reading
        self.channels = (
            (Channel.O2, 20.9, Unit.VOL, None),
            (Channel.LEL, 0.0, Unit.LEL, "CH4"),
            (Channel.H2S, 0.0, Unit.PPM, None),
            (Channel.CO, 0.0, Unit.PPM, None),
        )

    def once(self, serials: tuple[str, ...] = DETECTORS) -> None:
        at = self.clock()
        for serial in serials:
            for channel, value, unit, gas in self.channels:
                self.feed.add(
                    self.Reading(
                        device_serial=serial,
                        channel=channel,
                        value=value,
                        unit=unit,
                        received_at=at,
                        gas=gas,
                    )
                )

    def seconds(self, n: int, serials: tuple[str, ...] = DETECTORS) -> None:
        for _ in range(n):
            self.clock.advance(1.0)
            self.once(serials)


class SimClock:
    """Scenario time from the demo's start, moved by hand (the accelerated shift)."""

    def __init__(self) -> None:
        from datetime import timedelta

        from cspermit.demo import molasses_tank as demo

        self.now, self._td = demo.START, timedelta

    def __call__(self) -> Any:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += self._td(seconds=seconds)


class WallClock:
    """Real time, started at the demo's start (the demo ledger's dates stay valid)."""

    def __init__(self) -> None:
        from datetime import timedelta

        from cspermit.demo import molasses_tank as demo

        self.start, self.t0, self._td = demo.START, time.monotonic(), timedelta

    def __call__(self) -> Any:
        return self.start + self._td(seconds=time.monotonic() - self.t0)

    def advance(self, seconds: float) -> None:
        self.start += self._td(seconds=seconds)


# ------------------------------------------------------------ in the child process


def shift(hours: float, tick_every_s: int) -> dict[str, Any]:
    """A shift on an accelerated clock: 4 detectors × 4 channels at 1 Hz into the feed,
    the board's tick (alarm judging, chunks sealed into the store and the chain)."""
    import gc

    work = Path(tempfile.mkdtemp(prefix="cspermit-bench-"))
    clock = SimClock()
    context, desk, feed, board = active_permit(work / "tablet.db", clock)
    stream = Stream(feed, clock)
    for _ in range(120):  # two minutes to warm up: caches, first chunks
        stream.seconds(1)
    board.tick()
    gc.collect()
    start_rss = _rss_mb()
    total = int(hours * 3600)
    tick_cost: list[float] = []
    for second in range(total):
        stream.seconds(1)
        if second % tick_every_s == 0:
            t = time.perf_counter()
            board.tick()
            tick_cost.append(time.perf_counter() - t)
    gc.collect()
    end_rss = _rss_mb()
    chunks = context.store.db.execute("SELECT COUNT(*) FROM readings_chunks").fetchone()[0]
    tick_cost.sort()
    out = {
        "growth_mb": end_rss - start_rss,
        "end_rss_mb": end_rss,
        "chunks": chunks,
        "readings": total * 16,
        "tick_p50_ms": 1000 * tick_cost[len(tick_cost) // 2],
        "tick_p95_ms": 1000 * tick_cost[int(len(tick_cost) * 0.95)],
        "status": desk.state(context.permit_id).status.value,
    }
    context.store.close()
    return out


def first_frame(t0: float) -> dict[str, Any]:
    """Open the app on a seeded store; report when its first frame is drawn."""
    import asyncio

    from tablet_app.env import prepare_environment

    prepare_environment(headless=True, kivy_home=tempfile.mkdtemp(prefix="cspermit-kivy-"))
    from cspermit.demo.drive import run_scripted
    from cspermit.demo.tablet import seed_demo
    from tablet_app.context import AppContext
    from tablet_app.store import Store

    store = Store(Path(tempfile.mkdtemp(prefix="cspermit-bench-")) / "tablet.db")
    seed_demo(store)
    result: dict[str, Any] = {}

    async def script(app: Any) -> None:  # called once the first frame is on screen
        result["first_frame_s"] = time.time() - t0
        result["rss_mb"] = _rss_mb()

    asyncio.run(run_scripted(AppContext(store=store), script))
    store.close()
    return result


def empty_window(settle_frames: int = 30) -> dict[str, Any]:
    """A Kivy window with nothing in it (SDL offscreen, Mesa's GL): the resident memory
    every Kivy app pays here before any of its own, the baseline of
    ``tablet.app_rss_over_empty_window``."""
    import asyncio

    from tablet_app.env import prepare_environment

    prepare_environment(headless=True, kivy_home=tempfile.mkdtemp(prefix="cspermit-kivy-"))
    from kivy.config import Config

    # the app's window size (tablet_app/app.py), so the GL buffers are the same
    Config.set("graphics", "width", "1280")
    Config.set("graphics", "height", "800")
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.uix.widget import Widget

    class Empty(App):  # type: ignore[misc]
        def build(self) -> Any:
            return Widget()

    app = Empty()
    result: dict[str, Any] = {}

    async def measure() -> None:
        while Clock.frames_displayed < settle_frames:
            await asyncio.sleep(0.02)
        result["rss_mb"] = _rss_mb()
        app.stop()

    async def main() -> None:
        await asyncio.gather(app.async_run(async_lib="asyncio"), measure())

    asyncio.run(main())
    return result


def frames(seconds: float) -> dict[str, Any]:
    """The active board on screen, 4 detectors streaming at 1 Hz in real time: how long
    each frame takes (interval between frames, capped by Kivy at 60 fps)."""
    import asyncio

    from tablet_app.env import prepare_environment

    prepare_environment(headless=True, kivy_home=tempfile.mkdtemp(prefix="cspermit-kivy-"))
    from kivy.clock import Clock

    from cspermit.demo.drive import ScriptedApp, run_scripted

    work = Path(tempfile.mkdtemp(prefix="cspermit-bench-"))
    clock = WallClock()
    context, _desk, _feed, _board = active_permit(work / "tablet.db", clock)
    intervals: list[float] = []
    result: dict[str, Any] = {}

    async def script(app: Any) -> None:
        stream = Stream(app.feed, clock)
        stream.once()
        app.judging = True  # with data in the app's feed: no false "stale stream" alarm
        app.go("board")
        last = [time.perf_counter()]

        def frame(_dt: float) -> None:
            now = time.perf_counter()
            intervals.append(now - last[0])
            last[0] = now

        await asyncio.sleep(1.0)
        last[0] = time.perf_counter()
        event = Clock.schedule_interval(frame, 0)
        end = time.monotonic() + seconds
        settled: float | None = None
        while time.monotonic() < end:
            stream.once()
            await asyncio.sleep(1.0)
            if settled is None and time.monotonic() > end - seconds + 2:
                settled = _rss_mb()  # after the first redraws have made their textures
        event.cancel()
        result["rss_mb"] = _rss_mb()
        # the board redraws every second: that must not grow memory
        result["rss_growth_mb"] = result["rss_mb"] - (settled or result["rss_mb"])
        result["view_tiles"] = len(app.screens["board"].ids.tiles.children)
        # clean air: nothing may have sounded (else the figure is an alarm's)
        result["sounded"] = [p.value for p in app.alarm_player.played]

    # The app's feed is empty until the script streams into it: its judge waits for
    # that, or a judge on the first frame would rightly call the stream stale and
    # evacuate (and the figure would be an alarm's, siren included).
    ScriptedApp.judging = False
    asyncio.run(run_scripted(context, script))
    context.store.close()
    intervals.sort()
    result.update(
        frames=len(intervals),
        p50_ms=1000 * intervals[len(intervals) // 2],
        p95_ms=1000 * intervals[int(len(intervals) * 0.95)],
        max_ms=1000 * intervals[-1],
    )
    return result


# ------------------------------------------------------------ the parent


def _child(call: str, timeout_s: float) -> dict[str, Any]:
    code = textwrap.dedent(
        f"""
        import json, sys, time
        T0 = float(sys.argv[1])
        from bench import tablet
        print("BENCH " + json.dumps(tablet.{call}))
        """
    )
    env = {**os.environ, "KIVY_NO_ARGS": "1", "KIVY_LOG_MODE": "PYTHON", "PYTHONPATH": str(ROOT)}
    t0 = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", code, repr(t0)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout_s,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH "):
            return dict(json.loads(line[6:]))
    raise RuntimeError(f"bench child {call} failed: {proc.stdout[-1000:]}{proc.stderr[-3000:]}")


def run(quick: bool) -> list[Figure]:
    starts = [_child("first_frame(T0)", 120) for _ in range(1 if quick else 3)]
    best = min(s["first_frame_s"] for s in starts)
    frame_s = 6.0 if quick else 30.0
    frame = _child(f"frames({frame_s})", 180)
    empty = _child("empty_window()", 120)
    over_empty = round(frame["rss_mb"] - empty["rss_mb"], 1)
    # The 12-h shift is ~700 000 readings through the feed and the monitor: ~45 s here,
    # over the quick budget. Quick runs 4 h (named so, no target: the monitor's 8-h
    # history is still filling); the full run gives the 12-h figure against its target.
    hours = 4.0 if quick else 12.0
    day = _child(f"shift({hours}, {60 if quick else 1})", 1800)
    growth = round(day["growth_mb"], 1)
    shift_figure = (
        Figure("tablet.memory_growth_4h_4_detectors", growth, "MB")
        if quick
        else Figure("tablet.memory_growth_12h_4_detectors", growth, "MB", "< 20", growth < 20)
    )
    return [
        Figure("tablet.cold_start_first_frame", round(best, 2), "s", "< 3", best < 3),
        Figure("tablet.rss_after_first_frame", round(starts[0]["rss_mb"], 1), "MB"),
        Figure("tablet.frame_time_4_detectors_p50", round(frame["p50_ms"], 1), "ms"),
        Figure("tablet.frame_time_4_detectors_p95", round(frame["p95_ms"], 1), "ms"),
        Figure("tablet.frame_time_4_detectors_max", round(frame["max_ms"], 1), "ms"),
        Figure("tablet.rss_board_streaming", round(frame["rss_mb"], 1), "MB"),
        Figure("tablet.rss_empty_kivy_window", round(empty["rss_mb"], 1), "MB"),
        Figure(
            "tablet.app_rss_over_empty_window",
            over_empty,
            "MB",
            "<= 100",
            over_empty <= 100,
            baseline=round(empty["rss_mb"], 1),
            note="RSS with the board on screen and 4 detectors streaming at 1 Hz, minus "
            "an empty 1280x800 Kivy window's RSS in a fresh process of the same run "
            "(SDL offscreen, Mesa llvmpipe)",
        ),
        Figure(
            f"tablet.rss_growth_board_on_screen_{frame_s:g}s",
            round(frame["rss_growth_mb"], 1),
            "MB",
        ),
        Figure("tablet.board_tick_p50", round(day["tick_p50_ms"], 2), "ms"),
        Figure("tablet.board_tick_p95", round(day["tick_p95_ms"], 2), "ms"),
        shift_figure,
        Figure(f"tablet.readings_chunks_{hours:g}h", day["chunks"], "chunks"),
    ]


if __name__ == "__main__":  # pragma: no cover
    for fig in run(quick="--quick" in sys.argv):
        print(json.dumps(fig.as_dict(), ensure_ascii=False))

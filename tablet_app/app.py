"""The guardian's tablet app: one Kivy ``App``, one ``ScreenManager``, one asyncio loop.

Start it with :func:`run` (or ``cspermit tablet run``). Kivy runs on the asyncio
loop (``App.async_run("asyncio")``) so that the BLE driver (bleak) and the sync
client (httpx) share it with the UI; nothing blocks the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from kivy.config import Config

# A 10-inch landscape tablet; must be set before the window exists.
Config.set("graphics", "width", "1280")
Config.set("graphics", "height", "800")

from kivy.app import App  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.logger import Logger  # noqa: E402
from kivy.properties import StringProperty  # noqa: E402
from kivy.uix.screenmanager import NoTransition, ScreenManager  # noqa: E402

from tablet_app import theme  # noqa: E402
from tablet_app.context import AppContext  # noqa: E402
from tablet_app.desk import PermitDesk  # noqa: E402
from tablet_app.fonts import register_cjk_font  # noqa: E402
from tablet_app.i18n import get_language  # noqa: E402
from tablet_app.kv_i18n import tr  # noqa: E402
from tablet_app.live import LiveFeed  # noqa: E402
from tablet_app.memory import TRIM_EVERY_S, release_freed  # noqa: E402
from tablet_app.presenters.alarm import Pattern  # noqa: E402
from tablet_app.screens import registry  # noqa: E402
from tablet_app.screens.base import load_kv  # noqa: E402
from tablet_app.software_gl import finish_each_frame  # noqa: E402
from tablet_app.sound import AlarmPlayer, keep_screen_on  # noqa: E402
from tablet_app.store import Store  # noqa: E402


class Screens(dict[str, Any]):
    """The app's screens, each built the first time it is needed (shown, or its
    presenter asked for). Every Kivy label holds a texture in memory (llvmpipe keeps
    them in RAM): a screen never opened costs nothing (docs/tablet.md, Benchmarks)."""

    def __init__(self, app: PermitApp) -> None:
        super().__init__()
        self.app = app

    def __missing__(self, name: str) -> Any:
        factory = dict(registry.SCREENS)[name]
        app = self.app
        screen = factory(name=name, context=app.context, desk=app.desk, feed=app.feed)
        self[name] = screen
        if app.manager is not None:
            app.manager.add_widget(screen)
        return screen


class PermitApp(App):  # type: ignore[misc]
    title = "cspermit"
    language = StringProperty(get_language())

    def __init__(self, context: AppContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context = context
        self.font_path: Path | None = None
        self.finishes_frames = False
        self.manager: ScreenManager | None = None
        self.screens = Screens(self)
        self.desk = PermitDesk(context)
        self.feed = LiveFeed(context.clock)
        self._judge_pending = False
        self.alarm_player = AlarmPlayer()
        # Set when an alarm is recorded: the background sync pushes at once instead of
        # waiting out its period, so the bureau sees it within seconds.
        self._sync_now: asyncio.Event | None = None

    def build(self) -> ScreenManager:
        self.font_path = register_cjk_font()
        load_kv("theme")
        Window.clearcolor = theme.BACKGROUND
        # llvmpipe's queued frames held up to 120 MB (tablet_app/software_gl.py)
        self.finishes_frames = finish_each_frame(Window)
        manager = ScreenManager(transition=NoTransition())
        self.manager = manager
        self.screens[registry.FIRST_SCREEN]  # the others when first needed
        manager.current = registry.FIRST_SCREEN
        # The open permit is judged once a second whichever screen is showing: an alarm
        # must not wait for the guardian to come back to the board.
        Clock.schedule_interval(lambda _dt: self.judge(), 1.0)
        # what redraws and PIN checks freed goes back to the system (tablet_app/memory.py)
        Clock.schedule_interval(lambda _dt: release_freed(), TRIM_EVERY_S)
        # ... and as soon as a reading arrives: the once-a-second loop alone would add up
        # to a second between the gas reaching the sensor and the alarm (bench/alarm.py).
        self.feed.listen(self._reading_arrived)
        return manager

    def _reading_arrived(self, _reading: Any) -> None:
        # Coalesced: a frame brings several channels at once; judge once for all of them.
        if not self._judge_pending:
            self._judge_pending = True
            Clock.schedule_once(self._judge_after_reading, 0)

    def _judge_after_reading(self, _dt: float) -> None:
        self._judge_pending = False
        self.judge()

    def judge(self) -> list[str]:
        """Judge the open permit now; returns the alarms raised. The Clock calls it once
        a second, and each arriving reading on the next frame."""
        hot = self._judge_hot_work()
        if self.context.permit_id is None:
            return hot
        board = self.screens["board"]
        raised: list[str] = board.presenter.tick()
        self.play_alarm()
        if raised and self._sync_now is not None:
            self._sync_now.set()
        if self.root is not None and (raised or self.root.current == "board"):
            self.go("board")  # redraw; an alarm takes the guardian to the board
        return raised

    def _judge_hot_work(self) -> list[str]:
        """A flammable alarm near a fire point or in the linked space suspends the hot
        work at once (tablet_app/presenters/hot_work_alarm.py); the guardian sees it on
        the hot-work screen and on the linked board."""
        from tablet_app.hot_work_desk import HotWorkDesk
        from tablet_app.presenters.hot_work_alarm import HotWorkAlarmWatch

        hot = HotWorkDesk.of(self.desk)
        if not hot.permit_ids():
            return []
        suspended = HotWorkAlarmWatch.of(self.context, self.desk, self.feed, hot).tick()
        if suspended and self.root is not None:
            self.screens["hot_work"].presenter.open(suspended[0])
            if self.root.current != "board":
                self.go("hot_work")
        elif self.root is not None and self.root.current == "hot_work":
            self.current_screen.refresh()  # the fire-watch countdown
        return suspended

    def play_alarm(self) -> None:
        """Sound what the board's alarm bell says now (or stop), whichever screen shows;
        on Android keep the screen on while a permit is open."""
        presenter = self.screens["board"].presenter
        open_permit = self.context.permit_id is not None
        keep_screen_on(open_permit)
        self.alarm_player.play(
            presenter.bell.sounding(self.context.now()) if open_permit else Pattern.NONE
        )

    def on_pause(self) -> bool:
        # Android: going to the background must never silence an alarm. Returning True
        # keeps the app (and its audio and judge) alive instead of stopping it.
        return True

    def on_stop(self) -> None:
        self.alarm_player.stop()

    def go(self, name: str) -> Any:
        """Show a screen (refreshed from its presenter) and return it."""
        screen = self.screens[name]  # built now if it is the first time
        if self.root.current == name:
            screen.refresh()
        self.root.current = name
        return screen

    @property
    def current_screen(self) -> Any:
        return self.root.current_screen

    def connect_detector(self, spec: str, protocol: str = "gasl") -> None:
        """Open a detector session and feed the live window from it on this loop."""
        from tablet_app.detector_link import open_session

        session = open_session(spec, protocol)
        self.disconnect_detector()
        self._detector = (session, asyncio.ensure_future(self.feed.consume(session)))
        self.context.store.set_setting("detector", {"spec": spec, "protocol": protocol})
        Logger.info("cspermit: detector %s (%s) opened", spec, protocol)

        def report(_dt: float) -> None:  # in the log, for a headless run
            if self.feed.error:
                Logger.error("cspermit: detector %s: %s", spec, self.feed.error)
            else:
                Logger.info(
                    "cspermit: detector %s: %d readings, last from %s",
                    spec,
                    self.feed.received,
                    self.feed.device_serial,
                )

        Clock.schedule_once(report, 10.0)

    def disconnect_detector(self) -> None:
        current = getattr(self, "_detector", None)
        if current is not None:
            session, task = current
            task.cancel()
            # keep a reference until the port is closed (the loop holds tasks weakly)
            self._closing = asyncio.ensure_future(session.close())
            self._detector = None

    async def sync_forever(self, every_s: float = 15.0) -> None:
        """Push what the server has not acknowledged and pull the reference data that
        changed, whenever online (entries, alarms and evacuations reach the bureau's
        live view within one period). Progress shows on home and settings."""
        presenter = self.screens["settings"].presenter
        self.context.extras["on_sync_progress"] = self._show_sync_progress
        self._sync_now = asyncio.Event()
        while True:
            self._sync_now.clear()
            if self.context.store.get_setting("device_token") and (
                self.context.server_url or self.context.store.get_setting("server_url")
            ):
                await presenter.sync_now()
                self._show_sync_progress()
            # The period, or at once when an alarm is recorded.
            # asyncio.timeout keeps a cancel (app stop) that lands as an alarm wakes the
            # loop; 3.11's wait_for would drop it and the sync loop would outlive the app.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every_s):
                    await self._sync_now.wait()

    def _show_sync_progress(self) -> None:
        if self.root is not None and self.root.current in ("home", "settings"):
            self.current_screen.refresh()

    def switch_language(self, language: str) -> None:
        tr.switch(language)  # re-renders every kv-bound tr._() text
        self.language = language
        self.context.store.set_setting("language", language)
        for screen in self.screens.values():
            screen.refresh()


def run(
    db_path: str | Path,
    *,
    server_url: str | None = None,
    device_id: str | None = None,
    detector: str | None = None,
    protocol: str = "gasl",
) -> None:
    """The app for real: the saved (or given) detector feeds the board, and whatever
    the server has not acknowledged is pushed every 15 s once enrolled and online."""
    store = Store(db_path)
    from tablet_app.i18n import set_language

    set_language(store.get_setting("language", get_language()))
    context = AppContext(
        store=store,
        server_url=server_url,
        device_id=device_id or store.get_setting("device_id", "tablet-local"),
    )

    async def main() -> None:
        app = PermitApp(context)

        async def start_background() -> None:
            while app.root is None:
                await asyncio.sleep(0.05)
            saved = store.get_setting("detector")
            if detector or saved:
                spec = detector or saved["spec"]
                app.connect_detector(spec, protocol if detector else saved["protocol"])
            await app.sync_forever()

        background = asyncio.ensure_future(start_background())
        try:
            await app.async_run(async_lib="asyncio")
        finally:
            background.cancel()
            app.disconnect_detector()

    try:
        asyncio.run(main())
    finally:
        store.close()

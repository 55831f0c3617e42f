"""A tablet without a window: store, demo ledger, desk, live feed, a clock we move."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cspermit.demo import molasses_tank as demo
from cspermit.demo.tablet import DEMO_PINS, seed_demo
from permits.readings import Channel, Reading, StatusFlag, Unit
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk
from tablet_app.live import LiveFeed
from tablet_app.store import Store


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class World:
    store: Store
    clock: Clock
    context: AppContext
    desk: PermitDesk
    feed: LiveFeed

    def air(
        self,
        seconds: int = 25,
        *,
        h2s: float = 0.0,
        o2: float = 20.9,
        status: frozenset[StatusFlag] = frozenset(),
    ) -> None:
        """One reading per channel per second from the demo detector."""
        for _ in range(seconds):
            self.clock.advance(seconds=1)
            for channel, value, unit, gas in (
                (Channel.O2, o2, Unit.VOL, None),
                (Channel.LEL, 0.0, Unit.LEL, "CH4"),
                (Channel.H2S, h2s, Unit.PPM, None),
                (Channel.CO, 0.0, Unit.PPM, None),
            ):
                self.feed.add(
                    Reading(
                        device_serial=demo.DETECTOR.serial,
                        channel=channel,
                        value=value,
                        unit=unit,
                        status=status if channel is Channel.H2S else frozenset(),
                        received_at=self.clock.now,
                        gas=gas,
                    )
                )

    def sign_in(self, person_id: str) -> None:
        self.context.user = person_id


def make_world(tmp_path: Path, device_id: str = "TAB-TEST") -> World:
    store = Store(tmp_path / "tablet.db")
    seed_demo(store)
    clock = Clock(demo.START)
    context = AppContext(store=store, device_id=device_id, clock=clock)
    desk = PermitDesk(context)
    return World(store, clock, context, desk, LiveFeed(clock))


PINS = DEMO_PINS


def run_app_process(args: list[str], home: Path, timeout: float) -> tuple[dict, int]:
    """Run the app headless in a fresh interpreter (Kivy keeps one window per process),
    in Chinese, with ``home`` as HOME; return its last JSON line and its exit code."""
    import json
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=timeout,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "CSPERMIT_LANG": "zh_CN"},
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, proc.stdout[-2000:] + proc.stderr[-4000:]
    return json.loads(lines[-1]), proc.returncode

"""The board screenshots in docs/tablet.md: the active board after 15 minutes of a
detector streaming at 1 Hz (sparklines), then an H2S rise to the alarm, then the
evacuation. ``python -m cspermit.demo.board_shots DIR`` (SDL offscreen).

The stream is made up on a scenario clock moved by hand (the benchmarks' set-up,
``bench.tablet.active_permit``), so the pictures take seconds, not 15 minutes.
"""

from __future__ import annotations

import asyncio
import math
import sys
import tempfile
from pathlib import Path
from typing import Any


def main(out: Path) -> list[Path]:
    from tablet_app.env import prepare_environment

    prepare_environment(headless=True, kivy_home=tempfile.mkdtemp(prefix="cspermit-kivy-"))
    from kivy.clock import Clock

    from bench.tablet import SimClock, active_permit
    from cspermit.demo import molasses_tank as demo
    from cspermit.demo.drive import ScriptedApp, run_scripted
    from permits.readings import Channel, Reading, Unit

    out.mkdir(parents=True, exist_ok=True)
    clock = SimClock()
    context, _desk, _feed, _board = active_permit(
        Path(tempfile.mkdtemp(prefix="cspermit-shots-")) / "tablet.db", clock
    )
    shots: list[Path] = []
    ScriptedApp.judging = False

    def second(app: Any, h2s: float, t: int) -> None:
        clock.advance(1.0)
        for channel, value, unit, gas in (
            (Channel.O2, 20.9 - 0.05 * math.sin(t / 90), Unit.VOL, None),
            (Channel.LEL, 1.0 if t % 300 < 150 else 0.0, Unit.LEL, "CH4"),
            (Channel.H2S, h2s, Unit.PPM, None),
            (Channel.CO, 2.0 + 1.0 * math.sin(t / 60), Unit.PPM, None),
        ):
            app.feed.add(
                Reading(
                    device_serial=demo.DETECTOR.serial,
                    channel=channel,
                    value=round(value, 1),
                    unit=unit,
                    received_at=clock(),
                    gas=gas,
                )
            )

    async def frames(n: int = 3) -> None:
        start = Clock.frames_displayed
        while Clock.frames_displayed < start + n:
            await asyncio.sleep(0.01)

    async def shot(app: Any, name: str) -> None:
        scr = app.go("board")
        await frames()
        path = out / f"tablet-board-{name}.png"
        scr.export_to_png(str(path))
        shots.append(path)

    async def script(app: Any) -> None:
        t = 0
        for _ in range(15 * 60):  # a quarter of an hour of low H2S from the residue
            t += 1
            second(app, 0.4 + 0.3 * math.sin(t / 120) + 0.2 * (t % 7 == 0), t)
        app.judge_now()
        await shot(app, "working")
        for i in range(240):  # the entrant stirs the residue: H2S climbs
            t += 1
            second(app, 0.6 + 0.035 * i, t)
            if app.judge_now():
                break
        await shot(app, "alarm")
        board = app.screens["board"]
        board.toggle(demo.ENTRANT_A, inside=True)  # the entrant is out
        for _ in range(20):
            t += 1
            second(app, 9.0, t)
        app.judge_now()
        await shot(app, "evacuated")

    asyncio.run(run_scripted(context, script))
    context.store.close()
    return shots


if __name__ == "__main__":  # pragma: no cover
    for p in main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")):
        print(p)

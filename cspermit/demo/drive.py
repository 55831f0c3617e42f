"""The real tablet app driven by a script (the walkthrough, the tablet benchmarks, the
app's own tests): ``await run_scripted(context, script)``.

Imports Kivy: prepare the app's environment first (``tablet_app.env``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from tablet_app.app import PermitApp
from tablet_app.context import AppContext


class ScriptedApp(PermitApp):
    """The app, whose own judge (once a second, and on each arriving reading) a script
    may pause: with ``judging = False`` a drive on a jumping scenario clock judges with
    :meth:`judge_now` at the moments it chooses, never on the wall clock."""

    judging = True

    def judge(self) -> list[str]:
        return super().judge() if self.judging else []

    def judge_now(self) -> list[str]:
        """Judge the open permit now, as the app's own judge does; the alarms raised."""
        return super().judge()


async def run_scripted(
    context: AppContext,
    script: Callable[[ScriptedApp], Awaitable[Any]],
) -> Any:
    """Run the app on the current asyncio loop and drive it with ``script``.

    The script gets the running app (after its first frame) and its result is
    returned; the app stops when the script ends or raises.
    """
    from kivy.clock import Clock

    app = ScriptedApp(context)
    result: dict[str, Any] = {}

    async def drive() -> None:
        # after the first frame is on screen, however long a loaded machine takes
        while app.root is None or Clock.frames_displayed < 1:
            await asyncio.sleep(0.02)
        try:
            result["value"] = await script(app)
        finally:
            app.stop()

    await asyncio.gather(app.async_run(async_lib="asyncio"), drive())
    return result.get("value")

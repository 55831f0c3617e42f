"""Scenario time: a clock that runs ``speed`` times faster than the wall clock, or
only when told to (``speed=0``), so a two-hour job finishes in seconds.

Production code never imports this: drivers and rules take a ``now`` callable, and
a test passes ``clock.now``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta


class ScenarioClock:
    """``now()`` is an aware datetime, ``elapsed()`` seconds since the scenario start.

    Scenario time = offset + (wall seconds since start) × speed. ``advance(s)`` jumps
    ahead; with ``speed=0`` that is the only way time moves (fully deterministic).
    """

    def __init__(
        self,
        start: datetime,
        speed: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start: expected a time with a UTC offset")
        if speed < 0:
            raise ValueError("speed: expected a number >= 0")
        self.start = start
        self._speed = speed
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._wall0 = monotonic()
        self._offset = 0.0

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError("speed: expected a number >= 0")
        with self._lock:
            self._offset = self._elapsed_locked()
            self._wall0 = self._monotonic()
            self._speed = speed

    def _elapsed_locked(self) -> float:
        return self._offset + (self._monotonic() - self._wall0) * self._speed

    def elapsed(self) -> float:
        with self._lock:
            return self._elapsed_locked()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed())

    def advance(self, seconds: float) -> float:
        """Jump ahead; returns the new elapsed time."""
        if seconds < 0:
            raise ValueError("seconds: the scenario clock never goes backwards")
        with self._lock:
            self._offset += seconds
            return self._elapsed_locked()

    def advance_to(self, elapsed: float) -> float:
        with self._lock:
            now = self._elapsed_locked()
            if elapsed > now:
                self._offset += elapsed - now
            return self._elapsed_locked()

    def wall_seconds(self, scenario_seconds: float) -> float:
        """Wall time that ``scenario_seconds`` take at the current speed (inf when paused)."""
        return scenario_seconds / self._speed if self._speed else float("inf")

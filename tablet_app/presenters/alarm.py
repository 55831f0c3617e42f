"""The audible alarm's state: what should sound now, acknowledge, mute, re-arm. Kivy-free.

A guardian watches the entrance, not the screen (docs/tablet.md, The audible alarm).
Three patterns, loudest first:

- ``EVACUATE``: an alarm on the permit (gas, STEL, lost monitoring, sensor fault), the
  permit evacuating, or nobody on duty as guardian while someone is inside. While
  anyone is inside (the evacuation is on), acknowledging only mutes it, for at most
  ``MUTE_MAX`` (30 s); once everyone is out, an acknowledged alarm stays quiet.
- ``STALE``: the detector stream is stale (no live data on a tile) without an alarm.
- ``WARNING``: a trend towards an alarm limit, an 8-h projection, a bump test due, a
  low battery.

A stale stream or a warning sounds until the guardian acknowledges it; an acknowledged
condition stays quiet while it lasts and re-arms when it clears, so the same warning
coming back, or a new one, sounds again. Nothing here knows about the app being in the
background: only the guardian's touch silences it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

# At most this much silence while people must get out (tablet_app/data/alarm.toml).
MUTE_MAX = timedelta(
    seconds=tomllib.loads(
        (Path(__file__).resolve().parents[1] / "data" / "alarm.toml").read_text("utf-8")
    )["mute_max_s"]
)


class Pattern(StrEnum):
    NONE = "none"
    WARNING = "warning"
    STALE = "stale"
    EVACUATE = "evacuate"


@dataclass(frozen=True)
class Conditions:
    """What is wrong now, each condition by a stable key (gas, code, alarm)."""

    evacuate: frozenset[str] = frozenset()
    stale: frozenset[str] = frozenset()
    warning: frozenset[str] = frozenset()
    # people are inside or still getting out: an evacuate condition can only be muted
    evacuation_on: bool = False

    @classmethod
    def of(
        cls,
        evacuate: Iterable[str] = (),
        stale: Iterable[str] = (),
        warning: Iterable[str] = (),
        evacuation_on: bool = False,
    ) -> Conditions:
        return cls(frozenset(evacuate), frozenset(stale), frozenset(warning), evacuation_on)

    @property
    def every(self) -> frozenset[str]:
        return self.evacuate | self.stale | self.warning


@dataclass
class AlarmBell:
    conditions: Conditions = field(default_factory=Conditions)
    acknowledged: set[str] = field(default_factory=set)
    muted_until: datetime | None = None

    def update(self, conditions: Conditions) -> Pattern:
        """Take the conditions of this tick; a condition that cleared re-arms."""
        self.acknowledged &= conditions.every
        if not (conditions.evacuate and conditions.evacuation_on):
            self.muted_until = None
        self.conditions = conditions
        return self.pattern_now

    def sounding(self, now: datetime) -> Pattern:
        c = self.conditions
        if c.evacuate and c.evacuation_on:
            if self.muted_until is not None and now < self.muted_until:
                return Pattern.NONE
            return Pattern.EVACUATE
        if c.evacuate - self.acknowledged:
            return Pattern.EVACUATE
        if c.stale - self.acknowledged:
            return Pattern.STALE
        if c.warning - self.acknowledged:
            return Pattern.WARNING
        return Pattern.NONE

    @property
    def pattern_now(self) -> Pattern:
        """The loudest condition present, whether or not it is muted."""
        c = self.conditions
        if c.evacuate:
            return Pattern.EVACUATE
        if c.stale:
            return Pattern.STALE
        if c.warning:
            return Pattern.WARNING
        return Pattern.NONE

    def acknowledge(self, now: datetime) -> None:
        """The guardian's touch: while people are inside or getting out an evacuation
        is muted for ``MUTE_MAX`` only; anything else is quiet until it clears and
        comes back (or a new condition appears)."""
        if self.conditions.evacuate and self.conditions.evacuation_on:
            self.muted_until = now + MUTE_MAX
        self.acknowledged |= self.conditions.every

    def mute(self, now: datetime, seconds: float = MUTE_MAX.total_seconds()) -> None:
        """Mute an evacuation for ``seconds``, never longer than ``MUTE_MAX``."""
        if self.conditions.evacuate and self.conditions.evacuation_on:
            self.muted_until = now + min(timedelta(seconds=seconds), MUTE_MAX)

    def muted_for(self, now: datetime) -> int:
        if self.muted_until is None or now >= self.muted_until:
            return 0
        return int((self.muted_until - now).total_seconds() + 0.999)

"""A flammable alarm near a fire point or in the linked space suspends the hot work at
once (docs/rules.md, Hot work). Kivy-free.

The app calls :meth:`HotWorkAlarmWatch.tick` with the board's judgement, once a second
and on every reading. Two sources, each recorded through the core as
``hot_work_alarm_raised`` (whose fold suspends the job) when
:func:`permits.hot_work.state.alarm_concerns` says it concerns the permit:

* an alarm recorded on the linked confined-space permit (its space);
* a flammable reading over the hot-work limit (judged by the core's
  ``judge_analysis``) from a detector whose site-plan position is known: the fire
  point it analysed or monitors on this tablet, or the x/y/z of its ledger row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from permits.events import DetectorIdentity
from permits.gases import gases
from permits.hot_work.codes import HotWorkCode
from permits.hot_work.events import (
    HotWorkAlarmCleared,
    HotWorkAlarmRaised,
    HotWorkGasAnalysed,
    HotWorkGasReading,
)
from permits.hot_work.state import SUSPENDABLE, HotWorkState, HotWorkStatus, alarm_concerns
from permits.hot_work.state import judge_analysis as judge
from permits.readings import Channel, Reading
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk
from tablet_app.hot_work_desk import HotWorkDesk
from tablet_app.i18n import _
from tablet_app.live import LiveFeed

_CHANNELS = {c.value: c for c in Channel}
FLAMMABLE_CHANNELS = (
    Channel.LEL,
    *(_CHANNELS[name] for name, gas in gases().items() if gas.flammable and name in _CHANNELS),
)
_KEY = "hot_work_alarm_watch"


def gas_reading(r: Reading, status: tuple[str, ...] = ()) -> HotWorkGasReading:
    """A live reading as a hot-work analysis records it."""
    return HotWorkGasReading(
        channel=r.channel.value,  # type: ignore[arg-type]
        value=r.value,
        unit=r.unit.value,  # type: ignore[arg-type]
        gas=r.gas,
        lel_vol=r.lel_vol,
        status=status,
    )


def _alarm_id(kind: str, at: datetime) -> str:
    return f"{kind}-{at:%H%M%S}"


@dataclass
class HotWorkAlarmWatch:
    """One per app (kept in the context), shared by the hot-work screens and the board."""

    context: AppContext
    desk: PermitDesk
    feed: LiveFeed
    hot: HotWorkDesk
    # detector serial -> (hot-work permit, fire point) where it was last used
    positions: dict[str, tuple[str, str]] = field(default_factory=dict)
    # hot-work permit -> its alarm ids raised from each source
    raised: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def of(
        cls, context: AppContext, desk: PermitDesk, feed: LiveFeed, hot: HotWorkDesk
    ) -> HotWorkAlarmWatch:
        watch = context.extras.get(_KEY)
        if not isinstance(watch, cls):
            watch = cls(context, desk, feed, hot)
            context.extras[_KEY] = watch
        return watch

    def place(self, serial: str | None, permit_id: str, point_id: str) -> None:
        if serial:
            self.positions[serial] = (permit_id, point_id)

    def _position(self, serial: str) -> tuple[float, float, float] | None:
        placed = self.positions.get(serial)
        if placed is not None:
            state = self.hot.state(placed[0])
            fp = state.fire_points.get(placed[1])
            if fp is not None:
                return (fp.x, fp.y, fp.z)
        row = next((r for r in self.desk.detectors() if str(r["id"]) == serial), None)
        if row is not None and all(isinstance(row.get(k), int | float) for k in "xyz"):
            return (float(row["x"]), float(row["y"]), float(row["z"]))
        return None

    def _over_limit(self, reading: Reading) -> dict[str, Any] | None:
        """The core's verdict on one flammable reading (the hot-work %VOL limit)."""
        now = self.context.now()
        payload = HotWorkGasAnalysed(
            fire_point_id="live",
            sampled_at=reading.received_at or now,
            distance_m=0,
            readings=(gas_reading(reading),),
            detector=DetectorIdentity(serial=reading.device_serial),
            analysed_by="live",
        )
        for reason in judge(payload, now):
            if reason["code"] == HotWorkCode.HOT_WORK_FLAMMABLE_HIGH.value:
                return reason
        return None

    def _flammable_alarms(self, state: HotWorkState) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for channel in FLAMMABLE_CHANNELS:
            reading = self.feed.latest(channel)
            if reading is None or not reading.trusted:
                continue
            position = self._position(reading.device_serial)
            if position is None or not alarm_concerns(state, position=position):
                continue
            reason = self._over_limit(reading)
            if reason is not None:
                out.append((f"gas:{channel.value}", {**reason, "value": reading.value}))
        return out

    def _space_alarm(self, state: HotWorkState) -> bool:
        linked = state.linked_permit_id
        if linked is None or linked not in self.desk.permit_ids():
            return False
        cs = self.desk.state(linked)
        space = cs.space.space_id if cs.space else None
        return bool(cs.alarms) and alarm_concerns(state, space_id=space)

    def tick(self) -> list[str]:
        """Record each new alarm on every open hot-work permit here (it suspends the
        job at once) and clear those whose cause is gone. Returns the permits suspended."""
        suspended = []
        now = self.context.now()
        for pid in self.hot.permit_ids():
            state = self.hot.state(pid)
            mine = self.raised.setdefault(pid, {})
            causes: dict[str, dict[str, Any]] = dict(self._flammable_alarms(state))
            if self._space_alarm(state):
                causes["space"] = {}
            for source, facts in causes.items():
                if source in mine and mine[source] in state.alarms:
                    continue
                aid = _alarm_id(source.replace(":", "-"), now)
                payload = HotWorkAlarmRaised(
                    alarm_id=aid,
                    channel=str(facts.get("channel")) if facts.get("channel") else None,
                    space_id=state.linked_space_id if source == "space" else None,
                    value=facts.get("value_vol"),
                    limit=facts.get("limit_vol"),
                    unit="%VOL" if facts else None,
                )
                was = state.status
                self.hot.record(pid, payload, actor=str(self.context.user or "-"))
                mine[source] = aid
                if was in SUSPENDABLE:
                    suspended.append(pid)
                state = self.hot.state(pid)
            for source, aid in list(mine.items()):
                if source not in causes and aid in state.alarms:
                    self.hot.record(
                        pid, HotWorkAlarmCleared(alarm_id=aid), actor=str(self.context.user or "-")
                    )
                    del mine[source]
                    state = self.hot.state(pid)
        return suspended

    def banner(self, state: HotWorkState) -> list[str]:
        """What the guardian reads on the hot-work screen and on the linked board."""
        out = []
        if state.status is HotWorkStatus.SUSPENDED:
            out.append(_("HOT WORK SUSPENDED: put the fire out, no fire until a new analysis"))
        if state.alarms:
            out.append(_("Flammable gas alarm near the fire point or in the linked space"))
        return out

    def board_lines(self, confined_permit_id: str) -> list[str]:
        """The hot work linked to a confined-space permit, for its board."""
        out = []
        for pid in self.hot.linked_to(confined_permit_id):
            state = self.hot.state(pid)
            for line in self.banner(state):
                out.append(_("Hot work {permit}: {what}").format(permit=pid, what=line))
        return out

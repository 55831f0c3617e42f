"""The hot work at the fire point: gas analysis, fire start, interruption, resumption,
work done, the fire watch and close (docs/rules.md, Hot work). Kivy-free.

The gas analysis comes from the detector feed (the latest fresh reading of every
flammable channel and oxygen, as the atmosphere presenter samples), or is typed in
with a second person's countersign (PIN) and flagged ``manual`` in the readings.
The fire watch counts down from the core's ``fire_watch_ends_at``: the tablet only
shows it; the core refuses "no residual fire" before it ends, so it cannot be
shortened. Every refusal shows the core's unmet conditions in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from permits.errors import ProfileError
from permits.events import SignOffMeaning
from permits.hot_work import events as hw
from permits.hot_work.data import level_rule
from permits.hot_work.rules import hot_work_duties
from permits.hot_work.state import HotWorkState, HotWorkStatus
from permits.profiles import load_profile
from permits.readings import Channel, Reading, sorted_flags
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk, detector_identity
from tablet_app.hot_work_desk import HotWorkDesk
from tablet_app.i18n import _
from tablet_app.live import LiveFeed
from tablet_app.presenters.common import Outcome, attempt
from tablet_app.presenters.hot_work_alarm import (
    FLAMMABLE_CHANNELS,
    HotWorkAlarmWatch,
    gas_reading,
)
from tablet_app.presenters.hot_work_simops import SimopsCheck
from tablet_app.presenters.hot_work_words import (
    STATUS_LEVEL,
    HotWorkWording,
    level_text,
    status_text,
)
from tablet_app.presenters.simops_ack import SimopsAckFlow
from tablet_app.presenters.wording import number
from tablet_app.theme import Level

# A reading older than the monitoring profile's stale limit is not the air at the fire
# point now (the same limit the confined-space board uses).
FRESH = load_profile().monitoring.stale_after


@dataclass(frozen=True)
class HotWorkView:
    title: str
    status: str
    status_level: Level
    banner: tuple[str, ...]  # suspended, alarms: in words
    expiry: str
    points: tuple[tuple[str, str, Level], ...]  # (point id, analysis words, level)
    live: tuple[str, ...]
    duties: tuple[str, ...]
    watch: str  # the fire-watch countdown
    watch_level: Level
    watch_can_end: bool
    simops: tuple[str, ...]
    refusal: tuple[tuple[str, str], ...]
    actions: tuple[str, ...] = ()  # the touches that apply now (ACTIONS)
    pin_prompt: str = ""  # whose PIN the PIN field takes now


# The touches that apply in each status (the core still judges each one).
_S = HotWorkStatus
ACTIONS = {
    _S.APPROVED: ("start_fire",),
    _S.GAS_OK: ("start_fire",),
    _S.ACTIVE: ("interrupt", "done"),
    _S.INTERRUPTED: ("resume", "done"),
    _S.SUSPENDED: ("resume",),
    _S.WORK_DONE: ("start_watch",),
    _S.FIRE_WATCH: ("confirm_presence", "end_watch"),
    _S.WATCH_DONE: ("close",),
}


_BEFORE_WATCH = frozenset({_S.APPROVED, _S.GAS_OK, _S.ACTIVE, _S.INTERRUPTED, _S.SUSPENDED})


def _clock(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


class HotWorkPresenter:
    def __init__(
        self, context: AppContext, desk: PermitDesk, feed: LiveFeed, hot: HotWorkDesk
    ) -> None:
        self.context = context
        self.desk = desk
        self.feed = feed
        self.hot = hot
        self.last: Outcome | None = None
        self.simops = SimopsCheck(desk, hot)
        self.ack = SimopsAckFlow(desk, self.simops)
        self.alarms = HotWorkAlarmWatch.of(context, desk, feed, hot)
        self.wording = HotWorkWording(desk.person_name, self._state_or_none, feed.latest)

    @property
    def permit_id(self) -> str:
        pid = self.context.extras.get("hot_work_permit_id")
        if not pid:
            raise ValueError(_("No hot-work permit is open."))
        return str(pid)

    def open(self, permit_id: str) -> None:
        self.context.extras["hot_work_permit_id"] = permit_id
        self.last = None

    def state(self) -> HotWorkState:
        return self.hot.state(self.permit_id)

    def _state_or_none(self) -> HotWorkState | None:
        pid = self.context.extras.get("hot_work_permit_id")
        return self.hot.state(str(pid)) if pid else None

    def _actor(self) -> str:
        return str(self.context.user or "-")

    def _do(self, action: Any) -> Outcome:
        self.last = attempt(action)
        return self.last

    def _person_ok(self, person_id: str, pin: str | None) -> None:
        """Someone other than the signed-in person signs with their PIN."""
        if person_id != self.context.user:
            self.desk.check_pin(person_id, pin or "")

    # ---- gas analysis

    def _fresh(self, channel: Channel) -> Reading | None:
        reading = self.feed.latest(channel)
        now = self.context.now()
        if reading is None or reading.received_at is None or now - reading.received_at > FRESH:
            return None
        return reading

    def _detector(self, serial: str | None) -> Any:
        rows = {str(r["id"]): r for r in self.desk.detectors()}
        row = rows.get(serial or "") or next(iter(rows.values()), None)
        if row is None:
            raise ValueError(_("No detector is in the ledger."))
        return detector_identity(row)

    def analyse(
        self, point_id: str, *, distance_m: float = 0.0, inside_equipment: bool = False
    ) -> Outcome:
        """The latest fresh readings of the detector at the fire point."""

        def record() -> Any:
            readings = []
            sampled = None
            for channel in (*FLAMMABLE_CHANNELS, Channel.O2):
                r = self._fresh(channel)
                if r is None:
                    continue
                readings.append(gas_reading(r, tuple(sorted_flags(r.status))))
                sampled = r.received_at if sampled is None else min(sampled, r.received_at)
            if not readings or sampled is None:
                raise ValueError(_("No live reading from the detector: bring it to the point."))
            self.alarms.place(self.feed.device_serial, self.permit_id, point_id)
            return self.hot.record(
                self.permit_id,
                hw.HotWorkGasAnalysed(
                    fire_point_id=point_id,
                    sampled_at=sampled,
                    distance_m=distance_m,
                    inside_equipment=inside_equipment,
                    readings=tuple(readings),
                    detector=self._detector(self.feed.device_serial),
                    analysed_by=self._actor(),
                ),
                actor=self._actor(),
            )

        return self._do(record)

    def analyse_typed_lel(self, text: str, pin: str) -> Outcome:
        """The screen's typed LEL value at the next fire point without a passing
        analysis, the fire watcher countersigning; a value that is no number is said."""
        try:
            value = float(text.replace(",", "."))
        except ValueError:
            self.last = Outcome(False, error=_("Type the LEL value as a number, in %LEL."))
            return self.last
        return self.analyse_typed(
            self.next_point(), {"LEL": value}, countersigner=self.watcher(), pin=pin
        )

    def analyse_typed(
        self,
        point_id: str,
        values: dict[str, float],
        *,
        countersigner: str,
        pin: str,
        gas: str = "CH4",
        distance_m: float = 0.0,
    ) -> Outcome:
        """Typed values (no detector link): %LEL for LEL, %VOL for O2; a second person
        countersigns with their PIN; the readings are flagged ``manual``."""

        def record() -> Any:
            self.desk.check_pin(countersigner, pin)  # the core refuses the analyst themself
            flags = (hw.MANUAL,)
            readings = []
            for channel, value in values.items():
                unit = "%LEL" if channel == "LEL" else "%VOL"
                readings.append(
                    hw.HotWorkGasReading(
                        channel=channel,  # type: ignore[arg-type]
                        value=float(value),
                        unit=unit,  # type: ignore[arg-type]
                        gas=gas if channel == "LEL" else None,
                        status=flags,
                    )
                )
            return self.hot.record(
                self.permit_id,
                hw.HotWorkGasAnalysed(
                    fire_point_id=point_id,
                    sampled_at=self.context.now(),
                    distance_m=distance_m,
                    readings=tuple(readings),
                    detector=self._detector(None),
                    analysed_by=self._actor(),
                    countersign=self.hot.signoff(
                        self.permit_id, countersigner, SignOffMeaning.COUNTERSIGN
                    ),
                ),
                actor=self._actor(),
            )

        return self._do(record)

    def next_point(self) -> str:
        """The first fire point without a passing analysis (else the first one)."""
        state = self.state()
        points = sorted(state.fire_points)
        for point in points:
            latest = state.latest_analysis(point)
            if latest is None or not latest.acceptable:
                return point
        return points[0] if points else "-"

    def start_monitoring(self, point_id: str) -> Outcome:
        """Continuous monitoring at a fire point (特级) by the detector streaming now."""

        def record() -> Any:
            self.alarms.place(self.feed.device_serial, self.permit_id, point_id)
            return self.hot.record(
                self.permit_id,
                hw.HotWorkMonitoringStarted(
                    detector=self._detector(self.feed.device_serial), fire_point_id=point_id
                ),
                actor=self._actor(),
            )

        return self._do(record)

    # ---- the fire

    def _linked(self, state: HotWorkState) -> hw.LinkedPermitSnapshot | None:
        if state.linked_permit_id is None:
            return None
        if state.linked_permit_id not in self.desk.permit_ids():
            return None  # the core refuses: the linked permit must be shown
        cs = self.desk.state(state.linked_permit_id)
        if cs.space is None or cs.seq < 1:
            return None
        return hw.LinkedPermitSnapshot(
            permit_id=state.linked_permit_id,
            status=cs.status_at(self.context.now()).value,
            seq=cs.seq,
            head_hash=cs.head_hash,
            space_id=cs.space.space_id,
        )

    def start_fire(self, watcher: str, pin: str | None = None) -> Outcome:
        """The fire watcher, present, signs; SIMOPS allows it; the core checks the rest."""

        def record() -> Any:
            blocked = self.simops.blocking(self.permit_id, conditional_too=True)
            if blocked:
                raise ValueError("\n".join(blocked))
            self._person_ok(watcher, pin)
            state = self.state()
            payload = hw.HotWorkFireStarted(
                watcher=self.hot.signoff(self.permit_id, watcher, SignOffMeaning.GUARD),
                linked=self._linked(state),
            )
            return self.hot.record(self.permit_id, payload, actor=watcher)

        return self._do(record)

    def interrupt(self, reason: str = "") -> Outcome:
        return self._do(
            lambda: self.hot.record(
                self.permit_id, hw.HotWorkInterrupted(reason=reason), actor=self._actor()
            )
        )

    def resume(self, watcher: str | None = None, pin: str | None = None) -> Outcome:
        """After an interruption the fire starts again (the core asks for a new analysis
        when it was longer than the level allows); after a suspension the permit resumes
        only on a new passing analysis at every fire point."""
        state = self.state()
        if state.status is HotWorkStatus.SUSPENDED:
            return self._do(
                lambda: self.hot.record(
                    self.permit_id, hw.HotWorkResumed(reason=""), actor=self._actor()
                )
            )
        watchers = sorted(state.fire_watchers)
        return self.start_fire(watcher or (watchers[0] if watchers else "-"), pin)

    def done(self) -> Outcome:
        return self._do(
            lambda: self.hot.record(self.permit_id, hw.HotWorkDone(), actor=self._actor())
        )

    # ---- SIMOPS

    def acknowledge_simops(
        self, other_id: str, coordinator_id: str, pins: dict[str, str] | None = None
    ) -> Outcome:
        """A conditional conflict with ``other_id``: the coordinator named, both
        approvers acknowledge (docs/rules.md, SIMOPS)."""
        self.last = self.simops.acknowledge(self.permit_id, other_id, coordinator_id, pins)
        return self.last

    def begin_simops_ack(self, other_id: str) -> Outcome | None:
        """Tap on a conflict: the signed-in person is the coordinator; each approver who
        is not signed in then gives their own PIN in the PIN field (``give_pin``)."""
        outcome = self.ack.begin(self.permit_id, other_id, self._actor())
        if outcome is not None:
            self.last = outcome
        return outcome

    def give_pin(self, pin: str) -> Outcome | None:
        outcome = self.ack.give_pin(pin)
        if outcome is not None:
            self.last = outcome
        return outcome

    def cancel_simops_ack(self) -> None:
        self.ack.cancel()

    def watcher(self) -> str:
        """The fire watcher who signs at the fire start and the watch (the first named)."""
        watchers = sorted(self.state().fire_watchers)
        return watchers[0] if watchers else "-"

    def simops_others(self) -> list[tuple[str, str]]:
        """(other permit, words) for each unresolved conflict of this permit."""
        pid = self.permit_id
        return [(self.simops.other(c, pid), text) for text, c in self.simops.lines(pid)]

    # ---- the fire watch

    def _watcher_signs(self, event: type[Any], watcher: str, pin: str | None, **extra: Any) -> Any:
        self._person_ok(watcher, pin)
        meaning = (
            SignOffMeaning.CLOSE if event is hw.HotWorkFireWatchEnded else SignOffMeaning.GUARD
        )
        signoff = self.hot.signoff(self.permit_id, watcher, meaning)
        return self.hot.record(self.permit_id, event(watcher=signoff, **extra), actor=watcher)

    def start_watch(self, watcher: str, pin: str | None = None) -> Outcome:
        return self._do(lambda: self._watcher_signs(hw.HotWorkFireWatchStarted, watcher, pin))

    def confirm_presence(self, watcher: str, pin: str | None = None) -> Outcome:
        return self._do(lambda: self._watcher_signs(hw.HotWorkWatchConfirmed, watcher, pin))

    def end_watch(self, watcher: str, pin: str | None = None) -> Outcome:
        """ "No residual fire": refused by the core until the watch has run its time."""
        return self._do(
            lambda: self._watcher_signs(
                hw.HotWorkFireWatchEnded, watcher, pin, no_residual_fire=True
            )
        )

    def close(self, signer: str | None = None, pin: str | None = None) -> Outcome:
        who = signer or self._actor()

        def record() -> Any:
            self._person_ok(who, pin)
            signoff = self.hot.signoff(self.permit_id, who, SignOffMeaning.CLOSE)
            return self.hot.record(self.permit_id, hw.HotWorkClosed(signoff=signoff), actor=who)

        return self._do(record)

    def cancel(self, reason: str) -> Outcome:
        return self._do(
            lambda: self.hot.record(
                self.permit_id, hw.HotWorkCancelled(reason=reason or "-"), actor=self._actor()
            )
        )

    # ---- view

    def _watch(self, state: HotWorkState) -> tuple[str, Level, bool]:
        now = self.context.now()
        ends = state.fire_watch_ends_at
        minutes = int(state.fire_watch.total_seconds() // 60)
        if state.status is HotWorkStatus.FIRE_WATCH and ends is not None:
            confirmed = sum(
                1 for t in state.watch_confirmed_at if t >= (state.watch_started_at or t)
            )
            if now < ends:
                return (
                    _(
                        "Fire watch: {left} left of {minutes} min (cannot be shortened); "
                        "presence confirmed {n} times"
                    ).format(left=_clock(ends - now), minutes=minutes, n=confirmed),
                    Level.WARN,
                    False,
                )
            return (
                _("Fire watch: {minutes} min done; the watcher signs: no residual fire").format(
                    minutes=minutes
                ),
                Level.SAFE,
                True,
            )
        if state.watch_ended_at is not None:
            return _("Fire watch done: no residual fire"), Level.SAFE, False
        return (
            _("Fire watch after the work: {minutes} min").format(minutes=minutes),
            Level.UNKNOWN,
            False,
        )

    def _actions(self, state: HotWorkState, status: HotWorkStatus) -> tuple[str, ...]:
        if self.ack.prompt() is not None:
            return ("simops_pin", "simops_cancel")  # an acknowledgement is under way
        actions = ACTIONS.get(status, ())
        try:
            continuous = state.level is not None and level_rule(state.level).continuous_monitoring
        except ProfileError:
            continuous = True
        if continuous and not state.monitoring_detector and status in _BEFORE_WATCH:
            actions = ("start_monitoring", *actions)  # 特级: continuous gas monitoring
        return actions

    def view(self) -> HotWorkView:
        state = self.state()
        now = self.context.now()
        status = state.status_at(now)
        banner = self.alarms.banner(state)
        expires = state.expires_at
        expiry = (
            _("Valid until {time}").format(time=f"{expires:%m-%d %H:%M}")
            if expires
            else _("Not approved yet")
        )
        points = []
        for pid_, fp in sorted(state.fire_points.items()):
            latest = state.latest_analysis(pid_)
            where = f"{fp.location} (x {fp.x:g}, y {fp.y:g}, z {fp.z:g})"
            if latest is None:
                points.append((pid_, _("{point}: no gas analysis").format(point=where), Level.WARN))
                continue
            age = int((now - latest.sampled_at).total_seconds() // 60)
            if latest.acceptable:
                text = _("{point}: gas analysis passed {minutes} min ago").format(
                    point=where, minutes=age
                )
                points.append((pid_, text, Level.SAFE))
            else:
                why = "; ".join(m for m, _r in self.wording.reasons(latest.reasons))
                text = _("{point}: gas analysis FAILED: {why}").format(point=where, why=why)
                points.append((pid_, text, Level.ALARM))
        live = []
        for channel in (*FLAMMABLE_CHANNELS, Channel.O2):
            r = self._fresh(channel)
            if r is not None:
                live.append(
                    f"{channel.value}: "
                    f"{number(r.value, channel.value, r.unit.value)} {r.unit.value}"
                )
        if not live:
            live.append(_("No live reading from the detector"))
        duties = tuple(m for m, _r in self.wording.lines(hot_work_duties(state, now)))
        watch, watch_level, can_end = self._watch(state)
        simops = tuple(text for text, _c in self.simops.lines(self.permit_id))
        last = self.last
        refusal = tuple(last.lines(self.wording)) if last is not None and not last.ok else ()
        level = level_text(state.level)
        return HotWorkView(
            title=_("Hot work {permit}: {level}").format(permit=self.permit_id, level=level),
            status=status_text(status),
            status_level=STATUS_LEVEL.get(status.value, Level.UNKNOWN),
            banner=tuple(banner),
            expiry=expiry,
            points=tuple(points),
            live=tuple(live),
            duties=duties,
            watch=watch,
            watch_level=watch_level,
            watch_can_end=can_end,
            simops=simops,
            refusal=refusal,
            actions=self._actions(state, status),
            pin_prompt=self.ack.prompt()
            or _("PIN of {name}, fire watcher").format(name=self.desk.person_name(self.watcher())),
        )

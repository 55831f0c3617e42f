"""The active board: live gas against the limits, trend, timers, who is inside,
EVACUATE, alarms, stale stream; suspend and resume with a re-test.

``tick()`` runs once a second: it judges the live readings with an incremental
``permits.monitoring.LiveMonitor`` (fed each reading as it arrives, so a tick
does not re-read the 8-h window) and records an alarm event for every new
alarm, which moves the permit to evacuating (the domain's fold). Tiles are
green only for a fresh, trusted value with no alarm or warning on its channel;
missing, stale or faulty data is grey or red, never green.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from permits.atmosphere import entry_limits
from permits.errors import PermitError
from permits.events import (
    AlarmCleared,
    AlarmKind,
    AlarmRaised,
    EntrantEntered,
    EntrantExited,
    EvacuationOrdered,
    MonitoringSnapshot,
    MonitoringStarted,
    Resumed,
    Suspended,
)
from permits.monitoring import LiveAssessment, LiveMonitor
from permits.readings import Channel, Reading
from permits.state import TERMINAL, PermitState, Status
from tablet_app.chunks import ChunkRecorder
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk, detector_identity
from tablet_app.i18n import _
from tablet_app.live import LiveFeed
from tablet_app.presenters.alarm import AlarmBell, Conditions, Pattern
from tablet_app.presenters.common import Outcome, attempt
from tablet_app.presenters.home import status_text
from tablet_app.presenters.wording import Wording, number
from tablet_app.theme import Level

ALARM_KIND = {
    "STEL_EXCEEDED": AlarmKind.STEL,
    "STEL_TWA_EXCEEDED": AlarmKind.STEL,
    "STREAM_STALE": AlarmKind.STALE_STREAM,
    "SENSOR_FAULT": AlarmKind.SENSOR_FAULT,
}


# The sparkline: the last 15 minutes, at most this many points (each the highest
# reading of its slice of time, so a short peak is never drawn away).
SPARK_WINDOW = timedelta(minutes=15)
SPARK_POINTS = 180


@dataclass(frozen=True)
class Sparkline:
    """A tile's picture of the gas, in 0..1 of the tile's plot area: ``points`` flat
    ``x0, y0, x1, y1, …``; ``limits`` the y of each alarm limit; ``alarms`` the x of
    each alarm raised in the window."""

    points: tuple[float, ...] = ()
    limits: tuple[float, ...] = ()
    alarms: tuple[float, ...] = ()


@dataclass(frozen=True)
class GasTile:
    channel: str
    value: str
    unit: str
    level: Level
    note: str
    spark: Sparkline = Sparkline()


@dataclass(frozen=True)
class EntrantRow:
    person_id: str
    name: str
    inside: bool


@dataclass(frozen=True)
class BoardView:
    title: str
    status: str
    status_level: Level
    tiles: tuple[GasTile, ...]
    banner: tuple[str, ...]  # active alarms, in words
    warnings: tuple[str, ...]
    stale: bool
    test_age: str
    test_level: Level
    expiry: str
    expiry_level: Level
    entrants: tuple[EntrantRow, ...]
    inside_count: str
    refusal: tuple[tuple[str, str], ...]
    sound: Pattern = Pattern.NONE  # what the alarm bell plays now
    sound_text: str = ""  # what is sounding, and the acknowledge/mute state


# How often a secondary detector's monitor is rebuilt, from the last STEL window and a
# minute of the feed (so its history stays under 80 min and each reading is added
# about 1.3 times, not once per rebuild of a long window).
REBUILD_OTHERS = timedelta(minutes=60)


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def alarm_id(code: str, channel: str | None, at: datetime) -> str:
    return f"{code}-{channel or 'ALL'}-{at:%H%M%S}"


class BoardPresenter:
    def __init__(self, context: AppContext, desk: PermitDesk, feed: LiveFeed) -> None:
        self.context = context
        self.desk = desk
        self.feed = feed
        self.assessment: LiveAssessment | None = None
        self.last: Outcome | None = None
        self.recorder = ChunkRecorder(desk, feed)
        # The permit's monitoring detector is judged by one incremental LiveMonitor with
        # its 8-h history (numpy columns): entry limits, STEL, 15-min TWA, 8-h projection,
        # trend, stale stream. Other detectors streaming into the tablet are judged for
        # gas by monitors rebuilt from the feed's last 20 min now and then, so four
        # portables on a 12-h shift do not keep four 8-h histories.
        self._monitor: LiveMonitor | None = None
        self._monitor_key: tuple[str | None, str | None, str | None] | None = None
        self._others: dict[str, tuple[LiveMonitor, datetime]] = {}
        self.wording = Wording(feed.latest, desk.person_name)
        self.bell = AlarmBell()
        feed.listen(self._on_reading)

    def _on_reading(self, reading: Reading) -> None:
        key = self._monitor_key
        if self._monitor is not None and (key is None or key[2] in (None, reading.device_serial)):
            self._monitor.add(reading)
        elif reading.device_serial in self._others:
            self._others[reading.device_serial][0].add(reading)

    def _new_monitor(
        self,
        state: PermitState,
        point: str | None,
        serial: str | None,
        since: datetime | None = None,
    ) -> LiveMonitor:
        space = state.space
        monitor = LiveMonitor(
            state.profile,
            required_channels=[Channel(c) for c in (space.required_channels if space else ())],
            oxygen_enriched=space.oxygen_enriched if space else False,
            point=point,
        )
        for readings in self.feed.window().values():
            monitor.extend(
                r
                for r in readings
                if (serial is None or r.device_serial == serial)
                and (since is None or (r.received_at is not None and r.received_at >= since))
            )
        return monitor

    def monitor(self, state: PermitState) -> LiveMonitor:
        """The live judgement of the permit's monitoring detector (every detector's
        readings before monitoring starts), made once and then fed reading by reading;
        a new permit, point or detector starts from what the feed still holds."""
        point = self._monitor_point(state)
        key = (state.permit_id, point, state.monitoring_detector)
        if self._monitor is None or self._monitor_key != key:
            self._monitor = self._new_monitor(state, point, state.monitoring_detector)
            self._monitor_key = key
            self._others.clear()
        return self._monitor

    def _other_alarms(self, state: PermitState, now: datetime) -> list[Any]:
        """Gas alarms from the other detectors streaming in (not their silence: a
        portable put away is not an evacuation; the monitoring detector's is)."""
        primary = state.monitoring_detector
        if primary is None:
            return []
        silent_after = self.feed.horizon
        seen = {
            serial: at
            for serial, at in self.feed.last_by_serial().items()
            if serial != primary and now - at <= silent_after
        }
        for serial in list(self._others):
            if serial not in seen:
                del self._others[serial]
        alarms = []
        rebuilt = False  # at most one rebuild per tick: no long frame

        def age(serial: str) -> tuple[bool, datetime]:  # new ones first, then the oldest
            return (
                serial in self._others,
                self._others[serial][1] if serial in self._others else now,
            )

        for serial in sorted(seen, key=age):
            entry = self._others.get(serial)
            if not rebuilt and (entry is None or now - entry[1] > REBUILD_OTHERS):
                window = timedelta(minutes=state.profile.monitoring.stel_window_min + 1)
                entry = (self._new_monitor(state, None, serial, since=now - window), now)
                self._others[serial] = entry
                rebuilt = True
            if entry is None:
                continue
            for reason in entry[0].assess(now).alarms:
                if reason.code not in ("STREAM_STALE",):
                    alarms.append(reason)
        return alarms

    @property
    def permit_id(self) -> str:
        if self.context.permit_id is None:
            raise ValueError(_("No permit is open."))
        return self.context.permit_id

    def state(self) -> PermitState:
        return self.desk.state(self.permit_id)

    def _actor(self) -> str:
        if self.context.user is None:
            raise ValueError(_("Sign in first."))
        return str(self.context.user)

    def _monitor_point(self, state: PermitState) -> str | None:
        for event in reversed(self.desk.session(self.permit_id).events):
            if isinstance(event.payload, MonitoringStarted):
                return event.payload.sample_point or None
        return None

    # ---- judging

    def assess(self) -> LiveAssessment:
        state = self.state()
        row = self.context.store.reference("detectors", self.feed.device_serial or "")
        bump = detector_identity(row).last_bump_test if row else None
        now = self.context.now()
        assessment = self.monitor(state).assess(now, last_bump_test=bump)
        others = self._other_alarms(state, now)
        if others:
            assessment = LiveAssessment(
                at=now,
                alarms=tuple(dict.fromkeys((*assessment.alarms, *others))),
                warnings=assessment.warnings,
            )
        self.assessment = assessment
        return self.assessment

    def monitoring_snapshot(self) -> MonitoringSnapshot | None:
        if self.feed.device_serial is None or self.feed.last_received_at is None:
            return None
        assessment = self.assessment or self.assess()
        return MonitoringSnapshot(
            detector_serial=self.feed.device_serial,
            last_reading_at=self.feed.last_received_at,
            acceptable=not assessment.alarms,
        )

    def tick(self) -> list[str]:
        """Judge the live window; record each new alarm (the permit goes to evacuating).
        Returns the ids of alarms raised now."""
        state = self.state()
        if state.status in TERMINAL or state.status in (Status.NONE, Status.DRAFT):
            return []
        if state.monitoring_detector is None:
            return []
        permit_id = self.permit_id
        self.desk.seal_readings_with(
            permit_id, lambda actor: self.recorder.flush(permit_id, actor, self.context.now())
        )
        assessment = self.assess()
        active = {(a.kind, a.channel) for a in state.alarms.values()}
        raised = []
        now = self.context.now()
        for reason in assessment.alarms:
            kind = ALARM_KIND.get(reason.code, AlarmKind.GAS)
            if (kind, reason.channel) in active:
                continue
            aid = alarm_id(reason.code, reason.channel, now)
            outcome = attempt(
                lambda r=reason, k=kind, a=aid: self.desk.record(
                    self.permit_id,
                    AlarmRaised(
                        alarm_id=a,
                        kind=k,
                        channel=r.channel,
                        point=r.point,
                        value=r.value,
                        limit=r.limit,
                        unit=r.unit,
                    ),
                    actor=self.context.user or state.guardian or "tablet",
                )
            )
            if outcome.ok:
                active.add((kind, reason.channel))
                raised.append(aid)
            else:
                self.last = outcome
        self.bell.update(self.conditions(self.state(), assessment, self._stale(state, now)))
        if self.recorder.due(now):
            # the continuous-monitoring record: about a minute per chunk, hashed into the chain
            chunked = attempt(
                lambda: self.recorder.flush(
                    self.permit_id, self.context.user or state.guardian or "tablet", now
                )
            )
            if not chunked.ok:
                self.last = chunked
        return raised

    # ---- the audible alarm

    def _stale(self, state: PermitState, now: datetime) -> bool:
        stale_after = state.profile.monitoring.stale_after
        for ch in state.space.required_channels if state.space else ():
            r = self.feed.latest(Channel(ch))
            if r is None or r.received_at is None or now - r.received_at > stale_after:
                return True
        return False

    def conditions(self, state: PermitState, assessment: LiveAssessment, stale: bool) -> Conditions:
        """What the bell sounds for: alarms and an evacuation with people inside (or
        nobody on duty as guardian while someone is inside), a stale stream, warnings;
        nothing before monitoring starts with nobody inside (the pre-entry test judges
        that air, and refuses entry)."""
        if state.status in TERMINAL or (state.monitoring_detector is None and not state.inside):
            return Conditions()
        evacuate = {f"{a.code}:{a.channel}" for a in assessment.alarms}
        evacuate |= {f"alarm:{aid}" for aid in state.alarms}
        if state.inside and state.guardian is None:
            evacuate.add("no-guardian")
        if state.status is Status.EVACUATING:
            evacuate.add("evacuating")
        return Conditions.of(
            evacuate=evacuate,
            stale={"stale"} if stale else (),
            warning={f"{w.code}:{w.channel}" for w in assessment.warnings},
            evacuation_on=bool(state.inside) or state.status is Status.EVACUATING,
        )

    def acknowledge(self) -> None:
        """The guardian's touch on the alarm button: an evacuation is muted for 30 s at
        most, a stale stream or warning until it clears and comes back."""
        self.bell.acknowledge(self.context.now())

    def _sound_text(self, now: datetime) -> str:
        pattern = self.bell.pattern_now
        if pattern is Pattern.NONE:
            return ""
        muted = self.bell.muted_for(now)
        what = {
            Pattern.EVACUATE: _("EVACUATION ALARM sounding"),
            Pattern.STALE: _("No live data: alarm sounding"),
            Pattern.WARNING: _("Warning sounding"),
        }[pattern]
        if muted:
            return _("{what}: muted, sounds again in {n} s").format(what=what, n=muted)
        if self.bell.sounding(now) is Pattern.NONE:
            return _("Alarm acknowledged; the condition is still on the board")
        return what

    # ---- view

    def _limits(self, state: PermitState, channel: str, reading: Reading) -> list[float]:
        try:
            limits = [
                lim
                for lim in entry_limits(
                    Channel(channel),
                    reading.unit,
                    state.profile,
                    gas=reading.gas,
                    lel_vol=reading.lel_vol,
                    oxygen_enriched=state.space.oxygen_enriched if state.space else False,
                )
            ]
        except (PermitError, ValueError):  # a gas the table cannot convert: no limit line
            return []
        # the limit that alarms first on each side (H2S is also flammable: its %LEL
        # limit is thousands of ppm above the toxic one and would flatten the line)
        lower = [lim.limit for lim in limits if lim.falling]
        upper = [lim.limit for lim in limits if not lim.falling]
        return [*([max(lower)] if lower else []), *([min(upper)] if upper else [])]

    def sparkline(
        self, channel: Channel, limits: list[float], alarms_at: list[datetime], now: datetime
    ) -> Sparkline:
        """The last 15 minutes of ``channel`` from the feed's numpy columns: bucketed
        to at most ``SPARK_POINTS`` (each bucket's highest trusted value), scaled with
        the limits in view."""
        columns = self.feed.columns(channel)
        if columns is None:
            return Sparkline()
        t0 = (now - SPARK_WINDOW).timestamp()
        t, v, ok = columns.since(t0)
        t, v = t[ok], v[ok]
        if len(t) == 0:
            return Sparkline()
        if len(t) > SPARK_POINTS:
            edges = np.searchsorted(t, np.linspace(t[0], t[-1], SPARK_POINTS + 1)[:-1])
            edges = np.unique(edges)
            v = np.maximum.reduceat(v, edges)
            t = t[edges]
        span = SPARK_WINDOW.total_seconds()
        lows = [float(v.min()), *limits]
        highs = [float(v.max()), *limits]
        low = min(0.0, *lows) if channel is not Channel.O2 else min(lows) - 0.5
        high = max(highs) * 1.1 if channel is not Channel.O2 else max(highs) + 0.5
        if high <= low:
            high = low + 1.0
        xs = np.clip((t - t0) / span, 0.0, 1.0)
        ys = np.clip((v - low) / (high - low), 0.0, 1.0)
        points = np.column_stack((xs, ys)).ravel()
        return Sparkline(
            points=tuple(points.tolist()),
            limits=tuple(float((lim - low) / (high - low)) for lim in limits if low <= lim <= high),
            alarms=tuple(
                float((at.timestamp() - t0) / span) for at in alarms_at if at.timestamp() >= t0
            ),
        )

    def _rising(self, channel: Channel, now: datetime, window: timedelta) -> bool:
        """The sign of the least-squares slope over the profile's trend window."""
        columns = self.feed.columns(channel)
        if columns is None:
            return True
        t, v, ok = columns.since((now - window).timestamp())
        t, v = t[ok], v[ok]
        if len(t) < 2:
            return True
        dt = t - t.mean()
        return float(np.dot(dt, v - v.mean())) >= 0.0

    def view(self) -> BoardView:
        state = self.state()
        now = self.context.now()
        assessment = self.assessment or self.assess()
        wording = self.wording
        status = state.status_at(now)
        recorded_alarm_channels = {a.channel for a in state.alarms.values()}
        by_channel_alarm = {a.channel for a in assessment.alarms} | recorded_alarm_channels
        all_channels_alarm = any(a.channel is None for a in assessment.alarms)
        by_channel_warn = {w.channel for w in assessment.warnings}
        stale_after = state.profile.monitoring.stale_after
        tiles = []
        stale = False
        alarms_at: dict[str | None, list[datetime]] = {}
        for rec in state.alarms.values():
            alarms_at.setdefault(rec.channel, []).append(rec.raised_at)
        trend_notes: dict[str, str] = {}
        warnings: list[str] = []
        for w in assessment.warnings:
            if w.code == "TREND_TO_ALARM":
                # only while heading for a limit not yet reached: nothing once in alarm
                if w.channel in by_channel_alarm or all_channels_alarm or w.value is None:
                    continue
                assert w.channel is not None
                rising = self._rising(
                    Channel(w.channel),
                    now,
                    timedelta(minutes=state.profile.monitoring.trend_window_min),
                )
                trend_notes[w.channel] = _("alarm in about {when}").format(
                    when=wording.time_to_alarm(float(w.value))
                )
                warnings.append(wording.trend(w.channel, float(w.value), rising))
            else:
                warnings.append(wording.reason(w))
        for ch in state.space.required_channels if state.space else ():
            r = self.feed.latest(Channel(ch))
            if r is None or r.received_at is None or now - r.received_at > stale_after:
                stale = True
                tiles.append(GasTile(ch, "--", "", Level.UNKNOWN, _("no data")))
                continue
            spark = self.sparkline(
                Channel(ch),
                self._limits(state, ch, r),
                alarms_at.get(ch, []) + alarms_at.get(None, []),
                now,
            )
            if not r.trusted:
                tiles.append(GasTile(ch, "--", r.unit.value, Level.ALARM, _("sensor fault"), spark))
                continue
            if ch in by_channel_alarm or all_channels_alarm:
                level, note = Level.ALARM, _("ALARM")
            elif ch in by_channel_warn:
                level, note = Level.WARN, trend_notes.get(ch, _("warning"))
            else:
                level, note = Level.SAFE, ""
            tiles.append(
                GasTile(ch, number(r.value, ch, r.unit.value), r.unit.value, level, note, spark)
            )
        banner = [wording.reason(a) for a in assessment.alarms]
        if self.feed.error:
            banner.insert(0, _("Detector connection failed: {error}").format(error=self.feed.error))
        if state.alarms:
            raised = self._raised_points()
            for rec in state.alarms.values():
                banner.append(
                    wording.alarm_line(
                        rec.kind, rec.channel, raised.get(rec.alarm_id), rec.raised_at
                    )
                )
        latest = state.latest_test
        if latest is None:
            test_age, test_level = _("No atmosphere test"), Level.ALARM
        else:
            age = now - (latest.oldest_sample_at or latest.recorded_at)
            test_age = _("Last test #{seq}: {result}, {m} min ago (limit {limit} min)").format(
                seq=latest.seq,
                result=_("passed") if latest.acceptable else _("failed"),
                m=_minutes(age),
                limit=_minutes(state.profile.test_max_age),
            )
            test_level = (
                Level.ALARM
                if not latest.acceptable
                else (Level.WARN if age > state.profile.test_max_age else Level.SAFE)
            )
        expires = state.expires_at
        if expires is None:
            expiry, expiry_level = _("Not approved"), Level.UNKNOWN
        else:
            left = expires - now
            expiry = _("Permit expires in {h} h {m} min").format(
                h=max(0, _minutes(left)) // 60, m=max(0, _minutes(left)) % 60
            )
            expiry_level = (
                Level.ALARM
                if left <= timedelta(0)
                else (Level.WARN if left < timedelta(hours=1) else Level.SAFE)
            )
        entrants = tuple(
            EntrantRow(pid, self.desk.person_name(pid), pid in state.inside)
            for pid in sorted(state.entrants)
        )
        status_level = {
            Status.EVACUATING: Level.ALARM,
            Status.SUSPENDED: Level.WARN,
            Status.EXPIRED: Level.ALARM,
        }.get(status, Level.UNKNOWN)
        if assessment.alarms or state.alarms:
            status_level = Level.ALARM
        self.bell.update(self.conditions(state, assessment, stale))
        return BoardView(
            title=_("Permit {id}: {space}").format(
                id=state.permit_id, space=state.space.name if state.space else "-"
            ),
            status=status_text(status),
            status_level=status_level,
            tiles=tuple(tiles),
            banner=tuple(banner),
            warnings=tuple(warnings),
            stale=stale,
            test_age=test_age,
            test_level=test_level,
            expiry=expiry,
            expiry_level=expiry_level,
            entrants=entrants,
            inside_count=_("{n} inside").format(n=len(state.inside)),
            refusal=tuple(self.last.lines(wording)) if self.last and not self.last.ok else (),
            sound=self.bell.sounding(now),
            sound_text=self._sound_text(now),
        )

    def _raised_points(self) -> dict[str, str | None]:
        """Each recorded alarm's sample point, from its ``alarm_raised`` event."""
        return {
            e.payload.alarm_id: e.payload.point
            for e in self.desk.session(self.permit_id).events
            if isinstance(e.payload, AlarmRaised)
        }

    # ---- actions

    def _do(self, action) -> Outcome:  # type: ignore[no-untyped-def]
        self.last = attempt(action)
        return self.last

    def start_monitoring(self, sample_point: str = "") -> Outcome:
        def do() -> object:
            serial = self.feed.device_serial
            row = self.context.store.reference("detectors", serial) if serial else None
            if row is None:
                raise ValueError(_("No detector is streaming, or it is not in the ledger."))
            state = self.state()
            return self.desk.record(
                self.permit_id,
                MonitoringStarted(
                    detector=detector_identity(row),
                    channels=state.space.required_channels if state.space else (),
                    sample_point=sample_point,
                ),
                actor=self._actor(),
            )

        return self._do(do)

    def enter(self, entrant_id: str) -> Outcome:
        def do() -> object:
            self.assess()
            return self.desk.record(
                self.permit_id,
                EntrantEntered(entrant_id=entrant_id, monitoring=self.monitoring_snapshot()),
                actor=self._actor(),
            )

        return self._do(do)

    def exit(self, entrant_id: str) -> Outcome:
        # Always accepted by the domain, in every state: nobody is left recorded inside.
        return self._do(
            lambda: self.desk.record(
                self.permit_id,
                EntrantExited(entrant_id=entrant_id),
                actor=self.context.user or self.state().guardian or "tablet",
            )
        )

    def evacuate(self, reason: str = "") -> Outcome:
        return self._do(
            lambda: self.desk.record(
                self.permit_id,
                EvacuationOrdered(reason=reason or _("ordered by the guardian")),
                actor=self.context.user or self.state().guardian or "tablet",
            )
        )

    def clear_alarms(self) -> Outcome:
        """Clear the recorded alarms whose condition is gone in the live assessment."""

        def do() -> list[str]:
            actor = self._actor()
            assessment = self.assess()
            live = {(ALARM_KIND.get(a.code, AlarmKind.GAS), a.channel) for a in assessment.alarms}
            cleared = []
            for rec in list(self.state().alarms.values()):
                if (rec.kind, rec.channel) in live:
                    continue
                self.desk.record(self.permit_id, AlarmCleared(alarm_id=rec.alarm_id), actor=actor)
                cleared.append(rec.alarm_id)
            if self.state().alarms:
                raise ValueError(_("The alarm condition is still present: it cannot be cleared."))
            return cleared

        return self._do(do)

    def suspend(self, reason: str) -> Outcome:
        return self._do(
            lambda: self.desk.record(self.permit_id, Suspended(reason=reason), actor=self._actor())
        )

    def resume(self) -> Outcome:
        """Resume on the latest test; the domain refuses unless it is a new passing one."""

        def do() -> object:
            latest = self.state().latest_test
            if latest is None:
                raise ValueError(_("There is no atmosphere test to resume on."))
            return self.desk.record(
                self.permit_id, Resumed(test_seq=latest.seq), actor=self._actor()
            )

        return self._do(do)

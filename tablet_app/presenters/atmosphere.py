"""The pre-entry atmosphere test, one sample point at a time, from live readings.

The guardian lowers the probe to a sample point and presses "take sample"; the
presenter takes it only once every required channel has a steady run of fresh
readings (a pumped detector needs time to draw gas up the hose). Faulty or
warming-up readings are kept with their flags, so the verdict fails closed.
Typed-in values are allowed only with a second person's countersign and are
flagged ``manual`` to the bureau.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from permits.errors import Unmet
from permits.events import (
    AtmosphereRecord,
    AtmosphereTestRecorded,
    ReadingsConfirmed,
    SignOffMeaning,
)
from permits.readings import Channel, Reading, Unit, sorted_flags
from permits.state import PermitState
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk, detector_identity
from tablet_app.i18n import _
from tablet_app.live import LiveFeed
from tablet_app.presenters.common import Outcome, attempt
from tablet_app.presenters.wording import Wording, number, point_name
from tablet_app.theme import Level

# Stability: at least STABLE_MIN readings of each channel in the last
# STABLE_WINDOW, spread within the unit's band. Practice for pumped detectors
# (sampling-hose transit, T90 of electrochemical cells), not a figure of docs/rules.md.
STABLE_WINDOW = timedelta(seconds=20)
STABLE_MIN = 5
STABLE_BAND = {Unit.VOL: 0.2, Unit.LEL: 1.0, Unit.PPM: 1.0, Unit.MG_M3: 1.5}


@dataclass(frozen=True)
class ChannelLine:
    channel: str
    text: str
    level: Level


@dataclass(frozen=True)
class AtmosphereView:
    title: str
    points: tuple[tuple[str, str, Level], ...]  # (point, status text, level)
    live: tuple[ChannelLine, ...]
    stable: bool
    verdict: str
    verdict_level: Level
    reasons: tuple[tuple[str, str], ...]
    manual_flag: str
    refusal: tuple[tuple[str, str], ...]


def reason_unmet(reason: dict[str, Any]) -> Unmet:
    facts = {k: reason.get(k, "-") for k in ("point", "channel", "value", "limit", "unit")}
    facts.update({k: v for k, v in reason.items() if k not in ("code",)})
    return Unmet(str(reason["code"]), facts)


def reading_json(r: Reading) -> dict[str, Any]:
    out: dict[str, Any] = {"channel": r.channel.value, "value": r.value, "unit": r.unit.value}
    if r.gas is not None:
        out["gas"] = r.gas
    if r.lel_vol is not None:
        out["lel_vol"] = r.lel_vol
    flags = sorted_flags(r.status)
    if flags:
        out["status"] = flags
    return out


class AtmospherePresenter:
    def __init__(self, context: AppContext, desk: PermitDesk, feed: LiveFeed) -> None:
        self.context = context
        self.desk = desk
        self.feed = feed
        self.samples: dict[str, dict[str, Any]] = {}
        self.manual = False
        self.last: Outcome | None = None
        self.wording = Wording(feed.latest, desk.person_name)

    @property
    def permit_id(self) -> str:
        if self.context.permit_id is None:
            raise ValueError(_("No permit is open."))
        return self.context.permit_id

    def state(self) -> PermitState:
        return self.desk.state(self.permit_id)

    def _required(self, state: PermitState) -> list[Channel]:
        return [Channel(c) for c in (state.space.required_channels if state.space else ())]

    def reset(self) -> None:
        self.samples.clear()
        self.manual = False

    # ---- live stability

    def channel_lines(self) -> tuple[list[ChannelLine], bool]:
        state = self.state()
        now = self.context.now()
        since = now - STABLE_WINDOW
        stale_after = state.profile.monitoring.stale_after
        lines, all_stable = [], True
        for channel in self._required(state):
            recent = self.feed.recent(channel, since)
            latest = self.feed.latest(channel)
            if (
                latest is None
                or latest.received_at is None
                or now - latest.received_at > stale_after
            ):
                lines.append(
                    ChannelLine(
                        channel.value, _("{ch}: no data").format(ch=channel.value), Level.UNKNOWN
                    )
                )
                all_stable = False
                continue
            shown = (
                f"{channel.value}: {number(latest.value, channel.value, latest.unit.value)}"
                f" {latest.unit.value}"
            )
            if not latest.trusted:
                lines.append(
                    ChannelLine(
                        channel.value,
                        shown
                        + " · "
                        + _("sensor fault: {flags}").format(
                            flags=", ".join(sorted_flags(latest.status))
                        ),
                        Level.ALARM,
                    )
                )
                continue  # a faulty channel is "stable": the sample records the fault
            values = [r.value for r in recent if r.unit is latest.unit]
            band = STABLE_BAND.get(latest.unit, 1.0)
            steady = len(values) >= STABLE_MIN and max(values) - min(values) <= band
            if not steady:
                all_stable = False
                lines.append(
                    ChannelLine(channel.value, shown + " · " + _("settling…"), Level.UNKNOWN)
                )
            else:
                # Not green: a value is only judged by the test and the live board.
                lines.append(ChannelLine(channel.value, shown + " · " + _("steady"), Level.UNKNOWN))
        return lines, all_stable

    # ---- view

    def view(self) -> AtmosphereView:
        state = self.state()
        lines, stable = self.channel_lines()
        points = []
        for point in state.space.sample_points if state.space else ():
            name = point_name(point)
            if point in self.samples:
                points.append((point, _("{point}: sampled").format(point=name), Level.UNKNOWN))
            else:
                points.append((point, _("{point}: not sampled").format(point=name), Level.WARN))
        latest = state.latest_test
        reasons: tuple[tuple[str, str], ...]
        if latest is None:
            verdict, level, reasons = _("No test recorded yet"), Level.UNKNOWN, ()
        elif latest.acceptable:
            age = self.context.now() - (latest.oldest_sample_at or latest.recorded_at)
            verdict = _("Test #{seq} PASSED ({minutes} min ago)").format(
                seq=latest.seq, minutes=int(age.total_seconds() // 60)
            )
            too_old = age > state.profile.test_max_age
            level = Level.WARN if too_old else Level.SAFE
            reasons = ()
        else:
            verdict, level = (
                _("Test #{seq} FAILED: do not enter").format(seq=latest.seq),
                Level.ALARM,
            )
            reasons = tuple(
                (u.message(), u.remedy())
                for u in (self.wording.unmet(reason_unmet(dict(r))) for r in latest.reasons)
            )
        manual = ""
        if latest is not None and latest.manual:
            manual = _("Manual entry, countersigned by {who}: flagged to the bureau").format(
                who=self.desk.person_name(latest.countersigned_by or "-")
            )
        return AtmosphereView(
            title=_("Atmosphere test: {space}").format(
                space=state.space.name if state.space else "-"
            ),
            points=tuple(points),
            live=tuple(lines),
            stable=stable,
            verdict=verdict,
            verdict_level=level,
            reasons=reasons,
            manual_flag=manual,
            refusal=tuple(self.last.lines(self.wording)) if self.last and not self.last.ok else (),
        )

    # ---- actions

    def take_sample(self, point: str) -> Outcome:
        state = self.state()
        if not state.space or point not in state.space.sample_points:
            self.last = Outcome(
                False, error=_("Unknown sample point {point}.").format(point=point_name(point))
            )
            return self.last
        _lines, stable = self.channel_lines()
        if not stable:
            self.last = Outcome(
                False,
                error=_(
                    "Readings are not steady yet at {point}: keep the probe there and wait."
                ).format(point=point_name(point)),
            )
            return self.last
        readings = [self.feed.latest(ch) for ch in self._required(state)]
        self.samples[point] = {
            "point": point,
            "taken_at": self.context.now().isoformat(),
            "readings": [reading_json(r) for r in readings if r is not None],
        }
        self.last = Outcome(True)
        return self.last

    def enter_manual(self, point: str, values: dict[str, tuple[float, str]]) -> Outcome:
        """Type in a point's values (detector without a link); needs a countersign to record."""

        def do() -> None:
            readings = [
                {"channel": Channel(ch).value, "value": float(v), "unit": Unit(u).value}
                for ch, (v, u) in values.items()
            ]
            self.samples[point] = {
                "point": point,
                "taken_at": self.context.now().isoformat(),
                "readings": readings,
            }
            self.manual = True

        self.last = attempt(do)
        return self.last

    def record(self, *, countersigner: str | None = None, countersigner_pin: str = "") -> Outcome:
        """Record the test; the domain evaluates it and the verdict is shown as stored."""

        def do() -> object:
            actor = self.context.user
            if actor is None:
                raise ValueError(_("Sign in first."))
            state = self.state()
            if self.manual:
                # values read off a detector's display: the tablet's chosen manual
                # detector, or the only one in the ledger
                serial = self.context.store.get_setting("manual_detector_serial")
                ledger = self.context.store.references("detectors")
                if serial is None and len(ledger) == 1:
                    serial = ledger[0]["id"]
            else:
                serial = self.feed.device_serial
            row = self.context.store.reference("detectors", serial) if serial else None
            if row is None:
                raise ValueError(
                    _("Detector {serial} is not in the ledger on this tablet.").format(
                        serial=serial or "-"
                    )
                )
            detector = detector_identity(row)
            space = state.space
            assert space is not None
            test = AtmosphereRecord.of(
                entry_at=self.context.now(),
                space=space,
                detector=detector,
                samples=self.samples.values(),
            )
            countersign = None
            if self.manual:
                if not countersigner or countersigner == actor:
                    raise ValueError(_("Manual values need a countersign by a second person."))
                self.desk.check_pin(countersigner, countersigner_pin)
                countersign = self.desk.signoff(
                    self.permit_id, countersigner, SignOffMeaning.COUNTERSIGN
                )
            event = self.desk.record(
                self.permit_id,
                AtmosphereTestRecorded(
                    test=test,
                    detector=detector,
                    source="manual" if self.manual else "driver",
                    tested_by=actor,
                    countersign=countersign,
                ),
                actor=actor,
            )
            self.reset()
            return event

        self.last = attempt(do)
        return self.last

    def confirmation(self) -> tuple[tuple[str, Level], ...]:
        """What an entrant confirms: the latest passing test's values at each sample
        point and its verdict, as recorded in the chain (not the live readings)."""
        state = self.state()
        passing = state.latest_passing_test
        if passing is None:
            return ((_("No passing test: nobody may enter"), Level.ALARM),)
        recorded = None
        for event in self.desk.session(self.permit_id).events:
            if isinstance(event.payload, AtmosphereTestRecorded) and event.seq == passing.seq:
                recorded = event.payload
        rows: list[tuple[str, Level]] = [
            (
                _("Test #{seq} PASSED at {time}, by {who}").format(
                    seq=passing.seq,
                    time=f"{passing.recorded_at:%H:%M}",
                    who=self.desk.person_name(passing.tested_by),
                ),
                Level.SAFE,
            )
        ]
        for sample in recorded.test.samples if recorded else ():
            values = _(", ").join(
                f"{r.channel} {self.wording.value(r.channel, float(r.value), r.unit)}"
                for r in sample.readings
            )
            rows.append(
                (
                    _("{point}: {values} · within the limits").format(
                        point=point_name(sample.point), values=values
                    ),
                    Level.SAFE,
                )
            )
        return tuple(rows)

    def confirm_readings(self, entrant_id: str, pin: str) -> Outcome:
        """The entrant has seen the latest passing test's values and verdict, and signs."""

        def do() -> object:
            self.desk.check_pin(entrant_id, pin)
            passing = self.state().latest_passing_test
            if passing is None:
                raise ValueError(_("There is no passing test to confirm."))
            signoff = self.desk.signoff(self.permit_id, entrant_id, SignOffMeaning.CONFIRM_READINGS)
            return self.desk.record(
                self.permit_id,
                ReadingsConfirmed(test_seq=passing.seq, signoff=signoff),
                actor=entrant_id,
            )

        self.last = attempt(do)
        return self.last

"""Hypothesis drives random permit lifecycles through the real commands.

Every accepted entry is checked against an independent model of docs/rules.md, The entry interlock
written here from the raw events (not from ``permits.state``). Invariants: no
entry unless every condition holds; no close with anyone inside or a lock on;
an alarm always evacuates an approved permit; exit is always accepted.

Size: ``max_examples=400`` sequences of up to 40 steps (about 16 000 commands);
16-41 s depending on load, on the shared 2-core build machine
(measured with ``pytest --durations``). Set ``CSPERMIT_STATEFUL_EXAMPLES`` for a longer
soak run.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from cspermit.demo.molasses_tank import (
    DETECTOR,
    ELECTRICIAN,
    ENTRANT_A,
    ENTRANT_B,
    GUARDIAN,
    LEADER,
    PRINCIPAL,
    START,
    ready_to_enter,
    record_test,
)
from permits.errors import RuleViolation
from permits.events import (
    AlarmCleared,
    AlarmKind,
    AlarmRaised,
    Approved,
    AtmosphereTestRecorded,
    BriefingSigned,
    Cancelled,
    Closed,
    ClosingStarted,
    EntrantEntered,
    EntrantExited,
    EquipmentConfirmed,
    EvacuationOrdered,
    Event,
    Expired,
    GuardianLeft,
    GuardianOnDuty,
    IsolationApplied,
    IsolationMethod,
    IsolationRemoved,
    IsolationVerified,
    MonitoringSnapshot,
    MonitoringStarted,
    MonitoringStopped,
    Payload,
    PersonalLockApplied,
    PersonalLockRemoved,
    ReadingsConfirmed,
    Resumed,
    SignOffMeaning,
    Suspended,
    VentilationStarted,
    VentilationStopped,
)
from permits.integrity import DeviceKey
from permits.interlock import entry_unmet
from permits.state import TERMINAL, Status

ENTRANTS = (ENTRANT_A, ENTRANT_B)
PEOPLE = (ENTRANT_A, ENTRANT_B, GUARDIAN, LEADER, ELECTRICIAN, PRINCIPAL)
POINTS = {"IP-AGITATOR": "electrical", "IP-INLET": "pipe"}
METHODS = (
    IsolationMethod.ELECTRICAL_LOCKOUT,
    IsolationMethod.BLIND_FLANGE,
    IsolationMethod.CLOSED_VALVE,
    IsolationMethod.WATER_SEAL,
)
TEST_MAX_AGE = timedelta(minutes=30)  # cn-gongmao, docs/rules.md, Profiles
VALIDITY = timedelta(hours=24)
STALE_AFTER = timedelta(seconds=15)
BUMP_AT = DETECTOR.last_bump_test
EQUIPMENT = ("SCBA", "harness", "tripod_winch")
SKIPPABLE = (
    "isolation",
    "verify",
    "personal_locks",
    "ventilation",
    "guardian",
    "equipment",
    "test",
    "briefing",
    "readings",
    "approval",
    "monitoring",
)


class Model:
    """docs/rules.md, The entry interlock, from the raw event list, independent of permits.state."""

    def __init__(self, events: list[Event], passing: dict[int, bool]) -> None:
        self.events = events
        self.passing = passing

    def entry_allowed(self, who: str, now: datetime, snap: MonitoringSnapshot | None) -> bool:
        approved_at = None
        finished = closing = suspended = evacuating = False
        locks: dict[str, tuple[str, IsolationMethod, str, str | None, str | None]] = {}
        personal: dict[str, tuple[str, str]] = {}
        vent = False
        equipment: set[str] = set()
        guardian = None
        briefed: set[str] = set()
        confirmed: dict[str, int] = {}
        tests: list[tuple[int, datetime]] = []
        monitoring = False
        inside: set[str] = set()
        alarms: set[str] = set()
        last_entry = None
        for e in self.events:
            p = e.payload
            if isinstance(p, Approved):
                approved_at = e.occurred_at
            elif isinstance(p, Cancelled | Closed | Expired):
                finished = True
            elif isinstance(p, ClosingStarted):
                closing = True
            elif isinstance(p, Suspended):
                suspended, evacuating = True, False
            elif isinstance(p, Resumed):
                suspended = False
            elif isinstance(p, AlarmRaised):
                alarms.add(p.alarm_id)
                if approved_at is not None:
                    evacuating = True
            elif isinstance(p, AlarmCleared):
                alarms.discard(p.alarm_id)
            elif isinstance(p, EvacuationOrdered):
                if approved_at is not None:
                    evacuating = True
            elif isinstance(p, GuardianOnDuty):
                guardian = p.signoff.person_id
            elif isinstance(p, GuardianLeft):
                guardian = None
                if inside and approved_at is not None:
                    evacuating = True
            elif isinstance(p, EntrantEntered):
                inside.add(p.entrant_id)
                last_entry = e.seq
            elif isinstance(p, EntrantExited):
                inside.discard(p.entrant_id)
                if evacuating and not inside:
                    evacuating, suspended = False, True
            elif isinstance(p, IsolationApplied):
                locks[p.lock_id] = (p.point_id, p.method, p.applied_by, None, p.lockbox_id)
            elif isinstance(p, IsolationVerified):
                point, method, by, _, box = locks[p.lock_id]
                locks[p.lock_id] = (point, method, by, p.verified_by, box)
            elif isinstance(p, IsolationRemoved):
                locks.pop(p.lock_id)
            elif isinstance(p, PersonalLockApplied):
                personal[p.lock_id] = (p.lockbox_id, p.person_id)
            elif isinstance(p, PersonalLockRemoved):
                personal.pop(p.lock_id)
            elif isinstance(p, VentilationStarted):
                vent = True
            elif isinstance(p, VentilationStopped):
                vent = False
            elif isinstance(p, EquipmentConfirmed):
                equipment |= set(p.items)
            elif isinstance(p, AtmosphereTestRecorded):
                tests.append((e.seq, e.occurred_at))
            elif isinstance(p, MonitoringStarted):
                monitoring = True
            elif isinstance(p, MonitoringStopped):
                monitoring = False
            elif isinstance(p, BriefingSigned):
                briefed.add(p.signoff.person_id)
            elif isinstance(p, ReadingsConfirmed):
                confirmed[p.signoff.person_id] = p.test_seq
        c1 = (
            approved_at is not None
            and not (finished or closing or suspended or evacuating)
            and now < approved_at + VALIDITY
        )
        verified = [v for v in locks.values() if v[3] is not None and v[3] != v[2]]
        c2 = all(any(v[0] == point for v in verified) for point in POINTS)
        c2 = c2 and all(v[3] is not None and v[3] != v[2] for v in locks.values())
        c2 = c2 and any(
            v[0] == "IP-INLET"
            and v[1] in (IsolationMethod.BLIND_FLANGE, IsolationMethod.PIPE_SECTION_REMOVED)
            for v in verified
        )
        boxes = {v[4] for v in locks.values() if v[4]}
        mine = {box for box, person in personal.values() if person == who}
        c2 = c2 and boxes <= mine
        c3 = vent and set(EQUIPMENT) <= equipment
        live = (
            monitoring
            and snap is not None
            and snap.acceptable
            and timedelta(0) <= now - snap.last_reading_at <= STALE_AFTER
        )
        c4 = False
        if tests:
            seq, at = tests[-1]
            sampled = at - timedelta(minutes=2)
            carried = live and last_entry is not None and seq < last_entry
            c4 = self.passing[seq] and (now - sampled <= TEST_MAX_AGE or carried)
        c5 = guardian is not None
        passing_seqs = [s for s, _ in tests if self.passing[s]]
        c6 = (
            who not in inside
            and who in briefed
            and (not passing_seqs or confirmed.get(who) == passing_seqs[-1])
        )
        c7 = not alarms and (not monitoring or live)
        return all((c1, c2, c3, c4, c5, c6, c7))


class PermitLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START + timedelta(minutes=50)
        self.passing: dict[int, bool] = {}
        self.lock_no = 0
        self.alarm_no = 0

    # Start from the example permit with a random set of preparation steps left
    # out, so that walks reach both accepted and refused entries.
    @initialize(skips=st.sets(st.sampled_from(SKIPPABLE), max_size=2))
    def prepare(self, skips: set[str]) -> None:
        self.s = ready_to_enter(DeviceKey.generate("TAB-SUGAR-01"), skip=sorted(skips))
        for test in self.s.state.tests:
            self.passing[test.seq] = test.acceptable

    def _try(self, payload: Payload, actor: str = GUARDIAN) -> bool:
        try:
            self.s.record(payload, self.now, actor=actor)
        except RuleViolation as violation:
            assert violation.unmet  # a refusal always names something
            return False
        return True

    @rule(minutes=st.sampled_from((0, 1, 2, 5, 10, 35, 600)))
    def tick(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule()
    def approve(self) -> None:
        self._try(
            Approved(signoff=self.s.signoff(PRINCIPAL, SignOffMeaning.APPROVE, self.now)), PRINCIPAL
        )

    @rule(point=st.sampled_from(sorted(POINTS)), method=st.sampled_from(METHODS), box=st.booleans())
    def apply_isolation(self, point: str, method: IsolationMethod, box: bool) -> None:
        self.lock_no += 1
        self._try(
            IsolationApplied(
                point_id=point,
                method=method,
                lock_id=f"L-{self.lock_no}",
                tag_id=f"T-{self.lock_no}",
                applied_by=ELECTRICIAN,
                lockbox_id="LB-1" if box else None,
            ),
            ELECTRICIAN,
        )

    @rule(data=st.data(), verifier=st.sampled_from((LEADER, ELECTRICIAN)))
    def verify_isolation(self, data: st.DataObject, verifier: str) -> None:
        locks = sorted(self.s.state.isolations)
        if locks:
            lock = data.draw(st.sampled_from(locks))
            point = self.s.state.isolations[lock].point_id
            self._try(
                IsolationVerified(point_id=point, lock_id=lock, verified_by=verifier), verifier
            )

    @rule(data=st.data(), by=st.sampled_from((ELECTRICIAN, LEADER)))
    def remove_isolation(self, data: st.DataObject, by: str) -> None:
        locks = sorted(self.s.state.isolations)
        if locks:
            lock = data.draw(st.sampled_from(locks))
            point = self.s.state.isolations[lock].point_id
            self._try(IsolationRemoved(point_id=point, lock_id=lock, removed_by=by), by)

    @rule(who=st.sampled_from(ENTRANTS))
    def personal_lock_on(self, who: str) -> None:
        self.lock_no += 1
        self._try(
            PersonalLockApplied(lockbox_id="LB-1", lock_id=f"PL-{self.lock_no}", person_id=who), who
        )

    @rule(data=st.data(), by=st.sampled_from(ENTRANTS))
    def personal_lock_off(self, data: st.DataObject, by: str) -> None:
        locks = sorted(self.s.state.personal_locks)
        if locks:
            lock = data.draw(st.sampled_from(locks))
            self._try(PersonalLockRemoved(lockbox_id="LB-1", lock_id=lock, removed_by=by), by)

    @rule(on=st.booleans())
    def ventilation(self, on: bool) -> None:
        self._try(VentilationStarted() if on else VentilationStopped())

    @rule(on=st.booleans())
    def monitoring(self, on: bool) -> None:
        if on:
            self._try(MonitoringStarted(detector=DETECTOR, channels=("O2", "H2S")))
        else:
            self._try(MonitoringStopped(detector_serial=DETECTOR.serial))

    @rule()
    def guardian_on(self) -> None:
        self._try(GuardianOnDuty(signoff=self.s.signoff(GUARDIAN, SignOffMeaning.GUARD, self.now)))

    @rule()
    def guardian_left(self) -> None:
        inside_before = bool(self.s.state.inside)
        status_before = self.s.state.status_at(self.now)
        if self._try(GuardianLeft(guardian_id=GUARDIAN)) and inside_before:
            if status_before in (Status.APPROVED, Status.ACTIVE, Status.CLOSING, Status.EVACUATING):
                assert self.s.state.status is Status.EVACUATING

    @rule(items=st.lists(st.sampled_from(EQUIPMENT), min_size=1, max_size=3, unique=True))
    def confirm_equipment(self, items: list[str]) -> None:
        self._try(EquipmentConfirmed(confirmed_by=GUARDIAN, items=tuple(items)))

    @rule(clean=st.booleans())
    def test_atmosphere(self, clean: bool) -> None:
        try:
            seq = record_test(self.s, self.now, h2s_bottom=0.0 if clean else 25.0)
        except RuleViolation:
            return
        assert BUMP_AT is not None
        self.passing[seq] = clean and self.now - BUMP_AT <= timedelta(hours=24)
        latest = self.s.state.latest_test
        assert latest is not None and latest.acceptable == self.passing[seq]

    @rule(who=st.sampled_from(ENTRANTS))
    def brief(self, who: str) -> None:
        signoff = self.s.signoff(who, SignOffMeaning.BRIEF, self.now)
        self._try(BriefingSigned(briefed_by=LEADER, signoff=signoff), who)

    @rule(who=st.sampled_from(ENTRANTS))
    def confirm_readings(self, who: str) -> None:
        passing = self.s.state.latest_passing_test
        if passing is not None:
            signoff = self.s.signoff(who, SignOffMeaning.CONFIRM_READINGS, self.now)
            self._try(ReadingsConfirmed(test_seq=passing.seq, signoff=signoff), who)

    @rule(
        who=st.sampled_from(ENTRANTS),
        feed=st.sampled_from(("fresh", "stale", "bad", "none")),
    )
    def enter(self, who: str, feed: str) -> None:
        snap = None
        if feed != "none":
            age = timedelta(seconds=60 if feed == "stale" else 2)
            snap = MonitoringSnapshot(
                detector_serial=DETECTOR.serial,
                last_reading_at=self.now - age,
                acceptable=feed != "bad",
            )
        expected = Model(self.s.events, self.passing).entry_allowed(who, self.now, snap)
        accepted = self._try(EntrantEntered(entrant_id=who, monitoring=snap))
        event("entry accepted" if accepted else "entry refused")
        if not accepted:  # which conditions walks hit (--hypothesis-show-statistics)
            event(str(sorted({u.code for u in entry_unmet(self.s.state, who, self.now, snap)})))
        assert accepted == expected, (who, feed, self.s.state.as_dict(self.now))
        if accepted:
            assert who in self.s.state.inside

    # Entries are the point of the test: give them a second rule with a live feed.
    @rule(who=st.sampled_from(ENTRANTS))
    def enter_with_live_feed(self, who: str) -> None:
        self.enter(who, "fresh")

    @rule(data=st.data())
    def exit(self, data: st.DataObject) -> None:
        inside = sorted(self.s.state.inside)
        if inside:
            who = data.draw(st.sampled_from(inside))
            # Exit is accepted in every state.
            self.s.record(EntrantExited(entrant_id=who), self.now, actor=GUARDIAN)
            assert who not in self.s.state.inside

    @rule(kind=st.sampled_from(list(AlarmKind)))
    def alarm(self, kind: AlarmKind) -> None:
        self.alarm_no += 1
        before = self.s.state.status_at(self.now)
        # An alarm is always recorded.
        self.s.record(
            AlarmRaised(alarm_id=f"A-{self.alarm_no}", kind=kind), self.now, actor=GUARDIAN
        )
        if self.s.state.status in (
            Status.APPROVED,
            Status.ACTIVE,
            Status.SUSPENDED,
            Status.CLOSING,
        ):
            raise AssertionError(f"alarm left the permit {self.s.state.status}")
        if before not in TERMINAL and before not in (Status.NONE, Status.DRAFT):
            assert self.s.state.status is Status.EVACUATING

    @rule(data=st.data())
    def clear_alarm(self, data: st.DataObject) -> None:
        alarms = sorted(self.s.state.alarms)
        if alarms:
            self._try(AlarmCleared(alarm_id=data.draw(st.sampled_from(alarms))))

    @rule()
    def evacuate(self) -> None:
        self._try(EvacuationOrdered(reason="drill"))

    @rule()
    def suspend(self) -> None:
        self._try(Suspended(reason="break"))

    @rule()
    def resume(self) -> None:
        latest = self.s.state.latest_test
        if latest is not None:
            self._try(Resumed(test_seq=latest.seq))

    @rule()
    def start_closing(self) -> None:
        self._try(ClosingStarted(), LEADER)

    @rule()
    def close(self) -> None:
        inside, locks = set(self.s.state.inside), list(self.s.state.locks_on)
        if self._try(
            Closed(signoff=self.s.signoff(LEADER, SignOffMeaning.CLOSE, self.now)), LEADER
        ):
            assert not inside and not locks
            event("permit closed")

    @precondition(lambda self: self.s.state.first_entry_seq is not None)
    @rule()
    def wrap_up(self) -> None:
        """Everyone out, every lock off by its owner, then close (if the status allows)."""
        for who in sorted(self.s.state.inside):
            self.s.record(EntrantExited(entrant_id=who), self.now, actor=GUARDIAN)
        self._try(ClosingStarted(), LEADER)
        for lock in list(self.s.state.personal_locks.values()):
            self._try(
                PersonalLockRemoved(
                    lockbox_id=lock.lockbox_id, lock_id=lock.lock_id, removed_by=lock.person_id
                ),
                lock.person_id,
            )
        for record in list(self.s.state.isolations.values()):
            self._try(
                IsolationRemoved(
                    point_id=record.point_id, lock_id=record.lock_id, removed_by=record.applied_by
                ),
                record.applied_by,
            )
        closing = self.s.state.status_at(self.now) is Status.CLOSING
        closed = self._try(
            Closed(signoff=self.s.signoff(LEADER, SignOffMeaning.CLOSE, self.now)), LEADER
        )
        # With everyone out and every lock off, a closing permit always closes.
        assert closed == closing
        if closed:
            event("permit closed")

    @rule()
    def cancel(self) -> None:
        self._try(Cancelled(reason="weather"), LEADER)

    @precondition(lambda self: self.s.state.expires_at is not None)
    @rule()
    def expire(self) -> None:
        self._try(Expired())

    @invariant()
    def alarm_with_people_inside_means_evacuating(self) -> None:
        st_ = self.s.state
        if st_.alarms and st_.inside and st_.approved_at is not None:
            assert st_.status in (Status.EVACUATING, *TERMINAL)

    @invariant()
    def closed_means_empty_and_unlocked(self) -> None:
        if self.s.state.status is Status.CLOSED:
            assert not self.s.state.inside and not self.s.state.locks_on


PermitLifecycle.TestCase.settings = settings(
    # CSPERMIT_STATEFUL_EXAMPLES=5000 for a long soak run.
    max_examples=int(os.environ.get("CSPERMIT_STATEFUL_EXAMPLES", "400")),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPermitLifecycle = PermitLifecycle.TestCase

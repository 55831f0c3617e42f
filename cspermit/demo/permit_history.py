"""The demo permit history, written with the permit core's commands exactly as a tablet
would: each step is ``decide`` (the rules), ``seal`` (hash and signature) and ``apply``.

One permit is written the way a faulty old tablet app would (an entry with no approval,
no passing test and no guardian): the server's replay must find it and file automatic
hazards. It is built with ``new_event`` because the commands would refuse it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from hashlib import sha256
from typing import Any

from permits.atmosphere_record import AtmosphereRecord
from permits.chunks import encode_chunk
from permits.commands import decide
from permits.errors import RuleViolation
from permits.events import (
    AlarmCleared,
    AlarmKind,
    AlarmRaised,
    ApprovalAuthority,
    Approved,
    AtmosphereTestRecorded,
    BriefingSigned,
    Cancelled,
    Certificate,
    Closed,
    ClosingStarted,
    DetectorIdentity,
    Drafted,
    EntrantEntered,
    EntrantExited,
    EquipmentConfirmed,
    EvacuationOrdered,
    GuardianOnDuty,
    HazardIdentified,
    IsolationApplied,
    IsolationMethod,
    IsolationPointTemplate,
    IsolationRemoved,
    IsolationVerified,
    Payload,
    PersonSnapshot,
    ReadingsChunkRecorded,
    ReadingsConfirmed,
    Role,
    RoleAssigned,
    SignOff,
    SignOffMeaning,
    SpaceSnapshot,
    VentilationStarted,
    new_event,
)
from permits.integrity import DeviceKey, seal
from permits.readings import Channel, Reading, Unit
from permits.reference import TrainingRecord
from permits.state import PermitState, apply

METHOD_FOR_KIND = {
    "pipe": IsolationMethod.BLIND_FLANGE,
    "electrical": IsolationMethod.ELECTRICAL_LOCKOUT,
    "mechanical": IsolationMethod.MECHANICAL_BLOCK,
    "other": IsolationMethod.MECHANICAL_BLOCK,
}


@dataclass
class DemoPermit:
    permit_id: str
    events: list[dict[str, Any]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)


class Writer:
    """One permit on one tablet: the fold, the clock and the signing key."""

    def __init__(self, permit_id: str, key: DeviceKey, start: datetime) -> None:
        self.out = DemoPermit(permit_id)
        self.key = key
        self.state = PermitState()
        self.at = start

    def step(
        self,
        payload: Payload | Callable[[Writer], Payload],
        actor: str,
        minutes: float = 2,
        *,
        bypass_rules: bool = False,
    ) -> None:
        self.at += timedelta(minutes=minutes)
        body = payload(self) if callable(payload) else payload
        if bypass_rules:
            event = new_event(
                body,
                permit_id=self.out.permit_id,
                seq=self.state.seq + 1,
                actor=actor,
                device_id=self.key.device_id,
                occurred_at=self.at,
            )
        else:
            try:
                event = decide(
                    self.state,
                    body,
                    self.at,
                    actor=actor,
                    device_id=self.key.device_id,
                    permit_id=self.out.permit_id,
                )
            except RuleViolation as exc:
                raise RuntimeError(
                    f"demo permit {self.out.permit_id} step {body.event_type}: {exc.codes} "
                    f"{[u.facts for u in exc.unmet]}"
                ) from exc
        sealed = seal(event, self.state.head_hash, self.key)
        self.state = apply(self.state, sealed)
        self.out.events.append(sealed.to_json())

    def signoff(self, person: str, meaning: SignOffMeaning) -> SignOff:
        return SignOff(
            person_id=person,
            meaning=meaning,
            signed_at=self.at,
            state_hash=self.state.head_hash,
            pin_verified=True,
        )


def _space(item: dict[str, Any]) -> SpaceSnapshot:
    """The permit's snapshot of a ledger entry (``permits.reference.ConfinedSpace`` JSON)."""
    return SpaceSnapshot(
        space_id=item["id"],
        name=item["name"],
        required_channels=tuple(item["required_channels"]),
        sample_points=tuple(item["sample_points"]),
        isolation_points=tuple(
            IsolationPointTemplate(
                point_id=p["id"],
                description=p.get("description", ""),
                kind=p["energy"],
                hazardous_source=p.get("hazardous_source", False),
            )
            for p in item["isolation_points"]
        ),
        required_ppe=tuple(item["required_ppe"]),
        rescue_items=tuple(item["rescue_equipment"]),
        key_supervision=bool(item["key_supervision"]),
        profile=item.get("profile", "cn-gongmao"),
    )


# What the demo ledger holds (``cspermit.demo.seed``) and the demo tablet therefore
# records: the server cross-checks every snapshot with its ledger (docs/server.md).
def demo_training(today: date) -> dict[str, str]:
    """Every demo person's confined-space training record (the core's topic)."""
    return {
        "topic": "confined_space",
        "completed_on": (today - timedelta(days=30)).isoformat(),
        "valid_until": (today + timedelta(days=335)).isoformat(),
    }


def demo_certificates(today: date) -> dict[str, list[dict[str, str]]]:
    """Certificates by person id, as ledger items (``permits.reference.Certificate``)."""
    return {
        "a-p-li": [
            {
                "type": "hot_work",
                "number": "T530102-2025-0311",
                "issued_on": (today - timedelta(days=300)).isoformat(),
                "expires_on": (today + timedelta(days=700)).isoformat(),
            }
        ]
    }


def demo_bump_tests(now: datetime) -> list[datetime]:
    """The demo detectors' passed bump tests: 00:00 UTC on each of the last six days,
    so every test in the history has one within 24 h before it."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return [midnight - timedelta(days=d) for d in range(6)]


def _person(pid: str, name: str, authority: str, enterprise_id: str, today: date) -> PersonSnapshot:
    training = TrainingRecord.model_validate(demo_training(today))
    return PersonSnapshot(
        person_id=pid,
        name=name,
        employer_id=enterprise_id,
        training_valid_until=training.effective_until,
        certificates=tuple(
            Certificate(kind=c["type"], number=c["number"], valid_until=c["expires_on"])
            for c in demo_certificates(today).get(pid, [])
        ),
        approval_authority=ApprovalAuthority(authority),
    )


def _test(
    w: Writer, space: SpaceSnapshot, detector: DetectorIdentity, *, h2s_bottom: float = 0.0
) -> AtmosphereTestRecorded:
    taken = w.at - timedelta(minutes=1)
    values = {
        "O2": (20.9, "%VOL"),
        "LEL": (0, "%LEL"),
        "H2S": (0.0, "ppm"),
        "CO": (0, "ppm"),
        "CO2": (0, "ppm"),
    }
    samples = []
    for point in space.sample_points:
        readings = []
        for ch in space.required_channels:
            value, unit = values.get(ch, (0, "ppm"))
            if ch == "H2S" and point == "bottom":
                value = h2s_bottom
            reading: dict[str, Any] = {"channel": ch, "value": value, "unit": unit}
            if ch == "LEL":
                reading["gas"] = "CH4"
            readings.append(reading)
        samples.append(
            {"point": point, "taken_at": taken.isoformat(), "status": [], "readings": readings}
        )
    test = AtmosphereRecord.of(
        entry_at=w.at + timedelta(minutes=10), space=space, detector=detector, samples=samples
    )
    return AtmosphereTestRecorded(
        test=test, detector=detector, source="driver", tested_by=w.state.guardian or "unknown"
    )


_UNITS = {"O2": Unit.VOL, "LEL": Unit.LEL}


def _chunk(
    serial: str, start: datetime, minutes: int, channels: tuple[str, ...], h2s_peak: float = 0.0
) -> bytes:
    """A real tablet readings chunk (CSRC2, the codec the tablet writes with): a reading
    every 10 s per channel, H2S rising to ``h2s_peak`` over the span."""
    readings = [
        Reading(
            device_serial=serial,
            channel=Channel(c),
            value=20.9 if c == "O2" else (h2s_peak * s / (minutes * 60) if c == "H2S" else 0.0),
            unit=_UNITS.get(c, Unit.PPM),
            received_at=start + timedelta(seconds=s),
            gas="CH4" if c == "LEL" else None,
        )
        for s in range(0, minutes * 60, 10)
        for c in channels
    ]
    return encode_chunk(readings)


def _record_chunk(
    w: Writer, serial: str, channels: tuple[str, ...], minutes: int, h2s_peak: float = 0.0
) -> None:
    start = w.at
    data = _chunk(serial, start, minutes, channels, h2s_peak)
    w.out.chunks.append(data)
    w.step(
        ReadingsChunkRecorded(
            sha256=sha256(data).hexdigest(),
            detector_serial=serial,
            start=start,
            end=start + timedelta(minutes=minutes),
            channels=channels,
            values=len(channels) * minutes * 6,
        ),
        actor=w.state.guardian or "system",
        minutes=minutes,
    )


def _prepare(
    w: Writer,
    enterprise_id: str,
    space: SpaceSnapshot,
    people: dict[str, str],
    detector: DetectorIdentity,
    today: date,
    names: dict[str, tuple[str, str]],
    hazard: str,
) -> None:
    leader, approver, guardian = people["leader"], people["approver"], people["guardian"]
    entrants = people["entrants"].split(",")
    w.step(
        Drafted(
            enterprise_id=enterprise_id, space=space, work_description="清罐作业 tank cleaning"
        ),
        actor=leader,
        minutes=0,
    )
    for role, pid in [
        (Role.WORK_LEADER, leader),
        (Role.APPROVER, approver),
        (Role.GUARDIAN, guardian),
    ] + [(Role.ENTRANT, e) for e in entrants]:
        name, authority = names[pid]
        w.step(
            RoleAssigned(role=role, person=_person(pid, name, authority, enterprise_id, today)),
            actor=leader,
            minutes=1,
        )
    w.step(
        HazardIdentified(
            hazard=hazard, controls=("forced ventilation", "continuous gas monitoring")
        ),
        actor=leader,
    )
    for i, point in enumerate(space.isolation_points):
        lock = f"L-{w.out.permit_id}-{i + 1}"
        w.step(
            IsolationApplied(
                point_id=point.point_id,
                method=METHOD_FOR_KIND[point.kind.value],
                lock_id=lock,
                tag_id=f"T-{lock}",
                applied_by=leader,
            ),
            actor=leader,
        )
        w.step(
            IsolationVerified(point_id=point.point_id, lock_id=lock, verified_by=guardian),
            actor=guardian,
        )
    w.step(VentilationStarted(equipment="axial fan 5.5 kW"), actor=guardian, minutes=5)
    w.step(
        lambda x: GuardianOnDuty(signoff=x.signoff(guardian, SignOffMeaning.GUARD)),
        actor=guardian,
        minutes=20,
    )
    items = tuple(dict.fromkeys((*space.required_ppe, *space.rescue_items)))
    w.step(EquipmentConfirmed(confirmed_by=guardian, items=items), actor=guardian)
    w.step(lambda x: Approved(signoff=x.signoff(approver, SignOffMeaning.APPROVE)), actor=approver)


def _enter(
    w: Writer,
    space: SpaceSnapshot,
    detector: DetectorIdentity | Callable[[datetime], DetectorIdentity],
    entrants: list[str],
    leader: str,
) -> int:
    # The detector as it stood when the test is recorded (its last bump test then).
    w.step(
        lambda x: _test(x, space, detector(x.at) if callable(detector) else detector),
        actor=w.state.guardian or "",
        minutes=3,
    )
    test_seq = w.state.seq
    for e in entrants:

        def briefed(x: Writer, e: str = e) -> Payload:
            return BriefingSigned(briefed_by=leader, signoff=x.signoff(e, SignOffMeaning.BRIEF))

        def confirmed(x: Writer, e: str = e) -> Payload:
            return ReadingsConfirmed(
                test_seq=test_seq, signoff=x.signoff(e, SignOffMeaning.CONFIRM_READINGS)
            )

        w.step(briefed, actor=leader)
        w.step(confirmed, actor=e)
    for e in entrants:
        w.step(EntrantEntered(entrant_id=e), actor=w.state.guardian or "", minutes=1)
    return test_seq


def h2s_alarm(w: Writer, guardian: str, value: float, *, minutes: float) -> None:
    """``AL-1``: H2S over its limit at the bottom sample point, recorded by the guardian.
    The limit is the one the default profile applies (not a copy of the number)."""
    from permits.atmosphere import entry_limits
    from permits.profiles import load_profile
    from permits.readings import Channel, Unit

    (limit,) = (
        x.limit
        for x in entry_limits(Channel.H2S, Unit.PPM, load_profile())
        if x.code == "TOXIC_HIGH"
    )
    w.step(
        AlarmRaised(
            alarm_id="AL-1",
            kind=AlarmKind.GAS,
            channel="H2S",
            point="bottom",
            value=value,
            limit=round(limit, 2),
            unit="ppm",
        ),
        actor=guardian,
        minutes=minutes,
    )


def _finish(w: Writer, leader: str) -> None:
    w.step(ClosingStarted(), actor=leader, minutes=2)
    for rec in sorted(w.state.isolations.values(), key=lambda r: r.lock_id):
        w.step(
            IsolationRemoved(point_id=rec.point_id, lock_id=rec.lock_id, removed_by=rec.applied_by),
            actor=rec.applied_by,
        )
    w.step(lambda x: Closed(signoff=x.signoff(leader, SignOffMeaning.CLOSE)), actor=leader)


def build_history(
    enterprise_id: str,
    spaces: list[dict[str, Any]],
    people: list[tuple[str, str, str]],
    detector_serial: str,
    key: DeviceKey,
    now: datetime | None = None,
) -> list[DemoPermit]:
    """A realistic history for one enterprise, oldest first."""
    now = now or datetime.now(UTC)
    today = now.date()
    names = {pid: (name, authority) for pid, name, authority in people}
    principal = next(pid for pid, _, a in people if a == "principal")
    plain = [pid for pid, _, a in people if a == "none"]
    guardian, entrants = plain[0], plain[1:] or plain[:1]
    roles = {
        "leader": principal,
        "approver": principal,
        "guardian": guardian,
        "entrants": ",".join(entrants),
    }
    space0 = _space(spaces[0])
    space1 = _space(spaces[-1])
    out: list[DemoPermit] = []
    prefix = enterprise_id.upper().replace("ENT-", "")

    def detector_at(t: datetime) -> DetectorIdentity:
        return DetectorIdentity(
            serial=detector_serial,
            model="four-gas",
            calibration_due=today + timedelta(days=120),
            last_bump_test=max(b for b in demo_bump_tests(now) if b <= t),
        )

    # 1. A closed permit three days ago, with continuous-monitoring chunks.
    start = now - timedelta(days=3, hours=6)
    w = Writer(f"{prefix}-2026-0001", key, start)
    _prepare(
        w,
        enterprise_id,
        space0,
        roles,
        detector_at(start),
        today,
        names,
        "硫化氢中毒 H2S poisoning",
    )
    _enter(w, space0, detector_at, entrants, principal)
    for _ in range(3):
        _record_chunk(w, detector_serial, space0.required_channels, 1)
    for e in entrants:
        w.step(EntrantExited(entrant_id=e), actor=guardian)
    _finish(w, principal)
    out.append(w.out)

    # 2. A cancelled permit (the job was postponed before anyone entered).
    start = now - timedelta(days=2, hours=4)
    w = Writer(f"{prefix}-2026-0002", key, start)
    w.step(
        Drafted(enterprise_id=enterprise_id, space=space1, work_description="检修 inspection"),
        actor=principal,
        minutes=0,
    )
    w.step(Cancelled(reason="设备未到 equipment not delivered"), actor=principal, minutes=30)
    out.append(w.out)

    # 3. An alarm and an evacuation: H2S rose at the bottom; everyone got out; closed.
    start = now - timedelta(days=1, hours=5)
    w = Writer(f"{prefix}-2026-0003", key, start)
    _prepare(
        w,
        enterprise_id,
        space0,
        roles,
        detector_at(start),
        today,
        names,
        "硫化氢中毒 H2S poisoning",
    )
    _enter(w, space0, detector_at, entrants, principal)
    _record_chunk(w, detector_serial, space0.required_channels, 1, h2s_peak=12.0)
    h2s_alarm(w, guardian, 12.0, minutes=0.5)
    w.step(
        EvacuationOrdered(reason="H2S over the limit at the bottom"), actor=guardian, minutes=0.2
    )
    for e in entrants:
        w.step(EntrantExited(entrant_id=e), actor=guardian, minutes=0.5)
    w.step(AlarmCleared(alarm_id="AL-1"), actor=guardian, minutes=20)
    _finish(w, principal)
    out.append(w.out)

    # 4. An active permit: someone is inside now.
    start = now - timedelta(hours=1, minutes=30)
    w = Writer(f"{prefix}-2026-0004", key, start)
    _prepare(
        w,
        enterprise_id,
        space1,
        roles,
        detector_at(start),
        today,
        names,
        "缺氧窒息 oxygen deficiency",
    )
    _enter(w, space1, detector_at, entrants[:1], principal)
    _record_chunk(w, detector_serial, space1.required_channels, 1)
    out.append(w.out)

    # 5. Written by a tablet that bypassed the interlock: an entry with no approval, no
    #    passing test and no guardian on duty. The server's replay files the hazards.
    start = now - timedelta(hours=20)
    w = Writer(f"{prefix}-2026-0005", key, start)
    w.step(
        Drafted(
            enterprise_id=enterprise_id, space=space1, work_description="临时清淤 ad-hoc desilting"
        ),
        actor=principal,
        minutes=0,
    )
    w.step(
        RoleAssigned(
            role=Role.ENTRANT,
            person=_person(entrants[0], *names[entrants[0]], enterprise_id, today),
        ),
        actor=principal,
    )
    w.step(EntrantEntered(entrant_id=entrants[0]), actor=principal, bypass_rules=True)
    w.step(EntrantExited(entrant_id=entrants[0]), actor=principal, minutes=25)
    out.append(w.out)
    return out

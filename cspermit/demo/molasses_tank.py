"""A realistic example permit: cleaning a molasses tank in a sugar mill (H2S).

Used by ``cspermit permit demo-export``, the documentation and the tests. The
building blocks (:func:`space`, :func:`person`, :func:`atmosphere_test`,
:func:`ready_to_enter`) let a test stop at any step and break one condition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from permits.commands import PermitSession
from permits.events import (
    AlarmCleared,
    AlarmKind,
    AlarmRaised,
    ApprovalAuthority,
    Approved,
    AtmosphereTestRecorded,
    BriefingSigned,
    Certificate,
    Closed,
    ClosingStarted,
    DetectorIdentity,
    Drafted,
    EntrantEntered,
    EntrantExited,
    EquipmentConfirmed,
    GuardianOnDuty,
    HazardIdentified,
    IsolationApplied,
    IsolationKind,
    IsolationMethod,
    IsolationPointTemplate,
    IsolationRemoved,
    IsolationVerified,
    MonitoringSnapshot,
    MonitoringStarted,
    PersonalLockApplied,
    PersonalLockRemoved,
    PersonSnapshot,
    ReadingsChunkRecorded,
    ReadingsConfirmed,
    Resumed,
    Role,
    RoleAssigned,
    SignOffMeaning,
    SpaceSnapshot,
    VentilationStarted,
)
from permits.integrity import DeviceKey

CST = timezone(timedelta(hours=8))
START = datetime(2026, 11, 28, 8, 0, tzinfo=CST)
PERMIT_ID = "PMT-2026-0001"
DEVICE_ID = "TAB-SUGAR-01"
DETECTOR = DetectorIdentity(
    serial="GT4-0001",
    model="4-gas pump detector",
    calibration_due=date(2027, 3, 1),
    last_bump_test=datetime(2026, 11, 28, 7, 30, tzinfo=CST),
)

# Person ids of the example.
PRINCIPAL = "P-WANG"  # 王建国, 主要负责人
LEADER = "P-ZHAO"  # 赵强, 作业负责人
GUARDIAN = "P-LI"  # 李明, 监护人
ENTRANT_A = "P-ZHANG"  # 张伟, 作业人员
ENTRANT_B = "P-CHEN"  # 陈刚, contractor's welder
ELECTRICIAN = "P-SUN"  # 孙涛, applies the locks


def space(**changes: Any) -> SpaceSnapshot:
    base = SpaceSnapshot(
        space_id="SP-MOLASSES-01",
        name="糖蜜储罐 1号 (molasses tank 1)",
        required_channels=("O2", "LEL", "H2S", "CO"),
        sample_points=("top", "middle", "bottom"),
        isolation_points=(
            IsolationPointTemplate(
                point_id="IP-AGITATOR",
                description="agitator motor MCC-3 breaker",
                kind=IsolationKind.ELECTRICAL,
            ),
            IsolationPointTemplate(
                point_id="IP-INLET",
                description="molasses inlet DN100 from the fermenter",
                kind=IsolationKind.PIPE,
                hazardous_source=True,
            ),
        ),
        required_ppe=("SCBA", "harness"),
        rescue_items=("tripod_winch",),
        key_supervision=True,
        profile="cn-gongmao",
    )
    return base.model_copy(update=changes)


def person(person_id: str, name: str, **changes: Any) -> PersonSnapshot:
    base = PersonSnapshot(
        person_id=person_id,
        name=name,
        employer_id="ENT-SUGAR",
        training_valid_until=date(2027, 6, 30),
    )
    return base.model_copy(update=changes)


def people() -> dict[str, tuple[Role, PersonSnapshot]]:
    return {
        LEADER: (Role.WORK_LEADER, person(LEADER, "赵强")),
        PRINCIPAL: (
            Role.APPROVER,
            person(PRINCIPAL, "王建国", approval_authority=ApprovalAuthority.PRINCIPAL),
        ),
        GUARDIAN: (Role.GUARDIAN, person(GUARDIAN, "李明")),
        ENTRANT_A: (Role.ENTRANT, person(ENTRANT_A, "张伟")),
        ENTRANT_B: (
            Role.ENTRANT,
            person(
                ENTRANT_B,
                "陈刚",
                employer_id="CON-HUAXIN",
                contractor_id="CON-HUAXIN",
                certificates=(
                    Certificate(kind="hot_work", number="T-3201", valid_until=date(2028, 1, 1)),
                ),
            ),
        ),
    }


def atmosphere_test(
    taken_at: datetime,
    *,
    h2s_bottom: float = 0.0,
    o2: float = 20.9,
    points: Iterable[str] = ("top", "middle", "bottom"),
) -> dict[str, Any]:
    """The JSON of one pre-entry test (the form ``cspermit atmosphere check`` reads)."""

    def sample(point: str) -> dict[str, Any]:
        return {
            "point": point,
            "taken_at": taken_at.isoformat(),
            "status": [],
            "readings": [
                {"channel": "O2", "value": o2, "unit": "%VOL"},
                {"channel": "LEL", "value": 0.0, "unit": "%LEL", "gas": "CH4"},
                {
                    "channel": "H2S",
                    "value": h2s_bottom if point == "bottom" else 0.0,
                    "unit": "ppm",
                },
                {"channel": "CO", "value": 0.0, "unit": "ppm"},
            ],
        }

    return {
        "entry_at": taken_at.isoformat(),
        "space": {
            "id": "SP-MOLASSES-01",
            "required_channels": ["O2", "LEL", "H2S", "CO"],
            "sample_points": ["top", "middle", "bottom"],
            "oxygen_enriched": False,
        },
        "detector": {
            "serial": DETECTOR.serial,
            "calibration_due": DETECTOR.calibration_due.isoformat()
            if DETECTOR.calibration_due
            else None,
            "last_bump_test": DETECTOR.last_bump_test.isoformat()
            if DETECTOR.last_bump_test
            else None,
        },
        "samples": [sample(p) for p in points],
    }


def record_test(session: PermitSession, at: datetime, *, actor: str = GUARDIAN, **test: Any) -> int:
    """Record a driver test whose samples were taken two minutes before ``at``."""
    session.record(
        AtmosphereTestRecorded(
            test=atmosphere_test(at - timedelta(minutes=2), **test),
            detector=DETECTOR,
            source="driver",
            tested_by=actor,
        ),
        at,
        actor=actor,
    )
    return session.state.seq


def confirm_readings(session: PermitSession, at: datetime, entrants: Iterable[str]) -> None:
    passing = session.state.latest_passing_test
    assert passing is not None
    for entrant in entrants:
        session.record(
            ReadingsConfirmed(
                test_seq=passing.seq,
                signoff=session.signoff(entrant, SignOffMeaning.CONFIRM_READINGS, at),
            ),
            at,
            actor=entrant,
        )


def monitoring(at: datetime) -> MonitoringSnapshot:
    return MonitoringSnapshot(detector_serial=DETECTOR.serial, last_reading_at=at, acceptable=True)


def ready_to_enter(
    device_key: DeviceKey,
    start: datetime = START,
    *,
    permit_id: str = PERMIT_ID,
    skip: Iterable[str] = (),
    space_snapshot: SpaceSnapshot | None = None,
    person_changes: Mapping[str, Mapping[str, Any]] | None = None,
) -> PermitSession:
    """A permit on which both entrants may enter at ``start + 50 min``.

    ``skip`` names steps to leave out (``"hazard"``, ``"isolation"``,
    ``"verify"``, ``"personal_locks"``, ``"ventilation"``, ``"guardian"``,
    ``"equipment"``, ``"test"``, ``"briefing"``, ``"readings"``, ``"approval"``,
    ``"monitoring"``), to break one interlock condition at a time;
    ``person_changes`` edits the snapshots of named people.
    """
    skipped = set(skip)
    s = PermitSession(device_key)
    t = start
    s.record(
        Drafted(
            enterprise_id="ENT-SUGAR",
            space=space_snapshot or space(),
            work_description="清理糖蜜储罐底部结垢 (remove scale from the tank bottom), "
            "hot cutting of a bracket",
            required_certificates=("hot_work",),
        ),
        t,
        actor=LEADER,
        permit_id=permit_id,
    )
    for person_id, (role, snapshot) in people().items():
        if person_id == ENTRANT_A:
            # 张伟 also cuts: give him the certificate the work requires.
            snapshot = snapshot.model_copy(
                update={
                    "certificates": (
                        Certificate(kind="hot_work", number="T-1102", valid_until=date(2027, 9, 1)),
                    )
                }
            )
        if person_changes and person_id in person_changes:
            changed = {**snapshot.model_dump(), **person_changes[person_id]}
            snapshot = PersonSnapshot.model_validate(changed)
        s.record(RoleAssigned(role=role, person=snapshot), t + timedelta(minutes=1), actor=LEADER)
    if "hazard" not in skipped:
        s.record(
            HazardIdentified(
                hazard="H2S from fermenting molasses residue; O2 deficiency",
                controls=("blind the inlet", "forced ventilation", "continuous H2S monitoring"),
            ),
            t + timedelta(minutes=5),
            actor=LEADER,
        )
    if "isolation" not in skipped:
        s.record(
            IsolationApplied(
                point_id="IP-AGITATOR",
                method=IsolationMethod.ELECTRICAL_LOCKOUT,
                lock_id="L-101",
                tag_id="T-101",
                applied_by=ELECTRICIAN,
                lockbox_id="LB-1",
            ),
            t + timedelta(minutes=10),
            actor=ELECTRICIAN,
        )
        s.record(
            IsolationApplied(
                point_id="IP-INLET",
                method=IsolationMethod.BLIND_FLANGE,
                lock_id="L-102",
                tag_id="T-102",
                applied_by=ELECTRICIAN,
                lockbox_id="LB-1",
            ),
            t + timedelta(minutes=11),
            actor=ELECTRICIAN,
        )
        if "verify" not in skipped:
            for lock, point in (("L-101", "IP-AGITATOR"), ("L-102", "IP-INLET")):
                s.record(
                    IsolationVerified(point_id=point, lock_id=lock, verified_by=LEADER),
                    t + timedelta(minutes=15),
                    actor=LEADER,
                )
        if "personal_locks" not in skipped:
            for i, entrant in enumerate((ENTRANT_A, ENTRANT_B)):
                s.record(
                    PersonalLockApplied(
                        lockbox_id="LB-1", lock_id=f"PL-{i + 1}", person_id=entrant
                    ),
                    t + timedelta(minutes=16),
                    actor=entrant,
                )
    if "ventilation" not in skipped:
        s.record(
            VentilationStarted(method="forced", equipment="axial fan 2.2 kW"),
            t + timedelta(minutes=20),
            actor=GUARDIAN,
        )
    if "guardian" not in skipped:
        at = t + timedelta(minutes=22)
        s.record(
            GuardianOnDuty(signoff=s.signoff(GUARDIAN, SignOffMeaning.GUARD, at)),
            at,
            actor=GUARDIAN,
        )
        if "equipment" not in skipped:
            s.record(
                EquipmentConfirmed(
                    confirmed_by=GUARDIAN, items=("SCBA", "harness", "tripod_winch")
                ),
                t + timedelta(minutes=23),
                actor=GUARDIAN,
            )
    if "test" not in skipped:
        record_test(s, t + timedelta(minutes=40))
    if "briefing" not in skipped:
        at = t + timedelta(minutes=42)
        for entrant in (ENTRANT_A, ENTRANT_B):
            s.record(
                BriefingSigned(
                    briefed_by=LEADER, signoff=s.signoff(entrant, SignOffMeaning.BRIEF, at)
                ),
                at,
                actor=entrant,
            )
    if "readings" not in skipped and "test" not in skipped:
        confirm_readings(s, t + timedelta(minutes=43), (ENTRANT_A, ENTRANT_B))
    if "approval" not in skipped:
        at = t + timedelta(minutes=45)
        s.record(
            Approved(signoff=s.signoff(PRINCIPAL, SignOffMeaning.APPROVE, at)), at, actor=PRINCIPAL
        )
    if "monitoring" not in skipped:
        s.record(
            MonitoringStarted(
                detector=DETECTOR, channels=("O2", "LEL", "H2S", "CO"), sample_point="bottom"
            ),
            t + timedelta(minutes=46),
            actor=GUARDIAN,
        )
    return s


def demo_session(device_key: DeviceKey, start: datetime = START) -> PermitSession:
    """The whole job: entry, an H2S alarm and evacuation, re-test, resumption, close."""
    s = ready_to_enter(device_key, start)
    t = start
    at = t + timedelta(minutes=50)
    for entrant in (ENTRANT_A, ENTRANT_B):
        s.record(EntrantEntered(entrant_id=entrant, monitoring=monitoring(at)), at, actor=GUARDIAN)
    s.record(
        ReadingsChunkRecorded(
            sha256="9f2b5d0c3e1a4b6c8d7e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e",
            detector_serial=DETECTOR.serial,
            start=at,
            end=at + timedelta(minutes=1),
            channels=("O2", "LEL", "H2S", "CO"),
            values=240,
        ),
        at + timedelta(minutes=1),
        actor=GUARDIAN,
    )
    alarm_at = t + timedelta(minutes=80)
    s.record(
        AlarmRaised(
            alarm_id="A-1",
            kind=AlarmKind.GAS,
            channel="H2S",
            point="bottom",
            value=9.1,
            limit=6.6,
            unit="ppm",
        ),
        alarm_at,
        actor=GUARDIAN,
    )
    for entrant in (ENTRANT_A, ENTRANT_B):
        s.record(EntrantExited(entrant_id=entrant), alarm_at + timedelta(minutes=1), actor=GUARDIAN)
    s.record(AlarmCleared(alarm_id="A-1"), t + timedelta(minutes=95), actor=GUARDIAN)
    retest_at = t + timedelta(minutes=110)
    test_seq = record_test(s, retest_at)
    confirm_readings(s, retest_at + timedelta(minutes=1), (ENTRANT_A, ENTRANT_B))
    s.record(Resumed(test_seq=test_seq), retest_at + timedelta(minutes=2), actor=GUARDIAN)
    at = retest_at + timedelta(minutes=5)
    for entrant in (ENTRANT_A, ENTRANT_B):
        s.record(EntrantEntered(entrant_id=entrant, monitoring=monitoring(at)), at, actor=GUARDIAN)
    out_at = t + timedelta(minutes=160)
    for entrant in (ENTRANT_A, ENTRANT_B):
        s.record(EntrantExited(entrant_id=entrant), out_at, actor=GUARDIAN)
    s.record(ClosingStarted(), out_at + timedelta(minutes=2), actor=LEADER)
    for i, entrant in enumerate((ENTRANT_A, ENTRANT_B)):
        s.record(
            PersonalLockRemoved(lockbox_id="LB-1", lock_id=f"PL-{i + 1}", removed_by=entrant),
            out_at + timedelta(minutes=3),
            actor=entrant,
        )
    for lock, point in (("L-101", "IP-AGITATOR"), ("L-102", "IP-INLET")):
        s.record(
            IsolationRemoved(point_id=point, lock_id=lock, removed_by=ELECTRICIAN),
            out_at + timedelta(minutes=5),
            actor=ELECTRICIAN,
        )
    at = out_at + timedelta(minutes=8)
    s.record(Closed(signoff=s.signoff(LEADER, SignOffMeaning.CLOSE, at)), at, actor=LEADER)
    return s

"""Days offline, for real: a tablet (real store, real sync client over httpx's ASGI
transport against the real app) pulls its ledger, goes offline for five simulated days
and runs 40 permits (some with an H2S alarm and an evacuation, some with a guardian
handover) while the server's ledger changes: a detector's calibration lapses on day 2,
a worker's employer becomes a blacklisted contractor on day 3. On reconnection every
event syncs in order, none lost or duplicated; the stale-ledger disagreements are on the
traces; the tablet's ledger is current again (docs/server.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from cspermit.demo.permit_history import METHOD_FOR_KIND, Writer, h2s_alarm
from cspermit.demo.permit_history import _enter as enter  # the demo's test, brief, entry
from cspermit.demo.permit_history import _finish as finish  # close-out, locks off, closed
from permits.events import (
    AlarmCleared,
    Approved,
    Drafted,
    EntrantExited,
    EquipmentConfirmed,
    EvacuationOrdered,
    GuardianHandover,
    GuardianOnDuty,
    HazardIdentified,
    IsolationApplied,
    IsolationVerified,
    Role,
    RoleAssigned,
    SignOffMeaning,
    VentilationStarted,
)
from tablet_app.desk import PermitDesk, detector_identity, person_snapshot, space_snapshot
from tablet_app.store import Store
from tests.e2e.harness import Site

pytestmark = pytest.mark.slow

START = (datetime.now(UTC) - timedelta(days=5, hours=6)).replace(microsecond=0)
ENT = "ent-a"
SERIAL = "GASL-4-0001"


class Clock:
    """The simulated time both sides read: the tablet's clock and the server's ledger."""

    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at


def training(day: date) -> dict[str, Any]:
    return {
        "topic": "confined_space",
        "completed_on": (day - timedelta(days=30)).isoformat(),
        "valid_until": (day + timedelta(days=300)).isoformat(),
    }


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from sync_server import storage
    from sync_server.services import reference

    clock = Clock()
    # The server's clock for ledger writes is the simulated one (a write on day 2 is
    # valid from day 2); the events' own times are the tablet's.
    monkeypatch.setattr(reference, "now_iso", lambda at=None: storage.now_iso(at or clock()))
    return clock


def test_five_days_offline_forty_permits_sync_in_order_with_the_ledger_checked(
    site: Site, clock: Clock
) -> None:
    site.context.clock = clock
    store, desk = site.store, site.desk

    def put(path: str, body: dict[str, Any]) -> None:
        kind, item_id = path.split("/")
        site.put(kind, item_id, body)

    def detector(day: int, calibration_due: date) -> dict[str, Any]:
        # The daily bump test is recorded on the server (and the tablet records the same).
        return {
            "model": "four-gas",
            "protocol": "gasl",
            "channels": ["O2", "H2S", "LEL", "CO"],
            "calibration_due": calibration_due.isoformat(),
            "bump_tests": [
                {"at": (START + timedelta(days=d)).isoformat(), "passed": True}
                for d in range(day + 1)
            ],
        }

    # Day 0: the ledger as a new enterprise enters it, one training topic per person.
    people = {
        "a-p-zhao": ["principal", "approver", "work_leader"],
        "a-p-sun": ["guardian"],
        "a-p-qian": ["guardian"],
        "a-p-li": ["entrant"],
        "a-p-zhou": ["entrant"],
    }
    for pid in people:  # one training record per person, kept on the person
        r = site.api("DELETE", f"/api/v1/enterprises/{ENT}/training/{pid}-cs")
        assert r.status_code == 204, r.text
    names = {"a-p-zhao": "赵建国", "a-p-sun": "孙立", "a-p-qian": "钱卫东", "a-p-li": "李强"}
    names["a-p-zhou"] = "周明"
    for pid, roles in people.items():
        body = {
            "name": names[pid],
            "employer": {"kind": "enterprise", "id": ENT},
            "roles": roles,
            "training": [training(START.date())],
        }
        put(f"people/{pid}", body)
    put(f"detectors/{SERIAL}", detector(0, START.date() + timedelta(days=90)))
    site.enrol()
    assert (
        store.reference("detectors", SERIAL)["calibration_due"]
        == (START.date() + timedelta(days=90)).isoformat()
    )

    # Offline: five days, eight permits a day, on the tablet's copy of the ledger.
    lapsed = START.date() + timedelta(days=1)
    written: dict[str, int] = {}
    for day in range(5):
        clock.at = START + timedelta(days=day)
        cal = lapsed if day >= 2 else START.date() + timedelta(days=90)
        put(f"detectors/{SERIAL}", detector(day, cal))
        if day == 3:
            put(
                "contractors/c-clean",
                {
                    "name": "昆明清洁服务公司",
                    "uscc": "91530102MA6K3XY09U",
                    "contract_reference": "HT-7",
                    "contract_valid_from": (START.date() - timedelta(days=10)).isoformat(),
                    "contract_valid_until": (START.date() + timedelta(days=200)).isoformat(),
                    "blacklisted_on": clock.at.date().isoformat(),
                    "blacklist_reason": "安全事故",
                },
            )
            put(
                "people/a-p-zhou",
                {
                    "name": "周明",
                    "employer": {"kind": "contractor", "id": "c-clean"},
                    "roles": ["entrant"],
                    "training": [training(START.date())],
                },
            )
        for n in range(8):
            clock.at = START + timedelta(days=day, hours=1, minutes=1 + 50 * n)
            pid = f"A-OFF-{day}{n}"
            written[pid] = run_permit(desk, store, pid, clock, day, alarm=n == 3, handover=n == 5)
    assert len(written) == 40

    # Back online on day 5.
    clock.at = START + timedelta(days=5, hours=1)
    on_tablet = sum(len(store.events_for_permit(p)) for p in written)
    assert on_tablet == sum(written.values())
    site.sync()
    assert store.count_unacked() == {"events": 0, "chunks": 0}
    site.sync()  # nothing twice

    from sync_server.schema import events, permits

    with site.app.state.engine.connect() as conn:
        rows = conn.execute(
            sa.select(events.c.permit_id, events.c.seq, events.c.event_id).where(
                events.c.permit_id.like("A-OFF-%")
            )
        ).all()
        assert len(rows) == on_tablet == len({r.event_id for r in rows})
        by_permit: dict[str, list[int]] = {}
        for r in rows:
            by_permit.setdefault(r.permit_id, []).append(r.seq)
        assert {p: sorted(s) for p, s in by_permit.items()} == {
            p: list(range(1, n + 1)) for p, n in written.items()
        }
        anomalies = dict(
            conn.execute(
                sa.select(permits.c.permit_id, permits.c.anomalies).where(
                    permits.c.permit_id.like("A-OFF-%")
                )
            ).all()
        )

    trace = site.trace

    # Days 0 and 1: the tablet's copy was the server's; nothing to report.
    for pid in [p for p in written if p[6] in "01"]:
        assert not [a for a in anomalies[pid] if a.startswith("LEDGER_")], (pid, anomalies[pid])
        assert "CLOCK_AHEAD" not in anomalies[pid]
    # From day 2 the detector's calibration had lapsed on the server.
    for pid in [p for p in written if p[6] in "234"]:
        assert "LEDGER_MISMATCH_DETECTOR_CALIBRATION" in anomalies[pid], anomalies[pid]
        assert "CALIBRATION_EXPIRED" in anomalies[pid], anomalies[pid]
    # From day 3 周明 worked for a blacklisted contractor.
    for pid in [p for p in written if p[6] in "34"]:
        assert {"LEDGER_MISMATCH_CONTRACTOR", "LEDGER_MISMATCH_EMPLOYER"} <= set(anomalies[pid])
        assert "PERSON_CONTRACTOR_BLACKLISTED" in anomalies[pid]
    t = trace("A-OFF-33")
    calibration = next(
        f for f in t["findings"] if f["code"] == "LEDGER_MISMATCH_DETECTOR_CALIBRATION"
    )
    assert calibration["facts"]["fields"][0]["ledger"] == lapsed.isoformat()
    assert {h["rule_code"] for h in t["hazards"]} >= {"PERSON_CONTRACTOR_BLACKLISTED"}
    assert any(e["type"] == "alarm_raised" for e in t["events"])
    assert any(e["type"] == "guardian_handover" for e in trace("A-OFF-45")["events"])
    # The tablet's ledger is current again.
    assert store.reference("detectors", SERIAL)["calibration_due"] == lapsed.isoformat()
    assert store.reference("people", "a-p-zhou")["contractor_id"] == "c-clean"
    store.close()


def run_permit(
    desk: PermitDesk,
    store: Store,
    permit_id: str,
    clock: Clock,
    day: int,
    *,
    alarm: bool,
    handover: bool,
) -> int:
    """One permit from draft to close on the tablet's ledger copy (its snapshots come
    from the tablet's store rows, as the desk records them), decided by the core's rules
    and signed with the enrolled key; each event is committed to the tablet's store."""
    w = Writer(permit_id, desk.key, clock.at)
    space = space_snapshot(store.reference("spaces", "A-T1") or {})
    crew = ("a-p-zhao", "a-p-sun", "a-p-qian", "a-p-li", "a-p-zhou")
    person = {pid: person_snapshot(store.reference("people", pid) or {}) for pid in crew}
    # The day's bump test, recorded on the tablet and on the server alike.
    det = detector_identity(store.reference("detectors", SERIAL) or {}).model_copy(
        update={"last_bump_test": START + timedelta(days=day)}
    )
    leader, guardian, relief, entrants = "a-p-zhao", "a-p-sun", "a-p-qian", ["a-p-li", "a-p-zhou"]
    w.step(Drafted(enterprise_id=ENT, space=space, work_description="清罐"), leader, minutes=0)
    roles = [(Role.WORK_LEADER, leader), (Role.APPROVER, leader), (Role.GUARDIAN, guardian)]
    roles += [(Role.GUARDIAN, relief)] + [(Role.ENTRANT, e) for e in entrants]
    for role, pid in roles:
        w.step(RoleAssigned(role=role, person=person[pid]), leader, minutes=0.5)
    w.step(HazardIdentified(hazard="硫化氢中毒", controls=("ventilation",)), leader)
    for point in space.isolation_points:
        lock = f"L-{permit_id}-{point.point_id}"
        method = METHOD_FOR_KIND[point.kind.value]
        applied = IsolationApplied(
            point_id=point.point_id, method=method, lock_id=lock, tag_id=lock, applied_by=leader
        )
        w.step(applied, leader)
        w.step(
            IsolationVerified(point_id=point.point_id, lock_id=lock, verified_by=guardian), guardian
        )
    w.step(VentilationStarted(equipment="fan"), guardian, minutes=3)
    w.step(lambda x: GuardianOnDuty(signoff=x.signoff(guardian, SignOffMeaning.GUARD)), guardian)
    items = tuple(dict.fromkeys((*space.required_ppe, *space.rescue_items)))
    w.step(EquipmentConfirmed(confirmed_by=guardian, items=items), guardian)
    w.step(lambda x: Approved(signoff=x.signoff(leader, SignOffMeaning.APPROVE)), leader)
    enter(w, space, det, entrants, leader)
    on_duty = guardian
    if handover:

        def handed(x: Writer) -> GuardianHandover:
            out = x.signoff(guardian, SignOffMeaning.HANDOVER_OUT)
            return GuardianHandover(
                outgoing=out, incoming=x.signoff(relief, SignOffMeaning.HANDOVER_IN)
            )

        w.step(handed, guardian, minutes=10)
        on_duty = relief
    if alarm:
        h2s_alarm(w, on_duty, 15.0, minutes=5)
        w.step(EvacuationOrdered(reason="H2S"), on_duty, minutes=0.2)
    for e in entrants:
        w.step(EntrantExited(entrant_id=e), on_duty, minutes=1)
    if alarm:
        w.step(AlarmCleared(alarm_id="AL-1"), on_duty, minutes=10)
    finish(w, leader)
    for event in w.out.events:
        store.append_event(event)
    clock.at = w.at
    return len(w.out.events)

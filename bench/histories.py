"""Realistic permit histories for the benches, written with the permit core's commands
(``decide`` → ``seal`` → ``apply``, the demo's ``Writer``) as a tablet writes them:
set-up (roles, hazard, isolations, ventilation, guardian, equipment, approval), the
atmosphere test, briefings and entries, one readings chunk a minute while people are
inside (the tablet's ``ChunkRecorder`` span), sometimes an alarm and an evacuation,
then exits, isolation removal and close.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

ENTERPRISE = "ent-a"


def live_writer(
    permit_id: str, key: Any, start: datetime, *, enterprise_id: str = ENTERPRISE
) -> Any:
    """The tablet's writer of a job set up, tested and entered (two entrants inside, the
    continuous monitor on): go on with its ``step`` (``bench.province``'s live alarms)
    or with chunks and a close (``job``)."""
    from cspermit.demo.permit_history import Writer, _enter, _prepare, _space
    from cspermit.demo.seed import DEMO_PEOPLE, DEMO_SPACES

    people = DEMO_PEOPLE[ENTERPRISE]
    names = {pid: (name, authority) for pid, name, authority in people}
    roles = {
        "leader": "a-p-zhao",
        "approver": "a-p-zhao",
        "guardian": "a-p-sun",
        "entrants": "a-p-li,a-p-zhou",
    }
    space = _space(DEMO_SPACES[ENTERPRISE][0])
    from permits.events import DetectorIdentity

    detector = DetectorIdentity(
        serial="GASL-4-0001",
        model="four-gas",
        calibration_due=start.date() + timedelta(days=120),
        last_bump_test=start - timedelta(hours=2),
    )
    w = Writer(permit_id, key, start)
    _prepare(w, enterprise_id, space, roles, detector, start.date(), names, "硫化氢中毒 H2S")
    _enter(w, space, detector, ["a-p-li", "a-p-zhou"], "a-p-zhao")
    return w


def job(
    permit_id: str,
    key: Any,
    start: datetime,
    minutes_inside: int,
    *,
    alarm: bool = False,
    enterprise_id: str = ENTERPRISE,
) -> list[dict[str, Any]]:
    """One permit's signed chain (JSON events) for a job of ``minutes_inside``."""
    from cspermit.demo.permit_history import _finish, _record_chunk, _space, h2s_alarm
    from cspermit.demo.seed import DEMO_SPACES
    from permits.events import AlarmCleared, EntrantExited, EvacuationOrdered

    w = live_writer(permit_id, key, start, enterprise_id=enterprise_id)
    channels = _space(DEMO_SPACES[ENTERPRISE][0]).required_channels
    for minute in range(minutes_inside):
        peak = 12.0 if alarm and minute == minutes_inside - 1 else 0.0
        _record_chunk(w, "GASL-4-0001", channels, 1, h2s_peak=peak)
    if alarm:
        h2s_alarm(w, "a-p-sun", 12.0, minutes=0.1)
        w.step(EvacuationOrdered(reason="H2S over the limit"), actor="a-p-sun", minutes=0.1)
    for e in ("a-p-li", "a-p-zhou"):
        w.step(EntrantExited(entrant_id=e), actor="a-p-sun", minutes=0.5)
    if alarm:
        w.step(AlarmCleared(alarm_id="AL-1"), actor="a-p-sun", minutes=10)
    _finish(w, "a-p-zhao")
    return w.out.events


def jobs(
    key: Any, permits: int, minutes_inside: int, prefix: str = "BENCH"
) -> list[list[dict[str, Any]]]:
    """``permits`` chains, one job a day back from now, every fifth with an alarm."""
    now = datetime.now(UTC)
    return [
        job(
            f"{prefix}-{i:06d}",
            key,
            now - timedelta(days=permits - i, hours=minutes_inside / 60 + 2),
            minutes_inside,
            alarm=i % 5 == 4,
        )
        for i in range(permits)
    ]

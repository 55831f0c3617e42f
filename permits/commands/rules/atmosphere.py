"""Atmosphere and monitoring: pre-entry tests, readings confirmation, live monitoring
and ventilation. The test itself is judged by :mod:`permits.atmosphere`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from permits.atmosphere import parse_test
from permits.commands.codes import Code
from permits.commands.common import countersign_unmet, signoff_unmet
from permits.errors import InvalidInput, ProfileError, Unmet
from permits.events import (
    AtmosphereTestRecorded,
    DetectorIdentity,
    MonitoringStarted,
    MonitoringStopped,
    Payload,
    ReadingsConfirmed,
    SignOffMeaning,
)
from permits.state import PermitState, test_input

__all__ = [
    "atmosphere_test",
    "detector_unmet",
    "monitoring_started",
    "monitoring_stopped",
    "readings_confirmed",
    "ventilation_stopped",
]


def ventilation_stopped(state: PermitState, payload: Payload, now: datetime) -> list[Unmet]:
    if state.inside:
        return [
            Unmet(Code.VENTILATION_STOP_WHILE_INSIDE, {"people": ", ".join(sorted(state.inside))})
        ]
    return []


def atmosphere_test(state: PermitState, p: AtmosphereTestRecorded, now: datetime) -> list[Unmet]:
    unmet: list[Unmet] = []
    if p.source == "manual":
        unmet.extend(countersign_unmet(state, p.countersign, p.tested_by, now))
    try:
        parse_test(test_input(p, state.space, now))
    except InvalidInput as exc:
        unmet.append(
            Unmet(Code.ATMOSPHERE_TEST_INVALID, {"field": exc.field, "expected": exc.expected})
        )
    serial = p.test.detector.serial
    if serial != p.detector.serial:
        unmet.append(Unmet(Code.DETECTOR_MISMATCH, {"got": serial, "expected": p.detector.serial}))
    return unmet


def monitoring_started(state: PermitState, p: MonitoringStarted, now: datetime) -> list[Unmet]:
    unmet: list[Unmet] = []
    if state.monitoring_detector is not None:
        unmet.append(Unmet(Code.MONITORING_ALREADY_LIVE, {"detector": state.monitoring_detector}))
    unmet.extend(detector_unmet(state, p.detector, now))
    return unmet


def detector_unmet(state: PermitState, detector: DetectorIdentity, now: datetime) -> list[Unmet]:
    """The detector that monitors is trusted as one that tests (docs/rules.md, Trusting
    the detector): calibration not due before today (in the event's own time zone) and
    a bump test at most the profile's limit old. None on record refuses, as at entry."""
    facts: dict[str, object] = {"detector": detector.serial}
    unmet: list[Unmet] = []
    due = detector.calibration_due
    if due is None or due < now.date():
        unmet.append(
            Unmet(
                Code.MONITORING_DETECTOR_NOT_CALIBRATED,
                {**facts, "calibration_due": due.isoformat() if due else "-"},
            )
        )
    bump = detector.last_bump_test
    try:
        limit = state.profile.bump_test_max_age
    except ProfileError:
        limit = timedelta(0)  # no loadable profile: no bump test is recent enough
    if bump is None or bump > now or now - bump > limit:
        unmet.append(
            Unmet(
                Code.MONITORING_DETECTOR_NOT_BUMP_TESTED,
                {
                    **facts,
                    "last_bump_test": bump.isoformat() if bump else "-",
                    "max_hours": round(limit.total_seconds() / 3600, 1),
                },
            )
        )
    return unmet


def monitoring_stopped(state: PermitState, p: MonitoringStopped, now: datetime) -> list[Unmet]:
    if state.monitoring_detector != p.detector_serial:
        return [Unmet(Code.MONITORING_NOT_LIVE, {"detector": p.detector_serial})]
    if state.inside:
        return [
            Unmet(Code.MONITORING_STOP_WHILE_INSIDE, {"people": ", ".join(sorted(state.inside))})
        ]
    return []


def readings_confirmed(state: PermitState, p: ReadingsConfirmed, now: datetime) -> list[Unmet]:
    person = p.signoff.person_id
    unmet: list[Unmet] = []
    if person not in state.entrants:
        unmet.append(Unmet(Code.NOT_AN_ENTRANT, {"person": person}))
    passing = state.latest_passing_test
    if passing is None or passing.seq != p.test_seq or state.latest_test is not passing:
        unmet.append(Unmet(Code.READINGS_NOT_LATEST_PASSING, {"test_seq": p.test_seq}))
    unmet.extend(signoff_unmet(state, p.signoff, SignOffMeaning.CONFIRM_READINGS, now))
    return unmet

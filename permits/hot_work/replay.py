"""A hot-work chain on a device (:class:`HotWorkSession`) and on the server
(:func:`replay_hot_work`: fold, re-check every event, collect findings).

Findings (automatic hazards, docs/rules.md, Hot work): a fire started without a
passing gas analysis, without a fire watcher, or outside the permit's validity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from permits.commands.decision import check, decide
from permits.errors import ProfileError, Unmet
from permits.events import Event, HotWorkFireStarted, Payload, SignOff, SignOffMeaning
from permits.hazards import HazardFinding
from permits.hot_work.rules import HotWorkCode, analysis_unmet
from permits.hot_work.state import HotWorkState, HotWorkStatus, apply_hot_work
from permits.integrity import DeviceKey, seal
from permits.messages import N_, ReasonCode

__all__ = [
    "GB30871_5",
    "HotWorkFinding",
    "HotWorkReplayResult",
    "HotWorkSession",
    "hot_work_findings",
    "replay_hot_work",
]

GB30871_5 = "GB 30871-2022 §5"


class HotWorkFinding(ReasonCode):
    HOT_WORK_WITHOUT_PASSING_ANALYSIS = (
        "HOT_WORK_WITHOUT_PASSING_ANALYSIS",
        N_("the fire was started at event {seq} without a passing gas analysis"),
        N_("hot work without gas analysis (GB 30871 §5.3): investigate and rectify"),
    )
    HOT_WORK_WITHOUT_FIRE_WATCHER = (
        "HOT_WORK_WITHOUT_FIRE_WATCHER",
        N_("the fire was started at event {seq} without a fire watcher present"),
        N_("hot work without a fire watcher (GB 30871 §5.2.14): investigate and rectify"),
    )
    HOT_WORK_OUTSIDE_VALIDITY = (
        "HOT_WORK_OUTSIDE_VALIDITY",
        N_("the fire was started at event {seq} outside the permit's validity"),
        N_("hot work outside validity (GB 30871 §5.1.5): investigate and rectify"),
    )


def hot_work_findings(state: HotWorkState, event: Event) -> list[HazardFinding]:
    """Findings for one fire start, judged on the state before it."""
    p = event.payload
    if not isinstance(p, HotWorkFireStarted):
        return []
    at = event.occurred_at

    def finding(code: HotWorkFinding, unmet: Iterable[Unmet]) -> HazardFinding:
        return HazardFinding(
            code.value,
            permit_id=event.permit_id,
            seq=event.seq,
            person=event.actor,
            occurred_at=at,
            unmet=tuple(u.code for u in unmet),
            clause=GB30871_5,
        )

    found: list[HazardFinding] = []
    try:
        analysis = [
            u
            for u in analysis_unmet(state, at)
            if u.code != HotWorkCode.HOT_WORK_MONITORING_REQUIRED
        ]
    except ProfileError:
        analysis = [Unmet(HotWorkCode.HOT_WORK_PROFILE_UNKNOWN)]
    if analysis:
        found.append(finding(HotWorkFinding.HOT_WORK_WITHOUT_PASSING_ANALYSIS, analysis))
    watcher = p.watcher.person_id
    if watcher not in state.fire_watchers or watcher in state.operators:
        found.append(
            finding(
                HotWorkFinding.HOT_WORK_WITHOUT_FIRE_WATCHER,
                [Unmet(HotWorkCode.HOT_WORK_WATCHER_NOT_PRESENT, {"person": watcher})],
            )
        )
    if state.status_at(at) is HotWorkStatus.EXPIRED or state.approved_at is None:
        found.append(finding(HotWorkFinding.HOT_WORK_OUTSIDE_VALIDITY, []))
    return found


@dataclass(frozen=True)
class HotWorkReplayResult:
    state: HotWorkState
    violations: tuple[Any, ...]  # permits.replay.ReplayViolation
    findings: tuple[HazardFinding, ...]
    flags: tuple[Any, ...]  # permits.replay.ReplayFlag: duties missed while burning
    now: datetime

    @property
    def status(self) -> HotWorkStatus:
        return self.state.status_at(self.now)

    @property
    def clean(self) -> bool:
        return not self.violations and not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.as_dict(self.now),
            "violations": [v.as_dict() for v in self.violations],
            "findings": [f.as_dict() for f in self.findings],
            "flags": [f.as_dict() for f in self.flags],
        }


def replay_hot_work(events: Iterable[Event], now: datetime) -> HotWorkReplayResult:
    from permits.hot_work.rules import hot_work_duties
    from permits.replay import ReplayFlag, ReplayViolation

    state = HotWorkState()
    violations: list[ReplayViolation] = []
    findings: list[HazardFinding] = []
    flags: list[ReplayFlag] = []
    flagged: set[tuple[str, object]] = set()
    for event in events:
        unmet = check(state, event, event.occurred_at)
        if unmet:
            violations.append(
                ReplayViolation(event.seq, event.type.value, str(event.event_id), tuple(unmet))
            )
        findings.extend(hot_work_findings(state, event))
        try:
            owed = hot_work_duties(state, event.occurred_at)
        except ProfileError:
            owed = []
        for duty in owed:
            key = (duty.code, duty.facts.get("point"))
            if key not in flagged:
                flagged.add(key)
                flags.append(ReplayFlag(event.seq, f"{duty.code}_OVERDUE", dict(duty.facts)))
        state = apply_hot_work(state, event)
    return HotWorkReplayResult(state, tuple(violations), tuple(findings), tuple(flags), now)


@dataclass
class HotWorkSession:
    """One device writing one hot-work permit: decide, seal, fold, keep the chain."""

    device_key: DeviceKey
    state: HotWorkState = field(default_factory=HotWorkState)
    events: list[Event] = field(default_factory=list)

    def record(
        self, payload: Payload, now: datetime, *, actor: str, permit_id: str | None = None
    ) -> Event:
        """Decide, seal and apply; a RuleViolation leaves the session unchanged."""
        event = decide(
            self.state,
            payload,
            now,
            actor=actor,
            device_id=self.device_key.device_id,
            permit_id=permit_id,
        )
        sealed = seal(event, self.state.head_hash, self.device_key)
        self.state = apply_hot_work(self.state, sealed)
        self.events.append(sealed)
        return sealed

    def signoff(self, person_id: str, meaning: SignOffMeaning, now: datetime) -> SignOff:
        return SignOff(
            person_id=person_id,
            meaning=meaning,
            signed_at=now,
            state_hash=self.state.head_hash,
            pin_verified=True,
        )

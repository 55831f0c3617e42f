"""A hot-work chain on a device (:class:`HotWorkSession`) and on the server
(:func:`replay_hot_work`: fold, re-check every event, collect findings).

Findings (automatic hazards, docs/rules.md, Hot work): a fire started without a
passing gas analysis, without a fire watcher, or outside the permit's validity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from permits.commands.session import ChainSession
from permits.errors import ProfileError, Unmet
from permits.events import (
    Event,
)
from permits.hazards import HazardFinding
from permits.hot_work.codes import HotWorkCode
from permits.hot_work.events import (
    HotWorkFireStarted,
)
from permits.hot_work.rules import analysis_unmet, hot_work_duties
from permits.hot_work.state import HotWorkState, HotWorkStatus, apply_hot_work
from permits.messages import N_, ReasonCode
from permits.replay import (
    ReplayFlag,
    ReplayResult,
    ReplayViolation,
    overdue_flags,
    violation_of,
)

__all__ = [
    "GB30871_5",
    "HotWorkFinding",
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


def replay_hot_work(events: Iterable[Event], now: datetime) -> ReplayResult[HotWorkState]:
    """Fold a hot-work chain; check each event against the state before it, at its own
    time; collect the findings and, once per fire point, the duties missed."""
    state = HotWorkState()
    violations: list[ReplayViolation] = []
    findings: list[HazardFinding] = []
    flags: list[ReplayFlag] = []
    flagged: set[tuple[str, object]] = set()
    for event in events:
        violation = violation_of(state, event)
        if violation is not None:
            violations.append(violation)
        findings.extend(hot_work_findings(state, event))
        flags.extend(
            overdue_flags(
                event.seq, partial(hot_work_duties, state, event.occurred_at), flagged, "point"
            )
        )
        state = apply_hot_work(state, event)
    return ReplayResult(state, tuple(violations), tuple(findings), tuple(flags), now)


@dataclass
class HotWorkSession(ChainSession[HotWorkState]):
    """A hot-work permit's session (decide, seal, fold, keep the chain)."""

    state: HotWorkState = field(default_factory=HotWorkState)

    def fold_one(self, state: HotWorkState, event: Event) -> HotWorkState:
        return apply_hot_work(state, event)

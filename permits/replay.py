"""Replay a permit chain: fold it, re-check every event's rules, collect findings.

The server runs this on every synced chain (after :func:`permits.integrity.verify_chain`).
A rule broken by a recorded event does not stop the replay: the event is
folded anyway (it happened on site) and the violation is collected, so it can be
stored as evidence and filed as a hazard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from permits.commands import check
from permits.errors import ProfileError, Unmet
from permits.events import AtmosphereTestRecorded, Event
from permits.hazards import HazardFinding, entry_findings
from permits.interlock import duties
from permits.state import PermitState, apply

__all__ = [
    "MANUAL_ATMOSPHERE_ENTRY",
    "RECORDED_VERDICT_DIFFERS",
    "ReplayFlag",
    "ReplayResult",
    "ReplayViolation",
    "Replayer",
    "replay",
    "replay_permit",
]


MANUAL_ATMOSPHERE_ENTRY = "MANUAL_ATMOSPHERE_ENTRY"
# The device's own verdict disagrees with the recomputed one (a buggy or tampered device).
RECORDED_VERDICT_DIFFERS = "RECORDED_VERDICT_DIFFERS"
# Duties missed while people were inside: RETEST_DUE_OVERDUE, MONITORING_REQUIRED_OVERDUE.


@dataclass(frozen=True)
class ReplayViolation:
    seq: int
    event_type: str
    event_id: str
    unmet: tuple[Unmet, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "type": self.event_type,
            "event_id": self.event_id,
            "unmet": [
                {**u.as_dict(), "message": u.message(), "remedy": u.remedy()} for u in self.unmet
            ],
        }


@dataclass(frozen=True)
class ReplayFlag:
    """Something the bureau should see that is not a violation (a manual test)."""

    seq: int
    code: str
    facts: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "code": self.code, **self.facts}


class _Replayed(Protocol):
    def status_at(self, at: datetime) -> StrEnum: ...

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]: ...


StateT = TypeVar("StateT", bound=_Replayed)


@dataclass(frozen=True)
class ReplayResult(Generic[StateT]):
    """What a replay found; ``state`` is the permit type's fold (a :class:`PermitState`
    for confined space, a ``HotWorkState`` for hot work)."""

    state: StateT
    violations: tuple[ReplayViolation, ...]
    findings: tuple[HazardFinding, ...]
    flags: tuple[ReplayFlag, ...]
    now: datetime

    @property
    def status(self) -> StrEnum:
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


def violation_of(state: Any, event: Event) -> ReplayViolation | None:
    """The rules ``event`` broke against the state before it, at its own time."""
    unmet = check(state, event, event.occurred_at)
    if not unmet:
        return None
    return ReplayViolation(event.seq, event.type.value, str(event.event_id), tuple(unmet))


def overdue_flags(
    seq: int, owed: Callable[[], Iterable[Unmet]], flagged: set[tuple[str, object]], by: str
) -> list[ReplayFlag]:
    """A flag for each duty ``owed()`` that was missed, once per value of its ``by``
    fact (``flagged`` keeps what is already flagged); no loadable profile, no duty."""
    try:
        duties_now = list(owed())
    except ProfileError:
        return []
    out = []
    for duty in duties_now:
        key = (duty.code, duty.facts.get(by))
        if key not in flagged:
            flagged.add(key)
            out.append(ReplayFlag(seq, f"{duty.code}_OVERDUE", dict(duty.facts)))
    return out


def replay(events: Iterable[Event], now: datetime) -> ReplayResult[PermitState]:
    """Fold ``events``; check each against the state before it at its own time."""
    replayer = Replayer()
    replayer.feed(events)
    return replayer.result(now)


def replay_permit(events: Iterable[Event], now: datetime) -> ReplayResult[Any]:
    """:func:`replay`, or the hot-work replay when the chain opens a hot-work permit
    (permits.hot_work.replay_hot_work); a confined-space chain replays as before."""
    chain = list(events)
    from permits.events import EventType

    if chain and chain[0].type is EventType.HOT_WORK_DRAFTED:
        from permits.hot_work.replay import replay_hot_work

        hot: ReplayResult[Any] = replay_hot_work(chain, now)
        return hot
    return replay(chain, now)


class Replayer:
    """The fold of :func:`replay`, kept between calls so a chain that grows can be
    replayed from where it stopped: ``feed`` the new events only, and every rule is
    checked against the state before each of them, exactly as a replay from seq 1
    would (the server keeps one per permit it has just seen, so a push into a long
    chain costs O(new events), not O(chain))."""

    def __init__(self) -> None:
        self.state = PermitState()
        self.violations: list[ReplayViolation] = []
        self.findings: list[HazardFinding] = []
        self.flags: list[ReplayFlag] = []
        self._flagged: set[tuple[str, object]] = set()

    def copy(self) -> Replayer:
        """An independent copy (the state is immutable; the lists are not)."""
        other = Replayer()
        other.state = self.state
        other.violations = list(self.violations)
        other.findings = list(self.findings)
        other.flags = list(self.flags)
        other._flagged = set(self._flagged)
        return other

    def result(self, now: datetime) -> ReplayResult[PermitState]:
        return ReplayResult(
            self.state, tuple(self.violations), tuple(self.findings), tuple(self.flags), now
        )

    def feed(self, events: Iterable[Event]) -> None:
        state = self.state
        violations, findings, flags = self.violations, self.findings, self.flags
        flagged = self._flagged
        for event in events:
            violation = violation_of(state, event)
            if violation is not None:
                violations.append(violation)
            findings.extend(entry_findings(state, event))
            # Once per overdue test, not at every event.
            flags.extend(
                overdue_flags(
                    event.seq, partial(duties, state, event.occurred_at), flagged, "test_seq"
                )
            )
            p = event.payload
            after = apply(state, event)
            if isinstance(p, AtmosphereTestRecorded):
                recorded = p.verdict.get("acceptable")
                latest = after.latest_test
                if (
                    isinstance(recorded, bool)
                    and latest is not None
                    and recorded != latest.acceptable
                ):
                    flags.append(
                        ReplayFlag(
                            event.seq,
                            RECORDED_VERDICT_DIFFERS,
                            {"recorded": recorded, "recomputed": latest.acceptable},
                        )
                    )
            if isinstance(p, AtmosphereTestRecorded) and p.source == "manual":
                flags.append(
                    ReplayFlag(
                        event.seq,
                        MANUAL_ATMOSPHERE_ENTRY,
                        {
                            "tested_by": p.tested_by,
                            "countersigned_by": p.countersign.person_id if p.countersign else None,
                        },
                    )
                )
            state = after
            self.state = state

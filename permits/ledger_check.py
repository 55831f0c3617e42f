"""What a tablet believed against what the ledger said: the server's cross-check.

A tablet records snapshots of its ledger copy (a person at ``RoleAssigned``, the space at
``Drafted``, the detector at ``AtmosphereTestRecorded`` and ``MonitoringStarted``) and may
be offline for days. The server asks its own ledger what it said at each event's time and
hands it here as the core's reference models; this module builds the snapshots the
tablet would have recorded from them (:func:`person_snapshot`, :func:`space_snapshot`,
:func:`detector_identity`), lists each disagreement (:func:`cross_check`), and replays
the chain with the ledger's snapshots in place of the tablet's with the core's own rules
(:class:`permits.replay.Replayer`), so every refusal it reports carries the rule's own
reason code. No rule is restated here (docs/rules.md, "Major accident hazards").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from permits.atmosphere_record import DetectorRecord
from permits.events import (
    ApprovalAuthority,
    AtmosphereTestRecorded,
    Certificate,
    ContractorSnapshot,
    DelegationSnapshot,
    DetectorIdentity,
    Drafted,
    Event,
    EventType,
    IsolationKind,
    IsolationPointTemplate,
    MonitoringStarted,
    PersonSnapshot,
    RoleAssigned,
    SpaceSnapshot,
)
from permits.profiles import DEFAULT_PROFILE
from permits.reference import Certificate as LedgerCertificate
from permits.reference import (
    ConfinedSpace,
    Contractor,
    Delegation,
    Detector,
    Person,
    TrainingRecord,
)
from permits.reference import Role as LedgerRole
from permits.replay import Replayer

__all__ = [
    "DEFAULT_PROFILE",
    "MISMATCH_PREFIX",
    "SNAPSHOT_EVENTS",
    "CrossCheck",
    "LedgerFacts",
    "LedgerReplay",
    "Mismatch",
    "Refusal",
    "cross_check",
    "detector_identity",
    "person_snapshot",
    "space_snapshot",
]

MISMATCH_PREFIX = "LEDGER_MISMATCH_"
# The events that carry a snapshot of the tablet's ledger copy.
SNAPSHOT_EVENTS = frozenset(
    t.value
    for t in (
        EventType.DRAFTED,
        EventType.ROLE_ASSIGNED,
        EventType.ATMOSPHERE_TEST_RECORDED,
        EventType.MONITORING_STARTED,
    )
)


def person_snapshot(
    person: Person,
    contractors: Mapping[str, Contractor],
    on: date,
    *,
    training: Iterable[TrainingRecord] = (),
    certificates: Iterable[LedgerCertificate] = (),
    delegation: Delegation | None = None,
) -> PersonSnapshot:
    """``person`` as a permit records them on ``on``, with the training records and
    certificates kept as their own ledger items (the tablet's pull joins them too), the
    employer contractor as the ledger has it (unregistered when it does not) and the
    written ``delegation`` they approve under, if any (a delegate unless principal)."""
    whole = person.model_copy(
        update={
            "training": (*person.training, *training),
            "certificates": (*person.certificates, *certificates),
        }
    )
    contractor = contractors.get(whole.contractor_id or "")
    if LedgerRole.PRINCIPAL in whole.roles:
        authority = ApprovalAuthority.PRINCIPAL
    elif delegation is not None:
        authority = ApprovalAuthority.DELEGATE
    elif LedgerRole.APPROVER in whole.roles:
        authority = ApprovalAuthority.APPROVER
    else:
        authority = ApprovalAuthority.NONE
    employer: ContractorSnapshot | None = None
    if whole.contractor_id is not None:
        employer = (
            ContractorSnapshot(
                contractor_id=contractor.id,
                name=contractor.name,
                contract_reference=contractor.contract_reference,
                contract_valid_from=contractor.contract_valid_from,
                contract_valid_until=contractor.contract_valid_until,
                blacklisted_on=contractor.blacklisted_on,
                blacklist_reason=contractor.blacklist_reason,
            )
            if contractor is not None
            else ContractorSnapshot(contractor_id=whole.contractor_id, name="", registered=False)
        )
    written = (
        None
        if delegation is None
        else DelegationSnapshot(
            delegation_id=delegation.id,
            delegator=delegation.delegator,
            space_ids=delegation.space_ids,
            valid_from=delegation.valid_from,
            valid_until=delegation.valid_until,
            document_ref=delegation.document_ref,
        )
    )
    return PersonSnapshot(
        person_id=whole.id,
        name=whole.name,
        employer_id=whole.employer.id,
        contractor_id=whole.contractor_id,
        contractor_blacklisted=contractor is not None and contractor.blacklisted(on),
        training_valid_until=whole.training_valid_until(),
        certificates=tuple(
            Certificate(kind=c.type, number=c.number, valid_until=c.expires_on)
            for c in whole.certificates
        ),
        approval_authority=authority,
        contractor=employer,
        delegation=written,
        delegation_ref=None if written is None else written.document_ref or written.delegation_id,
    )


def space_snapshot(
    space: ConfinedSpace,
    profile: str | None = None,
    profile_override: dict[str, Any] | None = None,
) -> SpaceSnapshot:
    """The ledger's space as ``Drafted`` records it: its hazards (the core derives the
    need for the principal's approval from them, the flag and the channels), the
    resolved ``profile`` (the space's, else the enterprise's default) and the
    enterprise's override of it."""
    return SpaceSnapshot(
        space_id=space.id,
        name=space.name,
        required_channels=tuple(c.value for c in space.required_channels),
        sample_points=space.sample_points,
        isolation_points=tuple(
            IsolationPointTemplate(
                point_id=p.id,
                description=p.description,
                kind=IsolationKind(p.energy),
                hazardous_source=p.hazardous_source,
            )
            for p in space.isolation_points
        ),
        required_ppe=space.required_ppe,
        rescue_items=space.rescue_equipment,
        key_supervision=space.key_supervision,
        oxygen_enriched=space.oxygen_enriched,
        profile=space.profile or profile or DEFAULT_PROFILE,
        hazards=space.hazards,
        profile_override=profile_override,
    )


def detector_identity(detector: Detector, at: datetime) -> DetectorIdentity:
    """The register's detector as an event records it at ``at`` (its last passed bump
    test at or before then)."""
    return DetectorIdentity(
        serial=detector.serial,
        model=detector.model,
        calibration_due=detector.calibration_due,
        last_bump_test=detector.last_passed_bump_test(before=at),
    )


@dataclass(frozen=True)
class LedgerFacts:
    """The server's ledger as it stood at one instant, as the core's snapshots: each
    lookup returns None when the ledger had no such item then."""

    # The person as the ledger had them, with the written delegation the tablet recorded
    # (by its id: which delegation the tablet chose is the tablet's to say).
    person: Callable[[PersonSnapshot, datetime], PersonSnapshot | None]
    space: Callable[[str, datetime], SpaceSnapshot | None]
    detector: Callable[[str, datetime], DetectorIdentity | None]


@dataclass(frozen=True)
class Mismatch:
    """Where the tablet's snapshot and the server's ledger disagree on one subject: each
    of ``fields`` is (field, what the tablet recorded, what the ledger said), as JSON."""

    seq: int
    code: str
    subject: str  # person, space or detector id
    name: str
    fields: tuple[tuple[str, Any, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "code": self.code,
            "subject": self.subject,
            "name": self.name,
            "fields": [
                {"field": f, "recorded": mine, "ledger": theirs} for f, mine, theirs in self.fields
            ],
        }


@dataclass(frozen=True)
class Refusal:
    """A rule that would have refused the event had the tablet held the server's ledger:
    the core's reason code and its facts, judged on the ledger's snapshots."""

    seq: int
    code: str
    facts: dict[str, Any]
    event_type: str


@dataclass(frozen=True)
class CrossCheck:
    mismatches: tuple[Mismatch, ...] = ()
    refusals: tuple[Refusal, ...] = field(default_factory=tuple)


# Field of a snapshot -> the anomaly code of a disagreement on it.
_PERSON_FIELDS = {
    "employer_id": "EMPLOYER",
    "contractor_id": "EMPLOYER",
    "contractor": "CONTRACTOR",
    "contractor_blacklisted": "CONTRACTOR",  # chains written before the contractor snapshot
    "training_valid_until": "TRAINING",
    "certificates": "CERTIFICATE",
    "approval_authority": "APPROVAL_AUTHORITY",
    "delegation": "DELEGATION",
}
_SPACE_FIELDS = {
    "requires_principal_approval": "APPROVAL_AUTHORITY",
    "hazards": "SPACE_HAZARDS",
    "required_channels": "SPACE_HAZARDS",
    "oxygen_enriched": "SPACE_HAZARDS",
    "sample_points": "SPACE_SAMPLE_POINTS",
    "isolation_points": "SPACE_ISOLATION",
    "profile": "PROFILE",
    "profile_override": "PROFILE",
}
# Fields an older tablet did not record: compared only when the snapshot carries them.
_RECORDED_ONLY = frozenset({"hazards", "oxygen_enriched", "delegation", "profile_override"})
_DETECTOR_FIELDS = {
    "calibration_due": "DETECTOR_CALIBRATION",
    "last_bump_test": "DETECTOR_BUMP",
}


def _json(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return value.value
    return value


def _comparable(name: str, value: Any) -> Any:
    # Order of a list is not a fact the ledger keeps.
    if name in ("certificates", "isolation_points"):
        return sorted(str(_json(v)) for v in value)
    return _json(value)


def _diff(
    seq: int,
    subject: str,
    name: str,
    fields: Mapping[str, str],
    recorded: Any,
    ledger: Any,
    *,
    current: bool = False,
) -> list[Mismatch]:
    """``current``: the snapshot was written by a tablet that records every field (a
    default value is left out of an event's JSON, so it is absent either way)."""
    by_code: dict[str, list[tuple[str, Any, Any]]] = {}
    for attr, code in fields.items():
        if attr in _RECORDED_ONLY and not current and attr not in recorded.model_fields_set:
            continue
        if attr == "contractor_blacklisted" and getattr(recorded, "contractor", None):
            continue  # judged on the contractor snapshot instead
        if attr == "contractor" and getattr(recorded, "contractor", None) is None:
            continue  # an older chain: only the blacklist flag was recorded
        mine, theirs = getattr(recorded, attr), getattr(ledger, attr)
        if _comparable(attr, mine) != _comparable(attr, theirs):
            by_code.setdefault(code, []).append((attr, _json(mine), _json(theirs)))
    return [
        Mismatch(seq, MISMATCH_PREFIX + code, subject, name, tuple(found))
        for code, found in by_code.items()
    ]


def _with_detector(p: Any, detector: DetectorIdentity) -> Any:
    update: dict[str, Any] = {"detector": detector}
    if isinstance(p, AtmosphereTestRecorded):
        update["test"] = p.test.model_copy(update={"detector": DetectorRecord.of(detector)})
    return p.model_copy(update=update)


def _swap(event: Event, ledger: LedgerFacts) -> tuple[list[Mismatch], Event | None]:
    """The disagreements of one event's snapshot with the ledger, and the event with the
    ledger's snapshot in its place (None when they agree or the ledger has no such item:
    an item the ledger did not hold then cannot contradict the tablet)."""
    p, at = event.payload, event.occurred_at
    new: Any = None
    found: list[Mismatch] = []
    if isinstance(p, Drafted):
        theirs = ledger.space(p.space.space_id, at)
        if theirs is not None:
            # A tablet that says how old its ledger copy is records the whole snapshot.
            found = _diff(
                event.seq,
                p.space.space_id,
                p.space.name,
                _SPACE_FIELDS,
                p.space,
                theirs,
                current=p.ledger_as_of is not None,
            )
            if found:
                new = p.model_copy(update={"space": theirs})
    elif isinstance(p, RoleAssigned):
        person = p.person
        theirs_p = ledger.person(person, at)
        if theirs_p is not None:
            found = _diff(
                event.seq, person.person_id, person.name, _PERSON_FIELDS, person, theirs_p
            )
            if found:
                # An older chain is judged as it was written: on the blacklist flag.
                keep = {} if person.contractor is not None else {"contractor": None}
                new = p.model_copy(update={"person": theirs_p.model_copy(update=keep)})
    elif isinstance(p, AtmosphereTestRecorded | MonitoringStarted):
        serial = p.detector.serial
        theirs_d = ledger.detector(serial, at)
        if theirs_d is not None:
            found = _diff(
                event.seq, serial, p.detector.model, _DETECTOR_FIELDS, p.detector, theirs_d
            )
            if found:
                new = _with_detector(p, theirs_d.model_copy(update={"model": p.detector.model}))
    return found, None if new is None else event.model_copy(update={"payload": new})


@dataclass
class LedgerReplay:
    """The chain replayed on the ledger's facts, and every disagreement found so far."""

    replayer: Replayer
    mismatches: list[Mismatch] = field(default_factory=list)

    def copy(self) -> LedgerReplay:
        return LedgerReplay(self.replayer.copy(), list(self.mismatches))


def cross_check(
    events: Sequence[Event],
    ledger: LedgerFacts,
    *,
    recorded_before: Replayer | None = None,
    ledger_before: LedgerReplay | None = None,
) -> tuple[CrossCheck, LedgerReplay | None]:
    """Compare every snapshot in ``events`` with the ledger at the event's time, replay
    them on the ledger's snapshots with the core's rules and report what those refuse
    that the tablet's own snapshots did not.

    ``events`` continue a chain (from seq 1 when ``recorded_before`` is None):
    ``recorded_before`` is the replay of the chain before them, ``ledger_before`` what
    an earlier call returned (None: the two views have not parted yet, so the ledger's
    replay is ``recorded_before``). Returns the check of the whole chain so far (as
    :class:`~permits.replay.Replayer` keeps every violation) and the ledger's replay to
    continue from, or None while the views agree; so a push into a long chain costs
    O(new events), as the server's replay does."""
    mismatches: list[Mismatch] = []
    swapped: list[Event] = []
    for event in events:
        found, replaced = _swap(event, ledger)
        mismatches.extend(found)
        swapped.append(replaced or event)
    if ledger_before is None and not mismatches:
        return CrossCheck(), None
    recorded = recorded_before.copy() if recorded_before is not None else Replayer()
    theirs = ledger_before.copy() if ledger_before is not None else LedgerReplay(recorded.copy())
    theirs.mismatches.extend(mismatches)
    refusals = _refusals(recorded, theirs.replayer, events, swapped)
    return CrossCheck(tuple(theirs.mismatches), tuple(refusals)), theirs


def _refusals(
    recorded: Replayer, ledger: Replayer, events: Sequence[Event], swapped: Sequence[Event]
) -> list[Refusal]:
    """Feed ``events`` to ``recorded`` and ``swapped`` to ``ledger``; every refusal of
    ``ledger`` so far that ``recorded`` does not make."""
    recorded.feed(events)
    ledger.feed(swapped)
    seen = {(v.seq, u.code) for v in recorded.violations for u in v.unmet}
    out: list[Refusal] = []
    for v in ledger.violations:
        for u in v.unmet:
            if (v.seq, u.code) not in seen:
                out.append(Refusal(v.seq, str(u.code), {**dict(u.facts)}, v.event_type))
    # A test the ledger's detector would have failed: the atmosphere check's own reasons.
    mine = {t.seq: {r.get("code") for r in t.reasons} for t in recorded.state.tests}
    for test in ledger.state.tests:
        for reason in test.reasons:
            code = reason.get("code")
            if isinstance(code, str) and code not in mine.get(test.seq, set()):
                out.append(
                    Refusal(
                        test.seq,
                        code,
                        {**dict(reason), "detector": test.detector_serial},
                        "atmosphere_test_recorded",
                    )
                )
    out.sort(key=lambda r: r.seq)
    return out

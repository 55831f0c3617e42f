"""The one place the server binds to the permit core's models and functions.

Everything the server knows about permits, people, spaces and hazards comes from
``permits``; this module only adapts call shapes, so a change in the core shows up here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import ValidationError

from permits import hazards as core_hazards
from permits import ledger_check
from permits.errors import InvalidInput, ProfileError, RuleViolation, Unmet
from permits.events import DetectorIdentity, Drafted, EventType, PersonSnapshot, SpaceSnapshot
from permits.events import parse_event as core_parse
from permits.hot_work.events import HotWorkDrafted
from permits.hot_work.replay import replay_hot_work
from permits.hot_work.state import HotWorkState
from permits.integrity import chain_head, event_hash, signature_valid, stored_hash
from permits.integrity import verify_chain as core_verify
from permits.profiles import apply_override, list_profiles, load_profile
from permits.reference import (
    Certificate,
    ConfinedSpace,
    Contractor,
    Delegation,
    Detector,
    Person,
    TrainingRecord,
    validate_uscc,
)
from permits.replay import Replayer
from sync_server.i18n import gettext as _


def validate_credit_code(code: str) -> str:
    """统一社会信用代码 with its GB 32100-2015 check character (``permits.reference``)."""
    try:
        return validate_uscc(code, "credit_code")
    except InvalidInput as exc:
        raise ValueError(exc.expected) from exc


class ReferenceInvalid(ValueError):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def profile_names() -> list[str]:
    return list_profiles()


def _validate_profile_override(item_id: str, data: dict[str, Any]) -> dict[str, Any]:
    base = data.get("base")
    override = data.get("override")
    if not isinstance(base, str):
        raise ReferenceInvalid("PROFILE_BASE_REQUIRED", _("expected the base profile name"), "base")
    if not isinstance(override, dict):
        raise ReferenceInvalid(
            "PROFILE_OVERRIDE_REQUIRED", _("expected an override object"), "override"
        )
    try:
        profile = apply_override(load_profile(base), {**override, "name": item_id})
    except ProfileError as exc:
        # OVERRIDE_LOOSER, OVERRIDE_FIELD, PROFILE_UNKNOWN … straight from the core.
        raise ReferenceInvalid(exc.code, str(exc), "override") from exc
    return {"base": base, "override": override, "name": profile.name}


def _validate_default_profile(item_id: str, data: dict[str, Any]) -> dict[str, Any]:
    if item_id != "default":
        raise ReferenceInvalid(
            "ID_MISMATCH", _("the enterprise's default profile is the item named default"), "id"
        )
    name = data.get("profile")
    extra = sorted(set(data) - {"profile"})
    if extra:
        raise ReferenceInvalid(
            "VALIDATION_ERROR", _("{field} is not a field").format(field=extra[0]), extra[0]
        )
    if not isinstance(name, str) or name not in list_profiles():
        raise ReferenceInvalid(
            "PROFILE_UNKNOWN",
            _("expected one of {known}").format(known=", ".join(list_profiles())),
            "profile",
        )
    return {"profile": name}


def _model_for(kind: str) -> tuple[Any, dict[str, str]]:
    """The core's model for a reference kind, and which fields the path fills in."""
    return {
        "spaces": (ConfinedSpace, {"id": "item", "enterprise_id": "enterprise"}),
        "people": (Person, {"id": "item", "enterprise_id": "enterprise"}),
        "contractors": (Contractor, {"id": "item"}),
        "delegations": (Delegation, {"id": "item", "enterprise_id": "enterprise"}),
        "detectors": (Detector, {"serial": "item"}),
        "training": (TrainingRecord, {}),
        "certificates": (Certificate, {}),
    }[kind]


def validate_reference(
    kind: str, item_id: str, data: dict[str, Any], enterprise_id: str
) -> dict[str, Any]:
    """Check one reference item with the core's model; return its normalised JSON."""
    if kind == "profile-overrides":
        return _validate_profile_override(item_id, data)
    if kind == "default-profile":
        return _validate_default_profile(item_id, data)
    model, filled = _model_for(kind)
    body = dict(data)
    for name, source in filled.items():
        value = item_id if source == "item" else enterprise_id
        if body.get(name, value) != value:
            raise ReferenceInvalid(
                "ID_MISMATCH",
                _("{field} in the body differs from the path").format(field=name),
                name,
            )
        body[name] = value
    # Training records and certificates belong to a person of this enterprise.
    person_id = None
    if kind in ("training", "certificates"):
        person_id = body.pop("person_id", None)
        if not isinstance(person_id, str) or not person_id:
            raise ReferenceInvalid(
                "VALIDATION_ERROR", _("{field} is required").format(field="person_id"), "person_id"
            )
    try:
        item = model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or kind
        raise ReferenceInvalid("VALIDATION_ERROR", str(first["msg"]), loc) from exc
    except InvalidInput as exc:
        raise ReferenceInvalid("VALIDATION_ERROR", str(exc), exc.field) from exc
    out: dict[str, Any] = item.model_dump(mode="json")
    if person_id is not None:
        out["person_id"] = person_id
    return out


def ledger_gaps(data: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """(code, facts, message) of what a ledger entry lacks (no warning sign, a missing
    list of the four, weak pipe isolation), by the core's ``ConfinedSpace.ledger_gaps``."""
    space = ConfinedSpace.model_validate(data)
    return [(u.code, dict(u.facts), u.message()) for u in space.ledger_gaps()]


# ---------------------------------------------------------------- permit event chains
#
# The server never interprets an event itself: it parses with the core's event model,
# verifies with the core's integrity code and replays with the core's rules. The shapes
# below are what the ingest needs from those; the functions adapt the core's API.


class EventInvalid(ValueError):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class ChainInvalid(ValueError):
    def __init__(self, seq: int | None, code: str, message: str) -> None:
        super().__init__(message)
        self.seq = seq
        self.code = code
        self.message = message


class ParsedEvent(NamedTuple):
    """A pushed (or stored) event, parsed: its envelope's fields and the core's event.
    A named tuple (immutable, as a frozen dataclass, and built in ~0.4 µs against ~2.4:
    one is built for every event a push holds; docs/performance.md, wave 12)."""

    raw: dict[str, Any]
    event_id: str
    permit_id: str
    seq: int
    type: str
    occurred_at: datetime
    device_id: str
    actor: str | None
    prev_hash: str | None
    hash: str
    obj: Any  # the core's event object


# Names at the boundary, in one place. The core's replay (``permits.replay``) returns
# ``findings`` (entries that MEM10 Art. 13 (二) makes major hazards) and ``violations``
# (events that broke a rule, each with every unmet condition). The server stores both as
# rows of its ``findings`` table, the trace API's ``findings`` field (names kept: the
# tablet and API clients read them). On this side of the boundary:
#   ReplayFinding        one row of the ``findings`` table (seq, code, facts)
#   hazard_findings      the core's findings, plus the first unmet condition of each rule
#                        violation that is not one already: each files an automatic hazard
#   evidence             every unmet condition of every violation and every flag (a manual
#                        test): stored, no hazard of its own


@dataclass(frozen=True)
class ReplayFinding:
    seq: int | None
    code: str
    facts: dict[str, Any]
    category: str = ""


@dataclass(frozen=True)
class ReplaySummary:
    status: str
    space_id: str | None
    people: list[str]
    detectors: list[str]
    hazard_findings: list[ReplayFinding]
    evidence: list[ReplayFinding]
    state: Any = None
    anomalies: list[str] = field(default_factory=list)
    permit_type: str = "confined_space"


def parse_event(raw: dict[str, Any]) -> ParsedEvent:
    """Parse one pushed event with the core's event model (``permits.events``)."""
    try:
        event = core_parse(raw)
    except InvalidInput as exc:
        raise EventInvalid("EVENT_INVALID", str(exc), exc.field) from exc
    if not event.sealed:
        raise EventInvalid(
            "EVENT_NOT_SEALED", _("the event has no prev_hash, hash or signature"), "hash"
        )
    assert event.hash is not None
    return ParsedEvent(
        # Stored as sent: the hash check covers its content, and re-serialising every event
        # canonically costs more than the rest of the parse.
        raw=dict(raw),
        event_id=str(event.event_id),
        permit_id=event.permit_id,
        seq=event.seq,
        type=event.type.value,
        occurred_at=event.occurred_at,
        device_id=event.device_id,
        actor=event.actor,
        prev_hash=event.prev_hash,
        hash=event.hash,
        obj=event,
    )


def event_enterprise(ev: ParsedEvent) -> str | None:
    """The enterprise a ``drafted`` (or ``hot_work_drafted``) event names (other events
    inherit the permit's)."""
    payload = ev.obj.payload
    return payload.enterprise_id if isinstance(payload, Drafted | HotWorkDrafted) else None


HOT_WORK = "hot_work"
CONFINED_SPACE = "confined_space"


def permit_type_of(first: ParsedEvent) -> str:
    """A permit's type, which its first event says (docs/architecture.md, permit types)."""
    return HOT_WORK if first.obj.type is EventType.HOT_WORK_DRAFTED else CONFINED_SPACE


class HotWorkReplayer:
    """The hot-work replay (``permits.hot_work.replay_hot_work``) in the shape of the
    core's ``Replayer`` the ingest keeps per permit. A hot-work chain is short (one
    job, a few dozen events), so it is replayed from seq 1 on every push."""

    def __init__(self, events: list[Any] | None = None) -> None:
        self.events: list[Any] = list(events or [])
        self.state = HotWorkState()

    def copy(self) -> HotWorkReplayer:
        other = HotWorkReplayer(self.events)
        other.state = self.state
        return other

    def feed(self, events: Any) -> None:
        self.events.extend(events)

    def result(self, now: datetime) -> Any:
        result = replay_hot_work(self.events, now)
        self.state = result.state
        return result


def verify_chain(
    chain: list[ParsedEvent], public_keys: dict[str, str], after: ParsedEvent | None = None
) -> None:
    """Hashes, links, writer and signatures of a whole chain from seq 1, or of new events
    continuing a verified chain whose last event is ``after``, by the core's
    ``permits.integrity.verify_chain``; ChainInvalid names the first bad event."""
    head = chain_head(after.obj) if after is not None else None
    result = core_verify(
        [ev.obj for ev in chain], public_keys, after=head, raw_bodies=[ev.raw for ev in chain]
    )
    if not result.valid:
        raise ChainInvalid(result.seq, result.code or "BAD_SCHEMA", result.reason)


def sealed_by(ev: ParsedEvent, public_key: str) -> bool:
    """The event's own hash is its content's and its signature is by ``public_key``: a
    fork is kept for review only when it is a genuine, signed event."""
    if stored_hash(ev.raw) != ev.hash and event_hash(ev.obj) != ev.hash:
        return False
    return signature_valid(ev.hash, str(ev.raw.get("sig") or ""), public_key)


def verify_stored(bodies: list[dict[str, Any]], public_keys: dict[str, str]) -> None:
    """A stored chain's bodies from seq 1, checked by the core (a body that no longer
    parses is its ``BAD_SCHEMA``); ChainInvalid names the first bad event."""
    result = core_verify(bodies, public_keys)
    if not result.valid:
        raise ChainInvalid(result.seq, result.code or "BAD_SCHEMA", result.reason)


def replay_chain(
    chain: list[ParsedEvent], now: datetime, resume: Any = None
) -> tuple[ReplaySummary, Any]:
    """Replay with the core's rules (``permits.replay``). Entries that MEM10 Art. 13 (二)
    makes major hazards, and events that broke a rule, come back as ``hazard_findings``
    (each files an automatic hazard); every unmet condition and every flag (a manual test)
    comes back as ``evidence``. Nothing is dropped (the names: see ``ReplayFinding``).

    With ``resume`` (the replayer a previous call returned, for the chain up to the event
    before ``chain[0]``), only ``chain`` is folded, on a copy: the same checks as a
    replay from seq 1. Returns the summary and the replayer to resume from next time."""
    if resume is not None:
        replayer = resume.copy()
    elif chain and permit_type_of(chain[0]) == HOT_WORK:
        replayer = HotWorkReplayer()
    else:
        replayer = Replayer()
    replayer.feed(ev.obj for ev in chain)
    result = replayer.result(now)
    hazard_findings: list[ReplayFinding] = []
    entry_seqs = set()
    for f in result.findings:
        entry_seqs.add(f.seq)
        facts = {**f.as_dict(), "message": f.to_unmet().message()}
        hazard_findings.append(ReplayFinding(f.seq, f.code, facts, category=f.clause))
    evidence: list[ReplayFinding] = []
    for v in result.violations:
        for u in v.unmet:
            evidence.append(
                ReplayFinding(
                    v.seq, u.code, {**dict(u.facts), "type": v.event_type, "message": u.message()}
                )
            )
        if v.seq not in entry_seqs and v.unmet:
            first = v.unmet[0]
            hazard_findings.append(
                ReplayFinding(
                    v.seq,
                    first.code,
                    {
                        "type": v.event_type,
                        "unmet": [u.code for u in v.unmet],
                        "message": Unmet(first.code, dict(first.facts)).message(),
                    },
                    category="RULE_VIOLATION",
                )
            )
    for flag in result.flags:
        evidence.append(ReplayFinding(flag.seq, flag.code, dict(flag.facts)))
    summary = _summary(result.state, now, hazard_findings, evidence)
    return (
        ReplaySummary(**{**summary.__dict__, "anomalies": sorted({f.code for f in result.flags})}),
        replayer,
    )


def _summary(
    state: Any,
    now: datetime,
    hazard_findings: list[ReplayFinding],
    evidence: list[ReplayFinding],
) -> ReplaySummary:
    if isinstance(state, HotWorkState):
        return ReplaySummary(
            status=state.status_at(now).value,
            space_id=state.linked_space_id,
            people=sorted(state.people),
            detectors=[state.monitoring_detector] if state.monitoring_detector else [],
            hazard_findings=hazard_findings,
            evidence=evidence,
            state=state,
            permit_type=HOT_WORK,
        )
    detectors = {t.detector_serial for t in state.tests}
    if state.monitoring_detector:
        detectors.add(state.monitoring_detector)
    return ReplaySummary(
        status=state.status_at(now).value,
        space_id=state.space.space_id if state.space is not None else None,
        people=sorted(state.people),
        detectors=sorted(detectors),
        hazard_findings=hazard_findings,
        evidence=evidence,
        state=state,
    )


# ---------------------------------------------------------------- hazards
#
# A hazard is a fold over its own events (``permits.hazards``): the server stores the
# events, folds them to check each new step with ``hazard_decide`` and shows the state.


class HazardRefused(ValueError):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def _hazard_event_from(data: dict[str, Any]) -> Any:
    return core_hazards.HazardEvent.model_validate(data)


def hazard_state(events: list[dict[str, Any]]) -> Any:
    return core_hazards.fold_hazard(_hazard_event_from(e) for e in events)


def hazard_view(state: Any, now: datetime) -> dict[str, Any]:
    """The folded hazard as JSON for the API and the ``hazards`` row."""
    return {
        "status": state.status.value,
        "measures": list(state.measures),
        "responsible_person": state.responsible_person,
        "deadline": state.deadline.isoformat() if state.deadline else None,
        "rectified_by": state.rectified_by,
        "rectified_at": state.rectified_at.isoformat() if state.rectified_at else None,
        "evidence": list(state.evidence),
        "verified_by": state.verified_by,
        "closed_at": state.closed_at.isoformat() if state.closed_at else None,
        "rejections": state.rejections,
        "overdue": state.is_overdue(now),
        "clause": state.report.clause if state.report else "",
        "description": state.report.description if state.report else "",
    }


def _refusal(exc: Exception, field_name: str) -> HazardRefused:
    if isinstance(exc, RuleViolation):
        return HazardRefused(exc.codes[0], str(exc), field_name)
    if isinstance(exc, InvalidInput):
        return HazardRefused("VALIDATION_ERROR", str(exc), exc.field)
    return HazardRefused("VALIDATION_ERROR", str(exc), field_name)


def hazard_report(
    hazard_id: str,
    *,
    enterprise_id: str,
    source: str,
    title: str,
    clause: str,
    description: str,
    space_id: str | None,
    permit_id: str | None,
    permit_seq: int | None,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """The first event of a hazard, as JSON."""
    try:
        payload = core_hazards.HazardReported(
            enterprise_id=enterprise_id,
            source=core_hazards.HazardSource(source),
            title=title,
            clause=clause,
            description=description,
            space_id=space_id,
            permit_id=permit_id,
            permit_seq=permit_seq,
        )
        event = core_hazards.hazard_decide(
            core_hazards.HazardState(), payload, now, actor=actor, hazard_id=hazard_id
        )
    except (ValidationError, RuleViolation, ValueError) as exc:
        raise _refusal(exc, "title") from exc
    data: dict[str, Any] = event.model_dump(mode="json")
    return data


def hazard_step(
    events: list[dict[str, Any]],
    action: str,
    data: dict[str, Any],
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """The next hazard event for ``action`` (plan, rectify, verify, reject, close), checked
    by the core's loop rules; HazardRefused names what is wrong."""
    state = hazard_state(events)
    person = data.get("person") or actor
    try:
        if action == "plan":
            measures = data.get("measures")
            payload: Any = core_hazards.RectificationPlanned(
                measures=tuple(measures)
                if isinstance(measures, list)
                else (measures,)
                if measures
                else (),
                responsible_person=data.get("responsible") or "",
                deadline=data.get("deadline"),
            )
        elif action == "rectify":
            evidence = data.get("evidence")
            payload = core_hazards.HazardRectified(
                rectified_by=person,
                evidence=tuple(evidence)
                if isinstance(evidence, list)
                else (evidence,)
                if evidence
                else (),
            )
        elif action in ("verify", "reject"):
            payload = core_hazards.RectificationVerified(
                verified_by=person, accepted=action == "verify", note=data.get("note") or ""
            )
        elif action == "close":
            payload = core_hazards.HazardClosed(closed_by=person)
        else:
            raise HazardRefused("HAZARD_ACTION_UNKNOWN", _("unknown hazard action"), "action")
        event = core_hazards.hazard_decide(state, payload, now, actor=actor)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "action"
        names = {"responsible_person": "responsible", "rectified_by": "person"}
        raise HazardRefused("VALIDATION_ERROR", str(first["msg"]), names.get(loc, loc)) from exc
    except RuleViolation as exc:
        field_name = (
            "person"
            if exc.codes[0] == "HAZARD_VERIFIER_IS_RECTIFIER"
            else ("deadline" if exc.codes[0] == "HAZARD_DEADLINE_PAST" else "action")
        )
        raise HazardRefused(exc.codes[0], str(exc), field_name) from exc
    out: dict[str, Any] = event.model_dump(mode="json")
    return out


def chunk_digests(bodies: list[dict[str, Any]]) -> list[str]:
    """SHA-256 digests of the readings chunks a chain refers to (readings_chunk_recorded)."""
    out: list[str] = []
    for body in bodies:
        payload = body.get("payload") or {}
        digest = payload.get("sha256")
        if body.get("type") == "readings_chunk_recorded" and isinstance(digest, str):
            out.append(digest)
    return out


# ---------------------------------------------------------------- the ledger cross-check
#
# What a tablet recorded against the server's ledger as it stood at each event's time
# (docs/server.md, "The server cross-checks what the tablet believed"). The ingest looks
# the ledger up (``services.ledger_history``); the core builds the snapshots, compares
# them and replays the chain on the ledger's snapshots with its own rules
# (``permits.ledger_check``).

# Called as lookup(kind, item_id, at) -> the item's JSON then, or None; and
# every(kind, at) -> {item_id: JSON} of the items of a kind then.
LEDGER_MISMATCH_PREFIX = ledger_check.MISMATCH_PREFIX
LedgerLookup = Callable[[str, str, datetime], dict[str, Any] | None]
LedgerEvery = Callable[[str, datetime], dict[str, dict[str, Any]]]


def _ledger_facts(lookup: LedgerLookup, every: LedgerEvery) -> ledger_check.LedgerFacts:
    def person(recorded: PersonSnapshot, at: datetime) -> PersonSnapshot | None:
        person_id = recorded.person_id
        data = lookup("people", person_id, at)
        if data is None:
            return None
        try:
            who = Person.model_validate(data)
            mine = [d for d in every("training", at).values() if d.get("person_id") == person_id]
            certs = [
                d for d in every("certificates", at).values() if d.get("person_id") == person_id
            ]
            contractors = {}
            if who.contractor_id is not None:
                c = lookup("contractors", who.contractor_id, at)
                if c is not None:
                    contractors[who.contractor_id] = Contractor.model_validate(c)
            delegation = None
            if recorded.delegation is not None:
                d = lookup("delegations", recorded.delegation.delegation_id, at)
                if d is not None and d.get("delegate") == person_id:
                    delegation = Delegation.model_validate(d)
            return ledger_check.person_snapshot(
                who,
                contractors,
                at.date(),
                training=[TrainingRecord.model_validate(_without_person(d)) for d in mine],
                certificates=[Certificate.model_validate(_without_person(d)) for d in certs],
                delegation=delegation,
            )
        except (ValidationError, InvalidInput):
            return None  # an item the core no longer reads: as good as unknown

    def space(space_id: str, at: datetime) -> SpaceSnapshot | None:
        data = lookup("spaces", space_id, at)
        if data is None:
            return None
        try:
            ledger_space = ConfinedSpace.model_validate(data)
        except (ValidationError, InvalidInput):
            return None
        # Resolved as the tablet resolves it: the space's profile, else the enterprise's
        # default; then the enterprise's override of that profile (one per base).
        default = (lookup("default-profile", "default", at) or {}).get("profile")
        profile = ledger_space.profile or default or None
        override = None
        resolved = profile or ledger_check.DEFAULT_PROFILE
        for item_id, item in sorted(every("profile-overrides", at).items()):
            if item.get("base") == resolved and isinstance(item.get("override"), dict):
                override = {**item["override"], "name": item_id}
                break
        return ledger_check.space_snapshot(ledger_space, profile, override)

    def detector(serial: str, at: datetime) -> DetectorIdentity | None:
        data = lookup("detectors", serial, at)
        try:
            return (
                None
                if data is None
                else ledger_check.detector_identity(Detector.model_validate(data), at)
            )
        except (ValidationError, InvalidInput):
            return None

    return ledger_check.LedgerFacts(person=person, space=space, detector=detector)


def _without_person(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "person_id"}


@dataclass(frozen=True)
class LedgerCrossCheck:
    mismatches: list[ReplayFinding]  # LEDGER_MISMATCH_* evidence, no hazard of its own
    refusals: list[ReplayFinding]  # the core's codes: each files an automatic hazard


def cross_check_ledger(
    events: list[ParsedEvent],
    lookup: LedgerLookup,
    every: LedgerEvery,
    *,
    recorded_before: Any = None,
    ledger_before: Any = None,
) -> tuple[LedgerCrossCheck, Any]:
    """Every disagreement between the snapshots in ``events`` and the ledger at each
    event's time, and what the core's rules would have refused on the ledger's facts
    (``permits.ledger_check.cross_check``: ``events`` continue the replays given, or
    start the chain); returns the replay on the ledger's facts to continue from."""
    result, ledger_replayer = ledger_check.cross_check(
        [ev.obj for ev in events],
        _ledger_facts(lookup, every),
        recorded_before=recorded_before,
        ledger_before=ledger_before,
    )
    mismatches = [ReplayFinding(m.seq, m.code, m.as_dict()) for m in result.mismatches]
    refusals = [
        ReplayFinding(
            r.seq,
            r.code,
            {
                **r.facts,
                "type": r.event_type,
                "basis": "ledger",
                "message": Unmet(r.code, r.facts).message(),
            },
            category="LEDGER_CROSS_CHECK",
        )
        for r in result.refusals
    ]
    return LedgerCrossCheck(mismatches, refusals), ledger_replayer


def has_snapshot(ev: ParsedEvent) -> bool:
    """An event that records a ledger snapshot (what the cross-check compares)."""
    return ev.type in ledger_check.SNAPSHOT_EVENTS

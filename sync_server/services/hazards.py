"""Major accident hazards (重大事故隐患): filing, the closed loop, overdue.

A hazard is a fold over its own events (``permits.hazards``): this module stores the
events in ``hazard_actions`` and a folded view in ``hazards`` for listing; the loop's
rules (step order, the verifier is not the rectifier, a deadline in the future) are the
core's, applied through ``domain.hazard_step``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection

from sync_server import domain
from sync_server.errors import Forbidden, NotFound, Unprocessable
from sync_server.i18n import Gettext
from sync_server.i18n import gettext as _
from sync_server.ids import FilterText, PlausibleTime, Prose, SafeId, safe_id
from sync_server.schema import accounts, hazard_actions, hazards, permits
from sync_server.security import Principal, Role
from sync_server.services import audit, ledger_history, notes
from sync_server.services.reference import Kind, hazard_summary
from sync_server.services.reference import find as find_reference
from sync_server.services.tenancy import (
    require_role,
    require_visible,
    scope_filter,
    visible_enterprises,
)
from sync_server.storage import DB_INT4_MAX, next_rev, now_iso, parse_iso

SOURCES = ("self_inspection", "bureau_inspection", "worker_report", "automatic")


def _store(conn: Connection, enterprise_id: str, hazard_id: str, event: dict[str, Any]) -> None:
    conn.execute(
        hazard_actions.insert().values(
            action_id=str(event["event_id"]),
            enterprise_id=enterprise_id,
            hazard_id=hazard_id,
            seq=int(event["seq"]),
            action=str(event["type"]),
            actor=str(event["actor"]),
            at=now_iso(parse_iso(str(event["occurred_at"]))),
            data=event,
        )
    )


def _events(conn: Connection, enterprise_id: str, hazard_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(hazard_actions.c.data)
        .where(
            hazard_actions.c.enterprise_id == enterprise_id, hazard_actions.c.hazard_id == hazard_id
        )
        .order_by(hazard_actions.c.seq)
    )
    return [r[0] for r in rows]


def create(
    conn: Connection,
    *,
    enterprise_id: str,
    source: str,
    category: str,
    title: str,
    actor: str,
    space_id: str | None = None,
    permit_id: str | None = None,
    rule_code: str | None = None,
    description: str = "",
    permit_seq: int | None = None,
    details: dict[str, Any] | None = None,
    hazard_id: str | None = None,
) -> str:
    hazard_id = hazard_id or str(uuid.uuid4())
    now = datetime.now(UTC)
    try:
        event = domain.hazard_report(
            hazard_id,
            enterprise_id=enterprise_id,
            source=source,
            title=title,
            clause=category,
            description=description,
            space_id=space_id,
            permit_id=permit_id,
            permit_seq=permit_seq,
            actor=actor,
            now=now,
        )
    except domain.HazardRefused as exc:
        raise Unprocessable(exc.message, code=exc.code, field=exc.field) from exc
    view = {**domain.hazard_view(domain.hazard_state([event]), now), "details": details or {}}
    conn.execute(
        hazards.insert().values(
            hazard_id=hazard_id,
            enterprise_id=enterprise_id,
            source=source,
            category=category,
            status=view["status"],
            title=title,
            space_id=space_id,
            permit_id=permit_id,
            rule_code=rule_code,
            deadline=None,
            data=view,
            rev=next_rev(conn),
            created_at=now_iso(now),
            updated_at=now_iso(now),
        )
    )
    _store(conn, enterprise_id, hazard_id, event)
    return hazard_id


def file_automatic(
    conn: Connection,
    enterprise_id: str,
    permit_id: str,
    space_id: str | None,
    finding: domain.ReplayFinding,
) -> str:
    """A hazard finding of the server's replay (``domain.ReplaySummary.hazard_findings``)
    becomes a hazard, once per permit and code (MEM10 Art. 13 (二) for entry without
    approval, test, ventilation or guardian)."""
    existing = conn.execute(
        sa.select(hazards.c.hazard_id).where(
            hazards.c.enterprise_id == enterprise_id,
            hazards.c.permit_id == permit_id,
            hazards.c.rule_code == finding.code,
            hazards.c.source == "automatic",
        )
    ).first()
    if existing is not None:
        return str(existing.hazard_id)
    message = str(finding.facts.get("message") or finding.code)
    return create(
        conn,
        enterprise_id=enterprise_id,
        source="automatic",
        category=finding.category or "RULE_VIOLATION",
        title=message[:300],
        description=message,
        actor="server-replay",
        space_id=space_id,
        permit_id=permit_id,
        permit_seq=finding.seq,
        rule_code=finding.code,
        details={"facts": finding.facts, "seq": finding.seq},
    )


def get(conn: Connection, hazard_id: str, scope: list[str] | None) -> Any:
    """The hazard's row among the enterprises of ``scope`` (``tenancy.visible_enterprises``:
    one, a bureau's jurisdiction, or None for every one); else NotFound. Named so that a
    table distributed by enterprise is asked only where the hazard may be."""
    row = conn.execute(
        sa.select(hazards).where(
            hazards.c.hazard_id == hazard_id, scope_filter(hazards.c.enterprise_id, scope)
        )
    ).first()
    if row is None:
        raise NotFound(_("not found"), code="NOT_FOUND")
    return row


def act(
    conn: Connection,
    enterprise_id: str,
    hazard_id: str,
    action: str,
    actor: str,
    data: dict[str, Any],
    now: datetime | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Append the next loop step; ``now`` is the server clock (tests may set it)."""
    row = get(conn, hazard_id, [enterprise_id])
    now = now or datetime.now(UTC)
    events = _events(conn, enterprise_id, hazard_id)
    try:
        event = domain.hazard_step(events, action, data, actor, now)
    except domain.HazardRefused as exc:
        raise Unprocessable(exc.message, code=exc.code, field=exc.field) from exc
    state = domain.hazard_state([*events, event])
    view = {**domain.hazard_view(state, now), "details": row.data.get("details", {})}
    conn.execute(
        hazards.update()
        .where(hazards.c.hazard_id == hazard_id)
        .values(
            status=view["status"],
            deadline=now_iso(state.deadline) if state.deadline else None,
            data=view,
            rev=next_rev(conn),
            updated_at=now_iso(now),
        )
    )
    _store(conn, row.enterprise_id, hazard_id, event)
    return dict(row.data), view


def actions(conn: Connection, enterprise_id: str, hazard_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(hazard_actions)
        .where(
            hazard_actions.c.enterprise_id == enterprise_id, hazard_actions.c.hazard_id == hazard_id
        )
        .order_by(hazard_actions.c.seq)
    )
    rows = list(rows)
    names = actor_names(conn, enterprise_id, {r.actor for r in rows})
    return [
        {
            "seq": r.seq,
            "action": r.action,
            "actor": r.actor,
            "actor_name": names.get(r.actor, r.actor),
            "at": r.at,
            "payload": r.data.get("payload", {}),
        }
        for r in rows
    ]


def is_overdue(row: Any, now: datetime | None = None) -> bool:
    """Planned, past its rectification deadline and not yet rectified (逾期未整改)."""
    if row.deadline is None or row.status != "planned":
        return False
    return parse_iso(row.deadline) < (now or datetime.now(UTC))


def file_ledger_gaps(
    conn: Connection, enterprise_id: str, space_id: str, data: dict[str, Any]
) -> list[str]:
    """A ledger entry with no warning sign is MEM10 Art. 13 (一): file it once while open."""
    filed = []
    for code, facts, message in domain.ledger_gaps(data):
        if code != "LEDGER_NO_WARNING_SIGN":
            continue
        open_one = conn.execute(
            sa.select(hazards.c.hazard_id).where(
                hazards.c.enterprise_id == enterprise_id,
                hazards.c.space_id == space_id,
                hazards.c.rule_code == code,
                hazards.c.status != "closed",
            )
        ).first()
        if open_one is not None:
            continue
        filed.append(
            create(
                conn,
                enterprise_id=enterprise_id,
                source="automatic",
                category="MEM10 Art. 13 (一)",
                title=message[:300],
                description=message,
                actor="server-ledger-check",
                space_id=space_id,
                rule_code=code,
                details={"facts": facts},
            )
        )
    return filed


def follow_ledger(
    conn: Connection, who: Principal, enterprise_id: str, space_id: str, data: dict[str, Any]
) -> dict[str, list[str]]:
    """After a space is saved: file what its entry lacks (``file_ledger_gaps``), and move
    each open automatic hazard whose cause the saved entry no longer has to rectified,
    with the ledger change as the evidence (audit-logged). The loop's rules are the
    core's (``permits.hazards``): a reported hazard is planned first, by the same
    person; verification and closure (销号) still need a person, and the verifier is
    not the one who changed the ledger."""
    filed = file_ledger_gaps(conn, enterprise_id, space_id, data)
    still = {code for code, _facts, _message in domain.ledger_gaps(data)}
    open_ones = conn.execute(
        sa.select(hazards).where(
            hazards.c.enterprise_id == enterprise_id,
            hazards.c.space_id == space_id,
            hazards.c.source == "automatic",
            hazards.c.permit_id.is_(None),
            hazards.c.status.in_(("reported", "planned")),
        )
    )
    versions = ledger_history.history(conn, enterprise_id, "spaces", space_id)
    version = versions[-1]["version"] if versions else 0
    rectified = []
    # The step is the account's, as an identity: the same account cannot then verify.
    actor = step_identity(conn, who, enterprise_id, None)
    for row in list(open_ones):
        if row.rule_code is None or row.rule_code in still:
            continue
        evidence = _("ledger change: space {space} version {version} by {who}").format(
            space=space_id, version=version, who=who.name
        )
        if row.status == "reported":
            act(
                conn,
                row.enterprise_id,
                row.hazard_id,
                "plan",
                actor,
                {
                    "measures": [_("correct the ledger entry")],
                    "responsible": who.name,
                    "deadline": now_iso(datetime.now(UTC) + timedelta(days=1)),
                },
            )
        before, after = act(
            conn, row.enterprise_id, row.hazard_id, "rectify", actor, {"evidence": [evidence]}
        )
        audit.record(
            conn,
            who,
            "hazard.rectify",
            "hazard",
            row.hazard_id,
            enterprise_id=enterprise_id,
            before=before,
            after=after,
        )
        rectified.append(row.hazard_id)
    return {"filed": filed, "rectified": rectified}


# ----------------------------------------------------------------- the desk
#
# What the API and the pages do with hazards, within the caller's tenancy scope.

# A tablet's report keeps its own id; the server's hazard id is derived from it, so a report
# resent after a lost answer (the tablet is offline for days) files one hazard, not two.
_TABLET_REPORTS = uuid.UUID("6f1d8a52-2b7e-4c1a-9a43-5d0c2f8e7b10")

# The bureau's on-site confirmation of a closure (复核销号): an audit entry of this action,
# written only for a bureau account (``confirm_closure``), shown only when its recorded role
# is the bureau's. It was a note recognised by a text prefix, which an enterprise admin
# could type into a note of their own (docs/reliability.md, section 8).
CLOSURE_CHECK = "hazard.closure_check"
BUREAU_ROLES = (Role.BUREAU_REVIEWER, Role.OPERATOR)


class HazardIn(BaseModel):
    enterprise_id: SafeId
    title: Prose = Field(min_length=1, max_length=300)
    source: Literal["self_inspection", "worker_report", "bureau_inspection"] = "self_inspection"
    category: Prose = Field(
        default="MEM10-13-1",
        max_length=64,
        description="e.g. MEM10-13-1 (no ledger entry / no warning sign), MEM10-13-2",
    )
    space_id: SafeId | None = None
    permit_id: SafeId | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class HazardAction(BaseModel):
    action: Literal["plan", "rectify", "verify", "reject", "close"] = Field(
        description="reject: the verification failed, back to planned"
    )
    person: str | None = Field(
        default=None,
        description="who did it on site: a person id of the enterprise's ledger (422 "
        "UNKNOWN_PERSON otherwise); defaults to the signed-in account",
    )
    measures: str | list[str] | None = None
    responsible: str | None = None
    deadline: PlausibleTime | None = Field(
        default=None, description="ISO 8601 with offset, in the future (before 2100)"
    )
    evidence: str | list[str] | None = Field(
        default=None, description="notes, or sha256 of photos uploaded as attachments"
    )
    note: str | None = None


def out(row: Any) -> dict[str, Any]:
    """A hazard as the API shows it: the summary, overdue, and the folded state."""
    shown = hazard_summary(row)
    shown["overdue"] = is_overdue(row)
    shown["state"] = row.data
    shown["state"]["overdue"] = shown["overdue"]
    return shown


def _require_reader(who: Principal) -> None:
    if who.role in (Role.DEVICE, Role.AGGREGATOR):
        raise Forbidden(_("this account's role may not do this"), code="ROLE_FORBIDDEN")


def report(conn: Connection, who: Principal, body: HazardIn) -> tuple[dict[str, Any], bool]:
    """File a hazard; returns it and whether it is new (a tablet's resent report is not).

    Enterprise admins report self-inspection and worker-report hazards; bureau reviewers
    file inspection findings (their source is always ``bureau_inspection``); an enrolled
    tablet files worker reports for its own enterprise, idempotent by the report id it
    sends in ``details.tablet_report_id``."""
    require_visible(conn, who, body.enterprise_id)
    require_role(who, Role.ENTERPRISE_ADMIN, Role.BUREAU_REVIEWER, Role.OPERATOR, Role.DEVICE)
    source = body.source
    hazard_id: str | None = None
    if who.role is Role.DEVICE:
        if source != "worker_report":
            raise Forbidden(
                _("a tablet files worker reports only"), code="ROLE_FORBIDDEN", field="source"
            )
        report_id = body.details.get("tablet_report_id")
        if not isinstance(report_id, str) or not 1 <= len(report_id) <= 64:
            raise Unprocessable(
                _("a tablet's report needs its own id (1 to 64 characters)"),
                code="INVALID_INPUT",
                field="details.tablet_report_id",
            )
        hazard_id = str(uuid.uuid5(_TABLET_REPORTS, f"{body.enterprise_id}/{report_id}"))
        existing = conn.execute(
            sa.select(hazards).where(
                hazards.c.enterprise_id == body.enterprise_id, hazards.c.hazard_id == hazard_id
            )
        ).first()
        if existing is not None:
            return out(existing), False
    if who.role is Role.BUREAU_REVIEWER:
        source = "bureau_inspection"
    elif source == "bureau_inspection":
        raise Forbidden(
            _("only a bureau reviewer files bureau inspection findings"),
            code="ROLE_FORBIDDEN",
            field="source",
        )
    if body.permit_id is not None:
        # The enterprise's own permit of that id (ids are unique per enterprise).
        p = conn.execute(
            sa.select(permits.c.enterprise_id).where(
                permits.c.enterprise_id == body.enterprise_id,
                permits.c.permit_id == body.permit_id,
            )
        ).first()
        if p is None:
            raise Unprocessable(_("unknown permit"), code="UNKNOWN_PERMIT", field="permit_id")
    fields = body.model_dump(exclude={"source"})
    hazard_id = create(conn, **fields, source=source, actor=who.name, hazard_id=hazard_id)
    shown = out(get(conn, hazard_id, [body.enterprise_id]))
    audit.record(
        conn,
        who,
        "hazard.report",
        "hazard",
        hazard_id,
        enterprise_id=body.enterprise_id,
        after=shown,
    )
    return shown, True


class HazardQuery(BaseModel):
    """The hazard list's filters (the API's query parameters)."""

    enterprise_id: FilterText | None = None
    status: FilterText | None = None
    source: FilterText | None = None
    open_only: bool = False
    overdue: bool = False
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=DB_INT4_MAX)


def search(conn: Connection, who: Principal, query: HazardQuery) -> dict[str, Any]:
    """Hazards in scope, newest first. ``open_only``: not yet closed (动态清零 counts
    these to zero); ``overdue``: planned and past the deadline."""
    _require_reader(who)
    enterprise_id, status, source = query.enterprise_id, query.status, query.source
    open_only, overdue, limit, offset = query.open_only, query.overdue, query.limit, query.offset
    conds: list[Any] = [scope_filter(hazards.c.enterprise_id, visible_enterprises(conn, who))]
    if enterprise_id:
        conds.append(hazards.c.enterprise_id == enterprise_id)
    if status:
        conds.append(hazards.c.status == status)
    if source:
        conds.append(hazards.c.source == source)
    if open_only or overdue:
        conds.append(hazards.c.status != "closed")
    if overdue:
        conds.append(hazards.c.deadline.is_not(None))
        conds.append(hazards.c.deadline < now_iso())
        conds.append(hazards.c.status == "planned")
    where = sa.and_(*conds)
    total = conn.execute(sa.select(sa.func.count()).select_from(hazards).where(where)).scalar_one()
    rows = conn.execute(
        sa.select(hazards)
        .where(where)
        .order_by(hazards.c.created_at.desc())
        .limit(limit)
        .offset(offset)
    )
    return {
        "items": [out(r) for r in rows],
        "total": int(total),
        "limit": limit,
        "offset": offset,
    }


def visible(conn: Connection, who: Principal, hazard_id: str) -> Any:
    """The hazard's row for a reader who may see it; else NotFound."""
    _require_reader(who)
    return get(conn, hazard_id, visible_enterprises(conn, who))


def detail(conn: Connection, who: Principal, hazard_id: str) -> dict[str, Any]:
    """One hazard with its loop steps and notes."""
    row = visible(conn, who, hazard_id)
    shown = out(row)
    shown["actions"] = actions(conn, row.enterprise_id, hazard_id)
    shown["notes"] = notes.of(conn, "hazard", hazard_id, row.enterprise_id)
    shown["closure_checks"] = closure_checks(conn, hazard_id)
    return shown


def closure_checks(conn: Connection, hazard_id: str) -> list[dict[str, Any]]:
    """The bureau's confirmations of this hazard's closure: who, when, what they wrote."""
    return audit.by_roles(conn, CLOSURE_CHECK, "hazard", hazard_id, BUREAU_ROLES)


def step_identity(conn: Connection, who: Principal, enterprise_id: str, person: str | None) -> str:
    """Who did a loop step, as an identity the core's "the verifier is not the rectifier"
    compares: ``person:<id>`` for a person of the enterprise's ledger named on the form,
    else ``account:<id>`` for the signed-in account. Free text is refused: two spellings
    of one name (or one account typing two names) passed as two people."""
    if person is None or not person.strip():
        return f"account:{who.subject_id}"
    person_id = safe_id(person.strip(), "person")
    if find_reference(conn, enterprise_id, Kind.PERSON, person_id) is None:
        raise Unprocessable(
            _("{person} is not a person in the enterprise's ledger").format(person=person_id),
            code="UNKNOWN_PERSON",
            field="person",
        )
    return f"person:{person_id}"


def actor_names(conn: Connection, enterprise_id: str, identities: set[str]) -> dict[str, str]:
    """What a page shows for each step identity: the person's or the account's name."""
    names: dict[str, str] = {}
    for identity in identities:
        kind, _sep, key = identity.partition(":")
        if kind == "person":
            item = find_reference(conn, enterprise_id, Kind.PERSON, key)
            name = item.data.get("name") if item is not None else None
            names[identity] = name or key
        elif not _sep:  # a username (steps the pages record under who.name)
            acc = conn.execute(
                sa.select(accounts.c.display_name).where(accounts.c.username == identity)
            ).first()
            names[identity] = (acc.display_name or identity) if acc is not None else identity
        elif kind == "account":
            acc = conn.execute(
                sa.select(accounts.c.username, accounts.c.display_name).where(
                    accounts.c.account_id == key
                )
            ).first()
            names[identity] = (acc.display_name or acc.username) if acc is not None else identity
    return names


def act_on(conn: Connection, who: Principal, hazard_id: str, body: HazardAction) -> dict[str, Any]:
    """The enterprise moves its hazard along: plan (measures, responsible, deadline) →
    rectify (evidence) → verify (by someone other than the rectifier) → close (销号)."""
    row = visible(conn, who, hazard_id)
    require_role(who, Role.ENTERPRISE_ADMIN, Role.OPERATOR)
    data = body.model_dump(exclude_none=True, exclude={"action", "person"})
    actor = step_identity(conn, who, row.enterprise_id, body.person)
    before, after = act(conn, row.enterprise_id, hazard_id, body.action, actor, data)
    audit.record(
        conn,
        who,
        f"hazard.{body.action}",
        "hazard",
        hazard_id,
        enterprise_id=row.enterprise_id,
        before=before,
        after=after,
    )
    return detail(conn, who, hazard_id)


def confirm_closure(
    conn: Connection, who: Principal, hazard_id: str, text: str, _: Gettext = _
) -> None:
    """The bureau confirms a closed hazard on site (复核销号): an audit entry of the
    bureau's role (``CLOSURE_CHECK``), never a note another role could imitate.
    Refusals are worded with ``_`` (the page's language)."""
    h = visible(conn, who, hazard_id)
    if who.role not in BUREAU_ROLES:
        raise Forbidden(_("only the bureau confirms a closure"), code="ROLE_FORBIDDEN")
    if h.status != "closed":
        raise Unprocessable(
            _("the hazard is not closed yet: the enterprise closes it first"),
            code="HAZARD_NOT_CLOSED",
            field="status",
        )
    if len(text) > 5000:
        raise Unprocessable(
            _("at most {n} characters").format(n=5000), code="INVALID_INPUT", field="text"
        )
    audit.record(
        conn,
        who,
        CLOSURE_CHECK,
        "hazard",
        hazard_id,
        enterprise_id=h.enterprise_id,
        after={"text": text.strip()},
    )

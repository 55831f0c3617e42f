"""Permit set-up: roster, isolations (lock and tag, verified by a second person),
ventilation and equipment, briefing, guardian on duty, approval.

Each action is one ``permits`` command; a refusal is shown as the domain's
unmet conditions and remedies, verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from permits.commands.rules.roster import employer_unmet
from permits.events import (
    Approved,
    BriefingSigned,
    EquipmentConfirmed,
    GuardianHandover,
    GuardianOnDuty,
    HazardIdentified,
    IsolationApplied,
    IsolationMethod,
    IsolationVerified,
    PersonalLockApplied,
    PersonSnapshot,
    Role,
    RoleAssigned,
    SignOffMeaning,
    VentilationStarted,
    VentilationStopped,
)
from permits.state import PermitState
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk
from tablet_app.i18n import N_, _
from tablet_app.presenters.common import Outcome, attempt
from tablet_app.signature import SignatureDrawing
from tablet_app.theme import Level

ROLE_TEXT = {
    Role.WORK_LEADER: N_("Work leader"),
    Role.APPROVER: N_("Approver"),
    Role.GUARDIAN: N_("Guardian"),
    Role.ENTRANT: N_("Entrant"),
}
METHOD_TEXT = {
    IsolationMethod.BLIND_FLANGE: N_("Blind flange"),
    IsolationMethod.PIPE_SECTION_REMOVED: N_("Pipe section removed"),
    IsolationMethod.CLOSED_VALVE: N_("Closed valve"),
    IsolationMethod.WATER_SEAL: N_("Water seal"),
    IsolationMethod.ELECTRICAL_LOCKOUT: N_("Electrical lockout"),
    IsolationMethod.MECHANICAL_BLOCK: N_("Mechanical block"),
}


@dataclass(frozen=True)
class PersonCheck:
    """One roster row: red and blocking when training or a required certificate lapsed,
    or the person's contractor is unknown, blacklisted or out of contract."""

    person_id: str
    name: str
    role: str
    level: Level
    problems: tuple[str, ...]

    @property
    def blocked(self) -> bool:
        return self.level is Level.ALARM


@dataclass(frozen=True)
class IsolationRow:
    point_id: str
    description: str
    text: str
    level: Level


@dataclass(frozen=True)
class SetupView:
    title: str
    roster: tuple[PersonCheck, ...]
    isolations: tuple[IsolationRow, ...]
    ventilation: str
    ventilation_level: Level
    equipment: str
    equipment_level: Level
    guardian: str
    approval: str
    approval_level: Level
    refusal: tuple[tuple[str, str], ...]


def check_person(
    row: dict[str, object], required_certificates: tuple[str, ...], day: date
) -> tuple[str, ...]:
    problems = []
    until = row.get("training_valid_until")
    if until is None or date.fromisoformat(str(until)) < day:
        problems.append(_("training expired ({date})").format(date=until or _("none on record")))
    held = {
        str(c["kind"]): date.fromisoformat(str(c["valid_until"]))
        for c in row.get("certificates", ())  # type: ignore[attr-defined]
    }
    for kind in required_certificates:
        if kind not in held:
            problems.append(_("no {kind} certificate").format(kind=kind))
        elif held[kind] < day:
            problems.append(
                _("{kind} certificate expired {date}").format(
                    kind=kind, date=held[kind].isoformat()
                )
            )
    return tuple(problems)


class SetupPresenter:
    def __init__(self, context: AppContext, desk: PermitDesk) -> None:
        self.context = context
        self.desk = desk
        self.last: Outcome | None = None

    @property
    def permit_id(self) -> str:
        if self.context.permit_id is None:
            raise ValueError(_("No permit is open."))
        return self.context.permit_id

    def state(self) -> PermitState:
        return self.desk.state(self.permit_id)

    def _actor(self) -> str:
        if self.context.user is None:
            raise ValueError(_("Sign in first."))
        return str(self.context.user)

    def _do(self, action) -> Outcome:  # type: ignore[no-untyped-def]
        self.last = attempt(action)
        return self.last

    # ---- view

    def _space_id(self) -> str | None:
        space = self.state().space
        return space.space_id if space else None

    def _employer_problems(self, person: PersonSnapshot) -> tuple[str, ...]:
        # The core's contractor rule on the snapshot the permit records (or recorded).
        return tuple(u.message() for u in employer_unmet(person, self.context.now()))

    def view(self) -> SetupView:
        state = self.state()
        day = self.context.now().date()
        roster = []
        for role, ids in state.roles.items():
            for pid in sorted(ids):
                row = self.desk.person(pid) or {"id": pid, "name": state.people[pid].name}
                needs = state.required_certificates if role is Role.ENTRANT else ()
                problems = check_person(row, needs, day) + self._employer_problems(
                    state.people[pid]
                )
                roster.append(
                    PersonCheck(
                        pid,
                        str(row.get("name", pid)),
                        _(ROLE_TEXT[role]),
                        Level.ALARM if problems else Level.SAFE,
                        problems,
                    )
                )
        isolations = []
        templates = state.space.isolation_points if state.space else ()
        for tpl in templates:
            records = state.isolations_at(tpl.point_id)
            if not records:
                text, level = _("not isolated"), Level.ALARM
            else:
                rec = records[-1]
                who = self.desk.person_name(rec.applied_by)
                text = _("{method}, lock {lock}, tag {tag}, by {who}").format(
                    method=_(METHOD_TEXT[rec.method]), lock=rec.lock_id, tag=rec.tag_id, who=who
                )
                if rec.verified_by:
                    text += " · " + _("verified by {who}").format(
                        who=self.desk.person_name(rec.verified_by)
                    )
                    level = Level.SAFE
                else:
                    text += " · " + _("not verified")
                    level = Level.WARN
            isolations.append(IsolationRow(tpl.point_id, tpl.description, text, level))
        needed = set(state.space.required_ppe + state.space.rescue_items) if state.space else set()
        missing = sorted(needed - set(state.equipment_confirmed))
        approved = state.approved_by is not None
        return SetupView(
            title=_("Permit {id}: {space}").format(
                id=state.permit_id, space=state.space.name if state.space else "-"
            ),
            roster=tuple(roster),
            isolations=tuple(isolations),
            ventilation=_("Ventilation running") if state.ventilation_on else _("Ventilation off"),
            ventilation_level=Level.SAFE if state.ventilation_on else Level.ALARM,
            equipment=(
                _("Equipment confirmed")
                if not missing
                else _("Not confirmed: {items}").format(items=", ".join(missing))
            ),
            equipment_level=Level.SAFE if not missing else Level.ALARM,
            guardian=(
                _("Guardian on duty: {who}").format(who=self.desk.person_name(state.guardian))
                if state.guardian
                else _("No guardian on duty")
            ),
            approval=(
                _("Approved by {who}").format(who=self.desk.person_name(state.approved_by))
                if state.approved_by
                else _("Not approved")
            ),
            approval_level=Level.SAFE if approved else Level.ALARM,
            refusal=tuple(self.last.lines()) if self.last and not self.last.ok else (),
        )

    def candidates(self, role: Role) -> tuple[PersonCheck, ...]:
        """The ledger's people not yet on the roster, each checked for ``role``: lapsed
        training or a missing or expired certificate shows red and blocks."""
        state = self.state()
        on_roster = {pid for ids in state.roles.values() for pid in ids}
        needs = state.required_certificates if role is Role.ENTRANT else ()
        day = self.context.now().date()
        out = []
        for row in self.desk.people():
            if row["id"] in on_roster:
                continue
            problems = check_person(row, needs, day) + self._employer_problems(
                self.desk.person_snapshot(row, self._space_id())
            )
            out.append(
                PersonCheck(
                    str(row["id"]),
                    str(row.get("name", row["id"])),
                    _(ROLE_TEXT[role]),
                    Level.ALARM if problems else Level.SAFE,
                    problems,
                )
            )
        return tuple(out)

    def lockout_lines(self) -> tuple[tuple[str, Level], ...]:
        """Group lockout: each lockbox and whose personal locks are on it."""
        state = self.state()
        lines: list[tuple[str, Level]] = []
        for box in sorted(state.lockboxes):
            owners = [
                self.desk.person_name(pl.person_id)
                for pl in state.personal_locks.values()
                if pl.lockbox_id == box
            ]
            missing = [
                self.desk.person_name(pid)
                for pid in sorted(state.entrants)
                if not any(
                    pl.person_id == pid and pl.lockbox_id == box
                    for pl in state.personal_locks.values()
                )
            ]
            text = _("Lockbox {box}: personal locks of {who}").format(
                box=box, who=", ".join(owners) or "-"
            )
            if missing:
                text += " · " + _("missing: {who}").format(who=", ".join(missing))
            lines.append((text, Level.WARN if missing else Level.SAFE))
        return tuple(lines)

    # ---- actions

    def assign(self, person_id: str, role: Role) -> Outcome:
        """Put a ledger person on the roster; lapsed training or a missing certificate
        blocks here, before the domain (which refuses too, at entry)."""
        row = self.desk.person(person_id)
        if row is None:
            self.last = Outcome(
                False, error=_("No person {id} on this tablet.").format(id=person_id)
            )
            return self.last
        needs = self.state().required_certificates if role is Role.ENTRANT else ()
        problems = check_person(row, needs, self.context.now().date())
        if problems:
            self.last = Outcome(
                False,
                error=_("{name} cannot be on this permit: {problems}").format(
                    name=row["name"], problems="; ".join(problems)
                ),
            )
            return self.last
        return self._do(
            lambda: self.desk.record(
                self.permit_id,
                RoleAssigned(role=role, person=self.desk.person_snapshot(row, self._space_id())),
                actor=self._actor(),
            )
        )

    def identify_hazard(self, hazard: str, controls: tuple[str, ...] = ()) -> Outcome:
        return self._do(
            lambda: self.desk.record(
                self.permit_id,
                HazardIdentified(hazard=hazard, controls=controls),
                actor=self._actor(),
            )
        )

    def apply_isolation(
        self,
        point_id: str,
        method: IsolationMethod,
        lock_id: str,
        tag_id: str,
        *,
        lockbox_id: str | None = None,
    ) -> Outcome:
        """The signed-in person applies a lock and tag at an isolation point."""

        def do() -> object:
            actor = self._actor()
            if not lock_id.strip() or not tag_id.strip():
                raise ValueError(_("lock id and tag id: expected both, e.g. L-101 and T-101"))
            return self.desk.record(
                self.permit_id,
                IsolationApplied(
                    point_id=point_id,
                    method=method,
                    lock_id=lock_id.strip(),
                    tag_id=tag_id.strip(),
                    applied_by=actor,
                    lockbox_id=lockbox_id,
                ),
                actor=actor,
            )

        return self._do(do)

    def verify_isolation(self, point_id: str, lock_id: str) -> Outcome:
        """A second person (the one signed in now) verifies; the domain refuses the applier."""

        def do() -> object:
            actor = self._actor()
            return self.desk.record(
                self.permit_id,
                IsolationVerified(point_id=point_id, lock_id=lock_id, verified_by=actor),
                actor=actor,
            )

        return self._do(do)

    def start_ventilation(self, method: str = "forced", equipment: str = "") -> Outcome:
        return self._do(
            lambda: self.desk.record(
                self.permit_id,
                VentilationStarted(method=method, equipment=equipment),
                actor=self._actor(),
            )
        )

    def stop_ventilation(self, reason: str = "") -> Outcome:
        return self._do(
            lambda: self.desk.record(
                self.permit_id, VentilationStopped(reason=reason), actor=self._actor()
            )
        )

    def confirm_equipment(self, items: tuple[str, ...]) -> Outcome:
        return self._do(
            lambda: self.desk.record(
                self.permit_id,
                EquipmentConfirmed(confirmed_by=self._actor(), items=items),
                actor=self._actor(),
            )
        )

    def guardian_on_duty(self) -> Outcome:
        def do() -> object:
            actor = self._actor()
            signoff = self.desk.signoff(self.permit_id, actor, SignOffMeaning.GUARD)
            return self.desk.record(self.permit_id, GuardianOnDuty(signoff=signoff), actor=actor)

        return self._do(do)

    def sign_briefing(
        self, entrant_id: str, pin: str, signature: SignatureDrawing | None
    ) -> Outcome:
        """The entrant signs the briefing given by the signed-in leader: their PIN and
        their signature drawn on the pad (kept as a PNG, its hash in the sign-off)."""

        def do() -> object:
            leader = self._actor()
            self.desk.check_pin(entrant_id, pin)
            digest = self.desk.store_signature(signature)
            signoff = self.desk.signoff(
                self.permit_id, entrant_id, SignOffMeaning.BRIEF, signature_image_sha256=digest
            )
            return self.desk.record(
                self.permit_id,
                BriefingSigned(briefed_by=leader, signoff=signoff),
                actor=entrant_id,
            )

        outcome = self._do(do)
        if outcome.ok and signature is not None:
            signature.clear()
        return outcome

    def hand_over_guardian(self, incoming_id: str, pin: str) -> Outcome:
        """The guardian on duty (signed in) hands over to another person, who signs with
        their PIN: both signatures in one event; the domain checks the incoming one."""

        def do() -> object:
            outgoing = self._actor()
            if self.state().guardian != outgoing:
                raise ValueError(
                    _("Only the guardian on duty ({who}) can hand over: sign in as them.").format(
                        who=self.desk.person_name(self.state().guardian or "-")
                    )
                )
            self.desk.check_pin(incoming_id, pin)
            out = self.desk.signoff(self.permit_id, outgoing, SignOffMeaning.HANDOVER_OUT)
            inc = self.desk.signoff(self.permit_id, incoming_id, SignOffMeaning.HANDOVER_IN)
            return self.desk.record(
                self.permit_id, GuardianHandover(outgoing=out, incoming=inc), actor=outgoing
            )

        return self._do(do)

    def apply_personal_lock(
        self, person_id: str, pin: str, lockbox_id: str, lock_id: str
    ) -> Outcome:
        """Group lockout: an entrant puts their own lock on the lockbox holding the
        isolation keys, and confirms with their PIN."""

        def do() -> object:
            self._actor()
            if not lockbox_id.strip() or not lock_id.strip():
                raise ValueError(_("lockbox id and lock id: expected both, e.g. LB-1 and P-201"))
            self.desk.check_pin(person_id, pin)
            return self.desk.record(
                self.permit_id,
                PersonalLockApplied(
                    lockbox_id=lockbox_id.strip(), lock_id=lock_id.strip(), person_id=person_id
                ),
                actor=person_id,
            )

        return self._do(do)

    def approve(self) -> Outcome:
        def do() -> object:
            actor = self._actor()
            signoff = self.desk.signoff(self.permit_id, actor, SignOffMeaning.APPROVE)
            return self.desk.record(self.permit_id, Approved(signoff=signoff), actor=actor)

        return self._do(do)

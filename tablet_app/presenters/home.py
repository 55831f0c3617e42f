"""Home: the active permits, the ledger's spaces, hazards, sync status; start a permit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from permits.errors import InvalidInput
from permits.events import GENESIS_HASH, Drafted, Role, RoleAssigned, SignOff, SignOffMeaning
from permits.space_code import SpaceCode, parse_space_code
from permits.state import TERMINAL, Status
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk
from tablet_app.i18n import N_, _
from tablet_app.permit_ids import new_permit_id
from tablet_app.presenters.common import Outcome, attempt
from tablet_app.reference_sync import space_of_token
from tablet_app.theme import Level

STATUS_TEXT = {
    Status.DRAFT: N_("Draft"),
    Status.APPROVED: N_("Approved"),
    Status.ACTIVE: N_("Active"),
    Status.EVACUATING: N_("EVACUATING"),
    Status.SUSPENDED: N_("Suspended"),
    Status.CLOSING: N_("Closing"),
    Status.CLOSED: N_("Closed"),
    Status.CANCELLED: N_("Cancelled"),
    Status.EXPIRED: N_("Expired"),
    Status.NONE: N_("Empty"),
}
STATUS_LEVEL = {
    Status.EVACUATING: Level.ALARM,
    Status.EXPIRED: Level.ALARM,
    Status.SUSPENDED: Level.WARN,
    # An active permit is not a statement that the air is safe: the board says that.
    Status.ACTIVE: Level.UNKNOWN,
}


def status_text(status: Status) -> str:
    return _(STATUS_TEXT[status])


@dataclass(frozen=True)
class PermitRow:
    permit_id: str
    space_name: str
    status: str
    level: Level
    inside: int


# Who may sign that a permit be drafted on a ledger copy older than the limit.
SUPERVISOR_ROLES = frozenset({"principal", "approver", "safety_manager"})


@dataclass(frozen=True)
class StaleLedgerOverride:
    """A supervisor's signed reason to draft on a stale ledger copy."""

    supervisor_id: str
    pin: str
    reason: str


def ledger_age_text(age: timedelta | None, limit: timedelta) -> tuple[str, Level]:
    """How old the tablet's ledger is, for the home and settings screens."""
    if age is None:
        return _("Ledger never synced from the server"), Level.WARN
    days = age.total_seconds() / 86400
    if days < 1:
        text = _("Ledger synced {hours} h ago").format(hours=max(0, int(days * 24)))
    else:
        text = _("Ledger synced {days} days ago").format(days=int(days))
    if age > limit:
        return (
            text
            + " · "
            + _("older than {max} days: sync before drafting a permit").format(
                max=int(limit.total_seconds() // 86400)
            ),
            Level.ALARM,
        )
    return text, Level.SAFE


@dataclass(frozen=True)
class HomeView:
    user_name: str
    permits: tuple[PermitRow, ...]
    spaces: tuple[tuple[str, str], ...]
    hazards: tuple[str, ...]
    sync: str
    sync_level: Level
    ledger_age: str = ""
    ledger_age_level: Level = Level.UNKNOWN
    # Set when the last draft was refused for a stale ledger: who may sign the override.
    override_supervisors: tuple[tuple[str, str], ...] = ()


class HomePresenter:
    def __init__(self, context: AppContext, desk: PermitDesk) -> None:
        self.context = context
        self.desk = desk
        self.last: Outcome | None = None
        self._refused_space: str | None = None

    def view(self) -> HomeView:
        now = self.context.now()
        rows = []
        hazards: list[str] = []
        for permit_id in self.desk.permit_ids():
            state = self.desk.state(permit_id)
            status = state.status_at(now)
            if status in TERMINAL:
                continue
            name = state.space.name if state.space else "-"
            rows.append(
                PermitRow(
                    permit_id,
                    name,
                    status_text(status),
                    STATUS_LEVEL.get(status, Level.UNKNOWN),
                    len(state.inside),
                )
            )
            hazards.extend(f"{name}: {h}" for h in state.permit_hazards)
        spaces = {s["id"]: str(s.get("name", s["id"])) for s in self.desk.spaces()}
        for row in self.context.store.references("hazards"):
            if str(row.get("status", "")).lower() in ("closed", "verified"):
                continue
            where = spaces.get(str(row.get("space_id")), row.get("space_id") or "")
            overdue = " · " + _("overdue") if row.get("overdue") else ""
            hazards.append(
                _("Hazard {id} ({status}): {title}").format(
                    id=row["id"], status=row.get("status", ""), title=row.get("title", "")
                )
                + (f" · {where}" if where else "")
                + overdue
            )
        for report in self.context.store.hazard_reports(unacked_only=True):
            hazards.append(
                _("Your report, not yet on the server: {title}").format(title=report["title"])
            )
        counts = self.context.store.count_waiting()
        pending = sum(counts.values())
        progress = self.context.extras.get("sync_progress") or ""
        if progress:
            sync = _("Syncing: {what}").format(what=progress)
        elif pending:
            sync = _("{n} records waiting for the server").format(n=pending)
        else:
            sync = _("Everything is on the server")
        user = self.context.user
        age_text, age_level = ledger_age_text(self.desk.ledger_age(), self.desk.ledger_max_age())
        return HomeView(
            user_name=self.desk.person_name(user) if user else "",
            permits=tuple(rows),
            spaces=tuple((s["id"], str(s.get("name", s["id"]))) for s in self.desk.spaces()),
            hazards=tuple(hazards),
            sync=sync,
            sync_level=Level.WARN if pending else Level.SAFE,
            ledger_age=age_text,
            ledger_age_level=age_level,
            override_supervisors=self.supervisors() if self.stale_refusal else (),
        )

    def open_permit(self, permit_id: str) -> None:
        self.context.permit_id = permit_id

    def new_permit(
        self,
        space_id: str,
        work_description: str,
        *,
        required_certificates: tuple[str, ...] = (),
        stale_override: StaleLedgerOverride | None = None,
    ) -> Outcome:
        """Draft a permit for a ledger space; the signed-in person is its work leader.

        The permit records how old the tablet's ledger is; on a copy older than the
        limit the core refuses (``PERMIT_LEDGER_TOO_OLD``) unless ``stale_override``
        carries a supervisor's PIN-checked signature and reason."""
        leader = self.context.user
        if leader is None:
            return Outcome(False, error=_("Sign in first."))
        try:
            override = self._stale_signoff(stale_override)
        except ValueError as exc:
            self.last = Outcome(False, error=str(exc))
            return self.last
        row = self.context.store.reference("spaces", space_id)
        if row is None:
            return Outcome(
                False, error=_("No space {id} in the ledger on this tablet.").format(id=space_id)
            )
        permit_id = new_permit_id("PMT", self.context.now())
        enterprise = str(
            row.get("enterprise_id") or self.context.store.get_setting("enterprise_id", "ENT")
        )

        def do() -> str:
            self.desk.record(
                permit_id,
                Drafted(
                    enterprise_id=enterprise,
                    space=self.desk.space_snapshot(row),
                    work_description=work_description,
                    required_certificates=required_certificates,
                    ledger_as_of=self.desk.ledger_as_of(),
                    stale_ledger_override=override,
                    stale_ledger_reason=stale_override.reason.strip() if stale_override else "",
                ),
                actor=leader,
                new=True,
            )
            leader_row = self.desk.person(leader)
            if leader_row is not None:
                self.desk.record(
                    permit_id,
                    RoleAssigned(
                        role=Role.WORK_LEADER,
                        person=self.desk.person_snapshot(leader_row, space_id),
                    ),
                    actor=leader,
                )
            return permit_id

        self.last = attempt(do)
        stale = not self.last.ok and "PERMIT_LEDGER_TOO_OLD" in self.last.codes
        self._refused_space = space_id if stale else None
        if self.last.ok:
            self.context.permit_id = permit_id
        return self.last

    @property
    def stale_refusal(self) -> str | None:
        """The space whose draft the core refused for a stale ledger, until a draft
        succeeds or is refused for another reason (the screen offers the supervisor's
        override meanwhile; a wrong PIN or an empty reason keeps the offer)."""
        return self._refused_space

    def supervisors(self) -> tuple[tuple[str, str], ...]:
        """(person id, name) of everyone on this tablet's ledger who may sign an override."""
        return tuple(
            (str(row["id"]), self.desk.person_name(str(row["id"])))
            for row in self.context.store.references("people")
            if SUPERVISOR_ROLES & set(row.get("roles", ()))
        )

    def draft_with_override(
        self, work_description: str, supervisor_id: str, pin: str, reason: str
    ) -> Outcome:
        """Draft the refused permit again, signed off by a supervisor with a reason."""
        space_id = self.stale_refusal
        if space_id is None:
            return Outcome(False, error=_("Choose the space again."))
        return self.new_permit(
            space_id,
            work_description,
            stale_override=StaleLedgerOverride(supervisor_id, pin, reason),
        )

    def _stale_signoff(self, override: StaleLedgerOverride | None) -> SignOff | None:
        """A supervisor's signature over a new permit (no chain head yet): their PIN
        checked here, their role from this tablet's ledger."""
        if override is None:
            return None
        row = self.desk.person(override.supervisor_id)
        if row is None or not SUPERVISOR_ROLES & set(row.get("roles", ())):
            raise ValueError(
                _(
                    "{name} is not a supervisor: the principal, an approver or the safety "
                    "manager signs the override."
                ).format(name=self.desk.person_name(override.supervisor_id))
            )
        if not override.reason.strip():
            raise ValueError(_("Write why the permit cannot wait for a sync."))
        self.desk.check_pin(override.supervisor_id, override.pin)
        return SignOff(
            person_id=override.supervisor_id,
            meaning=SignOffMeaning.OVERRIDE_STALE_LEDGER,
            signed_at=self.context.now(),
            state_hash=GENESIS_HASH,
            pin_verified=True,
        )

    def new_permit_from_qr(
        self, payload: str, work_description: str, required_certificates: tuple[str, ...] = ()
    ) -> Outcome:
        """Draft a permit for the space whose warning-sign code was scanned or typed.

        The code is the one the server prints on the card (permits.space_code); a code of
        another enterprise's space is refused rather than matched by space id alone.
        """
        try:
            code = parse_space_code(payload)
        except InvalidInput:
            self.last = Outcome(
                False,
                error=_(
                    "This is not the code of a confined space's warning sign. "
                    "Scan the QR code on the sign at the entrance, or choose the space "
                    "from the list."
                ),
            )
            return self.last
        if code.token is not None:
            space_id = space_of_token(self.context.store, code.token)
            if space_id is None:
                self.last = Outcome(
                    False,
                    error=_(
                        "This warning sign's code is not one of this enterprise's spaces: it "
                        "belongs to another enterprise, was replaced, or was printed after "
                        "the last sync. Sync the tablet, or choose the space from the list."
                    ),
                )
                return self.last
            code = SpaceCode(space_id)
        own = self.context.store.get_setting("enterprise_id", "")
        if code.enterprise_id is not None and own and code.enterprise_id != own:
            self.last = Outcome(
                False,
                error=_(
                    "This warning sign belongs to another enterprise's space; this tablet "
                    "keeps only its own enterprise's ledger. Check that you are at the "
                    "right entrance."
                ),
            )
            return self.last
        return self.new_permit(
            code.space_id, work_description, required_certificates=required_certificates
        )

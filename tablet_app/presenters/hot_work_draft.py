"""Drafting and approving a hot-work permit (动火安全作业票, docs/rules.md, Hot work).

The work leader chooses the place's level (the core raises it on holidays, rest days
and at night: the screen shows the raised level and why), the fire points with their
location and site-plan x/y/z, the method, the operators with their welding and
hot-cutting certificates, a fire watcher who is not an operator, and the open
confined-space permit on this tablet the fire is inside of. Nothing is stored until
the core accepts the draft and every role: a refusal names the person and the missing
certificate. Approval is by the level's approver, after the SIMOPS check
(:mod:`tablet_app.presenters.hot_work_simops`). Kivy-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from datetime import datetime, timedelta
from typing import Any

from permits.errors import RuleViolation, Unmet
from permits.events import Payload, SignOffMeaning
from permits.hot_work.data import (
    effective_level,
    level_rule,
    raise_reasons,
    years_without_calendar,
)
from permits.hot_work.events import (
    FirePoint,
    HotWorkApproved,
    HotWorkDrafted,
    HotWorkLevel,
    HotWorkRole,
    HotWorkRoleAssigned,
)
from permits.hot_work.replay import HotWorkSession
from permits.hot_work.rules import operator_certificate
from permits.state import Status
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk, person_snapshot
from tablet_app.hot_work_desk import HotWorkDesk, hot_work_authority
from tablet_app.i18n import _
from tablet_app.permit_ids import new_permit_id
from tablet_app.presenters.common import Outcome, attempt
from tablet_app.presenters.hot_work_simops import SimopsCheck
from tablet_app.presenters.hot_work_words import (
    AUTHORITY_TEXT,
    CERTIFICATE_NAME,
    HotWorkWording,
    level_text,
    raise_text,
    status_text,
    words,
)
from tablet_app.theme import Level

# The window is chosen with large buttons (gloves): when it starts and how long it lasts.
# The level's validity (permits/data/hot_work/rules.toml) still caps it in the core.
START_CHOICES = ("now", "in_1h", "in_2h", "tomorrow_8")
HOUR_CHOICES = (1.0, 2.0, 4.0, 8.0)

DEFAULT_METHOD = "电焊"
DEFAULT_WORK = "动火作业"


@dataclass
class DraftForm:
    base_level: HotWorkLevel = HotWorkLevel.SECOND
    hours: float = 4.0
    start: datetime | None = None  # None: now
    start_choice: str = "now"  # which of START_CHOICES set it
    fire_points: list[FirePoint] = field(default_factory=list)
    method: str = DEFAULT_METHOD
    work: str = DEFAULT_WORK
    operators: list[str] = field(default_factory=list)
    watcher: str | None = None
    linked_permit_id: str | None = None


@dataclass(frozen=True)
class PersonLine:
    person_id: str
    name: str
    text: str
    level: Level
    operator: bool
    watcher: bool


@dataclass(frozen=True)
class DraftView:
    title: str
    level: str  # the level on the permit, raised or not, and why
    level_level: Level
    window: str
    fire_points: tuple[str, ...]
    method: str
    people: tuple[PersonLine, ...]
    link: str
    link_level: Level
    links: tuple[tuple[str, str], ...]  # open confined-space permits: (id, words)
    approver: str
    status: str
    refusal: tuple[tuple[str, str], ...]
    # (choice, words, chosen): when the work starts and how many hours it lasts
    starts: tuple[tuple[str, str, bool], ...] = ()
    durations: tuple[tuple[float, str, bool], ...] = ()


class HotWorkDraftPresenter:
    def __init__(self, context: AppContext, desk: PermitDesk, hot: HotWorkDesk) -> None:
        self.context = context
        self.desk = desk
        self.hot = hot
        self.form = DraftForm()
        self.last: Outcome | None = None
        self.simops = SimopsCheck(desk, hot)
        self.wording = HotWorkWording(desk.person_name, self._shown_state)

    # ---- which permit

    @property
    def permit_id(self) -> str | None:
        pid = self.context.extras.get("hot_work_permit_id")
        return str(pid) if pid else None

    def _shown_state(self) -> Any:
        pid = self.permit_id
        return self.hot.state(pid) if pid else None

    def start_new(self, linked_permit_id: str | None = None) -> None:
        """A blank form (from the home screen, or linked from a confined-space board)."""
        self.context.extras["hot_work_permit_id"] = None
        self.form = DraftForm(linked_permit_id=linked_permit_id)
        self.last = None

    # ---- the form

    def _window(self) -> tuple[datetime, datetime]:
        start = self.form.start or self.context.now()
        return start, start + timedelta(hours=self.form.hours)

    def choose_start(self, choice: str) -> Outcome:
        """One of START_CHOICES: now, in one or two hours (on the next five minutes),
        or tomorrow at 08:00 on the tablet's clock."""
        now = self.context.now()
        if choice == "now":
            start = None
        elif choice in ("in_1h", "in_2h"):
            later = now + timedelta(hours=1 if choice == "in_1h" else 2)
            start = later.replace(second=0, microsecond=0) + timedelta(minutes=-later.minute % 5)
        elif choice == "tomorrow_8":
            start = (now + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
        else:
            raise ValueError(choice)
        self.form.start_choice = choice
        return self.set_window(start, self.form.hours)

    def choose_hours(self, hours: float) -> Outcome:
        return self.set_window(self.form.start, hours)

    def _window_choices(
        self,
    ) -> tuple[tuple[tuple[str, str, bool], ...], tuple[tuple[float, str, bool], ...]]:
        names = {
            "now": _("Start now"),
            "in_1h": _("In 1 hour"),
            "in_2h": _("In 2 hours"),
            "tomorrow_8": _("Tomorrow 08:00"),
        }
        starts = tuple((c, names[c], c == self.form.start_choice) for c in START_CHOICES)
        durations = tuple(
            (h, _("{hours} h").format(hours=f"{h:g}"), h == self.form.hours) for h in HOUR_CHOICES
        )
        return starts, durations

    def set_level(self, level: HotWorkLevel | str) -> None:
        self.form.base_level = HotWorkLevel(level)

    def set_window(self, start: datetime | None, hours: float) -> Outcome:
        if hours <= 0:
            self.last = Outcome(False, error=_("The work must last longer than zero hours."))
            return self.last
        self.form.start, self.form.hours = start, hours
        return Outcome(True)

    def add_typed_fire_point(self, location: str, x: str, y: str, z: str) -> Outcome:
        """The fire point as typed on the screen: x, y, z in metres on the site plan."""
        try:
            numbers = [float(v.replace(",", ".")) for v in (x, y, z)]
        except ValueError:
            self.last = Outcome(
                False, error=_("A fire point needs a location and numbers for x, y and z.")
            )
            return self.last
        return self.add_fire_point(location, *numbers)

    def add_fire_point(self, location: str, x: float, y: float, z: float) -> Outcome:
        def add() -> FirePoint:
            point = FirePoint(
                point_id=f"FP{len(self.form.fire_points) + 1}",
                location=location.strip(),
                x=float(x),
                y=float(y),
                z=float(z),
            )
            self.form.fire_points.append(point)
            return point

        self.last = attempt(add)
        if not self.last.ok:
            self.last = Outcome(
                False, error=_("A fire point needs a location and numbers for x, y and z.")
            )
        return self.last

    def remove_fire_point(self, index: int) -> None:
        if 0 <= index < len(self.form.fire_points):
            del self.form.fire_points[index]

    def set_method(self, method: str, work: str | None = None) -> None:
        self.form.method = method.strip()
        if work is not None:
            self.form.work = work.strip()

    def toggle_operator(self, person_id: str) -> None:
        ops = self.form.operators
        if person_id in ops:
            ops.remove(person_id)
        else:
            ops.append(person_id)

    def set_watcher(self, person_id: str | None) -> None:
        self.form.watcher = person_id

    def link(self, confined_permit_id: str | None) -> None:
        self.form.linked_permit_id = confined_permit_id

    def open_confined(self) -> list[tuple[str, str]]:
        """The confined-space permits open on this tablet (id, space · status)."""
        out = []
        now = self.context.now()
        for pid in self.desk.permit_ids():
            state = self.desk.state(pid)
            status = state.status_at(now)
            if status in (Status.CLOSED, Status.CANCELLED) or state.space is None:
                continue
            out.append((pid, f"{state.space.name} · {status_text_cs(status.value)}"))
        return out

    # ---- certificates in words

    def _certificate_line(self, row: dict[str, Any]) -> tuple[str, bool]:
        name = str(row.get("name", row["id"]))
        try:  # the core's rule on the person as the permit would record them
            cert = operator_certificate(person_snapshot(row), self.context.now().date())
        except ValueError:  # a ledger row the snapshot cannot read holds no valid certificate
            cert = None
        if cert is not None:
            return (
                _("{name}: {certificate} no. {number}, valid until {until}").format(
                    name=name,
                    certificate=_(CERTIFICATE_NAME),
                    number=cert.number or "-",
                    until=cert.valid_until.isoformat(),
                ),
                True,
            )
        return (
            _("{name}: no valid {certificate}").format(name=name, certificate=_(CERTIFICATE_NAME)),
            False,
        )

    # ---- the draft

    def _payloads(self) -> list[tuple[Payload, str]]:
        start, end = self._window()
        link = self.form.linked_permit_id
        space_id = None
        if link is not None:
            cs = self.desk.state(link)
            space_id = cs.space.space_id if cs.space else None
        drafted = HotWorkDrafted(
            enterprise_id=str(self.context.store.get_setting("enterprise_id", "-")),
            base_level=self.form.base_level,
            planned_start=start,
            planned_end=end,
            fire_points=tuple(self.form.fire_points),
            method=self.form.method,
            work_description=self.form.work,
            linked_permit_id=link if space_id else None,
            linked_space_id=space_id,
            years_without_calendar=years_without_calendar(start, end),
        )
        out: list[tuple[Payload, str]] = [(drafted, "")]
        leader = self.context.user
        if leader:
            out.append((self._role(HotWorkRole.WORK_LEADER, str(leader)), str(leader)))
        for pid in self.form.operators:
            out.append((self._role(HotWorkRole.OPERATOR, pid), pid))
        if self.form.watcher:
            out.append((self._role(HotWorkRole.FIRE_WATCHER, self.form.watcher), ""))
        return out

    def _role(self, role: HotWorkRole, person_id: str) -> HotWorkRoleAssigned:
        row = self.desk.person(person_id) or {"id": person_id, "name": person_id}
        return HotWorkRoleAssigned(role=role, person=self.desk.person_snapshot(row))

    def _form_unmet(self) -> list[tuple[str, str]]:
        out = []
        if not self.form.fire_points:
            out.append((_("Add at least one fire point."), ""))
        if not self.form.operators:
            out.append((_("Choose at least one operator."), ""))
        if not self.form.watcher:
            out.append((_("Choose the fire watcher."), ""))
        link = self.form.linked_permit_id
        if link is not None and self.desk.state(link).space is None:
            out.append((_("The linked confined-space permit is not on this tablet."), ""))
        return out

    def draft(self) -> Outcome:
        """Check the whole draft on a trial chain; store it only if the core accepts
        the draft and every role (so a refusal leaves nothing half-written)."""
        actor = str(self.context.user or "")
        if not actor:
            self.last = Outcome(False, error=_("Sign in first."))
            return self.last
        form = self._form_unmet()
        if form:
            self.last = Outcome(False, error="\n".join(m for m, _r in form))
            return self.last
        try:
            payloads = self._payloads()
        except ValueError as exc:
            self.last = Outcome(False, error=str(exc))
            return self.last
        permit_id = new_permit_id("HW", self.context.now())
        trial = HotWorkSession(self.desk.key)
        unmet: list[Unmet] = []
        now = self.context.now()
        for i, (payload, _who) in enumerate(payloads):
            try:
                trial.record(payload, now, actor=actor, permit_id=permit_id if i == 0 else None)
            except RuleViolation as exc:
                unmet.extend(exc.unmet)
                if i == 0:
                    break
        if unmet:
            self.last = Outcome(False, unmet=tuple(unmet))
            return self.last
        self.last = attempt(
            lambda: self.context.store.append_events([e.to_json() for e in trial.events])
        )
        if self.last.ok:
            self.hot._sessions[permit_id] = dc_replace(trial, events=list(trial.events))
            self.context.extras["hot_work_permit_id"] = permit_id
        return self.last

    # ---- approval

    def approve(self, approver_id: str) -> Outcome:
        """The level's approver signs (PIN checked at sign-in or by :meth:`check_pin`),
        once the SIMOPS check of the permits this tablet knows allows it."""
        pid = self.permit_id
        if pid is None:
            self.last = Outcome(False, error=_("Draft the permit first."))
            return self.last
        row = self.desk.person(approver_id)
        authority = hot_work_authority(row)
        if authority is None:
            self.last = Outcome(
                False,
                error=_("{name} may not approve hot work.").format(
                    name=self.desk.person_name(approver_id)
                ),
            )
            return self.last
        blocked = self.simops.blocking(pid)
        if blocked:
            self.last = Outcome(False, error="\n".join(blocked))
            return self.last

        def sign() -> Any:
            assert row is not None
            return self.hot.record(
                pid,
                HotWorkApproved(
                    approver=self.desk.person_snapshot(row),
                    authority=authority,
                    signoff=self.hot.signoff(pid, approver_id, SignOffMeaning.APPROVE),
                ),
                actor=approver_id,
            )

        self.last = attempt(sign)
        return self.last

    def check_pin(self, person_id: str, pin: str) -> Outcome:
        self.last = attempt(lambda: self.desk.check_pin(person_id, pin))
        return self.last

    # ---- view

    def view(self) -> DraftView:
        pid = self.permit_id
        state = self.hot.state(pid) if pid else None
        if state is not None and state.level is not None and state.base_level is not None:
            base, level, reasons = state.base_level, state.level, state.raised_because
            start, end = state.planned_start, state.planned_end
            gaps = state.years_without_calendar
        else:  # the form before it is written: the rule the fold will apply
            base = self.form.base_level
            start, end = self._window()
            gaps = years_without_calendar(start, end)
            reasons = raise_reasons(start, end, gaps)
            level = effective_level(base, start, end, gaps)
        assert start is not None and end is not None
        if level is not base:
            level_line = _("{level}: raised from {base} because of {why}").format(
                level=level_text(level), base=level_text(base), why=raise_text(reasons)
            )
            level_level = Level.WARN
        else:
            level_line = _("{level}: not raised").format(level=level_text(level))
            level_level = Level.UNKNOWN
        if gaps:  # said at any level (特级 goes no higher), as of the draft once written
            years = ", ".join(str(y) for y in gaps)
            level_line += " · " + (
                _(
                    "drafted while the holiday arrangements for {years} were not installed: "
                    "every day counts as a holiday"
                )
                if state is not None and state.level is not None
                else _(
                    "the holiday arrangements for {years} are not installed: every day counts "
                    "as a holiday"
                )
            ).format(years=years)
        rule = level_rule(level)
        window = _("{start} to {end} (valid at most {hours} h)").format(
            start=f"{start:%m-%d %H:%M}", end=f"{end:%m-%d %H:%M}", hours=f"{rule.validity_hours:g}"
        )
        points = state.fire_points.values() if state is not None else self.form.fire_points
        fire_points = tuple(
            _("{location} (x {x}, y {y}, z {z} m)").format(
                location=f.location, x=f"{f.x:g}", y=f"{f.y:g}", z=f"{f.z:g}"
            )
            for f in points
        )
        operators = sorted(state.operators) if state is not None else self.form.operators
        watchers = sorted(state.fire_watchers) if state is not None else [self.form.watcher]
        people = []
        for row in self.desk.people():
            pid_ = str(row["id"])
            cert_text, certified = self._certificate_line(row)
            is_op, is_watch = pid_ in operators, pid_ in watchers
            role = (
                _("operator")
                if is_op
                else _("fire watcher")
                if is_watch
                else _("not on this permit")
            )
            level_ = Level.UNKNOWN
            if is_op:
                level_ = Level.SAFE if certified else Level.ALARM
            people.append(
                PersonLine(
                    pid_,
                    self.desk.person_name(pid_),
                    f"{cert_text} · {role}",
                    level_,
                    is_op,
                    is_watch,
                )
            )
        link_id = state.linked_permit_id if state is not None else self.form.linked_permit_id
        link, link_level = _("Not inside a confined space"), Level.UNKNOWN
        if link_id is not None:
            cs = self.desk.state(link_id)
            active = cs.status_at(self.context.now()) is Status.ACTIVE
            link = _("Inside the confined space {space} (its permit: {status})").format(
                space=cs.space.name if cs.space else "-",
                status=status_text_cs(cs.status_at(self.context.now()).value),
            )
            link_level = Level.SAFE if active else Level.WARN
        approver = _("Approver for this level: {who}").format(
            who=words(AUTHORITY_TEXT, rule.approver.value)
        )
        last = self.last
        refusal = tuple(last.lines(self.wording)) if last is not None and not last.ok else ()
        return DraftView(
            title=_("Hot-work permit") + (f" {pid}" if pid else ""),
            level=level_line,
            level_level=level_level,
            window=window,
            fire_points=fire_points,
            method=(state.method if state is not None else self.form.method) or "-",
            people=tuple(people),
            link=link,
            link_level=link_level,
            links=tuple(self.open_confined()),
            approver=approver,
            status=status_text(state.status) if state is not None else _("not drafted"),
            refusal=refusal,
            starts=self._window_choices()[0] if state is None else (),
            durations=self._window_choices()[1] if state is None else (),
        )


def status_text_cs(status: str) -> str:
    from tablet_app.presenters.hot_work_words import CONFINED_STATUS_TEXT

    return words(CONFINED_STATUS_TEXT, status)

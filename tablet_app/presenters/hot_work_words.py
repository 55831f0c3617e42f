"""The hot-work permit in the guardian's words: levels, approvers, statuses, why a
level was raised, and the core's unmet conditions with names instead of ids
(docs/rules.md, Hot work). Kivy-free."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from permits.errors import Unmet
from permits.hot_work.codes import HotWorkCode
from permits.hot_work.events import HotWorkAuthority, HotWorkLevel
from permits.hot_work.state import HotWorkState, HotWorkStatus
from permits.messages import N_
from tablet_app.i18n import _
from tablet_app.presenters.wording import Wording
from tablet_app.theme import Level

LEVEL_TEXT = {
    HotWorkLevel.SPECIAL.value: N_("special-level hot work"),
    HotWorkLevel.FIRST.value: N_("first-level hot work"),
    HotWorkLevel.SECOND.value: N_("second-level hot work"),
}
AUTHORITY_TEXT = {
    HotWorkAuthority.WORK_UNIT.value: N_("the work unit"),
    HotWorkAuthority.SAFETY_DEPARTMENT.value: N_("the safety department"),
    HotWorkAuthority.PRODUCTION_SAFETY_LEAD.value: N_("the lead in charge of production safety"),
}
RAISE_TEXT = {
    "holiday": N_("a public holiday"),
    "rest_day": N_("a rest day"),
    "night": N_("at night"),
    "no_calendar": N_("no holiday calendar for that year"),
}
STATUS_TEXT = {
    HotWorkStatus.NONE.value: N_("not drafted"),
    HotWorkStatus.DRAFT.value: N_("draft"),
    HotWorkStatus.APPROVED.value: N_("approved, gas analysis needed"),
    HotWorkStatus.GAS_OK.value: N_("gas analysis passed"),
    HotWorkStatus.ACTIVE.value: N_("fire burning"),
    HotWorkStatus.INTERRUPTED.value: N_("interrupted"),
    HotWorkStatus.WORK_DONE.value: N_("work done, fire watch next"),
    HotWorkStatus.FIRE_WATCH.value: N_("fire watch"),
    HotWorkStatus.WATCH_DONE.value: N_("fire watch done"),
    HotWorkStatus.CLOSED.value: N_("closed"),
    HotWorkStatus.SUSPENDED.value: N_("SUSPENDED"),
    HotWorkStatus.CANCELLED.value: N_("cancelled"),
    HotWorkStatus.EXPIRED.value: N_("expired"),
}
STATUS_LEVEL = {
    HotWorkStatus.ACTIVE.value: Level.WARN,
    HotWorkStatus.GAS_OK.value: Level.SAFE,
    HotWorkStatus.WATCH_DONE.value: Level.SAFE,
    HotWorkStatus.CLOSED.value: Level.SAFE,
    HotWorkStatus.SUSPENDED.value: Level.ALARM,
    HotWorkStatus.EXPIRED.value: Level.ALARM,
    HotWorkStatus.FIRE_WATCH.value: Level.WARN,
}
# The linked confined-space permit's status, as the confined-space screens say it.
CONFINED_STATUS_TEXT = {
    "draft": N_("draft"),
    "approved": N_("approved, nobody has entered"),
    "active": N_("active"),
    "suspended": N_("SUSPENDED"),
    "evacuating": N_("EVACUATING"),
    "closing": N_("closing"),
    "closed": N_("closed"),
    "cancelled": N_("cancelled"),
    "expired": N_("expired"),
}
CERTIFICATE_NAME = N_("welding and hot-cutting certificate")


def words(table: dict[str, str], key: str | None) -> str:
    if key is None:
        return "-"
    return _(table[key]) if key in table else key


def level_text(level: HotWorkLevel | str | None) -> str:
    return words(LEVEL_TEXT, None if level is None else str(level))


def raise_text(reasons: Iterable[str]) -> str:
    return _("; ").join(words(RAISE_TEXT, r) for r in reasons)


def status_text(status: HotWorkStatus | str) -> str:
    return words(STATUS_TEXT, str(status))


class HotWorkWording:
    """The core's conditions with people's names, fire points by their location and
    levels, approvers and statuses in words (never a code or an id)."""

    def __init__(
        self,
        person_name: Callable[[str], str],
        state: Callable[[], HotWorkState | None] = lambda: None,
        feed_latest: Any = None,
    ) -> None:
        self.base = Wording(feed_latest, person_name)
        self.person_name = person_name
        self.state = state

    def point(self, point_id: str) -> str:
        state = self.state()
        fp = state.fire_points.get(point_id) if state is not None else None
        return fp.location if fp is not None else point_id

    def unmet(self, unmet: Unmet) -> Unmet:
        facts = dict(unmet.facts)
        if isinstance(facts.get("point"), str):
            facts["point"] = self.point(facts["point"])
        for key in ("level",):
            if isinstance(facts.get(key), str):
                facts[key] = level_text(facts[key])
        for key in ("required", "authority"):
            if isinstance(facts.get(key), str):
                facts[key] = words(AUTHORITY_TEXT, facts[key])
        # Only the linked confined-space permit's status is said as the confined-space
        # screens say it; any other status (the hot work's own) the core words.
        if unmet.code == HotWorkCode.HOT_WORK_LINKED_PERMIT_NOT_ACTIVE and isinstance(
            facts.get("status"), str
        ):
            facts["status"] = words(CONFINED_STATUS_TEXT, facts["status"])
        if isinstance(facts.get("alarms"), str):
            facts["alarms"] = _("flammable gas alarm")
        for key in ("approver",):
            if isinstance(facts.get(key), str):
                facts[key] = self.person_name(facts[key])
        for key in ("start",):
            if isinstance(facts.get(key), str) and "T" in facts[key]:
                facts[key] = facts[key].replace("T", " ")[:16]
        out = self.base.unmet(Unmet(unmet.code, facts))
        return Unmet(out.code, {**out.facts, "point": facts.get("point", "-")})

    def lines(self, unmet: Iterable[Unmet]) -> list[tuple[str, str]]:
        out = []
        for u in unmet:
            shown = self.unmet(u)
            out.append((shown.message(), shown.remedy()))
        return out

    def reasons(self, reasons: Iterable[Any]) -> list[tuple[str, str]]:
        """An analysis's reasons (dicts with a code) as lines."""
        return self.lines(
            Unmet(str(r["code"]), {k: v for k, v in dict(r).items() if k != "code"})
            for r in reasons
        )


def open_rows(hot: Any, now: Any) -> list[tuple[str, str]]:
    """The open hot-work permits on this tablet for the home list: (id, words)."""
    rows = []
    for pid in hot.permit_ids():
        state = hot.state(pid)
        where = ", ".join(f.location for f in state.fire_points.values()) or "-"
        rows.append(
            (
                pid,
                _("Hot work {permit}: {level} · {where} · {status}").format(
                    permit=pid,
                    level=level_text(state.level),
                    where=where,
                    status=status_text(state.status_at(now)),
                ),
            )
        )
    return rows

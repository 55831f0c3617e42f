"""Simultaneous operations (交叉作业): conflicts between permits, found before they happen.

Pure functions over the footprints permits declare (docs/rules.md, Simultaneous
operations): its confined space, equipment, isolation points, pipelines, work points
(x, y, z in metres on the site plan), a half-open time window and activities. The
pair rules are data (``permits/data/simops.toml``, each with its source).

* :func:`conflicts` gives one :class:`Conflict` per conflicting pair: the strongest
  verdict and every rule that applies; a hot job and its linked confined-space permit
  are :func:`one_job`, never a conflict;
* :func:`unresolved` drops the conditional conflicts that are cleared: a
  coordinator (协调人) named and every permit's approver acknowledged the pair as
  it is now (:func:`pair_digest`; any change to a footprint puts the conflict
  back). A *never* conflict is never cleared;
* :func:`isolation_removal_blockers`: the open permits that still depend on a
  shared isolation point;
* :func:`parse_plan`: the planner's JSON (``cspermit simops check``), refused with
  :class:`~permits.errors.InvalidInput` naming the field.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from permits.canonical import canonical_json
from permits.errors import InvalidInput, ProfileError
from permits.events import SimopsAcknowledgement
from permits.i18n import gettext as _

__all__ = [
    "Acknowledgement",
    "Activity",
    "Conflict",
    "Footprint",
    "Plan",
    "Point",
    "Relation",
    "SimopsRule",
    "Verdict",
    "WorkType",
    "conflicts",
    "is_cleared",
    "isolation_removal_blockers",
    "one_job",
    "pair_digest",
    "parse_plan",
    "signed_acknowledgements",
    "simops_rules",
    "unresolved",
]

SIMOPS_FILE = Path(__file__).parent / "data" / "simops.toml"


class WorkType(StrEnum):
    """GB 30871's special works, or ``general`` for ordinary work."""

    HOT_WORK = "hot_work"
    CONFINED_SPACE = "confined_space"
    BLIND_PLATE = "blind_plate"
    WORK_AT_HEIGHT = "work_at_height"
    LIFTING = "lifting"
    TEMPORARY_POWER = "temporary_power"
    EXCAVATION = "excavation"
    ROAD_CLOSURE = "road_closure"
    GENERAL = "general"


class Activity(StrEnum):
    HOT_WORK = "hot_work"
    CONFINED_SPACE_ENTRY = "confined_space_entry"
    PAINTING = "painting"
    SOLVENT_CLEANING = "solvent_cleaning"
    FLAMMABLE_GAS_VENTING = "flammable_gas_venting"
    FLAMMABLE_LIQUID_TRANSFER = "flammable_liquid_transfer"
    DUST_SWEEPING = "dust_sweeping"
    BLIND_PLATE = "blind_plate"
    WORK_AT_HEIGHT = "work_at_height"
    LIFTING = "lifting"
    EXCAVATION = "excavation"
    TEMPORARY_POWER = "temporary_power"


class Verdict(StrEnum):
    CONDITIONAL = "conditional"
    NEVER = "never"

    @property
    def strength(self) -> int:
        return 1 if self is Verdict.NEVER else 0


class Relation(StrEnum):
    WITHIN = "within"
    SAME_PIPELINE = "same_pipeline"
    SAME_SPACE = "same_space"
    SHARED_RESOURCE = "shared_resource"


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    z: float


@dataclass(frozen=True)
class Footprint:
    """What one permit occupies: where, when, on what, doing what."""

    permit_id: str
    type: WorkType
    start: datetime
    end: datetime  # half-open: [start, end)
    activities: frozenset[Activity]
    points: tuple[Point, ...]
    level: str | None = None
    space_id: str | None = None
    equipment: frozenset[str] = frozenset()
    isolation_points: frozenset[str] = frozenset()
    pipelines: frozenset[str] = frozenset()
    approver: str | None = None  # whose acknowledgement clears a conditional conflict
    # The permit this one is one job with (a hot job and the confined-space permit it is
    # linked to): never a conflict between the two (:func:`one_job`). Not in
    # :meth:`as_json`: an acknowledgement is bound to that JSON's digest, and the link
    # says nothing of where, when or what (a new key would orphan every signed one).
    linked_permit_id: str | None = None

    def overlaps(self, other: Footprint) -> bool:
        return self.start < other.end and other.start < self.end

    def does(self, activity: str) -> bool:
        return activity == "any" or activity in self.all_activities

    @property
    def all_activities(self) -> frozenset[Activity]:
        implied = simops_rules().type_activities.get(self.type, frozenset())
        return self.activities | implied

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.permit_id,
            "type": self.type.value,
            "window": [self.start, self.end],
            "activities": sorted(self.activities),
            "points": [[p.x, p.y, p.z] for p in self.points],
            "space_id": self.space_id,
            "equipment": sorted(self.equipment),
            "isolation_points": sorted(self.isolation_points),
            "pipelines": sorted(self.pipelines),
            "level": self.level,
            "approver": self.approver,
        }
        return out


@dataclass(frozen=True)
class SimopsRule:
    rule_id: str
    a: str
    b: str
    relation: Relation
    verdict: Verdict
    source: str
    distance_m: float | None = None

    def applies(self, first: Footprint, second: Footprint, distance: float | None) -> bool:
        return self._holds(first, second, distance) or self._holds(second, first, distance)

    def _holds(self, one: Footprint, two: Footprint, distance: float | None) -> bool:
        if not (one.does(self.a) and two.does(self.b)):
            return False
        if self.relation is Relation.WITHIN:
            assert self.distance_m is not None
            return distance is not None and distance <= self.distance_m
        if self.relation is Relation.SAME_PIPELINE:
            return bool(one.pipelines & two.pipelines)
        if self.relation is Relation.SAME_SPACE:
            return one.space_id is not None and one.space_id == two.space_id
        return (
            (one.space_id is not None and one.space_id == two.space_id)
            or bool(one.equipment & two.equipment)
            or bool(one.isolation_points & two.isolation_points)
        )


@dataclass(frozen=True)
class SimopsTable:
    profiles: frozenset[str]
    type_activities: Mapping[WorkType, frozenset[Activity]]
    rules: tuple[SimopsRule, ...]


def _load(path: Path) -> SimopsTable:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        type_activities = {
            WorkType(kind): frozenset(Activity(a) for a in acts)
            for kind, acts in raw["type_activities"].items()
        }
        rules = tuple(
            SimopsRule(
                rule_id=str(r["id"]),
                a=r["a"] if r["a"] == "any" else Activity(r["a"]).value,
                b=r["b"] if r["b"] == "any" else Activity(r["b"]).value,
                relation=Relation(r["relation"]),
                verdict=Verdict(r["verdict"]),
                source=str(r["source"]),
                distance_m=float(r["distance_m"]) if "distance_m" in r else None,
            )
            for r in raw["rules"]
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ProfileError(f"SIMOPS rules {path} are not valid: {exc}") from exc
    for rule in rules:
        if (rule.relation is Relation.WITHIN) != (rule.distance_m is not None):
            raise ProfileError(f"SIMOPS rule {rule.rule_id}: distance_m goes with 'within' only")
    return SimopsTable(frozenset(raw["profiles"]), type_activities, rules)


@cache
def simops_rules() -> SimopsTable:
    return _load(SIMOPS_FILE)


@dataclass(frozen=True)
class Conflict:
    permits: tuple[str, str]  # sorted
    verdict: Verdict
    rules: tuple[str, ...]  # every rule that applies, in the data's order
    distance_m: float | None = None  # the closest two work points

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "permits": list(self.permits),
            "verdict": self.verdict.value,
            "rules": list(self.rules),
        }
        if self.distance_m is not None:
            out["distance_m"] = round(self.distance_m, 3)
        return out


def closest_distance(first: Footprint, second: Footprint) -> float | None:
    if not first.points or not second.points:
        return None
    return min(
        math.dist((p.x, p.y, p.z), (q.x, q.y, q.z)) for p in first.points for q in second.points
    )


def one_job(first: Footprint, second: Footprint) -> bool:
    """A hot job and the confined-space permit it is linked to are one job (docs/rules.md,
    Hot work: it needs both), not two operations to coordinate."""
    return (first.linked_permit_id is not None and first.linked_permit_id == second.permit_id) or (
        second.linked_permit_id is not None and second.linked_permit_id == first.permit_id
    )


def pair_conflict(first: Footprint, second: Footprint) -> Conflict | None:
    """The conflict between two permits, or None (their windows must overlap, and they
    are not :func:`one_job`)."""
    if first.permit_id == second.permit_id or one_job(first, second):
        return None
    if not first.overlaps(second):
        return None
    distance = closest_distance(first, second)
    applying = [r for r in simops_rules().rules if r.applies(first, second, distance)]
    if not applying:
        return None
    verdict = max((r.verdict for r in applying), key=lambda v: v.strength)
    ids = tuple(sorted((first.permit_id, second.permit_id)))
    return Conflict((ids[0], ids[1]), verdict, tuple(r.rule_id for r in applying), distance)


def conflicts(footprints: Sequence[Footprint]) -> list[Conflict]:
    """One entry per conflicting pair, sorted by the pair's ids."""
    found = []
    for i, first in enumerate(footprints):
        for second in footprints[i + 1 :]:
            conflict = pair_conflict(first, second)
            if conflict is not None:
                found.append(conflict)
    return sorted(found, key=lambda c: c.permits)


# ------------------------------------------------------------ clearing


def pair_digest(first: Footprint, second: Footprint) -> str:
    """What an acknowledgement is bound to: both footprints as they are now."""
    pair = sorted((first.as_json(), second.as_json()), key=lambda f: str(f["id"]))
    return hashlib.sha256(canonical_json(pair).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Acknowledgement:
    """A permit's approver accepts a conditional conflict with another permit, naming
    the coordinator (协调人), over the pair's current :func:`pair_digest`."""

    permit_id: str
    other_permit_id: str
    approver_id: str
    coordinator_id: str
    digest: str


def signed_acknowledgements(
    permit_id: str | None, signed: Iterable[SimopsAcknowledgement]
) -> tuple[Acknowledgement, ...]:
    """The acknowledgements a permit's chain carries (either permit type's event)."""
    if permit_id is None:
        return ()
    return tuple(
        Acknowledgement(
            permit_id=permit_id,
            other_permit_id=a.other_permit_id,
            approver_id=a.signoff.person_id,
            coordinator_id=a.coordinator_id,
            digest=a.digest,
        )
        for a in signed
    )


def is_cleared(
    conflict: Conflict,
    footprints: Mapping[str, Footprint],
    acknowledgements: Iterable[Acknowledgement],
) -> bool:
    if conflict.verdict is Verdict.NEVER:
        return False
    first, second = (footprints[p] for p in conflict.permits)
    digest = pair_digest(first, second)
    coordinators: set[str] = set()
    for footprint, other in ((first, second), (second, first)):
        acks = [
            a
            for a in acknowledgements
            if a.permit_id == footprint.permit_id
            and a.other_permit_id == other.permit_id
            and footprint.approver is not None
            and a.approver_id == footprint.approver
            and a.digest == digest
            and a.coordinator_id
        ]
        if not acks:
            return False
        coordinators.update(a.coordinator_id for a in acks)
    # Both approvers must have accepted the same coordinator.
    return len(coordinators) == 1


def unresolved(
    footprints: Sequence[Footprint], acknowledgements: Iterable[Acknowledgement] = ()
) -> list[Conflict]:
    """The conflicts still standing: every never, and each conditional not cleared."""
    by_id = {f.permit_id: f for f in footprints}
    acks = tuple(acknowledgements)
    return [c for c in conflicts(footprints) if not is_cleared(c, by_id, acks)]


def isolation_removal_blockers(
    point_id: str, removing_permit: str, open_footprints: Iterable[Footprint]
) -> list[str]:
    """The other open permits that depend on ``point_id`` (docs/rules.md: a shared
    isolation point stays while any permit that depends on it is open)."""
    return sorted(
        f.permit_id
        for f in open_footprints
        if f.permit_id != removing_permit and point_id in f.isolation_points
    )


# ------------------------------------------------------------ the plan


@dataclass(frozen=True)
class Plan:
    profile: str
    footprints: tuple[Footprint, ...]


_PERMIT_KEYS = frozenset(
    {
        "id",
        "type",
        "level",
        "window",
        "activities",
        "points",
        "space_id",
        "equipment",
        "isolation_points",
        "pipelines",
    }
)


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(where, _("a JSON object"), type(value).__name__)
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(where, _("a non-empty string"), value)
    return value


def _texts(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise InvalidInput(where, _("a list of strings"), value)
    return frozenset(_text(v, f"{where}[{i}]") for i, v in enumerate(value))


def _time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidInput(where, _("an ISO 8601 time with a UTC offset"), value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(where, _("an ISO 8601 time with a UTC offset"), value) from None
    if parsed.utcoffset() is None:
        raise InvalidInput(where, _("an ISO 8601 time with a UTC offset"), value)
    return parsed


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(where, _("a finite number of metres"), value)
    return float(value)


def _choice(value: Any, where: str, choices: type[StrEnum]) -> str:
    allowed = [c.value for c in choices]
    if value not in allowed:
        raise InvalidInput(where, _("one of {choices}").format(choices=", ".join(allowed)), value)
    return str(value)


def _footprint(raw: Any, where: str) -> Footprint:
    data = _obj(raw, where)
    unknown = sorted(set(data) - _PERMIT_KEYS)
    if unknown:
        raise InvalidInput(f"{where}.{unknown[0]}", _("no such field"), unknown[0])
    for key in ("id", "type", "window", "activities", "points"):
        if key not in data:
            raise InvalidInput(f"{where}.{key}", _("a value (the field is required)"))
    window = data["window"]
    if not isinstance(window, list) or len(window) != 2:
        raise InvalidInput(f"{where}.window", _("[start, end]"), window)
    start = _time(window[0], f"{where}.window[0]")
    end = _time(window[1], f"{where}.window[1]")
    if end <= start:
        raise InvalidInput(f"{where}.window", _("an end after the start"), window)
    activities = data["activities"]
    if not isinstance(activities, list):
        raise InvalidInput(f"{where}.activities", _("a list of activities"), activities)
    points = data["points"]
    if not isinstance(points, list) or not points:
        raise InvalidInput(f"{where}.points", _("a non-empty list of points"), points)
    parsed_points = []
    for i, raw_point in enumerate(points):
        point = _obj(raw_point, f"{where}.points[{i}]")
        extra = sorted(set(point) - {"x", "y", "z"})
        if extra:
            raise InvalidInput(f"{where}.points[{i}].{extra[0]}", _("no such field"), extra[0])
        parsed_points.append(
            Point(*(_number(point.get(axis), f"{where}.points[{i}].{axis}") for axis in "xyz"))
        )
    level = data.get("level")
    space = data.get("space_id")
    return Footprint(
        permit_id=_text(data["id"], f"{where}.id"),
        type=WorkType(_choice(data["type"], f"{where}.type", WorkType)),
        start=start,
        end=end,
        activities=frozenset(
            Activity(_choice(a, f"{where}.activities[{i}]", Activity))
            for i, a in enumerate(activities)
        ),
        points=tuple(parsed_points),
        level=None if level is None else _text(level, f"{where}.level"),
        space_id=None if space is None else _text(space, f"{where}.space_id"),
        equipment=_texts(data.get("equipment"), f"{where}.equipment"),
        isolation_points=_texts(data.get("isolation_points"), f"{where}.isolation_points"),
        pipelines=_texts(data.get("pipelines"), f"{where}.pipelines"),
    )


def parse_plan(data: Any) -> Plan:
    """A planner's plan from its JSON form; :class:`InvalidInput` names the bad field."""
    plan = _obj(data, "(plan)")
    unknown = sorted(set(plan) - {"profile", "permits"})
    if unknown:
        raise InvalidInput(unknown[0], _("no such field"), unknown[0])
    profile = _text(plan.get("profile"), "profile")
    known = simops_rules().profiles
    if profile not in known:
        raise InvalidInput(
            "profile", _("one of {choices}").format(choices=", ".join(sorted(known))), profile
        )
    permits = plan.get("permits")
    if not isinstance(permits, list):
        raise InvalidInput("permits", _("a list of permits"), permits)
    footprints = tuple(_footprint(p, f"permits[{i}]") for i, p in enumerate(permits))
    seen: set[str] = set()
    for i, footprint in enumerate(footprints):
        if footprint.permit_id in seen:
            raise InvalidInput(
                f"permits[{i}].id", _("an id no other permit has"), footprint.permit_id
            )
        seen.add(footprint.permit_id)
    return Plan(profile, footprints)

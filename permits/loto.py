"""Lockout-tagout (挂牌上锁): which isolations satisfy a space's isolation points.

Each required point needs a lock and a tag applied by a named person and
verified by a second person (OSHA 1910.147). A pipe to a hazardous source must
be cut by a blind flange (盲板) or a removed pipe section: a closed valve or a
water seal may be applied in addition, never as the only isolation
(GB 30871 §6, secondary). Group lockout: a point's key goes into a group
lockbox and every entrant puts a personal lock on that lockbox.
"""

from __future__ import annotations

from collections.abc import Iterable

from permits.errors import Unmet
from permits.events import (
    IsolationKind,
    IsolationMethod,
    IsolationPointTemplate,
    RemovalException,
)
from permits.messages import register
from permits.state import IsolationRecord, PermitState

__all__ = [
    "METHODS_FOR_KIND",
    "POSITIVE_PIPE_ISOLATION",
    "exception_missing",
    "isolation_unmet",
    "point_unmet",
    "removal_unmet",
]


def N_(message: str) -> str:
    """Mark a message for translation; it is translated when rendered."""
    return message


POSITIVE_PIPE_ISOLATION = frozenset(
    {IsolationMethod.BLIND_FLANGE, IsolationMethod.PIPE_SECTION_REMOVED}
)

# Methods that can physically isolate each kind of point.
METHODS_FOR_KIND: dict[IsolationKind, frozenset[IsolationMethod]] = {
    IsolationKind.ELECTRICAL: frozenset({IsolationMethod.ELECTRICAL_LOCKOUT}),
    IsolationKind.PIPE: frozenset(
        {
            IsolationMethod.BLIND_FLANGE,
            IsolationMethod.PIPE_SECTION_REMOVED,
            IsolationMethod.CLOSED_VALVE,
            IsolationMethod.WATER_SEAL,
        }
    ),
    IsolationKind.MECHANICAL: frozenset({IsolationMethod.MECHANICAL_BLOCK}),
    IsolationKind.OTHER: frozenset(IsolationMethod),
}

ISOLATION_NOT_APPLIED = "ISOLATION_NOT_APPLIED"
ISOLATION_NOT_VERIFIED = "ISOLATION_NOT_VERIFIED"
ISOLATION_INADEQUATE = "ISOLATION_INADEQUATE"
PERSONAL_LOCK_MISSING = "PERSONAL_LOCK_MISSING"
ISOLATION_POINT_UNKNOWN = "ISOLATION_POINT_UNKNOWN"
ISOLATION_METHOD_UNSUITABLE = "ISOLATION_METHOD_UNSUITABLE"
LOCK_ALREADY_ON = "LOCK_ALREADY_ON"
LOCK_NOT_ON = "LOCK_NOT_ON"
VERIFIER_IS_APPLIER = "VERIFIER_IS_APPLIER"
ALREADY_VERIFIED = "ALREADY_VERIFIED"
LOCK_REMOVER_NOT_OWNER = "LOCK_REMOVER_NOT_OWNER"
REMOVAL_EXCEPTION_INCOMPLETE = "REMOVAL_EXCEPTION_INCOMPLETE"
LOCKBOX_HAS_PERSONAL_LOCKS = "LOCKBOX_HAS_PERSONAL_LOCKS"
LOCKBOX_UNKNOWN = "LOCKBOX_UNKNOWN"
LOCK_OWNER_INSIDE = "LOCK_OWNER_INSIDE"
PERSON_NOT_NAMED = "PERSON_NOT_NAMED"

register(
    ISOLATION_NOT_APPLIED,
    N_("isolation point {point} has no lock and tag applied"),
    N_("apply a lock and a tag at {point} and record who applied them"),
)
register(
    ISOLATION_NOT_VERIFIED,
    N_("the isolation at {point} (lock {lock}) has not been verified by a second person"),
    N_("have a second person check the isolation at {point} and sign the verification"),
)
register(
    ISOLATION_INADEQUATE,
    N_("{point} is a pipe to a hazardous source isolated only by {methods}"),
    N_(
        "fit a blind flange or remove a pipe section at {point}: a closed valve or water seal "
        "is not enough"
    ),
)
register(
    PERSONAL_LOCK_MISSING,
    N_("{person} has no personal lock on group lockbox {lockbox}"),
    N_("{person} must put a personal lock on group lockbox {lockbox} before entering"),
)
register(
    ISOLATION_POINT_UNKNOWN,
    N_("isolation point {point} is not in this space's isolation template"),
    N_("choose one of the space's isolation points: {known}"),
)
register(
    ISOLATION_METHOD_UNSUITABLE,
    N_("method {method} cannot isolate a {kind} point ({point})"),
    N_("use one of: {allowed}"),
)
register(
    LOCK_ALREADY_ON,
    N_("lock {lock} is already on"),
    N_("use a different lock number or remove the lock first"),
)
register(
    LOCK_NOT_ON,
    N_("lock {lock} is not on at {point}"),
    N_("check the lock number and the isolation point"),
)
register(
    VERIFIER_IS_APPLIER,
    N_("{person} applied lock {lock} and cannot also verify it"),
    N_("a second person must verify the isolation"),
)
register(
    ALREADY_VERIFIED,
    N_("lock {lock} was already verified by {person}"),
    N_("no further verification is needed"),
)
register(
    LOCK_REMOVER_NOT_OWNER,
    N_("lock {lock} was applied by {owner}; {person} may not remove it"),
    N_(
        "ask {owner} to remove the lock, or record the exception procedure (owner verified "
        "absent, contact attempted, owner to be informed)"
    ),
)
register(
    REMOVAL_EXCEPTION_INCOMPLETE,
    N_("the lock removal exception for lock {lock} is incomplete: {missing}"),
    N_("verify the owner is absent, try to contact them, and make sure they will be informed"),
)
register(
    LOCKBOX_HAS_PERSONAL_LOCKS,
    N_("group lockbox {lockbox} still carries personal locks: {locks}"),
    N_("every person must remove their own personal lock from the lockbox first"),
)
register(
    LOCKBOX_UNKNOWN,
    N_("group lockbox {lockbox} holds no isolation key on this permit"),
    N_("check the lockbox number"),
)
register(
    LOCK_OWNER_INSIDE,
    N_("{person} is inside the space; their lock {lock} must stay on"),
    N_("remove the lock only after {person} has exited"),
)
register(
    PERSON_NOT_NAMED,
    N_("the person applying lock {lock} is not named"),
    N_("record who applied the lock"),
)


def point_unmet(
    template: IsolationPointTemplate, records: Iterable[IsolationRecord]
) -> list[Unmet]:
    """What keeps one required isolation point from being isolated."""
    on = list(records)
    point = template.point_id
    if not on:
        return [Unmet(ISOLATION_NOT_APPLIED, {"point": point})]
    unmet = [
        Unmet(ISOLATION_NOT_VERIFIED, {"point": point, "lock": r.lock_id})
        for r in on
        if r.verified_by is None or r.verified_by == r.applied_by
    ]
    if template.kind is IsolationKind.PIPE and template.hazardous_source:
        positive = [
            r for r in on if r.method in POSITIVE_PIPE_ISOLATION and r.verified_by is not None
        ]
        if not positive:
            methods = ", ".join(sorted({r.method.value for r in on}))
            unmet.append(Unmet(ISOLATION_INADEQUATE, {"point": point, "methods": methods}))
    return unmet


def isolation_unmet(state: PermitState, entrant_id: str | None = None) -> list[Unmet]:
    """Entry condition 2: every required point isolated and verified; group locks in place."""
    if state.space is None:
        return []
    unmet: list[Unmet] = []
    for template in state.space.isolation_points:
        unmet.extend(point_unmet(template, state.isolations_at(template.point_id)))
    if entrant_id is not None:
        mine = {
            lock.lockbox_id
            for lock in state.personal_locks.values()
            if lock.person_id == entrant_id
        }
        for lockbox in sorted(state.lockboxes - mine):
            unmet.append(Unmet(PERSONAL_LOCK_MISSING, {"person": entrant_id, "lockbox": lockbox}))
    return unmet


def exception_missing(exception: RemovalException) -> list[str]:
    missing = []
    if not exception.verified_absent:
        missing.append("verified_absent")
    if not exception.contact_attempted:
        missing.append("contact_attempted")
    if not exception.to_be_informed:
        missing.append("to_be_informed")
    return missing


def removal_unmet(
    owner: str, lock_id: str, removed_by: str, exception: RemovalException | None
) -> list[Unmet]:
    """A lock comes off only by its owner, or through the recorded exception."""
    if removed_by == owner:
        return []
    if exception is None:
        return [
            Unmet(LOCK_REMOVER_NOT_OWNER, {"lock": lock_id, "owner": owner, "person": removed_by})
        ]
    missing = exception_missing(exception)
    if missing:
        return [
            Unmet(REMOVAL_EXCEPTION_INCOMPLETE, {"lock": lock_id, "missing": ", ".join(missing)})
        ]
    return []

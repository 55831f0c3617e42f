"""LOTO and isolation: isolation points, their verification, personal locks, removal.

The lock codes and the removal rule live in :mod:`permits.loto` (shared with the
lockbox views); these are the confined-space permit's rules over them.
"""

from __future__ import annotations

from datetime import datetime

from permits.commands.common import inside_unmet
from permits.errors import Unmet
from permits.events import (
    IsolationApplied,
    IsolationRemoved,
    IsolationVerified,
    PersonalLockApplied,
    PersonalLockRemoved,
)
from permits.loto import (
    ALREADY_VERIFIED,
    ISOLATION_METHOD_UNSUITABLE,
    ISOLATION_POINT_UNKNOWN,
    LOCK_ALREADY_ON,
    LOCK_NOT_ON,
    LOCK_OWNER_INSIDE,
    LOCKBOX_HAS_PERSONAL_LOCKS,
    LOCKBOX_UNKNOWN,
    METHODS_FOR_KIND,
    VERIFIER_IS_APPLIER,
    removal_unmet,
)
from permits.state import PermitState

__all__ = [
    "isolation_applied",
    "isolation_removed",
    "isolation_verified",
    "personal_lock_applied",
    "personal_lock_removed",
]


def _lock_free(state: PermitState, lock_id: str) -> list[Unmet]:
    # A lock id is on one point or one lockbox at a time.
    if lock_id in state.isolations or lock_id in state.personal_locks:
        return [Unmet(LOCK_ALREADY_ON, {"lock": lock_id})]
    return []


def isolation_applied(state: PermitState, p: IsolationApplied, now: datetime) -> list[Unmet]:
    assert state.space is not None
    unmet: list[Unmet] = []
    templates = {t.point_id: t for t in state.space.isolation_points}
    template = templates.get(p.point_id)
    if template is None:
        unmet.append(
            Unmet(
                ISOLATION_POINT_UNKNOWN, {"point": p.point_id, "known": ", ".join(templates) or "-"}
            )
        )
    elif p.method not in METHODS_FOR_KIND[template.kind]:
        allowed = ", ".join(sorted(m.value for m in METHODS_FOR_KIND[template.kind]))
        unmet.append(
            Unmet(
                ISOLATION_METHOD_UNSUITABLE,
                {
                    "point": p.point_id,
                    "method": p.method.value,
                    "kind": template.kind.value,
                    "allowed": allowed,
                },
            )
        )
    unmet.extend(_lock_free(state, p.lock_id))
    return unmet


def isolation_verified(state: PermitState, p: IsolationVerified, now: datetime) -> list[Unmet]:
    record = state.isolations.get(p.lock_id)
    if record is None or record.point_id != p.point_id:
        return [Unmet(LOCK_NOT_ON, {"lock": p.lock_id, "point": p.point_id})]
    if record.verified_by is not None:
        return [Unmet(ALREADY_VERIFIED, {"lock": p.lock_id, "person": record.verified_by})]
    if p.verified_by == record.applied_by:
        return [Unmet(VERIFIER_IS_APPLIER, {"lock": p.lock_id, "person": p.verified_by})]
    return []


def personal_lock_applied(state: PermitState, p: PersonalLockApplied, now: datetime) -> list[Unmet]:
    unmet: list[Unmet] = []
    if p.lockbox_id not in state.lockboxes:
        unmet.append(Unmet(LOCKBOX_UNKNOWN, {"lockbox": p.lockbox_id}))
    unmet.extend(_lock_free(state, p.lock_id))
    return unmet


def personal_lock_removed(state: PermitState, p: PersonalLockRemoved, now: datetime) -> list[Unmet]:
    lock = state.personal_locks.get(p.lock_id)
    if lock is None or lock.lockbox_id != p.lockbox_id:
        return [Unmet(LOCK_NOT_ON, {"lock": p.lock_id, "point": p.lockbox_id})]
    unmet = removal_unmet(lock.person_id, p.lock_id, p.removed_by, p.exception)
    if lock.person_id in state.inside:
        unmet.append(Unmet(LOCK_OWNER_INSIDE, {"person": lock.person_id, "lock": p.lock_id}))
    return unmet


def isolation_removed(state: PermitState, p: IsolationRemoved, now: datetime) -> list[Unmet]:
    record = state.isolations.get(p.lock_id)
    if record is None or record.point_id != p.point_id:
        return [Unmet(LOCK_NOT_ON, {"lock": p.lock_id, "point": p.point_id})]
    unmet = removal_unmet(record.applied_by, p.lock_id, p.removed_by, p.exception)
    unmet.extend(inside_unmet(state))
    if record.lockbox_id is not None:
        on_box = sorted(
            k for k, v in state.personal_locks.items() if v.lockbox_id == record.lockbox_id
        )
        if on_box:
            unmet.append(
                Unmet(
                    LOCKBOX_HAS_PERSONAL_LOCKS,
                    {"lockbox": record.lockbox_id, "locks": ", ".join(on_box)},
                )
            )
    return unmet

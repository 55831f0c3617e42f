"""Commands: pure functions ``(state, input, now) -> Event``.

A command builds the next event of a permit from a typed payload (the
command's input) and checks it against the state before it. If any rule is not
met it raises :class:`~permits.errors.RuleViolation` naming every unmet
condition; otherwise it returns the event unsealed (``prev_hash``, ``hash`` and
``sig`` empty; :func:`permits.integrity.seal` fills them).

The checks are kept apart from the building (:func:`check`), so
:mod:`permits.replay` runs exactly the same rules over a received chain.

This module is the facade (import from here); the parts are:

* ``codes``: :class:`Code`, the reason codes with their message and remedy;
* ``permit_type``: the permit-type seam (:class:`PermitType`, one table
  ``event type -> Step(allowed statuses, rule)`` per type, and the registry
  :func:`check` dispatches through);
* ``confined_space``: the confined-space permit's table, registered as
  :data:`CONFINED_SPACE`;
* ``rules/``: the confined-space rules by area (``roster``, ``isolation``,
  ``atmosphere``, ``entry``, ``lifecycle``); ``common``: checks they share;
* ``decision``: :func:`check`, :func:`decide` and the named commands;
* ``session``: :class:`PermitSession`.

A second permit type registers its own table from its own module (see
:mod:`permits.commands.permit_type`) and is imported here: hot work,
:mod:`permits.hot_work.rules`.
"""

from __future__ import annotations

# The hot-work permit type registers its own table (permits/hot_work/rules.py). A
# module import, not a name: permits.hot_work may be the one importing this package.
import permits.hot_work.rules  # noqa: F401
from permits.commands.codes import Code

# Importing a permit type registers its table, so check() can dispatch to it.
from permits.commands.confined_space import CONFINED_SPACE
from permits.commands.decision import check, decide, draft, enter, exit_, raise_alarm
from permits.commands.permit_type import (
    FoldedPermit,
    PermitType,
    Rule,
    Step,
    permit_type_of,
    permit_types,
    register_permit_type,
)
from permits.commands.session import PermitSession

__all__ = [
    "CONFINED_SPACE",
    "Code",
    "FoldedPermit",
    "PermitSession",
    "PermitType",
    "Rule",
    "Step",
    "check",
    "decide",
    "draft",
    "enter",
    "exit_",
    "permit_type_of",
    "permit_types",
    "raise_alarm",
    "register_permit_type",
]

"""A refused step of a hazard's loop, said the way the hazard page's step form says it.

The core names the status and the step by their codes ("reported", "hazard_closed"), the
rectifier by identity ("person:b-p-wu") and the deadline in UTC; the page shows words
(``labels.HAZARD_STEPS``, ``HAZARD_STEP_FIELDS``), names and the Beijing date the reader
chose."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from permits.hazards import (
    HAZARD_DEADLINE_PAST,
    HAZARD_VERIFIER_IS_RECTIFIER,
    HAZARD_WRONG_STEP,
)
from sync_server.errors import Unprocessable
from sync_server.i18n import Gettext
from sync_server.labels import HAZARD_STATUSES, HAZARD_STEP_FIELDS, HAZARD_STEPS, label
from sync_server.security import Principal
from sync_server.services import hazards as hazard_service


def in_words(
    conn: Connection,
    who: Principal,
    hazard_id: str,
    action: str,
    deadline: str,
    exc: Unprocessable,
    _: Gettext,
) -> Unprocessable:
    """``exc`` for the reader of the step form: the field by its label, the deadline as
    typed, the rectifier by name, the status and the step in words."""
    if exc.code == "VALIDATION_ERROR" and exc.field in HAZARD_STEP_FIELDS:
        # The core's model says it in pydantic's English ("String should have at least
        # 1 character"); the page names the form's field.
        return Unprocessable(
            _("{field}: missing or not valid for this step").format(
                field=_(HAZARD_STEP_FIELDS[exc.field])
            ),
            code=exc.code,
            field=exc.field,
        )
    if exc.code == HAZARD_DEADLINE_PAST:
        return Unprocessable(
            _("the rectification deadline {deadline} is already past").format(deadline=deadline),
            code=exc.code,
            field="deadline",
        )
    h = hazard_service.detail(conn, who, hazard_id)
    if exc.code == HAZARD_VERIFIER_IS_RECTIFIER:
        rectifier = str((h.get("state") or {}).get("rectified_by") or "")
        name = hazard_service.actor_names(conn, h["enterprise_id"], {rectifier}).get(rectifier)
        return Unprocessable(
            _("{person} rectified this hazard and cannot verify it").format(
                person=name or rectifier
            ),
            code=exc.code,
            field="person",
        )
    if exc.code != HAZARD_WRONG_STEP or action not in HAZARD_STEPS:
        return exc
    return Unprocessable(
        _("this hazard is “{status}”: “{step}” is not the next step").format(
            status=label(HAZARD_STATUSES, h["status"], _), step=_(HAZARD_STEPS[action])
        ),
        code=exc.code,
        field="action",
    )

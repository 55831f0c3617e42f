"""Emergency drills (应急演练) and topic trainings (专题培训), each due at least yearly
(MEM13): the core's models (``permits.reference.EmergencyDrill`` / ``TopicTraining``)
read from the enterprise record's ``details`` (``drills``, ``topic_trainings``), where
``services.ledger`` and the dashboard look for them (docs/web.md).

They are not reference items, so they have no row of their own: their entries for the
forms are given here in the ledger catalogue's terms (``KindSchema``), each write is
an audit entry with the item before and after, and the item's history is read back
from those entries.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Connection

from permits.reference import EmergencyDrill, TopicTraining
from sync_server.errors import NotFound, Unprocessable
from sync_server.i18n import Gettext
from sync_server.i18n import gettext as _
from sync_server.security import Principal
from sync_server.services import audit
from sync_server.services import enterprises as enterprise_service
from sync_server.services.ledger_catalogue import (
    FieldError,
    FieldType,
    KindSchema,
    LedgerField,
    field_errors,
)
from sync_server.services.ledger_choices import N_
from sync_server.services.tenancy import require_admin_of

T = FieldType

SCHEMAS: dict[str, KindSchema] = {
    "drills": KindSchema(
        "drills",
        N_("emergency drills"),
        "id",
        N_("drill number"),
        (
            LedgerField("id", N_("number"), T.TEXT, required=True),
            LedgerField("held_on", N_("held on"), T.DATE, required=True),
            LedgerField("scenario", N_("scenario drilled"), T.TEXT, required=True),
            LedgerField("space_ids", N_("spaces"), T.IDS, references="spaces"),
            LedgerField("participants", N_("who took part"), T.IDS, references="people"),
            LedgerField("evaluation", N_("evaluation of the drill"), T.TEXT),
        ),
    ),
    "topic-trainings": KindSchema(
        "topic-trainings",
        N_("topic trainings"),
        "id",
        N_("training session number"),
        (
            LedgerField("id", N_("number"), T.TEXT, required=True),
            LedgerField("held_on", N_("held on"), T.DATE, required=True),
            LedgerField("topic", N_("training topic"), T.CHOICE, choices="topics", closed=False),
            LedgerField("trainer", N_("trainer"), T.TEXT),
            LedgerField("participants", N_("who took part"), T.IDS, references="people"),
        ),
    ),
}
# Where the enterprise record keeps each, and the core's model of an item.
_KEYS = {"drills": "drills", "topic-trainings": "topic_trainings"}
_MODELS: dict[str, type[BaseModel]] = {"drills": EmergencyDrill, "topic-trainings": TopicTraining}


def _records(conn: Connection, enterprise_id: str, kind: str) -> tuple[dict[str, Any], list[Any]]:
    details = dict(enterprise_service.get(conn, enterprise_id).data or {})
    value = details.get(_KEYS[kind])
    # A record stored before check_details (any JSON) is never a page's 500: not a list
    # holds no records.
    return details, list(value) if isinstance(value, list) else []


def patched_details(
    current: dict[str, Any], patch: dict[str, Any], enterprise_id: str
) -> dict[str, Any]:
    """The enterprise's details after a PATCH's merge patch
    (``enterprises.merged_details``), the keys it names checked (``check_details``): a
    list it leaves alone, even one stored broken, is not its to answer for."""
    details = enterprise_service.merged_details(current, patch)
    check_details({key: details[key] for key in patch if key in details}, enterprise_id)
    return details


def check_details(details: dict[str, Any] | None, enterprise_id: str) -> None:
    """The details a PATCH (…/enterprises/{id}) names, as its merge leaves them
    (``patched_details``): the drills and topic trainings among them must be records the
    core's models read, else 422 naming the field; nothing is stored (the checks and the
    pages read these lists)."""
    for kind, key in _KEYS.items():
        if details is None or key not in details:
            continue
        value = details[key]
        if not isinstance(value, list):
            raise Unprocessable(
                _("{field} must be a list of records").format(field=f"details.{key}"),
                code="DETAILS_INVALID",
                field=f"details.{key}",
            )
        for i, item in enumerate(value):
            field = f"details.{key}[{i}]"
            if not isinstance(item, dict):
                raise Unprocessable(
                    _("{field} must be a record").format(field=field),
                    code="DETAILS_INVALID",
                    field=field,
                )
            try:
                _MODELS[kind].model_validate({"enterprise_id": enterprise_id, **item})
            except ValidationError as exc:
                # The record's first wrong field in words, as the form says it (not
                # pydantic's English summary).
                detail = field_errors(SCHEMAS[kind], exc, _)[0].message
                raise Unprocessable(
                    _("{field} is not a valid record: {detail}").format(field=field, detail=detail),
                    code="DETAILS_INVALID",
                    field=field,
                ) from exc


def items(conn: Connection, enterprise_id: str, kind: str) -> list[dict[str, Any]]:
    """Every record of ``kind`` of the enterprise, by id."""
    records = [r for r in _records(conn, enterprise_id, kind)[1] if isinstance(r, dict)]
    return sorted(records, key=lambda r: str(r.get("id", "")))


def find(conn: Connection, enterprise_id: str, kind: str, item_id: str) -> dict[str, Any] | None:
    return next((r for r in items(conn, enterprise_id, kind) if r.get("id") == item_id), None)


def validate_all(
    kind: str, item_id: str, data: dict[str, Any], enterprise_id: str, _: Gettext
) -> list[FieldError]:
    """Every field the core's model refuses, named by its label."""
    schema = SCHEMAS[kind]
    try:
        _MODELS[kind].model_validate({**data, "id": item_id, "enterprise_id": enterprise_id})
    except ValidationError as exc:
        return field_errors(schema, exc, _)
    return []


def _write(
    conn: Connection,
    who: Principal,
    enterprise_id: str,
    kind: str,
    item_id: str,
    after: dict[str, Any] | None,
) -> dict[str, Any] | None:
    require_admin_of(conn, who, enterprise_id)
    enterprise_service.lock(conn, enterprise_id)  # two admins saving at once keep both
    details, records = _records(conn, enterprise_id, kind)
    before = next((r for r in records if isinstance(r, dict) and r.get("id") == item_id), None)
    kept = [r for r in records if not (isinstance(r, dict) and r.get("id") == item_id)]
    details[_KEYS[kind]] = kept + ([after] if after is not None else [])
    enterprise_service.update(conn, enterprise_id, name=None, details=details)
    action = f"{kind}.put" if after is not None else f"{kind}.delete"
    audit.record(
        conn, who, action, kind, item_id, enterprise_id=enterprise_id, before=before, after=after
    )
    return before


def save(
    conn: Connection,
    who: Principal,
    enterprise_id: str,
    kind: str,
    item_id: str,
    data: dict[str, Any],
) -> None:
    """Create or replace one record (checked by the core's model) as ``who``."""
    model = _MODELS[kind].model_validate({**data, "id": item_id, "enterprise_id": enterprise_id})
    _write(conn, who, enterprise_id, kind, item_id, model.model_dump(mode="json"))


def remove(conn: Connection, who: Principal, enterprise_id: str, kind: str, item_id: str) -> None:
    if find(conn, enterprise_id, kind, item_id) is None:
        raise NotFound(_("not found"), code="NOT_FOUND")
    _write(conn, who, enterprise_id, kind, item_id, None)


def history(conn: Connection, enterprise_id: str, kind: str, item_id: str) -> list[dict[str, Any]]:
    """Every version of one record, oldest first, from its audit entries (the shape of
    ``ledger_history.history``). A record written before these forms (the enterprise's
    ``details`` through the API, or the demo's seed) has no entry: it is shown as one
    version, as the enterprise record holds it now, by nobody known."""
    rows = audit.of_object(conn, enterprise_id, kind, item_id)
    if not rows:
        current = find(conn, enterprise_id, kind, item_id)
        if current is None:
            return []
        at = enterprise_service.get(conn, enterprise_id).updated_at
        return [
            {
                "version": 1,
                "valid_from": at,
                "changed_by": "",
                "deleted": False,
                "data": current,
                "rev": 0,
            }
        ]
    return [
        {
            "version": n,
            "valid_from": r.at,
            "changed_by": r.actor or "",
            "deleted": r.after is None,
            "data": r.after,
            "rev": r.audit_id,
        }
        for n, r in enumerate(rows, start=1)
    ]

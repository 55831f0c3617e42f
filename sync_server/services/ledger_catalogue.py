"""The ledger catalogue: for every kind of ledger item the rules read, its fields in
order with their labels (English msgids, Chinese through gettext), types, whether
required, allowed values with their names, and which are derived by the core.

The core's models (``permits.reference``) stay the only judge of an item
(:func:`sync_server.domain.validate_reference`); the catalogue names their fields for
people, and :func:`validate_all` turns every error of the core's model into a message
naming the field by its label, at once (docs/server.md, "The ledger catalogue").
The web forms and the Excel workbook are built from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from permits.reference.rules import requires_principal_approval
from sync_server import domain
from sync_server.i18n import Gettext, gettext_for
from sync_server.i18n import gettext as server_gettext
from sync_server.services import ledger_choices
from sync_server.services.ledger_choices import N_, Choice

__all__ = [
    "CATALOGUE",
    "Choice",
    "FieldError",
    "FieldType",
    "KindSchema",
    "LedgerField",
    "catalogue_json",
    "choices",
    "derive",
    "kind_schema",
    "validate_all",
]


class FieldType(StrEnum):
    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"  # with its offset (AwareDatetime)
    NUMBER = "number"
    BOOL = "bool"
    CHOICE = "choice"
    MULTI_CHOICE = "multi-choice"
    LIST = "list"  # several texts
    IDS = "list-of-ids"  # several ids of other ledger items
    ROWS = "nested-rows"  # a list of objects, each with its own fields
    JSON = "json"  # an object given as JSON (a profile override's limits)


@dataclass(frozen=True)
class LedgerField:
    """One field of a ledger item. ``name`` is the API's own field name, dotted inside a
    nested object (``employer.kind``)."""

    name: str
    label: str  # English msgid; zh_CN through gettext
    type: FieldType
    required: bool = False
    choices: str | None = None  # the name of a choice list (:func:`choices`)
    # Only the listed values: the core refuses others. An open list suggests values the
    # rules know; the core takes any text (a hazard, a certificate type, a protocol).
    closed: bool = True
    derived: bool = False  # computed by the core from other fields: never an input
    rows: tuple[LedgerField, ...] = ()  # the fields of each row (ROWS)
    sheet: str = ""  # the workbook sheet of a ROWS field
    references: str | None = None  # the kind whose ids this field names
    unordered: bool = False  # a set in the core: its order carries no meaning

    @property
    def is_input(self) -> bool:
        return not self.derived


@dataclass(frozen=True)
class KindSchema:
    kind: str  # sync_server.services.reference.Kind's value
    label: str
    id_field: str  # the item id is this field ("serial" for a detector)
    id_label: str
    fields: tuple[LedgerField, ...]
    # Held by the server but never shown in an export, nor set by an import.
    secret: tuple[str, ...] = ()
    # The item is its kind's one entry with this id (the default profile).
    single_id: str | None = None

    def field(self, name: str) -> LedgerField | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def nested(self) -> tuple[LedgerField, ...]:
        return tuple(f for f in self.fields if f.type is FieldType.ROWS)


T = FieldType

_TRAINING_ROW = (
    LedgerField("topic", N_("training topic"), T.CHOICE, choices="topics", closed=False),
    LedgerField("completed_on", N_("completed on"), T.DATE, required=True),
    LedgerField("valid_until", N_("valid until"), T.DATE, required=True),
    LedgerField("provider", N_("training provider"), T.TEXT),
)
_CERTIFICATE_ROW = (
    LedgerField(
        "type",
        N_("certificate type"),
        T.CHOICE,
        required=True,
        choices="certificate_types",
        closed=False,
    ),
    LedgerField("number", N_("certificate number"), T.TEXT, required=True),
    LedgerField("issued_on", N_("issued on"), T.DATE, required=True),
    LedgerField("expires_on", N_("expires on"), T.DATE, required=True),
)

CATALOGUE: tuple[KindSchema, ...] = (
    KindSchema(
        "spaces",
        N_("confined spaces"),
        "id",
        N_("space number"),
        (
            LedgerField("id", N_("number"), T.TEXT, required=True),
            LedgerField("name", N_("name"), T.TEXT, required=True),
            LedgerField("location", N_("location"), T.TEXT, required=True),
            LedgerField("type", N_("space type"), T.CHOICE, required=True, choices="space_types"),
            LedgerField(
                "hazards", N_("hazard factors"), T.MULTI_CHOICE, choices="hazards", closed=False
            ),
            LedgerField(
                "required_channels", N_("gases to test"), T.MULTI_CHOICE, True, choices="gases"
            ),
            LedgerField(
                "sample_points",
                N_("sample points"),
                T.LIST,
                required=True,
                choices="sample_points",
                closed=False,
            ),
            LedgerField(
                "isolation_points",
                N_("isolation points"),
                T.ROWS,
                sheet="isolation_points",
                rows=(
                    LedgerField("id", N_("isolation point number"), T.TEXT, required=True),
                    LedgerField("description", N_("description"), T.TEXT, required=True),
                    LedgerField(
                        "kind",
                        N_("isolation method"),
                        T.CHOICE,
                        required=True,
                        choices="isolation_methods",
                    ),
                    LedgerField(
                        "energy", N_("energy"), T.CHOICE, required=True, choices="energies"
                    ),
                    LedgerField("hazardous_source", N_("pipe to a hazardous source"), T.BOOL),
                ),
            ),
            LedgerField(
                "required_ppe",
                N_("personal protective equipment"),
                T.LIST,
                choices="ppe",
                closed=False,
            ),
            LedgerField(
                "rescue_equipment",
                N_("rescue equipment"),
                T.LIST,
                choices="rescue",
                closed=False,
            ),
            LedgerField("key_supervision", N_("on the key-supervision list"), T.BOOL),
            LedgerField(
                "requires_principal_approval",
                N_("needs the principal's approval (poisoning risk)"),
                T.BOOL,
                derived=True,
            ),
            LedgerField("warning_sign_present", N_("warning sign in place"), T.BOOL),
            LedgerField("four_lists.basic_information", N_("list: basic information"), T.LIST),
            LedgerField("four_lists.responsible_persons", N_("list: responsible persons"), T.LIST),
            LedgerField("four_lists.control_measures", N_("list: control measures"), T.LIST),
            LedgerField(
                "four_lists.emergency_response", N_("list: on-site emergency response"), T.LIST
            ),
            LedgerField("oxygen_enriched", N_("oxygen may be enriched"), T.BOOL),
            LedgerField("profile", N_("atmosphere profile"), T.CHOICE, choices="profiles"),
        ),
    ),
    KindSchema(
        "people",
        N_("people"),
        "id",
        N_("person number"),
        (
            LedgerField("id", N_("number"), T.TEXT, required=True),
            LedgerField("name", N_("full name"), T.TEXT, required=True),
            LedgerField(
                "employer.kind", N_("employer"), T.CHOICE, required=True, choices="employers"
            ),
            LedgerField(
                "employer.id",
                N_("employer number (this enterprise's or the contractor's)"),
                T.TEXT,
                required=True,
            ),
            LedgerField("roles", N_("roles"), T.MULTI_CHOICE, choices="roles", unordered=True),
            LedgerField(
                "training",
                N_("training records in the person's entry"),
                T.ROWS,
                sheet="person_training",
                rows=_TRAINING_ROW,
            ),
            LedgerField(
                "certificates",
                N_("certificates in the person's entry"),
                T.ROWS,
                sheet="person_certificates",
                rows=_CERTIFICATE_ROW,
            ),
        ),
        secret=("pin_hash",),
    ),
    KindSchema(
        "training",
        N_("training records"),
        "id",
        N_("record number"),
        (
            LedgerField("id", N_("number"), T.TEXT, required=True),
            LedgerField("person_id", N_("person number"), T.TEXT, True, references="people"),
            *_TRAINING_ROW,
        ),
    ),
    KindSchema(
        "certificates",
        N_("certificates"),
        "id",
        N_("certificate record number"),
        (
            LedgerField("id", N_("number"), T.TEXT, required=True),
            LedgerField("person_id", N_("person number"), T.TEXT, True, references="people"),
            *_CERTIFICATE_ROW,
        ),
    ),
    KindSchema(
        "contractors",
        N_("contractors"),
        "id",
        N_("contractor number"),
        (
            LedgerField("id", N_("number"), T.TEXT, required=True),
            LedgerField("name", N_("name"), T.TEXT, required=True),
            LedgerField("uscc", N_("unified social credit code"), T.TEXT, required=True),
            LedgerField("contract_reference", N_("contract number"), T.TEXT, required=True),
            LedgerField("contract_valid_from", N_("contract valid from"), T.DATE, True),
            LedgerField("contract_valid_until", N_("contract valid until"), T.DATE, True),
            LedgerField("blacklisted_on", N_("blacklisted on"), T.DATE),
            LedgerField("blacklist_reason", N_("reason for the blacklist"), T.TEXT),
        ),
    ),
    KindSchema(
        "detectors",
        N_("gas detectors"),
        "serial",
        N_("detector serial number"),
        (
            LedgerField("serial", N_("serial number"), T.TEXT, required=True),
            LedgerField("model", N_("model"), T.TEXT, required=True),
            LedgerField("vendor", N_("manufacturer"), T.TEXT),
            LedgerField(
                "protocol", N_("protocol"), T.CHOICE, True, choices="protocols", closed=False
            ),
            LedgerField("channels", N_("gases measured"), T.MULTI_CHOICE, True, choices="gases"),
            LedgerField("calibrated_on", N_("calibrated on"), T.DATE),
            LedgerField("calibration_due", N_("calibration due"), T.DATE, required=True),
            LedgerField(
                "bump_tests",
                N_("bump tests"),
                T.ROWS,
                sheet="bump_tests",
                rows=(
                    LedgerField("at", N_("tested at"), T.DATETIME, required=True),
                    LedgerField(
                        "passed", N_("result"), T.CHOICE, required=True, choices="bump_results"
                    ),
                    LedgerField("by", N_("tested by"), T.TEXT),
                    LedgerField("channels", N_("gases tested"), T.MULTI_CHOICE, choices="gases"),
                ),
            ),
        ),
    ),
    KindSchema(
        "delegations",
        N_("written delegations"),
        "id",
        N_("delegation number"),
        (
            LedgerField("id", N_("number"), T.TEXT, required=True),
            LedgerField(
                "delegator", N_("principal (delegator)"), T.TEXT, True, references="people"
            ),
            LedgerField("delegate", N_("delegate"), T.TEXT, True, references="people"),
            LedgerField("space_ids", N_("spaces covered (empty: all)"), T.IDS, references="spaces"),
            LedgerField("valid_from", N_("valid from"), T.DATE, required=True),
            LedgerField("valid_until", N_("valid until"), T.DATE, required=True),
            LedgerField("document_ref", N_("written document number"), T.TEXT),
        ),
    ),
    KindSchema(
        "default-profile",
        N_("default atmosphere profile"),
        "id",
        N_("number"),
        (
            LedgerField("id", N_("number"), T.TEXT, required=True),
            LedgerField("profile", N_("atmosphere profile"), T.CHOICE, True, choices="profiles"),
        ),
        single_id="default",
    ),
    KindSchema(
        "profile-overrides",
        N_("stricter atmosphere limits"),
        "id",
        N_("override name"),
        (
            LedgerField("id", N_("name"), T.TEXT, required=True),
            LedgerField("base", N_("base profile"), T.CHOICE, True, choices="profiles"),
            LedgerField("override", N_("stricter limits (JSON)"), T.JSON, required=True),
            LedgerField("name", N_("profile name"), T.TEXT, derived=True),
        ),
    ),
)

_BY_KIND = {k.kind: k for k in CATALOGUE}


def kind_schema(kind: str) -> KindSchema:
    return _BY_KIND[str(kind)]


def choices(name: str) -> tuple[Choice, ...]:
    """The allowed (or, for an open list, suggested) values of a choice list."""
    if name == "profiles":
        return ledger_choices.profile_choices(domain.profile_names())
    return ledger_choices.CHOICES[name]


def derive(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """The derived fields of a stored (valid) item, as the core derives them."""
    if str(kind) == "spaces":
        return {
            "requires_principal_approval": requires_principal_approval(
                bool(data.get("key_supervision")),
                data.get("hazards", ()),
                data.get("required_channels", ()),
            )
        }
    if str(kind) == "profile-overrides":
        return {"name": data.get("name", "")}
    return {}


# ---------------------------------------------------------------- every error at once


@dataclass(frozen=True)
class FieldError:
    field: str  # the API path, dotted: ``isolation_points.1.kind``
    label: str  # the field named for people: ``隔离点 第 2 行 隔离方式``
    code: str  # pydantic's error type, or the core's code
    message: str  # in the reader's language, naming the field by its label
    loc: tuple[str | int, ...] = field(default=())

    def as_json(self) -> dict[str, str]:
        return {
            "field": self.field,
            "label": self.label,
            "code": self.code,
            "message": self.message,
        }


def _field_at(schema: KindSchema, loc: Iterable[str | int]) -> tuple[LedgerField | None, str]:
    """The catalogue field at a pydantic ``loc`` and its label path (English msgids are
    translated by the caller)."""
    parts = list(loc)
    fields: tuple[LedgerField, ...] = schema.fields
    found: LedgerField | None = None
    name = ""
    while parts:
        part = parts.pop(0)
        if isinstance(part, int):
            continue
        name = f"{name}.{part}" if name else str(part)
        found = next((f for f in fields if f.name == name), None)
        if found is not None and found.type is FieldType.ROWS:
            fields, name = found.rows, ""
    return found, name


def label_of(schema: KindSchema, loc: tuple[str | int, ...], _: Gettext) -> str:
    """``loc`` for people: ``隔离点 第 2 行 隔离方式``, ``检测点 第 1 项``."""
    words: list[str] = []
    fields: tuple[LedgerField, ...] = schema.fields
    name = ""
    parts = list(loc)
    rows = False  # the last field named holds rows (第 n 行), not texts (第 n 项)
    while parts:
        part = parts.pop(0)
        if isinstance(part, int):
            shown = _("row {n}") if rows else _("item {n}")
            words.append(shown.format(n=part + 1))
            continue
        name = f"{name}.{part}" if name else str(part)
        found = next((f for f in fields if f.name == name), None)
        if found is None:
            if not any(f.name.startswith(name + ".") for f in fields):
                words.append(name)
                name = ""
            continue
        words.append(_(found.label))
        name = ""
        rows = found.type is FieldType.ROWS
        if rows:
            fields = found.rows
    return " ".join(words) or _(schema.label)


def _names(choice_list: str | None, _: Gettext) -> str:
    if choice_list is None:
        return ""
    return "、".join(_(c.label) for c in choices(choice_list))


_DATE_TYPES = (
    "date_parsing",
    "date_from_datetime_parsing",
    "date_from_datetime_inexact",
    "date_type",
)
_DATETIME_TYPES = (
    "datetime_parsing",
    "datetime_type",
    "timezone_aware",
    "datetime_from_date_parsing",
)
_LIST_TYPES = ("tuple_type", "list_type", "frozen_set_type", "set_type", "iterable_type")
# The core's own sentences (pydantic ``value_error``), translated here.
_CORE_SENTENCES = {
    "valid_until is before completed_on": N_("the valid-until date is before the completion date"),
    "valid_until is before valid_from": N_("the valid-until date is before the valid-from date"),
    "calibration_due is before calibrated_on": N_(
        "the calibration due date is before the calibration date"
    ),
    "a principal cannot delegate to themselves": N_("a principal cannot delegate to themselves"),
    "sample_points must be unique": N_("a sample point is listed twice"),
    "isolation point ids must be unique": N_("an isolation point number is used twice"),
    "expected an Argon2id PHC string, never a plain PIN": N_(
        "a PIN is never stored: only its Argon2id hash"
    ),
}


def _message(err: dict[str, Any], found: LedgerField | None, label: str, _: Gettext) -> str:
    kind = str(err.get("type", ""))
    if kind == "missing":
        return _("{label}: required").format(label=label)
    if kind in ("string_too_short", "too_short"):
        return _("{label}: must not be empty").format(label=label)
    if kind in ("enum", "literal_error"):
        names = _names(found.choices if found else None, _)
        if names:
            return _("{label}: expected one of {names}").format(label=label, names=names)
        return _("{label}: not an allowed value").format(label=label)
    if kind in _DATE_TYPES:
        return _("{label}: expected a date such as 2026-12-01").format(label=label)
    if kind in _DATETIME_TYPES:
        return _(
            "{label}: expected a date and time with its offset, such as 2026-12-01 08:30+08:00"
        ).format(label=label)
    if kind in ("bool_parsing", "bool_type"):
        return _("{label}: expected yes or no").format(label=label)
    if kind == "string_type":
        return _("{label}: expected text").format(label=label)
    if kind in _LIST_TYPES:
        return _("{label}: expected a list").format(label=label)
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return _("{label}: expected rows of fields").format(label=label)
    if kind == "extra_forbidden":
        if found is not None and found.derived:
            return _("{label}: derived by the system, it cannot be entered").format(label=label)
        return _("{label}: not a field of this ledger").format(label=label)
    text = str(err.get("msg", ""))
    text = text.removeprefix("Value error, ")
    sentence = _CORE_SENTENCES.get(text)
    problem = _(sentence) if sentence else text
    return _("{label}: {problem}").format(label=label, problem=problem) if label else problem


def _first_error(exc: domain.ReferenceInvalid, schema: KindSchema, _: Gettext) -> FieldError:
    name = exc.field or ""
    found = schema.field(name)
    label = _(found.label) if found else (name or _(schema.label))
    message = _("{label}: {problem}").format(label=label, problem=exc.message)
    return FieldError(name, label, exc.code, message, (name,) if name else ())


def validate_all(
    kind: str,
    item_id: str,
    data: dict[str, Any],
    enterprise_id: str,
    _: Gettext | None = None,
) -> list[FieldError]:
    """Every invalid field of one item, each named by its label (zh_CN unless ``_`` is
    another language's gettext); an empty list: the core accepts it. Nothing is stored."""
    _ = _ or server_gettext
    schema = kind_schema(kind)
    body = dict(data)
    errors: list[FieldError] = []
    if schema.kind in ("training", "certificates"):
        person_id = body.get("person_id")
        if not isinstance(person_id, str) or not person_id.strip():
            label = _(N_("person number"))
            errors.append(
                FieldError(
                    "person_id",
                    label,
                    "missing",
                    _("{label}: required").format(label=label),
                    ("person_id",),
                )
            )
            # the core asks for it before anything else: a stand-in lets it judge the rest
            body["person_id"] = "-"
    try:
        domain.validate_reference(schema.kind, item_id, body, enterprise_id)
    except domain.ReferenceInvalid as exc:
        cause = exc.__cause__
        if not isinstance(cause, ValidationError):
            errors.append(_first_error(exc, schema, _))
            return errors
        errors.extend(field_errors(schema, cause, _))
    return errors


def field_errors(schema: KindSchema, exc: ValidationError, _: Gettext) -> list[FieldError]:
    """A model's refusal as one error per field, each named by its label and in words
    (also for kinds kept outside ``reference_items``: services/ledger_yearly.py)."""
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        found, _name = _field_at(schema, loc)
        label = label_of(schema, loc, _)
        path = ".".join(str(p) for p in loc) or schema.kind
        out.append(FieldError(path, label, str(err["type"]), _message(err, found, label, _), loc))
    return out


# ---------------------------------------------------------------- the catalogue as JSON


def _field_json(f: LedgerField, zh: Gettext, _: Gettext) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f.name,
        "label": _(f.label),
        "label_zh": zh(f.label),
        "type": f.type.value,
        "required": f.required,
        "derived": f.derived,
    }
    if f.choices:
        out["choices"] = f.choices
        out["closed"] = f.closed
    if f.references:
        out["references"] = f.references
    if f.rows:
        out["sheet"] = f.sheet
        out["rows"] = [_field_json(r, zh, _) for r in f.rows]
    return out


def catalogue_json(_: Gettext | None = None) -> dict[str, Any]:
    """The catalogue for the API (``GET /api/v1/ledger-schema``)."""
    _ = _ or server_gettext
    zh = gettext_for("zh_CN")
    lists = sorted({f.choices for k in CATALOGUE for f in _all_fields(k.fields) if f.choices})
    return {
        "kinds": [
            {
                "kind": k.kind,
                "label": _(k.label),
                "label_zh": zh(k.label),
                "id_field": k.id_field,
                "single_id": k.single_id,
                "fields": [_field_json(f, zh, _) for f in k.fields],
            }
            for k in CATALOGUE
        ],
        "choices": {
            name: [
                {"code": c.code, "label": _(c.label), "label_zh": zh(c.label)}
                for c in choices(name)
            ]
            for name in lists
        },
    }


def _all_fields(fields: Iterable[LedgerField]) -> Iterable[LedgerField]:
    for f in fields:
        yield f
        yield from _all_fields(f.rows)


def all_fields(schema: KindSchema) -> list[LedgerField]:
    """Every field of a kind, nested rows' fields included."""
    return list(_all_fields(schema.fields))

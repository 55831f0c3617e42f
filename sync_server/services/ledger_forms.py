"""The ledger's web forms: which input each catalogue field gets, and the pure
translations between a posted form and the item's JSON (the API's shape,
``PUT /api/v1/enterprises/{id}/{kind}/{item_id}``).

Field names, labels, types, allowed values and every check are the catalogue's
(:mod:`sync_server.services.ledger_catalogue`); this module only lays them out. A form
posts flat names: ``name`` for a field, ``employer.kind`` for a field of an object and
``isolation_points.2.kind`` for a field of the third row of a table. A row left blank
(or ticked ``_remove``) is dropped. A refused form is shown again from what was parsed
(:func:`state_of_item` of :func:`parse`), so its rows are numbered as the catalogue's
errors number them, and every value entered stays in it.

Times: a form's ``datetime-local`` has no offset; it is Beijing time (the pages'), and
is stored with ``+08:00``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync_server.labels import BEIJING
from sync_server.services import ledger_catalogue as catalogue
from sync_server.services import ledger_yearly
from sync_server.services.ledger_catalogue import FieldType, KindSchema, LedgerField

# The kinds with a form: every kind of the catalogue (each is read by a rule), and the
# yearly drills and topic trainings kept in the enterprise record.
SCHEMAS: dict[str, KindSchema] = {
    **{k.kind: k for k in catalogue.CATALOGUE},
    **ledger_yearly.SCHEMAS,
}
FORM_KINDS = tuple(SCHEMAS)

# A tick box posts "1" when ticked and nothing when not; a yes/no list posts these.
_TRUE = ("1", "true", "on", "yes")
_FALSE = ("0", "false", "no")
# The choice lists whose codes are the JSON booleans.
_BOOLEAN_CHOICES = ("bump_results",)
OTHER = "_other"  # the free-text companion of an open list ("others, one a line")


def schema(kind: str) -> KindSchema:
    return SCHEMAS[kind]


def widget(kind: str, f: LedgerField) -> str:
    """The input of a field: ``text``, ``date``, ``datetime``, ``bool``, ``choice`` (a
    list to pick one from), ``choices`` (tick boxes), ``lines`` (one a line), ``person``
    and ``employer`` (one picked from the enterprise's own ledger), ``people`` and
    ``spaces`` (tick boxes of its people or spaces), ``rows`` (a table), ``json``."""
    if kind == "people" and f.name == "employer.id":
        return "employer"
    if f.type is FieldType.IDS and f.references in ("people", "spaces"):
        return str(f.references)
    if f.references == "people":
        return "person"
    return {
        FieldType.DATE: "date",
        FieldType.DATETIME: "datetime",
        FieldType.BOOL: "bool",
        FieldType.CHOICE: "choice",
        FieldType.MULTI_CHOICE: "choices",
        FieldType.LIST: "choices" if f.choices else "lines",
        FieldType.IDS: "lines",
        FieldType.ROWS: "rows",
        FieldType.JSON: "json",
    }.get(f.type, "text")


def inputs(kind: str) -> list[LedgerField]:
    """The fields a person enters, in the catalogue's order: not the item's id (the
    path's) and not what the core derives."""
    s = schema(kind)
    return [f for f in s.fields if f.is_input and f.name != s.id_field]


def open_list(f: LedgerField) -> bool:
    """An open list suggests values and takes others too (the core takes any text)."""
    return bool(f.choices) and not f.closed


@dataclass
class Parsed:
    """A posted form as the item's JSON; ``unread``: inputs whose text is not what the
    field takes (JSON that does not parse), by name, with the text as entered."""

    data: dict[str, Any]
    unread: dict[str, str] = field(default_factory=dict)


class Form:
    """A posted form's values (a multi-dict: ``getlist`` for tick boxes)."""

    def __init__(self, items: Sequence[tuple[str, Any]]) -> None:
        self._items = [(k, v) for k, v in items if isinstance(v, str)]

    def get(self, key: str) -> str:
        return next((v for k, v in self._items if k == key), "")

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self._items if k == key]

    def keys(self) -> list[str]:
        return [k for k, _ in self._items]


def row_numbers(form: Form, name: str) -> list[int]:
    """The form's row numbers of table ``name`` (``name.N.field``), in order."""
    pattern = re.compile(re.escape(name) + r"\.(\d{1,3})\.")
    return sorted({int(m.group(1)) for k in form.keys() if (m := pattern.match(k))})


def _local_datetime(text: str) -> str:
    """A ``datetime-local`` value (Beijing) as ISO 8601 with its offset; a value that
    already has one, or is no time at all, is passed on for the core to judge."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return text
    return (at if at.tzinfo else at.replace(tzinfo=BEIJING)).isoformat()


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _put(out: dict[str, Any], name: str, value: Any) -> None:
    """Set a dotted field (``employer.kind``) in the item's JSON."""
    *outer, last = name.split(".")
    for part in outer:
        out = out.setdefault(part, {})
    out[last] = value


def _value(kind: str, f: LedgerField, form: Form, key: str, parsed: Parsed) -> tuple[bool, Any]:
    """(present, value) of one input; an empty input is left out of the item, so the
    model's default applies or the catalogue names the missing field."""
    w = widget(kind, f)
    if w == "choices":
        ticked = [v for v in form.getlist(key) if v.strip()]
        others = _lines(form.get(f"{key}.{OTHER}")) if open_list(f) else []
        return True, list(dict.fromkeys(ticked + others))
    if w in ("spaces", "people"):
        return True, [v for v in form.getlist(key) if v.strip()]
    if w == "lines":
        return True, _lines(form.get(key))
    if w == "bool":
        return True, form.get(key).strip().lower() in _TRUE
    if w == "rows":
        rows = []
        for n in row_numbers(form, key):
            prefix = f"{key}.{n}."
            if form.get(prefix + "_remove").lower() in _TRUE:
                continue
            row = _fields(kind, f.rows, form, prefix, parsed)
            if any(v not in ("", [], False, None) for v in row.values()):
                rows.append(row)
        return True, rows
    text = form.get(key).strip()
    if w == "choice" and open_list(f) and form.get(f"{key}.{OTHER}").strip():
        text = form.get(f"{key}.{OTHER}").strip()
    if not text:
        return False, None
    if w == "datetime":
        return True, _local_datetime(text)
    if w == "choice" and f.choices in _BOOLEAN_CHOICES and text.lower() in _TRUE + _FALSE:
        return True, text.lower() in _TRUE
    if w == "json":
        try:
            return True, json.loads(text)
        except ValueError:
            parsed.unread[key] = text
            return False, None
    return True, text


def _fields(
    kind: str, fields: Sequence[LedgerField], form: Form, prefix: str, parsed: Parsed
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        if not f.is_input:
            continue
        present, value = _value(kind, f, form, prefix + f.name, parsed)
        if present:
            _put(out, f.name, value)
    return out


def parse(kind: str, form: Form, enterprise_id: str) -> Parsed:
    """The item's JSON from a posted form (not checked here: the catalogue judges it)."""
    parsed = Parsed({})
    parsed.data = _fields(kind, inputs(kind), form, "", parsed)
    employer = parsed.data.get("employer")
    if kind == "people" and isinstance(employer, dict) and employer.get("kind") == "enterprise":
        # The enterprise's own people are employed by the enterprise itself.
        employer["id"] = enterprise_id
    return parsed


def keep_unchanged_times(
    kind: str, data: dict[str, Any], before: Mapping[str, Any] | None
) -> dict[str, Any]:
    """A time the form showed to the minute and got back unchanged keeps its stored
    value (seconds, offset): editing a detector's model must not rewrite its bump tests."""
    for f in inputs(kind):
        if f.type is not FieldType.ROWS:
            continue
        old_rows, new_rows = field_value(before, f.name) or [], data.get(f.name) or []
        for old, new in zip(old_rows, new_rows, strict=False):
            for sub in f.rows:
                if sub.type is FieldType.DATETIME and sub.name in new and sub.name in old:
                    if _local_input(new[sub.name]) == _local_input(old[sub.name]):
                        new[sub.name] = old[sub.name]
    return data


def form_key(error_field: str, known: set[str]) -> str:
    """The input an error's field path belongs to (a list's item ``required_channels.1``
    is the list's input); ``""`` when it is the item's as a whole."""
    parts = error_field.split(".")
    while parts:
        key = ".".join(parts)
        if key in known:
            return key
        parts.pop()
    return ""


def input_id(key: str) -> str:
    """An HTML id for an input name (dots and the like made dashes, ``f-`` before)."""
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", key)


# ---------------------------------------------------------------- what a form shows


@dataclass
class State:
    """What a form shows: each input's value (text, ticked values, or a tick) and the
    row numbers of each table."""

    values: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, list[int]] = field(default_factory=dict)

    def value(self, key: str) -> Any:
        return self.values.get(key, "")

    def ticked(self, key: str, option: str) -> bool:
        v = self.values.get(key)
        return isinstance(v, list) and option in v

    def known(self) -> set[str]:
        """Every input's name and every row's (``training.1``): where an error is shown."""
        keys = set(self.values)
        for name, numbers in self.rows.items():
            keys |= {name} | {f"{name}.{n}" for n in numbers}
        return keys

    def with_blank_row(self, name: str) -> State:
        """One more empty row in table ``name`` (the form's "add a row")."""
        used = self.rows.get(name, [])
        self.rows[name] = [*used, (max(used) + 1) if used else 0]
        return self


def field_value(data: Mapping[str, Any] | None, name: str) -> Any:
    """A dotted field's value in an item's JSON (``employer.kind``), None if absent."""
    value: Any = data
    for part in name.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _local_input(value: Any) -> str:
    """A stored time as a ``datetime-local`` value in Beijing time."""
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return (at.astimezone(BEIJING) if at.tzinfo else at).strftime("%Y-%m-%dT%H:%M")


def _codes(f: LedgerField) -> set[str]:
    return {c.code for c in catalogue.choices(f.choices)} if f.choices else set()


def _state_of_item(
    kind: str, fields: Sequence[LedgerField], data: Mapping[str, Any], prefix: str, out: State
) -> None:
    for f in fields:
        if not f.is_input:
            continue
        key, value, w = prefix + f.name, field_value(data, f.name), widget(kind, f)
        if w == "rows":
            rows = value if isinstance(value, list) else []
            out.rows[key] = list(range(len(rows)))
            for n, row in enumerate(rows):
                _state_of_item(
                    kind, f.rows, row if isinstance(row, Mapping) else {}, f"{key}.{n}.", out
                )
        elif w in ("choices", "spaces", "people"):
            values = [str(v) for v in value or ()]
            if open_list(f):
                known = _codes(f)
                out.values[f"{key}.{OTHER}"] = "\n".join(v for v in values if v not in known)
                values = [v for v in values if v in known]
            out.values[key] = values
        elif w == "lines":
            out.values[key] = "\n".join(str(v) for v in value or ())
        elif w == "bool":
            out.values[key] = bool(value)
        elif w == "datetime" and value:
            out.values[key] = _local_input(value)
        elif w == "json":
            out.values[key] = (
                "" if value is None else json.dumps(value, ensure_ascii=False, indent=1)
            )
        elif isinstance(value, bool):
            out.values[key] = "true" if value else "false"
        elif w == "choice" and open_list(f) and value and str(value) not in _codes(f):
            out.values[key], out.values[f"{key}.{OTHER}"] = "", str(value)
        else:
            out.values[key] = "" if value is None else str(value)


def state_of_item(
    kind: str, data: Mapping[str, Any], unread: Mapping[str, str] | None = None
) -> State:
    """The form of an item: a stored one to edit, or one just parsed (with the text of
    its ``unread`` inputs) to show again."""
    out = State()
    _state_of_item(kind, inputs(kind), data, "", out)
    out.values.update(unread or {})
    return out


def with_added_row(kind: str, form: Form, enterprise_id: str, name: str) -> State:
    """The form again with one more row in table ``name`` ("add a row"): as many rows
    as were posted (blank ones too), plus one; every other table with one spare."""
    parsed = parse(kind, form, enterprise_id)
    state = state_of_item(kind, parsed.data, parsed.unread)
    state.values["item_id"] = form.get("item_id")
    for table in state.rows:
        wanted = len(row_numbers(form, table)) + 1 if table == name else len(state.rows[table]) + 1
        while len(state.rows[table]) < wanted:
            state.with_blank_row(table)
    return state

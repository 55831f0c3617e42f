"""The enterprise's ledger out to Excel and back in, all or nothing (docs/server.md,
"The ledger in Excel").

An import reads every sheet (:mod:`ledger_workbook`), checks every item with the core's
models (:func:`ledger_catalogue.validate_all`) and compares it with the stored one. Any
problem: nothing is stored, and every problem is answered at its sheet, Excel row and
field. None: each created or changed item is written as ``PUT`` writes it
(``ledger_edits.save``: its version in the ledger's history under the importer's name,
an audit record, the automatic hazards a space's entry files or clears). An export
never carries a PIN hash, a password or a key, and an import cannot set one: the stored
hash is kept.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from sync_server.i18n import Gettext
from sync_server.security import Principal
from sync_server.services import ledger_cells, ledger_edits
from sync_server.services import reference as ref
from sync_server.services.ledger_catalogue import (
    CATALOGUE,
    FieldError,
    FieldType,
    KindSchema,
    kind_schema,
    validate_all,
)
from sync_server.services.ledger_workbook import (
    Problem,
    ReadItem,
    read_workbook,
    write_workbook,
)
from sync_server.services.reference import Kind

MISSING = ledger_cells.MISSING


def export(conn: Connection, enterprise_id: str, zh: Gettext) -> bytes:
    """Every item of the enterprise's ledger, one sheet per kind."""
    items = {
        schema.kind: [
            (r.item_id, r.data) for r in ref.list_items(conn, enterprise_id, Kind(schema.kind))
        ]
        for schema in CATALOGUE
    }
    return write_workbook(items, zh)


def template(zh: Gettext) -> bytes:
    """The same workbook without items."""
    return write_workbook({}, zh)


@dataclass
class Change:
    kind: str
    item_id: str
    sheet: str
    row: int
    action: str  # "created" or "updated"
    fields: list[dict[str, str]]  # field, label, before, after (as the workbook shows them)
    name: str = ""  # the entry's name, for people reading the preview

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "item_id": self.item_id,
            "sheet": self.sheet,
            "row": self.row,
            "action": self.action,
            "fields": self.fields,
            "name": self.name,
        }


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    applied: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [e.as_json() for e in self.errors],
            "changes": [c.as_json() for c in self.changes],
            "applied": self.applied,
        }


def _merged(
    schema: KindSchema, data: dict[str, Any], stored: dict[str, Any] | None, given: set[str]
) -> dict[str, Any]:
    """The workbook's item over the stored one: a field the workbook does not give (no
    column, no nested sheet) keeps its stored value, and so do the secrets."""
    out = copy.deepcopy(data)
    if stored is None:
        return out
    for f in schema.fields:
        if f.derived or f.name in given or f.name == schema.id_field:
            continue
        value = ledger_cells.get_path(stored, f.name)
        if value is not MISSING:
            ledger_cells.set_path(out, f.name, copy.deepcopy(value))
    for secret in schema.secret:
        if stored.get(secret) is not None:
            out[secret] = stored[secret]
    return out


def _instant(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _comparable(schema: KindSchema, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as the core means it: a time is an instant whatever its offset, a set
    has no order."""
    out = copy.deepcopy(data)
    for f in schema.fields:
        value = out.get(f.name)
        if f.unordered and isinstance(value, list):
            out[f.name] = sorted(value)
        if f.type is FieldType.DATETIME and value:
            out[f.name] = _instant(value)
        if f.type is FieldType.ROWS and isinstance(value, list):
            for row in value:
                for r in f.rows:
                    if r.type is FieldType.DATETIME and row.get(r.name):
                        row[r.name] = _instant(row[r.name])
    return out


def _shown(schema: KindSchema, data: dict[str, Any] | None, zh: Gettext) -> dict[str, str]:
    """Each field as the workbook shows it, for the preview's old -> new."""
    out: dict[str, str] = {}
    for f in schema.fields:
        if f.derived or data is None:
            continue
        value = ledger_cells.get_path(data, f.name)
        if value is MISSING:
            out[f.name] = ""
        elif f.type is FieldType.ROWS:
            out[f.name] = "\n".join(
                " / ".join(str(ledger_cells.to_cell(r, row.get(r.name), zh) or "") for r in f.rows)
                for row in value or ()
            )
        else:
            shown = ledger_cells.to_cell(f, value, zh)
            out[f.name] = "" if shown is None else str(shown)
    return out


def _diff(
    schema: KindSchema, before: dict[str, Any] | None, after: dict[str, Any], zh: Gettext
) -> list[dict[str, str]]:
    old, new = _shown(schema, before, zh), _shown(schema, after, zh)
    return [
        {"field": f.name, "label": zh(f.label), "before": old.get(f.name, ""), "after": new[f.name]}
        for f in schema.fields
        if f.name in new and new[f.name] != old.get(f.name, "") and f.name != schema.id_field
    ]


def _placed(item: ReadItem, error: FieldError) -> Problem:
    """A core error at its sheet, row and column."""
    loc = list(error.loc)
    if len(loc) >= 3 and isinstance(loc[1], int) and str(loc[0]) in item.nested_rows:
        rows = item.nested_rows[str(loc[0])]
        if loc[1] < len(rows):
            sheet, row = rows[loc[1]]
            column = ".".join(str(p) for p in loc[2:] if not isinstance(p, int))
            return Problem(sheet, row, column, error.message)
    names: list[str] = []
    for part in loc:
        if isinstance(part, int):
            break
        names.append(str(part))
    return Problem(item.sheet, item.row, ".".join(names), error.message)


def _override_clash(
    conn: Connection, enterprise_id: str, plans: list[tuple[ReadItem, dict[str, Any]]], zh: Gettext
) -> list[Problem]:
    # The store's rule (one override per base profile, services.reference) judged on the
    # ledger as the import would leave it.
    bases = ref.override_bases(conn, enterprise_id)
    mine = {
        item.item_id: (item, clean["base"])
        for item, clean in plans
        if item.kind == Kind.PROFILE_OVERRIDE
    }
    bases.update({i: base for i, (_item, base) in mine.items()})
    problems = []
    for item_id, (item, base) in mine.items():
        clash = ref.override_clash(bases, item_id, base, zh)
        if clash is not None:
            problems.append(Problem(item.sheet, item.row, "base", clash))
    return problems


def import_workbook(
    conn: Connection,
    who: Principal,
    enterprise_id: str,
    content: bytes,
    *,
    dry_run: bool,
    zh: Gettext,
) -> ImportResult:
    """Read, check and (unless ``dry_run`` or any error) store a workbook's ledger."""
    read = read_workbook(content, zh)
    result = ImportResult(errors=list(read.problems))
    read_at = {(p.sheet, p.row, p.column) for p in read.problems}
    plans: list[tuple[ReadItem, dict[str, Any]]] = []
    writes: list[tuple[ReadItem, dict[str, Any]]] = []
    for item in read.items:
        schema = kind_schema(item.kind)
        row = ref.find(conn, enterprise_id, Kind(item.kind), item.item_id)
        stored = None if row is None else dict(row.data)
        data = _merged(schema, item.data, stored, read.given.get(item.kind, set()))
        errors = validate_all(item.kind, item.item_id, data, enterprise_id, zh)
        if errors:
            # A cell already refused is not refused again as missing.
            placed = (_placed(item, e) for e in errors)
            result.errors.extend(p for p in placed if (p.sheet, p.row, p.column) not in read_at)
            continue
        clean = ref.validate(Kind(item.kind), item.item_id, data, enterprise_id)
        plans.append((item, clean))
        if stored is not None and _comparable(schema, stored) == _comparable(schema, clean):
            result.unchanged += 1
            continue
        action = "created" if stored is None else "updated"
        setattr(result, action, getattr(result, action) + 1)
        result.changes.append(
            Change(
                item.kind,
                item.item_id,
                item.sheet,
                item.row,
                action,
                _diff(schema, stored, clean, zh),
                name=str(clean.get("name") or clean.get("model") or ""),
            )
        )
        writes.append((item, data))
    result.errors.extend(_override_clash(conn, enterprise_id, plans, zh))
    if result.errors or dry_run:
        return result
    for item, data in writes:
        # as PUT saves one item: its version under the importer's name, the audit
        # record, a space's automatic hazards (services.ledger_edits)
        ledger_edits.save(conn, who, enterprise_id, Kind(item.kind), item.item_id, data)
    result.applied = True
    return result

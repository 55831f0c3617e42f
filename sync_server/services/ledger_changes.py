"""A ledger item's values and its history as people read them: choice codes by their
names (zh_CN), yes/no, times in Beijing time, and for each version what changed from
the one before, field by field, named by the catalogue's labels."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from sync_server.errors import SyncError
from sync_server.i18n import Gettext
from sync_server.labels import local_time
from sync_server.services import accounts as account_service
from sync_server.services import ledger_catalogue as catalogue
from sync_server.services import ledger_forms as forms
from sync_server.services import ledger_history, ledger_yearly
from sync_server.services.ledger_catalogue import FieldType, LedgerField


def shown(f: LedgerField, value: Any, _: Gettext, names: Mapping[str, str] | None = None) -> str:
    """One field's value in words: a choice by its name, a list joined with 、, a time in
    Beijing time, an id of another ledger item by its name (``names``)."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if f.type is FieldType.DATETIME:
        return local_time(str(value), seconds=False)
    if isinstance(value, list):
        return "、".join(shown(f, v, _, names) for v in value)
    text = str(value)
    if f.choices:
        by_code = {c.code: c.label for c in catalogue.choices(f.choices)}
        if text in by_code:
            return _(by_code[text])
    if names and f.references and text in names:
        return names[text]
    return text


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


@dataclass
class Version:
    number: int
    at: str  # Beijing time
    by: str  # the account's display name, or "" when not known
    deleted: bool
    changes: list[Change] = field(default_factory=list)


def changes(
    kind: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    _: Gettext,
    names: Mapping[str, str] | None = None,
) -> list[Change]:
    """What differs between two versions of an item, field by field (a table's rows
    cell by cell), in the catalogue's order."""
    schema = forms.schema(kind)
    out: list[Change] = []
    for f in schema.fields:
        if f.derived or f.name == schema.id_field:  # the id never changes: the page names it
            continue
        old, new = forms.field_value(before, f.name), forms.field_value(after, f.name)
        if f.type is FieldType.ROWS:
            olds, news = old or [], new or []
            for n in range(max(len(olds), len(news))):
                o = olds[n] if n < len(olds) else None
                w = news[n] if n < len(news) else None
                for sub in f.rows:
                    a, b = forms.field_value(o, sub.name), forms.field_value(w, sub.name)
                    if a != b:
                        label = catalogue.label_of(schema, (f.name, n, sub.name), _)
                        out.append(Change(label, shown(sub, a, _, names), shown(sub, b, _, names)))
        elif old != new and not (old in (None, [], "", False) and new in (None, [], "", False)):
            out.append(Change(_(f.label), shown(f, old, _, names), shown(f, new, _, names)))
    return out


def display_names(conn: Connection) -> Callable[[str], str]:
    """An account's display name by its username (what a version records)."""
    cache: dict[str, str] = {}

    def name(username: str) -> str:
        if not username:
            return ""
        if username not in cache:
            try:
                row: Any = account_service.account_by_username(conn, username)
                cache[username] = str(getattr(row, "display_name", "") or username)
            except SyncError:
                cache[username] = username
        return cache[username]

    return name


def history(
    conn: Connection,
    enterprise_id: str,
    kind: str,
    item_id: str,
    _: Gettext,
    names: Mapping[str, str] | None = None,
) -> list[Version]:
    """Every version of one item, newest first, each with what it changed."""
    name_of = display_names(conn)
    if kind in ledger_yearly.SCHEMAS:
        versions = ledger_yearly.history(conn, enterprise_id, kind, item_id)
    else:
        versions = ledger_history.history(conn, enterprise_id, kind, item_id)
    out: list[Version] = []
    previous: Mapping[str, Any] | None = None
    for v in versions:
        data = v["data"]
        out.append(
            Version(
                number=v["version"],
                at=local_time(v["valid_from"]),
                by=name_of(v["changed_by"]),
                deleted=bool(v["deleted"]),
                changes=[] if v["deleted"] else changes(kind, previous, data, _, names),
            )
        )
        previous = data
    return list(reversed(out))


def described(kind: str, data: Mapping[str, Any], _: Gettext) -> dict[str, Any]:
    """Each field of an item in words, by field name; a table's field as a list of
    rows, each a dict of its fields in words (the ledger page's columns)."""
    out: dict[str, Any] = {}
    for f in forms.schema(kind).fields:
        value = forms.field_value(data, f.name)
        if f.type is FieldType.ROWS:
            out[f.name] = [
                {sub.name: shown(sub, forms.field_value(row, sub.name), _) for sub in f.rows}
                for row in value or ()
                if isinstance(row, Mapping)
            ]
        elif not f.derived:
            out[f.name] = shown(f, value, _)
    return out

"""One write path for a ledger item, whoever writes it (the JSON API, the web forms):
the admin's check, the item and its version (``reference.upsert``), the audit entry,
and for a space the automatic hazards that follow the ledger (docs/server.md,
"Hazards"). A deletion is a tombstone the tablets pull.

The written delegation's scan is an attachment blob of the enterprise (``blobs``),
named in the delegation's ``document_ref`` by its SHA-256, so the tablet and the
ledger's history carry the same reference (``Delegation.document_ref`` is free text).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from sync_server.errors import NotFound, Unprocessable
from sync_server.i18n import Gettext
from sync_server.ids import id_problem, normalised
from sync_server.security import Principal
from sync_server.services import audit, blobs, ledger_history, ledger_yearly, public_codes
from sync_server.services import hazards as hazard_service
from sync_server.services import ledger_catalogue as catalogue
from sync_server.services import ledger_forms as forms
from sync_server.services import reference as ref
from sync_server.services.reference import Kind
from sync_server.services.tenancy import require_admin_of

# "授权委托书 2026-01 [sha256:…]": the document's number, then the stored scan.
_ATTACHED = re.compile(r"^(?P<text>.*?)\s*\[sha256:(?P<sha>[0-9a-f]{64})\]$", re.S)


def save(
    conn: Connection,
    who: Principal,
    enterprise_id: str,
    kind: Kind,
    item_id: str,
    data: dict[str, Any],
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Create or replace one item as ``who``; return (before, after)."""
    require_admin_of(conn, who, enterprise_id)
    before, after = ref.upsert(conn, enterprise_id, kind, item_id, data, changed_by=who.name)
    audit.record(
        conn,
        who,
        f"{kind.value}.put",
        kind.value,
        item_id,
        enterprise_id=enterprise_id,
        before=before,
        after=after,
    )
    if kind is Kind.SPACE:
        hazard_service.follow_ledger(conn, who, enterprise_id, item_id, after)
        public_codes.issue_first(conn, who, enterprise_id, item_id)  # its QR's token
    return before, after


def remove(
    conn: Connection, who: Principal, enterprise_id: str, kind: Kind, item_id: str
) -> dict[str, Any]:
    """Delete one item (a tombstone) as ``who``; return what it was."""
    require_admin_of(conn, who, enterprise_id)
    before = ref.delete(conn, enterprise_id, kind, item_id, changed_by=who.name)
    audit.record(
        conn,
        who,
        f"{kind.value}.delete",
        kind.value,
        item_id,
        enterprise_id=enterprise_id,
        before=before,
        after=None,
    )
    return before


def carried_over(before: dict[str, Any] | None, on_form: set[str]) -> dict[str, Any]:
    """What a form does not show of a stored item and must keep (a person's PIN hash):
    a form replaces only the fields it has."""
    return {k: v for k, v in (before or {}).items() if k not in on_form}


def attach(conn: Connection, enterprise_id: str, data: bytes, content_type: str) -> str:
    """Store a document's scan (idempotent); return its SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    blobs.put(conn, enterprise_id, "attachment", sha, data, content_type, None)
    return sha


def with_attachment(text: str, sha256: str | None) -> str:
    """The ``document_ref`` naming the document and, when there is one, its scan."""
    return f"{text.strip()} [sha256:{sha256}]".strip() if sha256 else text.strip()


def split_attachment(document_ref: str) -> tuple[str, str | None]:
    """(the document's number or name, the SHA-256 of its stored scan or None)."""
    m = _ATTACHED.match(document_ref or "")
    return (m.group("text"), m.group("sha")) if m else (document_ref or "", None)


# ---------------------------------------------------------------- a posted form


@dataclass(frozen=True)
class Upload:
    """A file posted with a form (the delegation's signed document)."""

    data: bytes
    content_type: str


@dataclass
class Submission:
    """What became of a posted form: saved, or the form again with every error as
    (input name or "", message) and the values entered."""

    item_id: str
    state: forms.State
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def saved(self) -> bool:
        return not self.errors


def _id_errors(kind: str, item_id: str, exists: bool, _: Gettext) -> list[tuple[str, str]]:
    label = _(forms.schema(kind).id_label)
    problem = id_problem(item_id)
    if item_id == "new":  # the path of the blank form
        problem = _("“new” is kept for a new entry's form: choose another")
    if problem is not None:
        return [("item_id", f"{label}: {problem}")]
    if exists:
        message = _("{label}: {id} is already in the ledger; open it to change it")
        return [("item_id", message.format(label=label, id=item_id))]
    return []


def _document(
    conn: Connection,
    enterprise_id: str,
    data: dict[str, Any],
    before: dict[str, Any] | None,
    form: forms.Form,
    upload: Upload | None,
) -> str | None:
    """The delegation's ``document_ref`` with its scan: the stored one unless a new file
    is posted or the stored one removed; returns the stored one's SHA-256 (kept)."""
    kept = split_attachment(str((before or {}).get("document_ref", "")))[1]
    if form.get("document_remove") == "1":
        kept = None
    sha = attach(conn, enterprise_id, upload.data, upload.content_type) if upload else kept
    data["document_ref"] = with_attachment(str(data.get("document_ref", "")), sha)
    return kept


def stored(conn: Connection, enterprise_id: str, kind: str, item_id: str) -> dict[str, Any] | None:
    """One item of any form's kind as stored, or None."""
    if kind in ledger_yearly.SCHEMAS:
        return ledger_yearly.find(conn, enterprise_id, kind, item_id)
    row = ref.find(conn, enterprise_id, Kind(kind), item_id)
    return None if row is None else dict(row.data)


def label(conn: Connection, enterprise_id: str, kind: str, item_id: str, _: Gettext) -> str:
    """What a person calls one item: its name, else its kind's number label and the
    number (a deleted item keeps the name of its last version)."""
    data = stored(conn, enterprise_id, kind, item_id)
    if data is None:
        versions = (
            ledger_yearly.history if kind in ledger_yearly.SCHEMAS else ledger_history.history
        )(conn, enterprise_id, kind, item_id)
        data = next((v["data"] for v in reversed(versions) if v["data"]), None)
    name = (data or {}).get("name")
    return str(name) if name else f"{_(forms.schema(kind).id_label)} {item_id}"


def items(conn: Connection, enterprise_id: str, kind: str) -> list[Any]:
    """Every item of any form's kind, by id: (``item_id``, ``data``) rows."""
    if kind in ledger_yearly.SCHEMAS:
        return [
            _Item(str(r.get("id", "")), r) for r in ledger_yearly.items(conn, enterprise_id, kind)
        ]
    return [_Item(r.item_id, dict(r.data)) for r in ref.list_items(conn, enterprise_id, Kind(kind))]


@dataclass(frozen=True)
class _Item:
    item_id: str
    data: dict[str, Any]


def delete_any(
    conn: Connection, who: Principal, enterprise_id: str, kind: str, item_id: str
) -> None:
    """Delete one item of any form's kind as ``who``."""
    if kind in ledger_yearly.SCHEMAS:
        ledger_yearly.remove(conn, who, enterprise_id, kind, item_id)
    else:
        remove(conn, who, enterprise_id, Kind(kind), item_id)


def _check(
    kind: str, item_id: str, data: dict[str, Any], enterprise_id: str, _: Gettext
) -> list[Any]:
    if kind in ledger_yearly.SCHEMAS:
        return ledger_yearly.validate_all(kind, item_id, data, enterprise_id, _)
    return catalogue.validate_all(kind, item_id, data, enterprise_id, _)


def _save_any(
    conn: Connection,
    who: Principal,
    enterprise_id: str,
    kind: str,
    item_id: str,
    data: dict[str, Any],
) -> None:
    if kind in ledger_yearly.SCHEMAS:
        ledger_yearly.save(conn, who, enterprise_id, kind, item_id, data)
    else:
        save(conn, who, enterprise_id, Kind(kind), item_id, data)


def submit(
    conn: Connection,
    who: Principal,
    enterprise_id: str,
    kind: str,
    item_id: str | None,
    form: forms.Form,
    upload: Upload | None,
    _: Gettext,
) -> Submission:
    """Check a posted form (``item_id`` None: a new item, its id the form's) with the
    catalogue, every invalid field at once, and save it when nothing is wrong. On a
    refusal the caller answers 422, which rolls back anything written (the scan)."""
    require_admin_of(conn, who, enterprise_id)
    the_id = normalised((form.get("item_id") if item_id is None else item_id).strip())
    before = stored(conn, enterprise_id, kind, the_id) if the_id else None
    if item_id is not None and before is None:
        raise NotFound(_("not found"), code="NOT_FOUND")
    parsed = forms.parse(kind, form, enterprise_id)
    on_form = {f.name.split(".")[0] for f in forms.inputs(kind)}
    data = forms.keep_unchanged_times(
        kind, {**carried_over(before, on_form), **parsed.data}, before
    )
    kept = None
    if kind == Kind.DELEGATION.value:
        kept = _document(conn, enterprise_id, data, before, form, upload)
    state = forms.state_of_item(kind, data, parsed.unread)
    known = state.known()
    out = Submission(the_id, state)
    if item_id is None:
        state.values["item_id"] = form.get("item_id")
        out.errors += _id_errors(kind, the_id, before is not None, _)
    for key in parsed.unread:
        f = forms.schema(kind).field(key)
        out.errors.append(
            (key, _("{label}: not valid JSON").format(label=_(f.label) if f else key))
        )
    for e in _check(kind, the_id or "-", data, enterprise_id, _):
        out.errors.append((forms.form_key(e.field, known), e.message))
    if not out.errors:
        try:
            _save_any(conn, who, enterprise_id, kind, the_id, data)
        except Unprocessable as exc:  # a check beyond the model's (one override per base)
            out.errors.append((forms.form_key(exc.field or "", known), exc.message))
    if out.errors and upload is not None and kind == Kind.DELEGATION.value:
        # A refused form keeps no file: the person chooses it again.
        text = split_attachment(str(data.get("document_ref", "")))[0]
        state.values["document_ref"] = with_attachment(text, kept)
        out.errors.append(
            (
                "document_ref",
                _("the chosen file was not kept: choose it again after correcting the form"),
            )
        )
    return out

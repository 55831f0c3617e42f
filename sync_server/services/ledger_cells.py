"""One ledger field in one Excel cell and back, by the catalogue's field types.

People read names, not codes: a choice is written as its Chinese name and read back as
its code (the code itself is taken too); several values share a cell one to a line
(``；`` or ``;`` also separate them when typed on one line); dates are Excel dates, a
time with its offset is text in Beijing time. A value that cannot be read is an error
message naming the field, never a guess.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Any

from sync_server.i18n import Gettext
from sync_server.labels import BEIJING
from sync_server.services.ledger_catalogue import FieldType, LedgerField, choices

T = FieldType
MISSING = object()  # an empty cell: the field is left out, the core's default applies
_SEPARATORS = re.compile(r"[;；]")
_YES = {"是", "yes", "y", "true", "1", "√", "✓"}
_NO = {"否", "no", "n", "false", "0", "×"}
# Excel's day 0 (its 1900 leap-year bug makes serials count from 1899-12-30).
_EXCEL_EPOCH = date(1899, 12, 30)
_MAX_SERIAL = 2_958_465  # 9999-12-31


class CellError(ValueError):
    pass


def _name(field: LedgerField, code: Any, zh: Gettext) -> str:
    code = str(code).lower() if isinstance(code, bool) else str(code)
    if field.choices:
        for c in choices(field.choices):
            if c.code == code:
                return zh(c.label)
    return code


def _code(field: LedgerField, text: str, zh: Gettext) -> str:
    if field.choices:
        for c in choices(field.choices):
            if text in (c.code, zh(c.label), c.label):
                return c.code
    return text


def _joined(values: list[str]) -> str:
    text = "\n".join(values)
    # One value holding a separator still reads back as one value: a line break says so.
    if len(values) == 1 and _SEPARATORS.search(text):
        text += "\n"
    return text


def to_cell(field: LedgerField, value: Any, zh: Gettext) -> Any:
    """The cell's value for a stored field value (None: an empty cell)."""
    if value is None or value == "" or value == [] or value == ():
        return None
    kind = field.type
    if kind is T.DATE:
        return date.fromisoformat(str(value))
    if kind is T.DATETIME:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(BEIJING)
        return at.isoformat(sep=" ")
    if kind is T.BOOL:
        return zh("yes") if value else zh("no")
    if kind is T.CHOICE:
        return _name(field, value, zh)
    if kind in (T.MULTI_CHOICE, T.LIST, T.IDS):
        return _joined([_name(field, v, zh) for v in value])
    if kind is T.JSON:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def _text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, datetime | date):
        return raw.isoformat()
    return str(raw).strip()


def _split(text: str) -> list[str]:
    parts = text.split("\n") if "\n" in text else _SEPARATORS.split(text)
    return [p.strip() for p in parts if p.strip()]


def _date(raw: Any, _: Gettext) -> str:
    if isinstance(raw, datetime):
        if raw.time() != datetime.min.time():
            raise CellError(_("a date without a time of day"))
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if not 1 <= raw <= _MAX_SERIAL or not float(raw).is_integer():
            raise CellError(_("a date such as 2026-12-01"))
        return (_EXCEL_EPOCH + timedelta(days=int(raw))).isoformat()
    text = _text(raw).replace("/", "-").replace(".", "-")
    match = re.fullmatch(r"(\d{4})\s*[-年]\s*(\d{1,2})\s*[-月]\s*(\d{1,2})\s*日?", text)
    if match is None:
        raise CellError(_("a date such as 2026-12-01"))
    try:
        return date(*(int(g) for g in match.groups())).isoformat()
    except ValueError:
        raise CellError(_("a date such as 2026-12-01")) from None


def _datetime(raw: Any, _: Gettext) -> str:
    if isinstance(raw, datetime):
        # Excel keeps no offset: a time typed in the workbook is Beijing time.
        return (raw if raw.tzinfo else raw.replace(tzinfo=BEIJING)).isoformat()
    try:
        at = datetime.fromisoformat(_text(raw).replace("Z", "+00:00"))
    except ValueError:
        raise CellError(_("a date and time such as 2026-12-01 08:30+08:00")) from None
    return (at if at.tzinfo else at.replace(tzinfo=BEIJING)).isoformat()


def _bool(raw: Any, _: Gettext) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _text(raw).lower()
    if text in _YES or text == _("yes").lower():
        return True
    if text in _NO or text == _("no").lower():
        return False
    raise CellError(_("yes or no"))


def from_cell(field: LedgerField, raw: Any, zh: Gettext) -> Any:
    """The field's value from a cell, MISSING for an empty one; CellError says what was
    expected."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return MISSING
    kind = field.type
    if kind is T.DATE:
        return _date(raw, zh)
    if kind is T.DATETIME:
        return _datetime(raw, zh)
    if kind is T.BOOL:
        return _bool(raw, zh)
    if kind is T.CHOICE:
        code = _code(field, _text(raw), zh)
        if field.choices == "bump_results":
            # a result (合格/不合格) is the core's bool; anything else is not a result (a
            # "通过" read as failed would hide a passed test, the other way a failed one)
            if code not in ("true", "false"):
                names = "、".join(zh(c.label) for c in choices(field.choices))
                raise CellError(zh("one of {names}").format(names=names))
            return code == "true"
        return code
    if kind in (T.MULTI_CHOICE, T.LIST, T.IDS):
        # not stripped first: a trailing line break marks one value holding a separator
        return [_code(field, v, zh) for v in _split(raw if isinstance(raw, str) else _text(raw))]
    if kind is T.JSON:
        try:
            return json.loads(_text(raw))
        except ValueError:
            raise CellError(zh("an object in JSON")) from None
    if kind is T.NUMBER:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return raw
        try:
            return float(_text(raw))
        except ValueError:
            raise CellError(zh("a number")) from None
    return _text(raw) if not isinstance(raw, str) else raw.strip()


def get_path(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[last] = value

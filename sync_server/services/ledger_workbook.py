"""The ledger as an Excel workbook (openpyxl), built from the catalogue, and read back.

One sheet per kind named ``中文名 (kind)``, its header cells ``中文名 (field)`` with the
API's own field names; a list of rows inside an item (a space's isolation points, a
detector's bump tests) is its own sheet keyed by the parent's id (``有限空间编号
(space_id)``); a sheet of allowed values feeds the dropdowns (docs/server.md, "The
ledger in Excel"). Reading is pure: it returns the items and every problem found, each
at its sheet, Excel row and field; nothing here touches the database.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from sync_server.i18n import Gettext
from sync_server.ids import id_problem, normalised
from sync_server.services import ledger_cells as cells
from sync_server.services.ledger_catalogue import (
    CATALOGUE,
    FieldType,
    KindSchema,
    LedgerField,
    all_fields,
    choices,
    derive,
)
from sync_server.services.ledger_choices import LIST_NAMES, N_

CHOICES_SHEET = "choices"
# The column of a nested sheet that names the item a row belongs to.
PARENT_KEYS = {"spaces": "space_id", "people": "person_id", "detectors": "detector_id"}
# A workbook past these is refused before openpyxl reads it: an upload fits the server's
# body limit, but a zip expands (a "zip bomb"), and a sheet can declare a million rows.
MAX_UNCOMPRESSED = 64 * 1024 * 1024
MAX_MEMBERS = 500
MAX_SHEETS = 40
MAX_ROWS = 20_000
MAX_COLUMNS = 60
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_DERIVED_FILL = PatternFill("solid", fgColor="EEEEEE")
_TOKEN = re.compile(r"[(（]\s*([A-Za-z0-9_.\-]+)\s*[)）]\s*$")


@dataclass(frozen=True)
class Problem:
    """One reason the workbook is refused, where Excel shows it."""

    sheet: str
    row: int  # as Excel numbers it; the header is row 1
    column: str  # the field (the API's name); empty for the whole row or sheet
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


@dataclass
class ReadItem:
    kind: str
    item_id: str
    data: dict[str, Any]
    sheet: str
    row: int
    # For each nested field, the (sheet, row) of each of its rows, in order.
    nested_rows: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


@dataclass
class ReadWorkbook:
    items: list[ReadItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Per kind, the fields the workbook gives (a column, or a nested sheet); a field it
    # does not give keeps its stored value.
    given: dict[str, set[str]] = field(default_factory=dict)


def sheet_title(schema: KindSchema, zh: Gettext) -> str:
    return f"{zh(schema.label)} ({schema.kind})"


def nested_title(rows: LedgerField, zh: Gettext) -> str:
    return f"{zh(rows.label)} ({rows.sheet})"


def header(f: LedgerField, zh: Gettext) -> str:
    return f"{zh(f.label)} ({f.name})"


def columns(schema: KindSchema) -> list[LedgerField]:
    """The kind's sheet columns: every field but the nested rows (their own sheets)."""
    return [f for f in schema.fields if f.type is not FieldType.ROWS]


def parent_field(schema: KindSchema) -> LedgerField:
    return LedgerField(PARENT_KEYS[schema.kind], schema.id_label, FieldType.TEXT, required=True)


def _choice_lists() -> list[str]:
    return sorted({f.choices for k in CATALOGUE for f in all_fields(k) if f.choices})


# ---------------------------------------------------------------- writing


def _write_header(ws: Worksheet, fields: list[LedgerField], zh: Gettext) -> None:
    for col, f in enumerate(fields, start=1):
        cell = ws.cell(1, col, header(f, zh))
        cell.font = _HEADER_FONT
        cell.fill = _DERIVED_FILL if f.derived else _HEADER_FILL
        if f.derived:
            cell.comment = Comment(zh(N_("derived by the system: not read on import")), "cspermit")
        ws.column_dimensions[get_column_letter(col)].width = max(12, len(header(f, zh)) + 4)
    ws.freeze_panes = "A2"


def _put(ws: Worksheet, row: int, col: int, value: Any) -> None:
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)  # a control character is no XML
    cell = ws.cell(row, col, value)
    if isinstance(value, str):
        # Text is text: "=..." typed in a name stays a name, never becomes a formula.
        cell.data_type = "s"
    elif value is not None and not isinstance(value, bool | int | float):
        cell.number_format = "yyyy-mm-dd"


def _validations(
    ws: Worksheet, fields: list[LedgerField], ranges: dict[str, str], zh: Gettext
) -> None:
    for col, f in enumerate(fields, start=1):
        if f.derived:
            continue
        letter = get_column_letter(col)
        if f.type is FieldType.BOOL:
            dv = DataValidation(type="list", formula1=f'"{zh("yes")},{zh("no")}"', allow_blank=True)
        elif f.choices and f.choices in ranges:
            single = f.type is FieldType.CHOICE
            dv = DataValidation(type="list", formula1=ranges[f.choices], allow_blank=True)
            # An open list only suggests; several values share a cell one to a line.
            dv.showErrorMessage = single and f.closed
            if not single:
                dv.prompt = zh(N_("several values: one a line"))
                dv.showInputMessage = True
        else:
            continue
        dv.error = zh(N_("choose a value from the list"))
        ws.add_data_validation(dv)
        dv.add(f"{letter}2:{letter}{MAX_ROWS + 1}")


def _choices_sheet(wb: Workbook, zh: Gettext) -> dict[str, str]:
    ws = wb.create_sheet(f"{zh(N_('allowed values'))} ({CHOICES_SHEET})")
    title = ws.title.replace("'", "''")
    ranges: dict[str, str] = {}
    for i, name in enumerate(_choice_lists()):
        names_col, codes_col = 2 * i + 1, 2 * i + 2
        values = choices(name)
        for col, text in (
            (names_col, f"{zh(LIST_NAMES[name])} ({name})"),
            (codes_col, f"{zh(N_('code'))} ({name}.code)"),
        ):
            ws.cell(1, col, text).font = _HEADER_FONT
            ws.column_dimensions[get_column_letter(col)].width = 24
        for row, c in enumerate(values, start=2):
            _put(ws, row, names_col, zh(c.label))
            _put(ws, row, codes_col, c.code)
        letter = get_column_letter(names_col)
        ranges[name] = f"'{title}'!${letter}$2:${letter}${len(values) + 1}"
    ws.freeze_panes = "A2"
    return ranges


def write_workbook(items: dict[str, list[tuple[str, dict[str, Any]]]], zh: Gettext) -> bytes:
    """The workbook of ``items`` (by kind: (item id, stored data)); none: the template."""
    wb = Workbook()
    first = wb.active
    ranges = _choices_sheet(wb, zh)
    for schema in CATALOGUE:
        ws = wb.create_sheet(sheet_title(schema, zh), len(wb.sheetnames) - 1)
        cols = columns(schema)
        _write_header(ws, cols, zh)
        _validations(ws, cols, ranges, zh)
        rows_of = {n.name: [] for n in schema.nested}  # type: dict[str, list[list[Any]]]
        for row, (item_id, data) in enumerate(items.get(schema.kind, []), start=2):
            shown = {**data, **derive(schema.kind, data), schema.id_field: item_id}
            for col, f in enumerate(cols, start=1):
                value = cells.get_path(shown, f.name)
                _put(ws, row, col, None if value is cells.MISSING else cells.to_cell(f, value, zh))
            for n in schema.nested:
                for sub in data.get(n.name) or ():
                    rows_of[n.name].append(
                        [item_id, *(cells.to_cell(r, sub.get(r.name), zh) for r in n.rows)]
                    )
        for n in schema.nested:
            sub_ws = wb.create_sheet(nested_title(n, zh), len(wb.sheetnames) - 1)
            sub_cols = [parent_field(schema), *n.rows]
            _write_header(sub_ws, sub_cols, zh)
            _validations(sub_ws, sub_cols, ranges, zh)
            for row, values in enumerate(rows_of[n.name], start=2):
                for col, value in enumerate(values, start=1):
                    _put(sub_ws, row, col, value)
    wb.remove(first)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- reading


class NotAWorkbook(ValueError):
    pass


def _open(content: bytes, _: Gettext) -> Any:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise NotAWorkbook(
            _(N_("not an Excel workbook (.xlsx); an old .xls must be saved as .xlsx first"))
        ) from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_UNCOMPRESSED:
            raise NotAWorkbook(
                _(N_("the workbook expands to more than {mb} MB: split it")).format(
                    mb=MAX_UNCOMPRESSED // (1024 * 1024)
                )
            )
    try:
        return load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a broken or foreign zip
        raise NotAWorkbook(_(N_("not a readable Excel workbook (.xlsx)"))) from exc


def token(title: Any) -> str:
    """The API name in ``中文名 (name)``; a bare name is taken as it is."""
    text = "" if title is None else str(title).strip()
    match = _TOKEN.search(text)
    return match.group(1) if match else text


def _rows(ws: Any, sheet: str, out: ReadWorkbook, _: Gettext) -> Iterator[tuple[int, list[Any]]]:
    ws.reset_dimensions()  # never trust a sheet's declared size
    for number, row in enumerate(ws.iter_rows(max_col=MAX_COLUMNS + 1), start=1):
        if number > MAX_ROWS + 1:
            out.problems.append(
                Problem(
                    sheet,
                    number,
                    "",
                    _(N_("more than {n} rows: split the sheet")).format(n=MAX_ROWS),
                )
            )
            return
        yield number, list(row)


def _header_map(
    sheet: str,
    row: list[Any],
    allowed: list[LedgerField],
    secret: Iterable[str],
    out: ReadWorkbook,
    _: Gettext,
) -> dict[int, LedgerField]:
    by_name = {f.name: f for f in allowed}
    found: dict[int, LedgerField] = {}
    seen: set[str] = set()
    for col, cell in enumerate(row):
        if cell.value is None or not str(cell.value).strip():
            continue
        name = token(cell.value)
        if col >= MAX_COLUMNS:
            out.problems.append(
                Problem(sheet, 1, name, _(N_("more than {n} columns")).format(n=MAX_COLUMNS))
            )
            break
        if name in secret:
            out.problems.append(
                Problem(
                    sheet,
                    1,
                    name,
                    _(N_("PIN hashes, passwords and keys are never imported: delete the column")),
                )
            )
        elif name not in by_name:
            out.problems.append(
                Problem(
                    sheet,
                    1,
                    name,
                    _(N_("the column {header} is not a field of this sheet")).format(
                        header=cell.value
                    ),
                )
            )
        elif name in seen:
            out.problems.append(
                Problem(
                    sheet,
                    1,
                    name,
                    _(N_("the column {header} appears twice")).format(header=cell.value),
                )
            )
        else:
            seen.add(name)
            found[col] = by_name[name]
    return found


def _values(
    sheet: str,
    number: int,
    row: list[Any],
    cols: dict[int, LedgerField],
    out: ReadWorkbook,
    _: Gettext,
) -> dict[str, Any] | None:
    """The row's fields (dotted), or None for an empty row; problems are recorded."""
    values: dict[str, Any] = {}
    if all(c.value is None or (isinstance(c.value, str) and not c.value.strip()) for c in row):
        return None
    for col, f in cols.items():
        if col >= len(row):
            continue
        cell = row[col]
        if getattr(cell, "data_type", None) == "f":
            out.problems.append(
                Problem(
                    sheet,
                    number,
                    f.name,
                    _(N_("{label}: a formula is not read: type the value")).format(
                        label=_(f.label)
                    ),
                )
            )
            continue
        if f.derived:
            continue
        try:
            value = cells.from_cell(f, cell.value, _)
        except cells.CellError as exc:
            out.problems.append(
                Problem(
                    sheet,
                    number,
                    f.name,
                    _(N_("{label}: expected {what}, the cell holds “{cell}”")).format(
                        label=_(f.label), what=str(exc), cell=str(cell.value)[:60]
                    ),
                )
            )
            continue
        if value is not cells.MISSING:
            values[f.name] = value
    return values


def _item_id(
    sheet: str, number: int, column: LedgerField, raw: Any, _: Gettext
) -> tuple[str, Problem | None]:
    text = normalised("" if raw is None else cells._text(raw))
    problem = id_problem(text)
    if problem is None:
        return text, None
    return text, Problem(
        sheet,
        number,
        column.name,
        _("{label}: {problem}").format(label=_(column.label), problem=problem),
    )


def _read_kind(ws: Any, schema: KindSchema, out: ReadWorkbook, _: Gettext) -> dict[str, ReadItem]:
    sheet = ws.title
    items: dict[str, ReadItem] = {}
    cols: dict[int, LedgerField] = {}
    id_col = next(f for f in schema.fields if f.name == schema.id_field)
    for number, row in _rows(ws, sheet, out, _):
        if number == 1:
            cols = _header_map(sheet, row, columns(schema), schema.secret, out, _)
            given = {f.name for f in cols.values() if not f.derived}
            out.given.setdefault(schema.kind, set()).update(given)
            if schema.id_field not in given:
                out.problems.append(
                    Problem(
                        sheet,
                        1,
                        schema.id_field,
                        _(N_("the sheet has no column {header}")).format(header=header(id_col, _)),
                    )
                )
                return items
            continue
        values = _values(sheet, number, row, cols, out, _)
        if values is None:
            continue
        item_id, problem = _item_id(sheet, number, id_col, values.pop(schema.id_field, None), _)
        if problem is not None:
            out.problems.append(problem)
            continue
        if item_id in items:
            out.problems.append(
                Problem(
                    sheet,
                    number,
                    schema.id_field,
                    _(N_("{label} {id} is already on row {row}")).format(
                        label=_(id_col.label), id=item_id, row=items[item_id].row
                    ),
                )
            )
            continue
        data: dict[str, Any] = {}
        for name, value in values.items():
            cells.set_path(data, name, value)
        items[item_id] = ReadItem(schema.kind, item_id, data, sheet, number)
    return items


def _read_nested(
    ws: Any,
    schema: KindSchema,
    rows_field: LedgerField,
    parents: dict[str, ReadItem] | None,
    out: ReadWorkbook,
    _: Gettext,
) -> None:
    sheet = ws.title
    key = parent_field(schema)
    if parents is None:
        out.problems.append(
            Problem(
                sheet,
                1,
                "",
                _(N_("this sheet needs the sheet {parent} beside it")).format(
                    parent=sheet_title(schema, _)
                ),
            )
        )
        return
    out.given.setdefault(schema.kind, set()).add(rows_field.name)
    for item in parents.values():
        item.data[rows_field.name] = []
        item.nested_rows[rows_field.name] = []
    cols: dict[int, LedgerField] = {}
    for number, row in _rows(ws, sheet, out, _):
        if number == 1:
            cols = _header_map(sheet, row, [key, *rows_field.rows], (), out, _)
            if key.name not in {f.name for f in cols.values()}:
                out.problems.append(
                    Problem(
                        sheet,
                        1,
                        key.name,
                        _(N_("the sheet has no column {header}")).format(header=header(key, _)),
                    )
                )
                return
            continue
        values = _values(sheet, number, row, cols, out, _)
        if values is None:
            continue
        parent_id = normalised(cells._text(values.pop(key.name, "")))
        parent = parents.get(parent_id)
        if parent is None:
            out.problems.append(
                Problem(
                    sheet,
                    number,
                    key.name,
                    _(N_("{label} {id} is not on the sheet {parent}")).format(
                        label=_(key.label), id=parent_id or "-", parent=sheet_title(schema, _)
                    ),
                )
            )
            continue
        sub: dict[str, Any] = {}
        for name, value in values.items():
            cells.set_path(sub, name, value)
        parent.data[rows_field.name].append(sub)
        parent.nested_rows[rows_field.name].append((sheet, number))


def read_workbook(content: bytes, _: Gettext) -> ReadWorkbook:
    """Every item the workbook holds and every problem in it (nothing is stored)."""
    out = ReadWorkbook()
    try:
        wb = _open(content, _)
    except NotAWorkbook as exc:
        out.problems.append(Problem("", 0, "", str(exc)))
        return out
    try:
        if len(wb.sheetnames) > MAX_SHEETS:
            out.problems.append(
                Problem("", 0, "", _(N_("more than {n} sheets")).format(n=MAX_SHEETS))
            )
            return out
        kinds = {k.kind: k for k in CATALOGUE}
        nested = {n.sheet: (k, n) for k in CATALOGUE for n in k.nested}
        read: dict[str, dict[str, ReadItem]] = {}
        later = []
        for ws in wb.worksheets:
            name = token(ws.title)
            if name == CHOICES_SHEET:
                continue
            if name in kinds:
                if name in read:
                    out.problems.append(
                        Problem(ws.title, 1, "", _(N_("a second sheet of the same ledger")))
                    )
                    continue
                read[name] = _read_kind(ws, kinds[name], out, _)
            elif name in nested:
                later.append((ws, *nested[name]))
            else:
                out.problems.append(
                    Problem(
                        ws.title,
                        1,
                        "",
                        _(N_("the sheet {sheet} is not part of the ledger")).format(sheet=ws.title),
                    )
                )
        done: set[str] = set()
        for ws, schema, rows_field in later:
            if rows_field.sheet in done:
                out.problems.append(
                    Problem(ws.title, 1, "", _(N_("a second sheet of the same ledger")))
                )
                continue
            done.add(rows_field.sheet)
            _read_nested(ws, schema, rows_field, read.get(schema.kind), out, _)
        out.items = [item for by_id in read.values() for item in by_id.values()]
    finally:
        wb.close()
    return out

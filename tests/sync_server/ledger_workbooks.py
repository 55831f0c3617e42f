"""Workbooks made in the tests with openpyxl, headed as a person fills in the template:
``中文名 (field)`` (docs/server.md, "The ledger in Excel")."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

CONTRACTOR_HEADERS = [
    "编号 (id)",
    "名称 (name)",
    "统一社会信用代码 (uscc)",
    "合同编号 (contract_reference)",
    "合同生效日期 (contract_valid_from)",
    "合同到期日期 (contract_valid_until)",
    "列入黑名单日期 (blacklisted_on)",
    "列入黑名单原因 (blacklist_reason)",
]
PEOPLE_HEADERS = [
    "编号 (id)",
    "姓名 (name)",
    "用人单位 (employer.kind)",
    "用人单位编号（本企业或承包商） (employer.id)",
    "角色 (roles)",
]


def workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    """An .xlsx with one sheet per title, its rows as given (the header first)."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()

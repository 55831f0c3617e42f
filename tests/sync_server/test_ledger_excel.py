"""The ledger in Excel: the export's layout, the blank template, an import all or nothing
(dry run, 200, 422 with every error), re-importing an export changes nothing, and hostile
files refused by name. Workbooks are made here with openpyxl."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook

from permits.reference import hash_pin
from tests.sync_server.conftest import LEDGER_SPACE, World
from tests.sync_server.ledger_workbooks import CONTRACTOR_HEADERS, workbook

URL = "/api/v1/enterprises/ent-a/ledger.xlsx"
PIN_HASH = hash_pin("2468")

SPACE = {
    **LEDGER_SPACE,
    "isolation_points": [
        {
            "id": "I-1",
            "description": "糖蜜进料管",
            "kind": "blind_flange",
            "energy": "pipe",
            "hazardous_source": True,
        },
        {
            "id": "I-2",
            "description": "搅拌电机",
            "kind": "electrical_lockout",
            "energy": "electrical",
        },
    ],
    "required_ppe": ["breathing_apparatus", "harness"],
    "rescue_equipment": ["tripod", "担架两副；急救箱"],
    "profile": "cn-gongmao",
}
LEDGER: list[tuple[str, str, dict[str, Any]]] = [
    ("spaces", "T-1", SPACE),
    (
        "contractors",
        "C-1",
        {
            "name": "滇中清洗",
            "uscc": "91530102MA6K3XY09U",
            "contract_reference": "HT-2026-01",
            "contract_valid_from": "2026-01-01",
            "contract_valid_until": "2026-12-31",
            "blacklisted_on": "2026-06-01",
            "blacklist_reason": "违规进入",
        },
    ),
    (
        "people",
        "P-1",
        {
            "name": "李明",
            "employer": {"kind": "contractor", "id": "C-1"},
            "roles": ["entrant", "guardian"],
            "pin_hash": PIN_HASH,
            "training": [
                {
                    "topic": "confined_space",
                    "completed_on": "2026-01-05",
                    "valid_until": "2027-01-04",
                    "provider": "县安全培训中心",
                }
            ],
        },
    ),
    (
        "training",
        "TR-1",
        {"person_id": "P-1", "completed_on": "2026-02-01", "valid_until": "2027-01-31"},
    ),
    (
        "certificates",
        "CE-1",
        {
            "person_id": "P-1",
            "type": "hot_work",
            "number": "T530102-1",
            "issued_on": "2025-01-01",
            "expires_on": "2028-01-01",
        },
    ),
    (
        "detectors",
        "SN-1",
        {
            "model": "GT-4",
            "vendor": "",
            "protocol": "modbus-gt4",
            "channels": ["O2", "H2S", "CO", "LEL"],
            "calibration_due": "2027-03-01",
            "bump_tests": [
                {"at": "2026-11-30T00:00:00Z", "passed": True, "by": "王", "channels": []}
            ],
        },
    ),
    (
        "delegations",
        "D-1",
        {
            "delegator": "P-9",
            "delegate": "P-1",
            "space_ids": ["T-1"],
            "valid_from": "2026-11-01",
            "valid_until": "2026-12-31",
            "document_ref": "委托书 2026-11",
        },
    ),
    ("default-profile", "default", {"profile": "cn-gb30871-2022"}),
]


def _put_all(world: World) -> None:
    for kind, item_id, data in LEDGER:
        r = world.client.put(
            f"/api/v1/enterprises/ent-a/{kind}/{item_id}", json=data, headers=world.h("a-admin")
        )
        assert r.status_code == 201, r.text


def _post(world: World, content: bytes, dry_run: bool = False, who: str = "a-admin") -> Any:
    return world.client.post(
        URL + ("?dry_run=true" if dry_run else ""),
        files={"file": ("ledger.xlsx", content, "application/octet-stream")},
        headers=world.h(who),
    )


def _export(world: World, query: str = "") -> bytes:
    r = world.client.get(URL + query, headers=world.h("a-admin"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    content: bytes = r.content
    return content


def _history(world: World, kind: str, item_id: str) -> list[dict[str, Any]]:
    r = world.client.get(
        f"/api/v1/enterprises/ent-a/{kind}/{item_id}/history", headers=world.h("a-admin")
    )
    body: list[dict[str, Any]] = r.json()
    return body


def _headers(ws: Any) -> list[str]:
    return [c.value for c in ws[1] if c.value is not None]


def test_the_export_has_one_sheet_per_kind_with_chinese_and_api_names(world: World) -> None:
    _put_all(world)
    wb = load_workbook(io.BytesIO(_export(world)))
    for title in (
        "有限空间 (spaces)",
        "人员 (people)",
        "承包商 (contractors)",
        "气体检测仪 (detectors)",
        "隔离点 (isolation_points)",
        "冲击测试 (bump_tests)",
        "可选值 (choices)",
    ):
        assert title in wb.sheetnames
    people = wb["人员 (people)"]
    assert _headers(people)[:3] == ["编号 (id)", "姓名 (name)", "用人单位 (employer.kind)"]
    assert people["B2"].value == "李明" and people["C2"].value == "承包商"
    assert "标定到期日 (calibration_due)" in _headers(wb["气体检测仪 (detectors)"])
    iso = wb["隔离点 (isolation_points)"]
    assert _headers(iso)[:3] == ["有限空间编号 (space_id)", "隔离点编号 (id)", "说明 (description)"]
    assert [iso.cell(r, 4).value for r in (2, 3)] == ["盲板隔离", "断电上锁"]
    spaces = wb["有限空间 (spaces)"]
    col = _headers(spaces).index("有限空间类型 (type)") + 1
    assert spaces.cell(2, col).value == "密闭设备（罐、容器、筒仓）"
    # the type column offers the allowed values as a dropdown, from the values sheet
    dropdowns = [dv for dv in spaces.data_validations.dataValidation if "choices" in dv.formula1]
    assert any(str(dv.sqref).startswith(chr(64 + col)) for dv in dropdowns)
    calibration = wb["气体检测仪 (detectors)"]
    due = _headers(calibration).index("标定到期日 (calibration_due)") + 1
    assert calibration.cell(2, due).value.date() == date(2027, 3, 1)


def test_an_export_never_carries_a_pin_hash(world: World) -> None:
    _put_all(world)
    wb = load_workbook(io.BytesIO(_export(world)))
    text = " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row)
    assert "argon2" not in text and "pin_hash" not in text


def test_the_template_has_the_same_layout_and_no_rows(world: World) -> None:
    _put_all(world)
    full = load_workbook(io.BytesIO(_export(world)))
    blank = load_workbook(io.BytesIO(_export(world, "?template=true")))
    assert blank.sheetnames == full.sheetnames
    for title in blank.sheetnames:
        assert _headers(blank[title]) == _headers(full[title])
        if title != "可选值 (choices)":
            assert blank[title].max_row == 1, title


def test_re_importing_an_export_changes_nothing(world: World) -> None:
    _put_all(world)
    before = {(k, i): _history(world, k, i) for k, i, _d in LEDGER}
    r = _post(world, _export(world))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 0, len(LEDGER))
    assert body["errors"] == [] and body["changes"] == []
    assert {(k, i): _history(world, k, i) for k, i, _d in LEDGER} == before


_workbook = workbook

NEW_CONTRACTOR = [
    CONTRACTOR_HEADERS,
    [
        "C-9",
        "昆明管道疏通",
        "91530102MA6K3XY09U",
        "HT-9",
        date(2026, 1, 1),
        "2026/12/31",
        46000,
        "有限空间作业未审批",
    ],
]


def test_a_dry_run_previews_and_stores_nothing_then_the_import_applies(world: World) -> None:
    content = _workbook({"承包商 (contractors)": NEW_CONTRACTOR})
    preview = _post(world, content, dry_run=True)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["created"] == 1 and body["applied"] is False
    (change,) = body["changes"]
    assert change["action"] == "created" and change["row"] == 2
    shown = {f["field"]: f["after"] for f in change["fields"]}
    # an Excel serial date (46000) is a date
    assert shown["blacklisted_on"].startswith("2025-12-09")
    assert (
        world.client.get(
            "/api/v1/enterprises/ent-a/contractors/C-9", headers=world.h("a-admin")
        ).status_code
        == 404
    )
    applied = _post(world, content)
    assert applied.status_code == 200 and applied.json()["applied"] is True
    stored = world.client.get(
        "/api/v1/enterprises/ent-a/contractors/C-9", headers=world.h("a-admin")
    ).json()["data"]
    assert stored["contract_valid_until"] == "2026-12-31"
    assert stored["blacklisted_on"] == "2025-12-09"
    (version,) = _history(world, "contractors", "C-9")
    assert version["changed_by"] == "a-admin"
    again = _post(world, content).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 1)


def test_an_update_shows_the_changed_fields_old_and_new(world: World) -> None:
    _put_all(world)
    wb = load_workbook(io.BytesIO(_export(world)))
    ws = wb["承包商 (contractors)"]
    ws["H2"] = "冒险作业，已通报"
    out = io.BytesIO()
    wb.save(out)
    body = _post(world, out.getvalue(), dry_run=True).json()
    assert (body["created"], body["updated"]) == (0, 1)
    (change,) = body["changes"]
    assert change["fields"] == [
        {
            "field": "blacklist_reason",
            "label": "列入黑名单原因",
            "before": "违规进入",
            "after": "冒险作业，已通报",
        }
    ]


def test_every_wrong_row_is_named_and_nothing_is_stored(world: World) -> None:
    _put_all(world)
    content = _workbook(
        {
            "承包商 (contractors)": [
                NEW_CONTRACTOR[0],
                ["C-7", "甲", "123", "HT-7", "明天", "2026-12-31", None, None],
                ["C-8", "乙", "91530102MA6K3XY09U", "HT-8", "2026-01-01", "=TODAY()", None, None],
                ["C-8", "丙", "91530102MA6K3XY09U", "HT-8", "2026-01-01", "2026-12-31", None, None],
            ],
            "有限空间 (spaces)": [
                [
                    "编号 (id)",
                    "名称 (name)",
                    "有限空间类型 (type)",
                    "密码 (pin_hash)",
                    "颜色 (colour)",
                ],
                ["T-2", "新罐", "大罐", None, None],
            ],
            "隔离点 (isolation_points)": [
                [
                    "有限空间编号 (space_id)",
                    "隔离点编号 (id)",
                    "说明 (description)",
                    "隔离方式 (kind)",
                    "能量类型 (energy)",
                ],
                ["T-9", "I-1", "进料", "盲板隔离", "管道（物料或气体）"],
            ],
            "备注": [["随便写写"]],
        }
    )
    r = _post(world, content)
    assert r.status_code == 422
    body = r.json()
    assert body["applied"] is False
    got = {(e["sheet"], e["row"], e["column"]) for e in body["errors"]}
    assert {
        ("承包商 (contractors)", 2, "uscc"),
        ("承包商 (contractors)", 2, "contract_valid_from"),
        ("承包商 (contractors)", 3, "contract_valid_until"),  # a formula
        ("承包商 (contractors)", 4, "id"),  # C-8 twice
        ("有限空间 (spaces)", 1, "pin_hash"),
        ("有限空间 (spaces)", 1, "colour"),
        ("隔离点 (isolation_points)", 2, "space_id"),  # T-9 is not on the spaces sheet
        ("备注", 1, ""),
    } <= got, got
    messages = {
        (e["row"], e["column"]): e["message"]
        for e in body["errors"]
        if e["sheet"] == "承包商 (contractors)"
    }
    assert messages[(2, "contract_valid_from")] == (
        "合同生效日期：应为日期，如 2026-12-01，单元格里是“明天”"
    )
    assert "公式" in messages[(3, "contract_valid_until")]
    assert messages[(4, "id")] == "编号 C-8 已在第 3 行出现"
    # nothing stored: the stored contractor and its history are as they were
    assert (
        world.client.get(
            "/api/v1/enterprises/ent-a/contractors/C-7", headers=world.h("a-admin")
        ).status_code
        == 404
    )
    assert len(_history(world, "spaces", "T-1")) == 1


def test_the_core_names_each_wrong_field_at_its_row(world: World) -> None:
    _put_all(world)
    wb = load_workbook(io.BytesIO(_export(world)))
    iso = wb["隔离点 (isolation_points)"]
    iso["D3"] = "挂锁"  # not an isolation method
    spaces = wb["有限空间 (spaces)"]
    spaces["B2"] = None  # the name is required
    out = io.BytesIO()
    wb.save(out)
    r = _post(world, out.getvalue())
    assert r.status_code == 422
    got = {(e["sheet"], e["row"], e["column"]): e["message"] for e in r.json()["errors"]}
    assert got[("隔离点 (isolation_points)", 3, "kind")].startswith(
        "隔离点 第 2 行 隔离方式：应为以下之一：盲板隔离"
    )
    assert got[("有限空间 (spaces)", 2, "name")] == "名称：必填"


def test_an_import_cannot_set_a_pin_hash_and_keeps_the_stored_one(world: World) -> None:
    _put_all(world)
    wb = load_workbook(io.BytesIO(_export(world)))
    people = wb["人员 (people)"]
    people.cell(1, 20, "PIN (pin_hash)")
    people.cell(2, 20, hash_pin("1111"))
    out = io.BytesIO()
    wb.save(out)
    refused = _post(world, out.getvalue())
    assert refused.status_code == 422
    assert [e["column"] for e in refused.json()["errors"]] == ["pin_hash"]
    people.delete_cols(20)
    people["B2"] = "李明亮"
    out = io.BytesIO()
    wb.save(out)
    assert _post(world, out.getvalue()).status_code == 200
    stored = world.client.get(
        "/api/v1/enterprises/ent-a/people/P-1", headers=world.h("a-admin")
    ).json()["data"]
    assert stored["name"] == "李明亮" and stored["pin_hash"] == PIN_HASH


def test_a_column_left_out_keeps_the_stored_values(world: World) -> None:
    _put_all(world)
    content = _workbook(
        {"有限空间 (spaces)": [["编号 (id)", "名称 (name)"], ["T-1", "糖蜜罐 1号"]]}
    )
    body = _post(world, content).json()
    assert body["updated"] == 1
    assert [f["field"] for f in body["changes"][0]["fields"]] == ["name"]
    stored = world.client.get(
        "/api/v1/enterprises/ent-a/spaces/T-1", headers=world.h("a-admin")
    ).json()["data"]
    assert len(stored["isolation_points"]) == 2 and stored["profile"] == "cn-gongmao"


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"id,name\nT-1,tank\n", "不是 Excel 工作簿"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "不是 Excel 工作簿"),  # an old .xls
        (_zip({"hello.txt": b"hi"}), "无法读取"),
        (_zip({"xl/worksheets/sheet1.xml": b"\0" * (70 * 1024 * 1024)}), "MB"),  # a zip bomb
    ],
    ids=["csv", "xls", "foreign-zip", "zip-bomb"],
)
def test_a_file_that_is_no_workbook_is_refused_by_name(
    world: World, content: bytes, words: str
) -> None:
    r = _post(world, content)
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert error["row"] == 0 and words in error["message"]


def test_a_huge_sheet_is_refused(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from sync_server.services import ledger_workbook

    monkeypatch.setattr(ledger_workbook, "MAX_ROWS", 3)
    rows = [NEW_CONTRACTOR[0], *([None] * 0)]
    rows += [[f"C-{n}", *NEW_CONTRACTOR[1][1:]] for n in range(5)]
    r = _post(world, _workbook({"承包商 (contractors)": rows}))
    assert r.status_code == 422
    assert any("3" in e["message"] and e["row"] == 5 for e in r.json()["errors"])


def test_the_body_limit_applies(db_url: str) -> None:
    from tests.sync_server.conftest import operator_app

    with operator_app(db_url, max_batch_bytes=10_000) as (client, op):
        r = client.post(URL, files={"file": ("x.xlsx", b"\0" * 20_000)}, headers=op)
        assert r.status_code == 413


def test_only_the_enterprise_s_admin_imports(world: World) -> None:
    content = _workbook({"承包商 (contractors)": NEW_CONTRACTOR})
    assert _post(world, content, who="b-admin").status_code == 404
    assert _post(world, content, who="bureau").status_code == 403
    assert world.client.get(URL, headers=world.h("bureau")).status_code == 200
    assert world.client.get(URL, headers=world.h("b-admin")).status_code == 404


def test_text_that_looks_like_a_formula_is_exported_as_text(world: World) -> None:
    data = {**SPACE, "location": '=HYPERLINK("http://x")'}
    r = world.client.put(
        "/api/v1/enterprises/ent-a/spaces/T-1", json=data, headers=world.h("a-admin")
    )
    assert r.status_code == 201
    wb = load_workbook(io.BytesIO(_export(world)))
    spaces = wb["有限空间 (spaces)"]
    cell = spaces.cell(2, _headers(spaces).index("位置 (location)") + 1)
    assert cell.data_type == "s" and cell.value == data["location"]
    assert _post(world, _export(world)).json()["unchanged"] == 1


def test_a_bump_result_that_is_neither_passed_nor_failed_is_refused_not_read_as_failed() -> None:
    from sync_server.i18n import gettext_for
    from sync_server.services import ledger_catalogue
    from sync_server.services.ledger_cells import CellError, from_cell

    zh = gettext_for("zh_CN")
    bump = ledger_catalogue.kind_schema("detectors").field("bump_tests")
    assert bump is not None
    result = next(f for f in bump.rows if f.choices == "bump_results")
    assert from_cell(result, "合格", zh) is True and from_cell(result, "不合格", zh) is False
    for typed in ("通过", "是", "typo"):
        with pytest.raises(CellError, match="合格"):
            from_cell(result, typed, zh)


def test_a_second_override_of_one_base_profile_is_refused_at_its_row(world: World) -> None:
    """The store's rule (one override per base profile), judged by the same function on
    the ledger as the import would leave it."""
    body = {"base": "cn-gongmao", "override": {"test_max_age": {"minutes": 20}}}
    r = world.client.put(
        "/api/v1/enterprises/ent-a/profile-overrides/a", json=body, headers=world.h("a-admin")
    )
    assert r.is_success, r.text
    wb = load_workbook(io.BytesIO(_export(world)))
    (sheet,) = [ws for ws in wb.worksheets if ws.title.endswith("(profile-overrides)")]
    assert sheet.max_row == 2  # the header, then override a
    sheet.append(["b", *[c.value for c in sheet[2]][1:]])
    out = io.BytesIO()
    wb.save(out)
    refused = _post(world, out.getvalue())
    assert refused.status_code == 422, refused.text
    named = {
        (e["row"], e["column"]): e["message"]
        for e in refused.json()["errors"]
        if e["sheet"] == sheet.title
    }
    assert named == {  # each row of the sheet names the other
        (2, "base"): "企业已用 b 对 cn-gongmao 做了加严设置：请修改那一项",
        (3, "base"): "企业已用 a 对 cn-gongmao 做了加严设置：请修改那一项",
    }

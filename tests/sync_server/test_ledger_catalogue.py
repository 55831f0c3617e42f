"""The ledger catalogue: every field of the core's models named, every choice with a
Chinese name, and every invalid field of an item reported at once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import BaseModel

from permits.readings import Channel
from permits.reference import (
    Certificate,
    ConfinedSpace,
    Contractor,
    Delegation,
    Detector,
    IsolationKind,
    Person,
    Role,
    SpaceType,
    TrainingRecord,
)
from sync_server.i18n import gettext_for
from sync_server.services import ledger_catalogue as lc
from sync_server.services.reference import Kind
from tests.sync_server.conftest import LEDGER_SPACE, World

ZH = gettext_for("zh_CN")
HAN = re.compile(r"[\u4e00-\u9fff]")

MODELS: dict[str, type[BaseModel]] = {
    "spaces": ConfinedSpace,
    "people": Person,
    "training": TrainingRecord,
    "certificates": Certificate,
    "contractors": Contractor,
    "detectors": Detector,
    "delegations": Delegation,
}
# Filled in from the request's path, never typed by people.
FROM_PATH = {"enterprise_id"}


def _model_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every leaf field of a core model, dotted through nested objects; a list of models
    is one field (its rows are checked on their own)."""
    out: set[str] = set()
    for name, info in model.model_fields.items():
        nested = info.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            out |= _model_paths(nested, f"{prefix}{name}.")
        else:
            out.add(f"{prefix}{name}")
    return out


def _catalogue_paths(fields: tuple[lc.LedgerField, ...]) -> set[str]:
    return {f.name for f in fields if not f.derived}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_every_field_of_the_core_model_is_in_the_catalogue(kind: str) -> None:
    schema = lc.kind_schema(kind)
    core = _model_paths(MODELS[kind]) - FROM_PATH - set(schema.secret)
    listed = _catalogue_paths(schema.fields) - {"person_id"}
    if kind in ("training", "certificates"):
        listed -= {"id"}  # the item's own id; the core's record has none
    assert core == listed, f"{kind}: missing {core - listed}, unknown {listed - core}"
    for rows in schema.nested:
        (row_model,) = [
            a
            for a in getattr(MODELS[kind].model_fields[rows.name].annotation, "__args__", ())
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        assert _model_paths(row_model) == _catalogue_paths(rows.rows), rows.name


def test_every_kind_the_rules_read_has_a_schema() -> None:
    assert {k.kind for k in lc.CATALOGUE} == {k.value for k in Kind}


def test_closed_lists_take_every_code_of_the_core() -> None:
    codes = {name: {c.code for c in lc.choices(name)} for name in ("space_types", "gases")}
    assert codes["space_types"] == {s.value for s in SpaceType}
    assert codes["gases"] == {c.value for c in Channel}
    assert {c.code for c in lc.choices("isolation_methods")} == {k.value for k in IsolationKind}
    assert {c.code for c in lc.choices("roles")} == {r.value for r in Role}
    assert {c.code for c in lc.choices("employers")} == {"enterprise", "contractor"}


def _every_field() -> list[lc.LedgerField]:
    return [f for k in lc.CATALOGUE for f in lc.all_fields(k)]


def test_every_label_and_every_choice_has_a_chinese_name() -> None:
    untranslated = [
        text
        for text in [k.label for k in lc.CATALOGUE]
        + [f.label for f in _every_field()]
        + [c.label for f in _every_field() if f.choices for c in lc.choices(f.choices)]
        if not HAN.search(ZH(text))
    ]
    assert not untranslated, untranslated


def test_key_supervision_is_derived_as_the_core_derives_it() -> None:
    flag = lc.kind_schema("spaces").field("requires_principal_approval")
    assert flag is not None and flag.derived
    h2s = lc.derive("spaces", {**LEDGER_SPACE, "key_supervision": False})
    assert h2s == {"requires_principal_approval": True}
    quiet = {**LEDGER_SPACE, "hazards": ["engulfment"], "required_channels": ["O2", "LEL"]}
    assert lc.derive("spaces", quiet) == {"requires_principal_approval": False}
    assert lc.derive("spaces", {**quiet, "key_supervision": True}) == {
        "requires_principal_approval": True
    }


WRONG_SPACE: dict[str, Any] = {
    **LEDGER_SPACE,
    "name": "",
    "type": "tank",
    "required_channels": ["O2", "XX"],
    "isolation_points": [
        {"id": "I-1", "description": "inlet", "kind": "blind_flange", "energy": "pipe"},
        {"id": "I-2", "description": "agitator", "kind": "padlock", "energy": "electrical"},
    ],
    "warning_sign_present": "perhaps",
    "requires_principal_approval": False,
}


def test_validate_all_names_every_wrong_field_in_chinese() -> None:
    errors = lc.validate_all("spaces", "T-1", WRONG_SPACE, "ent-a", ZH)
    by_field = {e.field: e for e in errors}
    assert set(by_field) == {
        "name",
        "type",
        "required_channels.1",
        "isolation_points.1.kind",
        "warning_sign_present",
        "requires_principal_approval",
    }
    assert by_field["name"].message == "名称：不能为空"
    assert by_field["type"].message.startswith("有限空间类型：应为以下之一：密闭设备")
    assert by_field["isolation_points.1.kind"].label == "隔离点 第 2 行 隔离方式"
    assert "盲板隔离" in by_field["isolation_points.1.kind"].message
    assert by_field["required_channels.1"].label == "应检测气体 第 2 项"
    assert "由系统推定" in by_field["requires_principal_approval"].message
    assert all(HAN.search(e.message) for e in errors)


def test_validate_all_accepts_a_valid_item_and_reports_the_missing_person() -> None:
    assert lc.validate_all("spaces", "T-1", LEDGER_SPACE, "ent-a") == []
    errors = lc.validate_all(
        "training", "TR-1", {"completed_on": "2026-13-01", "valid_until": "2026-01-01"}, "ent-a", ZH
    )
    assert [(e.field, e.code) for e in errors] == [
        ("person_id", "missing"),
        ("completed_on", "date_from_datetime_parsing"),
    ]
    backwards = lc.validate_all(
        "delegations",
        "D-1",
        {
            "delegator": "p-1",
            "delegate": "p-1",
            "valid_from": "2026-12-01",
            "valid_until": "2026-12-31",
        },
        "ent-a",
        ZH,
    )
    assert [e.message for e in backwards] == ["书面委托：主要负责人不能委托给自己"]


def test_a_detector_keeps_its_calibration_date_and_it_cannot_follow_the_due_date() -> None:
    detector = {
        "model": "GT-4",
        "protocol": "gasl",
        "channels": ["O2", "H2S"],
        "calibrated_on": "2026-03-01",
        "calibration_due": "2027-03-01",
    }
    assert lc.validate_all("detectors", "D-1", detector, "ent-a", ZH) == []
    late = {**detector, "calibrated_on": "2027-04-01"}
    errors = lc.validate_all("detectors", "D-1", late, "ent-a", ZH)
    assert [e.message for e in errors] == ["气体检测仪：校准到期日早于校准日期"], errors
    fields = [f.name for f in lc.kind_schema("detectors").fields]
    assert fields.index("calibrated_on") + 1 == fields.index("calibration_due")


def test_validate_all_in_english() -> None:
    (error,) = lc.validate_all("contractors", "C-1", _contractor(uscc="123"), "ent-a", lambda s: s)
    assert error.field == "uscc" and error.message.startswith("unified social credit code: ")


def _contractor(**changes: Any) -> dict[str, Any]:
    return {
        "name": "滇中清洗",
        "uscc": "91530102MA6K3XY09U",
        "contract_reference": "HT-2026-01",
        "contract_valid_from": "2026-01-01",
        "contract_valid_until": "2026-12-31",
        **changes,
    }


def test_a_refused_put_lists_every_error_and_stores_nothing(world: World) -> None:
    c, h = world.client, world.h("a-admin")
    url = "/api/v1/enterprises/ent-a/spaces/T-1"
    r = c.put(url, json=WRONG_SPACE, headers=h)
    assert r.status_code == 422
    error = r.json()["error"]
    # the first error's shape is kept for existing clients
    assert error["field"] == "name" and error["code"] == "VALIDATION_ERROR"
    assert {e["field"] for e in error["errors"]} >= {"name", "type", "isolation_points.1.kind"}
    assert c.get(url, headers=h).status_code == 404


def test_the_catalogue_is_served(world: World) -> None:
    r = world.client.get("/api/v1/ledger-schema", headers=world.h("a-admin"))
    assert r.status_code == 200
    body = r.json()
    spaces = next(k for k in body["kinds"] if k["kind"] == "spaces")
    iso = next(f for f in spaces["fields"] if f["name"] == "isolation_points")
    assert iso["type"] == "nested-rows" and iso["sheet"] == "isolation_points"
    assert {c["code"] for c in body["choices"]["isolation_methods"]} == {
        k.value for k in IsolationKind
    }
    assert world.client.get("/api/v1/ledger-schema").status_code == 401
    put = world.client.get("/openapi.json").json()["paths"][
        "/api/v1/enterprises/{enterprise_id}/{kind}/{item_id}"
    ]["put"]
    assert "ledger-schema" in put["requestBody"]["content"]["application/json"]["schema"].get(
        "description", ""
    ) + put.get("description", "")


def test_a_code_the_ledger_offers_reads_the_same_on_every_page() -> None:
    """One owner of a code's words (sync_server/labels.py): what the forms and Excel
    offer is what the trace, the public page and the card say."""
    from sync_server import labels

    zh = gettext_for("zh_CN")
    tables = {
        "hazards": labels.HAZARD_FACTORS,
        "ppe": labels.EQUIPMENT,
        "rescue": labels.EQUIPMENT,
        "roles": labels.ROLES,
        "topics": labels.TOPICS,
        "certificate_types": labels.CERTIFICATE_TYPES,
    }
    for name, table in tables.items():
        for choice in lc.choices(name):
            assert choice.code in table, (name, choice.code)
            assert zh(choice.label) == labels.label(table, choice.code, zh), (name, choice.code)
    assert labels.space_terms(["H2S", "safety_helmet", "own-code"], zh) == [
        zh(labels.HAZARD_FACTORS["H2S"]),
        zh(labels.EQUIPMENT["safety_helmet"]),
        "own-code",
    ]


def test_no_two_codes_a_list_offers_read_the_same() -> None:
    """A person picks a word (a form's dropdown, an Excel cell): two codes with one word
    would read back as either, and only one of them reaches its rule (the hot-work rule
    reads the certificate type ``hot_work``; ``welding_hot_cutting`` read the same)."""
    zh = gettext_for("zh_CN")
    from sync_server.services.ledger_choices import CHOICES

    for name in [*CHOICES, "profiles"]:
        words = [zh(c.label) for c in lc.choices(name)]
        assert len(words) == len(set(words)), (name, sorted(w for w in words if words.count(w) > 1))


def test_the_replays_own_flags_read_as_what_they_are_not_as_a_broken_rule() -> None:
    """A typed-in reading, a verdict the tablet got wrong and missed monitoring are
    flagged by the core's replay (permits.replay); each has its own words."""
    from permits.replay import MANUAL_ATMOSPHERE_ENTRY, RECORDED_VERDICT_DIFFERS
    from sync_server import labels

    zh = gettext_for("zh_CN")
    broken = labels.anomaly("RULE_VIOLATION", zh)
    codes = (MANUAL_ATMOSPHERE_ENTRY, RECORDED_VERDICT_DIFFERS, "MONITORING_REQUIRED_OVERDUE")
    words = [labels.anomaly(c, zh) for c in codes]
    assert broken not in words and len(set(words)) == 3, words
    assert all(not c.isascii() for w in words for c in w[:1]), words  # Chinese, not the code

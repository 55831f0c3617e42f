"""The ledger forms' pure half (``sync_server.services.ledger_forms``): a posted form
becomes the item's JSON, and a stored item shown in its form and posted back unchanged
is the same item (every kind of the catalogue, the demo's ledger and the e2e shapes)."""

from __future__ import annotations

from typing import Any

import pytest

from cspermit.demo.seed import DEMO_SPACES
from permits.reference import EmergencyDrill, TopicTraining
from sync_server import domain
from sync_server.i18n import gettext_for
from sync_server.services import ledger_catalogue as catalogue
from sync_server.services import ledger_changes, ledger_yearly
from sync_server.services import ledger_forms as forms
from sync_server.services.ledger_forms import Form, State
from tests.e2e.harness import contractor, person, space
from tests.sync_server.conftest import World


def posted(state: State) -> Form:
    """What a browser posts for a form showing ``state`` (ticked boxes post "1")."""
    items: list[tuple[str, str]] = []
    for key, value in state.values.items():
        if isinstance(value, list):
            items += [(key, v) for v in value]
        elif value is True:
            items.append((key, "1"))
        elif value is not False:
            items.append((key, str(value)))
    return Form(items)


ITEMS: list[tuple[str, dict[str, Any]]] = [
    *[("spaces", {k: v for k, v in s.items() if k != "id"}) for s in DEMO_SPACES["ent-a"]],
    ("spaces", space("E-S1", profile="cn-gongmao", oxygen_enriched=True)),
    ("people", {k: v for k, v in person("王五", roles=["entrant"]).items() if k != "pin_hash"}),
    (
        "people",
        {
            **{k: v for k, v in person("李四", contractor="CON-1").items() if k != "pin_hash"},
            "certificates": [
                {
                    "type": "hot_work",
                    "number": "T123",
                    "issued_on": "2025-01-01",
                    "expires_on": "2031-01-01",
                }
            ],
        },
    ),
    ("contractors", contractor("华鑫", blacklisted_on="2026-11-01", blacklist_reason="事故")),
    (
        "detectors",
        {
            "model": "GT-4",
            "vendor": "某厂",
            "protocol": "modbus-gt4",
            "channels": ["O2", "H2S"],
            "calibration_due": "2027-03-01",
            "bump_tests": [
                {"at": "2026-11-30T01:30:00Z", "passed": True, "by": "张三", "channels": ["O2"]},
                {"at": "2026-11-29T09:00:00+08:00", "passed": False, "by": None, "channels": []},
            ],
        },
    ),
    (
        "delegations",
        {
            "delegator": "a-p-zhao",
            "delegate": "a-p-qian",
            "space_ids": ["A-P1"],
            "valid_from": "2026-01-01",
            "valid_until": "2026-12-31",
            "document_ref": "授权委托书 2026-01",
        },
    ),
    (
        "training",
        {"person_id": "a-p-li", "completed_on": "2026-01-01", "valid_until": "2026-12-31"},
    ),
    ("default-profile", {"profile": "cn-gongmao"}),
]


@pytest.mark.parametrize(
    ("kind", "data"), ITEMS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(ITEMS)]
)
def test_a_stored_item_posted_back_from_its_form_is_the_same_item(
    kind: str, data: dict[str, Any]
) -> None:
    item_id = "default" if kind == "default-profile" else "X1"
    stored = domain.validate_reference(kind, item_id, data, "ent-a")
    form = forms.state_of_item(kind, stored)
    for name in form.rows:
        form.with_blank_row(name)  # the spare row the form always offers stays empty
    again = forms.parse(kind, posted(form), "ent-a")
    assert again.unread == {}
    data = forms.keep_unchanged_times(kind, again.data, stored)
    assert domain.validate_reference(kind, item_id, data, "ent-a") == stored


def test_rows_left_blank_or_removed_are_dropped_and_nested_fields_are_objects() -> None:
    form = Form(
        [
            ("employer.kind", "contractor"),
            ("employer.id", "CON-1"),
            ("training.0.topic", ""),
            ("training.0.completed_on", ""),
            ("training.3.topic", "confined_space"),
            ("training.3.completed_on", "2026-01-01"),
            ("training.3.valid_until", "2026-12-31"),
            ("training.7.completed_on", "2020-01-01"),
            ("training.7._remove", "1"),
            ("roles", "guardian"),
            ("roles", "entrant"),
        ]
    )
    data = forms.parse("people", form, "ent-a").data
    assert data["employer"] == {"kind": "contractor", "id": "CON-1"}
    assert data["training"] == [
        {"topic": "confined_space", "completed_on": "2026-01-01", "valid_until": "2026-12-31"}
    ]
    assert data["roles"] == ["guardian", "entrant"]
    assert data["certificates"] == []
    assert "name" not in data  # empty: left for the catalogue to name as required


def test_the_enterprises_own_people_are_employed_by_the_enterprise() -> None:
    form = Form([("employer.kind", "enterprise"), ("employer.id", "CON-1")])
    assert forms.parse("people", form, "ent-a").data["employer"] == {
        "kind": "enterprise",
        "id": "ent-a",
    }


def test_a_bump_test_time_entered_without_offset_is_beijing_time_and_the_result_a_boolean() -> None:
    form = Form(
        [
            ("bump_tests.0.at", "2026-12-01T08:30"),
            ("bump_tests.0.passed", "false"),
            ("bump_tests.1.at", "not a time"),
            ("bump_tests.1.passed", "true"),
        ]
    )
    rows = forms.parse("detectors", form, "ent-a").data["bump_tests"]
    assert rows[0]["at"] == "2026-12-01T08:30:00+08:00" and rows[0]["passed"] is False
    assert rows[1]["at"] == "not a time" and rows[1]["passed"] is True  # the core judges it
    shown = forms.state_of_item("detectors", {"bump_tests": [{"at": "2026-12-01T00:30:00Z"}]})
    assert shown.value("bump_tests.0.at") == "2026-12-01T08:30"


def test_an_open_list_takes_values_of_its_own_beside_the_ticked_ones() -> None:
    form = Form(
        [
            ("required_ppe", "harness"),
            ("required_ppe._other", "防化服\n\n  harness  "),
            ("hazards._other", "噪声"),
        ]
    )
    data = forms.parse("spaces", form, "ent-a").data
    assert data["required_ppe"] == ["harness", "防化服"]
    assert data["hazards"] == ["噪声"]
    state = forms.state_of_item("spaces", data)
    assert state.ticked("required_ppe", "harness")
    assert state.value("required_ppe._other") == "防化服"
    # An open single choice (a certificate type the list does not know) the same way.
    cert = forms.parse("certificates", Form([("type._other", "forklift")]), "ent-a").data
    assert cert["type"] == "forklift"
    assert forms.state_of_item("certificates", cert).value("type._other") == "forklift"


def test_json_that_does_not_parse_is_kept_as_typed_and_reported() -> None:
    parsed = forms.parse("profile-overrides", Form([("override", "{not json")]), "ent-a")
    assert parsed.unread == {"override": "{not json"}
    assert "override" not in parsed.data
    state = forms.state_of_item("profile-overrides", parsed.data, parsed.unread)
    assert state.value("override") == "{not json"


def test_every_error_of_the_catalogue_lands_on_its_input() -> None:
    form = Form(
        [
            ("name", "罐"),
            ("type", "tank"),
            ("required_channels", "XX"),
            ("isolation_points.0.id", "V1"),
            ("isolation_points.0.kind", "bad"),
        ]
    )
    parsed = forms.parse("spaces", form, "ent-a")
    state = forms.state_of_item("spaces", parsed.data)
    errors = catalogue.validate_all("spaces", "S1", parsed.data, "ent-a")
    keys = {forms.form_key(e.field, state.known()) for e in errors}
    assert {
        "location",
        "type",
        "required_channels",
        "sample_points",
        "isolation_points.0.kind",
        "isolation_points.0.description",
        "isolation_points.0.energy",
    } <= keys
    assert "" not in keys
    assert forms.input_id("isolation_points.0.kind") == "f-isolation_points-0-kind"


def test_the_history_names_each_change_in_words() -> None:
    before = domain.validate_reference("spaces", "S1", space("S1"), "ent-a")
    after = {
        **before,
        "location": "west yard",
        "isolation_points": [
            {
                "id": "V1",
                "description": "inlet",
                "kind": "closed_valve",
                "energy": "pipe",
                "hazardous_source": False,
            }
        ],
        "warning_sign_present": False,
    }
    zh = gettext_for("zh_CN")
    changes = ledger_changes.changes("spaces", before, after, zh)
    by_label = {c.label: (c.before, c.after) for c in changes}
    assert by_label["位置"] == ("east yard", "west yard")
    assert by_label["已设置安全警示标志"] == ("是", "否")
    assert any("隔离方式" in c.label and c.after == "关闭阀门" for c in changes), changes


def test_the_history_names_people_and_spaces_only_where_a_field_refers_to_them() -> None:
    names = {"a-p-qian": "钱审批", "S1": "1号罐"}
    before = {"delegator": "a-p-zhao", "delegate": "a-p-li", "document_ref": "S1"}
    after = {**before, "delegate": "a-p-qian", "space_ids": ["S1"], "document_ref": "S1 v2"}
    changes = ledger_changes.changes("delegations", before, after, gettext_for("zh_CN"), names)
    assert [(c.before, c.after) for c in changes] == [
        ("a-p-li", "钱审批"),
        ("", "1号罐"),
        ("S1", "S1 v2"),  # free text that happens to equal an id stays as written
    ]


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (
            "drills",
            {
                "held_on": "2026-06-01",
                "scenario": "硫化氢中毒救援",
                "space_ids": ["A-P1"],
                "participants": ["a-p-li", "a-p-sun"],
                "evaluation": "良好",
            },
        ),
        ("topic-trainings", {"held_on": "2026-03-01", "topic": "gas_detection", "trainer": "王"}),
    ],
)
def test_a_drill_or_topic_training_posted_back_from_its_form_is_the_same(
    kind: str, data: dict[str, Any]
) -> None:
    zh = gettext_for("zh_CN")
    assert ledger_yearly.validate_all(kind, "D1", data, "ent-a", zh) == []
    again = forms.parse(kind, posted(forms.state_of_item(kind, data)), "ent-a").data
    model = {"drills": EmergencyDrill, "topic-trainings": TopicTraining}[kind]
    ids = {"id": "D1", "enterprise_id": "ent-a"}
    assert model.model_validate({**again, **ids}) == model.model_validate({**data, **ids})
    # The participants are ticked from the enterprise's people, not typed.
    participants = forms.schema(kind).field("participants")
    assert participants is not None and forms.widget(kind, participants) == "people"


def test_a_drill_without_its_date_or_scenario_is_refused_naming_both() -> None:
    errors = ledger_yearly.validate_all("drills", "D1", {}, "ent-a", gettext_for("zh_CN"))
    assert sorted(e.message for e in errors) == ["举行日期：必填", "演练情景：必填"]


def test_a_drill_entered_before_the_forms_has_a_history_of_one_version(world: World) -> None:
    """A drill written into the enterprise record through the API (or the demo's seed)
    has no audit entry: its history page shows it as it is, not a 404."""
    from tests.sync_server.test_ledger_cross_check import _signed_in_page

    drill = {
        "id": "D-OLD",
        "enterprise_id": "ent-a",
        "held_on": "2026-06-01",
        "scenario": "硫化氢中毒救援",
    }
    r = world.client.patch(
        "/api/v1/enterprises/ent-a",
        json={"details": {"drills": [drill]}},
        headers=world.h("a-admin"),
    )
    assert r.status_code == 200, r.text
    page = _signed_in_page(world, "/web/enterprises/ent-a/ledger/drills/D-OLD/history", "bureau")
    assert "硫化氢中毒救援" in page


def test_deleting_a_drill_that_is_not_there_is_refused_in_chinese(world: World) -> None:
    from tests.web.conftest import sign_in

    csrf = sign_in(world.client, "a-admin", "a-admin-pass")
    r = world.client.post("/web/enterprises/ent-a/ledger/drills/D-NONE/delete", data={"csrf": csrf})
    assert r.status_code == 404
    assert "未找到" in r.text and "not found" not in r.text


def test_two_admins_saving_drills_at_once_keep_every_drill(world: World, app: Any) -> None:
    """The drills live in one list in the enterprise's record: each save reads, changes
    and writes it back. Two admins saving at once must not write over each other's
    drill (services.enterprises.lock holds the row for the read-change-write)."""
    import threading

    from sync_server.security import Principal, Role

    admin = Principal(Role.ENTERPRISE_ADMIN, "acc-a", "a-admin", enterprise_id="ent-a")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def save_many(prefix: str) -> None:
        barrier.wait()
        try:
            for i in range(15):
                data = {"held_on": "2026-06-01", "scenario": f"{prefix} {i}"}
                with app.state.engine.begin() as conn:
                    ledger_yearly.save(conn, admin, "ent-a", "drills", f"{prefix}-{i}", data)
        except BaseException as exc:  # a thread's failure is the test's
            errors.append(exc)

    threads = [threading.Thread(target=save_many, args=(p,)) for p in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with app.state.engine.connect() as conn:
        ids = {r["id"] for r in ledger_yearly.items(conn, "ent-a", "drills")}
    assert ids == {f"{p}-{i}" for p in "AB" for i in range(15)}


def test_enterprise_details_with_drills_no_model_reads_are_refused_and_break_no_page(
    world: World, app: Any
) -> None:
    """The drills and topic trainings are also in the details a PATCH writes whole: a
    value the core's models cannot read is a 422 naming the field, nothing stored; and
    one stored before this check breaks no ledger page for anyone."""
    import sqlalchemy as sa

    from sync_server.schema import enterprises
    from tests.sync_server.test_ledger_cross_check import _signed_in_page

    for bad, field in (
        ({"drills": 5}, "details.drills"),
        ({"topic_trainings": [{"id": "T1"}]}, "details.topic_trainings[0]"),
        ({"drills": ["not a record"]}, "details.drills[0]"),
    ):
        r = world.client.patch(
            "/api/v1/enterprises/ent-a", json={"details": bad}, headers=world.h("a-admin")
        )
        assert r.status_code == 422 and r.json()["error"]["field"] == field, r.text
        # In words, as the forms say it: not pydantic's English summary.
        assert "validation error" not in r.json()["error"]["message"], r.text
    with app.state.engine.begin() as conn:
        conn.execute(
            sa.update(enterprises)
            .where(enterprises.c.enterprise_id == "ent-a")
            .values(data={"drills": 5, "topic_trainings": "x"})
        )
    _signed_in_page(world, "/web/", "bureau")
    for path in ("/web/enterprises/ent-a/ledger/drills", "/web/enterprises/ent-a"):
        assert world.client.get(path).status_code == 200, path

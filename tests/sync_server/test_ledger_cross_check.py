"""The ledger's history, and the server's cross-check of what a tablet believed: each
snapshot compared with the ledger as it stood at the event's time (docs/server.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from permits.events import (
    DetectorIdentity,
    MonitoringStarted,
    PersonSnapshot,
    Role,
    RoleAssigned,
)
from tests.sync_server.chains import Tablet, drafted, enroll_tablet
from tests.sync_server.conftest import LEDGER_SPACE, World, person

TODAY = datetime.now(UTC).date()
CONTRACTOR: dict[str, Any] = {
    "name": "昆明清洁服务公司 cleaning contractor",
    "uscc": "91530102MA6K3XY09U",
    "contract_reference": "HT-2026-07",
    "contract_valid_from": (TODAY - timedelta(days=100)).isoformat(),
    "contract_valid_until": (TODAY + timedelta(days=100)).isoformat(),
}
WORKER: dict[str, Any] = {
    "name": "李强",
    "employer": {"kind": "contractor", "id": "c-clean"},
    "roles": ["entrant"],
    "training": [
        {
            "completed_on": (TODAY - timedelta(days=30)).isoformat(),
            "valid_until": (TODAY + timedelta(days=300)).isoformat(),
        }
    ],
}
DETECTOR: dict[str, Any] = {
    "model": "GasAlert Quattro",
    "protocol": "gasl",
    "channels": ["O2", "H2S", "LEL", "CO"],
    "calibration_due": (TODAY + timedelta(days=60)).isoformat(),
}


# A space whose only poisoning risk is in the ledger's hazards (no H2S or CO channel, no
# flag), and the tablet's snapshot of it from a copy that did not list the hazard yet.
H2S_PIT: dict[str, Any] = {**LEDGER_SPACE, "required_channels": ["O2", "LEL"], "hazards": ["H2S"]}


def drafted_without_the_hazard(enterprise_id: str) -> Any:
    """Drafted by a current tablet (it says how old its ledger copy is) on a copy that
    listed no hazard for the space."""
    event = drafted(enterprise_id)
    space = event.space.model_copy(update={"required_channels": ("O2", "LEL")})
    pulled = datetime.now(UTC) - timedelta(days=3)
    return event.model_copy(update={"space": space, "ledger_as_of": pulled})


def put(world: World, kind: str, item_id: str, data: dict[str, Any]) -> Any:
    r = world.client.put(
        f"/api/v1/enterprises/ent-a/{kind}/{item_id}", json=data, headers=world.h("a-admin")
    )
    assert r.status_code in (200, 201), r.text
    return r.json()


def push(world: World, tablet: Tablet, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    r = world.client.post("/api/v1/sync/events", json={"events": events}, headers=tablet.headers)
    assert r.status_code == 200, r.text
    results: list[dict[str, Any]] = r.json()["results"]
    assert {x["status"] for x in results} == {"accepted"}, results
    return results


def contractor_ledger(world: World) -> None:
    """The flagged tank, the cleaning contractor under contract and its worker."""
    put(world, "spaces", "T-1", {**LEDGER_SPACE, "key_supervision": True})
    put(world, "contractors", "c-clean", CONTRACTOR)
    put(world, "people", "p-worker", WORKER)


def worker_as_tablet_had_it() -> PersonSnapshot:
    return PersonSnapshot(
        person_id="p-worker",
        name="李强",
        employer_id="c-clean",
        contractor_id="c-clean",
        contractor_blacklisted=False,
        training_valid_until=TODAY + timedelta(days=300),
    )


def test_history_keeps_every_version_with_who_and_when(world: World, app: Any) -> None:
    from sync_server.services import ledger_history

    put(world, "contractors", "c-clean", CONTRACTOR)
    between = datetime.now(UTC)
    put(world, "contractors", "c-clean", {**CONTRACTOR, "blacklisted_on": TODAY.isoformat()})
    r = world.client.delete(
        "/api/v1/enterprises/ent-a/contractors/c-clean", headers=world.h("a-admin")
    )
    assert r.status_code == 204
    with app.state.engine.connect() as conn:
        versions = ledger_history.history(conn, "ent-a", "contractors", "c-clean")
        assert [v["version"] for v in versions] == [1, 2, 3]
        assert {v["changed_by"] for v in versions} == {"a-admin"}
        assert versions[2]["deleted"] and versions[2]["data"] is None
        then = ledger_history.as_of(conn, "ent-a", "contractors", "c-clean", between)
        assert then is not None and then.get("blacklisted_on") is None
        assert (
            ledger_history.as_of(conn, "ent-a", "contractors", "c-clean", datetime.now(UTC)) is None
        )
        assert (
            ledger_history.as_of(
                conn, "ent-a", "contractors", "c-clean", between - timedelta(hours=1)
            )
            is None
        )


def test_a_blacklisted_contractor_the_tablet_did_not_know_of_is_a_finding(
    world: World,
) -> None:
    contractor_ledger(world)
    # Blacklisted on the server while the tablet was offline with its old copy.
    put(
        world,
        "contractors",
        "c-clean",
        {
            **CONTRACTOR,
            "blacklisted_on": TODAY.isoformat(),
            "blacklist_reason": "安全事故 accident",
        },
    )
    tablet = enroll_tablet(world.client, world.h("a-admin"))
    now = datetime.now(UTC)
    space_event = drafted(tablet.enterprise_id)
    space_event = space_event.model_copy(
        update={"space": space_event.space.model_copy(update={"key_supervision": True})}
    )
    events = [
        tablet.event("P-LB", space_event, at=now),
        tablet.event(
            "P-LB",
            RoleAssigned(role=Role.ENTRANT, person=worker_as_tablet_had_it()),
            at=now + timedelta(seconds=1),
        ),
    ]
    push(world, tablet, events)
    trace = world.client.get("/api/v1/permits/P-LB", headers=world.h("a-admin")).json()
    codes = {f["code"] for f in trace["findings"]}
    assert "LEDGER_MISMATCH_CONTRACTOR" in codes
    assert "PERSON_CONTRACTOR_BLACKLISTED" in codes
    mismatch = next(f for f in trace["findings"] if f["code"] == "LEDGER_MISMATCH_CONTRACTOR")
    assert mismatch["seq"] == 2
    assert mismatch["facts"]["fields"] == [
        {"field": "contractor_blacklisted", "recorded": False, "ledger": True}
    ]
    assert "LEDGER_MISMATCH_CONTRACTOR" in trace["permit"]["anomalies"]
    hazard = next(h for h in trace["hazards"] if h["rule_code"] == "PERSON_CONTRACTOR_BLACKLISTED")
    assert hazard["source"] == "automatic"
    # Searchable like the other anomalies.
    found = world.client.get(
        "/api/v1/permits",
        params={"anomaly": "LEDGER_MISMATCH_CONTRACTOR"},
        headers=world.h("a-admin"),
    ).json()
    assert [p["permit_id"] for p in found["items"]] == ["P-LB"]


def test_a_snapshot_that_matches_the_ledger_adds_nothing(world: World) -> None:
    contractor_ledger(world)
    tablet = enroll_tablet(world.client, world.h("a-admin"))
    now = datetime.now(UTC)
    space_event = drafted(tablet.enterprise_id)
    space_event = space_event.model_copy(
        update={"space": space_event.space.model_copy(update={"key_supervision": True})}
    )
    push(
        world,
        tablet,
        [
            tablet.event("P-OK", space_event, at=now),
            tablet.event(
                "P-OK",
                RoleAssigned(role=Role.ENTRANT, person=worker_as_tablet_had_it()),
                at=now + timedelta(seconds=1),
            ),
        ],
    )
    trace = world.client.get("/api/v1/permits/P-OK", headers=world.h("a-admin")).json()
    assert not [f for f in trace["findings"] if f["code"].startswith("LEDGER_")]
    assert trace["hazards"] == []


def test_a_lapsed_calibration_and_an_unflagged_poisoning_space(world: World) -> None:
    # The ledger's space has H2S: the principal must approve (derived, not the raw flag).
    put(world, "spaces", "T-1", H2S_PIT)
    put(
        world,
        "detectors",
        "D-1",
        {**DETECTOR, "calibration_due": (TODAY - timedelta(days=1)).isoformat()},
    )
    tablet = enroll_tablet(world.client, world.h("a-admin"))
    now = datetime.now(UTC)
    push(
        world,
        tablet,
        [
            tablet.event("P-DET", drafted_without_the_hazard(tablet.enterprise_id), at=now),
            tablet.event(
                "P-DET",
                MonitoringStarted(
                    detector=DetectorIdentity(
                        serial="D-1",
                        model="GasAlert Quattro",
                        calibration_due=TODAY + timedelta(days=30),
                    ),
                    channels=("O2", "H2S"),
                ),
                at=now + timedelta(seconds=1),
            ),
        ],
    )
    trace = world.client.get("/api/v1/permits/P-DET", headers=world.h("a-admin")).json()
    by_code = {f["code"]: f for f in trace["findings"]}
    assert by_code["LEDGER_MISMATCH_APPROVAL_AUTHORITY"]["facts"]["fields"] == [
        {"field": "requires_principal_approval", "recorded": False, "ledger": True}
    ]
    assert by_code["LEDGER_MISMATCH_SPACE_HAZARDS"]["facts"]["fields"] == [
        {"field": "hazards", "recorded": [], "ledger": ["H2S"]}
    ]
    calibration = by_code["LEDGER_MISMATCH_DETECTOR_CALIBRATION"]["facts"]["fields"][0]
    assert calibration["ledger"] == (TODAY - timedelta(days=1)).isoformat()
    assert date.fromisoformat(calibration["recorded"]) > TODAY
    # The core vets the monitoring detector: on the ledger's facts it would have refused.
    refused = [f for f in trace["findings"] if (f["facts"] or {}).get("basis") == "ledger"]
    assert [f["seq"] for f in refused] and {f["seq"] for f in refused} == {2}, refused


def _signed_in_page(world: World, url: str, username: str = "a-admin") -> str:
    """``url`` as ``username`` (the enterprise admin) reads it, signed in through the form."""
    import re

    c = world.client
    form = c.get("/web/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token
    r = c.post(
        "/web/sign-in",
        data={"username": username, "password": f"{username}-pass", "csrf": token.group(1)},
    )
    assert r.status_code == 303, r.text
    return str(c.get(url).text)


def test_the_trace_page_and_pdf_show_both_views_in_chinese(world: World) -> None:
    test_a_blacklisted_contractor_the_tablet_did_not_know_of_is_a_finding(world)
    c = world.client
    page = _signed_in_page(world, "/web/permits/P-LB")
    assert "平板记录与服务器台账对照" in page
    table = page[page.index('class="ledger-check"') :]
    table = table[: table.index("</table>")]
    # Names, not ids; the fact in Chinese; the tablet's view, then the server's.
    assert "李强 (p-worker)" in table
    assert "承包商已列入黑名单" in table
    row = table[table.index("承包商已列入黑名单") :]
    assert row.index("否") < row.index("是")
    # What the rule would have refused, in words (the rule's code is never shown).
    refused = page[page.index("按服务器台账") :]
    assert "李强 的所属单位" in refused and "已被列入黑名单" in refused
    # The contractor by its ledger name, as the person is (the core's message names both by id).
    assert CONTRACTOR["name"] in refused and "c-clean" not in refused
    assert "PERSON_CONTRACTOR_BLACKLISTED" not in page
    pdf = c.get("/api/v1/permits/P-LB/export.pdf", headers=world.h("a-admin"))
    # scripts/setup.sh installs the CJK font the PDF embeds: it must render here.
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text[:200]


def test_a_ledger_fix_moves_its_automatic_hazard_to_rectified(world: World) -> None:
    c = world.client
    put(world, "spaces", "T-9", {**LEDGER_SPACE, "warning_sign_present": False})
    listed = c.get("/api/v1/hazards", params={"enterprise_id": "ent-a"}, headers=world.h("a-admin"))
    (hazard,) = [h for h in listed.json()["items"] if h["space_id"] == "T-9"]
    assert hazard["rule_code"] == "LEDGER_NO_WARNING_SIGN" and hazard["status"] == "reported"
    # Another edit that leaves the cause in place changes nothing.
    put(world, "spaces", "T-9", {**LEDGER_SPACE, "warning_sign_present": False, "location": "x"})
    h = c.get(f"/api/v1/hazards/{hazard['hazard_id']}", headers=world.h("a-admin")).json()
    assert h["status"] == "reported"
    put(world, "spaces", "T-9", LEDGER_SPACE)
    h = c.get(f"/api/v1/hazards/{hazard['hazard_id']}", headers=world.h("a-admin")).json()
    assert h["status"] == "rectified"
    # The loop's steps are identities (docs/server.md, Hazards): the admin's account.
    me = c.get("/api/v1/auth/me", headers=world.h("a-admin")).json()["subject_id"]
    assert h["state"]["rectified_by"] == f"account:{me}"
    assert h["actions"][-1]["actor_name"] == "a-admin"
    assert any("第 3 版" in e or "version 3" in e for e in h["state"]["evidence"]), h["state"]
    log = c.get("/api/v1/audit?enterprise_id=ent-a", headers=world.h("a-admin")).json()
    rows = log["items"] if isinstance(log, dict) else log
    assert any(
        r["action"] == "hazard.rectify" and r["object_id"] == hazard["hazard_id"] for r in rows
    ), rows
    # Verification still needs a person, and not the one who changed the ledger.
    r = c.post(
        f"/api/v1/hazards/{hazard['hazard_id']}/actions",
        json={"action": "verify"},
        headers=world.h("a-admin"),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "HAZARD_VERIFIER_IS_RECTIFIER"
    put(world, "people", "a-p-wang", person("王安全", "ent-a"))
    r = c.post(
        f"/api/v1/hazards/{hazard['hazard_id']}/actions",
        json={"action": "verify", "person": "a-p-wang"},
        headers=world.h("a-admin"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "verified"


def test_the_history_api_answers_as_of_a_time(world: World) -> None:
    put(world, "detectors", "D-1", DETECTOR)
    between = datetime.now(UTC)
    later = {**DETECTOR, "calibration_due": (TODAY - timedelta(days=1)).isoformat()}
    put(world, "detectors", "D-1", later)
    url = "/api/v1/enterprises/ent-a/detectors/D-1/history"
    every = world.client.get(url, headers=world.h("bureau")).json()
    assert [(v["version"], v["changed_by"]) for v in every] == [(1, "a-admin"), (2, "a-admin")]
    (then,) = world.client.get(
        url, params={"at": between.isoformat()}, headers=world.h("a-admin")
    ).json()
    assert then["version"] == 1 and then["data"]["calibration_due"] == DETECTOR["calibration_due"]
    before = (between - timedelta(hours=1)).isoformat()
    assert world.client.get(url, params={"at": before}, headers=world.h("a-admin")).json() == []
    r = world.client.get(url, params={"at": "2026-01-01T00:00:00"}, headers=world.h("a-admin"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "at"
    assert world.client.get(url, headers=world.h("b-admin")).status_code == 404


def test_migration_gives_every_existing_item_a_first_version(empty_db: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from sync_server.schema import metadata
    from sync_server.services import ledger_history
    from sync_server.storage import make_engine, migrate

    engine = make_engine(empty_db)
    try:
        migrate(engine, "0003")
        items = sa.Table("reference_items", sa.MetaData(), autoload_with=engine)
        at = "2026-03-01T08:00:00.000000+00:00"
        with engine.begin() as conn:
            conn.execute(
                items.insert(),
                [
                    {
                        "enterprise_id": "ent-a",
                        "kind": "detectors",
                        "item_id": "D-1",
                        "data": {"serial": "D-1"},
                        "deleted": False,
                        "rev": 7,
                        "updated_at": at,
                    },
                    {
                        "enterprise_id": "ent-a",
                        "kind": "people",
                        "item_id": "p-gone",
                        "data": {"name": "x"},
                        "deleted": True,
                        "rev": 8,
                        "updated_at": at,
                    },
                ],
            )
        migrate(engine)
        with engine.connect() as conn:
            (first,) = ledger_history.history(conn, "ent-a", "detectors", "D-1")
            assert first == {
                "version": 1,
                "valid_from": at,
                "changed_by": "",
                "deleted": False,
                "data": {"serial": "D-1"},
                "rev": 7,
            }
            (gone,) = ledger_history.history(conn, "ent-a", "people", "p-gone")
            assert gone["deleted"] and gone["data"] is None
            # Unattributed: it stands for the time before it too (nothing earlier was kept).
            early = datetime(2025, 1, 1, tzinfo=UTC)
            assert ledger_history.as_of(conn, "ent-a", "detectors", "D-1", early) == {
                "serial": "D-1"
            }
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        from tests.sync_server.test_permit_search_index import migrate_down

        migrate_down(engine, "0003")
        assert "reference_item_versions" not in sa.inspect(engine).get_table_names()
        migrate(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("pushes", ["one push", "event by event", "after a restart"])
def test_an_ordinary_approver_on_a_poisoning_risk_space_is_a_finding(
    world: World, pushes: str
) -> None:
    from permits.events import (
        ApprovalAuthority,
        Approved,
        HazardIdentified,
        SignOff,
        SignOffMeaning,
    )

    # The ledger's space has H2S: the principal (or a written delegate) must approve,
    # whatever its key-supervision flag says; the tablet copied the flag (False).
    put(world, "spaces", "T-1", H2S_PIT)
    approver = {
        "name": "钱卫东",
        "employer": {"kind": "enterprise", "id": "ent-a"},
        "roles": ["approver"],
    }
    put(world, "people", "p-approver", approver)
    tablet = enroll_tablet(world.client, world.h("a-admin"))
    now = datetime.now(UTC)
    snapshot = PersonSnapshot(
        person_id="p-approver",
        name="钱卫东",
        employer_id="ent-a",
        approval_authority=ApprovalAuthority.APPROVER,
    )
    events = [
        tablet.event("P-APP", drafted_without_the_hazard(tablet.enterprise_id), at=now),
        tablet.event(
            "P-APP",
            RoleAssigned(role=Role.APPROVER, person=snapshot),
            at=now + timedelta(seconds=1),
        ),
        tablet.event("P-APP", HazardIdentified(hazard="硫化氢中毒"), at=now + timedelta(seconds=2)),
    ]
    signoff = SignOff(
        person_id="p-approver",
        meaning=SignOffMeaning.APPROVE,
        signed_at=now + timedelta(seconds=3),
        state_hash=tablet.head("P-APP"),
        pin_verified=True,
    )
    events.append(
        tablet.event(
            "P-APP", Approved(signoff=signoff), actor="p-approver", at=now + timedelta(seconds=3)
        )
    )
    if pushes == "one push":
        push(world, tablet, events)
    else:
        from sync_server.services import ingest

        for event in events:
            push(world, tablet, [event])
            if pushes == "after a restart":
                ingest._REPLAYS.clear()  # the replays in memory are gone
    trace = world.client.get("/api/v1/permits/P-APP", headers=world.h("a-admin")).json()
    by_code = {f["code"]: f for f in trace["findings"]}
    assert by_code["LEDGER_MISMATCH_APPROVAL_AUTHORITY"]["seq"] == 1
    refusal = by_code["APPROVER_LACKS_AUTHORITY"]
    assert refusal["seq"] == 4 and refusal["facts"]["basis"] == "ledger"
    assert refusal["hazard_id"] is not None
    assert [f["code"] for f in trace["findings"]].count("APPROVER_LACKS_AUTHORITY") == 1
    # On the tablet's own facts the approval was allowed: the status is the tablet's.
    assert trace["permit"]["status"] == "approved"


def test_a_backup_carries_the_ledger_history(world: World, app: Any, tmp_path: Path) -> None:
    from sync_server.backup import backup, restore
    from sync_server.services import ledger_history
    from sync_server.storage import make_engine, migrate

    put(world, "detectors", "D-1", DETECTOR)
    put(world, "detectors", "D-1", {**DETECTOR, "model": "GasAlert Max"})
    archive = tmp_path / "b.jsonl.gz"
    counts = backup(app.state.engine, archive, "correct horse battery staple")
    assert counts["reference_item_versions"] == 2
    engine = make_engine(f"sqlite:///{tmp_path}/restored.db")
    try:
        migrate(engine)
        key = world.client.get("/api/v1/server-key").json()["fingerprint"]
        restore(engine, archive, key, "correct horse battery staple")
        with engine.connect() as conn:
            versions = ledger_history.history(conn, "ent-a", "detectors", "D-1")
        assert [(v["version"], v["data"]["model"]) for v in versions] == [
            (1, "GasAlert Quattro"),
            (2, "GasAlert Max"),
        ]
    finally:
        engine.dispose()


def test_a_current_tablets_contractor_delegation_and_profile_are_checked(world: World) -> None:
    from permits.events import ContractorSnapshot, DelegationSnapshot

    contractor_ledger(world)
    put(
        world,
        "people",
        "p-boss",
        {
            **WORKER,
            "name": "赵建国",
            "roles": ["principal"],
            "employer": {"kind": "enterprise", "id": "ent-a"},
        },
    )
    put(
        world,
        "people",
        "p-deputy",
        {
            **WORKER,
            "name": "钱卫东",
            "roles": [],
            "employer": {"kind": "enterprise", "id": "ent-a"},
        },
    )
    delegation = {
        "delegator": "p-boss",
        "delegate": "p-deputy",
        "valid_from": (TODAY - timedelta(days=30)).isoformat(),
        "valid_until": (TODAY + timedelta(days=30)).isoformat(),
        "document_ref": "委托书 2026-07",
    }
    put(world, "delegations", "DLG-1", delegation)
    tablet_copy = ContractorSnapshot(
        contractor_id="c-clean",
        name=CONTRACTOR["name"],
        contract_reference="HT-2026-07",
        contract_valid_from=date.fromisoformat(CONTRACTOR["contract_valid_from"]),
        contract_valid_until=date.fromisoformat(CONTRACTOR["contract_valid_until"]),
    )
    written = DelegationSnapshot(
        delegation_id="DLG-1",
        delegator="p-boss",
        valid_from=TODAY - timedelta(days=30),
        valid_until=TODAY + timedelta(days=30),
        document_ref="委托书 2026-07",
    )
    # Meanwhile on the server: the contractor blacklisted, the delegation withdrawn
    # yesterday, the space moved to GB 30871.
    put(world, "contractors", "c-clean", {**CONTRACTOR, "blacklisted_on": TODAY.isoformat()})
    put(
        world,
        "delegations",
        "DLG-1",
        {**delegation, "valid_until": (TODAY - timedelta(days=1)).isoformat()},
    )
    put(
        world,
        "spaces",
        "T-1",
        {**LEDGER_SPACE, "key_supervision": True, "profile": "cn-gb30871-2022"},
    )
    tablet = enroll_tablet(world.client, world.h("a-admin"))
    now = datetime.now(UTC)
    first = drafted(tablet.enterprise_id)
    first = first.model_copy(
        update={
            "space": first.space.model_copy(
                update={"key_supervision": True, "hazards": ("H2S", "O2_deficiency")}
            ),
            "ledger_as_of": now - timedelta(days=2),
        }
    )
    worker = worker_as_tablet_had_it().model_copy(update={"contractor": tablet_copy})
    deputy = PersonSnapshot(
        person_id="p-deputy",
        name="钱卫东",
        employer_id="ent-a",
        training_valid_until=TODAY + timedelta(days=300),
        approval_authority="delegate",
        delegation=written,
        delegation_ref="委托书 2026-07",
    )
    push(
        world,
        tablet,
        [
            tablet.event("P-NEW", first, at=now),
            tablet.event(
                "P-NEW",
                RoleAssigned(role=Role.ENTRANT, person=worker),
                at=now + timedelta(seconds=1),
            ),
            tablet.event(
                "P-NEW",
                RoleAssigned(role=Role.APPROVER, person=deputy),
                at=now + timedelta(seconds=2),
            ),
        ],
    )
    trace = world.client.get("/api/v1/permits/P-NEW", headers=world.h("a-admin")).json()
    by_code = {f["code"]: f for f in trace["findings"]}
    (contractor,) = by_code["LEDGER_MISMATCH_CONTRACTOR"]["facts"]["fields"]
    assert contractor["field"] == "contractor"
    assert contractor["recorded"]["blacklisted_on"] is None
    assert contractor["ledger"]["blacklisted_on"] == TODAY.isoformat()
    assert by_code["ROSTER_CONTRACTOR_BLACKLISTED"]["facts"]["basis"] == "ledger"
    (dlg,) = by_code["LEDGER_MISMATCH_DELEGATION"]["facts"]["fields"]
    assert dlg["ledger"]["valid_until"] == (TODAY - timedelta(days=1)).isoformat()
    profile = by_code["LEDGER_MISMATCH_PROFILE"]["facts"]["fields"]
    assert {"field": "profile", "recorded": "cn-gongmao", "ledger": "cn-gb30871-2022"} in profile
    # The page shows the contractor and the delegation as a reader reads them.
    page = _signed_in_page(world, "/web/permits/P-NEW")
    assert "委托书 2026-07" in page and "列入黑名单 " + TODAY.isoformat() in page
    assert "平板的台账副本同步于" in page


def test_a_ledger_write_between_two_pushes_reaches_the_second_and_none_rereads_it(
    world: World, app: Any
) -> None:
    """The ledger's versions a push read are kept for the next (docs/performance.md, wave
    8) only while the enterprise's ledger has no new version: a contractor blacklisted
    between two pushes is the second's finding, and a third push on an unchanged ledger
    reads no version of any item, only the ledger's mark."""
    contractor_ledger(world)
    tablet = enroll_tablet(world.client, world.h("a-admin"))
    seen: list[str] = []

    def note(_conn: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(" ".join(statement.split()))

    def job(permit_id: str) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        space_event = drafted(tablet.enterprise_id)
        space_event = space_event.model_copy(
            update={"space": space_event.space.model_copy(update={"key_supervision": True})}
        )
        return [
            tablet.event(permit_id, space_event, at=now),
            tablet.event(
                permit_id,
                RoleAssigned(role=Role.ENTRANT, person=worker_as_tablet_had_it()),
                at=now + timedelta(seconds=1),
            ),
        ]

    def ledger_codes(permit_id: str) -> set[str]:
        trace = world.client.get(f"/api/v1/permits/{permit_id}", headers=world.h("a-admin"))
        return {f["code"] for f in trace.json()["findings"] if f["code"].startswith("LEDGER_")}

    push(world, tablet, job("P-BEFORE"))
    assert ledger_codes("P-BEFORE") == set()
    blacklisted = {**CONTRACTOR, "blacklisted_on": TODAY.isoformat(), "blacklist_reason": "事故"}
    put(world, "contractors", "c-clean", blacklisted)
    push(world, tablet, job("P-AFTER"))
    assert ledger_codes("P-AFTER") == {"LEDGER_MISMATCH_CONTRACTOR"}

    engine = app.state.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        push(world, tablet, job("P-AGAIN"))
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    reads = [s for s in seen if "FROM reference_item_versions" in s]
    assert len(reads) == 1 and "max(" in reads[0].lower(), reads
    assert ledger_codes("P-AGAIN") == {"LEDGER_MISMATCH_CONTRACTOR"}

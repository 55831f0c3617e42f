"""The hazard closed loop (docs/rules.md, Major accident hazards), bureau findings and notes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.sync_server.conftest import World, person


def ledger_people(world: World, *ids: str, enterprise: str = "ent-a") -> None:
    """People of the enterprise's ledger: a loop step names one by id (docs/server.md)."""
    for pid in ids:
        r = world.client.put(
            f"/api/v1/enterprises/{enterprise}/people/{pid}",
            json=person(pid, enterprise),
            headers=world.h("a-admin" if enterprise == "ent-a" else "b-admin"),
        )
        assert r.status_code in (200, 201), r.text


def report(world: World, who: str = "a-admin", **extra: object) -> dict:  # type: ignore[type-arg]
    body = {"enterprise_id": "ent-a", "title": "无警示标识 no warning sign at T-1", **extra}
    r = world.client.post("/api/v1/hazards", json=body, headers=world.h(who))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def act(world: World, hid: str, who: str = "a-admin", **body: object):  # type: ignore[no-untyped-def]
    return world.client.post(f"/api/v1/hazards/{hid}/actions", json=body, headers=world.h(who))


def test_full_loop_to_close_out(world: World) -> None:
    ledger_people(world, "wang-wu", "zhao-liu")
    h = report(world)
    assert h["status"] == "reported" and h["source"] == "self_inspection"
    deadline = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    r = act(
        world,
        h["hazard_id"],
        action="plan",
        measures="install sign",
        responsible="王五",
        deadline=deadline,
    )
    assert r.status_code == 200 and r.json()["status"] == "planned"
    r = act(world, h["hazard_id"], action="rectify", evidence="photo sha256:…", person="wang-wu")
    assert r.json()["status"] == "rectified"
    # The rectifier may not verify their own work.
    r = act(world, h["hazard_id"], action="verify", person="wang-wu")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "HAZARD_VERIFIER_IS_RECTIFIER"
    r = act(world, h["hazard_id"], action="verify", person="zhao-liu")
    assert r.json()["status"] == "verified"
    r = act(world, h["hazard_id"], action="close")
    assert r.json()["status"] == "closed"
    assert [a["action"] for a in r.json()["actions"]] == [
        "hazard_reported",
        "rectification_planned",
        "hazard_rectified",
        "rectification_verified",
        "hazard_closed",
    ]


def test_steps_out_of_order_and_missing_fields_are_422(world: World) -> None:
    h = report(world)
    r = act(world, h["hazard_id"], action="close")
    assert r.status_code == 422
    r = act(world, h["hazard_id"], action="plan", measures="x")
    assert r.status_code == 422 and r.json()["error"]["field"] in ("responsible", "deadline")
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    r = act(world, h["hazard_id"], action="plan", measures="m", responsible="r", deadline=past)
    assert r.status_code == 422 and r.json()["error"]["code"] == "HAZARD_DEADLINE_PAST"


def test_failed_verification_goes_back_to_planned(world: World) -> None:
    h = report(world)
    soon = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    act(world, h["hazard_id"], action="plan", measures="m", responsible="r", deadline=soon)
    ledger_people(world, "r", "inspector")
    act(world, h["hazard_id"], action="rectify", evidence="e", person="r")
    r = act(world, h["hazard_id"], action="reject", person="inspector", note="sign too small")
    assert r.json()["status"] == "planned" and r.json()["state"]["rejections"] == 1


def test_overdue_plans_are_listed(world: World, app: object) -> None:
    from sync_server.services import hazards as hazard_service

    h = report(world)
    planned_at = datetime.now(UTC) - timedelta(days=10)
    deadline = (planned_at + timedelta(days=5)).isoformat()
    with app.state.engine.begin() as conn:  # type: ignore[attr-defined]
        # Planned ten days ago with a five-day deadline: the server clock of that day.
        hazard_service.act(
            conn,
            h["enterprise_id"],
            h["hazard_id"],
            "plan",
            "a-admin",
            {"measures": "m", "responsible": "r", "deadline": deadline},
            now=planned_at,
        )
    listed = world.client.get("/api/v1/hazards?overdue=true", headers=world.h("bureau")).json()
    assert [x["hazard_id"] for x in listed["items"]] == [h["hazard_id"]]
    assert listed["items"][0]["overdue"] is True


def test_bureau_files_findings_and_notes_but_cannot_move_the_loop(world: World) -> None:
    h = report(world, who="bureau", source="self_inspection")
    assert h["source"] == "bureau_inspection"
    r = act(
        world,
        h["hazard_id"],
        who="bureau",
        action="plan",
        measures="m",
        responsible="r",
        deadline=(datetime.now(UTC) + timedelta(days=1)).isoformat(),
    )
    assert r.status_code == 403
    r = world.client.post(
        "/api/v1/notes",
        json={
            "object_kind": "hazard",
            "object_id": h["hazard_id"],
            "text": "复查 re-inspect in 7 days",
        },
        headers=world.h("bureau"),
    )
    assert r.status_code == 201
    got = world.client.get(f"/api/v1/hazards/{h['hazard_id']}", headers=world.h("a-admin"))
    assert got.json()["notes"][0]["text"].startswith("复查")
    # Enterprise B and the other county's admin do not see it.
    assert (
        world.client.get(
            f"/api/v1/hazards/{h['hazard_id']}", headers=world.h("b-admin")
        ).status_code
        == 404
    )
    # An admin may not pretend to be the bureau.
    r = world.client.post(
        "/api/v1/hazards",
        json={"enterprise_id": "ent-a", "title": "x", "source": "bureau_inspection"},
        headers=world.h("a-admin"),
    )
    assert r.status_code == 403


def test_every_write_is_audited_with_before_and_after(world: World) -> None:
    h = report(world)
    act(
        world,
        h["hazard_id"],
        action="plan",
        measures="m",
        responsible="r",
        deadline=(datetime.now(UTC) + timedelta(days=1)).isoformat(),
    )
    log = world.client.get("/api/v1/audit?enterprise_id=ent-a", headers=world.h("a-admin")).json()[
        "items"
    ]
    plan = next(x for x in log if x["action"] == "hazard.plan")
    assert plan["actor"] == "a-admin" and plan["before"]["status"] == "reported"
    assert plan["after"]["status"] == "planned"
    # B's admin sees none of A's audit rows.
    other = world.client.get("/api/v1/audit", headers=world.h("b-admin")).json()["items"]
    assert all(x["enterprise_id"] == "ent-b" for x in other)


def test_a_tablet_files_worker_reports_once_for_its_own_enterprise(world: World) -> None:
    from tests.sync_server.chains import enroll_tablet

    tablet = enroll_tablet(world.client, world.h("a-admin"))
    dev = {"Authorization": f"Bearer {tablet.token}"}
    body = {
        "enterprise_id": "ent-a",
        "title": "井盖破损 manhole cover cracked",
        "source": "worker_report",
        "details": {"tablet_report_id": "HR-7", "photos": []},
    }
    first = world.client.post("/api/v1/hazards", json=body, headers=dev)
    assert first.status_code == 201, first.text
    assert first.json()["source"] == "worker_report"
    # The answer was lost and the tablet sends again: the same hazard, not a second one.
    again = world.client.post("/api/v1/hazards", json=body, headers=dev)
    assert again.status_code == 200, again.text
    assert again.json()["hazard_id"] == first.json()["hazard_id"]
    listed = world.client.get("/api/v1/hazards", headers=world.h("a-admin")).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert [h["hazard_id"] for h in items].count(first.json()["hazard_id"]) == 1
    # Only worker reports, only with the tablet's own id, only its own enterprise.
    r = world.client.post(
        "/api/v1/hazards", json={**body, "source": "self_inspection"}, headers=dev
    )
    assert r.status_code == 403 and r.json()["error"]["field"] == "source"
    r = world.client.post("/api/v1/hazards", json={**body, "details": {}}, headers=dev)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "details.tablet_report_id"
    r = world.client.post("/api/v1/hazards", json={**body, "enterprise_id": "ent-b"}, headers=dev)
    assert r.status_code == 404
